package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deskbridge/deskbridge/store"
	"github.com/deskbridge/deskbridge/store/storetest"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)} }

func ev(key string, contact string, ts int64) store.NewEvent {
	return store.NewEvent{
		Source: "whatsapp", Kind: "message", Key: key,
		Conversation: store.ConversationKey{Source: "whatsapp", Account: "106540352242922", Contact: contact},
		OccurredAt:   time.Unix(ts, 0),
		Payload:      []byte(fmt.Sprintf(`{"id":%q,"text":"caf\u00e9 \\u00e9"}`, key)),
	}
}

func insert(t *testing.T, st *store.Store, evs ...store.NewEvent) []store.InsertResult {
	t.Helper()
	var res []store.InsertResult
	err := st.WithTx(context.Background(), func(tx *store.Tx) error {
		var err error
		res, err = tx.InsertEvents(context.Background(), evs)
		return err
	})
	if err != nil {
		t.Fatalf("insert: %v", err)
	}
	return res
}

func TestInsertDedup(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, kind store.Kind) {
		t.Parallel()
		ctx := context.Background()
		st := storetest.Open(t, kind, store.Options{})
		first := insert(t, st, ev("wamid.A", "111", 10), ev("wamid.B", "111", 11), ev("wamid.C", "222", 12))
		for i, r := range first {
			if r.Duplicate {
				t.Errorf("first insert %d: marked duplicate", i)
			}
		}
		if first[0].ConversationID != first[1].ConversationID || first[0].ConversationID == first[2].ConversationID {
			t.Errorf("conversations: got %d %d %d, want the first two equal and the third different",
				first[0].ConversationID, first[1].ConversationID, first[2].ConversationID)
		}
		// A re-delivery, and a status with the same wamid (another kind).
		status := ev("wamid.A", "111", 13)
		status.Kind = "status"
		again := insert(t, st, ev("wamid.A", "111", 10), ev("wamid.B", "111", 11), status)
		if !again[0].Duplicate || !again[1].Duplicate || again[2].Duplicate {
			t.Errorf("re-delivery: duplicates = %v %v %v, want true true false", again[0].Duplicate, again[1].Duplicate, again[2].Duplicate)
		}
		if again[0].EventID != first[0].EventID {
			t.Errorf("re-delivery returned event %d, want %d", again[0].EventID, first[0].EventID)
		}
		got, err := st.EventByID(ctx, first[0].EventID)
		if err != nil {
			t.Fatal(err)
		}
		if want := ev("wamid.A", "111", 10).Payload; string(got.Payload) != string(want) {
			t.Errorf("payload = %s, want it byte for byte: %s", got.Payload, want)
		}
		stats, err := st.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if stats.EventsTotal != 4 || stats.EventsPending != 4 || stats.DuplicatesTotal != 2 || stats.Conversations != 2 {
			t.Errorf("stats = %+v, want 4 events, 4 pending, 2 duplicates, 2 conversations", stats)
		}
	})
}

func TestInsertRollsBackWithTx(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, kind store.Kind) {
		t.Parallel()
		ctx := context.Background()
		st := storetest.Open(t, kind, store.Options{})
		boom := errors.New("boom")
		err := st.WithTx(ctx, func(tx *store.Tx) error {
			if _, err := tx.InsertEvents(ctx, []store.NewEvent{ev("wamid.X", "1", 1)}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("WithTx = %v, want boom", err)
		}
		stats, err := st.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if stats.EventsTotal != 0 || stats.Conversations != 0 {
			t.Errorf("after rollback: %+v, want nothing stored", stats)
		}
	})
}

func TestNextPendingOrder(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, kind store.Kind) {
		t.Parallel()
		ctx := context.Background()
		clk := newClock()
		st := storetest.Open(t, kind, store.Options{Now: clk.Now})
		// Arrive out of order; two share a timestamp (arrival breaks the tie).
		res := insert(t, st, ev("m3", "1", 30), ev("m1", "1", 10))
		insert(t, st, ev("m2a", "1", 20), ev("m2b", "1", 20))
		conv := res[0].ConversationID
		lease, ok, err := st.AcquireLease(ctx, conv, "w1", time.Minute)
		if err != nil || !ok {
			t.Fatalf("acquire: ok=%v err=%v", ok, err)
		}
		var order []string
		for {
			e, err := st.NextPending(ctx, conv)
			if err != nil {
				t.Fatal(err)
			}
			if e == nil {
				break
			}
			order = append(order, e.Key)
			if err := st.CompleteEvent(ctx, lease, e.ID); err != nil {
				t.Fatal(err)
			}
		}
		if got, want := fmt.Sprint(order), "[m1 m2a m2b m3]"; got != want {
			t.Errorf("order = %s, want %s", got, want)
		}
	})
}

