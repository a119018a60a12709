package zendesk

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Headers of a Zendesk webhook request.
const (
	// SignatureHeader carries base64(HMAC-SHA256(secret, timestamp+body)).
	SignatureHeader = "X-Zendesk-Webhook-Signature"
	// SignatureTimestampHeader carries the signed timestamp.
	SignatureTimestampHeader = "X-Zendesk-Webhook-Signature-Timestamp"
)

// MaxSignatureSkew is how far a webhook's timestamp may be from now, in
// either direction, before the request is refused as a replay.
const MaxSignatureSkew = 5 * time.Minute

// Errors of VerifySignature. Each is distinct, so the webhook handler can
// count and log them apart; all mean "answer 401 and do not process".
var (
	// ErrNoSecret: no signing secret is configured.
	ErrNoSecret = errors.New("zendesk webhook: no signing secret configured")
	// ErrMissingSignature: the signature or timestamp header is absent.
	ErrMissingSignature = errors.New("zendesk webhook: signature or timestamp header missing")
	// ErrBadSignatureEncoding: the signature is not base64.
	ErrBadSignatureEncoding = errors.New("zendesk webhook: signature is not base64")
	// ErrBadTimestamp: the timestamp is neither RFC 3339 nor unix seconds.
	ErrBadTimestamp = errors.New("zendesk webhook: timestamp is not RFC 3339 or unix seconds")
	// ErrSignatureMismatch: the signature does not match the body.
	ErrSignatureMismatch = errors.New("zendesk webhook: signature mismatch")
	// ErrStaleTimestamp: the signature is valid but the timestamp is more
	// than MaxSignatureSkew old or ahead (a replay, or a skewed clock).
	ErrStaleTimestamp = errors.New("zendesk webhook: timestamp outside the allowed window")
)

// VerifySignature checks a webhook request as Zendesk signs it:
// signature = base64(HMAC-SHA256(secret, timestamp + body)), with the raw
// timestamp header and the raw body, no separator. The comparison is
// constant-time. The timestamp (RFC 3339, e.g. "2026-11-24T10:00:00Z", or
// unix seconds) must be within MaxSignatureSkew of now.
func VerifySignature(body []byte, signature, timestamp string, secret []byte, now time.Time) error {
	if len(secret) == 0 {
		return ErrNoSecret
	}
	signature, timestamp = strings.TrimSpace(signature), strings.TrimSpace(timestamp)
	if signature == "" || timestamp == "" {
		return ErrMissingSignature
	}
	got, err := base64.StdEncoding.DecodeString(signature)
	if err != nil {
		return ErrBadSignatureEncoding
	}
	at, err := parseSignatureTime(timestamp)
	if err != nil {
		return err
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(timestamp))
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return ErrSignatureMismatch
	}
	if d := now.Sub(at); d > MaxSignatureSkew || d < -MaxSignatureSkew {
		return fmt.Errorf("%w: signed at %s, %s from now", ErrStaleTimestamp, at.UTC().Format(time.RFC3339), d.Round(time.Second))
	}
	return nil
}

// parseSignatureTime reads a signature timestamp: RFC 3339 or unix seconds.
func parseSignatureTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 {
		return time.Unix(n, 0), nil
	}
	return time.Time{}, ErrBadTimestamp
}

// EventAgentPublicReply is ReplyEvent.Event for an agent's public reply.
const EventAgentPublicReply = "agent_public_reply"

// bodyTemplate is the JSON body the trigger sends; see BodyTemplate.
const bodyTemplate = `{"event":"` + EventAgentPublicReply + `",` +
	`"ticket_id":"{{ticket.id}}",` +
	`"comment_id":"{{ticket.latest_public_comment.id}}",` +
	`"author_id":"{{current_user.id}}",` +
	`"author_role":"{{current_user.role}}",` +
	`"public":true,` +
	`"via":"{{ticket.via}}",` +
	`"requester_id":"{{ticket.requester.id}}",` +
	`"requester_external_id":"{{ticket.requester.external_id}}",` +
	`"requester_phone":"{{ticket.requester.phone}}",` +
	`"updated_at":"{{ticket.updated_at_with_timestamp}}"}`

// BodyTemplate returns the JSON body of the webhook call made by the
// bridge's trigger (the second value of its notification_webhook action).
// Every value is a Zendesk placeholder rendered when the trigger fires:
//
//	event                  "agent_public_reply" (literal)
//	ticket_id              {{ticket.id}}
//	comment_id             {{ticket.latest_public_comment.id}}: the trigger
//	                       fires only on updates with a public comment, so
//	                       it is the reply's comment
//	author_id, author_role {{current_user.id}}, {{current_user.role}}: who
//	                       made the update ("Agent", "Admin", "End-user"…)
//	public                 true (literal: the trigger requires it)
//	via                    {{ticket.via}}: how the ticket (not the update)
//	                       came in
//	requester_id, requester_external_id, requester_phone
//	                       {{ticket.requester.id|external_id|phone}}
//	updated_at             {{ticket.updated_at_with_timestamp}} (ISO 8601,
//	                       minute precision)
//
// The comment's text is deliberately not in the body: a placeholder's text
// inside a JSON string is not guaranteed to be escaped, and a quote or a
// newline would make the whole body unreadable. The bridge reads the
// comment, with its attachments, by API (Client.Comment) using comment_id.
// ParseReplyEvent still reads a comment_body when a hand-made trigger sends
// one.
func BodyTemplate() string { return bodyTemplate }

