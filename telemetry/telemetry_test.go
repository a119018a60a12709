package telemetry_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/deskbridge/deskbridge/telemetry"
)

func TestMaskPhone(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"16505551234", "*******1234"},
		{"+5511987654321", "**********4321"},
		{"US.13491208655302741918", "*******************1918"},
		{"1234", "****"},
		{"12", "**"},
		{"", ""},
	} {
		if got := telemetry.MaskPhone(tc.in); got != tc.want {
			t.Errorf("MaskPhone(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestLoggerRedacts(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"json", "text"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			log, err := telemetry.NewLogger(&buf, "debug", format)
			if err != nil {
				t.Fatal(err)
			}
			log.Info("event",
				"access_token", "EAAGm0PX4ZCpsBA-secret",
				"Authorization", "Bearer abc.def",
				"app_secret", "hunter2",
				"wa_id", "16505551234",
				"contact_key", "US.13491208655302741918",
				slog.Any("phone", telemetry.Phone("+34600111222")),
				"kind", "message",
			)
			out := buf.String()
			for _, leak := range []string{"EAAGm0PX4ZCpsBA-secret", "abc.def", "hunter2", "16505551234", "13491208655302741918", "600111222"} {
				if strings.Contains(out, leak) {
					t.Errorf("log leaks %q: %s", leak, out)
				}
			}
			for _, want := range []string{"[redacted]", "1234", "1918", "1222", "message"} {
				if !strings.Contains(out, want) {
					t.Errorf("log lacks %q: %s", want, out)
				}
			}
		})
	}
}

func TestNewLoggerErrors(t *testing.T) {
	t.Parallel()
	if _, err := telemetry.NewLogger(&bytes.Buffer{}, "loud", "json"); err == nil || !strings.Contains(err.Error(), "debug, info, warn, error") {
		t.Errorf("bad level: %v", err)
	}
	if _, err := telemetry.NewLogger(&bytes.Buffer{}, "info", "xml"); err == nil || !strings.Contains(err.Error(), "json or text") {
		t.Errorf("bad format: %v", err)
	}
}
