// Command load offers a fixed rate of signed WhatsApp webhooks to a running
// `deskbridge serve` and reports the throughput it sustained and the
// acknowledgement latency (p50, p90, p99, max). It is open-loop: requests are
// started on schedule whether or not earlier ones have been answered, as
// Meta's deliveries are, up to -max-inflight at once.
//
//	go run ./test/load -url http://127.0.0.1:8080/webhooks/whatsapp \
//	    -secret sandbox-app-secret -rate 1000 -duration 20s
//
// Only loopback targets are accepted unless -allow-remote is given.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/deskbridge/deskbridge/connectors/whatsapp"
)

type options struct {
	url           string
	secret        string
	rate          float64
	duration      time.Duration
	batch         int
	conversations int
	maxInflight   int
	runID         string
	jsonOut       bool
	allowRemote   bool
}

func main() {
	var o options
	flag.StringVar(&o.url, "url", "http://127.0.0.1:8080/webhooks/whatsapp", "webhook URL")
	flag.StringVar(&o.secret, "secret", "sandbox-app-secret", "WhatsApp app secret used to sign bodies")
	flag.Float64Var(&o.rate, "rate", 1000, "events per second to offer")
	flag.DurationVar(&o.duration, "duration", 20*time.Second, "how long to offer load")
	flag.IntVar(&o.batch, "batch", 1, "messages per webhook body")
	flag.IntVar(&o.conversations, "conversations", 500, "distinct customers the messages come from")
	flag.IntVar(&o.maxInflight, "max-inflight", 2000, "most requests outstanding at once")
	flag.StringVar(&o.runID, "run", fmt.Sprint(time.Now().UnixNano()), "run id, part of every wamid (keeps runs distinct)")
	flag.BoolVar(&o.jsonOut, "json", false, "print the report as JSON")
	flag.BoolVar(&o.allowRemote, "allow-remote", false, "allow a target that is not on loopback")
	flag.Parse()
	if err := run(context.Background(), o); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

// report is what one run measured.
type report struct {
	OfferedEventsPerSec  float64 `json:"offered_events_per_sec"`
	AchievedEventsPerSec float64 `json:"achieved_events_per_sec"`
	Requests             int64   `json:"requests"`
	OK                   int64   `json:"ok"`
	Failed               int64   `json:"failed"`
	Dropped              int64   `json:"dropped_over_max_inflight"`
	Events               int64   `json:"events_acknowledged"`
	P50ms                float64 `json:"p50_ms"`
	P90ms                float64 `json:"p90_ms"`
	P99ms                float64 `json:"p99_ms"`
	MaxMs                float64 `json:"max_ms"`
	Seconds              float64 `json:"seconds"`
}

func run(ctx context.Context, o options) error {
	u, err := url.Parse(o.url)
	if err != nil {
		return fmt.Errorf("-url: %w", err)
	}
	if !o.allowRemote {
		ips, err := net.LookupIP(u.Hostname())
		if err != nil || len(ips) == 0 || slices.ContainsFunc(ips, func(ip net.IP) bool { return !ip.IsLoopback() }) {
			return fmt.Errorf("-url %s is not a loopback address (use -allow-remote to override)", u.Host)
		}
	}
	if o.rate <= 0 || o.batch <= 0 || o.conversations <= 0 {
		return errors.New("-rate, -batch and -conversations must be positive")
	}
	client := &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns:        o.maxInflight,
			MaxIdleConnsPerHost: o.maxInflight,
			IdleConnTimeout:     30 * time.Second,
		},
	}
	reqPerSec := o.rate / float64(o.batch)
	interval := time.Duration(float64(time.Second) / reqPerSec)
	total := int64(o.duration.Seconds() * reqPerSec)

	var (
		mu        sync.Mutex
		latencies = make([]time.Duration, 0, total)
		ok, fail  atomic.Int64
		dropped   atomic.Int64
		inflight  = make(chan struct{}, o.maxInflight)
		wg        sync.WaitGroup
	)
	start := time.Now()
	for i := range total {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		select {
		case inflight <- struct{}{}:
		default:
			dropped.Add(1)
			continue
		}
		body := makeBody(o, i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-inflight }()
			t0 := time.Now()
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, o.url, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Hub-Signature-256", whatsapp.Sign(body, []byte(o.secret)))
			resp, err := client.Do(req)
			if err != nil {
				fail.Add(1)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				fail.Add(1)
				return
			}
			lat := time.Since(t0)
			ok.Add(1)
			mu.Lock()
			latencies = append(latencies, lat)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)

	slices.Sort(latencies)
	pct := func(p float64) float64 {
		if len(latencies) == 0 {
			return 0
		}
		idx := min(len(latencies)-1, int(p*float64(len(latencies))))
		return float64(latencies[idx].Microseconds()) / 1000
	}
	r := report{
		OfferedEventsPerSec:  o.rate,
		AchievedEventsPerSec: float64(ok.Load()*int64(o.batch)) / elapsed.Seconds(),
		Requests:             total,
		OK:                   ok.Load(),
		Failed:               fail.Load(),
		Dropped:              dropped.Load(),
		Events:               ok.Load() * int64(o.batch),
		P50ms:                pct(0.50),
		P90ms:                pct(0.90),
		P99ms:                pct(0.99),
		Seconds:              elapsed.Seconds(),
	}
	if len(latencies) > 0 {
		r.MaxMs = float64(latencies[len(latencies)-1].Microseconds()) / 1000
	}
	if o.jsonOut {
		return json.NewEncoder(os.Stdout).Encode(r)
	}
	fmt.Printf("offered %.0f events/s for %s (%d per body): %d requests, %d ok, %d failed, %d dropped (max in flight)\n",
		o.rate, o.duration, o.batch, r.Requests, r.OK, r.Failed, r.Dropped)
	fmt.Printf("achieved %.0f events/s; ack latency p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms\n",
		r.AchievedEventsPerSec, r.P50ms, r.P90ms, r.P99ms, r.MaxMs)
	return nil
}

// makeBody builds webhook number i: batch text messages from customers
// spread over the configured number of conversations.
func makeBody(o options, i int64) []byte {
	type text struct {
		Body string `json:"body"`
	}
	type msg struct {
		From      string `json:"from"`
		ID        string `json:"id"`
		Timestamp string `json:"timestamp"`
		Type      string `json:"type"`
		Text      text   `json:"text"`
	}
	type contact struct {
		Profile struct {
			Name string `json:"name"`
		} `json:"profile"`
		WAID string `json:"wa_id"`
	}
	msgs := make([]msg, o.batch)
	contacts := make([]contact, 0, o.batch)
	now := time.Now().Unix()
	for j := range o.batch {
		n := i*int64(o.batch) + int64(j)
		waID := fmt.Sprintf("3460%07d", n%int64(o.conversations))
		msgs[j] = msg{From: waID, ID: fmt.Sprintf("wamid.load.%s.%d", o.runID, n),
			Timestamp: fmt.Sprint(now), Type: "text", Text: text{Body: fmt.Sprintf("load message %d", n)}}
		c := contact{WAID: waID}
		c.Profile.Name = "Load Tester"
		contacts = append(contacts, c)
	}
	body, _ := json.Marshal(map[string]any{
		"object": "whatsapp_business_account",
		"entry": []any{map[string]any{
			"id": "102290129340398",
			"changes": []any{map[string]any{
				"field": "messages",
				"value": map[string]any{
					"messaging_product": "whatsapp",
					"metadata":          map[string]string{"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
					"contacts":          contacts,
					"messages":          msgs,
				},
			}},
		}},
	})
	return body
}
