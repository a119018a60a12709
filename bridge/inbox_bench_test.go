package bridge_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/deskbridge/deskbridge/bridge"
	"github.com/deskbridge/deskbridge/queue"
	"github.com/deskbridge/deskbridge/store"
	"github.com/deskbridge/deskbridge/store/storetest"
)

// BenchmarkInboxAccept measures the durable part of a webhook: one
// single-message notification stored and its job claimed, committed. Run
// with -cpu 1,2 and compare the serial and parallel forms; parallel calls
// are group-committed.
func BenchmarkInboxAccept(b *testing.B) {
	for _, kind := range storetest.Backends() {
		for _, parallel := range []bool{false, true} {
			name := fmt.Sprintf("%s/serial", kind)
			if parallel {
				name = fmt.Sprintf("%s/parallel", kind)
			}
			b.Run(name, func(b *testing.B) {
				ctx := context.Background()
				st := storetest.Open(b, kind, store.Options{})
				q, err := queue.New(ctx, st, queue.HandlerFunc(func(context.Context, *store.Event) error { return nil }),
					queue.Config{PollInterval: time.Second})
				if err != nil {
					b.Fatal(err)
				}
				in := bridge.NewInbox(st, q)
				defer in.Close()
				var n atomic.Int64
				accept := func() {
					i := n.Add(1)
					evs := benchEvents(b, fmt.Sprintf("wamid.bench.%d", i), i%500)
					if _, err := in.AcceptWhatsApp(ctx, evs); err != nil {
						b.Error(err)
					}
				}
				b.ResetTimer()
				if parallel {
					b.SetParallelism(16)
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							accept()
						}
					})
				} else {
					for b.Loop() {
						accept()
					}
				}
			})
		}
	}
}
