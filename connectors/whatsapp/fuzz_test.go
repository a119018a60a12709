package whatsapp

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// samplePayloads returns the contents of the shared sample payloads, or nil
// when the folder is absent (fuzz seeding must not skip).
func samplePayloads() [][]byte {
	var out [][]byte
	_ = filepath.WalkDir(payloadDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
			return nil
		}
		if b, err := os.ReadFile(path); err == nil {
			out = append(out, b)
		}
		return nil
	})
	return out
}

// inlineSeeds are hand-written bodies covering the odd shapes.
func inlineSeeds() [][]byte {
	text := `{"from":"16505551234","id":"wamid.1","timestamp":"1749416383","type":"text","text":{"body":"Caf\u00e9"}}`
	return [][]byte{
		nil,
		[]byte(`{}`),
		[]byte(`{"object":"page"}`),
		[]byte(`{"object":"whatsapp_business_account","entry":[]}`),
		[]byte(`{"object":"whatsapp_business_account","entry":{}}`),
		notification(messagesChange(messagesValue(sheenaContacts, "messages", text, `"x"`, `null`))),
		notification(messagesChange(messagesValue(`[{"user_id":"US.1","profile":{"username":"u"}}]`, "messages",
			`{"from_user_id":"US.1","id":"wamid.2","timestamp":1,"type":"edit","edit":{"original_message_id":"wamid.1","message":{"type":"text","text":{"body":"e"}}}}`))),
		notification(messagesChange(messagesValue("", "statuses",
			`{"id":"wamid.3","status":"failed","timestamp":"1","recipient_user_id":"US.1","errors":[{"code":"131049","error_data":{"details":"d"}}]}`))),
		notification(messagesChange(`{"errors":[{"code":130429}],"messages":7}`)),
		notification(`{"field":"message_template_status_update","value":{"event":"APPROVED"}}`, `{"field":"messages"}`),
		notification(messagesChange(messagesValue("", "messages",
			`{"id":"wamid.4","type":"order","order":{"product_items":[{"quantity":"2","item_price":1e308}]},"location":{"latitude":"NaN","longitude":-1e999}}`))),
	}
}

func FuzzParseNotification(f *testing.F) {
	for _, b := range samplePayloads() {
		f.Add(b)
	}
	for _, b := range inlineSeeds() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := ParseNotification(body)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrNotWhatsApp) {
				t.Fatalf("unexpected error type: %v", err)
			}
			if evs != nil {
				t.Fatalf("events returned with error %v", err)
			}
			return
		}
		for _, ev := range evs {
			checkEventInvariants(t, ev)
			if ev.Kind == KindMessage && ev.Message.ID != "" && ev.Key != ev.Message.ID {
				t.Fatalf("message key %q != id %q", ev.Key, ev.Message.ID)
			}
		}
		// Events must be storable as JSON (no NaN, no out-of-range times).
		if _, err := json.Marshal(evs); err != nil {
			t.Fatalf("events do not marshal: %v", err)
		}
		again, err := ParseNotification(body)
		if err != nil || len(again) != len(evs) {
			t.Fatalf("second parse differs: %v, %d vs %d events", err, len(again), len(evs))
		}
		for i := range evs {
			if again[i].Key != evs[i].Key || again[i].Kind != evs[i].Kind {
				t.Fatalf("event %d not deterministic", i)
			}
		}
	})
}

func FuzzVerifySignature(f *testing.F) {
	secret := []byte("app-secret")
	for _, b := range append(samplePayloads(), inlineSeeds()...) {
		f.Add(b, Sign(b, secret), secret)
	}
	f.Add([]byte("x"), "", []byte("k"))
	f.Add([]byte("x"), "sha256=", []byte("k"))
	f.Add([]byte("x"), "sha256="+strings.Repeat("Z", 64), []byte("k"))
	f.Add([]byte("x"), strings.ToUpper(Sign([]byte("x"), []byte("k"))), []byte("k"))
	f.Add([]byte("x"), Sign([]byte("x"), []byte("k")), []byte(nil))
	f.Fuzz(func(t *testing.T, body []byte, header string, secret []byte) {
		err := VerifySignature(body, header, secret)
		switch {
		case err == nil:
			want := Sign(body, secret)
			if got := strings.TrimSpace(header); !strings.EqualFold(got, want) || !strings.HasPrefix(got, "sha256=") {
				t.Fatalf("accepted header %q, want %q", header, want)
			}
		case errors.Is(err, ErrNoAppSecret):
			if len(secret) != 0 {
				t.Fatalf("ErrNoAppSecret with a secret")
			}
		case errors.Is(err, ErrSignatureMissing), errors.Is(err, ErrSignatureMalformed), errors.Is(err, ErrSignatureMismatch):
		default:
			t.Fatalf("unexpected error %v", err)
		}
		if len(secret) > 0 {
			if err := VerifySignature(body, Sign(body, secret), secret); err != nil {
				t.Fatalf("own signature rejected: %v", err)
			}
		}
	})
}
