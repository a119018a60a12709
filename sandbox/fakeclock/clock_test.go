package fakeclock_test

import (
	"testing"
	"time"

	"github.com/deskbridge/deskbridge/sandbox/fakeclock"
)

func TestClock(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 11, 24, 10, 0, 0, 0, time.FixedZone("CET", 3600))
	c := fakeclock.New(func() time.Time { return base })
	if got := c.Now(); !got.Equal(base) || got.Location() != time.UTC {
		t.Errorf("Now = %v, want %v in UTC", got, base)
	}
	if got := c.Advance(25 * time.Hour); !got.Equal(base.Add(25 * time.Hour)) {
		t.Errorf("Advance = %v", got)
	}
	target := base.Add(-time.Hour)
	c.Set(target)
	if !c.Now().Equal(target) {
		t.Errorf("after Set: %v, want %v", c.Now(), target)
	}
	c.Reset()
	if !c.Now().Equal(base) {
		t.Errorf("after Reset: %v", c.Now())
	}
	if real := fakeclock.New(nil).Now(); time.Since(real) > time.Minute || time.Since(real) < -time.Minute {
		t.Errorf("nil base is not real time: %v", real)
	}
}
