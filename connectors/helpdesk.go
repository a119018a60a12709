package connectors

import (
	"context"
	"time"
)

// Helpdesk is the one interface the engine uses for every helpdesk
// (Zendesk, Freshdesk, HubSpot). Implementations are safe for concurrent
// use; every method may be called from several workers at once, but the
// queue never works one conversation on two workers, so calls about one
// contact or ticket are serialized by the caller.
//
// Every error is a *Error whose Kind says what to do (see Kind). Writes
// are keyed by the caller (IdempotencyKey): an implementation sends the
// vendor's idempotency mechanism where one exists, so a retry after an
// uncertain failure (timeout after the vendor committed) does not write
// twice; where none exists, the engine reads back before writing again.
//
// Lifecycle: construct with the vendor package's New; no Connect step.
// Optional capabilities are separate interfaces found by type assertion:
// CommentFetcher, WebhookInstaller.
type Helpdesk interface {
	// FindOrCreateContact finds the contact of a WhatsApp customer by the
	// deterministic external id first (vendor search lags), then by phone,
	// and creates it last. A profile name that changed is updated.
	FindOrCreateContact(ctx context.Context, p *ContactParams) (*ContactResult, error)
	// CreateTicket opens a ticket whose first comment is the customer's
	// message: public and authored by the requester.
	CreateTicket(ctx context.Context, p *CreateTicketParams) (*TicketResult, error)
	// AppendMessage adds a customer-authored public comment to a ticket.
	// A closed ticket is never written to: the error is a Conflict with
	// Code CodeTicketClosed, and the caller opens a follow-up instead.
	AppendMessage(ctx context.Context, p *AppendParams) (CommentRef, error)
	// AddNote adds an internal note, visible to agents only, authored by
	// the bridge's API identity.
	AddNote(ctx context.Context, p *NoteParams) (CommentRef, error)
	// Ticket reads a ticket's status and last activity.
	Ticket(ctx context.Context, ref TicketRef) (*TicketState, error)
}

// CodeTicketClosed is the Error.Code of a write refused because the ticket
// is closed.
const CodeTicketClosed = "ticket_closed"

// ContactRef identifies a helpdesk contact. ID is the vendor's id, frozen
// once stored; ExternalID is the bridge's deterministic key.
type ContactRef struct {
	Vendor     string
	Account    string // the helpdesk name from the configuration
	ID         string
	ExternalID string
}

// TicketRef identifies a ticket.
type TicketRef struct {
	Vendor  string
	Account string
	ID      string
}

// CommentRef identifies a comment (or note) on a ticket.
type CommentRef struct {
	Ticket TicketRef
	ID     string
}

// ContactParams describe the WhatsApp customer to find or create.
type ContactParams struct {
	// ExternalID is the deterministic key: "whatsapp:+E164", or
	// "whatsapp:bsuid:<id>" when no phone number is known.
	ExternalID string
	// Phone is the customer's number in E.164 with "+", "" when unknown.
	Phone string
	// AltPhones are other forms of the same number (Brazil with and
	// without the 9th digit, Mexico +52/+521) to look up as well.
	AltPhones []string
	// Name is the WhatsApp profile name.
	Name string
	// Fields are custom contact fields set when the contact is created
	// (vendor field key → value: Zendesk user_fields, Freshdesk cf_*,
	// HubSpot properties).
	Fields map[string]any
}

// Match says how a contact was found.
type Match string

// The match results, counted in deskbridge_contact_match_total{result}.
const (
	MatchExact     Match = "exact"     // by external id
	MatchAlias     Match = "alias"     // by phone (or an alternative form)
	MatchCreated   Match = "created"   // none existed
	MatchAmbiguous Match = "ambiguous" // several matched; Contact is the best one
)

// ContactResult is what FindOrCreateContact did.
type ContactResult struct {
	Contact ContactRef
	Match   Match
	// Candidates lists every contact that matched when Match is
	// MatchAmbiguous (Contact included), for a note suggesting a merge.
	Candidates []ContactRef
	// NameUpdated reports that the stored name was changed to Name.
	NameUpdated bool
}

// Attachment is a file to attach to a comment.
type Attachment struct {
	Filename    string
	ContentType string
	Data        []byte
}

// CreateTicketParams describe a new ticket.
type CreateTicketParams struct {
	Requester    ContactRef
	Subject      string
	Body         string // the first comment: the customer's message
	Attachments  []Attachment
	Tags         []string
	CustomFields map[string]any // vendor field id → value
	Priority     string
	Type         string
	BrandID      string
	GroupID      string
	FormID       string
	// FollowUpOf is the closed ticket this one follows (Zendesk
	// via_followup_source_id), "" for none.
	FollowUpOf string
	// IdempotencyKey is the bridge's key of the write (the wamid).
	IdempotencyKey string
}

// TicketResult is a created ticket and its first comment.
type TicketResult struct {
	Ticket  TicketRef
	Comment CommentRef // "" ID when the vendor does not return it
}

// AppendParams describe a customer message added to a ticket.
type AppendParams struct {
	Ticket      TicketRef
	Author      ContactRef // the requester
	Body        string
	Attachments []Attachment
	// Reopen sets a solved ticket back to open with the comment.
	Reopen         bool
	IdempotencyKey string
}

// NoteParams describe an internal note.
type NoteParams struct {
	Ticket         TicketRef
	Body           string
	Attachments    []Attachment
	IdempotencyKey string
}

// TicketStatus is a ticket's state, normalized across vendors.
type TicketStatus string

