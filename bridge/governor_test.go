package bridge_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/deskbridge/deskbridge/bridge"
	"github.com/deskbridge/deskbridge/ratelimit"
	sbwhatsapp "github.com/deskbridge/deskbridge/sandbox/whatsapp"
	sbzendesk "github.com/deskbridge/deskbridge/sandbox/zendesk"
	"github.com/deskbridge/deskbridge/store"
)

// codeCounter counts Cloud API answers carrying an error code.
type codeCounter struct {
	mu    sync.Mutex
	codes map[string]int
}

func (c *codeCounter) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		body := rec.Body.Bytes()
		_, _ = w.Write(body)
		for _, code := range []string{"130429", "131056"} {
			if bytes.Contains(body, []byte(`"code":`+code)) {
				c.mu.Lock()
				c.codes[code]++
				c.mu.Unlock()
			}
		}
	})
}

func (c *codeCounter) count(code string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.codes[code]
}

// customers writes once from n customers and returns their tickets by
// customer number.
func customers(t testing.TB, r *rig, n int) map[string]int64 {
	t.Helper()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for c := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if _, _, err := r.wa.Inbound(context.Background(), sbwhatsapp.InboundParams{From: customer(c), Name: fmt.Sprint("C", c), Text: "hi"}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	r.settle()
	out := map[string]int64{}
	for _, tk := range r.tickets() {
		var c int
		if _, err := fmt.Sscanf(tk.Subject, "WhatsApp: C%d", &c); err != nil {
			t.Fatalf("subject %q", tk.Subject)
		}
		out[customer(c)] = tk.ID
	}
	if len(out) != n {
		t.Fatalf("%d tickets, want %d", len(out), n)
	}
	return out
}

func TestThroughputIsUsedNotExceeded(t *testing.T) {
	t.Parallel()
	const mps, n = 20, 80
	cc := &codeCounter{codes: map[string]int{}}
	r := newRig(t, store.SQLite, withGovernor(mps, ratelimit.Rule{}), withWrappers(nil, cc.wrap),
		func(c *rigConfig) { c.workers = 32 })
	if _, err := r.wa.SetLimits(sbwhatsapp.Limits{ThroughputMPS: mps}); err != nil {
		t.Fatal(err)
	}
	tickets := customers(t, r, n)
	for _, id := range tickets {
		r.reply(id, "update")
	}
	r.settle()
	var first, last time.Time
	for to := range tickets {
		th := r.thread(to)
		if len(th) != 1 {
			t.Fatalf("%s got %d messages, want 1", to, len(th))
		}
		if first.IsZero() || th[0].Time.Before(first) {
			first = th[0].Time
		}
		if th[0].Time.After(last) {
			last = th[0].Time
		}
	}
	rate := float64(n-1) / last.Sub(first).Seconds()
	t.Logf("%d sends at %.1f/s (limit %d), %d × 130429", n, rate, mps, cc.count("130429"))
	if cc.count("130429") != 0 {
		t.Errorf("%d sends refused with 130429", cc.count("130429"))
	}
	if rate > float64(mps)*1.1 {
		t.Errorf("achieved %.1f/s, over the limit %d", rate, mps)
	}
}

func TestPairRateKeepsOrder(t *testing.T) {
	t.Parallel()
	cc := &codeCounter{codes: map[string]int{}}
	r := newRig(t, store.SQLite, withGovernor(80, ratelimit.Rule{Rate: 4, Burst: 1}), withWrappers(nil, cc.wrap))
	if _, err := r.wa.SetLimits(sbwhatsapp.Limits{PairLimit: 5, PairWindow: time.Second}); err != nil {
		t.Fatal(err)
	}
	r.say(ana, "Ana", "hola")
	r.settle()
	tk := r.tickets()[0].ID
	for i := range 20 {
		r.reply(tk, fmt.Sprint("reply ", i))
	}
	r.settle()
	th := r.thread(ana)
	var got []string
	for _, m := range th {
		got = append(got, sentText(t, m))
	}
	want := make([]string, 20)
	for i := range want {
		want[i] = fmt.Sprint("reply ", i)
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("thread = %q, want all 20 in order", got)
	}
	if c := cc.count("131056"); c > 1 {
		t.Errorf("%d × 131056, want at most 1", c)
	}
}

func TestMessagingLimitHoldsAndReleases(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.SQLite, withGovernor(80, ratelimit.Rule{}), withEngine(func(o *bridge.Options) {
		o.OutsideWindow = "template"
		o.Template = bridge.Template{Name: "hello_world", Language: "en_US"}
		o.MessagingLimit = 3
		o.TierRecheck = 100 * time.Millisecond
	}))
	tickets := customers(t, r, 4)
	r.clock.Advance(25 * time.Hour) // every window is closed
	for _, id := range tickets {
		r.reply(id, "news")
	}
	waitFor(t, "three templates and one hold", func() bool {
		n, held := 0, 0
		for to, id := range tickets {
			n += len(r.thread(to))
			tk, _ := r.zd.TicketDump(id)
			for _, b := range notes(tk) {
				if strings.Contains(b, "messaging limit") {
					held++
				}
			}
		}
		return n == 3 && held == 1
	})
	time.Sleep(300 * time.Millisecond)
	total := 0
	for to := range tickets {
		total += len(r.thread(to))
	}
	if total != 3 {
		t.Fatalf("%d templates sent over a limit of 3", total)
	}
	r.clock.Advance(24 * time.Hour) // the window rolls
	waitFor(t, "the held template", func() bool {
		total := 0
		for to := range tickets {
			total += len(r.thread(to))
		}
		return total == 4
	})
}

