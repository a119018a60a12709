package bridge_test

import (
	"cmp"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/deskbridge/deskbridge/bridge"
	"github.com/deskbridge/deskbridge/connectors"
	"github.com/deskbridge/deskbridge/connectors/whatsapp"
	"github.com/deskbridge/deskbridge/connectors/zendesk"
	"github.com/deskbridge/deskbridge/queue"
	"github.com/deskbridge/deskbridge/ratelimit"
	"github.com/deskbridge/deskbridge/sandbox/fakeclock"
	sbwhatsapp "github.com/deskbridge/deskbridge/sandbox/whatsapp"
	sbzendesk "github.com/deskbridge/deskbridge/sandbox/zendesk"
	"github.com/deskbridge/deskbridge/server"
	"github.com/deskbridge/deskbridge/store"
	"github.com/deskbridge/deskbridge/store/storetest"
	"github.com/deskbridge/deskbridge/telemetry"
)

const (
	rigNumber = "106540352242922"
	rigWABA   = "102290129340398"
)

// rig is the whole bridge in one process: the WhatsApp and Zendesk fakes
// on one movable clock, the store, the queue, the engine and the public
// webhook handler, wired as serve wires them.
type rig struct {
	t       testing.TB
	clock   *fakeclock.Clock
	wa      *sbwhatsapp.Server
	zd      *sbzendesk.Server
	zc      *zendesk.Client
	zdURL   string
	hookURL string // the bridge's public base URL
	st      *store.Store
	q       *queue.Queue
	eng     *bridge.Engine
	qcfg    queue.Config
	metrics *telemetry.Metrics
	opt     bridge.Options
	waToken atomic.Value // the token the bridge's Cloud API client sends
	// settleWithin bounds settle (2m when zero: -race on a busy machine is slow).
	settleWithin time.Duration
}

// rigConfig is what rig options change before the rig is built.
type rigConfig struct {
	engine        *bridge.Options
	zendesk       *sbzendesk.Options
	maxAttachment int64 // the Zendesk client's attachment limit (0: default)
	// wrapZendesk and wrapWhatsApp, when set, wrap the fakes' handlers
	// (latency, fault injection, observation).
	wrapZendesk, wrapWhatsApp func(http.Handler) http.Handler
	workers                   int
	// governed paces sends with a WhatsApp governor of mps messages per
	// second and the pair rule pair (zero: Meta's).
	governed bool
	mps      int
	pair     ratelimit.Rule
	// helpdeskRPM is the Zendesk client's budget (0: plenty).
	helpdeskRPM int
}

// withGovernor paces WhatsApp sends.
func withGovernor(mps int, pair ratelimit.Rule) rigOption {
	return func(c *rigConfig) { c.governed, c.mps, c.pair = true, mps, pair }
}

// withWrappers wraps the fakes' handlers.
func withWrappers(zd, wa func(http.Handler) http.Handler) rigOption {
	return func(c *rigConfig) { c.wrapZendesk, c.wrapWhatsApp = zd, wa }
}

type rigOption func(*rigConfig)

// withEngine changes the engine's options.
func withEngine(f func(o *bridge.Options)) rigOption {
	return func(c *rigConfig) { f(c.engine) }
}

// withMaxAttachment sets the Zendesk client's attachment limit.
func withMaxAttachment(n int64) rigOption {
	return func(c *rigConfig) { c.maxAttachment = n }
}