// ReplyEvent is the body of a webhook call made by the bridge's trigger
// (see BodyTemplate). Ids are kept as text. Empty fields are those the
// trigger did not render.
type ReplyEvent struct {
	Event               string
	TicketID            string
	CommentID           string
	CommentBody         string // only when the trigger sends one
	AuthorID            string
	AuthorRole          string
	Public              bool
	Via                 string
	RequesterID         string
	RequesterExternalID string
	RequesterPhone      string
	UpdatedAt           time.Time // zero when absent or unreadable
}

// ErrMalformedEvent is the error of ParseReplyEvent for a body that is not
// a reply event.
var ErrMalformedEvent = errors.New("zendesk webhook: malformed reply event")

// wireReplyEvent is the body as sent: placeholders render as strings, but
// hand-made triggers may send numbers and booleans.
type wireReplyEvent struct {
	Event               string   `json:"event"`
	TicketID            flexID   `json:"ticket_id"`
	CommentID           flexID   `json:"comment_id"`
	CommentBody         string   `json:"comment_body"`
	AuthorID            flexID   `json:"author_id"`
	AuthorRole          string   `json:"author_role"`
	Public              flexBool `json:"public"`
	Via                 string   `json:"via"`
	RequesterID         flexID   `json:"requester_id"`
	RequesterExternalID flexID   `json:"requester_external_id"`
	RequesterPhone      string   `json:"requester_phone"`
	UpdatedAt           string   `json:"updated_at"`
}

// ParseReplyEvent reads the body of a webhook call made by the bridge's
// trigger. It is tolerant: ids may be numbers or strings, public a boolean
// or a string, updated_at any of the ISO 8601 forms Zendesk renders, and
// unknown fields are ignored. The ticket id is required (digits); a comment
// id, when present, must be digits too. An unrendered placeholder
// ("{{…}}") reads as empty.
func ParseReplyEvent(body []byte) (*ReplyEvent, error) {
	var w wireReplyEvent
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedEvent, err)
	}
	ev := &ReplyEvent{
		Event: rendered(w.Event), TicketID: rendered(string(w.TicketID)), CommentID: rendered(string(w.CommentID)),
		CommentBody: w.CommentBody, AuthorID: rendered(string(w.AuthorID)), AuthorRole: rendered(w.AuthorRole),
		Public: bool(w.Public), Via: rendered(w.Via), RequesterID: rendered(string(w.RequesterID)),
		RequesterExternalID: rendered(string(w.RequesterExternalID)), RequesterPhone: rendered(w.RequesterPhone),
		UpdatedAt: parseUpdatedAt(rendered(w.UpdatedAt)),
	}
	if !idRE.MatchString(ev.TicketID) {
		return nil, fmt.Errorf("%w: ticket_id %q is not a Zendesk id", ErrMalformedEvent, ev.TicketID)
	}
	if ev.CommentID != "" && !idRE.MatchString(ev.CommentID) {
		return nil, fmt.Errorf("%w: comment_id %q is not a Zendesk id", ErrMalformedEvent, ev.CommentID)
	}
	return ev, nil
}

// rendered trims s and empties an unrendered placeholder.
func rendered(s string) string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "{{") && strings.HasSuffix(s, "}}") {
		return ""
	}
	return s
}

// parseUpdatedAt reads the ISO 8601 forms of Zendesk timestamps
// ("2013-12-12T05:35Z" from updated_at_with_timestamp, RFC 3339); zero
// when unreadable.
func parseUpdatedAt(s string) time.Time {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00", "2006-01-02T15:04:05", "2006-01-02 15:04:05 -0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	return time.Time{}
}

// IsFromBridge reports whether a reply event is one of the bridge's own
// writes, which the bridge must ignore or it would echo them to WhatsApp:
//
//   - customer messages the bridge appended (AppendMessage) are authored by
//     the requester, an end user: author_role "End-user" (any spelling);
//   - notes and anything else written by the API identity (AddNote) are
//     authored by apiUserID (Client.APIUserID).
//
// The trigger installed by EnsureWebhook already excludes updates made
// through the API (current_via_id is not 5) and by end users; this is the
// second guard, for triggers edited by hand. It reports false when neither
// fact is known (an empty role and author), trusting the trigger.
func IsFromBridge(ev *ReplyEvent, apiUserID string) bool {
	if ev == nil {
		return false
	}
	role := strings.NewReplacer("-", "", "_", "", " ", "").Replace(strings.ToLower(ev.AuthorRole))
	if role == "enduser" {
		return true
	}
	return apiUserID != "" && ev.AuthorID == apiUserID
}