// The ticket statuses.
const (
	TicketNew     TicketStatus = "new"
	TicketOpen    TicketStatus = "open"
	TicketPending TicketStatus = "pending"
	TicketOnHold  TicketStatus = "hold"
	TicketSolved  TicketStatus = "solved"
	TicketClosed  TicketStatus = "closed"
)

// TicketState is what Ticket reads.
type TicketState struct {
	Ticket      TicketRef
	Status      TicketStatus
	RequesterID string
	UpdatedAt   time.Time
	// The ticket's fields, for mapping expressions ("" or nil when the
	// vendor has none).
	Subject, Priority, Type  string
	Tags                     []string
	GroupID, BrandID, FormID string
	CustomFields             map[string]any // field id → value
}

// Comment is a ticket comment as read back from the vendor.
type Comment struct {
	Ref         CommentRef
	AuthorID    string
	Body        string
	Public      bool
	CreatedAt   time.Time
	Attachments []RemoteAttachment
}

// RemoteAttachment is an attachment stored at the vendor.
type RemoteAttachment struct {
	ID          string
	Filename    string
	ContentType string
	Size        int64
	URL         string // content URL, downloaded with DownloadAttachment
}

// CommentFetcher reads one comment of a ticket (for webhook bodies that lack
// attachments) and downloads attachment content.
type CommentFetcher interface {
	Comment(ctx context.Context, ticket TicketRef, commentID string) (*Comment, error)
	DownloadAttachment(ctx context.Context, a RemoteAttachment) ([]byte, error)
}

// WebhookInstaller creates or updates, idempotently, what makes the
// helpdesk call the bridge on agent replies (a webhook and a trigger, or the
// vendor's equivalent). With DryRun it changes nothing and reports what it
// would do.
type WebhookInstaller interface {
	EnsureWebhook(ctx context.Context, p *EnsureWebhookParams) (*EnsureWebhookResult, error)
}

// EnsureWebhookParams configure EnsureWebhook.
type EnsureWebhookParams struct {
	// Endpoint is the bridge's public URL for this vendor's webhooks.
	Endpoint string
	// Name prefixes the vendor objects created, e.g. "deskbridge".
	Name   string
	DryRun bool
}

// EnsureWebhookResult reports what EnsureWebhook did (or would do).
type EnsureWebhookResult struct {
	// Actions lists each change, e.g. "create webhook deskbridge → https://…";
	// empty when everything was already in place.
	Actions []string
	// SigningSecret is the webhook's signing secret when it was created or
	// could be read, to store (e.g. in Vault) as the helpdesk's
	// webhook_secret.
	SigningSecret string
}

// WriteFinder reads back a write made with an IdempotencyKey, to resolve an
// uncertain write (the process died, or the answer was lost, after the
// request left) without writing twice. Implementations tag each comment
// write with its key in a place the vendor stores with it (Zendesk: the
// audit's custom metadata) and look for it here.
type WriteFinder interface {
	// FindWrite returns the comment written to ticket with key; found is
	// false when no write with that key exists on the ticket.
	FindWrite(ctx context.Context, ticket TicketRef, key string) (ref CommentRef, found bool, err error)
}

// AttachmentLimiter reports the largest attachment a helpdesk accepts, so
// the engine can say so in a comment instead of downloading a file it
// cannot attach.
type AttachmentLimiter interface {
	MaxAttachmentBytes() int64
}

// TicketTagger adds and removes ticket tags without a comment (for the
// latest delivery status of a conversation).
type TicketTagger interface {
	// SetTags adds Add and removes Remove in one update. A closed ticket
	// is a Conflict with Code CodeTicketClosed.
	SetTags(ctx context.Context, p *TagParams) error
}

// TagParams describe a tag update.
type TagParams struct {
	Ticket TicketRef
	Add    []string
	Remove []string
}

// SchemaReader lists what a helpdesk account has that a mapping refers to
// by the vendor's ids (ticket and contact fields, groups, brands, ticket
// forms), for checking a configuration against the live account
// (`deskbridge config validate --online`). It reads every page of each
// list; errors are *Error as for Helpdesk.
type SchemaReader interface {
	Schema(ctx context.Context) (*Schema, error)
}

// Schema is what SchemaReader reads. Lists keep the vendor's order.
type Schema struct {
	TicketFields []Field   // system and custom ticket fields
	UserFields   []Field   // custom contact (user) fields
	Groups       []NamedID // agent groups
	Brands       []NamedID // brands
	Forms        []NamedID // ticket forms
}

// Field is a ticket or contact field of a helpdesk account.
type Field struct {
	// ID is the vendor's id: the key of mapping.ticket.custom_fields for
	// ticket fields (Zendesk's numeric field id).
	ID string
	// Key is the name a contact field is written under (Zendesk's user
	// field key: the key of mapping.contact.fields); "" for ticket fields.
	Key   string
	Title string
	// Type is the vendor's field type, such as Zendesk's text, textarea,
	// checkbox, date, integer, decimal, regexp, tagger (drop-down),
	// dropdown, multiselect or lookup, or a system type (subject,
	// priority, tickettype…).
	Type string
	// Options are the values a drop-down or multi-select accepts (Zendesk:
	// each option's value, its tag), or those of a system field such as
	// priority; nil for other fields.
	Options []string
	Active  bool
	// System marks a built-in field (Zendesk's subject, status, priority…):
	// custom field values cannot set it.
	System bool
}

// NamedID is a group, brand or ticket form: its vendor id and name.
type NamedID struct {
	ID, Name string
	// Active is false for an inactive or deleted record.
	Active bool
}