func TestLease(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, kind store.Kind) {
		t.Parallel()
		ctx := context.Background()
		clk := newClock()
		st := storetest.Open(t, kind, store.Options{Now: clk.Now})
		res := insert(t, st, ev("m1", "1", 10), ev("m2", "1", 11))
		conv := res[0].ConversationID

		a, ok, err := st.AcquireLease(ctx, conv, "a", 30*time.Second)
		if err != nil || !ok {
			t.Fatalf("a acquire: ok=%v err=%v", ok, err)
		}
		if _, ok, _ := st.AcquireLease(ctx, conv, "b", 30*time.Second); ok {
			t.Fatal("b acquired a held lease")
		}
		clk.Add(20 * time.Second)
		if err := st.RenewLease(ctx, a, 30*time.Second); err != nil {
			t.Fatalf("renew: %v", err)
		}
		clk.Add(20 * time.Second) // 40s after start, 20s after renewal: still held
		if _, ok, _ := st.AcquireLease(ctx, conv, "b", 30*time.Second); ok {
			t.Fatal("b acquired a renewed lease")
		}
		// a dies: no renewal. After the TTL, b takes over.
		clk.Add(11 * time.Second)
		b, ok, err := st.AcquireLease(ctx, conv, "b", 30*time.Second)
		if err != nil || !ok {
			t.Fatalf("b acquire after expiry: ok=%v err=%v", ok, err)
		}
		// a's late writes are fenced off.
		e, _ := st.NextPending(ctx, conv)
		if err := st.CompleteEvent(ctx, a, e.ID); !errors.Is(err, store.ErrLeaseLost) {
			t.Errorf("complete under lost lease = %v, want ErrLeaseLost", err)
		}
		if _, err := st.FailEvent(ctx, a, e.ID, "x", clk.Now()); !errors.Is(err, store.ErrLeaseLost) {
			t.Errorf("fail under lost lease = %v, want ErrLeaseLost", err)
		}
		if err := st.RenewLease(ctx, a, time.Minute); !errors.Is(err, store.ErrLeaseLost) {
			t.Errorf("renew lost lease = %v, want ErrLeaseLost", err)
		}
		if err := st.ReleaseLease(ctx, a); err != nil {
			t.Errorf("release of a lost lease: %v", err)
		}
		if err := st.CompleteEvent(ctx, b, e.ID); err != nil {
			t.Errorf("b complete: %v", err)
		}
		if err := st.ReleaseLease(ctx, b); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := st.AcquireLease(ctx, conv, "c", time.Second); !ok {
			t.Error("c could not acquire a released lease")
		}
	})
}

func TestFailAndDeadLetter(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, kind store.Kind) {
		t.Parallel()
		ctx := context.Background()
		clk := newClock()
		st := storetest.Open(t, kind, store.Options{Now: clk.Now})
		res := insert(t, st, ev("m1", "1", 10), ev("m2", "1", 11))
		conv := res[0].ConversationID
		l, _, _ := st.AcquireLease(ctx, conv, "w", time.Minute)
		retryAt := clk.Now().Add(5 * time.Second)
		n, err := st.FailEvent(ctx, l, res[0].EventID, "helpdesk 503", retryAt)
		if err != nil || n != 1 {
			t.Fatalf("fail: n=%d err=%v", n, err)
		}
		e, _ := st.NextPending(ctx, conv)
		if e.ID != res[0].EventID || e.Attempts != 1 || e.LastError != "helpdesk 503" || !e.NextAttemptAt.Equal(retryAt) {
			t.Errorf("after failure: %+v", e)
		}
		if err := st.DeadLetterEvent(ctx, l, res[0].EventID, "attempts_exhausted", "helpdesk 503 again"); err != nil {
			t.Fatal(err)
		}
		if err := st.DeadLetterEvent(ctx, l, res[0].EventID, "attempts_exhausted", "twice"); !errors.Is(err, store.ErrLeaseLost) {
			t.Errorf("dead-lettering twice = %v, want ErrLeaseLost (event no longer pending)", err)
		}
		e, _ = st.NextPending(ctx, conv)
		if e == nil || e.ID != res[1].EventID {
			t.Fatalf("next after dead letter = %+v, want m2", e)
		}
		dls, err := st.DeadLetters(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(dls) != 1 || dls[0].EventID != res[0].EventID || dls[0].Reason != "attempts_exhausted" ||
			dls[0].Attempts != 2 || dls[0].Key != "m1" || dls[0].Error != "helpdesk 503 again" {
			t.Errorf("dead letters = %+v", dls)
		}
		stats, _ := st.Stats(ctx)
		if stats.DeadLetters != 1 || stats.EventsDead != 1 || stats.EventsPending != 1 {
			t.Errorf("stats = %+v", stats)
		}
	})
}

