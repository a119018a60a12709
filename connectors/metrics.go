package connectors

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"
)

// Metrics are the outbound-call metrics shared by every connector client.
// Labels carry the vendor and operation, never an account, phone number or
// ticket id.
type Metrics struct {
	// Requests counts attempts by vendor, op and code_class (2xx, 4xx, 5xx,
	// error for a network failure, breaker_open for a call refused by an
	// open breaker).
	Requests *prometheus.CounterVec
	// Duration observes the time of each call by vendor and op.
	Duration *prometheus.HistogramVec
	// BreakerState is the worst breaker state of the vendor's accounts:
	// 0 closed, 1 half-open, 2 open.
	BreakerState *prometheus.GaugeVec

	mu     sync.Mutex
	states map[string]map[string]gobreaker.State // vendor → account → state
}

// NewMetrics creates the connector metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "deskbridge_upstream_requests_total",
			Help: "Calls to vendor APIs by vendor, operation and code class (2xx, 4xx, 5xx, error, breaker_open).",
		}, []string{"vendor", "op", "code_class"}),
		Duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "deskbridge_upstream_request_duration_seconds",
			Help:    "Duration of calls to vendor APIs by vendor and operation.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"vendor", "op"}),
		BreakerState: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "deskbridge_breaker_state",
			Help: "Worst circuit breaker state among the vendor's accounts: 0 closed, 1 half-open, 2 open.",
		}, []string{"vendor"}),
		states: map[string]map[string]gobreaker.State{},
	}
	if reg != nil {
		reg.MustRegister(m.Requests, m.Duration, m.BreakerState)
	}
	return m
}

func (m *Metrics) setBreaker(vendor, account string, s gobreaker.State) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.states[vendor] == nil {
		m.states[vendor] = map[string]gobreaker.State{}
	}
	m.states[vendor][account] = s
	worst := 0.0
	for _, st := range m.states[vendor] {
		switch st {
		case gobreaker.StateOpen:
			worst = max(worst, 2)
		case gobreaker.StateHalfOpen:
			worst = max(worst, 1)
		}
	}
	m.BreakerState.WithLabelValues(vendor).Set(worst)
}
