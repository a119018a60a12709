package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/deskbridge/deskbridge/bridge"
	"github.com/deskbridge/deskbridge/config"
	"github.com/deskbridge/deskbridge/connectors"
	"github.com/deskbridge/deskbridge/connectors/zendesk"
	"github.com/deskbridge/deskbridge/queue"
	"github.com/deskbridge/deskbridge/ratelimit"
	"github.com/deskbridge/deskbridge/secrets"
	"github.com/deskbridge/deskbridge/server"
	"github.com/deskbridge/deskbridge/store"
	"github.com/deskbridge/deskbridge/telemetry"
)

func newServeCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the bridge: webhook listener, workers and probes",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, path, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			return serve(cmd.Context(), cfg, path, cmd.ErrOrStderr())
		},
	}
}

// serve runs until ctx is cancelled (SIGINT/SIGTERM), then shuts down in
// order within server.shutdown_timeout: stop accepting webhooks and finish
// in-flight ones, stop the workers, close the store.
func serve(ctx context.Context, cfg *config.Config, path string, logOut io.Writer) error {
	log, err := telemetry.NewLogger(logOut, cfg.Log.Level, cfg.Log.Format)
	if err != nil {
		return err
	}
	metrics := telemetry.NewMetrics(version, buildCommit())
	res := secrets.New(nil, nil)
	vlt, err := connectVault(ctx, cfg, res, log)
	if err != nil {
		return err
	}
	if vlt != nil {
		res.WithVault(vlt)
		vlt.Metrics, vlt.Paths = metrics, vaultPaths(cfg)
		vctx, stopVault := context.WithCancel(context.WithoutCancel(ctx))
		defer stopVault()
		go vlt.Run(vctx)
	}
	if err := res.CheckAll(ctx, cfg); err != nil {
		return &userError{"deskbridge: secrets:\n" + err.Error()}
	}
	// Read per request (a vault:// value from the cache that Vault keeps
	// fresh), so a rotated app secret or verify token is used without a
	// restart; CheckAll has just shown both can be read.
	appSecret := func(ctx context.Context) ([]byte, error) { return res.Resolve(ctx, cfg.WhatsApp.AppSecret) }
	verifyToken := func(ctx context.Context) ([]byte, error) { return res.Resolve(ctx, cfg.WhatsApp.VerifyToken) }

	openCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	st, err := store.Open(openCtx, cfg.Store.URL, store.Options{MaxOpenConns: cfg.Store.MaxOpenConns, Exclusive: true})
	if err != nil {
		return err
	}
	defer st.Close()

	upstream := connectors.NewMetrics(metrics.Registry)
	eng, templates, err := newEngine(cfg, res, st, log, metrics, upstream)
	if err != nil {
		return err
	}
	q, err := queue.New(openCtx, st, eng, queue.Config{
		Workers:           cfg.Queue.Workers,
		MaxAttempts:       cfg.Queue.MaxAttempts,
		LeaseTTL:          cfg.Queue.LeaseTTL.Duration(),
		JobTimeout:        cfg.Queue.JobTimeout.Duration(),
		RescueAfter:       cfg.Queue.RescueAfter.Duration(),
		PollInterval:      cfg.Queue.PollInterval.Duration(),
		ReconcileInterval: cfg.Queue.ReconcileInterval.Duration(),
		ReconcileAfter:    cfg.Queue.ReconcileAfter.Duration(),
		RetryBase:         cfg.Queue.RetryBase.Duration(),
		RetryMax:          cfg.Queue.RetryMax.Duration(),
		MaxEventsPerJob:   cfg.Queue.MaxEventsPerJob,
		MaxBatch:          cfg.Threading.CoalesceMax,
		Logger:            log,
		Metrics:           metrics,
	})
	if err != nil {
		return err
	}
	metrics.Registry.MustRegister(newStoreCollector(st))

	inbox := bridge.NewInbox(st, q)
	defer inbox.Close()
	var helpdeskHooks server.HelpdeskAcceptor
	if accounts, err := zendeskAccounts(cfg, res, log, upstream); err != nil {
		return &userError{"deskbridge: " + err.Error()}
	} else if len(accounts) > 0 {
		helpdeskHooks = bridge.NewHelpdeskInbox(inbox, accounts)
	}
	srv, err := server.New(server.Options{
		PublicAddr:     cfg.Server.PublicAddr,
		InternalAddr:   cfg.Server.InternalAddr,
		MaxBodyBytes:   int64(cfg.Server.MaxBodyBytes),
		ReadTimeout:    cfg.Server.ReadTimeout.Duration(),
		WriteTimeout:   cfg.Server.WriteTimeout.Duration(),
		WhatsAppSecret: appSecret,
		VerifyToken:    verifyToken,
		Acceptor:       inbox,
		Helpdesk:       helpdeskHooks,
		Ready:          readiness(st, q, vlt),
		Metrics:        metrics,
		Logger:         log,
	})
	if err != nil {
		return err
	}
	if err := srv.Listen(); err != nil {
		return &userError{"deskbridge: " + err.Error()}
	}
	// The workers get a context of their own: a signal must not cancel
	// running jobs before the listeners have drained.
	if err := q.Start(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	refreshCtx, stopRefresh := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRefresh()
	go templates.Run(refreshCtx, cfg.WhatsApp.TemplateRefresh.Duration())
	go readLimits(eng, cfg, log)
	log.InfoContext(ctx, "deskbridge started", "version", version, "config", path,
		"store", st.Target(), "store_kind", string(st.Kind()), "numbers", len(cfg.WhatsApp.Numbers))

	// One budget for the whole shutdown: what the listeners do not use is
	// left for the workers.
	shutdown := cfg.Server.ShutdownTimeout.Duration()
	stopping := make(chan time.Time, 1)
	go func() { <-ctx.Done(); stopping <- time.Now() }()
	serveErr := srv.Serve(ctx, shutdown) // returns after the listeners have drained
	inbox.Close()
	deadline := time.Now().Add(shutdown)
	select {
	case started := <-stopping:
		deadline = started.Add(shutdown)
	default: // the listeners failed; no signal came
	}
	log.InfoContext(context.WithoutCancel(ctx), "shutting down: stopping workers", "left", time.Until(deadline).Round(time.Millisecond))
	stopCtx, stopCancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
	defer stopCancel()
	qErr := q.Stop(stopCtx)
	log.InfoContext(stopCtx, "stopped", slog.Any("error", errors.Join(serveErr, qErr)))
	return errors.Join(serveErr, qErr)
}

// readiness is /readyz: the store answers and is migrated, and the workers
// run.
func readiness(st *store.Store, q *queue.Queue, vlt *secrets.Vault) server.ReadyFunc {
	return func(ctx context.Context) error {
		if vlt != nil {
			if err := vlt.Check(ctx); err != nil {
				return err
			}
		}
		var problems []string
		if err := st.Ping(ctx); err != nil {
			problems = append(problems, err.Error())
		} else {
			if err := st.CheckSchema(ctx); err != nil {
				problems = append(problems, err.Error())
			}
			if err := q.Check(ctx); err != nil {
				problems = append(problems, err.Error())
			}
		}
		if !q.Running() {
			problems = append(problems, "queue: workers not running")
		}
		if len(problems) > 0 {
			return errors.New(strings.Join(problems, "; "))
		}
		return nil
	}
}

// storeCollector exports the store's backlog on each scrape.
type storeCollector struct {
	st                       *store.Store
	pending, age, dead, jobs *prometheus.Desc
}

func newStoreCollector(st *store.Store) *storeCollector {
	return &storeCollector{
		st:      st,
		pending: prometheus.NewDesc("deskbridge_inbox_pending_events", "Inbox events waiting to be handled.", nil, nil),
		age:     prometheus.NewDesc("deskbridge_inbox_oldest_pending_age_seconds", "Age of the oldest pending inbox event.", nil, nil),
		dead:    prometheus.NewDesc("deskbridge_dead_letters", "Rows in the dead-letter table.", nil, nil),
		jobs:    prometheus.NewDesc("deskbridge_queue_jobs_pending", "Queue jobs not yet finished.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.pending, c.age, c.dead, c.jobs} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	b, err := c.st.Backlog(ctx)
	if err != nil {
		for _, d := range []*prometheus.Desc{c.pending, c.age, c.dead, c.jobs} {
			ch <- prometheus.NewInvalidMetric(d, err)
		}
		return
	}
	ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(b.EventsPending))
	ch <- prometheus.MustNewConstMetric(c.age, prometheus.GaugeValue, b.OldestPendingAgeSeconds)
	ch <- prometheus.MustNewConstMetric(c.dead, prometheus.GaugeValue, float64(b.DeadLetters))
	ch <- prometheus.MustNewConstMetric(c.jobs, prometheus.GaugeValue, float64(b.JobsPending))
}

// zendeskAccounts lists the Zendesk helpdesks whose webhooks serve accepts:
// those with a webhook_secret.
func zendeskAccounts(cfg *config.Config, res *secrets.Resolver, log *slog.Logger, metrics *connectors.Metrics) ([]bridge.ZendeskAccount, error) {
	var out []bridge.ZendeskAccount
	for _, name := range helpdeskNames(cfg) {
		h, ok := cfg.Helpdesks[name]
		if !ok || h.Kind != "zendesk" || h.WebhookSecret == "" {
			continue
		}
		hd, err := newHelpdesk(cfg, name, res, log, metrics)
		if err != nil {
			return nil, err
		}
		secret := h.WebhookSecret
		acct := bridge.ZendeskAccount{
			Name:   name,
			Secret: func(ctx context.Context) ([]byte, error) { return res.Resolve(ctx, secret) },
		}
		if zc, ok := hd.(*zendesk.Client); ok {
			acct.APIUserID = zc.APIUserID
		}
		out = append(out, acct)
	}
	return out, nil
}

// newEngine builds the engine of the configuration: a Cloud API client per
// number with an access token (their template caches follow template
// status webhooks and a schedule) and a connector per helpdesk a number
// uses.
func newEngine(cfg *config.Config, res *secrets.Resolver, st *store.Store, log *slog.Logger,
	metrics *telemetry.Metrics, upstream *connectors.Metrics) (*bridge.Engine, *bridge.TemplateCaches, error) {
	templates := bridge.NewTemplateCaches(log)
	helpdesks := map[string]connectors.Helpdesk{}
	var numbers []bridge.Number
	for _, n := range cfg.WhatsApp.Numbers {
		num := bridge.Number{PhoneNumberID: n.PhoneNumberID, WABAID: n.WABAID, Display: n.DisplayPhoneNumber,
			Label: n.Label, Helpdesk: numberHelpdesk(cfg, n), ThroughputMPS: n.ThroughputMPS}
		if num.ThroughputMPS == 0 && n.Coexistence {
			num.ThroughputMPS = ratelimit.CoexistenceThroughputMPS
		}
		if n.AccessToken != "" {
			c, cache, err := newWhatsAppClient(cfg, n, res, st, log, upstream)
			if err != nil {
				return nil, nil, &userError{"deskbridge: whatsapp.numbers[" + n.PhoneNumberID + "]: " + err.Error()}
			}
			num.Client = c
			if n.WABAID != "" {
				templates.Add(n.WABAID, cache)
			}
		}
		if num.Helpdesk != "" && helpdesks[num.Helpdesk] == nil {
			hd, err := newHelpdesk(cfg, num.Helpdesk, res, log, upstream, sharedBudget(st, num.Helpdesk, cfg, metrics))
			if err != nil {
				return nil, nil, &userError{"deskbridge: " + err.Error()}
			}
			helpdesks[num.Helpdesk] = hd
		}
		numbers = append(numbers, num)
	}
	tz, err := time.LoadLocation(cfg.Threading.TimeZone)
	if err != nil {
		return nil, nil, &userError{"deskbridge: threading.time_zone: " + err.Error()}
	}
	mapper, err := compileMapping(cfg)
	if err != nil {
		return nil, nil, &userError{"deskbridge: mapping: " + err.Error()}
	}
	reopen := cfg.Threading.ReopenSolved == nil || *cfg.Threading.ReopenSolved
	policy := cfg.OutsideWindow.Policy
	if policy == "note_only" {
		policy = "note"
	}
	eng := bridge.NewEngine(bridge.Options{
		Store: st, Numbers: numbers, Helpdesks: helpdesks, Templates: templates, Mapper: mapper,
		Window: cfg.Threading.Window.Duration(), ReopenSolved: reopen, CoalesceMax: cfg.Threading.CoalesceMax, TimeZone: tz,
		OutsideWindow:       policy,
		Template:            bridge.Template{Name: cfg.OutsideWindow.Template.Name, Language: cfg.OutsideWindow.Template.Language},
		OptOutKeywords:      cfg.OptOut.Keywords,
		Governor:            ratelimit.NewWhatsApp(ratelimit.NewBucket(st, nil), st, metrics),
		MessagingLimit:      cfg.WhatsApp.MessagingLimit,
		MessagingLimitFixed: cfg.WhatsApp.MessagingLimit > 0,
		ReadBackWait:        cfg.WhatsApp.ReadbackWait.Duration(),
		StatusTagPrefix:     cfg.Statuses.TagPrefix,
		Logger:              log, Metrics: metrics,
	})
	return eng, templates, nil
}

// numberHelpdesk is the helpdesk a number's conversations go to: its own
// setting, else the only configured helpdesk, else none (messages are
// stored and marked handled, not relayed).
func numberHelpdesk(cfg *config.Config, n config.Number) string {
	if n.Helpdesk != "" {
		return n.Helpdesk
	}
	if len(cfg.Helpdesks) == 1 {
		for name := range cfg.Helpdesks {
			return name
		}
	}
	return ""
}

// readLimits reads what Meta reports for each number with an access token:
// the throughput level (HIGH: 1,000 messages a second) for numbers whose
// throughput_mps is not set, and, when whatsapp.messaging_limit is not set,
// the messaging limit tier of the first number (none is kept when it
// cannot be read).
func readLimits(eng *bridge.Engine, cfg *config.Config, log *slog.Logger) {
	tierRead := cfg.WhatsApp.MessagingLimit > 0
	for _, n := range eng.Numbers() {
		if n.Client == nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		info, err := n.Client.PhoneNumberInfo(ctx)
		cancel()
		if err != nil {
			log.Warn("number's limits not read; defaults kept (set throughput_mps and whatsapp.messaging_limit)",
				"phone_number_id", n.PhoneNumberID, slog.Any("error", err))
			continue
		}
		if strings.EqualFold(info.Throughput, "HIGH") {
			eng.SetThroughput(n.PhoneNumberID, 1000)
		}
		if !tierRead {
			tierRead = true
			limit := ratelimit.TierLimit(info.MessagingLimit)
			log.Info("messaging limit read from the number", "phone_number_id", n.PhoneNumberID, "tier", info.MessagingLimit, "limit", limit)
			eng.SetMessagingLimit(limit)
		}
	}
}

// sharedBudget makes replicas on one PostgreSQL database share a helpdesk
// account's request budget (requests_per_minute, else the vendor's
// default): every API request takes a slot of one bucket in the database.
// With SQLite (one process) the connector's own limiter is the budget.
func sharedBudget(st *store.Store, name string, cfg *config.Config, metrics *telemetry.Metrics) func(*zendesk.Config) {
	return func(zc *zendesk.Config) {
		zc.OnQuota = func(remaining, _ int) { metrics.HelpdeskBudgetRemaining.WithLabelValues(name).Set(float64(remaining)) }
		if st.Kind() != store.Postgres {
			return
		}
		rpm := cfg.Helpdesks[name].RequestsPerMinute
		if rpm <= 0 {
			rpm = zendesk.DefaultRequestsPerMinute
		}
		rule := ratelimit.Rule{Rate: float64(rpm) / 60, Burst: max(1, rpm/60)}
		bucket := ratelimit.NewBucket(st, nil)
		zc.Gate = func(ctx context.Context) error {
			return ratelimit.Wait(ctx, bucket, "helpdesk:"+name, rule, 30*time.Second, "helpdesk", "helpdesk_budget", metrics)
		}
	}
}

// connectVault logs in to Vault when the configuration has vault://
// references (nil otherwise). Vault unreachable at start is an error,
// unless vault.wait_at_start: then it is tried again with backoff until
// ctx ends.
func connectVault(ctx context.Context, cfg *config.Config, res *secrets.Resolver, log *slog.Logger) (*secrets.Vault, error) {
	used := false
	for _, s := range cfg.Secrets() {
		if ref, err := s.Secret.Ref(); err == nil && ref.Scheme == config.SchemeVault {
			used = true
		}
	}
	if !used {
		return nil, nil
	}
	v, err := secrets.NewVault(cfg.Vault, res, log)
	if err != nil {
		return nil, &userError{"deskbridge: vault: " + err.Error()}
	}
	for wait := time.Second; ; wait = min(wait*2, time.Minute) {
		err := v.Login(ctx)
		if err == nil {
			return v, nil
		}
		if !cfg.Vault.WaitAtStart || !errors.Is(err, secrets.ErrVaultUnreachable) {
			return nil, &userError{"deskbridge: vault: " + err.Error()}
		}
		log.WarnContext(ctx, "vault not reachable yet; waiting (vault.wait_at_start)", "retry_in", wait, slog.Any("error", err))
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// vaultPaths names each vault:// reference by the configuration key paths
// that use it, for metrics and readiness (never the value).
func vaultPaths(cfg *config.Config) map[string]string {
	out := map[string]string{}
	for _, s := range cfg.Secrets() {
		ref, err := s.Secret.Ref()
		if err != nil || ref.Scheme != config.SchemeVault {
			continue
		}
		if p, ok := out[ref.String()]; ok {
			out[ref.String()] = p + "," + s.Path
		} else {
			out[ref.String()] = s.Path
		}
	}
	return out
}
