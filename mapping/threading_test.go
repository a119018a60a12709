package mapping

import (
	"testing"
	"time"

	"github.com/deskbridge/deskbridge/connectors"
)

func TestDecideThread(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	in := func(status connectors.TicketStatus, ago time.Duration) ThreadInput {
		return ThreadInput{HasTicket: true, Status: status, LastActivity: now.Add(-ago), Now: now}
	}
	with := func(ti ThreadInput, f func(*ThreadInput)) ThreadInput { f(&ti); return ti }
	reopen := func(ti *ThreadInput) { ti.ReopenSolved = true }
	tests := []struct {
		name string
		in   ThreadInput
		want ThreadAction
	}{
		{"no ticket", ThreadInput{Now: now}, CreateNew},
		{"no ticket ignores status", ThreadInput{Status: connectors.TicketOpen, LastActivity: now, Now: now}, CreateNew},
		{"new inside", in(connectors.TicketNew, time.Hour), Append},
		{"open inside", in(connectors.TicketOpen, time.Hour), Append},
		{"pending inside", in(connectors.TicketPending, time.Hour), Append},
		{"hold inside", in(connectors.TicketOnHold, time.Hour), Append},
		{"unknown status inside", in("weird", time.Hour), Append},
		{"open just inside edge", in(connectors.TicketOpen, 24*time.Hour-time.Nanosecond), Append},
		{"open exactly at edge", in(connectors.TicketOpen, 24*time.Hour), CreateNew},
		{"open outside", in(connectors.TicketOpen, 48*time.Hour), CreateNew},
		{"open future activity", in(connectors.TicketOpen, -time.Minute), Append},
		{"open zero activity", with(in(connectors.TicketOpen, 0), func(ti *ThreadInput) { ti.LastActivity = time.Time{} }), CreateNew},
		{"solved inside reopen", with(in(connectors.TicketSolved, time.Hour), reopen), AppendReopen},
		{"solved inside no reopen", in(connectors.TicketSolved, time.Hour), CreateNew},
		{"solved at edge reopen", with(in(connectors.TicketSolved, 24*time.Hour), reopen), CreateNew},
		{"solved outside reopen", with(in(connectors.TicketSolved, 25*time.Hour), reopen), CreateNew},
		{"closed inside", in(connectors.TicketClosed, time.Minute), CreateFollowUp},
		{"closed inside reopen", with(in(connectors.TicketClosed, time.Minute), reopen), CreateFollowUp},
		{"closed just inside edge", in(connectors.TicketClosed, 24*time.Hour-time.Nanosecond), CreateFollowUp},
		{"closed exactly at edge", in(connectors.TicketClosed, 24*time.Hour), CreateNew},
		{"closed outside", in(connectors.TicketClosed, 72*time.Hour), CreateNew},
		{"custom window inside", with(in(connectors.TicketOpen, 47*time.Hour), func(ti *ThreadInput) { ti.Window = 48 * time.Hour }), Append},
		{"custom window edge", with(in(connectors.TicketOpen, 2*time.Hour), func(ti *ThreadInput) { ti.Window = 2 * time.Hour }), CreateNew},
		{"negative window means default", with(in(connectors.TicketOpen, 23*time.Hour), func(ti *ThreadInput) { ti.Window = -time.Hour }), Append},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := DecideThread(tc.in)
			if got.Action != tc.want {
				t.Fatalf("DecideThread(%+v) = %+v, want %s", tc.in, got, tc.want)
			}
			if got.Reason == "" {
				t.Error("empty Reason")
			}
		})
	}
}
