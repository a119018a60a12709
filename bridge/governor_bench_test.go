package bridge_test

import (
	"strings"
	"testing"
	"time"

	"github.com/deskbridge/deskbridge/bridge"
	"github.com/deskbridge/deskbridge/ratelimit"
	sbwhatsapp "github.com/deskbridge/deskbridge/sandbox/whatsapp"
	"github.com/deskbridge/deskbridge/store"
	"github.com/deskbridge/deskbridge/store/storetest"
)

// BenchmarkGovernorThroughput: agents answer 2,000 customers at once on a
// number limited to 80 messages a second (the fake refuses more with
// 130429). Reports the achieved rate as a ratio of the limit and the
// refusals.
func BenchmarkGovernorThroughput(b *testing.B) {
	for _, kind := range storetest.Backends() {
		b.Run(string(kind), func(b *testing.B) { governorThroughput(b, kind) })
	}
}

func governorThroughput(b *testing.B, kind store.Kind) {
	const mps, n = 80, 2000
	for range b.N {
		cc := &codeCounter{codes: map[string]int{}}
		r := newRig(b, kind, withGovernor(mps, ratelimit.Rule{}), withWrappers(nil, cc.wrap),
			func(c *rigConfig) { c.workers = 32 })
		r.settleWithin = 5 * time.Minute
		if _, err := r.wa.SetLimits(sbwhatsapp.Limits{ThroughputMPS: mps}); err != nil {
			b.Fatal(err)
		}
		tickets := customers(b, r, n)
		// The burst: every reply is stored before the workers start.
		r.stopWorkers()
		for _, id := range tickets {
			if _, err := r.zd.AgentReply(b.Context(), replyParams(id, "update")); err != nil {
				b.Fatal(err)
			}
		}
		if err := r.zd.Flush(b.Context()); err != nil {
			b.Fatal(err)
		}
		r.startWorkers()
		r.settle()
		var first, last time.Time
		sent := 0
		for to := range tickets {
			for _, m := range r.thread(to) {
				sent++
				if first.IsZero() || m.Time.Before(first) {
					first = m.Time
				}
				if m.Time.After(last) {
					last = m.Time
				}
			}
		}
		if sent != n {
			b.Fatalf("%d sent, want %d", sent, n)
		}
		rate := float64(n-1) / last.Sub(first).Seconds()
		b.ReportMetric(rate, "sends/s")
		b.ReportMetric(rate/mps, "of-limit")
		b.ReportMetric(float64(cc.count("130429")), "130429s")
	}
}

// BenchmarkGovernorTier: a messaging limit of 250 customers and 300
// templates outside the window: 250 go, 50 are held (a note each) and go
// when the window rolls.
func BenchmarkGovernorTier(b *testing.B) {
	const limit, n = 250, 300
	for range b.N {
		r := newRig(b, store.SQLite, withGovernor(80, ratelimit.Rule{}), withEngine(func(o *bridge.Options) {
			o.OutsideWindow = "template"
			o.Template = bridge.Template{Name: "hello_world", Language: "en_US"}
			o.MessagingLimit = limit
			o.TierRecheck = 200 * time.Millisecond
		}), func(c *rigConfig) { c.workers = 16 })
		tickets := customers(b, r, n)
		r.clock.Advance(25 * time.Hour)
		for _, id := range tickets {
			if _, err := r.zd.AgentReply(b.Context(), replyParams(id, "news")); err != nil {
				b.Fatal(err)
			}
		}
		count := func() (sent, held int) {
			for to, id := range tickets {
				sent += len(r.thread(to))
				tk, _ := r.zd.TicketDump(id)
				for _, body := range notes(tk) {
					if strings.Contains(body, "messaging limit") {
						held++
					}
				}
			}
			return sent, held
		}
		waitFor(b, "the limit to be used", func() bool { s, h := count(); return s == limit && h == n-limit })
		time.Sleep(time.Second)
		sent, held := count()
		b.ReportMetric(float64(sent), "sent-before-roll")
		b.ReportMetric(float64(held), "held")
		r.clock.Advance(24 * time.Hour)
		waitFor(b, "the held templates", func() bool { s, _ := count(); return s == n })
		s, _ := count()
		b.ReportMetric(float64(s), "sent-after-roll")
	}
}
