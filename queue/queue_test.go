package queue_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/deskbridge/deskbridge/queue"
	"github.com/deskbridge/deskbridge/store"
	"github.com/deskbridge/deskbridge/store/storetest"
	"github.com/deskbridge/deskbridge/telemetry"
)

// fastConfig keeps the suite quick: short leases and retries.
func fastConfig() queue.Config {
	return queue.Config{
		Workers:      4,
		MaxAttempts:  3,
		LeaseTTL:     3 * time.Second,
		JobTimeout:   5 * time.Second,
		RescueAfter:  6 * time.Second,
		PollInterval: 20 * time.Millisecond,
		RetryBase:    20 * time.Millisecond,
		RetryMax:     100 * time.Millisecond,
		Metrics:      telemetry.NewMetrics("test", "test"),
	}
}

type bundle struct {
	url string
	st  *store.Store
}

func setup(t *testing.T, kind store.Kind) bundle {
	t.Helper()
	u := storetest.URL(t, kind)
	st, err := store.Open(context.Background(), u, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return bundle{url: u, st: st}
}

func newEvent(contact, key string, ts int64) store.NewEvent {
	return store.NewEvent{
		Source: "whatsapp", Kind: "message", Key: key,
		Conversation: store.ConversationKey{Source: "whatsapp", Account: "106540352242922", Contact: contact},
		OccurredAt:   time.Unix(ts, 0),
		Payload:      []byte(`{}`),
	}
}

// ingest stores events and enqueues their conversations in one transaction,
// as the webhook handler does.
func ingest(t *testing.T, st *store.Store, q *queue.Queue, evs []store.NewEvent) {
	t.Helper()
	ctx := context.Background()
	err := st.WithTx(ctx, func(tx *store.Tx) error {
		res, err := tx.InsertEvents(ctx, evs)
		if err != nil {
			return err
		}
		var ids []int64
		for _, r := range res {
			if !r.Duplicate && !slices.Contains(ids, r.ConversationID) {
				ids = append(ids, r.ConversationID)
			}
		}
		return q.EnqueueTx(ctx, tx, ids)
	})
	if err != nil {
		t.Fatalf("ingest: %v", err)
	}
}

func startQueue(t *testing.T, st *store.Store, h queue.Handler, cfg queue.Config) *queue.Queue {
	t.Helper()
	ctx := context.Background()
	q, err := queue.New(ctx, st, h, cfg)
	if err != nil {
		t.Fatalf("queue.New: %v", err)
	}
	if err := q.Start(ctx); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = q.Stop(ctx)
	})
	return q
}

