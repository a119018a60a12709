package mapping

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deskbridge/deskbridge/connectors/whatsapp"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// goldenText is the form compared with a .golden file: the text, then the
// media reference when there is one.
func goldenText(r Rendered) string {
	var b strings.Builder
	b.WriteString(r.Text)
	b.WriteString("\n")
	if m := r.Media; m != nil {
		fmt.Fprintf(&b, "--- media\nkind: %s\nid: %s\nurl: %s\nmime_type: %s\nfilename: %s\ncaption: %s\n",
			m.Kind, m.ID, m.URL, m.MimeType, m.Filename, m.Caption)
	}
	return b.String()
}

func TestRenderMessage_golden(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no testdata/*.json")
	}
	tz, err := time.LoadLocation("Europe/Madrid")
	if err != nil {
		tz = time.FixedZone("CET", 3600)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			body, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			events, err := whatsapp.ParseNotification(body)
			if err != nil {
				t.Fatalf("ParseNotification: %v", err)
			}
			var msg *whatsapp.Message
			for _, ev := range events {
				if ev.Kind == whatsapp.KindMessage {
					msg = ev.Message
					break
				}
			}
			if msg == nil {
				t.Fatal("no message event")
			}
			got := goldenText(RenderMessage(msg, tz))
			golden := strings.TrimSuffix(file, ".json") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./mapping -update)", err)
			}
			if !bytes.Equal([]byte(got), want) {
				t.Errorf("%s mismatch\n--- got\n%s--- want\n%s", golden, got, want)
			}
		})
	}
}

func TestRenderMessage_cases(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		msg  *whatsapp.Message
		want string
	}{
		{"nil", nil, "[unsupported WhatsApp message: unknown]"},
		{"text without payload", &whatsapp.Message{Type: "text"}, "[unsupported WhatsApp message: text]"},
		{"empty type", &whatsapp.Message{}, "[unsupported WhatsApp message: unknown]"},
		{"unknown legacy", &whatsapp.Message{Type: "unknown"}, "[unsupported WhatsApp message: unknown]"},
		{"edit without message", &whatsapp.Message{Type: "edit", Edit: &whatsapp.Edit{}}, "[unsupported WhatsApp message: edit]"},
		{"button payload only", &whatsapp.Message{Type: "button", Button: &whatsapp.Button{Payload: "YES"}}, "YES"},
		{"animated sticker", &whatsapp.Message{Type: "sticker", Sticker: &whatsapp.Media{ID: "1", Animated: true}}, "[animated sticker]"},
		{"document without name", &whatsapp.Message{Type: "document", Document: &whatsapp.Media{ID: "1"}}, "[document]"},
		{"referral post without url", &whatsapp.Message{Type: "text", Text: &whatsapp.Text{Body: "hi"},
			Referral: &whatsapp.Referral{SourceType: "post", Body: "Our sale"}}, "Came from post: Our sale\nhi"},
		{"system without body", &whatsapp.Message{Type: "system", System: &whatsapp.System{Type: "user_changed_number"}},
			"[the customer changed their phone number]"},
		{"identity changed with time", &whatsapp.Message{Type: "system", System: &whatsapp.System{Type: "customer_identity_changed"},
			Identity: &whatsapp.Identity{CreatedTimestamp: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)}},
			"[the customer's identity changed on 2026-01-02 03:04 UTC]"},
		{"contact without name", &whatsapp.Message{Type: "contacts", Contacts: []whatsapp.SharedContact{{Phones: []whatsapp.ContactPhone{{WAID: "34600111222"}}}}},
			"👤 Contact: (no name)\nPhone: 34600111222"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := RenderMessage(tc.msg, nil).Text; got != tc.want {
				t.Fatalf("RenderMessage = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestShortID(t *testing.T) {
	t.Parallel()
	a, b := ShortID("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="), ShortID("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTEyQjFGNzI1QTQxMjI5QTMyOQA=")
	if len(a) != 8 || a == b || a != ShortID("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=") {
		t.Fatalf("ShortID: %q %q", a, b)
	}
	if ShortID("") != "?" {
		t.Fatalf("ShortID(\"\") = %q", ShortID(""))
	}
}

func TestMediaTooLarge(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		file        string
		size, limit int64
		want        string
	}{
		{"mb", "video.mp4", 52_400_000, 50_000_000, "[file not attached: video.mp4 is 52.4 MB, over the 50 MB attachment limit]"},
		{"no name", " ", 2_000_000_000, 1_000_000, "[file not attached: unnamed file is 2 GB, over the 1 MB attachment limit]"},
		{"small", "a.txt", 999, 500, "[file not attached: a.txt is 999 B, over the 500 B attachment limit]"},
		{"kb", "a.txt", 1500, 1000, "[file not attached: a.txt is 1.5 KB, over the 1 KB attachment limit]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := MediaTooLarge(tc.file, tc.size, tc.limit); got != tc.want {
				t.Fatalf("MediaTooLarge = %q, want %q", got, tc.want)
			}
		})
	}
}
