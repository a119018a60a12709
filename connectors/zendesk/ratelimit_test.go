package zendesk

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/deskbridge/deskbridge/connectors"
)

// TestRateHeadersSlowLimiter: a low remaining quota slows the account
// limiter to spread the rest of the window; the plan rate comes back when
// the window resets or the quota is healthy again.
func TestRateHeadersSlowLimiter(t *testing.T) {
	t.Parallel()
	const plan = rate.Limit(200.0 / 60)
	tests := []struct {
		name      string
		status    int
		header    []string
		wantLimit rate.Limit // right after the answer
		wantBurst int
		window    time.Duration // when the plan rate comes back (0: unchanged)
	}{
		{name: "ratelimit-* low", status: 200, header: []string{"ratelimit-limit", "200", "ratelimit-remaining", "6", "ratelimit-reset", "30"},
			wantLimit: 6.0 / 30, wantBurst: 1, window: 30 * time.Second},
		{name: "X-Rate-Limit low (per minute)", status: 200, header: []string{"X-Rate-Limit", "700", "X-Rate-Limit-Remaining", "3"},
			wantLimit: 3.0 / 60, wantBurst: 1, window: time.Minute},
		{name: "tightest pair wins", status: 200, header: []string{"X-Rate-Limit", "700", "X-Rate-Limit-Remaining", "650",
			"ratelimit-limit", "100", "ratelimit-remaining", "2", "ratelimit-reset", "20"}, wantLimit: 2.0 / 20, wantBurst: 1, window: 20 * time.Second},
		{name: "exhausted on a 429", status: 429, header: []string{"Retry-After", "10", "ratelimit-limit", "200", "ratelimit-remaining", "0", "ratelimit-reset", "10"},
			wantLimit: 1.0 / 10, wantBurst: 1, window: 10 * time.Second},
		{name: "healthy quota", status: 200, header: []string{"ratelimit-limit", "200", "ratelimit-remaining", "150", "ratelimit-reset", "30"},
			wantLimit: plan, wantBurst: 10},
		{name: "low but faster than the plan anyway", status: 200, header: []string{"ratelimit-limit", "200", "ratelimit-remaining", "10", "ratelimit-reset", "1"},
			wantLimit: plan, wantBurst: 10},
		{name: "no headers", status: 200, wantLimit: plan, wantBurst: 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, func(c *Config) { c.RequestsPerMinute = 200 })
			b.on("GET", "/api/v2/tickets/4.json", reply{status: tc.status, body: `{"ticket":{"id":4,"status":"open"}}`, header: tc.header},
				ok(`{"ticket":{"id":4,"status":"open"}}`))
			_, _ = b.client.Ticket(t.Context(), ticket4)
			lim := b.client.api.Limiter()
			if !near(lim.Limit(), tc.wantLimit) || lim.Burst() != tc.wantBurst {
				t.Fatalf("limiter = %v/s burst %d, want %v/s burst %d", lim.Limit(), lim.Burst(), tc.wantLimit, tc.wantBurst)
			}
			if tc.window == 0 {
				return
			}
			b.advance(tc.window - time.Second)
			b.client.budget.restoreIfDue()
			if lim.Limit() == plan {
				t.Fatal("plan rate restored before the window reset")
			}
			b.advance(time.Second)
			start := time.Now()
			if _, err := b.client.Ticket(t.Context(), ticket4); err != nil {
				t.Fatal(err)
			}
			if lim.Limit() != plan || lim.Burst() != 10 {
				t.Errorf("after the reset: %v/s burst %d, want the plan rate", lim.Limit(), lim.Burst())
			}
			if time.Since(start) > 500*time.Millisecond {
				t.Errorf("the request after the reset waited %s", time.Since(start))
			}
		})
	}
}

func near(a, b rate.Limit) bool { return a-b < 1e-9 && b-a < 1e-9 }

// TestHealthyQuotaRestores: a healthy answer ends a slow window at once.
func TestHealthyQuotaRestores(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *Config) { c.RequestsPerMinute = 200 })
	b.client.budget.observe(http.Header{"Ratelimit-Remaining": {"1"}, "Ratelimit-Limit": {"200"}, "Ratelimit-Reset": {"50"}})
	if b.client.api.Limiter().Limit() >= 1 {
		t.Fatal("not slowed")
	}
	b.client.budget.observe(http.Header{"X-Rate-Limit-Remaining": {"190"}, "X-Rate-Limit": {"200"}})
	if got := b.client.api.Limiter().Limit(); !near(got, 200.0/60) {
		t.Errorf("limit = %v, want the plan rate back", got)
	}
}

