package ratelimit

import (
	"context"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/deskbridge/deskbridge/store"
	"github.com/deskbridge/deskbridge/telemetry"
)

// WhatsApp throughput defaults, messages per second per number.
const (
	DefaultThroughputMPS     = 80
	CoexistenceThroughputMPS = 20
)

// DefaultPair is Meta's pair rate: one message every 6 seconds to the same
// customer on average, with bursts of up to 45 that borrow from the
// following slots.
var DefaultPair = Rule{Rate: 1.0 / 6, Burst: 45}

// WhatsApp paces the bridge's sends so that Meta's limits are not hit in
// normal work: throughput per number, pair rate per customer and the
// messaging limit (unique customers reached by business-initiated messages
// in 24 hours) per portfolio.
type WhatsApp struct {
	b  Bucket
	st *store.Store
	m  *telemetry.Metrics
	// MaxSleep is the longest wait taken inside a job; a longer one is
	// returned as *Throttled so the event is snoozed (2s).
	MaxSleep time.Duration
	// Pair is the per-customer rule (DefaultPair).
	Pair Rule

	mu      sync.Mutex
	refused map[string]int // 131056 answers in a row, per number and customer
}

// NewWhatsApp returns the governor. st keeps the messaging-limit counts
// (nil: no messaging limit is kept); m counts throttling (nil: not counted).
func NewWhatsApp(b Bucket, st *store.Store, m *telemetry.Metrics) *WhatsApp {
	return &WhatsApp{b: b, st: st, m: m, MaxSleep: 2 * time.Second, Pair: DefaultPair, refused: map[string]int{}}
}

// Send waits until a message from number to recipient is within the
// recipient's pair rate and the number's throughput (mps messages per
// second; 0 means DefaultThroughputMPS). A wait longer than MaxSleep is
// returned as *Throttled.
func (g *WhatsApp) Send(ctx context.Context, number string, mps int, recipient string) error {
	if mps <= 0 {
		mps = DefaultThroughputMPS
	}
	if err := Wait(ctx, g.b, "wa:pair:"+number+":"+recipient, g.Pair, g.MaxSleep, "whatsapp", "pair", g.m); err != nil {
		return err
	}
	// A burst of a quarter second's worth keeps request jitter from
	// crossing Meta's own bucket; the rate is the number's full rate.
	tp := Rule{Rate: float64(mps), Burst: max(1, mps/4)}
	return Wait(ctx, g.b, "wa:tp:"+number, tp, max(g.MaxSleep, 30*time.Second), "whatsapp", "throughput", g.m)
}

// Refused records Meta's 131056 (pair rate exceeded) for a customer and
// returns how long to wait: 4^n seconds for the n-th refusal in a row
// (n from 0), as Meta advises.
func (g *WhatsApp) Refused(number, recipient string) time.Duration {
	key := number + ":" + recipient
	g.mu.Lock()
	n := g.refused[key]
	g.refused[key] = n + 1
	g.mu.Unlock()
	if g.m != nil {
		g.m.Throttled.WithLabelValues("whatsapp", "upstream_429").Inc()
	}
	return time.Duration(math.Pow(4, float64(min(n, 8)))) * time.Second
}

// Delivered clears a customer's 131056 count after a send is accepted.
func (g *WhatsApp) Delivered(number, recipient string) {
	g.mu.Lock()
	delete(g.refused, number+":"+recipient)
	g.mu.Unlock()
}

// Admit counts a business-initiated message to recipient against the
// portfolio's messaging limit (limit unique customers per rolling 24 hours;
// 0: none). Over the limit it returns *Throttled with the wait until the
// oldest customer leaves the window.
func (g *WhatsApp) Admit(ctx context.Context, portfolio, recipient string, limit int, now time.Time) error {
	if limit <= 0 || g.st == nil {
		return nil
	}
	ok, retryAt, used, err := g.st.TierAdmit(ctx, portfolio, recipient, limit, now)
	if err != nil {
		return err
	}
	if g.m != nil {
		g.m.TierUsed.WithLabelValues(portfolio).Set(float64(used))
		g.m.TierLimit.WithLabelValues(portfolio).Set(float64(limit))
	}
	if ok {
		return nil
	}
	if g.m != nil {
		g.m.Throttled.WithLabelValues("whatsapp", "tier").Inc()
	}
	return &Throttled{Side: "whatsapp", Reason: "tier", Wait: max(retryAt.Sub(now), time.Second)}
}

// TierLimit converts Meta's messaging limit tier (whatsapp_business_manager_
// messaging_limit, e.g. "TIER_250", "TIER_2K", "TIER_100K",
// "TIER_UNLIMITED") to unique customers per 24 hours: 0 for unlimited or
// unknown.
func TierLimit(tier string) int {
	t := strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(tier)), "TIER_")
	mult := 1
	switch {
	case strings.HasSuffix(t, "K"):
		mult, t = 1000, strings.TrimSuffix(t, "K")
	case strings.HasSuffix(t, "M"):
		mult, t = 1000000, strings.TrimSuffix(t, "M")
	}
	n, err := strconv.Atoi(t)
	if err != nil || n <= 0 {
		return 0
	}
	return n * mult
}
