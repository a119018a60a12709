// Package telemetry sets up deskbridge's structured logging and Prometheus
// metrics.
//
// Logging uses log/slog. Values that identify a person or grant access never
// reach a log line: secrets are redacted and phone numbers and WhatsApp ids are
// masked to their last four digits. Types that carry such values implement
// slog.LogValuer (see Phone); NewLogger adds a ReplaceAttr safety net that
// redacts attributes by key, so a value logged under a well-known key is
// protected even when it was passed as a plain string.
package telemetry

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// Redacted is what a secret value is replaced with in logs and printed config.
const Redacted = "[redacted]"

// secretKeys are attribute keys whose values are always redacted.
var secretKeys = map[string]bool{
	"token": true, "access_token": true, "api_token": true, "oauth_token": true,
	"app_secret": true, "verify_token": true, "secret": true, "secret_id": true,
	"password": true, "authorization": true, "webhook_secret": true,
	"admin_token": true, "signature": true, "x-hub-signature-256": true,
	"hub.verify_token": true,
}

// phoneKeys are attribute keys whose values are masked to their last 4 digits.
var phoneKeys = map[string]bool{
	"phone": true, "wa_id": true, "from": true, "to": true, "recipient_id": true,
	"contact_key": true, "display_phone_number": true, "user_id": true,
	"from_user_id": true, "recipient_user_id": true, "bsuid": true,
}

// NewLogger returns a logger writing to w at the given level ("debug",
// "info", "warn", "error") and format ("json" or "text"). Secret and phone
// attributes are redacted or masked by key.
func NewLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("telemetry: log level %q: must be one of debug, info, warn, error", level)
	}
	opts := &slog.HandlerOptions{Level: lvl, ReplaceAttr: replaceAttr}
	switch format {
	case "json", "":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("telemetry: log format %q: must be json or text", format)
	}
}

// DiscardLogger returns a logger that writes nothing; libraries default to it.
func DiscardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func replaceAttr(_ []string, a slog.Attr) slog.Attr {
	key := strings.ToLower(a.Key)
	switch {
	case secretKeys[key]:
		if a.Value.Kind() == slog.KindString && a.Value.String() == "" {
			return a
		}
		return slog.String(a.Key, Redacted)
	case phoneKeys[key] && a.Value.Kind() == slog.KindString:
		return slog.String(a.Key, MaskPhone(a.Value.String()))
	}
	return a
}

// MaskPhone masks a phone number, wa_id or business-scoped user id to its
// last four characters, e.g. "16505551234" → "*******1234". Values of four
// characters or fewer are masked entirely.
func MaskPhone(s string) string {
	n := len(s)
	if n == 0 {
		return ""
	}
	if n <= 4 {
		return strings.Repeat("*", n)
	}
	return strings.Repeat("*", n-4) + s[n-4:]
}

// Phone is a phone number or WhatsApp id that logs masked to its last four
// digits.
type Phone string

// LogValue implements slog.LogValuer.
func (p Phone) LogValue() slog.Value { return slog.StringValue(MaskPhone(string(p))) }

// String implements fmt.Stringer with the masked form.
func (p Phone) String() string { return MaskPhone(string(p)) }