func newRig(t testing.TB, kind store.Kind, opts ...rigOption) *rig {
	t.Helper()
	ctx := context.Background()
	r := &rig{t: t, clock: fakeclock.New(time.Now), metrics: telemetry.NewMetrics("test", "test")}
	var handler atomic.Value
	bridgeSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		h, _ := handler.Load().(http.Handler)
		if h == nil {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, req)
	}))
	t.Cleanup(bridgeSrv.Close)
	r.hookURL = bridgeSrv.URL

	zopt := sbzendesk.Options{Email: "bot@acme.test", APIToken: "zd-token", Now: r.clock.Now,
		WebhookRetryBackoff: 20 * time.Millisecond, RequestsPerMinute: 100000}
	r.opt = bridge.Options{Window: 24 * time.Hour, ReopenSolved: true, OutsideWindow: "note",
		ReadBackWait: 300 * time.Millisecond, Now: r.clock.Now}
	rc := rigConfig{engine: &r.opt, zendesk: &zopt, workers: 4}
	for _, o := range opts {
		o(&rc)
	}
	wrap := func(f func(http.Handler) http.Handler, h http.Handler) http.Handler {
		if f == nil {
			return h
		}
		return f(h)
	}

	r.wa = sbwhatsapp.New(sbwhatsapp.Options{AccessToken: "wa-token", AppSecret: "app-secret",
		CallbackURL: bridgeSrv.URL + "/webhooks/whatsapp",
		Numbers:     []sbwhatsapp.Number{{PhoneNumberID: rigNumber, WABAID: rigWABA}},
		Templates:   sbwhatsapp.DefaultTemplates(), Now: r.clock.Now})
	waSrv := httptest.NewServer(wrap(rc.wrapWhatsApp, r.wa))
	r.wa.SetBaseURL(waSrv.URL)
	t.Cleanup(func() { waSrv.Close(); r.wa.Close() })

	// The account's API budget (above) is the rate governors' concern,
	// not these tests': both sides allow plenty.
	r.zd = sbzendesk.New(zopt)
	zdSrv := httptest.NewServer(wrap(rc.wrapZendesk, r.zd))
	r.zd.SetBaseURL(zdSrv.URL)
	r.zdURL = zdSrv.URL
	t.Cleanup(func() { zdSrv.Close(); r.zd.Close() })

	var err error
	r.zc, err = zendesk.New(zendesk.Config{Name: "support", BaseURL: zdSrv.URL, Email: "bot@acme.test",
		APIToken: func(context.Context) (string, error) { return "zd-token", nil }, Now: r.clock.Now,
		MaxAttachmentBytes: rc.maxAttachment, RequestsPerMinute: cmp.Or(rc.helpdeskRPM, 100000)})
	if err != nil {
		t.Fatal(err)
	}
	hook, err := r.zc.EnsureWebhook(ctx, &connectors.EnsureWebhookParams{Endpoint: bridgeSrv.URL + "/webhooks/zendesk", Name: "deskbridge"})
	if err != nil {
		t.Fatalf("webhook setup: %v", err)
	}
	lister, err := whatsapp.NewClient(whatsapp.Config{APIBaseURL: waSrv.URL, APIVersion: "v23.0", PhoneNumberID: rigNumber,
		WABAID: rigWABA, Token: func(context.Context) (string, error) { return "wa-token", nil }})
	if err != nil {
		t.Fatal(err)
	}
	cache := whatsapp.NewTemplateCache(lister, whatsapp.NewMemoryTemplateStore(), 0, nil)
	r.waToken.Store("wa-token")
	wc, err := whatsapp.NewClient(whatsapp.Config{APIBaseURL: waSrv.URL, APIVersion: "v23.0", PhoneNumberID: rigNumber,
		WABAID: rigWABA, Token: func(context.Context) (string, error) { return r.waToken.Load().(string), nil }, Templates: cache})
	if err != nil {
		t.Fatal(err)
	}

	r.st = storetest.Open(t, kind, store.Options{})
	r.opt.Store = r.st
	r.opt.Numbers = []bridge.Number{{PhoneNumberID: rigNumber, WABAID: rigWABA, Label: "Spain support", Helpdesk: "support", Client: wc}}
	r.opt.Helpdesks = map[string]connectors.Helpdesk{"support": r.zc}
	if rc.governed {
		g := ratelimit.NewWhatsApp(ratelimit.NewBucket(r.st, nil), r.st, r.metrics)
		if rc.pair.Rate > 0 {
			g.Pair = rc.pair
		}
		r.opt.Governor = g
		r.opt.Numbers[0].ThroughputMPS = rc.mps
	}
	r.opt.Metrics = r.metrics
	if os.Getenv("DESKBRIDGE_TEST_LOG") != "" {
		r.opt.Logger, _ = telemetry.NewLogger(os.Stderr, "debug", "text")
	} else {
		r.opt.Logger = telemetry.DiscardLogger()
	}
	r.eng = bridge.NewEngine(r.opt)
	r.qcfg = queue.Config{Workers: rc.workers, MaxAttempts: 8, LeaseTTL: 3 * time.Second,
		JobTimeout: 20 * time.Second, PollInterval: 20 * time.Millisecond, RetryBase: 50 * time.Millisecond,
		RetryMax: 500 * time.Millisecond, ReconcileInterval: time.Second, ReconcileAfter: 2 * time.Second,
		MaxBatch: 20, Metrics: r.metrics, Logger: r.opt.Logger}
	r.q, err = queue.New(ctx, r.st, r.eng, r.qcfg)
	if err != nil {
		t.Fatal(err)
	}
	inbox := bridge.NewInbox(r.st, r.q)
	t.Cleanup(inbox.Close)
	secret := []byte(hook.SigningSecret)
	srv, err := server.New(server.Options{PublicAddr: "127.0.0.1:0", InternalAddr: "127.0.0.1:0",
		WhatsAppSecret: func(context.Context) ([]byte, error) { return []byte("app-secret"), nil },
		VerifyToken:    func(context.Context) ([]byte, error) { return []byte("verify"), nil },
		Acceptor:       inbox,
		Helpdesk: bridge.NewHelpdeskInbox(inbox, []bridge.ZendeskAccount{{Name: "support",
			Secret:    func(context.Context) ([]byte, error) { return secret, nil },
			APIUserID: r.zc.APIUserID}}).WithClock(r.clock.Now),
		Metrics: r.metrics, Logger: r.opt.Logger})
	if err != nil {
		t.Fatal(err)
	}
	handler.Store(srv.PublicHandler())
	if err := r.q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = r.q.Stop(sctx)
	})
	return r
}

