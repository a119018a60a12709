package whatsapp

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// ObjectWhatsAppBusinessAccount is the "object" value of every WhatsApp
// webhook body.
const ObjectWhatsAppBusinessAccount = "whatsapp_business_account"

// FieldMessages is the change field that carries messages, statuses and
// value-level errors. Every other field is reported as [KindOther].
const FieldMessages = "messages"

// Errors returned by [ParseNotification]. Both mean the body should be
// answered with HTTP 400; the returned error wraps one of them and says what
// exactly was wrong.
var (
	// ErrMalformed means the body is not JSON, not a JSON object, or its
	// envelope (entry[], changes[]) has the wrong shape.
	ErrMalformed = errors.New("whatsapp: malformed notification")
	// ErrNotWhatsApp means the body is a JSON object whose "object" field is
	// missing or is not "whatsapp_business_account".
	ErrNotWhatsApp = errors.New("whatsapp: not a whatsapp_business_account notification")
)

// EventKind classifies an [Event].
type EventKind string

// The kinds of [Event].
const (
	// KindMessage is an inbound message (value.messages[]); Event.Message is set.
	KindMessage EventKind = "message"
	// KindStatus is a status of an outbound message (value.statuses[]); Event.Status is set.
	KindStatus EventKind = "status"
	// KindError is a value-level error (value.errors[]); Event.Error is set.
	KindError EventKind = "error"
	// KindOther is anything else: a change whose field is not "messages"
	// (template status, quality update, group events, …), a "messages" value
	// with none of messages/statuses/errors, or an item that is not a JSON
	// object. Only Event.Raw carries the content.
	KindOther EventKind = "other"
)

// Event is one item of a webhook notification. A body yields one Event per
// message, status and value-level error, and one per change of any other
// field, in payload order.
type Event struct {
	// Kind says which of Message, Status and Error is set (none for KindOther).
	Kind EventKind
	// Key deduplicates re-deliveries and is unique within Kind: the wamid for
	// messages, wamid + "/" + status for statuses, and for errors and other
	// events (or items without an id) "sha256:" + the hex SHA-256 of
	// entry id, field and the raw item bytes, so an identical re-delivery
	// gives the same key.
	Key string
	// WABAID is the WhatsApp Business Account ID (entry[].id).
	WABAID string
	// Field is the change field (entry[].changes[].field).
	Field string
	// PhoneNumberID is value.metadata.phone_number_id, the business number to
	// route on; empty for most account-level fields.
	PhoneNumberID string
	// DisplayPhoneNumber is value.metadata.display_phone_number (or
	// value.display_phone_number for account-level fields), without "+".
	DisplayPhoneNumber string
	// ContactKey identifies the end user: the BSUID when known (from_user_id,
	// recipient_user_id or the matching contacts[].user_id), else the
	// phone-based id (from, recipient_id or wa_id); "" for account-level
	// events and value errors. For system messages it is the identity the
	// contact had before the change (from, or previous_user_id for
	// user_changed_user_id, which carries no from).
	ContactKey string
	// WAID is the user's phone-based id when known.
	WAID string
	// UserID is the user's business-scoped user ID (BSUID) when known.
	UserID string
	// Timestamp is the message or status timestamp, else entry[].time;
	// zero when neither is present.
	Timestamp time.Time
	// Message is set for KindMessage.
	Message *Message
	// Status is set for KindStatus.
	Status *Status
	// Error is set for KindError.
	Error *Error
	// Raw is the exact JSON of the item: the message, status or error object,
	// or for KindOther the change value (or the odd item).
	Raw json.RawMessage
}

