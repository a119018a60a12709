package whatsapp

import "time"

// Message type values seen in Message.Type. The list is informative: any
// other value is accepted and kept as is.
const (
	TypeText        = "text"
	TypeImage       = "image"
	TypeVideo       = "video"
	TypeDocument    = "document"
	TypeAudio       = "audio"
	TypeSticker     = "sticker"
	TypeLocation    = "location"
	TypeContacts    = "contacts"
	TypeInteractive = "interactive"
	TypeButton      = "button"
	TypeReaction    = "reaction"
	TypeOrder       = "order"
	TypeSystem      = "system"
	TypeUnsupported = "unsupported"
	TypeUnknown     = "unknown" // older name of "unsupported"
	TypeRevoke      = "revoke"
	TypeEdit        = "edit"
)

// Contact is the sender profile from value.contacts[] that belongs to a
// message (or to a status recipient, when Meta sends one).
type Contact struct {
	Name            string // profile.name
	Username        string // profile.username (WhatsApp usernames, 2026)
	WAID            string // wa_id, phone-based; may be absent for username users
	UserID          string // user_id, the business-scoped user ID (BSUID)
	ParentUserID    string // parent_user_id, the parent BSUID shared across portfolios
	IdentityKeyHash string // identity_key_hash, only with the identity-change check on
	CountryCode     string // country_code
}

// Message is one inbound message (value.messages[]). Exactly one of the
// type-specific pointers is normally set, matching Type; unknown types set
// none and their content is only in Event.Raw.
type Message struct {
	ID         string    // wamid
	From       string    // sender phone-based id; may be empty for BSUID-only senders
	FromUserID string    // from_user_id, the sender's BSUID
	Timestamp  time.Time // zero when absent
	Type       string    // as sent by Meta, e.g. "text"; see the Type* constants

	Text        *Text
	Image       *Media
	Video       *Media
	Document    *Media
	Audio       *Media
	Sticker     *Media
	Location    *Location
	Contacts    []SharedContact // type "contacts": vCards shared by the user
	Interactive *Interactive
	Button      *Button
	Reaction    *Reaction
	Order       *Order
	System      *System
	Unsupported *Unsupported
	Revoke      *Revoke
	Edit        *Edit

	Context  *Context  // reply / forward information
	Referral *Referral // Click-to-WhatsApp ad that started the chat
	Errors   []Error   // message-level errors (e.g. 131051 on unsupported)
	Identity *Identity // top-level identity block (customer_identity_changed)

	// Contact is the matching entry of value.contacts (nil when there is
	// none, e.g. for system messages).
	Contact *Contact
}

// Media is the payload of image, video, document, audio and sticker messages.
type Media struct {
	ID       string // media id, to download through the Graph API
	MimeType string
	SHA256   string
	Caption  string // image, video, document
	Filename string // document
	URL      string // direct download URL (rolled out from 2025-11), needs the token
	Voice    bool   // audio: true for a voice note
	Animated bool   // sticker: true for an animated sticker
}

// Text is the payload of a text message.
type Text struct {
	Body string
}

// Location is the payload of a location message.
type Location struct {
	Latitude  float64
	Longitude float64
	Name      string
	Address   string
	URL       string
}

// SharedContact is one vCard-like contact shared in a "contacts" message.
type SharedContact struct {
	Name      ContactName
	Phones    []ContactPhone
	Emails    []ContactEmail
	Addresses []ContactAddress
	Org       ContactOrg
	URLs      []ContactURL
	Birthday  string // YYYY-MM-DD
}

// ContactName is the name block of a SharedContact.
type ContactName struct {
	FormattedName string
	FirstName     string
	LastName      string
	MiddleName    string
	Prefix        string
	Suffix        string
}

// ContactPhone is a phone number of a SharedContact.
type ContactPhone struct {
	Phone string
	WAID  string // set when the number is on WhatsApp
	Type  string // e.g. "MOBILE", "HOME", "WORK"
}

// ContactEmail is an e-mail address of a SharedContact.
type ContactEmail struct {
	Email string
	Type  string
}

// ContactAddress is a postal address of a SharedContact.
type ContactAddress struct {
	Street      string
	City        string
	State       string
	Zip         string
	Country     string
	CountryCode string
	Type        string
}

// ContactOrg is the organisation block of a SharedContact.
type ContactOrg struct {
	Company    string
	Department string
	Title      string
}

// ContactURL is a web address of a SharedContact.
type ContactURL struct {
	URL  string
	Type string
}

// Interactive is the payload of an interactive reply: Type is "button_reply",
// "list_reply" or "nfm_reply" (a completed Flow), and the matching field is set.
type Interactive struct {
	Type        string
	ButtonReply *ReplyOption
	ListReply   *ReplyOption
	NFMReply    *NFMReply
}

