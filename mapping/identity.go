package mapping

import (
	"fmt"
	"slices"
	"strings"

	"github.com/deskbridge/deskbridge/connectors/whatsapp"
)

// Limits on the number of digits of an E.164 number (country code included).
const (
	minPhoneDigits = 8
	maxPhoneDigits = 15
)

// NormalizePhone returns s as an E.164 number with a leading "+".
//
// Spaces, dashes, dots and parentheses are removed. The number may start
// with "+", with the international prefix "00", or with neither: a WhatsApp
// wa_id has no "+" but is always the digits of an international number, so
// bare digits are read as country code plus national number. The result must
// have 8 to 15 digits. Errors name the input masked to its last 4 characters.
func NormalizePhone(s string) (string, error) {
	var b strings.Builder
	b.Grow(len(s) + 1)
	t := strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(t, "+"):
		t = t[1:]
	case strings.HasPrefix(t, "00"):
		t = t[2:]
	}
	for _, r := range t {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')' || r == '\t':
		default:
			return "", fmt.Errorf("mapping: phone %s: unexpected character %q", maskPhone(s), r)
		}
	}
	digits := b.String()
	if n := len(digits); n < minPhoneDigits || n > maxPhoneDigits {
		return "", fmt.Errorf("mapping: phone %s: %d digits, want %d to %d", maskPhone(s), n, minPhoneDigits, maxPhoneDigits)
	}
	if digits[0] == '0' {
		return "", fmt.Errorf("mapping: phone %s: country code starts with 0", maskPhone(s))
	}
	return "+" + digits, nil
}

// maskPhone hides all but the last 4 characters of s, so errors and logs
// never carry a full phone number.
func maskPhone(s string) string {
	r := []rune(strings.TrimSpace(s))
	if len(r) <= 4 {
		return strings.Repeat("*", len(r))
	}
	return "***" + string(r[len(r)-4:])
}

// PhoneVariants returns e164 followed by the other forms under which the
// same WhatsApp user may be known, in a fixed order:
//
//   - Brazil (+55, 2-digit area code): a mobile with the 9th digit
//     (+55 AA 9XXXXXXXX) and without it (+55 AA XXXXXXXX). A number without
//     the 9th digit gets the other form only when its local part starts with
//     6 to 9 (a mobile); landlines have no variant.
//   - Mexico: +521 followed by 10 digits and +52 followed by the same
//     10 digits.
//
// Other numbers have no variant. The input is returned as given (it should
// come from [NormalizePhone]); an empty input gives nil.
func PhoneVariants(e164 string) []string {
	if e164 == "" {
		return nil
	}
	out := []string{e164}
	d, ok := strings.CutPrefix(e164, "+")
	if !ok || !allDigits(d) {
		return out
	}
	switch {
	case strings.HasPrefix(d, "55"):
		area, local := d[2:min(4, len(d))], d[min(4, len(d)):]
		if len(area) != 2 || area[0] == '0' {
			break
		}
		switch {
		case len(local) == 9 && local[0] == '9' && isMobileLead(local[1]):
			out = append(out, "+55"+area+local[1:])
		case len(local) == 8 && isMobileLead(local[0]):
			out = append(out, "+55"+area+"9"+local)
		}
	case strings.HasPrefix(d, "521") && len(d) == 13:
		out = append(out, "+52"+d[3:])
	case strings.HasPrefix(d, "52") && len(d) == 12 && d[2] != '1':
		out = append(out, "+521"+d[2:])
	}
	return out
}

// isMobileLead reports whether c starts a Brazilian mobile local number.
func isMobileLead(c byte) bool { return c >= '6' && c <= '9' }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// ContactKey returns the key that identifies a WhatsApp user: the
// business-scoped user id (BSUID) when present, else the wa_id normalized to
// E.164 with "+" (or the trimmed wa_id as given when it is not a valid
// number). Both empty give "".
func ContactKey(userID, waID string) string {
	if u := strings.TrimSpace(userID); u != "" {
		return u
	}
	w := strings.TrimSpace(waID)
	if w == "" {
		return ""
	}
	if p, err := NormalizePhone(w); err == nil {
		return p
	}
	return w
}

