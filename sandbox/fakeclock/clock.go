// Package fakeclock is the movable clock the sandbox fakes share: a base
// clock (real time unless given) plus an offset that tests and the control
// APIs advance or set, so windows, expiries and rate limits can be crossed
// without waiting.
package fakeclock

import (
	"sync"
	"time"
)

// Clock is a base clock plus a movable offset. It is safe for concurrent
// use; its times are in UTC.
type Clock struct {
	base func() time.Time

	mu     sync.Mutex
	offset time.Duration
}

// New returns a clock over base (nil: time.Now).
func New(base func() time.Time) *Clock {
	if base == nil {
		base = time.Now
	}
	return &Clock{base: base}
}

// Now is the base time plus the offset.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.base().Add(c.offset).UTC()
}

// Advance moves the clock forward by d and returns the new time.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
	return c.base().Add(c.offset).UTC()
}

// Set moves the clock to t; it keeps ticking from there.
func (c *Clock) Set(t time.Time) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset = t.Sub(c.base())
	return t.UTC()
}

// Reset removes the offset.
func (c *Clock) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset = 0
}
