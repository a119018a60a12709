package bridge_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/deskbridge/deskbridge/bridge"
	sbwhatsapp "github.com/deskbridge/deskbridge/sandbox/whatsapp"
	sbzendesk "github.com/deskbridge/deskbridge/sandbox/zendesk"
	"github.com/deskbridge/deskbridge/store"
	"github.com/deskbridge/deskbridge/store/storetest"
)

const ana = "+34600111222"

// publicBodies are the public comments of a ticket, oldest first.
func publicBodies(tk sbzendesk.TicketDump) []string {
	var out []string
	for _, c := range tk.Comments {
		if c.Public {
			out = append(out, c.Body)
		}
	}
	return out
}

// notes are the internal notes of a ticket.
func notes(tk sbzendesk.TicketDump) []string {
	var out []string
	for _, c := range tk.Comments {
		if !c.Public {
			out = append(out, c.Body)
		}
	}
	return out
}

func sentText(t *testing.T, m sbwhatsapp.OutboundMessage) string {
	t.Helper()
	var req struct {
		Text     struct{ Body string } `json:"text"`
		Template struct{ Name string } `json:"template"`
	}
	if err := json.Unmarshal(m.Request, &req); err != nil {
		t.Fatal(err)
	}
	if m.Type == "template" {
		return "template:" + req.Template.Name
	}
	return req.Text.Body
}

func TestFirstConversationBothWays(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, kind store.Kind) {
		t.Parallel()
		firstConversation(t, kind)
	})
}

func firstConversation(t *testing.T, kind store.Kind) {
	r := newRig(t, kind)
	r.say(ana, "Ana", "Hola, mi pedido no llegó")
	r.settle()
	tks := r.tickets()
	if len(tks) != 1 {
		t.Fatalf("tickets = %d, want 1", len(tks))
	}
	tk := tks[0]
	if tk.Subject != "WhatsApp: Ana" || !strings.Contains(strings.Join(tk.Tags, ","), "whatsapp") {
		t.Errorf("ticket subject %q tags %v", tk.Subject, tk.Tags)
	}
	if got := publicBodies(tk); len(got) != 1 || got[0] != "Hola, mi pedido no llegó" {
		t.Errorf("comments = %q", got)
	}
	if c := tk.Comments[0]; c.AuthorID != tk.RequesterID || c.AuthorRole != "end-user" {
		t.Errorf("first comment by %d (%s), want the requester %d", c.AuthorID, c.AuthorRole, tk.RequesterID)
	}

	// Within the window, the next message joins the same ticket.
	r.clock.Advance(time.Hour)
	r.say(ana, "Ana", "¿Hay novedades?")
	r.settle()
	if tks := r.tickets(); len(tks) != 1 || len(publicBodies(tks[0])) != 2 {
		t.Fatalf("after a second message: %d tickets, comments %q", len(tks), publicBodies(tks[0]))
	}

	// The agent answers: the customer gets it on WhatsApp, once.
	r.reply(tk.ID, "Hola Ana, ya lo revisamos")
	r.settle()
	th := r.thread(ana)
	if len(th) != 1 || sentText(t, th[0]) != "Hola Ana, ya lo revisamos" {
		t.Fatalf("thread = %+v", th)
	}
	if n := notes(r.tickets()[0]); len(n) != 0 {
		t.Errorf("notes after a delivered reply: %q", n)
	}
	if got := testutil.ToFloat64(r.metrics.ContactMatch.WithLabelValues("created")); got != 1 {
		t.Errorf("contact_match{created} = %v, want 1", got)
	}
}

func TestThreadingAcrossTheWindow(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.SQLite)
	r.say(ana, "Ana", "one")
	r.settle()
	first := r.tickets()[0].ID

	// Solved inside the window: reopened.
	if err := r.zd.SetTicketStatus(t.Context(), first, "solved"); err != nil {
		t.Fatal(err)
	}
	r.clock.Advance(2 * time.Minute)
	r.say(ana, "Ana", "two")
	r.settle()
	tks := r.tickets()
	if len(tks) != 1 || tks[0].Status != "open" || len(publicBodies(tks[0])) != 2 {
		t.Fatalf("solved ticket: %d tickets, status %s, comments %q", len(tks), tks[0].Status, publicBodies(tks[0]))
	}

	// Closed inside the window: a follow-up.
	if err := r.zd.SetTicketStatus(t.Context(), first, "closed"); err != nil {
		t.Fatal(err)
	}
	r.clock.Advance(2 * time.Minute)
	r.say(ana, "Ana", "three")
	r.settle()
	tks = r.tickets()
	if len(tks) != 2 || tks[1].FollowupSourceID != first || publicBodies(tks[1])[0] != "three" {
		t.Fatalf("closed ticket: %d tickets, follow-up of %d", len(tks), tks[len(tks)-1].FollowupSourceID)
	}

	// After the window: a new, unrelated ticket.
	r.clock.Advance(25 * time.Hour)
	r.say(ana, "Ana", "four")
	r.settle()
	tks = r.tickets()
	if len(tks) != 3 || tks[2].FollowupSourceID != 0 || publicBodies(tks[2])[0] != "four" {
		t.Fatalf("after the window: %d tickets", len(tks))
	}
	if got := testutil.ToFloat64(r.metrics.ContactMatch.WithLabelValues("created")); got != 1 {
		t.Errorf("contact_match{created} = %v, want 1 (one contact throughout)", got)
	}
}

func TestOutsideWindowPolicies(t *testing.T) {
	t.Parallel()
	for _, policy := range []string{"note", "template"} {
		t.Run(policy, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, store.SQLite, withEngine(func(o *bridge.Options) {
				o.OutsideWindow = policy
				o.Template.Name, o.Template.Language = "hello_world", "en_US"
			}))
			r.say(ana, "Ana", "hola")
			r.settle()
			tk := r.tickets()[0]
			r.clock.Advance(25 * time.Hour)
			r.reply(tk.ID, "Sorry for the delay")
			r.settle()
			th := r.thread(ana)
			n := notes(r.tickets()[0])
			if len(n) != 1 || !strings.Contains(n[0], "24-hour") {
				t.Fatalf("notes = %q, want one about the window", n)
			}
			switch policy {
			case "note":
				if len(th) != 0 {
					t.Errorf("sent %d messages with policy note", len(th))
				}
			case "template":
				if len(th) != 1 || sentText(t, th[0]) != "template:hello_world" {
					t.Fatalf("thread = %+v, want the template", th)
				}
				if !strings.Contains(n[0], "hello_world") {
					t.Errorf("note does not name the template: %q", n[0])
				}
			}
		})
	}
}
