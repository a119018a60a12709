package whatsapp

import "encoding/json"

// Wire structs: the JSON shapes Meta sends, decoded with tolerant field types
// (see flex.go) and converted to the exported model in convert.go. Unknown
// fields are ignored here; they stay available in Event.Raw.

// wireEnvelope is the top level of a webhook body.
type wireEnvelope struct {
	Object flexString  `json:"object"`
	Entry  []wireEntry `json:"entry"`
}

// wireEntry is one entry[] element (one WABA).
type wireEntry struct {
	ID      flexString   `json:"id"`
	Time    flexTime     `json:"time"`
	Changes []wireChange `json:"changes"`
}

// wireChange is one entry[].changes[] element.
type wireChange struct {
	Field flexString      `json:"field"`
	Value json.RawMessage `json:"value"`
}

// wireMetadata is value.metadata.
type wireMetadata struct {
	DisplayPhoneNumber flexString `json:"display_phone_number"`
	PhoneNumberID      flexString `json:"phone_number_id"`
}

// wireMessagesValue is the value of a "messages" change. Items stay raw so
// that each one is decoded on its own and kept verbatim.
type wireMessagesValue struct {
	Metadata wireMetadata      `json:"metadata"`
	Contacts []wireContact     `json:"contacts"`
	Messages []json.RawMessage `json:"messages"`
	Statuses []json.RawMessage `json:"statuses"`
	Errors   []json.RawMessage `json:"errors"`
}

// wireItemLists is used only when wireMessagesValue failed to decode, to find
// out which item list has the wrong JSON type.
type wireItemLists struct {
	Messages json.RawMessage `json:"messages"`
	Statuses json.RawMessage `json:"statuses"`
	Errors   json.RawMessage `json:"errors"`
}

// wireOtherValue picks routing data out of the value of any other change.
type wireOtherValue struct {
	Metadata           wireMetadata `json:"metadata"`
	DisplayPhoneNumber flexString   `json:"display_phone_number"`
}

// wireContact is value.contacts[].
type wireContact struct {
	Profile struct {
		Name     flexString `json:"name"`
		Username flexString `json:"username"`
	} `json:"profile"`
	WAID            flexString `json:"wa_id"`
	UserID          flexString `json:"user_id"`
	ParentUserID    flexString `json:"parent_user_id"`
	IdentityKeyHash flexString `json:"identity_key_hash"`
	CountryCode     flexString `json:"country_code"`
}

// wireMessage is value.messages[] (and edit.message, which uses the same
// type-specific fields).
type wireMessage struct {
	ID         flexString `json:"id"`
	From       flexString `json:"from"`
	FromUserID flexString `json:"from_user_id"`
	Timestamp  flexTime   `json:"timestamp"`
	Type       flexString `json:"type"`

	Text        *wireText           `json:"text"`
	Image       *wireMedia          `json:"image"`
	Video       *wireMedia          `json:"video"`
	Document    *wireMedia          `json:"document"`
	Audio       *wireMedia          `json:"audio"`
	Sticker     *wireMedia          `json:"sticker"`
	Location    *wireLocation       `json:"location"`
	Contacts    []wireSharedContact `json:"contacts"`
	Interactive *wireInteractive    `json:"interactive"`
	Button      *wireButton         `json:"button"`
	Reaction    *wireReaction       `json:"reaction"`
	Order       *wireOrder          `json:"order"`
	System      *wireSystem         `json:"system"`
	Unsupported *wireUnsupported    `json:"unsupported"`
	Revoke      *wireRevoke         `json:"revoke"`
	Edit        *wireEdit           `json:"edit"`

	Context  *wireContext  `json:"context"`
	Referral *wireReferral `json:"referral"`
	Errors   []wireError   `json:"errors"`
	Identity *wireIdentity `json:"identity"`
}

type wireText struct {
	Body flexString `json:"body"`
}

type wireMedia struct {
	ID       flexString `json:"id"`
	MimeType flexString `json:"mime_type"`
	SHA256   flexString `json:"sha256"`
	Caption  flexString `json:"caption"`
	Filename flexString `json:"filename"`
	URL      flexString `json:"url"`
	Voice    flexBool   `json:"voice"`
	Animated flexBool   `json:"animated"`
}

type wireLocation struct {
	Latitude  flexFloat  `json:"latitude"`
	Longitude flexFloat  `json:"longitude"`
	Name      flexString `json:"name"`
	Address   flexString `json:"address"`
	URL       flexString `json:"url"`
}

type wireSharedContact struct {
	Name struct {
		FormattedName flexString `json:"formatted_name"`
		FirstName     flexString `json:"first_name"`
		LastName      flexString `json:"last_name"`
		MiddleName    flexString `json:"middle_name"`
		Prefix        flexString `json:"prefix"`
		Suffix        flexString `json:"suffix"`
	} `json:"name"`
	Phones []struct {
		Phone flexString `json:"phone"`
		WAID  flexString `json:"wa_id"`
		Type  flexString `json:"type"`
	} `json:"phones"`
	Emails []struct {
		Email flexString `json:"email"`
		Type  flexString `json:"type"`
	} `json:"emails"`
	Addresses []struct {
		Street      flexString `json:"street"`
		City        flexString `json:"city"`
		State       flexString `json:"state"`
		Zip         flexString `json:"zip"`
		Country     flexString `json:"country"`
		CountryCode flexString `json:"country_code"`
		Type        flexString `json:"type"`
	} `json:"addresses"`
	Org struct {
		Company    flexString `json:"company"`
		Department flexString `json:"department"`
		Title      flexString `json:"title"`
	} `json:"org"`
	URLs []struct {
		URL  flexString `json:"url"`
		Type flexString `json:"type"`
	} `json:"urls"`
	Birthday flexString `json:"birthday"`
}

