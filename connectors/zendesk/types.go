package zendesk

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Wire structs: the request and response bodies of the Zendesk API, as
// documented in its OAS (specs/zendesk/support-oas.yaml). Only the fields
// the connector uses are declared.

// flexID is an id read from JSON: a number (most Zendesk ids), a string
// (webhook ids, rendered placeholders) or null (""). It keeps the text.
type flexID string

// UnmarshalJSON accepts a number, a string or null.
func (f *flexID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*f = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexID(strings.TrimSpace(s))
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("id %s is neither a number nor a string", b)
		}
		*f = flexID(n.String())
	}
	return nil
}

// flexBool is a boolean read from JSON: true/false, "true"/"false",
// "1"/"0" or null (false).
type flexBool bool

// UnmarshalJSON accepts a boolean, a string or a number.
func (f *flexBool) UnmarshalJSON(b []byte) error {
	s := strings.Trim(strings.TrimSpace(string(b)), `"`)
	if s == "" || s == "null" {
		*f = false
		return nil
	}
	v, err := strconv.ParseBool(strings.ToLower(s))
	if err != nil {
		return fmt.Errorf("%s is not a boolean", b)
	}
	*f = flexBool(v)
	return nil
}

// flexTime is a timestamp read from JSON: RFC 3339 as Zendesk sends it;
// null or an unreadable value reads as the zero time instead of failing
// the whole answer.
type flexTime struct{ time.Time }

// UnmarshalJSON accepts an RFC 3339 string; anything else is zero.
func (f *flexTime) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) != nil {
		f.Time = time.Time{}
		return nil
	}
	f.Time, _ = time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	return nil
}

// cursorMeta and cursorLinks are cursor pagination's meta and links.
type cursorMeta struct {
	HasMore     bool   `json:"has_more"`
	AfterCursor string `json:"after_cursor"`
}

type cursorLinks struct {
	Next string `json:"next"`
}

// wireUser is a user (UserObject).
type wireUser struct {
	ID         flexID   `json:"id"`
	Name       string   `json:"name"`
	Phone      string   `json:"phone"`
	ExternalID string   `json:"external_id"`
	Role       string   `json:"role"`
	CreatedAt  flexTime `json:"created_at"`
}

// usersResponse is UsersResponse (show_many, search).
type usersResponse struct {
	Users    []wireUser `json:"users"`
	NextPage *string    `json:"next_page"`
}

// userResponse is UserResponse.
type userResponse struct {
	User wireUser `json:"user"`
}

// userIdentity is an identity to add with a new user.
type userIdentity struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// userWrite is the user object of create_or_update and update.
type userWrite struct {
	Name            string         `json:"name,omitempty"`
	ExternalID      string         `json:"external_id,omitempty"`
	Phone           string         `json:"phone,omitempty"`
	SkipVerifyEmail bool           `json:"skip_verify_email,omitempty"`
	Verified        *bool          `json:"verified,omitempty"`
	Role            string         `json:"role,omitempty"`
	Identities      []userIdentity `json:"identities,omitempty"`
	UserFields      map[string]any `json:"user_fields,omitempty"`
}

// userRequest is UserRequest.
type userRequest struct {
	User userWrite `json:"user"`
}

// commentWrite is the write-only comment of a ticket create or update.
// Public is always sent: otherwise Zendesk inherits the visibility of the
// ticket's first comment.
type commentWrite struct {
	Body     string   `json:"body"`
	Public   bool     `json:"public"`
	AuthorID int64    `json:"author_id,omitempty"`
	Uploads  []string `json:"uploads,omitempty"`
}

// customFieldValue is one entry of custom_fields.
type customFieldValue struct {
	ID    int64 `json:"id"`
	Value any   `json:"value"`
}

// ticketWrite is the ticket of TicketCreateRequest and TicketUpdateRequest.
type ticketWrite struct {
	RequesterID         int64              `json:"requester_id,omitempty"`
	SubmitterID         int64              `json:"submitter_id,omitempty"`
	Subject             string             `json:"subject,omitempty"`
	Comment             *commentWrite      `json:"comment,omitempty"`
	Status              string             `json:"status,omitempty"`
	Tags                []string           `json:"tags,omitempty"`
	CustomFields        []customFieldValue `json:"custom_fields,omitempty"`
	Priority            string             `json:"priority,omitempty"`
	Type                string             `json:"type,omitempty"`
	BrandID             int64              `json:"brand_id,omitempty"`
	GroupID             int64              `json:"group_id,omitempty"`
	TicketFormID        int64              `json:"ticket_form_id,omitempty"`
	ViaFollowupSourceID int64              `json:"via_followup_source_id,omitempty"`
	Metadata            *writeMetadata     `json:"metadata,omitempty"`
	AdditionalTags      []string           `json:"additional_tags,omitempty"`
	RemoveTags          []string           `json:"remove_tags,omitempty"`
}

// writeMetadata is the write-only metadata of a ticket create or update.
// Zendesk stores the object as sent in the resulting audit's
// metadata.custom (TicketUpdateInput.metadata, "Setting Metadata"; at most
// 1 KB).
type writeMetadata struct {
	// Key is the write's IdempotencyKey, read back by FindWrite.
	Key string `json:"deskbridge_key"`
}

// ticketRequest is TicketCreateRequest / TicketUpdateRequest.
type ticketRequest struct {
	Ticket ticketWrite `json:"ticket"`
}