// ParseNotification parses a webhook POST body into events. It never panics.
//
// It fails only when the body is not a JSON object ([ErrMalformed]), is not a
// whatsapp_business_account notification ([ErrNotWhatsApp]), or its envelope
// has the wrong shape ([ErrMalformed]). Anything inside the envelope that it
// does not understand (unknown fields, unknown message types, items of the
// wrong JSON type, numbers given for strings) is kept as raw JSON instead of
// failing the body. A valid notification may yield no events (e.g. an empty
// entry list).
//
// Events do not reference body, so the caller may reuse its buffer.
// Verify the signature on the raw body with [VerifySignature] first.
func ParseNotification(body []byte) ([]Event, error) {
	if c := firstByte(body); c != '{' {
		if !json.Valid(body) {
			return nil, fmt.Errorf("%w: invalid JSON", ErrMalformed)
		}
		return nil, fmt.Errorf("%w: body is not a JSON object", ErrMalformed)
	}
	var env wireEnvelope
	err := json.Unmarshal(body, &env)
	var typeErr *json.UnmarshalTypeError
	if err != nil && !errors.As(err, &typeErr) {
		return nil, fmt.Errorf("%w: invalid JSON: %v", ErrMalformed, err)
	}
	if env.Object != ObjectWhatsAppBusinessAccount {
		if env.Object == "" {
			return nil, fmt.Errorf("%w (no object field)", ErrNotWhatsApp)
		}
		return nil, fmt.Errorf("%w (object=%q)", ErrNotWhatsApp, string(env.Object))
	}
	if typeErr != nil {
		return nil, fmt.Errorf("%w: unexpected JSON %s at %q", ErrMalformed, typeErr.Value, typeErr.Field)
	}

	n := 0
	for i := range env.Entry {
		n += len(env.Entry[i].Changes)
	}
	p := parser{events: make([]Event, 0, n)}
	for i := range env.Entry {
		e := &env.Entry[i]
		for j := range e.Changes {
			p.change(e, &e.Changes[j])
		}
	}
	return p.events, nil
}

// parser accumulates the events of one body.
type parser struct {
	events []Event
}

// change emits the events of one entry[].changes[] element.
func (p *parser) change(e *wireEntry, c *wireChange) {
	base := Event{WABAID: string(e.ID), Field: string(c.Field)}
	if c.Field != FieldMessages || firstByte(c.Value) != '{' {
		p.otherValue(e, base, c.Value)
		return
	}
	var v wireMessagesValue
	odd := false
	if err := json.Unmarshal(c.Value, &v); err != nil {
		if !isTypeError(err) {
			p.otherValue(e, base, c.Value)
			return
		}
		odd = hasOddItemList(c.Value)
	}
	base.PhoneNumberID = string(v.Metadata.PhoneNumberID)
	base.DisplayPhoneNumber = string(v.Metadata.DisplayPhoneNumber)
	for _, raw := range v.Messages {
		p.message(e, base, v.Contacts, raw)
	}
	for _, raw := range v.Statuses {
		p.status(e, base, v.Contacts, raw)
	}
	for _, raw := range v.Errors {
		p.valueError(e, base, raw)
	}
	if odd || len(v.Messages)+len(v.Statuses)+len(v.Errors) == 0 {
		p.other(e, base, c.Value)
	}
}

// message emits a KindMessage event (or KindOther if raw is not an object).
func (p *parser) message(e *wireEntry, base Event, contacts []wireContact, raw json.RawMessage) {
	var w wireMessage
	if firstByte(raw) != '{' || !decodeTolerant(raw, &w) {
		p.other(e, base, raw)
		return
	}
	m := w.model(0)
	ev := base
	ev.Kind = KindMessage
	ev.Message = m
	ev.Raw = raw
	ev.WAID, ev.UserID = m.From, m.FromUserID
	if c := matchContact(contacts, m.From, m.FromUserID); c != nil {
		m.Contact = c.model()
		ev.WAID = firstNonEmpty(ev.WAID, m.Contact.WAID)
		ev.UserID = firstNonEmpty(ev.UserID, m.Contact.UserID)
	}
	if ev.WAID == "" && ev.UserID == "" && m.System != nil {
		// user_changed_user_id carries neither from nor contacts: the
		// contact is the one known under the previous BSUID.
		ev.UserID = firstNonEmpty(m.System.PreviousUserID, m.System.UserID)
	}
	ev.ContactKey = firstNonEmpty(ev.UserID, ev.WAID)
	ev.Timestamp = timeOr(m.Timestamp, e.Time)
	ev.Key = m.ID
	if ev.Key == "" {
		ev.Key = hashKey(e, base.Field, raw)
	}
	p.events = append(p.events, ev)
}