type wireInteractive struct {
	Type        flexString       `json:"type"`
	ButtonReply *wireReplyOption `json:"button_reply"`
	ListReply   *wireReplyOption `json:"list_reply"`
	NFMReply    *struct {
		Name         flexString `json:"name"`
		Body         flexString `json:"body"`
		ResponseJSON flexString `json:"response_json"`
	} `json:"nfm_reply"`
}

type wireReplyOption struct {
	ID          flexString `json:"id"`
	Title       flexString `json:"title"`
	Description flexString `json:"description"`
}

type wireButton struct {
	Payload flexString `json:"payload"`
	Text    flexString `json:"text"`
}

type wireReaction struct {
	MessageID flexString `json:"message_id"`
	Emoji     flexString `json:"emoji"`
}

type wireOrder struct {
	CatalogID    flexString `json:"catalog_id"`
	Text         flexString `json:"text"`
	ProductItems []struct {
		ProductRetailerID flexString `json:"product_retailer_id"`
		Quantity          flexInt    `json:"quantity"`
		ItemPrice         flexFloat  `json:"item_price"`
		Currency          flexString `json:"currency"`
	} `json:"product_items"`
}

type wireSystem struct {
	Body           flexString `json:"body"`
	Type           flexString `json:"type"`
	WAID           flexString `json:"wa_id"`
	NewWAID        flexString `json:"new_wa_id"`
	UserID         flexString `json:"user_id"`
	PreviousUserID flexString `json:"previous_user_id"`
	Customer       flexString `json:"customer"`
	Identity       flexString `json:"identity"`
}

type wireUnsupported struct {
	Type flexString `json:"type"`
}

type wireRevoke struct {
	OriginalMessageID flexString `json:"original_message_id"`
}

type wireEdit struct {
	OriginalMessageID flexString   `json:"original_message_id"`
	Message           *wireMessage `json:"message"`
}

type wireContext struct {
	From                flexString `json:"from"`
	ID                  flexString `json:"id"`
	Forwarded           flexBool   `json:"forwarded"`
	FrequentlyForwarded flexBool   `json:"frequently_forwarded"`
	ReferredProduct     *struct {
		CatalogID         flexString `json:"catalog_id"`
		ProductRetailerID flexString `json:"product_retailer_id"`
	} `json:"referred_product"`
}

type wireReferral struct {
	SourceURL      flexString `json:"source_url"`
	SourceID       flexString `json:"source_id"`
	SourceType     flexString `json:"source_type"`
	Body           flexString `json:"body"`
	Headline       flexString `json:"headline"`
	MediaType      flexString `json:"media_type"`
	ImageURL       flexString `json:"image_url"`
	VideoURL       flexString `json:"video_url"`
	ThumbnailURL   flexString `json:"thumbnail_url"`
	CtwaClid       flexString `json:"ctwa_clid"`
	WelcomeMessage struct {
		Text flexString `json:"text"`
	} `json:"welcome_message"`
}

type wireIdentity struct {
	Acknowledged     flexBool   `json:"acknowledged"`
	CreatedTimestamp flexTime   `json:"created_timestamp"`
	Hash             flexString `json:"hash"`
}

// wireError is an error object in value.errors[], statuses[].errors[] or
// messages[].errors[].
type wireError struct {
	Code      flexInt    `json:"code"`
	Title     flexString `json:"title"`
	Message   flexString `json:"message"`
	ErrorData struct {
		Details flexString `json:"details"`
	} `json:"error_data"`
	Href flexString `json:"href"`
}

// wireStatus is value.statuses[].
type wireStatus struct {
	ID                               flexString `json:"id"`
	Status                           flexString `json:"status"`
	Timestamp                        flexTime   `json:"timestamp"`
	RecipientID                      flexString `json:"recipient_id"`
	RecipientUserID                  flexString `json:"recipient_user_id"`
	RecipientParentUserID            flexString `json:"recipient_parent_user_id"`
	RecipientType                    flexString `json:"recipient_type"`
	RecipientParticipantID           flexString `json:"recipient_participant_id"`
	RecipientParticipantUserID       flexString `json:"recipient_participant_user_id"`
	RecipientParticipantParentUserID flexString `json:"recipient_participant_parent_user_id"`
	RecipientIdentityKeyHash         flexString `json:"recipient_identity_key_hash"`
	BizOpaqueCallbackData            flexString `json:"biz_opaque_callback_data"`
	Conversation                     *struct {
		ID                  flexString `json:"id"`
		ExpirationTimestamp flexTime   `json:"expiration_timestamp"`
		Origin              struct {
			Type flexString `json:"type"`
		} `json:"origin"`
	} `json:"conversation"`
	Pricing *struct {
		Billable     flexBool   `json:"billable"`
		PricingModel flexString `json:"pricing_model"`
		Type         flexString `json:"type"`
		Category     flexString `json:"category"`
	} `json:"pricing"`
	Errors []wireError `json:"errors"`
}
