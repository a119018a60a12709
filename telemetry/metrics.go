package telemetry

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics holds deskbridge's Prometheus registry and the collectors shared by
// its packages. Labels never carry phone numbers, contact keys or ticket ids.
type Metrics struct {
	// Registry is the registry served on /metrics.
	Registry *prometheus.Registry

	// WebhookRequests counts webhook HTTP requests by source and status code.
	WebhookRequests *prometheus.CounterVec
	// WebhookEvents counts webhook events by source, kind
	// (message|status|error|other) and result (stored|duplicate).
	WebhookEvents *prometheus.CounterVec
	// WebhookAckSeconds observes the time from request start to the answer.
	WebhookAckSeconds *prometheus.HistogramVec
	// Jobs counts finished queue jobs by kind and outcome.
	Jobs *prometheus.CounterVec
	// EventsProcessed counts inbox events handled by workers, by source,
	// kind and result (done|retry|dead|snoozed).
	EventsProcessed *prometheus.CounterVec
	// DeadLetters counts events moved to the dead-letter table, by source
	// and reason (permanent|attempts_exhausted).
	DeadLetters *prometheus.CounterVec
	// LeaseConflicts counts jobs that found their conversation leased by
	// another worker and were snoozed.
	LeaseConflicts prometheus.Counter
	// ContactMatch counts contact resolutions by result
	// (exact|alias|created|ambiguous).
	ContactMatch *prometheus.CounterVec
	// SyncLag observes the time from a message's origin to the other side's
	// acknowledgement, by direction: inbound (WhatsApp timestamp → helpdesk
	// ack) and outbound (agent comment → WhatsApp accept).
	SyncLag *prometheus.HistogramVec
	// HelpdeskWrites counts helpdesk writes made for inbound messages, by
	// op (create_ticket|append|note).
	HelpdeskWrites *prometheus.CounterVec
	// Coalesced counts customer messages written as part of a coalesced
	// comment (a comment carrying several messages).
	Coalesced prometheus.Counter
	// WindowClosed counts agent replies that found the 24-hour window
	// closed, by action (template|note).
	WindowClosed *prometheus.CounterVec
	// Notes counts internal notes written by the bridge, by reason.
	Notes *prometheus.CounterVec
	// Outbound counts agent replies by result (sent|template|not_sent).
	Outbound *prometheus.CounterVec
	// Throttled counts calls a rate governor delayed or held, by side
	// (whatsapp|helpdesk) and reason (throughput, pair, tier,
	// helpdesk_budget, ticket_update_limit, upstream_429).
	Throttled *prometheus.CounterVec
	// RateLimitWait observes how long governors made calls wait.
	RateLimitWait *prometheus.HistogramVec
	// TierUsed is the unique recipients of business-initiated messages in
	// the last 24 hours, and TierLimit the messaging limit, by portfolio.
	TierUsed, TierLimit *prometheus.GaugeVec
	// HelpdeskBudgetRemaining is the requests left in a helpdesk account's
	// rate-limit window, as its headers last said, by helpdesk name.
	HelpdeskBudgetRemaining *prometheus.GaugeVec
	// SecretRefresh counts reads of vault:// secrets by result
	// (ok|unreachable|denied|error).
	SecretRefresh *prometheus.CounterVec
	// SecretAge is the age of each vault:// secret's value, by the
	// configuration key path that refers to it (never the value).
	SecretAge *prometheus.GaugeVec
	// VaultTokenTTL is the remaining lifetime of the Vault token.
	VaultTokenTTL prometheus.Gauge
}