// ExternalID returns the deterministic helpdesk external id of a contact:
// "whatsapp:+E164" when the phone is known, else "whatsapp:bsuid:<id>", else
// "". The phone is normalized when possible and used as given otherwise.
func ExternalID(phoneE164, bsuid string) string {
	if p := strings.TrimSpace(phoneE164); p != "" {
		if n, err := NormalizePhone(p); err == nil {
			p = n
		}
		return "whatsapp:" + p
	}
	if b := strings.TrimSpace(bsuid); b != "" {
		return "whatsapp:bsuid:" + b
	}
	return ""
}

// Aliases holds every identifier known for one contact: its phone numbers
// in E.164 (with all their [PhoneVariants]), its wa_ids as sent by WhatsApp
// and its BSUIDs. Identifiers are only added, never removed, so old ones
// keep matching after a change of number or BSUID. The zero value is empty
// and ready to use; the fields are exported so callers can store them.
type Aliases struct {
	Phones []string // E.164 with "+", variants included
	WAIDs  []string // as sent by WhatsApp (digits, no "+")
	BSUIDs []string // business-scoped user ids
}

// AddPhone adds a phone number in any format [NormalizePhone] accepts,
// together with its variants. It fails, adding nothing, when the number is
// not valid.
func (a *Aliases) AddPhone(phone string) error {
	p, err := NormalizePhone(phone)
	if err != nil {
		return err
	}
	for _, v := range PhoneVariants(p) {
		a.Phones = appendNew(a.Phones, v)
	}
	return nil
}

// AddWAID adds a wa_id and, when it is a valid number, its phone variants.
// An empty wa_id is ignored.
func (a *Aliases) AddWAID(waID string) {
	w := strings.TrimSpace(waID)
	if w == "" {
		return
	}
	a.WAIDs = appendNew(a.WAIDs, w)
	_ = a.AddPhone(w) // a wa_id that is not a number is kept as a wa_id only
}

// AddBSUID adds a business-scoped user id. An empty id is ignored.
func (a *Aliases) AddBSUID(bsuid string) {
	if b := strings.TrimSpace(bsuid); b != "" {
		a.BSUIDs = appendNew(a.BSUIDs, b)
	}
}

// AddContact adds the identifiers of a webhook contact entry.
func (a *Aliases) AddContact(c *whatsapp.Contact) {
	if c == nil {
		return
	}
	a.AddWAID(c.WAID)
	a.AddBSUID(c.UserID)
}

// Contains reports whether key is one of the contact's identifiers: a BSUID,
// a wa_id, or a phone number in any format [NormalizePhone] accepts.
func (a *Aliases) Contains(key string) bool {
	k := strings.TrimSpace(key)
	if k == "" {
		return false
	}
	if slices.Contains(a.BSUIDs, k) || slices.Contains(a.WAIDs, k) {
		return true
	}
	p, err := NormalizePhone(k)
	return err == nil && slices.Contains(a.Phones, p)
}

// ApplySystem updates the aliases from an identity-change system message
// and reports whether it was one:
//
//   - user_changed_number adds the new wa_id (System.WAID, or the older
//     System.NewWAID) and its phone variants;
//   - user_changed_user_id adds the new BSUID and the previous one.
//
// The old identifiers stay, so messages still keyed on them match. Other
// system messages change nothing.
func (a *Aliases) ApplySystem(s *whatsapp.System) bool {
	if s == nil {
		return false
	}
	switch s.Type {
	case "user_changed_number":
		w := s.WAID
		if w == "" {
			w = s.NewWAID
		}
		a.AddWAID(w)
		return w != ""
	case "user_changed_user_id":
		a.AddBSUID(s.PreviousUserID)
		a.AddBSUID(s.UserID)
		return s.UserID != ""
	}
	return false
}

func appendNew(list []string, v string) []string {
	if slices.Contains(list, v) {
		return list
	}
	return append(list, v)
}