// Under inbound load beyond the account's budget, the Zendesk client uses
// the budget without being refused.
func TestHelpdeskBudgetUsedNotExceeded(t *testing.T) {
	t.Parallel()
	const rpm = 600 // 10 requests a second
	var calls, refused atomic.Int64
	var mu sync.Mutex
	var first, last time.Time
	count := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/_sandbox") {
				h.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes())
			calls.Add(1)
			if rec.Code == http.StatusTooManyRequests {
				refused.Add(1)
			}
			mu.Lock()
			if first.IsZero() {
				first = time.Now()
			}
			last = time.Now()
			mu.Unlock()
		})
	}
	r := newRig(t, store.SQLite, withWrappers(count, nil), func(c *rigConfig) {
		c.zendesk.RequestsPerMinute = rpm
		c.helpdeskRPM = rpm
		c.workers = 16
	})
	// 40 customers write 3 messages each, one a second apart: more work
	// than the budget allows, for several seconds.
	var wg sync.WaitGroup
	for c := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 3 {
				if _, _, err := r.wa.Inbound(context.Background(), sbwhatsapp.InboundParams{From: customer(c),
					Name: fmt.Sprint("C", c), Text: fmt.Sprint("m", i)}); err != nil {
					t.Error(err)
				}
				time.Sleep(time.Second)
			}
		}()
	}
	wg.Wait()
	r.settle()
	mu.Lock()
	span := last.Sub(first)
	mu.Unlock()
	rate := float64(calls.Load()-1) / span.Seconds()
	t.Logf("%d requests in %v: %.1f/s for a budget of %.1f/s, %d × 429", calls.Load(), span.Round(time.Millisecond), rate, float64(rpm)/60, refused.Load())
	if refused.Load() != 0 {
		t.Errorf("%d requests refused with 429", refused.Load())
	}
	if ceiling := float64(rpm)/60*span.Seconds() + rpm/20 + 1; float64(calls.Load()) > ceiling {
		t.Errorf("%d requests, over the budget plus its burst (%.0f)", calls.Load(), ceiling)
	}
	// How much of the budget was used is a figure (docs/BENCHMARKS.md),
	// not asserted: it depends on the machine.
}

func replyParams(ticket int64, body string) sbzendesk.ReplyParams {
	return sbzendesk.ReplyParams{TicketID: ticket, Body: body}
}