// NewMetrics creates a registry with Go and process collectors,
// deskbridge_build_info and deskbridge's own collectors.
func NewMetrics(version, commit string) *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		Registry: reg,
		WebhookRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "deskbridge_webhook_requests_total",
			Help: "Webhook HTTP requests by source and HTTP status code.",
		}, []string{"source", "code"}),
		WebhookEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "deskbridge_webhook_events_total",
			Help: "Webhook events by source, kind (message|status|error|other; agent_reply) and result (stored|duplicate|ignored).",
		}, []string{"source", "kind", "result"}),
		WebhookAckSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "deskbridge_webhook_ack_duration_seconds",
			Help:    "Time from receiving a webhook to answering it, by source.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"source"}),
		Jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "deskbridge_jobs_total",
			Help: "Queue jobs worked, by kind and outcome (done|retry|snoozed|lease_lost|error).",
		}, []string{"kind", "outcome"}),
		EventsProcessed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "deskbridge_events_processed_total",
			Help: "Inbox events handled by workers, by source, kind and result (done|retry|dead|snoozed).",
		}, []string{"source", "kind", "result"}),
		DeadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "deskbridge_dead_letters_total",
			Help: "Inbox events moved to the dead-letter table, by source and reason.",
		}, []string{"source", "reason"}),
		LeaseConflicts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "deskbridge_lease_conflicts_total",
			Help: "Jobs snoozed because another worker held their conversation's lease.",
		}),
		ContactMatch: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "deskbridge_contact_match_total",
			Help: "Contact resolutions by result (exact|alias|created|ambiguous).",
		}, []string{"result"}),
		SyncLag: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "deskbridge_sync_lag_seconds",
			Help:    "Time from a message's origin to the other side's acknowledgement, by direction (inbound|outbound).",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 1800},
		}, []string{"direction"}),
		HelpdeskWrites: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "deskbridge_helpdesk_writes_total",
			Help: "Helpdesk writes made by the engine, by op (create_ticket|append|note).",
		}, []string{"op"}),
		Coalesced: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "deskbridge_coalesced_messages_total",
			Help: "Customer messages written as part of a comment that carries several of them.",
		}),
		WindowClosed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "deskbridge_window_closed_total",
			Help: "Agent replies that found the 24-hour customer-service window closed, by action (template|note).",
		}, []string{"action"}),
		Notes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "deskbridge_notes_total",
			Help: "Internal notes written by the bridge, by reason.",
		}, []string{"reason"}),
		Outbound: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "deskbridge_outbound_replies_total",
			Help: "Agent replies handled, by result (sent|template|not_sent).",
		}, []string{"result"}),
		Throttled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "deskbridge_throttled_total",
			Help: "Calls a rate governor delayed or held, by side (whatsapp|helpdesk) and reason.",
		}, []string{"side", "reason"}),
		RateLimitWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "deskbridge_ratelimit_wait_seconds",
			Help:    "How long rate governors made calls wait, by side and reason.",
			Buckets: []float64{.001, .01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"side", "reason"}),
		TierUsed: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "deskbridge_messaging_tier_used",
			Help: "Unique customers reached by business-initiated messages in the last 24 hours, by portfolio.",
		}, []string{"portfolio"}),
		TierLimit: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "deskbridge_messaging_tier_limit",
			Help: "The messaging limit (unique customers per 24 hours) the bridge keeps to, by portfolio.",
		}, []string{"portfolio"}),
		HelpdeskBudgetRemaining: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "deskbridge_helpdesk_budget_remaining",
			Help: "Requests left in a helpdesk account's rate-limit window, as its headers last said, by helpdesk.",
		}, []string{"helpdesk"}),
		SecretRefresh: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "deskbridge_secret_refresh_total",
			Help: "Reads of vault:// secrets from Vault, by result (ok|unreachable|denied|error).",
		}, []string{"result"}),
		SecretAge: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "deskbridge_secret_age_seconds",
			Help: "Age of the value of each vault:// secret, by the configuration key path referring to it.",
		}, []string{"ref"}),
		VaultTokenTTL: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "deskbridge_vault_token_ttl_seconds",
			Help: "Remaining lifetime of the Vault token (0: does not expire).",
		}),
	}
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "deskbridge_build_info",
		Help: "Always 1; labels give the running version and commit.",
	}, []string{"version", "commit"})
	buildInfo.WithLabelValues(version, commit).Set(1)
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		buildInfo, m.WebhookRequests, m.WebhookEvents, m.WebhookAckSeconds,
		m.Jobs, m.EventsProcessed, m.DeadLetters, m.LeaseConflicts,
		m.ContactMatch, m.SyncLag, m.HelpdeskWrites, m.Coalesced, m.WindowClosed, m.Notes, m.Outbound,
		m.Throttled, m.RateLimitWait, m.TierUsed, m.TierLimit,
		m.SecretRefresh, m.SecretAge, m.VaultTokenTTL, m.HelpdeskBudgetRemaining,
	)
	return m
}
