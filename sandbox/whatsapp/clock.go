package whatsapp

import (
	"time"
)

// tokenBucket allows rate events per second with a burst of one second's
// worth, refilled from the fake clock.
type tokenBucket struct {
	tokens float64
	last   time.Time
}

// allow reports whether one more event fits at now without taking it.
func (b *tokenBucket) allow(now time.Time, rate int) bool {
	return b.level(now, rate) >= 1
}

// take removes one token (call after allow).
func (b *tokenBucket) take(now time.Time, rate int) {
	b.tokens = b.level(now, rate) - 1
	if now.After(b.last) {
		b.last = now
	}
}

func (b *tokenBucket) level(now time.Time, rate int) float64 {
	if b.last.IsZero() {
		return float64(rate)
	}
	elapsed := now.Sub(b.last)
	if elapsed < 0 {
		elapsed = 0
	}
	return min(float64(rate), b.tokens+elapsed.Seconds()*float64(rate))
}

// pairWindow is a sliding window of send times to one recipient.
type pairWindow []time.Time

// allow reports whether another send fits at now, with limit sends per window.
func (p pairWindow) allow(now time.Time, limit int, window time.Duration) bool {
	n := 0
	for _, t := range p {
		if now.Sub(t) < window {
			n++
		}
	}
	return n < limit
}

// add records a send at now and drops entries older than window.
func (p pairWindow) add(now time.Time, window time.Duration) pairWindow {
	kept := p[:0]
	for _, t := range p {
		if now.Sub(t) < window {
			kept = append(kept, t)
		}
	}
	return append(kept, now)
}