// status emits a KindStatus event (or KindOther if raw is not an object).
func (p *parser) status(e *wireEntry, base Event, contacts []wireContact, raw json.RawMessage) {
	var w wireStatus
	if firstByte(raw) != '{' || !decodeTolerant(raw, &w) {
		p.other(e, base, raw)
		return
	}
	s := w.model()
	ev := base
	ev.Kind = KindStatus
	ev.Status = s
	ev.Raw = raw
	ev.WAID, ev.UserID = s.RecipientID, s.RecipientUserID
	if c := matchContact(contacts, s.RecipientID, s.RecipientUserID); c != nil {
		s.Contact = c.model()
		ev.WAID = firstNonEmpty(ev.WAID, s.Contact.WAID)
		ev.UserID = firstNonEmpty(ev.UserID, s.Contact.UserID)
	}
	ev.ContactKey = firstNonEmpty(ev.UserID, ev.WAID)
	ev.Timestamp = timeOr(s.Timestamp, e.Time)
	if s.ID != "" {
		ev.Key = s.ID + "/" + s.Status
	} else {
		ev.Key = hashKey(e, base.Field, raw)
	}
	p.events = append(p.events, ev)
}

// valueError emits a KindError event (or KindOther if raw is not an object).
func (p *parser) valueError(e *wireEntry, base Event, raw json.RawMessage) {
	var w wireError
	if firstByte(raw) != '{' || !decodeTolerant(raw, &w) {
		p.other(e, base, raw)
		return
	}
	ev := base
	ev.Kind = KindError
	errModel := w.model()
	ev.Error = &errModel
	ev.Raw = raw
	ev.Timestamp = e.Time.Time()
	ev.Key = hashKey(e, base.Field, raw)
	p.events = append(p.events, ev)
}

// otherValue emits a KindOther event for a whole change value, first picking
// the business number out of it when it has one.
func (p *parser) otherValue(e *wireEntry, base Event, raw json.RawMessage) {
	if firstByte(raw) == '{' {
		var v wireOtherValue
		if decodeTolerant(raw, &v) {
			base.PhoneNumberID = string(v.Metadata.PhoneNumberID)
			base.DisplayPhoneNumber = firstNonEmpty(string(v.Metadata.DisplayPhoneNumber), string(v.DisplayPhoneNumber))
		}
	}
	p.other(e, base, raw)
}

// other emits a KindOther event whose Raw is raw.
func (p *parser) other(e *wireEntry, base Event, raw json.RawMessage) {
	ev := base
	ev.Kind = KindOther
	ev.Raw = raw
	ev.Timestamp = e.Time.Time()
	ev.Key = hashKey(e, base.Field, raw)
	p.events = append(p.events, ev)
}

// matchContact finds the value.contacts[] entry of a user: the one whose
// wa_id or user_id matches, else the only contact unless it names someone
// else.
func matchContact(contacts []wireContact, waID, userID string) *wireContact {
	for i := range contacts {
		c := &contacts[i]
		if (waID != "" && string(c.WAID) == waID) || (userID != "" && string(c.UserID) == userID) {
			return c
		}
	}
	if len(contacts) == 1 {
		c := &contacts[0]
		if (waID == "" || c.WAID == "" || string(c.WAID) == waID) &&
			(userID == "" || c.UserID == "" || string(c.UserID) == userID) {
			return c
		}
	}
	return nil
}

// hasOddItemList reports whether value has a messages, statuses or errors
// member that is neither an array nor null.
func hasOddItemList(value []byte) bool {
	var l wireItemLists
	_ = json.Unmarshal(value, &l)
	for _, r := range [...]json.RawMessage{l.Messages, l.Statuses, l.Errors} {
		if c := firstByte(r); c != 0 && c != '[' && c != 'n' {
			return true
		}
	}
	return false
}

// decodeTolerant unmarshals raw into v, accepting JSON type mismatches (the
// mismatched fields stay zero). It reports false only for errors that are
// not type mismatches, which cannot happen for bytes the outer decoder has
// already validated.
func decodeTolerant(raw []byte, v any) bool {
	err := json.Unmarshal(raw, v)
	return err == nil || isTypeError(err)
}

func isTypeError(err error) bool {
	var te *json.UnmarshalTypeError
	return errors.As(err, &te)
}

// hashKey is the dedup key of an item without a natural id.
func hashKey(e *wireEntry, field string, raw []byte) string {
	h := sha256.New()
	h.Write([]byte(e.ID))
	h.Write([]byte{0})
	h.Write([]byte(field))
	h.Write([]byte{0})
	h.Write(raw)
	var sum [sha256.Size]byte
	return "sha256:" + hex.EncodeToString(h.Sum(sum[:0]))
}

// firstByte returns the first non-whitespace byte of b, or 0.
func firstByte(b []byte) byte {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return c
	}
	return 0
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func timeOr(t time.Time, fallback flexTime) time.Time {
	if !t.IsZero() {
		return t
	}
	return fallback.Time()
}
