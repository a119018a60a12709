package bridge_test

import (
	"strings"
	"testing"
	"time"

	"github.com/deskbridge/deskbridge/bridge"
	"github.com/deskbridge/deskbridge/connectors"
	"github.com/deskbridge/deskbridge/connectors/whatsapp"
	"github.com/deskbridge/deskbridge/store"
)

// pendingEvent returns the one pending event of a source.
func pendingEvent(t *testing.T, r *rig, source, kind string) *store.Event {
	t.Helper()
	evs, err := r.st.ListEvents(t.Context(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var found *store.Event
	for _, e := range evs {
		if e.Source == source && e.Kind == kind && e.State == store.StatePending {
			if found != nil {
				t.Fatalf("several pending %s/%s events", source, kind)
			}
			found = e
		}
	}
	if found == nil {
		t.Fatalf("no pending %s/%s event", source, kind)
	}
	return found
}

// waitFor polls cond for up to 60 s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A crash after Zendesk took the comment but before the bridge recorded
// it: the retry finds the comment on the ticket and writes nothing.
func TestUncertainCommentIsReadBack(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.SQLite)
	r.say(ana, "Ana", "one")
	r.settle()
	tk := r.tickets()[0]
	r.stopWorkers()
	r.say(ana, "Ana", "two")
	ev := pendingEvent(t, r, bridge.SourceWhatsApp, "message")
	// What the crashed attempt did: recorded the write, made it, died.
	if _, err := r.st.BeginBatch(t.Context(), bridge.SourceWhatsApp, "helpdesk:support", ev.Key, itoa(tk.ID), []string{ev.Key}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.zc.AppendMessage(t.Context(), &connectors.AppendParams{Ticket: connectors.TicketRef{ID: itoa(tk.ID)},
		Author: connectors.ContactRef{ID: itoa(tk.RequesterID)}, Body: "two", IdempotencyKey: ev.Key}); err != nil {
		t.Fatal(err)
	}
	r.startWorkers()
	r.settle()
	if got := publicBodies(r.tickets()[0]); strings.Join(got, "|") != "one|two" {
		t.Fatalf("comments = %q, want one|two (no second write)", got)
	}
	eff, err := r.st.Effect(t.Context(), bridge.SourceWhatsApp, ev.Key, "helpdesk:support")
	if err != nil || eff == nil || eff.State != store.EffectDone || eff.ResultID == "" {
		t.Fatalf("effect = %+v %v, want done with the comment id", eff, err)
	}
}

// The same crash when the write never reached Zendesk: the retry writes it.
func TestUncertainCommentNotMadeIsWritten(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.SQLite)
	r.say(ana, "Ana", "one")
	r.settle()
	tk := r.tickets()[0]
	r.stopWorkers()
	r.say(ana, "Ana", "two")
	ev := pendingEvent(t, r, bridge.SourceWhatsApp, "message")
	if _, err := r.st.BeginBatch(t.Context(), bridge.SourceWhatsApp, "helpdesk:support", ev.Key, itoa(tk.ID), []string{ev.Key}); err != nil {
		t.Fatal(err)
	}
	r.startWorkers()
	r.settle()
	if got := publicBodies(r.tickets()[0]); strings.Join(got, "|") != "one|two" {
		t.Fatalf("comments = %q, want one|two", got)
	}
}

// A crash after WhatsApp accepted a reply but before the bridge recorded
// it: the status webhook carrying the callback data proves the send, so
// the reply is not sent twice; without one, it is sent after the wait.
func TestUncertainSend(t *testing.T) {
	t.Parallel()
	for _, sent := range []bool{true, false} {
		t.Run(map[bool]string{true: "sent", false: "lost"}[sent], func(t *testing.T) {
			t.Parallel()
			r := newRig(t, store.SQLite, withEngine(func(o *bridge.Options) { o.ReadBackWait = 3 * time.Second }))
			r.say(ana, "Ana", "hola")
			r.settle()
			tk := r.tickets()[0]
			r.stopWorkers()
			r.reply(tk.ID, "reply once")
			waitFor(t, "the agent reply event", func() bool {
				evs, _ := r.st.ListEvents(t.Context(), 0, 1000)
				for _, e := range evs {
					if e.Source == bridge.SourceZendesk && e.State == store.StatePending {
						return true
					}
				}
				return false
			})
			ev := pendingEvent(t, r, bridge.SourceZendesk, "agent_reply")
			key := ev.Key + "#text"
			cb := "deskbridge:" + key
			if _, err := r.st.BeginBatch(t.Context(), "reply", "whatsapp:"+rigNumber, key, cb, []string{key}); err != nil {
				t.Fatal(err)
			}
			if sent {
				p := whatsapp.TextMessage(ana, "reply once").WithCallbackData(cb)
				if _, err := r.opt.Numbers[0].Client.Send(t.Context(), p); err != nil {
					t.Fatal(err)
				}
			}
			start := time.Now()
			r.startWorkers()
			r.settle()
			waitFor(t, "the reply to be settled", func() bool {
				eff, _ := r.st.Effect(t.Context(), "reply", key, "whatsapp:"+rigNumber)
				return eff != nil && eff.State == store.EffectDone
			})
			if th := r.thread(ana); len(th) != 1 || sentText(t, th[0]) != "reply once" {
				t.Fatalf("thread = %d messages, want exactly 1", len(th))
			}
			if !sent && time.Since(start) < 2*time.Second {
				t.Errorf("a lost send was retried after %v, before the read-back wait", time.Since(start))
			}
		})
	}
}
