package zendesk

import (
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Zendesk's Update Ticket limit: 30 updates per ticket per 10 minutes for
// one user (the bridge's API identity), UI updates included.
const (
	ticketUpdateLimit  = 30
	ticketUpdateWindow = 10 * time.Minute
)

// budget adapts the account limiter to Zendesk's rate-limit headers. The
// plan rate (Config.RequestsPerMinute) is the ceiling. When an answer says
// that little of the window is left, the limiter is slowed so the rest is
// spread evenly until the window resets (burst 1, rate remaining/reset);
// when the window has reset, or an answer shows plenty left again, the plan
// rate and burst are restored.
//
// Headers read (Zendesk's rate-limits reference):
//
//	ratelimit-limit, ratelimit-remaining, ratelimit-reset (seconds)
//	X-Rate-Limit, X-Rate-Limit-Remaining (per minute; no reset given)
//
// When both pairs are present the one with less remaining wins. Endpoint
// headers (zendesk-ratelimit-<endpoint>) concern one endpoint only and are
// not applied to the account.
type budget struct {
	limiter   *rate.Limiter
	plan      rate.Limit
	planBurst int
	now       func() time.Time
	onQuota   func(remaining, limit int) // Config.OnQuota
	log       *slog.Logger

	mu        sync.Mutex
	slowUntil time.Time // zero while at the plan rate
}

func newBudget(l *rate.Limiter, perSecond float64, burst int, now func() time.Time, log *slog.Logger) *budget {
	return &budget{limiter: l, plan: rate.Limit(perSecond), planBurst: burst, now: now, log: log}
}

// quota is one limit/remaining/reset triple read from the headers; limit
// is 0 and reset 0 when not given.
type quota struct {
	limit, remaining int
	reset            time.Duration
}

// readQuota returns the tightest quota the headers announce.
func readQuota(h http.Header) (quota, bool) {
	var best quota
	found := false
	consider := func(q quota) {
		if !found || q.remaining < best.remaining {
			best, found = q, true
		}
	}
	if rem, ok := headerInt(h, "Ratelimit-Remaining"); ok {
		lim, _ := headerInt(h, "Ratelimit-Limit")
		consider(quota{limit: lim, remaining: rem, reset: resetHeader(h)})
	}
	if rem, ok := headerInt(h, "X-Rate-Limit-Remaining"); ok {
		lim, _ := headerInt(h, "X-Rate-Limit")
		consider(quota{limit: lim, remaining: rem})
	}
	return best, found
}

// headerInt reads a non-negative integer header.
func headerInt(h http.Header, name string) (int, bool) {
	v := strings.TrimSpace(h.Get(name))
	if v == "" {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// resetHeader reads ratelimit-reset (seconds until the window resets); 0
// when absent.
func resetHeader(h http.Header) time.Duration {
	n, ok := headerInt(h, "Ratelimit-Reset")
	if !ok {
		return 0
	}
	return time.Duration(n) * time.Second
}

// lowWater is the remaining quota under which the limiter is slowed: a
// tenth of the limit, at least 5 (10 when the limit is unknown).
func lowWater(limit int) int {
	if limit <= 0 {
		return 10
	}
	return max(limit/10, 5)
}

// observe adapts the limiter to the headers of an answer (success or
// error).
func (b *budget) observe(h http.Header) {
	q, ok := readQuota(h)
	if !ok {
		return
	}
	if b.onQuota != nil {
		b.onQuota(q.remaining, q.limit)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if q.remaining > lowWater(q.limit) {
		b.restoreLocked()
		return
	}
	window := q.reset
	if window <= 0 {
		window = time.Minute // X-Rate-Limit is per minute; its reset is not given
	}
	slow := rate.Limit(float64(max(q.remaining, 1)) / window.Seconds())
	if b.plan != 0 && slow >= b.plan {
		return
	}
	b.limiter.SetLimit(slow)
	b.limiter.SetBurst(1)
	b.slowUntil = b.now().Add(window)
	b.log.Debug("rate limit quota low: slowing down", "remaining", q.remaining, "limit", q.limit,
		"reset_seconds", window.Seconds(), "requests_per_second", float64(slow))
}

// restoreIfDue restores the plan rate once the slowed window has reset.
func (b *budget) restoreIfDue() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.slowUntil.IsZero() && !b.now().Before(b.slowUntil) {
		b.restoreLocked()
	}
}

func (b *budget) restoreLocked() {
	if b.slowUntil.IsZero() {
		return
	}
	b.limiter.SetLimit(b.plan)
	b.limiter.SetBurst(b.planBurst)
	b.slowUntil = time.Time{}
	b.log.Debug("rate limit window reset: plan rate restored", "requests_per_second", float64(b.plan))
}

// ticketWindow counts the updates of each ticket in a sliding window, in
// memory, so that the connector never sends the update Zendesk would refuse
// (limit+1 within window). The engine avoids reaching it by coalescing
// queued messages of a conversation into one comment.
type ticketWindow struct {
	limit  int
	window time.Duration

	mu    sync.Mutex
	hits  map[string][]time.Time // ticket id → times of its recent updates, oldest first
	swept time.Time
}

func newTicketWindow(limit int, window time.Duration) *ticketWindow {
	return &ticketWindow{limit: limit, window: window, hits: map[string][]time.Time{}}
}

// reserve takes a slot for an update of ticket id at now. When the window
// is full it takes nothing and returns the wait until the oldest update
// leaves the window; otherwise it returns release, which gives the slot
// back (for an update Zendesk certainly did not apply).
func (w *ticketWindow) reserve(id string, now time.Time) (release func(), wait time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sweepLocked(now)
	hits := w.recentLocked(id, now)
	if len(hits) >= w.limit {
		return nil, hits[0].Add(w.window).Sub(now)
	}
	hits = append(hits, now)
	slices.SortFunc(hits, func(a, b time.Time) int { return a.Compare(b) })
	w.hits[id] = hits
	return func() { w.release(id, now) }, 0
}

// recentLocked drops the updates of id that left the window and returns
// the others.
func (w *ticketWindow) recentLocked(id string, now time.Time) []time.Time {
	cutoff := now.Add(-w.window)
	hits := slices.DeleteFunc(w.hits[id], func(t time.Time) bool { return !t.After(cutoff) })
	if len(hits) == 0 {
		delete(w.hits, id)
		return nil
	}
	w.hits[id] = hits
	return hits
}

// release removes one update of id made at t.
func (w *ticketWindow) release(id string, t time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	hits := w.hits[id]
	if i := slices.IndexFunc(hits, t.Equal); i >= 0 {
		w.hits[id] = slices.Delete(hits, i, i+1)
	}
}

// sweepLocked forgets tickets without recent updates, once per window, so
// the map does not grow with every ticket ever updated.
func (w *ticketWindow) sweepLocked(now time.Time) {
	if now.Sub(w.swept) < w.window {
		return
	}
	w.swept = now
	cutoff := now.Add(-w.window)
	for id, hits := range w.hits {
		if len(hits) == 0 || !hits[len(hits)-1].After(cutoff) {
			delete(w.hits, id)
		}
	}
}