// TestQuotaReported: the remaining budget the headers give is reported.
func TestQuotaReported(t *testing.T) {
	t.Parallel()
	var got [][2]int
	b := setup(t, func(c *Config) {
		c.OnQuota = func(remaining, limit int) { got = append(got, [2]int{remaining, limit}) }
	})
	b.client.budget.observe(http.Header{"X-Rate-Limit-Remaining": {"190"}, "X-Rate-Limit": {"200"}})
	b.client.budget.observe(http.Header{"Ratelimit-Remaining": {"3"}, "Ratelimit-Limit": {"700"}, "Ratelimit-Reset": {"20"}})
	b.client.budget.observe(http.Header{})
	if len(got) != 2 || got[0] != [2]int{190, 200} || got[1] != [2]int{3, 700} {
		t.Errorf("reported %v, want [190 200] then [3 700]", got)
	}
}

// TestTicketUpdateLimit: the 31st update of a ticket within 10 minutes is
// refused before sending, with the wait until the oldest leaves the
// window; other tickets are not affected; refused updates free their slot.
func TestTicketUpdateLimit(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.on("PUT", "/api/v2/tickets/4.json", ok(`{"ticket":{"id":4}}`))
	b.on("PUT", "/api/v2/tickets/5.json", ok(`{"ticket":{"id":5}}`))
	t0 := b.clock()
	for i := range 30 {
		if _, err := b.client.AppendMessage(t.Context(), &connectors.AppendParams{Ticket: ticket4, Author: ana, Body: fmt.Sprint(i)}); err != nil {
			t.Fatalf("update %d: %v", i+1, err)
		}
		b.advance(10 * time.Second)
	}
	// now = t0+300s; the oldest update (t0) leaves the window at t0+600s.
	for _, call := range []func() error{
		func() error {
			_, err := b.client.AppendMessage(t.Context(), &connectors.AppendParams{Ticket: ticket4, Author: ana, Body: "31"})
			return err
		},
		func() error {
			_, err := b.client.AddNote(t.Context(), &connectors.NoteParams{Ticket: ticket4, Body: "note"})
			return err
		},
	} {
		ce := asError(t, call())
		if ce.Kind != connectors.RateLimited || ce.Code != CodeTicketUpdateLimit || ce.RetryAfter() != 300*time.Second {
			t.Errorf("31st update = %v, want RateLimited %s after 300s", ce, CodeTicketUpdateLimit)
		}
	}
	if n := len(b.rec.all()); n != 30 {
		t.Errorf("%d requests, want 30: the refused updates must not be sent", n)
	}
	if _, err := b.client.AddNote(t.Context(), &connectors.NoteParams{Ticket: connectors.TicketRef{ID: "5"}, Body: "other"}); err != nil {
		t.Errorf("another ticket is limited too: %v", err)
	}
	b.advance(t0.Add(ticketUpdateWindow).Sub(b.clock()))
	if _, err := b.client.AppendMessage(t.Context(), &connectors.AppendParams{Ticket: ticket4, Author: ana, Body: "later"}); err != nil {
		t.Errorf("after the oldest left the window: %v", err)
	}
}

func TestTicketUpdateLimitRelease(t *testing.T) {
	t.Parallel()
	w := newTicketWindow(2, time.Minute)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r1, _ := w.reserve("1", now)
	r2, _ := w.reserve("1", now) // same instant: two slots
	if r1 == nil || r2 == nil {
		t.Fatal("reserve refused below the limit")
	}
	if r, wait := w.reserve("1", now.Add(time.Second)); r != nil || wait != 59*time.Second {
		t.Fatalf("third = %v, %s; want refused for 59s", r != nil, wait)
	}
	r2() // refused by Zendesk: the slot is free again
	if r, _ := w.reserve("1", now.Add(time.Second)); r == nil {
		t.Fatal("released slot not reusable")
	}
	// Tickets idle for a window are forgotten.
	w.reserve("2", now)
	w.reserve("3", now.Add(2*time.Minute))
	w.mu.Lock()
	_, kept := w.hits["2"]
	w.mu.Unlock()
	if kept {
		t.Error("an idle ticket was not swept")
	}

	// Through the client: a 4xx frees the slot, a 5xx (maybe applied) keeps it.
	b := setup(t, nil)
	b.client.tickets = newTicketWindow(1, time.Minute)
	b.on("PUT", "/api/v2/tickets/4.json", reply{status: 422, body: `{"error":"RecordInvalid","details":{"base":[{"description":"x"}]}}`},
		reply{status: 500, body: `{"status":500,"error":"Internal Server Error"}`})
	if _, err := b.client.AddNote(t.Context(), &connectors.NoteParams{Ticket: ticket4, Body: "a"}); connectors.KindOf(err) != connectors.Permanent {
		t.Fatalf("422 = %v", err)
	}
	if _, err := b.client.AddNote(t.Context(), &connectors.NoteParams{Ticket: ticket4, Body: "b"}); connectors.KindOf(err) != connectors.Retryable {
		t.Fatalf("500 = %v, want Retryable (slot freed by the 422)", err)
	}
	if _, err := b.client.AddNote(t.Context(), &connectors.NoteParams{Ticket: ticket4, Body: "c"}); asError(t, err).Code != CodeTicketUpdateLimit {
		t.Fatalf("after a 500 = %v, want the slot kept", err)
	}
}
