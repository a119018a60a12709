package ratelimit_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/deskbridge/deskbridge/ratelimit"
	"github.com/deskbridge/deskbridge/store"
	"github.com/deskbridge/deskbridge/store/storetest"
	"github.com/deskbridge/deskbridge/telemetry"
)

// clock is a settable clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestBucketsAgree(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, kind store.Kind) {
		t.Parallel()
		st := storetest.Open(t, kind, store.Options{})
		for name, b := range map[string]ratelimit.Bucket{"memory": ratelimit.NewMemory(nil), "store": ratelimit.NewBucket(st, nil)} {
			r := ratelimit.Rule{Rate: 10, Burst: 3}
			first := time.Now()
			for i := range 5 {
				before := time.Now()
				w, ok, err := b.Take(t.Context(), "k", r, time.Second)
				// Slots as times from the first take: a slow machine only
				// delays them.
				slot, want := before.Add(w).Sub(first), time.Duration(max(0, i-2))*100*time.Millisecond
				if err != nil || !ok || slot < want-2*time.Millisecond || slot > want+before.Sub(first)+5*time.Millisecond {
					t.Errorf("%s take %d: slot %v after the first (ok %v, err %v), want %v", name, i, slot, ok, err, want)
				}
			}
		}
	})
}

func TestMemoryRefusesBeyondMaxWait(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Unix(1000, 0)}
	m := ratelimit.NewMemory(c.now)
	r := ratelimit.PerWindow(1, 6*time.Second)
	if w, ok, _ := m.Take(context.Background(), "p", r, 0); !ok || w != 0 {
		t.Fatalf("first: %v %v", w, ok)
	}
	w, ok, _ := m.Take(context.Background(), "p", r, time.Second)
	if ok || w != 6*time.Second {
		t.Fatalf("second: wait %v ok %v, want refused with 6s", w, ok)
	}
	c.t = c.t.Add(6 * time.Second)
	if w, ok, _ := m.Take(context.Background(), "p", r, 0); !ok || w != 0 {
		t.Fatalf("after the interval: %v %v", w, ok)
	}
}

func TestWaitSleepsOrThrottles(t *testing.T) {
	t.Parallel()
	m := telemetry.NewMetrics("t", "t")
	b := ratelimit.NewMemory(nil)
	r := ratelimit.Rule{Rate: 20, Burst: 1} // 50 ms apart
	start := time.Now()
	for range 3 {
		if err := ratelimit.Wait(t.Context(), b, "k", r, time.Second, "whatsapp", "throughput", m); err != nil {
			t.Fatal(err)
		}
	}
	if el := time.Since(start); el < 90*time.Millisecond {
		t.Errorf("3 slots at 20/s took %v, want about 100ms", el)
	}
	if err := ratelimit.Wait(t.Context(), b, "k2", ratelimit.Rule{Rate: 0.1, Burst: 1}, 10*time.Millisecond, "whatsapp", "pair", m); err != nil {
		t.Fatal(err)
	}
	err := ratelimit.Wait(t.Context(), b, "k2", ratelimit.Rule{Rate: 0.1, Burst: 1}, 10*time.Millisecond, "whatsapp", "pair", m)
	var th *ratelimit.Throttled
	if !errors.As(err, &th) || th.Reason != "pair" || th.RetryAfter() < 9*time.Second {
		t.Fatalf("err = %v, want Throttled pair ~10s", err)
	}
	if got := testutil.ToFloat64(m.Throttled.WithLabelValues("whatsapp", "pair")); got != 1 {
		t.Errorf("throttled{pair} = %v", got)
	}
}

func TestTierLimit(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int{"TIER_250": 250, "TIER_2K": 2000, "TIER_10K": 10000, "TIER_100K": 100000,
		"TIER_UNLIMITED": 0, "": 0, "tier_1k": 1000, "TIER_50": 50} {
		if got := ratelimit.TierLimit(in); got != want {
			t.Errorf("TierLimit(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestPairRefusalBackoff(t *testing.T) {
	t.Parallel()
	g := ratelimit.NewWhatsApp(ratelimit.NewMemory(nil), nil, nil)
	var got []time.Duration
	for range 3 {
		got = append(got, g.Refused("n", "r"))
	}
	if got[0] != time.Second || got[1] != 4*time.Second || got[2] != 16*time.Second {
		t.Errorf("backoffs = %v, want 1s 4s 16s", got)
	}
	g.Delivered("n", "r")
	if d := g.Refused("n", "r"); d != time.Second {
		t.Errorf("after a delivery: %v, want 1s", d)
	}
}

func TestAdmitHoldsOverTheTier(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t, store.SQLite, store.Options{})
	g := ratelimit.NewWhatsApp(ratelimit.NewMemory(nil), st, nil)
	for _, r := range []string{"a", "b"} {
		if err := g.Admit(t.Context(), "waba", r, 2, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	var th *ratelimit.Throttled
	if err := g.Admit(t.Context(), "waba", "c", 2, time.Now()); !errors.As(err, &th) || th.Reason != "tier" || th.Wait < 23*time.Hour {
		t.Fatalf("third customer: %v, want held for about 24h", err)
	}
}