// waitSettled waits until no event is pending.
func waitSettled(t *testing.T, st *store.Store) store.Stats {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		s, err := st.Stats(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if s.EventsPending == 0 {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("events still pending after 60s: %+v", s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// recorder is a handler that records what it saw and checks that no
// conversation is handled by two workers at once.
type recorder struct {
	mu       sync.Mutex
	inFlight map[int64]int
	seen     map[int64][]string
	calls    map[string]int
	overlaps int
	fail     func(ev *store.Event, call int) error
}

func newRecorder() *recorder {
	return &recorder{inFlight: map[int64]int{}, seen: map[int64][]string{}, calls: map[string]int{}}
}

func (r *recorder) Handle(_ context.Context, ev *store.Event) error {
	r.mu.Lock()
	r.inFlight[ev.ConversationID]++
	if r.inFlight[ev.ConversationID] > 1 {
		r.overlaps++
	}
	r.calls[ev.Key]++
	call := r.calls[ev.Key]
	r.mu.Unlock()

	time.Sleep(time.Duration(rand.IntN(2)) * time.Millisecond)
	var err error
	if r.fail != nil {
		err = r.fail(ev, call)
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	r.inFlight[ev.ConversationID]--
	if err == nil {
		r.seen[ev.ConversationID] = append(r.seen[ev.ConversationID], ev.Key)
	}
	return err
}

func TestOrderingUnderConcurrentWorkers(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, kind store.Kind) {
		t.Parallel()
		b := setup(t, kind)
		rec := newRecorder()
		// Three queues, each with its own River client and workers. On
		// Postgres each also has its own pool, as replicas do; SQLite mode
		// runs one process, so its queues share the store.
		var queues []*queue.Queue
		for range 3 {
			st := b.st
			if kind == store.Postgres {
				var err error
				if st, err = store.Open(context.Background(), b.url, store.Options{}); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(st.Close)
			}
			cfg := fastConfig()
			// Exactly once is asserted here, so a lease must not expire
			// under a loaded machine's stalls (a lost lease lets another
			// worker handle the event again, which handlers must tolerate).
			cfg.LeaseTTL, cfg.JobTimeout, cfg.RescueAfter = 20*time.Second, 30*time.Second, 40*time.Second
			queues = append(queues, startQueue(t, st, rec, cfg))
		}
		const convs, perConv = 12, 8
		want := map[string][]string{}
		var all []store.NewEvent
		for c := range convs {
			contact := fmt.Sprintf("3460011%04d", c)
			for i := range perConv {
				key := fmt.Sprintf("wamid.%d.%d", c, i)
				all = append(all, newEvent(contact, key, int64(1000+i)))
				want[contact] = append(want[contact], key)
			}
		}
		// Deliver in shuffled batches through different processes, with
		// re-deliveries mixed in.
		rand.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
		for i := 0; i < len(all); i += 5 {
			batch := all[i:min(i+5, len(all))]
			ingest(t, b.st, queues[i%3], batch)
			if i%10 == 0 {
				ingest(t, b.st, queues[(i+1)%3], batch) // re-delivery
			}
		}
		stats := waitSettled(t, b.st)
		if stats.EventsDone != convs*perConv {
			t.Errorf("done = %d, want %d", stats.EventsDone, convs*perConv)
		}
		rec.mu.Lock()
		defer rec.mu.Unlock()
		if rec.overlaps != 0 {
			t.Errorf("%d times a conversation was handled by two workers at once", rec.overlaps)
		}
		for key, n := range rec.calls {
			if n != 1 {
				t.Errorf("event %s handled %d times, want once", key, n)
			}
		}
		// Within a conversation, events are handled in timestamp order
		// whenever they were all there; a late arrival can only come after.
		for _, keys := range rec.seen {
			if len(keys) != perConv {
				t.Errorf("conversation handled %d events, want %d", len(keys), perConv)
			}
		}
	})
}

func TestStrictOrderWhenQueuedTogether(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, kind store.Kind) {
		t.Parallel()
		b := setup(t, kind)
		rec := newRecorder()
		q, err := queue.New(context.Background(), b.st, rec, fastConfig())
		if err != nil {
			t.Fatal(err)
		}
		// Everything is stored before any worker runs, in reverse order.
		var evs []store.NewEvent
		for i := 9; i >= 0; i-- {
			evs = append(evs, newEvent("111", fmt.Sprintf("m%d", i), int64(100+i/2)))
		}
		ingest(t, b.st, q, evs[:5])
		ingest(t, b.st, q, evs[5:])
		if err := q.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = q.Stop(context.Background()) })
		waitSettled(t, b.st)
		rec.mu.Lock()
		defer rec.mu.Unlock()
		var got []string
		for _, keys := range rec.seen {
			got = keys
		}
		// Timestamps 100,100,101,101,…: ties go by arrival (m9 stored before m8).
		want := []string{"m1", "m0", "m3", "m2", "m5", "m4", "m7", "m6", "m9", "m8"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("order = %v, want %v", got, want)
		}
	})
}

