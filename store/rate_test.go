package store_test

import (
	"sync"
	"testing"
	"time"

	"github.com/deskbridge/deskbridge/store"
	"github.com/deskbridge/deskbridge/store/storetest"
)

func TestTakeRate(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, kind store.Kind) {
		t.Parallel()
		st := storetest.Open(t, kind, store.Options{})
		ctx := t.Context()
		// 10 per second with a burst of 3: tolerance 200 ms.
		iv, tol := 100*time.Millisecond, 200*time.Millisecond
		// The burst goes at once; then one slot every 100 ms. Slots are
		// compared as times from the first take, which a slow machine
		// only delays.
		first := time.Now()
		for i := range 5 {
			before := time.Now()
			w, ok, err := st.TakeRate(ctx, "k", iv, tol, time.Second)
			if err != nil || !ok {
				t.Fatalf("take: %v %v", ok, err)
			}
			slot, want := before.Add(w).Sub(first), time.Duration(max(0, i-2))*iv
			if slot < want-2*time.Millisecond || slot > want+before.Sub(first)+5*time.Millisecond {
				t.Errorf("take %d: slot %v after the first take, want %v", i, slot, want)
			}
		}
		// Beyond maxWait nothing is reserved (the next slot is 300 ms after
		// the first take; 1 ms leaves no slot usable in time).
		w, ok, err := st.TakeRate(ctx, "k", iv, tol, time.Millisecond)
		if err != nil || ok || w <= time.Millisecond {
			t.Errorf("over maxWait: wait %v ok %v err %v", w, ok, err)
		}
		w2, ok, _ := st.TakeRate(ctx, "k", iv, tol, time.Second)
		if !ok || w2 > w+2*time.Millisecond {
			t.Errorf("the refused take reserved a slot: next wait %v after %v", w2, w)
		}
	})
}

func TestTakeRateShared(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, kind store.Kind) {
		t.Parallel()
		st := storetest.Open(t, kind, store.Options{})
		// 40 concurrent takers share one bucket: each takes a slot of its
		// own, so the bucket ends 40 intervals after the first take. A
		// slot given twice would leave it one interval short.
		const iv = 50 * time.Millisecond
		start := time.Now()
		var wg sync.WaitGroup
		for range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, ok, err := st.TakeRate(t.Context(), "shared", iv, 0, time.Hour); err != nil || !ok {
					t.Error(ok, err)
				}
			}()
		}
		wg.Wait()
		w, ok, err := st.TakeRate(t.Context(), "shared", iv, 0, time.Hour)
		if err != nil || !ok {
			t.Fatal(ok, err)
		}
		// The 41st slot starts 40 intervals after the first take, which
		// happened at or after start.
		if end := time.Since(start) + w; end < 40*iv-5*time.Millisecond {
			t.Errorf("41st slot %v after the start, want at least %v: slots were given twice", end, 40*iv)
		}
	})
}

func TestTierAdmit(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, kind store.Kind) {
		t.Parallel()
		st := storetest.Open(t, kind, store.Options{})
		ctx := t.Context()
		for i, r := range []string{"a", "b", "a", "c"} {
			ok, _, used, err := st.TierAdmit(ctx, "waba", r, 3, time.Now())
			if err != nil || !ok {
				t.Fatalf("send %d to %s: %v %v", i, r, ok, err)
			}
			if want := map[int]int{0: 1, 1: 2, 2: 2, 3: 3}[i]; used != want {
				t.Errorf("send %d: used %d, want %d (unique recipients)", i, used, want)
			}
		}
		ok, retryAt, used, err := st.TierAdmit(ctx, "waba", "d", 3, time.Now())
		if err != nil || ok || used != 3 || time.Until(retryAt) < 23*time.Hour {
			t.Fatalf("over the limit: ok %v used %d retry %v err %v", ok, used, retryAt, err)
		}
		if ok, _, _, _ := st.TierAdmit(ctx, "waba", "b", 3, time.Now()); !ok {
			t.Error("a recipient already counted must pass")
		}
		if ok, _, _, _ := st.TierAdmit(ctx, "other", "d", 3, time.Now()); !ok {
			t.Error("portfolios must not share a limit")
		}
		if ok, _, _, _ := st.TierAdmit(ctx, "waba", "e", 0, time.Now()); !ok {
			t.Error("no limit admits everything")
		}
	})
}