func TestConversationsWithPending(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, kind store.Kind) {
		t.Parallel()
		ctx := context.Background()
		clk := newClock()
		st := storetest.Open(t, kind, store.Options{Now: clk.Now})
		res := insert(t, st, ev("m1", "1", 10), ev("m2", "2", 10))
		clk.Add(time.Minute)
		if _, ok, _ := st.AcquireLease(ctx, res[1].ConversationID, "w", time.Hour); !ok {
			t.Fatal("acquire")
		}
		ids, err := st.ConversationsWithPending(ctx, clk.Now().Add(-30*time.Second), 10)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(ids) != fmt.Sprint([]int64{res[0].ConversationID}) {
			t.Errorf("got %v, want only the unleased conversation %d", ids, res[0].ConversationID)
		}
		if ids, _ := st.ConversationsWithPending(ctx, clk.Now().Add(-2*time.Minute), 10); len(ids) != 0 {
			t.Errorf("events younger than the cutoff: got %v, want none", ids)
		}
	})
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct{ name, url, want string }{
		{"scheme", "mysql://x", "unsupported URL"},
		{"empty sqlite path", "sqlite://", "no file path"},
		{"unreachable postgres", "postgres://u:hunter2@127.0.0.1:1/db?connect_timeout=2", "unreachable"},
		{"sqlite dir missing", "sqlite:///nonexistent/dir/x.db", "unreachable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := store.Open(ctx, tc.url, store.Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Open(%q) = %v, want error containing %q", tc.url, err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error leaks the password: %v", err)
			}
		})
	}
}

func TestSchemaVersion(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, kind store.Kind) {
		t.Parallel()
		ctx := context.Background()
		u := storetest.URL(t, kind)
		st, err := store.Open(ctx, u, store.Options{SkipMigrations: true})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if _, err := st.AppliedVersion(ctx); err == nil {
			if err := st.CheckSchema(ctx); err == nil {
				t.Error("CheckSchema passed before migrating")
			}
		}
		st2, err := store.Open(ctx, u, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st2.Close()
		if err := st2.CheckSchema(ctx); err != nil {
			t.Errorf("after migrating: %v", err)
		}
		// Migrating again is a no-op.
		st3, err := store.Open(ctx, u, store.Options{})
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		st3.Close()
	})
}

func TestClaimJobs(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, kind store.Kind) {
		t.Parallel()
		ctx := context.Background()
		st := storetest.Open(t, kind, store.Options{})
		res := insert(t, st, ev("m1", "1", 10), ev("m2", "2", 10))
		a, b := res[0].ConversationID, res[1].ConversationID
		claim := func(ids ...int64) []int64 {
			var got []int64
			err := st.WithTx(ctx, func(tx *store.Tx) error {
				var err error
				got, err = tx.ClaimJobs(ctx, ids)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		if got := claim(b, a, b); fmt.Sprint(got) != fmt.Sprint([]int64{min(a, b), max(a, b)}) {
			t.Errorf("first claim = %v, want both once", got)
		}
		if got := claim(a, b); len(got) != 0 {
			t.Errorf("second claim = %v, want none (jobs queued)", got)
		}
		if _, ok, err := st.AcquireLease(ctx, a, "w", time.Minute); !ok || err != nil {
			t.Fatalf("acquire: %v %v", ok, err)
		}
		if got := claim(a, b); fmt.Sprint(got) != fmt.Sprint([]int64{a}) {
			t.Errorf("claim after a worker took %d = %v, want [%d]", a, got, a)
		}
	})
}

func TestTemplates(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, kind store.Kind) {
		t.Parallel()
		ctx := context.Background()
		st := storetest.Open(t, kind, store.Options{})
		rows := []store.TemplateRow{
			{Name: "reengage", Language: "en_US", Status: "APPROVED", Category: "UTILITY", Data: []byte(`{"name":"reengage"}`)},
			{Name: "reengage", Language: "es_ES", Status: "PENDING", Category: "UTILITY", Data: []byte(`{}`)},
			{Name: "promo", Language: "en_US", Status: "APPROVED", Category: "MARKETING", Data: []byte(`{}`)},
		}
		if err := st.ReplaceTemplates(ctx, "waba1", rows); err != nil {
			t.Fatal(err)
		}
		if err := st.ReplaceTemplates(ctx, "waba2", rows[:1]); err != nil {
			t.Fatal(err)
		}
		got, err := st.Templates(ctx, "waba1")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 || got[0].Name != "promo" || got[1].Language != "en_US" || string(got[1].Data) != `{"name":"reengage"}` {
			t.Errorf("templates = %+v", got)
		}
		// Replacing drops what the account no longer lists.
		if err := st.ReplaceTemplates(ctx, "waba1", rows[1:2]); err != nil {
			t.Fatal(err)
		}
		got, _ = st.Templates(ctx, "waba1")
		if len(got) != 1 || got[0].Language != "es_ES" {
			t.Errorf("after replace: %+v", got)
		}
		if other, _ := st.Templates(ctx, "waba2"); len(other) != 1 {
			t.Errorf("another account's templates changed: %+v", other)
		}
	})
}