// wireTicket is a ticket (TicketObject).
type wireTicket struct {
	ID           flexID   `json:"id"`
	Status       string   `json:"status"`
	RequesterID  flexID   `json:"requester_id"`
	UpdatedAt    flexTime `json:"updated_at"`
	Subject      string   `json:"subject"`
	Priority     string   `json:"priority"`
	Type         string   `json:"type"`
	Tags         []string `json:"tags"`
	GroupID      flexID   `json:"group_id"`
	BrandID      flexID   `json:"brand_id"`
	TicketFormID flexID   `json:"ticket_form_id"`
	CustomFields []struct {
		ID    flexID `json:"id"`
		Value any    `json:"value"`
	} `json:"custom_fields"`
}

// wireAuditEvent is one event of a ticket audit; a "Comment" event's id is
// the comment's id.
type wireAuditEvent struct {
	ID   flexID `json:"id"`
	Type string `json:"type"`
}

// wireAudit is a ticket audit (TicketAuditObject): the audit of a ticket
// create or update, or one listed.
type wireAudit struct {
	ID       flexID           `json:"id"`
	Events   []wireAuditEvent `json:"events"`
	Metadata struct {
		// Custom is kept raw: it holds whatever any integration wrote, so
		// a shape other than ours must not fail the whole page.
		Custom json.RawMessage `json:"custom"`
	} `json:"metadata"`
}

// auditsResponse is a page of ListAuditsForTicket (cursor or offset
// paging).
type auditsResponse struct {
	Audits   []wireAudit `json:"audits"`
	Meta     cursorMeta  `json:"meta"`
	Links    cursorLinks `json:"links"`
	NextPage *string     `json:"next_page"`
}

// ticketResponse is TicketResponse / TicketUpdateResponse.
type ticketResponse struct {
	Ticket wireTicket `json:"ticket"`
	Audit  *wireAudit `json:"audit"`
}

// wireAttachment is an AttachmentObject.
type wireAttachment struct {
	ID          flexID `json:"id"`
	FileName    string `json:"file_name"`
	ContentURL  string `json:"content_url"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
}

// wireComment is a TicketCommentObject as listed.
type wireComment struct {
	ID          flexID           `json:"id"`
	Type        string           `json:"type"`
	AuthorID    flexID           `json:"author_id"`
	Body        string           `json:"body"`
	Public      bool             `json:"public"`
	CreatedAt   flexTime         `json:"created_at"`
	Attachments []wireAttachment `json:"attachments"`
}

// commentsResponse is TicketCommentsResponse (cursor or offset paging).
type commentsResponse struct {
	Comments []wireComment `json:"comments"`
	Meta     cursorMeta    `json:"meta"`
	Links    cursorLinks   `json:"links"`
	NextPage *string       `json:"next_page"`
}

// uploadResponse is AttachmentUploadResponse.
type uploadResponse struct {
	Upload struct {
		Token string `json:"token"`
	} `json:"upload"`
}

// wireWebhook is a webhook, read or written.
type wireWebhook struct {
	ID            flexID   `json:"id,omitempty"`
	Name          string   `json:"name"`
	Endpoint      string   `json:"endpoint"`
	HTTPMethod    string   `json:"http_method"`
	RequestFormat string   `json:"request_format"`
	Status        string   `json:"status"`
	Subscriptions []string `json:"subscriptions"`
}

// webhookEnvelope is {"webhook": …}.
type webhookEnvelope struct {
	Webhook wireWebhook `json:"webhook"`
}

// webhooksResponse is a page of webhooks.
type webhooksResponse struct {
	Webhooks []wireWebhook `json:"webhooks"`
	Meta     cursorMeta    `json:"meta"`
	Links    cursorLinks   `json:"links"`
}

// signingSecretResponse is the webhook signing secret.
type signingSecretResponse struct {
	SigningSecret struct {
		Algorithm string `json:"algorithm"`
		Secret    string `json:"secret"`
	} `json:"signing_secret"`
}

// triggerCondition is one condition of a trigger. Value is a string, a
// number or a list, as Zendesk stores it.
type triggerCondition struct {
	Field    string `json:"field"`
	Operator string `json:"operator"`
	Value    any    `json:"value"`
}

// triggerConditions are the all/any lists of a trigger.
type triggerConditions struct {
	All []triggerCondition `json:"all"`
	Any []triggerCondition `json:"any"`
}

// triggerAction is one action of a trigger.
type triggerAction struct {
	Field string `json:"field"`
	Value any    `json:"value"`
}

// triggerWrite is the trigger of a create or update (TriggerObject
// without its read-only fields).
type triggerWrite struct {
	Title      string            `json:"title"`
	Active     bool              `json:"active"`
	Conditions triggerConditions `json:"conditions"`
	Actions    []triggerAction   `json:"actions"`
}

// triggerRequest is {"trigger": …}.
type triggerRequest struct {
	Trigger triggerWrite `json:"trigger"`
}

// wireTrigger is a trigger as read.
type wireTrigger struct {
	ID         flexID            `json:"id"`
	Title      string            `json:"title"`
	Active     bool              `json:"active"`
	Conditions triggerConditions `json:"conditions"`
	Actions    []triggerAction   `json:"actions"`
}

// triggersResponse is TriggersResponse (cursor or offset paging).
type triggersResponse struct {
	Triggers []wireTrigger `json:"triggers"`
	Meta     cursorMeta    `json:"meta"`
	Links    cursorLinks   `json:"links"`
	NextPage *string       `json:"next_page"`
}
