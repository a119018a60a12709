package bridge_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/deskbridge/deskbridge/bridge"
	"github.com/deskbridge/deskbridge/connectors/whatsapp"
	"github.com/deskbridge/deskbridge/queue"
	"github.com/deskbridge/deskbridge/store"
	"github.com/deskbridge/deskbridge/store/storetest"
)

func events(t testing.TB, keys ...string) []whatsapp.Event {
	t.Helper()
	var msgs string
	for i, k := range keys {
		if i > 0 {
			msgs += ","
		}
		msgs += fmt.Sprintf(`{"from":"3460011%04d","id":%q,"timestamp":"1700000000","type":"text","text":{"body":"x"}}`, i%7, k)
	}
	body := `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"106540352242922"},"messages":[` + msgs + `]}}]}]}`
	evs, err := whatsapp.ParseNotification([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// TestInboxGroupCommit sends overlapping webhooks concurrently: every event
// is stored once, exactly one delivery of each sees it as new, and every
// conversation gets its work queued.
func TestInboxGroupCommit(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, kind store.Kind) {
		t.Parallel()
		ctx := context.Background()
		st := storetest.Open(t, kind, store.Options{})
		q, err := queue.New(ctx, st, queue.HandlerFunc(func(context.Context, *store.Event) error { return nil }),
			queue.Config{PollInterval: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		in := bridge.NewInbox(st, q)
		defer in.Close()

		const senders, perSender = 40, 5
		var mu sync.Mutex
		fresh := map[string]int{}
		var wg sync.WaitGroup
		for s := range senders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range perSender {
					// Sender s and s+1 share keys: every key is delivered twice.
					evs := events(t, fmt.Sprintf("wamid.%d", (s*perSender+i)%(senders*perSender/2)),
						fmt.Sprintf("wamid.x%d.%d", s, i))
					dups, err := in.AcceptWhatsApp(ctx, evs)
					if err != nil {
						t.Errorf("accept: %v", err)
						return
					}
					mu.Lock()
					for j, d := range dups {
						if !d {
							fresh[evs[j].Key]++
						}
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		want := senders*perSender/2 + senders*perSender
		if len(fresh) != want {
			t.Errorf("%d keys seen as new, want %d", len(fresh), want)
		}
		for k, n := range fresh {
			if n != 1 {
				t.Errorf("%s reported new %d times", k, n)
			}
		}
		stats, err := st.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if stats.EventsTotal != int64(want) || stats.DuplicatesTotal != int64(senders*perSender/2*1) {
			t.Errorf("stats = %+v, want %d events and %d duplicates", stats, want, senders*perSender/2)
		}
		if stats.JobsPending == 0 || stats.JobsPending > stats.Conversations {
			t.Errorf("jobs pending = %d for %d conversations, want 1..%d", stats.JobsPending, stats.Conversations, stats.Conversations)
		}

		// Closed inbox refuses new work.
		in.Close()
		if _, err := in.AcceptWhatsApp(ctx, events(t, "wamid.late")); err == nil {
			t.Error("closed inbox accepted events")
		}
	})
}

// benchEvents is one text message from customer n.
func benchEvents(b testing.TB, key string, n int64) []whatsapp.Event {
	body := fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Bench"},"wa_id":"3460000%04d"}],"messages":[{"from":"3460000%04d","id":%q,"timestamp":"1700000000","type":"text","text":{"body":"hello"}}]}}]}]}`, n, n, key)
	evs, err := whatsapp.ParseNotification([]byte(body))
	if err != nil {
		b.Fatal(err)
	}
	return evs
}
