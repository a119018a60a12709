package zendesk

import (
	"math"
	"time"
)

// bucket is the account's token bucket: capacity perMinute tokens, refilled
// at perMinute/60 tokens a second on the fake clock.
type bucket struct {
	tokens float64
	last   time.Time
	filled bool // false until first use: the bucket starts full
}

// level returns the tokens available at now for a limit of perMinute.
func (b *bucket) level(now time.Time, perMinute int) float64 {
	if !b.filled {
		return float64(perMinute)
	}
	elapsed := max(now.Sub(b.last), 0)
	return min(float64(perMinute), b.tokens+elapsed.Seconds()*float64(perMinute)/60)
}

// take spends one token if there is one and reports whether it did.
func (b *bucket) take(now time.Time, perMinute int) bool {
	lvl := b.level(now, perMinute)
	if lvl < 1 {
		return false
	}
	b.tokens, b.last, b.filled = lvl-1, now, true
	return true
}

// drain empties the bucket at now.
func (b *bucket) drain(now time.Time) {
	b.tokens, b.last, b.filled = 0, now, true
}

// rateState is what the rate-limit headers report.
type rateState struct {
	limit     int
	remaining int
	reset     int // seconds until the bucket is full again
	retry     int // seconds until one token is back (for Retry-After)
}

// state describes the bucket at now for the headers.
func (b *bucket) state(now time.Time, perMinute int) rateState {
	lvl := b.level(now, perMinute)
	perSec := float64(perMinute) / 60
	st := rateState{limit: perMinute, remaining: int(math.Floor(lvl))}
	st.reset = int(math.Ceil((float64(perMinute) - lvl) / perSec))
	st.retry = max(1, int(math.Ceil((1-lvl)/perSec)))
	return st
}

// window is a sliding window of event times.
type window []time.Time

// count returns how many events fall within d before now.
func (w window) count(now time.Time, d time.Duration) int {
	n := 0
	for _, t := range w {
		if now.Sub(t) < d {
			n++
		}
	}
	return n
}

// retryAfter returns the whole seconds until one event leaves the window
// (at least 1).
func (w window) retryAfter(now time.Time, d time.Duration) int {
	var oldest time.Time
	for _, t := range w {
		if now.Sub(t) < d && (oldest.IsZero() || t.Before(oldest)) {
			oldest = t
		}
	}
	if oldest.IsZero() {
		return 1
	}
	return max(1, int(math.Ceil(oldest.Add(d).Sub(now).Seconds())))
}

// add records an event at now and drops those older than d.
func (w window) add(now time.Time, d time.Duration) window {
	kept := w[:0]
	for _, t := range w {
		if now.Sub(t) < d {
			kept = append(kept, t)
		}
	}
	return append(kept, now)
}
