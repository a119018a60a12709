package bridge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sbwhatsapp "github.com/deskbridge/deskbridge/sandbox/whatsapp"
	sbzendesk "github.com/deskbridge/deskbridge/sandbox/zendesk"
	"github.com/deskbridge/deskbridge/store"
)

// benchLatency is what each vendor API call costs in these benchmarks: a
// realistic round trip to a SaaS API.
const benchLatency = 50 * time.Millisecond

// observer wraps a fake: every API request waits benchLatency and is
// counted, and each message id found in a successful write ("m12", "r7")
// gets the time the vendor acknowledged it.
type observer struct {
	calls atomic.Int64
	mu    sync.Mutex
	acks  map[string]time.Time
	// ids extracts the message ids carried by a write's request body;
	// nil for requests that are not writes.
	ids func(r *http.Request, body []byte) []string
}

func newObserver(ids func(r *http.Request, body []byte) []string) *observer {
	return &observer{acks: map[string]time.Time{}, ids: ids}
}

func (o *observer) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/_sandbox") {
			h.ServeHTTP(w, r)
			return
		}
		o.calls.Add(1)
		time.Sleep(benchLatency)
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
		if rec.Code/100 != 2 {
			return
		}
		now := time.Now()
		o.mu.Lock()
		defer o.mu.Unlock()
		for _, id := range o.ids(r, body) {
			if _, seen := o.acks[id]; !seen {
				o.acks[id] = now
			}
		}
	})
}

func (o *observer) ack(id string) (time.Time, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	t, ok := o.acks[id]
	return t, ok
}

// zendeskIDs reads the comment of a ticket create or update: one id per
// line (coalesced lines carry a "[time] " prefix).
func zendeskIDs(r *http.Request, body []byte) []string {
	if !strings.HasPrefix(r.URL.Path, "/api/v2/tickets") || (r.Method != http.MethodPost && r.Method != http.MethodPut) {
		return nil
	}
	var req struct {
		Ticket struct {
			Comment struct{ Body string } `json:"comment"`
		} `json:"ticket"`
	}
	if json.Unmarshal(body, &req) != nil {
		return nil
	}
	var ids []string
	for _, l := range strings.Split(req.Ticket.Comment.Body, "\n") {
		if strings.HasPrefix(l, "[") {
			_, l, _ = strings.Cut(l, "] ")
		}
		ids = append(ids, l)
	}
	return ids
}

// whatsappIDs reads the text of a send.
func whatsappIDs(r *http.Request, body []byte) []string {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/messages") {
		return nil
	}
	var req struct {
		Text struct{ Body string } `json:"text"`
	}
	if json.Unmarshal(body, &req) != nil || req.Text.Body == "" {
		return nil
	}
	return []string{req.Text.Body}
}

