package e2e

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/deskbridge/deskbridge/connectors"
	"github.com/deskbridge/deskbridge/connectors/zendesk"
	sbzendesk "github.com/deskbridge/deskbridge/sandbox/zendesk"
	"github.com/deskbridge/deskbridge/store"
	"github.com/deskbridge/deskbridge/store/storetest"
)

// TestZendeskAgentReplyReachesTheInbox installs the webhook and trigger in
// the Zendesk fake, then lets an agent reply: the fake's signed webhook
// reaches `deskbridge serve`, which stores the reply once; the bridge's own
// writes (a customer message by API, a note) and an agent's note do not.
func TestZendeskAgentReplyReachesTheInbox(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fake := sbzendesk.New(sbzendesk.Options{Email: "bridge@acme.test", APIToken: "zd-token"})
	t.Cleanup(fake.Close)
	zsrv := httptest.NewServer(fake)
	t.Cleanup(zsrv.Close)
	fake.SetBaseURL(zsrv.URL)

	zc, err := zendesk.New(zendesk.Config{Name: "support", BaseURL: zsrv.URL, Email: "bridge@acme.test",
		APIToken: func(context.Context) (string, error) { return "zd-token", nil }, RequestsPerMinute: 6000})
	if err != nil {
		t.Fatal(err)
	}
	inst := newInstance(t, storetest.URL(t, store.SQLite), fastQueue)
	res, err := zc.EnsureWebhook(ctx, &connectors.EnsureWebhookParams{Endpoint: inst.public + "/webhooks/zendesk", Name: "deskbridge"})
	if err != nil || res.SigningSecret == "" {
		t.Fatalf("setup: %+v %v", res, err)
	}
	// Give serve the helpdesk and the signing secret.
	cfg, err := os.ReadFile(inst.configPath)
	if err != nil {
		t.Fatal(err)
	}
	secretFile := filepath.Join(t.TempDir(), "zendesk-webhook-secret")
	if err := os.WriteFile(secretFile, []byte(res.SigningSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg = append(cfg, fmt.Appendf(nil, `      helpdesk: support
helpdesks:
  support:
    kind: zendesk
    base_url: %q
    email: "bridge@acme.test"
    api_token: "env://E2E_UNSET_ZD_TOKEN?default=zd-token"
    webhook_secret: "file://%s"
`, zsrv.URL, secretFile)...)
	if err := os.WriteFile(inst.configPath, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	inst.start()

	// The customer's first message, written by the bridge through the API.
	contact, err := zc.FindOrCreateContact(ctx, &connectors.ContactParams{ExternalID: "whatsapp:+34600111222", Phone: "+34600111222", Name: "Ana"})
	if err != nil {
		t.Fatal(err)
	}
	tk, err := zc.CreateTicket(ctx, &connectors.CreateTicketParams{Requester: contact.Contact, Subject: "WhatsApp: Ana", Body: "Hola"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zc.AppendMessage(ctx, &connectors.AppendParams{Ticket: tk.Ticket, Author: contact.Contact, Body: "¿Hay alguien?"}); err != nil {
		t.Fatal(err)
	}
	if _, err := zc.AddNote(ctx, &connectors.NoteParams{Ticket: tk.Ticket, Body: "WhatsApp: delivered"}); err != nil {
		t.Fatal(err)
	}
	var ticketID int64
	fmt.Sscan(tk.Ticket.ID, &ticketID)
	// An agent answers in public, then writes an internal note.
	if _, err := fake.AgentReply(ctx, sbzendesk.ReplyParams{TicketID: ticketID, Body: "Hola Ana, ¿en qué te ayudamos?"}); err != nil {
		t.Fatal(err)
	}
	private := false
	if _, err := fake.AgentReply(ctx, sbzendesk.ReplyParams{TicketID: ticketID, Body: "internal", Public: &private}); err != nil {
		t.Fatal(err)
	}
	fctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := fake.Flush(fctx); err != nil {
		t.Fatal(err)
	}
	ds := fake.Deliveries()
	for _, d := range ds {
		if !d.Delivered || d.LastStatus != 200 {
			t.Errorf("webhook delivery answered %d: %+v", d.LastStatus, d)
		}
	}
	if len(ds) != 1 {
		t.Errorf("%d webhook deliveries, want 1 (the agent's public reply; the trigger excludes API writes and notes)", len(ds))
	}
	s := inst.waitDrained(30 * time.Second)
	st, err := store.Open(ctx, inst.storeURL, store.Options{SkipMigrations: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	evs, err := st.ListEvents(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var replies int
	for _, e := range evs {
		if e.Source == "zendesk" && e.Kind == "agent_reply" {
			replies++
		}
	}
	if replies != 1 || s.DeadLetters != 0 {
		t.Errorf("stored %d agent replies (status %+v), want exactly the public one", replies, s)
	}
}