// stopWorkers stops the queue: events are still stored, not handled.
func (r *rig) stopWorkers() {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.q.Stop(ctx); err != nil {
		r.t.Fatal(err)
	}
}

// startWorkers starts a new queue on the same store, as a restarted
// process would.
func (r *rig) startWorkers() {
	r.t.Helper()
	q, err := queue.New(context.Background(), r.st, r.eng, r.qcfg)
	if err != nil {
		r.t.Fatal(err)
	}
	if err := q.Start(context.Background()); err != nil {
		r.t.Fatal(err)
	}
	if _, err := q.Reconcile(context.Background()); err != nil {
		r.t.Fatal(err)
	}
	r.q = q
}

// say plays a customer writing a text.
func (r *rig) say(from, name, text string) string {
	r.t.Helper()
	return r.inbound(sbwhatsapp.InboundParams{From: from, Name: name, Text: text})
}

func (r *rig) inbound(p sbwhatsapp.InboundParams) string {
	r.t.Helper()
	wamid, code, err := r.wa.Inbound(context.Background(), p)
	if err != nil || code != http.StatusOK {
		r.t.Fatalf("inbound %+v: status %d, %v", p, code, err)
	}
	return wamid
}

// reply plays an agent answering publicly on a ticket.
func (r *rig) reply(ticketID int64, body string, files ...sbzendesk.ReplyAttachment) {
	r.t.Helper()
	if _, err := r.zd.AgentReply(context.Background(), sbzendesk.ReplyParams{TicketID: ticketID, Body: body, Attachments: files}); err != nil {
		r.t.Fatalf("agent reply: %v", err)
	}
}

// settle waits until both fakes delivered their webhooks and the bridge
// has no pending event.
func (r *rig) settle() {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmp.Or(r.settleWithin, 2*time.Minute))
	defer cancel()
	for {
		_ = r.zd.Flush(ctx)
		_ = r.wa.Flush(ctx)
		s, err := r.st.Stats(ctx)
		if err != nil {
			r.t.Fatal(err)
		}
		if s.EventsPending == 0 {
			// Sends made while draining emit status webhooks: one more
			// round catches them.
			_ = r.wa.Flush(ctx)
			_ = r.zd.Flush(ctx)
			if s2, _ := r.st.Stats(ctx); s2.EventsPending == 0 {
				return
			}
		}
		if ctx.Err() != nil {
			r.t.Fatalf("bridge did not settle: %+v", s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// tickets returns the fake's tickets, oldest first.
func (r *rig) tickets() []sbzendesk.TicketDump { return r.zd.Tickets() }

// thread returns the messages sent to a customer.
func (r *rig) thread(to string) []sbwhatsapp.OutboundMessage { return r.wa.Outbound(to) }

// createUser makes an end user directly through the Zendesk API, as an
// agent or another integration would.
func (r *rig) createUser(name, phone string) {
	r.t.Helper()
	body := `{"user":{"name":"` + name + `","phone":"` + phone + `","role":"end-user"}}`
	req, err := http.NewRequest(http.MethodPost, r.zdURL+"/api/v2/users.json", strings.NewReader(body))
	if err != nil {
		r.t.Fatal(err)
	}
	req.SetBasicAuth("bot@acme.test/token", "zd-token")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		r.t.Fatalf("create user: %d", resp.StatusCode)
	}
}

func itoa(id int64) string { return strconv.FormatInt(id, 10) }

// postWhatsApp delivers a signed WhatsApp webhook body to the bridge, as
// Meta would.
func (r *rig) postWhatsApp(body string) {
	r.t.Helper()
	req, err := http.NewRequest(http.MethodPost, r.hookURL+"/webhooks/whatsapp", strings.NewReader(body))
	if err != nil {
		r.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hub-Signature-256", whatsapp.Sign([]byte(body), []byte("app-secret")))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		r.t.Fatalf("webhook: %d", resp.StatusCode)
	}
}
