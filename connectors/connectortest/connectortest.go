// Package connectortest is the conformance suite every connectors.Helpdesk
// implementation passes against its vendor's fake (sandbox/<vendor>):
// contact lookup is idempotent under concurrency, customer messages append
// in order and in public, notes stay internal, closed tickets get
// follow-ups, attachments round-trip byte for byte, rate limits and
// rejected credentials come back with the right error kinds, and (for a
// connectors.WriteFinder) writes made with an IdempotencyKey are found by
// that key.
//
// A vendor package runs it from a test:
//
//	func TestConformance(t *testing.T) {
//		connectortest.Run(t, connectortest.Features{FollowUps: true}, func(t *testing.T) connectortest.Subject {
//			fake := sbzendesk.New(…)
//			…
//			return connectortest.Subject{Helpdesk: client, Backdoor: backdoor{fake}}
//		})
//	}
package connectortest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/deskbridge/deskbridge/connectors"
)

// Features switch the parts of the suite a vendor does not have.
type Features struct {
	// FollowUps: a closed ticket refuses writes and a follow-up ticket can
	// be created from it (FollowUpOf).
	FollowUps bool
	// Reopen: AppendParams.Reopen sets a solved ticket back to open.
	Reopen bool
	// TicketUpdateLimit: the connector enforces a per-ticket update limit
	// of this many writes (0: none), surfaced as RateLimited with a wait.
	TicketUpdateLimit int
	// WriteFinder: the Helpdesk must implement connectors.WriteFinder.
	// Whether set or not, the read-back case runs whenever the Helpdesk
	// implements it; set, a Helpdesk that does not fails instead of
	// skipping.
	WriteFinder bool
}

// Comment is a comment as the fake stores it.
type Comment struct {
	ID          string
	AuthorID    string
	Body        string
	Public      bool
	Attachments []connectors.Attachment
}

// Backdoor acts on and inspects the vendor's fake, as an agent or an admin
// would in the helpdesk's own UI.
type Backdoor interface {
	// Comments returns every comment of a ticket, private ones included,
	// oldest first, with attachment content.
	Comments(ctx context.Context, ticketID string) ([]Comment, error)
	// SetTicketStatus changes a ticket's status (solved, closed, …).
	SetTicketStatus(ctx context.Context, ticketID string, s connectors.TicketStatus) error
	// RevokeCredentials makes the fake reject the connector's credentials.
	RevokeCredentials(ctx context.Context) error
	// ExhaustRateLimit makes the fake answer the next requests with its
	// rate-limit response (429 and Retry-After, or the vendor's form).
	ExhaustRateLimit(ctx context.Context) error
}

// Subject is one Helpdesk connected to a fresh fake, and the fake's
// backdoor.
type Subject struct {
	Helpdesk connectors.Helpdesk
	Backdoor Backdoor
}

// Setup returns a fresh Subject for one test; it registers its own cleanup
// with t.
type Setup func(t *testing.T) Subject

