package queue_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/deskbridge/deskbridge/queue"
	"github.com/deskbridge/deskbridge/store"
	"github.com/deskbridge/deskbridge/store/storetest"
)

// batcher handles up to take events per call, failing once on the event
// named failKey, and records the batches it was offered and took.
type batcher struct {
	mu      sync.Mutex
	take    int
	failKey string
	failed  bool
	offered [][]string
	done    []string
}

func (b *batcher) Handle(ctx context.Context, ev *store.Event) error {
	_, err := b.HandleBatch(ctx, []*store.Event{ev})
	return err
}

func (b *batcher) HandleBatch(_ context.Context, evs []*store.Event) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var keys []string
	for _, e := range evs {
		keys = append(keys, e.Key)
	}
	b.offered = append(b.offered, keys)
	n := 0
	for _, e := range evs[:min(b.take, len(evs))] {
		if e.Key == b.failKey && !b.failed {
			b.failed = true
			return n, errors.New("boom")
		}
		b.done = append(b.done, e.Key)
		n++
	}
	return n, nil
}

func TestBatchHandlerGetsFollowingEventsInOrder(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, kind store.Kind) {
		t.Parallel()
		b := setup(t, kind)
		h := &batcher{take: 3, failKey: "m4"}
		cfg := fastConfig()
		cfg.MaxBatch = 4
		q, err := queue.New(context.Background(), b.st, h, cfg)
		if err != nil {
			t.Fatal(err)
		}
		var evs []store.NewEvent
		for i := range 8 {
			evs = append(evs, newEvent("111", fmt.Sprintf("m%d", i), int64(100+i)))
		}
		ingest(t, b.st, q, evs)
		if err := q.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = q.Stop(context.Background()) })
		s := waitSettled(t, b.st)
		if s.EventsDone != 8 {
			t.Fatalf("done = %d, want 8 (%+v)", s.EventsDone, s)
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		if got, want := fmt.Sprint(h.done), "[m0 m1 m2 m3 m4 m5 m6 m7]"; got != want {
			t.Errorf("handled %s, want %s", got, want)
		}
		// First offer: four events (MaxBatch); three taken. Second: m3…m6,
		// m3 handled, m4 fails and is retried at the head.
		if len(h.offered) < 3 || fmt.Sprint(h.offered[0]) != "[m0 m1 m2 m3]" || fmt.Sprint(h.offered[1]) != "[m3 m4 m5 m6]" ||
			h.offered[2][0] != "m4" {
			t.Errorf("offered %v", h.offered)
		}
	})
}

// A snoozed event is not handled again before its wait is over, even when
// new events of its conversation arrive (each would otherwise start a job
// that calls the rate-limited vendor at once).
func TestSnoozeHoldsTheConversation(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, kind store.Kind) {
		t.Parallel()
		b := setup(t, kind)
		rec := newRecorder()
		var mu sync.Mutex
		var calls []time.Time
		rec.fail = func(ev *store.Event, call int) error {
			if ev.Key != "head" {
				return nil
			}
			mu.Lock()
			calls = append(calls, time.Now())
			mu.Unlock()
			if call == 1 {
				return queue.Snooze(errors.New("429 Too Many Requests"), 800*time.Millisecond)
			}
			return nil
		}
		cfg := fastConfig()
		cfg.ReconcileInterval, cfg.ReconcileAfter = 50*time.Millisecond, 10*time.Millisecond
		q := startQueue(t, b.st, rec, cfg)
		ingest(t, b.st, q, []store.NewEvent{newEvent("777", "head", 1)})
		for i := range 5 {
			time.Sleep(50 * time.Millisecond)
			ingest(t, b.st, q, []store.NewEvent{newEvent("777", fmt.Sprint("next", i), int64(2+i))})
		}
		waitSettled(t, b.st)
		mu.Lock()
		defer mu.Unlock()
		if len(calls) != 2 {
			t.Fatalf("head handled %d times, want 2 (snoozed once)", len(calls))
		}
		if gap := calls[1].Sub(calls[0]); gap < 700*time.Millisecond {
			t.Errorf("handled again after %v, before the 800ms snooze was over", gap)
		}
	})
}
