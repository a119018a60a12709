package bridge_test

import (
	"context"
	"errors"
	"testing"

	"github.com/deskbridge/deskbridge/bridge"
	"github.com/deskbridge/deskbridge/connectors/whatsapp"
	"github.com/deskbridge/deskbridge/store"
)

// lister serves a fixed template list.
type lister struct{ ts []whatsapp.Template }

func (l *lister) ListTemplates(context.Context) ([]whatsapp.Template, error) { return l.ts, nil }

func storedEvent(t *testing.T, body string) *store.Event {
	t.Helper()
	evs, err := whatsapp.ParseNotification([]byte(body))
	if err != nil || len(evs) != 1 {
		t.Fatalf("parse: %v (%d events)", err, len(evs))
	}
	payload, err := evs[0].Stored()
	if err != nil {
		t.Fatal(err)
	}
	return &store.Event{ID: 1, Source: bridge.SourceWhatsApp, Kind: string(evs[0].Kind), Key: evs[0].Key, Payload: payload}
}

func TestEngineAppliesTemplateStatusUpdates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := &lister{ts: []whatsapp.Template{{Name: "reengage", Language: "en_US", Status: "APPROVED", Category: "UTILITY"}}}
	cache := whatsapp.NewTemplateCache(l, whatsapp.NewMemoryTemplateStore(), 0, nil)
	caches := bridge.NewTemplateCaches(nil)
	caches.Add("102290129340398", cache)
	eng := bridge.NewEngine(bridge.Options{Templates: caches})
	if _, ok, err := cache.Get(ctx, "reengage", "en_US"); !ok || err != nil {
		t.Fatalf("warm cache: %v %v", ok, err)
	}
	l.ts[0].Status = "PAUSED" // what the API says after the change
	ev := storedEvent(t, `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","time":1751247548,"changes":[{"field":"message_template_status_update","value":{"event":"PAUSED","message_template_id":1,"message_template_name":"reengage","message_template_language":"en-US","reason":"NONE"}}]}]}`)
	if err := eng.Handle(ctx, ev); err != nil {
		t.Fatal(err)
	}
	got, ok, err := cache.Get(ctx, "reengage", "en_US")
	if err != nil || !ok || got.Status != "PAUSED" {
		t.Errorf("after the status event: %+v %v %v, want PAUSED", got, ok, err)
	}
	// A malformed update is permanent: retrying cannot fix it.
	bad := storedEvent(t, `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","time":1,"changes":[{"field":"message_template_status_update","value":{"reason":"NONE"}}]}]}`)
	err = eng.Handle(ctx, bad)
	var p interface{ Permanent() bool }
	if !errors.As(err, &p) || !p.Permanent() {
		t.Errorf("malformed update: %v, want a permanent error", err)
	}
}

func TestEngineRejectsUnreadablePayload(t *testing.T) {
	t.Parallel()
	eng := bridge.NewEngine(bridge.Options{})
	err := eng.Handle(context.Background(), &store.Event{ID: 9, Source: bridge.SourceWhatsApp, Payload: []byte(`{"object":"page"}`)})
	var p interface{ Permanent() bool }
	if !errors.As(err, &p) || !p.Permanent() {
		t.Errorf("unreadable payload: %v, want permanent", err)
	}
	if err := eng.Handle(context.Background(), &store.Event{ID: 10, Source: "smtp"}); !errors.As(err, &p) {
		t.Errorf("unknown source: %v, want permanent", err)
	}
}