// Run runs the suite.
func Run(t *testing.T, f Features, setup Setup) {
	t.Helper()
	tests := []struct {
		name string
		run  func(t *testing.T, s Subject)
		on   bool
	}{
		{"contact is found or created once under concurrency", testContactConcurrency, true},
		{"contact name follows the profile name", testContactName, true},
		{"ticket and messages in order, public, by the customer", testMessagesInOrder, true},
		{"notes stay internal", testNotes, true},
		{"closed ticket refuses writes and gets a follow-up", testClosedFollowUp, f.FollowUps},
		{"solved ticket reopens", testReopen, f.Reopen},
		{"attachments round-trip byte for byte", testAttachments, true},
		{"rate limit is RateLimited with a wait", testRateLimited, true},
		{"rejected credentials are Auth", testAuth, true},
		{"per-ticket update limit is RateLimited before sending", func(t *testing.T, s Subject) { testUpdateLimit(t, s, f.TicketUpdateLimit) }, f.TicketUpdateLimit > 0},
		{"keyed writes are found by FindWrite", func(t *testing.T, s Subject) { testFindWrite(t, s, f.WriteFinder) }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.on {
				t.Skip("the vendor does not have this feature")
			}
			tc.run(t, setup(t))
		})
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

var seq struct {
	mu sync.Mutex
	n  int
}

// phone returns a distinct E.164 number per call.
func phone() string {
	seq.mu.Lock()
	defer seq.mu.Unlock()
	seq.n++
	return fmt.Sprintf("+346001%05d", seq.n)
}

func contactParams() *connectors.ContactParams {
	p := phone()
	return &connectors.ContactParams{ExternalID: "whatsapp:" + p, Phone: p, Name: "Ana García"}
}

func mustContact(t *testing.T, s Subject) connectors.ContactRef {
	t.Helper()
	res, err := s.Helpdesk.FindOrCreateContact(ctxT(t), contactParams())
	if err != nil {
		t.Fatalf("FindOrCreateContact: %v", err)
	}
	return res.Contact
}

func mustTicket(t *testing.T, s Subject, c connectors.ContactRef, body string) connectors.TicketRef {
	t.Helper()
	res, err := s.Helpdesk.CreateTicket(ctxT(t), &connectors.CreateTicketParams{
		Requester: c, Subject: "WhatsApp: Ana", Body: body, Tags: []string{"whatsapp"}, IdempotencyKey: "wamid." + body,
	})
	if err != nil {
		t.Fatalf("CreateTicket: %v", err)
	}
	if res.Ticket.ID == "" {
		t.Fatal("CreateTicket returned no ticket id")
	}
	return res.Ticket
}

func testContactConcurrency(t *testing.T, s Subject) {
	ctx := ctxT(t)
	p := contactParams()
	const workers = 2
	results := make([]*connectors.ContactResult, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cp := *p
			results[i], errs[i] = s.Helpdesk.FindOrCreateContact(ctx, &cp)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("worker %d: %v", i, err)
		}
	}
	if results[0].Contact.ID != results[1].Contact.ID {
		t.Fatalf("two workers got two contacts: %s and %s", results[0].Contact.ID, results[1].Contact.ID)
	}
	again, err := s.Helpdesk.FindOrCreateContact(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if again.Contact.ID != results[0].Contact.ID || again.Match != connectors.MatchExact {
		t.Errorf("third lookup = %+v, want the same contact matched exactly", again)
	}
	if again.Contact.ExternalID != p.ExternalID {
		t.Errorf("external id = %q, want %q", again.Contact.ExternalID, p.ExternalID)
	}
}

func testContactName(t *testing.T, s Subject) {
	ctx := ctxT(t)
	p := contactParams()
	first, err := s.Helpdesk.FindOrCreateContact(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if first.Match != connectors.MatchCreated {
		t.Errorf("first lookup match = %s, want created", first.Match)
	}
	p.Name = "Ana G."
	renamed, err := s.Helpdesk.FindOrCreateContact(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if renamed.Contact.ID != first.Contact.ID || !renamed.NameUpdated {
		t.Errorf("after a profile name change: %+v, want the same contact with its name updated", renamed)
	}
	same, err := s.Helpdesk.FindOrCreateContact(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if same.NameUpdated {
		t.Error("an unchanged name was written again")
	}
}

func testMessagesInOrder(t *testing.T, s Subject) {
	ctx := ctxT(t)
	c := mustContact(t, s)
	tk := mustTicket(t, s, c, "m0")
	for i := 1; i <= 5; i++ {
		if _, err := s.Helpdesk.AppendMessage(ctx, &connectors.AppendParams{Ticket: tk, Author: c,
			Body: fmt.Sprintf("m%d", i), IdempotencyKey: fmt.Sprintf("wamid.m%d", i)}); err != nil {
			t.Fatalf("append m%d: %v", i, err)
		}
	}
	cs, err := s.Backdoor.Comments(ctx, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 6 {
		t.Fatalf("ticket has %d comments, want 6", len(cs))
	}
	for i, cm := range cs {
		if cm.Body != fmt.Sprintf("m%d", i) || !cm.Public || cm.AuthorID != c.ID {
			t.Errorf("comment %d = %+v, want public m%d by the customer %s", i, cm, i, c.ID)
		}
	}
	st, err := s.Helpdesk.Ticket(ctx, tk)
	if err != nil {
		t.Fatal(err)
	}
	if st.RequesterID != c.ID || st.Status == connectors.TicketClosed || st.Status == "" {
		t.Errorf("ticket state = %+v", st)
	}
}

func testNotes(t *testing.T, s Subject) {
	ctx := ctxT(t)
	c := mustContact(t, s)
	tk := mustTicket(t, s, c, "hello")
	if _, err := s.Helpdesk.AddNote(ctx, &connectors.NoteParams{Ticket: tk, Body: "WhatsApp: message not delivered (131026)"}); err != nil {
		t.Fatal(err)
	}
	// A customer message after the note is public again.
	if _, err := s.Helpdesk.AppendMessage(ctx, &connectors.AppendParams{Ticket: tk, Author: c, Body: "still there?"}); err != nil {
		t.Fatal(err)
	}
	cs, err := s.Backdoor.Comments(ctx, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 3 {
		t.Fatalf("%d comments, want 3", len(cs))
	}
	if cs[1].Public || cs[1].AuthorID == c.ID {
		t.Errorf("note = %+v, want private and not by the customer", cs[1])
	}
	if !cs[2].Public {
		t.Error("the message after a note became private")
	}
}

func testClosedFollowUp(t *testing.T, s Subject) {
	ctx := ctxT(t)
	c := mustContact(t, s)
	tk := mustTicket(t, s, c, "first")
	if err := s.Backdoor.SetTicketStatus(ctx, tk.ID, connectors.TicketClosed); err != nil {
		t.Fatal(err)
	}
	st, err := s.Helpdesk.Ticket(ctx, tk)
	if err != nil || st.Status != connectors.TicketClosed {
		t.Fatalf("closed ticket state = %+v, %v", st, err)
	}
	_, err = s.Helpdesk.AppendMessage(ctx, &connectors.AppendParams{Ticket: tk, Author: c, Body: "again"})
	var ce *connectors.Error
	if !errors.As(err, &ce) || ce.Kind != connectors.Conflict || ce.Code != connectors.CodeTicketClosed {
		t.Fatalf("append to a closed ticket = %v, want Conflict %s", err, connectors.CodeTicketClosed)
	}
	follow, err := s.Helpdesk.CreateTicket(ctx, &connectors.CreateTicketParams{Requester: c, Subject: "WhatsApp: Ana",
		Body: "again", FollowUpOf: tk.ID, IdempotencyKey: "wamid.again"})
	if err != nil {
		t.Fatalf("follow-up: %v", err)
	}
	if follow.Ticket.ID == tk.ID {
		t.Error("the follow-up is the closed ticket")
	}
	cs, err := s.Backdoor.Comments(ctx, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 {
		t.Errorf("the closed ticket was written to: %d comments", len(cs))
	}
}

func testReopen(t *testing.T, s Subject) {
	ctx := ctxT(t)
	c := mustContact(t, s)
	tk := mustTicket(t, s, c, "first")
	if err := s.Backdoor.SetTicketStatus(ctx, tk.ID, connectors.TicketSolved); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Helpdesk.AppendMessage(ctx, &connectors.AppendParams{Ticket: tk, Author: c, Body: "one more thing", Reopen: true}); err != nil {
		t.Fatal(err)
	}
	st, err := s.Helpdesk.Ticket(ctx, tk)
	if err != nil || st.Status != connectors.TicketOpen {
		t.Errorf("after a reopening message: %+v %v, want open", st, err)
	}
}

func testAttachments(t *testing.T, s Subject) {
	ctx := ctxT(t)
	c := mustContact(t, s)
	all := make([]byte, 256*3)
	for i := range all {
		all[i] = byte(i)
	}
	files := []connectors.Attachment{
		{Filename: "photo.jpg", ContentType: "image/jpeg", Data: append([]byte{0xff, 0xd8, 0xff, 0xe0}, all...)},
		{Filename: "invoice.pdf", ContentType: "application/pdf", Data: append([]byte("%PDF-1.4\n"), all...)},
	}
	res, err := s.Helpdesk.CreateTicket(ctx, &connectors.CreateTicketParams{Requester: c, Subject: "WhatsApp: Ana",
		Body: "two files", Attachments: files, IdempotencyKey: "wamid.files"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Helpdesk.AddNote(ctx, &connectors.NoteParams{Ticket: res.Ticket, Body: "one file", Attachments: files[1:]}); err != nil {
		t.Fatal(err)
	}
	cs, err := s.Backdoor.Comments(ctx, res.Ticket.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || len(cs[0].Attachments) != 2 || len(cs[1].Attachments) != 1 {
		t.Fatalf("comments/attachments = %+v", cs)
	}
	for i, f := range files {
		got := cs[0].Attachments[i]
		if got.Filename != f.Filename || !bytes.Equal(got.Data, f.Data) {
			t.Errorf("attachment %d: %s (%d bytes), want %s byte-exact (%d bytes)", i, got.Filename, len(got.Data), f.Filename, len(f.Data))
		}
	}
	if cf, ok := s.Helpdesk.(connectors.CommentFetcher); ok && cs[0].ID != "" {
		cm, err := cf.Comment(ctx, res.Ticket, cs[0].ID)
		if err != nil {
			t.Fatalf("Comment: %v", err)
		}
		if len(cm.Attachments) != 2 {
			t.Fatalf("fetched comment has %d attachments", len(cm.Attachments))
		}
		data, err := cf.DownloadAttachment(ctx, cm.Attachments[1])
		if err != nil || !bytes.Equal(data, files[1].Data) {
			t.Errorf("DownloadAttachment: %d bytes, %v", len(data), err)
		}
	}
}

func testRateLimited(t *testing.T, s Subject) {
	ctx := ctxT(t)
	c := mustContact(t, s)
	tk := mustTicket(t, s, c, "hello")
	if err := s.Backdoor.ExhaustRateLimit(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := s.Helpdesk.Ticket(ctx, tk)
	var ce *connectors.Error
	if !errors.As(err, &ce) || ce.Kind != connectors.RateLimited || ce.RetryAfter() <= 0 {
		t.Fatalf("rate limited call = %v, want RateLimited with a wait", err)
	}
}

func testAuth(t *testing.T, s Subject) {
	ctx := ctxT(t)
	if err := s.Backdoor.RevokeCredentials(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := s.Helpdesk.FindOrCreateContact(ctx, contactParams())
	var ce *connectors.Error
	if !errors.As(err, &ce) || ce.Kind != connectors.Auth || ce.Permanent() {
		t.Fatalf("revoked credentials = %v, want Auth (not permanent: a rotated secret fixes it)", err)
	}
}

func testUpdateLimit(t *testing.T, s Subject, limit int) {
	ctx := ctxT(t)
	c := mustContact(t, s)
	tk := mustTicket(t, s, c, "m0")
	for i := 1; i <= limit; i++ {
		if _, err := s.Helpdesk.AppendMessage(ctx, &connectors.AppendParams{Ticket: tk, Author: c, Body: fmt.Sprintf("m%d", i)}); err != nil {
			t.Fatalf("append %d of %d: %v", i, limit, err)
		}
	}
	_, err := s.Helpdesk.AppendMessage(ctx, &connectors.AppendParams{Ticket: tk, Author: c, Body: "one too many"})
	var ce *connectors.Error
	if !errors.As(err, &ce) || ce.Kind != connectors.RateLimited || ce.RetryAfter() <= 0 {
		t.Fatalf("update %d = %v, want RateLimited with the time until a slot frees", limit+1, err)
	}
	cs, err := s.Backdoor.Comments(ctx, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != limit+1 {
		t.Errorf("ticket has %d comments, want %d (the refused one not sent)", len(cs), limit+1)
	}
}

// testFindWrite checks the read-back of keyed writes: a message and a note
// written with an IdempotencyKey are found by it, as the comments they
// wrote; a key never written is not found, and neither the unkeyed write
// nor the ticket's other comments are mistaken for it.
func testFindWrite(t *testing.T, s Subject, required bool) {
	wf, ok := s.Helpdesk.(connectors.WriteFinder)
	switch {
	case !ok && required:
		t.Fatalf("%T does not implement connectors.WriteFinder", s.Helpdesk)
	case !ok:
		t.Skip("the Helpdesk does not implement connectors.WriteFinder")
	}
	ctx := ctxT(t)
	c := mustContact(t, s)
	tk := mustTicket(t, s, c, "first")
	msg, err := s.Helpdesk.AppendMessage(ctx, &connectors.AppendParams{Ticket: tk, Author: c, Body: "keyed message",
		IdempotencyKey: "wamid.keyed"})
	if err != nil {
		t.Fatal(err)
	}
	note, err := s.Helpdesk.AddNote(ctx, &connectors.NoteParams{Ticket: tk, Body: "keyed note", IdempotencyKey: "note:wamid.keyed"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Helpdesk.AppendMessage(ctx, &connectors.AppendParams{Ticket: tk, Author: c, Body: "unkeyed"}); err != nil {
		t.Fatal(err)
	}
	cs, err := s.Backdoor.Comments(ctx, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 4 {
		t.Fatalf("ticket has %d comments, want 4", len(cs))
	}
	tests := []struct {
		name      string
		key       string
		written   connectors.CommentRef // as the write returned it; zero when not found
		body      string                // the comment's body at the fake
		wantFound bool
	}{
		{"message", "wamid.keyed", msg, "keyed message", true},
		{"note", "note:wamid.keyed", note, "keyed note", true},
		{"never written", "wamid.never", connectors.CommentRef{}, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ref, found, err := wf.FindWrite(ctx, tk, tc.key)
			if err != nil {
				t.Fatalf("FindWrite(%s): %v", tc.key, err)
			}
			if found != tc.wantFound {
				t.Fatalf("FindWrite(%s) found = %v, want %v", tc.key, found, tc.wantFound)
			}
			if !found {
				if ref != (connectors.CommentRef{}) {
					t.Errorf("not found, but ref = %+v", ref)
				}
				return
			}
			if ref.Ticket != tk || ref.ID == "" {
				t.Errorf("ref = %+v, want a comment of ticket %+v", ref, tk)
			}
			if tc.written.ID != "" && ref != tc.written {
				t.Errorf("ref = %+v, want %+v as the write returned it", ref, tc.written)
			}
			i := slices.IndexFunc(cs, func(cm Comment) bool { return cm.ID == ref.ID })
			if i < 0 || cs[i].Body != tc.body {
				t.Errorf("ref %s is not the comment %q at the vendor", ref.ID, tc.body)
			}
		})
	}
}