func TestLeaseExpiryAfterWorkerDies(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, kind store.Kind) {
		t.Parallel()
		b := setup(t, kind)
		ctx := context.Background()
		rec := newRecorder()
		cfg := fastConfig()
		q, err := queue.New(ctx, b.st, rec, cfg)
		if err != nil {
			t.Fatal(err)
		}
		ingest(t, b.st, q, []store.NewEvent{newEvent("222", "a", 1), newEvent("222", "b", 2)})
		// A worker took the conversation and died without releasing it.
		ids, _ := b.st.ConversationsWithPending(ctx, time.Now().Add(time.Hour), 10)
		if len(ids) != 1 {
			t.Fatalf("conversations = %v", ids)
		}
		const ttl = 700 * time.Millisecond
		_, ok, err := b.st.AcquireLease(ctx, ids[0], "dead-worker", ttl)
		if err != nil || !ok {
			t.Fatalf("acquire: %v %v", ok, err)
		}
		expires := time.Now().Add(ttl)
		var firstHandled time.Time
		var once sync.Once
		rec.fail = func(*store.Event, int) error {
			once.Do(func() { firstHandled = time.Now() })
			return nil
		}
		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = q.Stop(context.Background()) })
		s := waitSettled(t, b.st)
		if s.EventsDone != 2 {
			t.Fatalf("done = %d, want 2", s.EventsDone)
		}
		if firstHandled.Before(expires.Add(-50 * time.Millisecond)) {
			t.Errorf("an event was handled %v before the dead worker's lease expired", expires.Sub(firstHandled))
		}
	})
}

func TestRetriesThenSuccessKeepsOrder(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, kind store.Kind) {
		t.Parallel()
		b := setup(t, kind)
		rec := newRecorder()
		rec.fail = func(ev *store.Event, call int) error {
			if ev.Key == "first" && call <= 2 {
				return errors.New("helpdesk answered 503")
			}
			return nil
		}
		q := startQueue(t, b.st, rec, fastConfig())
		ingest(t, b.st, q, []store.NewEvent{newEvent("333", "first", 1), newEvent("333", "second", 2)})
		s := waitSettled(t, b.st)
		if s.EventsDone != 2 || s.DeadLetters != 0 {
			t.Fatalf("stats = %+v, want 2 done and no dead letters", s)
		}
		rec.mu.Lock()
		defer rec.mu.Unlock()
		if rec.calls["first"] != 3 || rec.calls["second"] != 1 {
			t.Errorf("calls = %v, want first×3, second×1", rec.calls)
		}
		for _, keys := range rec.seen {
			if fmt.Sprint(keys) != "[first second]" {
				t.Errorf("order = %v, want [first second]", keys)
			}
		}
	})
}

func TestDeadLetters(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, kind store.Kind) {
		t.Parallel()
		b := setup(t, kind)
		rec := newRecorder()
		rec.fail = func(ev *store.Event, call int) error {
			switch ev.Key {
			case "bad-request":
				return queue.Permanent(errors.New("helpdesk answered 422"))
			case "always-503":
				return errors.New("helpdesk answered 503")
			case "panics":
				panic("handler bug")
			}
			return nil
		}
		q := startQueue(t, b.st, rec, fastConfig())
		ingest(t, b.st, q, []store.NewEvent{
			newEvent("444", "bad-request", 1), newEvent("444", "always-503", 2),
			newEvent("444", "panics", 3), newEvent("444", "fine", 4),
		})
		s := waitSettled(t, b.st)
		if s.EventsDone != 1 || s.EventsDead != 3 || s.DeadLetters != 3 {
			t.Fatalf("stats = %+v, want 1 done, 3 dead", s)
		}
		dls, err := b.st.DeadLetters(context.Background(), 10)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, d := range dls {
			got[d.Key] = fmt.Sprintf("%s/%d", d.Reason, d.Attempts)
		}
		want := map[string]string{
			"bad-request": "permanent/1",
			"always-503":  "attempts_exhausted/3",
			"panics":      "attempts_exhausted/3",
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("dead letters = %v, want %v", got, want)
		}
		rec.mu.Lock()
		defer rec.mu.Unlock()
		if rec.calls["bad-request"] != 1 || rec.calls["always-503"] != 3 || rec.calls["fine"] != 1 {
			t.Errorf("calls = %v", rec.calls)
		}
	})
}

