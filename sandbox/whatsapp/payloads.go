package whatsapp

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Webhook envelope, as Meta sends it (reference §2.1).
type envelope struct {
	Object string  `json:"object"`
	Entry  []entry `json:"entry"`
}

type entry struct {
	ID      string   `json:"id"`
	Time    int64    `json:"time,omitempty"` // account-level fields only, an integer
	Changes []change `json:"changes"`
}

type change struct {
	Value any    `json:"value"`
	Field string `json:"field"`
}

// messagesValue is the value of a "messages" change.
type messagesValue struct {
	MessagingProduct string           `json:"messaging_product"`
	Metadata         metadata         `json:"metadata"`
	Contacts         []webhookContact `json:"contacts,omitempty"`
	Messages         []map[string]any `json:"messages,omitempty"`
	Statuses         []statusOut      `json:"statuses,omitempty"`
}

type metadata struct {
	DisplayPhoneNumber string `json:"display_phone_number"`
	PhoneNumberID      string `json:"phone_number_id"`
}

type webhookContact struct {
	Profile struct {
		Name string `json:"name"`
	} `json:"profile"`
	WAID   string `json:"wa_id,omitempty"`
	UserID string `json:"user_id,omitempty"`
}

// statusOut is one statuses[] item (reference §2.4).
type statusOut struct {
	ID                    string         `json:"id"`
	Status                string         `json:"status"`
	Timestamp             string         `json:"timestamp"`
	RecipientID           string         `json:"recipient_id,omitempty"`
	RecipientUserID       string         `json:"recipient_user_id,omitempty"`
	BizOpaqueCallbackData string         `json:"biz_opaque_callback_data,omitempty"`
	Conversation          *conversation  `json:"conversation,omitempty"`
	Pricing               *pricing       `json:"pricing,omitempty"`
	Errors                []webhookError `json:"errors,omitempty"`
}

type conversation struct {
	ID                  string `json:"id"`
	ExpirationTimestamp string `json:"expiration_timestamp,omitempty"`
	Origin              struct {
		Type string `json:"type"`
	} `json:"origin"`
}

type pricing struct {
	Billable     bool   `json:"billable"`
	PricingModel string `json:"pricing_model"`
	Type         string `json:"type"`
	Category     string `json:"category"`
}

// webhookError is an error as carried in webhooks.
type webhookError struct {
	Code      int    `json:"code"`
	Title     string `json:"title"`
	Message   string `json:"message"`
	ErrorData struct {
		Details string `json:"details"`
	} `json:"error_data"`
	Href string `json:"href"`
}

// newWebhookError builds the webhook form of error code with details
// (defaults from errorDetails).
func newWebhookError(code int, details string) webhookError {
	if details == "" {
		details = errorDetails[code]
	}
	if details == "" {
		details = errorTitle(code)
	}
	e := webhookError{Code: code, Title: errorTitle(code), Message: errorTitle(code),
		Href: "/documentation/business-messaging/whatsapp/support/error-codes"}
	e.ErrorData.Details = details
	return e
}

// templateStatusValue is the value of a message_template_status_update change.
type templateStatusValue struct {
	Event                   string `json:"event"`
	MessageTemplateID       int64  `json:"message_template_id"`
	MessageTemplateName     string `json:"message_template_name"`
	MessageTemplateLanguage string `json:"message_template_language"`
	Reason                  string `json:"reason"`
	MessageTemplateCategory string `json:"message_template_category,omitempty"`
	OtherInfo               *struct {
		Title       string `json:"title"`
		Description string `json:"description"`
	} `json:"other_info,omitempty"`
}

// messagesEnvelope wraps a messages value for one number.
func messagesEnvelope(n *numberState, v messagesValue) envelope {
	v.MessagingProduct = "whatsapp"
	v.Metadata = metadata{DisplayPhoneNumber: n.digits, PhoneNumberID: n.PhoneNumberID}
	return envelope{
		Object: "whatsapp_business_account",
		Entry:  []entry{{ID: n.WABAID, Changes: []change{{Value: v, Field: "messages"}}}},
	}
}

// marshalMeta encodes v the way Meta serialises webhook bodies: no HTML
// escaping, and every non-ASCII character escaped as \uXXXX with lowercase
// hex (surrogate pairs above U+FFFF). The signature is computed over exactly
// these bytes.
func marshalMeta(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return asciiEscape(bytes.TrimRight(buf.Bytes(), "\n")), nil
}

// asciiEscape replaces every non-ASCII character of a JSON text with its
// \uXXXX escape. Non-ASCII bytes can only occur inside strings, so the
// result is the same JSON value.
func asciiEscape(b []byte) []byte {
	if !hasNonASCII(b) {
		return b
	}
	const hexDigits = "0123456789abcdef"
	out := make([]byte, 0, len(b)+len(b)/4)
	appendU := func(r rune) {
		out = append(out, '\\', 'u',
			hexDigits[(r>>12)&0xf], hexDigits[(r>>8)&0xf], hexDigits[(r>>4)&0xf], hexDigits[r&0xf])
	}
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			out = append(out, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r > 0xffff {
			r1, r2 := utf16.EncodeRune(r)
			appendU(r1)
			appendU(r2)
		} else {
			appendU(r)
		}
		i += size
	}
	return out
}

func hasNonASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return true
		}
	}
	return false
}

// unixString formats a Unix time as Meta does in messages and statuses.
func unixString(sec int64) string { return strconv.FormatInt(sec, 10) }

// apiMajor returns the major number of a "vNN.N" version (0 if malformed).
func apiMajor(v string) int {
	v = strings.TrimPrefix(v, "v")
	major, _, _ := strings.Cut(v, ".")
	n, _ := strconv.Atoi(major)
	return n
}