// ReplyOption is the reply button or list row the user picked.
type ReplyOption struct {
	ID          string
	Title       string
	Description string // list_reply only
}

// NFMReply is the reply to a WhatsApp Flow.
type NFMReply struct {
	Name         string // "flow"
	Body         string
	ResponseJSON string // the Flow response, itself a JSON document in a string
}

// Button is a tap on a template quick-reply button (type "button").
type Button struct {
	Payload string
	Text    string
}

// Reaction is the payload of a reaction message. An empty Emoji means the
// user removed their reaction.
type Reaction struct {
	MessageID string // wamid of the message reacted to
	Emoji     string
}

// Removed reports whether the reaction removes an earlier one (Meta sends an
// empty or missing emoji for that).
func (r *Reaction) Removed() bool { return r == nil || r.Emoji == "" }

// Order is the payload of an order message sent from a catalog.
type Order struct {
	CatalogID    string
	Text         string
	ProductItems []ProductItem
}

// ProductItem is one line of an Order.
type ProductItem struct {
	ProductRetailerID string
	Quantity          int64
	ItemPrice         float64
	Currency          string
}

// System is the payload of a system message. Type is "user_changed_number"
// (WAID holds the new number), "user_changed_user_id" (UserID is the new BSUID,
// PreviousUserID the old one) or "customer_identity_changed" (see
// Message.Identity).
type System struct {
	Body           string
	Type           string
	WAID           string // new wa_id for user_changed_number
	NewWAID        string // new_wa_id, older form of WAID
	UserID         string // new BSUID for user_changed_user_id
	PreviousUserID string
	Customer       string // customer (older customer_identity_changed payloads)
	Identity       string // identity hash (older customer_identity_changed payloads)
}

// Unsupported is the payload of an unsupported message; Type names what the
// user sent when Meta says so (e.g. "poll_creation", "gif").
type Unsupported struct {
	Type string
}

// Revoke is the payload of a revoke message: the user deleted a message.
type Revoke struct {
	OriginalMessageID string
}

// Edit is the payload of an edit message: the user edited a message.
// Message holds the new content (Type and the type-specific field only).
type Edit struct {
	OriginalMessageID string
	Message           *Message
}

// Context tells what a message replies to or that it was forwarded.
type Context struct {
	From                string // business number the replied-to message came from
	ID                  string // wamid of the replied-to message
	Forwarded           bool
	FrequentlyForwarded bool
	ReferredProduct     *ReferredProduct // product enquiry
}

// ReferredProduct is the catalog product a message asks about.
type ReferredProduct struct {
	CatalogID         string
	ProductRetailerID string
}

// Referral describes the Click-to-WhatsApp ad or post that started the chat.
type Referral struct {
	SourceURL      string
	SourceID       string
	SourceType     string // "ad" or "post"
	Body           string
	Headline       string
	MediaType      string // "image" or "video"
	ImageURL       string
	VideoURL       string
	ThumbnailURL   string
	CtwaClid       string // click id; absent for ads shown in Status
	WelcomeMessage string // welcome_message.text
}

// Identity is the identity block of a customer_identity_changed message.
type Identity struct {
	Acknowledged     bool
	CreatedTimestamp time.Time
	Hash             string
}

// Error is a Cloud API error as carried in webhooks: value.errors[],
// statuses[].errors[] and messages[].errors[].
type Error struct {
	Code    int64
	Title   string
	Message string
	Details string // error_data.details
	Href    string
}

// Status is a status update for a message the business sent
// (value.statuses[]).
type Status struct {
	ID                               string // wamid of the outbound message
	Status                           string // sent, delivered, read, played, failed, …
	Timestamp                        time.Time
	RecipientID                      string // phone-based id (or group id)
	RecipientUserID                  string // recipient BSUID
	RecipientParentUserID            string
	RecipientType                    string // "individual" or "group"
	RecipientParticipantID           string // group member the status is about
	RecipientParticipantUserID       string
	RecipientParticipantParentUserID string
	RecipientIdentityKeyHash         string
	BizOpaqueCallbackData            string        // echoed from the send request
	Conversation                     *Conversation // absent in v24+ webhooks
	Pricing                          *Pricing
	Errors                           []Error // set on failed

	// Contact is the matching entry of value.contacts, when Meta sends one.
	Contact *Contact
}

// Conversation is the conversation block of a status (v23 and older).
type Conversation struct {
	ID                  string
	ExpirationTimestamp time.Time
	OriginType          string // origin.type
}

// Pricing is the pricing block of a status.
type Pricing struct {
	Billable     bool
	PricingModel string // "PMP" or "CBP"
	Type         string // regular, free_customer_service, free_entry_point
	Category     string
}
