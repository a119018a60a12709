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
		var waits []time.Duration
		for range 5 {
			w, ok, err := st.TakeRate(ctx, "k", iv, tol, time.Second)
			if err != nil || !ok {
				t.Fatalf("take: %v %v", ok, err)
			}
			waits = append(waits, w)
		}
		// The burst goes at once; then one slot every 100 ms.
		for i, w := range waits {
			want := time.Duration(max(0, i-2)) * iv
			if w < want-20*time.Millisecond || w > want+20*time.Millisecond {
				t.Errorf("take %d: wait %v, want about %v", i, w, want)
			}
		}
		// Beyond maxWait nothing is reserved.
		w, ok, err := st.TakeRate(ctx, "k", iv, tol, 50*time.Millisecond)
		if err != nil || ok || w < 250*time.Millisecond {
			t.Errorf("over maxWait: wait %v ok %v err %v", w, ok, err)
		}
		w2, ok, _ := st.TakeRate(ctx, "k", iv, tol, time.Second)
		if !ok || w2 > w+20*time.Millisecond {
			t.Errorf("the refused take reserved a slot: next wait %v after %v", w2, w)
		}
	})
}

func TestTakeRateShared(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, kind store.Kind) {
		t.Parallel()
		st := storetest.Open(t, kind, store.Options{})
		// 40 concurrent takers share one bucket: every slot is distinct.
		var mu sync.Mutex
		seen := map[time.Duration]bool{}
		var wg sync.WaitGroup
		for range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				w, ok, err := st.TakeRate(t.Context(), "shared", 50*time.Millisecond, 0, time.Hour)
				if err != nil || !ok {
					t.Error(ok, err)
					return
				}
				slot := (w + 25*time.Millisecond) / (50 * time.Millisecond)
				mu.Lock()
				if seen[slot] {
					t.Errorf("slot %d given twice", slot)
				}
				seen[slot] = true
				mu.Unlock()
			}()
		}
		wg.Wait()
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
