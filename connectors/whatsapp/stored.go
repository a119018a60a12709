package whatsapp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
)

// Stored returns the form in which the bridge keeps an event: a minimal
// webhook notification holding only this item, with the entry id, field,
// business-number metadata and the matching contact, and the item's raw
// JSON unchanged. ParseStored reads it back into the same Event, through
// the same parser that reads Meta's bodies, so nothing the item said is
// lost and an item type unknown today is understood by a later release.
func (e *Event) Stored() ([]byte, error) {
	// The raw item is spliced in byte for byte: re-encoding it would
	// change whitespace and with it the key of events keyed by a hash.
	value := []byte(e.Raw)
	if e.Kind == KindMessage || e.Kind == KindStatus || e.Kind == KindError {
		v := storedValue{MessagingProduct: "whatsapp"}
		if e.PhoneNumberID != "" || e.DisplayPhoneNumber != "" {
			v.Metadata = &storedMetadata{DisplayPhoneNumber: e.DisplayPhoneNumber, PhoneNumberID: e.PhoneNumberID}
		}
		var c *Contact
		switch {
		case e.Message != nil:
			c = e.Message.Contact
		case e.Status != nil:
			c = e.Status.Contact
		}
		if c != nil {
			sc := storedContact{WAID: c.WAID, UserID: c.UserID, ParentUserID: c.ParentUserID,
				IdentityKeyHash: c.IdentityKeyHash, CountryCode: c.CountryCode}
			sc.Profile.Name, sc.Profile.Username = c.Name, c.Username
			v.Contacts = []storedContact{sc}
		}
		head, err := marshal(v)
		if err != nil {
			return nil, fmt.Errorf("whatsapp: store event %s: %w", e.Key, err)
		}
		list := map[EventKind]string{KindMessage: "messages", KindStatus: "statuses", KindError: "errors"}[e.Kind]
		value = slices.Concat(head[:len(head)-1], []byte(`,"`+list+`":[`), e.Raw, []byte("]}"))
	}
	id, err := marshal(e.WABAID)
	if err != nil {
		return nil, fmt.Errorf("whatsapp: store event %s: %w", e.Key, err)
	}
	field, err := marshal(e.Field)
	if err != nil {
		return nil, fmt.Errorf("whatsapp: store event %s: %w", e.Key, err)
	}
	var b bytes.Buffer
	b.Grow(len(value) + 128)
	b.WriteString(`{"object":"` + ObjectWhatsAppBusinessAccount + `","entry":[{"id":`)
	b.Write(id)
	if !e.Timestamp.IsZero() {
		b.WriteString(`,"time":` + strconv.FormatInt(e.Timestamp.Unix(), 10))
	}
	b.WriteString(`,"changes":[{"field":`)
	b.Write(field)
	b.WriteString(`,"value":`)
	b.Write(value)
	b.WriteString(`}]}]}`)
	return b.Bytes(), nil
}

// marshal encodes v without escaping <, > and &.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// ParseStored reads back what Stored wrote.
func ParseStored(b []byte) (*Event, error) {
	evs, err := ParseNotification(b)
	if err != nil {
		return nil, err
	}
	if len(evs) != 1 {
		return nil, fmt.Errorf("%w: stored event holds %d items, want 1", ErrMalformed, len(evs))
	}
	return &evs[0], nil
}

type storedValue struct {
	MessagingProduct string            `json:"messaging_product"`
	Metadata         *storedMetadata   `json:"metadata,omitempty"`
	Contacts         []storedContact   `json:"contacts,omitempty"`
	Messages         []json.RawMessage `json:"messages,omitempty"`
	Statuses         []json.RawMessage `json:"statuses,omitempty"`
	Errors           []json.RawMessage `json:"errors,omitempty"`
}

type storedMetadata struct {
	DisplayPhoneNumber string `json:"display_phone_number,omitempty"`
	PhoneNumberID      string `json:"phone_number_id,omitempty"`
}

type storedContact struct {
	Profile struct {
		Name     string `json:"name,omitempty"`
		Username string `json:"username,omitempty"`
	} `json:"profile"`
	WAID            string `json:"wa_id,omitempty"`
	UserID          string `json:"user_id,omitempty"`
	ParentUserID    string `json:"parent_user_id,omitempty"`
	IdentityKeyHash string `json:"identity_key_hash,omitempty"`
	CountryCode     string `json:"country_code,omitempty"`
}
