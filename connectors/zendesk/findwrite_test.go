package zendesk_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/deskbridge/deskbridge/connectors"
	"github.com/deskbridge/deskbridge/connectors/zendesk"
	sbzendesk "github.com/deskbridge/deskbridge/sandbox/zendesk"
)

// countingTransport counts the requests to each path on their way to the
// fake.
type countingTransport struct {
	mu    sync.Mutex
	paths map[string]int
}

func (ct *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ct.mu.Lock()
	ct.paths[req.URL.Path]++
	ct.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

// count returns the requests to path so far, and starts again from zero.
func (ct *countingTransport) count(path string) int {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	n := ct.paths[path]
	delete(ct.paths, path)
	return n
}

// fakeBundle is a client connected to a fresh Zendesk fake.
type fakeBundle struct {
	fake   *sbzendesk.Server
	client *zendesk.Client
	calls  *countingTransport
}

// startFake starts the Zendesk fake and a client on it.
func startFake(t *testing.T) fakeBundle {
	t.Helper()
	fake := sbzendesk.New(sbzendesk.Options{Email: "bridge@acme.test", APIToken: "zd-token"})
	t.Cleanup(fake.Close)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	fake.SetBaseURL(srv.URL)
	calls := &countingTransport{paths: map[string]int{}}
	c, err := zendesk.New(zendesk.Config{
		Name: "support", BaseURL: srv.URL, Email: "bridge@acme.test",
		APIToken:          func(context.Context) (string, error) { return "zd-token", nil },
		RequestsPerMinute: 6000, Transport: calls,
	})
	if err != nil {
		t.Fatal(err)
	}
	return fakeBundle{fake: fake, client: c, calls: calls}
}

// customer finds or creates a WhatsApp customer.
func (fb fakeBundle) customer(t *testing.T, phone string) connectors.ContactRef {
	t.Helper()
	res, err := fb.client.FindOrCreateContact(t.Context(), &connectors.ContactParams{ExternalID: "whatsapp:" + phone,
		Phone: phone, Name: "Ana"})
	if err != nil {
		t.Fatal(err)
	}
	return res.Contact
}

// ticket creates a ticket whose first comment is written with key.
func (fb fakeBundle) ticket(t *testing.T, c connectors.ContactRef, key string) *connectors.TicketResult {
	t.Helper()
	res, err := fb.client.CreateTicket(t.Context(), &connectors.CreateTicketParams{Requester: c, Subject: "WhatsApp: Ana",
		Body: "hello", IdempotencyKey: key})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestFindWrite(t *testing.T) {
	t.Parallel()
	fb := startFake(t)
	ctx := t.Context()
	ana := fb.customer(t, "+34600111222")
	tk := fb.ticket(t, ana, "wamid.0")
	other := fb.ticket(t, fb.customer(t, "+34600333444"), "wamid.other")
	msg, err := fb.client.AppendMessage(ctx, &connectors.AppendParams{Ticket: tk.Ticket, Author: ana, Body: "more",
		IdempotencyKey: "wamid.1"})
	if err != nil {
		t.Fatal(err)
	}
	note, err := fb.client.AddNote(ctx, &connectors.NoteParams{Ticket: tk.Ticket, Body: "not delivered", IdempotencyKey: "note:wamid.1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fb.client.AppendMessage(ctx, &connectors.AppendParams{Ticket: tk.Ticket, Author: ana, Body: "no key"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		ticket    connectors.TicketRef
		key       string
		wantFound bool
		want      connectors.CommentRef
	}{
		{"the ticket's first comment", tk.Ticket, "wamid.0", true, tk.Comment},
		{"an appended message", tk.Ticket, "wamid.1", true, msg},
		{"a note", tk.Ticket, "note:wamid.1", true, note},
		{"a key never written", tk.Ticket, "wamid.2", false, connectors.CommentRef{}},
		{"a prefix of a written key", tk.Ticket, "wamid", false, connectors.CommentRef{}},
		{"a key written to another ticket", tk.Ticket, "wamid.other", false, connectors.CommentRef{}},
		{"the other ticket's key", other.Ticket, "wamid.other", true, other.Comment},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ref, found, err := fb.client.FindWrite(ctx, tc.ticket, tc.key)
			if err != nil {
				t.Fatal(err)
			}
			if found != tc.wantFound || ref != tc.want {
				t.Errorf("FindWrite(%s) = %+v, %v; want %+v, %v", tc.key, ref, found, tc.want, tc.wantFound)
			}
			if found && ref.ID == "" {
				t.Error("found without a comment id")
			}
		})
	}
}

// TestFindWritePages reads a ticket with more audits than one page (100):
// agent replies in the fake's UI fill the first page.
func TestFindWritePages(t *testing.T) {
	t.Parallel()
	fb := startFake(t)
	ctx := t.Context()
	ana := fb.customer(t, "+34600111222")
	tk := fb.ticket(t, ana, "wamid.first")
	id, _ := strconv.ParseInt(tk.Ticket.ID, 10, 64)
	for i := range 150 {
		if _, err := fb.fake.AgentReply(ctx, sbzendesk.ReplyParams{TicketID: id, Body: "reply " + strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	last, err := fb.client.AppendMessage(ctx, &connectors.AppendParams{Ticket: tk.Ticket, Author: ana, Body: "late",
		IdempotencyKey: "wamid.last"})
	if err != nil {
		t.Fatal(err)
	}
	audits := "/api/v2/tickets/" + tk.Ticket.ID + "/audits.json"
	fb.calls.count(audits)
	tests := []struct {
		name      string
		key       string
		wantFound bool
		want      connectors.CommentRef
		wantPages int
	}{
		{"on the first page", "wamid.first", true, tk.Comment, 1},
		{"on the second page", "wamid.last", true, last, 2},
		{"on no page", "wamid.none", false, connectors.CommentRef{}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ref, found, err := fb.client.FindWrite(ctx, tk.Ticket, tc.key)
			if err != nil {
				t.Fatal(err)
			}
			if found != tc.wantFound || ref != tc.want {
				t.Errorf("FindWrite(%s) = %+v, %v; want %+v, %v", tc.key, ref, found, tc.want, tc.wantFound)
			}
			if n := fb.calls.count(audits); n != tc.wantPages {
				t.Errorf("%d pages read, want %d", n, tc.wantPages)
			}
		})
	}
}

func TestFindWriteErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		ticket     string
		key        string
		revoke     bool
		wantKind   connectors.Kind
		wantStatus int
		wantMsg    string
	}{
		{"unknown ticket", "999999", "wamid.1", false, connectors.Permanent, 404, "ticket 999999 not found"},
		{"ticket id not digits", "12/../7", "wamid.1", false, connectors.Permanent, 0, "ticket id"},
		{"empty key", "1", "", false, connectors.Permanent, 0, "key"},
		{"revoked credentials", "1", "wamid.1", true, connectors.Auth, 401, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fb := startFake(t)
			if tc.revoke {
				fb.fake.RevokeAuth(true)
			}
			_, found, err := fb.client.FindWrite(t.Context(), connectors.TicketRef{ID: tc.ticket}, tc.key)
			var ce *connectors.Error
			if !errors.As(err, &ce) || found {
				t.Fatalf("FindWrite = %v, %v; want a *connectors.Error", found, err)
			}
			if ce.Kind != tc.wantKind || ce.Status != tc.wantStatus || !strings.Contains(ce.Message, tc.wantMsg) {
				t.Errorf("error = %v (status %d), want %s, status %d, about %q", err, ce.Status, tc.wantKind, tc.wantStatus, tc.wantMsg)
			}
		})
	}
}