func TestSnoozeUsesNoAttempt(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, kind store.Kind) {
		t.Parallel()
		b := setup(t, kind)
		rec := newRecorder()
		rec.fail = func(ev *store.Event, call int) error {
			if call <= 4 { // more snoozes than MaxAttempts: none may count
				return queue.Snooze(errors.New("429 Too Many Requests"), 30*time.Millisecond)
			}
			return nil
		}
		q := startQueue(t, b.st, rec, fastConfig())
		ingest(t, b.st, q, []store.NewEvent{newEvent("555", "limited", 1)})
		s := waitSettled(t, b.st)
		if s.EventsDone != 1 || s.DeadLetters != 0 {
			t.Fatalf("stats = %+v, want the event done after snoozes", s)
		}
	})
}

func TestReconcileRecoversEventsWithoutJob(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, kind store.Kind) {
		t.Parallel()
		b := setup(t, kind)
		ctx := context.Background()
		rec := newRecorder()
		cfg := fastConfig()
		cfg.ReconcileAfter = time.Millisecond
		cfg.ReconcileInterval = 50 * time.Millisecond
		// Stored with no job (as if the job row were lost).
		err := b.st.WithTx(ctx, func(tx *store.Tx) error {
			_, err := tx.InsertEvents(ctx, []store.NewEvent{newEvent("666", "orphan", 1)})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		startQueue(t, b.st, rec, cfg)
		s := waitSettled(t, b.st)
		if s.EventsDone != 1 {
			t.Fatalf("stats = %+v, want the orphan done", s)
		}
	})
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		attempt int
		jitter  float64
		want    time.Duration
	}{
		{1, 0, time.Second}, {2, 0, 2 * time.Second}, {4, 0, 8 * time.Second},
		{20, 0, time.Minute}, {0, 0, time.Second}, {2, 1, 1600 * time.Millisecond},
	} {
		if got := queue.Backoff(tc.attempt, time.Second, time.Minute, tc.jitter); got != tc.want {
			t.Errorf("Backoff(%d, jitter %v) = %v, want %v", tc.attempt, tc.jitter, got, tc.want)
		}
	}
}

// TestJobTimeoutCountsAsAttempt: an event that always outlasts the job
// timeout ends in the dead-letter table instead of blocking its
// conversation, and the events after it are handled.
func TestJobTimeoutCountsAsAttempt(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, kind store.Kind) {
		t.Parallel()
		b := setup(t, kind)
		rec := newRecorder()
		rec.fail = func(ev *store.Event, call int) error {
			if ev.Key == "slow" {
				time.Sleep(700 * time.Millisecond) // longer than the job timeout
				return errors.New("helpdesk did not answer")
			}
			return nil
		}
		cfg := fastConfig()
		cfg.JobTimeout = 300 * time.Millisecond
		cfg.RescueAfter = 5 * time.Second
		h := queue.HandlerFunc(func(ctx context.Context, ev *store.Event) error {
			err := rec.Handle(ctx, ev)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		})
		q := startQueue(t, b.st, h, cfg)
		ingest(t, b.st, q, []store.NewEvent{newEvent("777", "slow", 1), newEvent("777", "after", 2)})
		s := waitSettled(t, b.st)
		if s.EventsDone != 1 || s.DeadLetters != 1 {
			t.Fatalf("stats = %+v, want the slow event dead-lettered and the next one done", s)
		}
		dls, _ := b.st.DeadLetters(context.Background(), 10)
		if len(dls) != 1 || dls[0].Key != "slow" || dls[0].Reason != "attempts_exhausted" || dls[0].Attempts != 3 {
			t.Errorf("dead letters = %+v, want slow after 3 attempts", dls)
		}
	})
}