func TestExclusiveSQLite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := storetest.URL(t, store.SQLite)
	first, err := store.Open(ctx, u, store.Options{Exclusive: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Open(ctx, u, store.Options{Exclusive: true}); err == nil || !strings.Contains(err.Error(), "in use by another deskbridge serve") {
		t.Fatalf("second exclusive open = %v, want in-use error", err)
	}
	// Readers (status) are not excluded.
	reader, err := store.Open(ctx, u, store.Options{SkipMigrations: true})
	if err != nil {
		t.Fatalf("reader: %v", err)
	}
	reader.Close()
	first.Close()
	again, err := store.Open(ctx, u, store.Options{Exclusive: true})
	if err != nil {
		t.Fatalf("after close: %v", err)
	}
	again.Close()
}

func TestEffects(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, kind store.Kind) {
		t.Parallel()
		ctx := context.Background()
		st := storetest.Open(t, kind, store.Options{})
		const src, key, target = "whatsapp", "wamid.A", "zendesk:support"
		if e, _ := st.Effect(ctx, src, key, target); e != nil {
			t.Fatalf("effect before any write: %+v", e)
		}
		e, existed, err := st.BeginEffect(ctx, src, key, target)
		if err != nil || existed || e.State != store.EffectPending || e.Attempts != 1 {
			t.Fatalf("first begin: %+v existed=%v err=%v", e, existed, err)
		}
		// The process died before completing: the retry sees it pending.
		e, existed, err = st.BeginEffect(ctx, src, key, target)
		if err != nil || !existed || e.State != store.EffectPending || e.Attempts != 2 {
			t.Fatalf("retry: %+v existed=%v err=%v, want pending on attempt 2", e, existed, err)
		}
		if err := st.CompleteEffect(ctx, src, key, target, "comment-77", "ticket-9"); err != nil {
			t.Fatal(err)
		}
		if err := st.CompleteEffect(ctx, src, key, target, "comment-78", "ticket-9"); err != nil {
			t.Fatalf("completing twice: %v", err)
		}
		e, existed, err = st.BeginEffect(ctx, src, key, target)
		if err != nil || !existed || e.State != store.EffectDone || e.ResultID != "comment-77" || e.Ref != "ticket-9" {
			t.Fatalf("after completion: %+v existed=%v err=%v, want done with the first result", e, existed, err)
		}
		// Another target of the same source event is separate.
		if e, existed, _ := st.BeginEffect(ctx, src, key, "whatsapp:106540352242922"); existed || e.State != store.EffectPending {
			t.Errorf("other target: %+v existed=%v", e, existed)
		}
		if err := st.CompleteEffect(ctx, src, "wamid.none", target, "x", "y"); err == nil {
			t.Error("completing an effect never begun succeeded")
		}
	})
}

func TestEffectsConcurrentBegin(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, kind store.Kind) {
		t.Parallel()
		ctx := context.Background()
		st := storetest.Open(t, kind, store.Options{})
		var wg sync.WaitGroup
		var mu sync.Mutex
		fresh := 0
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, existed, err := st.BeginEffect(ctx, "zendesk", "comment-1", "whatsapp:1")
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				if !existed {
					fresh++
				}
			}()
		}
		wg.Wait()
		if fresh != 1 {
			t.Errorf("%d callers began the same effect as new, want exactly 1", fresh)
		}
		e, _ := st.Effect(ctx, "zendesk", "comment-1", "whatsapp:1")
		if e == nil || e.Attempts != 8 {
			t.Errorf("effect = %+v, want 8 attempts recorded", e)
		}
	})
}