// lagReport waits for every id to be acknowledged and reports the lags.
func lagReport(b *testing.B, o *observer, sent map[string]time.Time, prefix string) {
	b.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var lags []time.Duration
	for id, t0 := range sent {
		for {
			if at, ok := o.ack(id); ok {
				lags = append(lags, at.Sub(t0))
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("%s: %s never acknowledged", prefix, id)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	slices.Sort(lags)
	pct := func(p float64) float64 {
		return float64(lags[min(len(lags)-1, int(p*float64(len(lags))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), prefix+"-p50-ms")
	b.ReportMetric(pct(0.99), prefix+"-p99-ms")
	b.ReportMetric(float64(lags[len(lags)-1].Microseconds())/1000, prefix+"-max-ms")
}

// benchRig is a rig whose fakes answer after benchLatency, with 32
// workers, and customers that have written before (known contact, open
// ticket).
func benchRig(b *testing.B, customers int) (*rig, *observer, *observer) {
	zo, wo := newObserver(zendeskIDs), newObserver(whatsappIDs)
	r := newRig(b, store.SQLite, withWrappers(zo.wrap, wo.wrap), func(c *rigConfig) { c.workers = 32 })
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for c := range customers {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if _, _, err := r.wa.Inbound(context.Background(), sbwhatsapp.InboundParams{From: customer(c), Name: fmt.Sprint("C", c),
				Text: fmt.Sprint("warm ", c)}); err != nil {
				b.Error(err)
			}
		}()
	}
	wg.Wait()
	r.settle()
	zo.calls.Store(0)
	wo.calls.Store(0)
	return r, zo, wo
}

func customer(c int) string { return fmt.Sprintf("+3460030%04d", c) }

// BenchmarkRelaySteady: 200 messages/s for 10 s from 400 known customers
// (each writes every 2 s), every Zendesk and Cloud API call taking 50 ms.
// Reports the inbound lag (customer sends → Zendesk acknowledges the
// comment) and Zendesk calls per message.
func BenchmarkRelaySteady(b *testing.B) {
	const customers, rate, seconds = 400, 200, 10
	for range b.N {
		r, zo, _ := benchRig(b, customers)
		sent := map[string]time.Time{}
		var mu sync.Mutex
		tick := time.NewTicker(time.Second / rate)
		for i := range rate * seconds {
			<-tick.C
			id := fmt.Sprint("m", i)
			mu.Lock()
			sent[id] = time.Now()
			mu.Unlock()
			go func() {
				if _, _, err := r.wa.Inbound(context.Background(), sbwhatsapp.InboundParams{From: customer(i % customers), Text: id}); err != nil {
					b.Error(err)
				}
			}()
		}
		tick.Stop()
		lagReport(b, zo, sent, "inbound")
		b.ReportMetric(float64(zo.calls.Load())/float64(rate*seconds), "zendesk-calls/msg")
	}
}

// BenchmarkRelayBurst: 100 known customers send 20 messages each at once.
// Coalescing turns the backlog into fewer comments than messages.
func BenchmarkRelayBurst(b *testing.B) {
	const customers, each = 100, 20
	for range b.N {
		r, zo, _ := benchRig(b, customers)
		sent := map[string]time.Time{}
		for c := range customers {
			for i := range each {
				id := fmt.Sprintf("m%d-%d", c, i)
				sent[id] = time.Now()
				if _, _, err := r.wa.Inbound(context.Background(), sbwhatsapp.InboundParams{From: customer(c), Text: id, Async: true}); err != nil {
					b.Fatal(err)
				}
			}
		}
		lagReport(b, zo, sent, "inbound")
		b.ReportMetric(float64(zo.calls.Load())/float64(customers*each), "zendesk-calls/msg")
	}
}

// BenchmarkReplySteady: agents answer 50 times a second for 10 s on 200
// tickets; reports the outbound lag (agent comment → Cloud API accepts the
// send) and API calls per reply on each side.
func BenchmarkReplySteady(b *testing.B) {
	const customers, rate, seconds = 200, 50, 10
	for range b.N {
		r, zo, wo := benchRig(b, customers)
		tickets := r.tickets()
		sent := map[string]time.Time{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		tick := time.NewTicker(time.Second / rate)
		for i := range rate * seconds {
			<-tick.C
			id := fmt.Sprint("r", i)
			wg.Add(1)
			go func() {
				defer wg.Done()
				mu.Lock()
				sent[id] = time.Now()
				mu.Unlock()
				if _, err := r.zd.AgentReply(context.Background(), sbzendesk.ReplyParams{TicketID: tickets[i%len(tickets)].ID, Body: id}); err != nil {
					b.Error(err)
				}
			}()
		}
		tick.Stop()
		wg.Wait()
		lagReport(b, wo, sent, "outbound")
		b.ReportMetric(float64(zo.calls.Load())/float64(rate*seconds), "zendesk-calls/reply")
		b.ReportMetric(float64(wo.calls.Load())/float64(rate*seconds), "whatsapp-calls/reply")
	}
}
