package e2e

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/deskbridge/deskbridge/store"
	"github.com/deskbridge/deskbridge/store/storetest"
)

// TestCrashMidLoad kills `deskbridge serve` with SIGKILL while 2,000
// webhooks are being delivered concurrently. The sender re-sends every
// webhook that did not get a 200, as Meta does. After the restart the
// store must hold each event exactly once and every job must complete.
func TestCrashMidLoad(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	storetest.ForEach(t, func(t *testing.T, kind store.Kind) {
		t.Parallel()
		const (
			webhooks      = 2000
			conversations = 150
			senders       = 24
			killAfter     = 600 // acknowledged webhooks before the SIGKILL
		)
		inst := newInstance(t, storetest.URL(t, kind), fastQueue)
		inst.start()

		// Webhook i carries one message, or two for every tenth, so some
		// bodies are batches.
		bodies := make([][]byte, webhooks)
		wantKeys := map[string]bool{}
		for i := range webhooks {
			from := fmt.Sprintf("5511900%05d", i%conversations)
			items := []any{msg{from, fmt.Sprintf("wamid.crash.%d", i), fmt.Sprintf("m%d", i), int64(1_700_000_000 + i)}}
			wantKeys[fmt.Sprintf("wamid.crash.%d", i)] = true
			if i%10 == 0 {
				key := fmt.Sprintf("wamid.crash.%d.b", i)
				items = append(items, msg{from, key, "extra", int64(1_700_000_000 + i)})
				wantKeys[key] = true
			}
			bodies[i] = body(items)
		}

		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: senders}}
		var acked, attempts atomic.Int64
		killed := make(chan struct{})
		var killOnce sync.Once
		next := make(chan int)
		go func() {
			defer close(next)
			for i := range webhooks {
				select {
				case next <- i:
				case <-ctx.Done():
					return
				}
			}
		}()
		var wg sync.WaitGroup
		for range senders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					for ctx.Err() == nil {
						attempts.Add(1)
						if inst.post(ctx, client, bodies[i]) == http.StatusOK {
							if acked.Add(1) == killAfter {
								killOnce.Do(func() { close(killed) })
							}
							break
						}
						time.Sleep(25 * time.Millisecond) // Meta retries shortly after a failure
					}
				}
			}()
		}

		select {
		case <-killed:
		case <-ctx.Done():
			t.Fatal("load never reached the kill point")
		}
		inst.kill(syscall.SIGKILL)
		time.Sleep(300 * time.Millisecond) // senders see refused connections meanwhile
		inst.start()
		wg.Wait()
		if ctx.Err() != nil {
			t.Fatalf("timed out delivering: %d of %d acknowledged", acked.Load(), webhooks)
		}
		t.Logf("%d webhooks acknowledged after %d attempts (SIGKILL after %d)", acked.Load(), attempts.Load(), killAfter)

		s := inst.waitDrained(2 * time.Minute)
		if s.EventsTotal != int64(len(wantKeys)) || s.EventsDone != int64(len(wantKeys)) || s.DeadLetters != 0 {
			t.Errorf("status = %+v, want %d events, all done, no dead letters", s, len(wantKeys))
		}

		st, err := store.Open(context.Background(), inst.storeURL, store.Options{SkipMigrations: true})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		seen := map[string]int{}
		var after int64
		for {
			page, err := st.ListEvents(context.Background(), after, 1000)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			for _, e := range page {
				seen[e.Key]++
				after = e.ID
			}
		}
		for k := range wantKeys {
			if seen[k] != 1 {
				t.Errorf("event %s stored %d times, want exactly once", k, seen[k])
			}
		}
		if len(seen) != len(wantKeys) {
			t.Errorf("store holds %d distinct events, want %d", len(seen), len(wantKeys))
		}
	})
}
