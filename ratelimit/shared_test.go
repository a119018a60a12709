package ratelimit_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/deskbridge/deskbridge/connectors"
	"github.com/deskbridge/deskbridge/ratelimit"
	"github.com/deskbridge/deskbridge/store"
	"github.com/deskbridge/deskbridge/store/storetest"
)

// Two replicas (two stores on one database, two clients) that each try
// to go as fast as they can stay together under one shared budget, and
// use most of it.
func TestReplicasShareOneBudget(t *testing.T) {
	t.Parallel()
	url := storetest.URL(t, store.Postgres) // skips without PostgreSQL
	var hits atomic.Int64
	vendor := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(vendor.Close)
	rule := ratelimit.Rule{Rate: 20, Burst: 1}
	var clients []*connectors.Client
	for range 2 {
		st, err := store.Open(context.Background(), url, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(st.Close)
		bucket := ratelimit.NewBucket(st, nil)
		c, err := connectors.NewClient(connectors.ClientConfig{Vendor: "zendesk", Account: "support", BaseURL: vendor.URL,
			Gate: func(ctx context.Context) error {
				return ratelimit.Wait(ctx, bucket, "helpdesk:support", rule, time.Minute, "helpdesk", "helpdesk_budget", nil)
			}})
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
	}
	const run = 3 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), run)
	defer cancel()
	var wg sync.WaitGroup
	for _, c := range clients {
		for range 4 { // each replica's workers
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					_, _ = c.Do(ctx, "probe", &connectors.Request{Method: http.MethodGet, Path: "/"})
				}
			}()
		}
	}
	wg.Wait()
	limit := rule.Rate * run.Seconds()
	got := float64(hits.Load())
	t.Logf("%v requests in %v from 2 replicas, budget %v", got, run, limit)
	if got > limit+float64(rule.Burst)+1 {
		t.Errorf("%v requests, over the shared budget of %v", got, limit)
	}
	// The share of the budget used is a figure (docs/BENCHMARKS.md), not
	// asserted: it depends on the machine.
}
