package bridge_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/deskbridge/deskbridge/bridge"
	"github.com/deskbridge/deskbridge/queue"
	"github.com/deskbridge/deskbridge/store"
	"github.com/deskbridge/deskbridge/store/storetest"
)

func zendeskHeaders(secret string, ts time.Time, body []byte) http.Header {
	stamp := ts.UTC().Format(time.RFC3339)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(stamp))
	mac.Write(body)
	h := http.Header{}
	h.Set("X-Zendesk-Webhook-Signature", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	h.Set("X-Zendesk-Webhook-Signature-Timestamp", stamp)
	return h
}

func TestHelpdeskInbox(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t, store.SQLite, store.Options{})
	q, err := queue.New(ctx, st, queue.HandlerFunc(func(context.Context, *store.Event) error { return nil }), queue.Config{})
	if err != nil {
		t.Fatal(err)
	}
	in := bridge.NewInbox(st, q)
	defer in.Close()
	secretOf := func(s string) func(context.Context) ([]byte, error) {
		return func(context.Context) ([]byte, error) { return []byte(s), nil }
	}
	hd := bridge.NewHelpdeskInbox(in, []bridge.ZendeskAccount{
		{Name: "other", Secret: secretOf("other-secret")},
		{Name: "support", Secret: secretOf("zd-secret"), APIUserID: func(context.Context) (string, error) { return "900", nil }},
	})
	reply := []byte(`{"event":"agent_public_reply","ticket_id":"42","comment_id":"7001","author_id":"501","author_role":"Agent","public":true,"requester_external_id":"whatsapp:+34600111222","updated_at":"2026-11-24T10:00:00Z"}`)
	echo := []byte(`{"event":"agent_public_reply","ticket_id":"42","comment_id":"7002","author_id":"77","author_role":"End-user","public":true}`)
	note := []byte(`{"event":"agent_public_reply","ticket_id":"42","comment_id":"7003","author_id":"900","author_role":"Admin","public":true}`)
	other := []byte(`{"event":"ticket_deleted","ticket_id":"8","public":false}`)
	private := []byte(`{"event":"agent_public_reply","ticket_id":"42","comment_id":"7004","author_id":"501","author_role":"Agent","public":false}`)
	now := time.Now()
	for _, tc := range []struct {
		name           string
		body           []byte
		header         http.Header
		code           int
		result         string
		storedAfterAll int64
	}{
		{"agent reply stored", reply, zendeskHeaders("zd-secret", now, reply), 200, "stored", 1},
		{"re-delivery", reply, zendeskHeaders("zd-secret", now.Add(time.Second), reply), 200, "duplicate", 1},
		{"bridge's customer message echo", echo, zendeskHeaders("zd-secret", now, echo), 200, "ignored", 1},
		{"bridge's own note", note, zendeskHeaders("zd-secret", now, note), 200, "ignored", 1},
		{"wrong secret", reply, zendeskHeaders("nope", now, reply), 401, "", 1},
		{"replayed an hour later", reply, zendeskHeaders("zd-secret", now.Add(-time.Hour), reply), 401, "", 1},
		{"unsigned", reply, http.Header{}, 401, "", 1},
		{"not a reply", []byte(`[1,2]`), zendeskHeaders("zd-secret", now, []byte(`[1,2]`)), 400, "", 1},
		{"other event", other, zendeskHeaders("zd-secret", now, other), 200, "ignored", 1},
		{"private", private, zendeskHeaders("zd-secret", now, private), 200, "ignored", 1},
	} {
		code, kind, result, err := hd.AcceptHelpdesk(ctx, "zendesk", tc.header, tc.body)
		if code != tc.code || result != tc.result {
			t.Errorf("%s: %d %s %s (%v), want %d %s", tc.name, code, kind, result, err, tc.code, tc.result)
		}
		s, _ := st.Stats(ctx)
		if s.EventsTotal != tc.storedAfterAll {
			t.Errorf("%s: %d events stored, want %d", tc.name, s.EventsTotal, tc.storedAfterAll)
		}
	}
	evs, err := st.ListEvents(ctx, 0, 10)
	if err != nil || len(evs) != 1 || evs[0].Source != "zendesk" || evs[0].Kind != "agent_reply" || evs[0].Key != "support:42:7001" {
		t.Fatalf("stored = %+v %v", evs, err)
	}
	if code, _, _, _ := hd.AcceptHelpdesk(ctx, "freshdesk", http.Header{}, reply); code != 404 {
		t.Errorf("unconfigured vendor: %d, want 404", code)
	}
}

func TestHelpdeskInboxSecretUnavailable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t, store.SQLite, store.Options{})
	q, err := queue.New(ctx, st, queue.HandlerFunc(func(context.Context, *store.Event) error { return nil }), queue.Config{})
	if err != nil {
		t.Fatal(err)
	}
	in := bridge.NewInbox(st, q)
	defer in.Close()
	hd := bridge.NewHelpdeskInbox(in, []bridge.ZendeskAccount{{Name: "support",
		Secret: func(context.Context) ([]byte, error) { return nil, errors.New("open /run/secrets/zd: no such file") }}})
	body := []byte(`{"event":"agent_public_reply","ticket_id":"1","comment_id":"2","public":true}`)
	if code, _, _, err := hd.AcceptHelpdesk(ctx, "zendesk", zendeskHeaders("x", time.Now(), body), body); code != 503 {
		t.Errorf("unreadable secret: %d %v, want 503 so Zendesk retries", code, err)
	}
}
