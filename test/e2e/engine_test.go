package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/deskbridge/deskbridge/connectors"
	"github.com/deskbridge/deskbridge/connectors/zendesk"
	sbwhatsapp "github.com/deskbridge/deskbridge/sandbox/whatsapp"
	sbzendesk "github.com/deskbridge/deskbridge/sandbox/zendesk"
	"github.com/deskbridge/deskbridge/store"
	"github.com/deskbridge/deskbridge/store/storetest"
)

// The engine tests run `deskbridge serve` with a helpdesk against both
// fakes, in this process on loopback: the WhatsApp fake posts signed
// webhooks to the binary and takes its sends; the Zendesk fake takes its API
// calls and posts agent replies to it through the webhook and trigger that
// the connector's EnsureWebhook installs.

const (
	engineWAToken = "e2e-wa-token"
	engineZDEmail = "bridge@acme.test"
	engineZDToken = "e2e-zd-token"
)

// engineQueue is fastQueue with quick retries, so a failed attempt does not
// wait the default second (and up to ten minutes).
const engineQueue = fastQueue + `
  retry_base: 100ms
  retry_max: 1s`

// engineRig is the binary wired to the two fakes.
type engineRig struct {
	t    *testing.T
	inst *instance
	wa   *sbwhatsapp.Server
	zd   *sbzendesk.Server
	// zdAPI is the base_url the binary calls: the fake, or a proxy in
	// front of it.
	zdAPI string
}

type engineRigOptions struct {
	storeURL string
	// zendeskFront, when set, wraps the Zendesk fake's handler; the binary's
	// base_url points at the wrapper.
	zendeskFront func(fake http.Handler) http.Handler
}

func newEngineRig(t *testing.T, o engineRigOptions) *engineRig {
	t.Helper()
	ctx := context.Background()
	inst := newInstance(t, o.storeURL, engineQueue)
	r := &engineRig{t: t, inst: inst}

	// WhatsApp: webhooks to the binary, retried quickly and long enough
	// to outlast a restart.
	r.wa = sbwhatsapp.New(sbwhatsapp.Options{AccessToken: engineWAToken, AppSecret: appSecret,
		CallbackURL: inst.public + "/webhooks/whatsapp",
		Numbers:     []sbwhatsapp.Number{{PhoneNumberID: phoneID, WABAID: wabaID}},
		Templates:   sbwhatsapp.DefaultTemplates()})
	waSrv := httptest.NewServer(r.wa)
	r.wa.SetBaseURL(waSrv.URL)
	wo := r.wa.WebhookOptions()
	wo.RetryBackoff, wo.MaxAttempts = 100*time.Millisecond, 14
	r.wa.SetWebhookOptions(wo)

	// Zendesk: no account rate limit (the storm test brings its own), and
	// webhook retries that outlast a restart.
	r.zd = sbzendesk.New(sbzendesk.Options{Email: engineZDEmail, APIToken: engineZDToken,
		RequestsPerMinute: sbzendesk.Unlimited, WebhookMaxAttempts: 14, WebhookRetryBackoff: 100 * time.Millisecond})
	zdSrv := httptest.NewServer(r.zd)
	r.zdAPI = zdSrv.URL
	var front *httptest.Server
	if o.zendeskFront != nil {
		front = httptest.NewServer(o.zendeskFront(r.zd))
		r.zdAPI = front.URL
	}
	r.zd.SetBaseURL(r.zdAPI)
	t.Cleanup(func() {
		inst.stop() // before the fakes go away
		if d := os.Getenv("E2E_KEEP_LOG"); d != "" {
			// Keep the binary's log (E2E_KEEP_LOG=DIR) for a look at
			// what it did.
			b, _ := os.ReadFile(inst.logPath)
			_ = os.WriteFile(filepath.Join(d, strings.ReplaceAll(t.Name(), "/", "_")+".log"), b, 0o600)
		}
		if front != nil {
			front.Close()
		}
		zdSrv.Close()
		r.zd.Close()
		waSrv.Close()
		r.wa.Close()
	})

	// The webhook and trigger that send agent replies to the binary, set
	// up on the fake directly (not through a storm).
	zc, err := zendesk.New(zendesk.Config{Name: "support", BaseURL: zdSrv.URL, Email: engineZDEmail,
		APIToken: func(context.Context) (string, error) { return engineZDToken, nil }, RequestsPerMinute: 6000})
	if err != nil {
		t.Fatal(err)
	}
	hook, err := zc.EnsureWebhook(ctx, &connectors.EnsureWebhookParams{Endpoint: inst.public + "/webhooks/zendesk", Name: "deskbridge"})
	if err != nil || hook.SigningSecret == "" {
		t.Fatalf("zendesk webhook setup: %+v %v", hook, err)
	}

	// Secrets go in files; the configuration holds file:// references.
	dir := filepath.Dir(inst.configPath)
	secret := func(name, value string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(value+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return "file://" + p
	}
	cfg := fmt.Sprintf(`store:
  url: %q
log:
  level: info
  format: text
server:
  public_addr: %q
  internal_addr: %q
  shutdown_timeout: 10s
queue:
%s
whatsapp:
  api_base_url: %q
  app_secret: "env://E2E_APP_SECRET"
  verify_token: "env://E2E_VERIFY_TOKEN"
  readback_wait: 2s
  numbers:
    - phone_number_id: %q
      waba_id: %q
      access_token: %q
      helpdesk: support
helpdesks:
  support:
    kind: zendesk
    base_url: %q
    email: %q
    api_token: %q
    webhook_secret: %q
    requests_per_minute: 6000
`, inst.storeURL, strings.TrimPrefix(inst.public, "http://"), strings.TrimPrefix(inst.internal, "http://"),
		engineQueue, waSrv.URL, phoneID, wabaID, secret("wa-token", engineWAToken),
		r.zdAPI, engineZDEmail, secret("zd-token", engineZDToken), secret("zd-webhook-secret", hook.SigningSecret))
	if err := os.WriteFile(inst.configPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return r
}

// logTail is the end of the binary's log, for failure messages.
func (r *engineRig) logTail(n int) string {
	b, _ := os.ReadFile(r.inst.logPath)
	return tail(string(b), n)
}

// say plays a customer writing a text and returns once the binary has
// acknowledged the webhook, on the first try or on one of the fake's
// retries (while the binary is down or restarting). Safe for goroutines:
// it reports failures with Errorf and returns false.
func (r *engineRig) say(ctx context.Context, from, name, text string) bool {
	wamid, code, err := r.wa.Inbound(ctx, sbwhatsapp.InboundParams{From: from, Name: name, Text: text})
	if code == http.StatusOK && err == nil {
		return true
	}
	if wamid == "" {
		r.t.Errorf("inbound %q from %s: %d %v", text, from, code, err)
		return false
	}
	// The fake queued a retry of this very webhook: wait for it, so the
	// customer's next message cannot overtake this one.
	for {
		for _, d := range r.wa.Deliveries() {
			if d.Kind != "message" || !strings.Contains(string(d.Body), wamid) {
				continue
			}
			if d.Delivered {
				return true
			}
			if d.Attempts >= r.wa.WebhookOptions().MaxAttempts {
				r.t.Errorf("inbound %q from %s: the fake gave up after %d attempts: %s", text, from, d.Attempts, d.Error)
				return false
			}
		}
		select {
		case <-ctx.Done():
			r.t.Errorf("inbound %q from %s: not acknowledged: %v", text, from, ctx.Err())
			return false
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// settle waits until both fakes have delivered every webhook and the
// binary has nothing pending, twice in a row (a drained queue may still
// send, and a send emits status webhooks).
func (r *engineRig) settle(timeout time.Duration) store.Stats {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var s store.Stats
	for range 2 {
		if err := r.zd.Flush(ctx); err != nil {
			r.t.Fatalf("zendesk fake: webhooks not flushed: %v\nlog tail:\n%s", err, r.logTail(3000))
		}
		if err := r.wa.Flush(ctx); err != nil {
			r.t.Fatalf("whatsapp fake: webhooks not flushed: %v\nlog tail:\n%s", err, r.logTail(3000))
		}
		dl, _ := ctx.Deadline()
		s = r.inst.waitDrained(max(time.Until(dl), time.Second))
	}
	return s
}

// eventually polls cond until it holds; on timeout it fails with cond's
// last explanation and the binary's log tail.
func (r *engineRig) eventually(timeout time.Duration, what string, cond func() (bool, string)) {
	r.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("%s: not after %s: %s\nlog tail:\n%s", what, timeout, why, r.logTail(4000))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// restart SIGKILLs the binary, leaves it down for a moment and starts it
// again. Test goroutine only.
func (r *engineRig) restart(down time.Duration) {
	r.t.Helper()
	r.inst.kill(syscall.SIGKILL)
	time.Sleep(down)
	r.inst.start()
}

// phoneOf maps each helpdesk user id to the digits of its phone.
func (r *engineRig) phoneOf() map[int64]string {
	out := map[int64]string{}
	for _, u := range r.zd.Users() {
		out[u.ID] = digits(u.Phone)
	}
	return out
}

func digits(s string) string {
	var b strings.Builder
	for _, c := range s {
		if c >= '0' && c <= '9' {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// sentTexts are the texts of the messages sent to a customer, oldest first
// (a template as "template:NAME").
func (r *engineRig) sentTexts(to string) []string {
	var out []string
	for _, m := range r.wa.Outbound(to) {
		var req struct {
			Text     struct{ Body string } `json:"text"`
			Template struct{ Name string } `json:"template"`
		}
		if err := json.Unmarshal(m.Request, &req); err != nil {
			r.t.Errorf("outbound %s: %v", m.ID, err)
			continue
		}
		if m.Type == "template" {
			out = append(out, "template:"+req.Template.Name)
			continue
		}
		out = append(out, req.Text.Body)
	}
	return out
}

// customerComments are the public comments the customer (the requester)
// authored on a ticket, oldest first.
func customerComments(tk sbzendesk.TicketDump) []string {
	var out []string
	for _, c := range tk.Comments {
		if c.Public && c.AuthorID == tk.RequesterID {
			out = append(out, c.Body)
		}
	}
	return out
}

// coalescedLine is one text of a coalesced comment.
var coalescedLine = regexp.MustCompile(`^\[\d\d:\d\d:\d\d\] (.*)$`)

// commentTexts splits a customer comment into the texts it carries: the
// whole body, or one "[HH:MM:SS] text" line per text when coalesced. ok is
// false when a multi-line body has a line in another form.
func commentTexts(body string) (texts []string, ok bool) {
	lines := strings.Split(body, "\n")
	if len(lines) == 1 && !coalescedLine.MatchString(body) {
		return []string{body}, true
	}
	for _, l := range lines {
		m := coalescedLine.FindStringSubmatch(l)
		if m == nil {
			return nil, false
		}
		texts = append(texts, m[1])
	}
	return texts, true
}

// conversation is what the helpdesk holds of one customer.
type conversation struct {
	tickets []int64
	texts   []string // customer texts in comment order, across tickets
}

// conversations groups the fake's tickets by the requester's phone. With
// report, bad comment formats are reported with Errorf.
func (r *engineRig) conversations(report bool) map[string]*conversation {
	phones := r.phoneOf()
	out := map[string]*conversation{}
	for _, tk := range r.zd.Tickets() {
		p := phones[tk.RequesterID]
		c := out[p]
		if c == nil {
			c = &conversation{}
			out[p] = c
		}
		c.tickets = append(c.tickets, tk.ID)
		for _, body := range customerComments(tk) {
			texts, ok := commentTexts(body)
			if !ok && report {
				r.t.Errorf("ticket %d: customer comment is neither one text nor coalesced lines: %q", tk.ID, body)
			}
			c.texts = append(c.texts, texts...)
		}
	}
	return out
}

// checkConversations asserts that every customer has exactly one ticket
// holding each of their texts exactly once, in the order they were sent,
// and nothing else; it returns the customers' tickets.
func (r *engineRig) checkConversations(want map[string][]string) map[string]int64 {
	r.t.Helper()
	got := r.conversations(true)
	tickets := map[string]int64{}
	for phone, texts := range want {
		c := got[phone]
		if c == nil {
			r.t.Errorf("customer %s: no ticket", phone)
			continue
		}
		if len(c.tickets) != 1 {
			r.t.Errorf("customer %s: %d tickets %v, want exactly 1", phone, len(c.tickets), c.tickets)
		}
		tickets[phone] = c.tickets[0]
		count := map[string]int{}
		for _, tx := range c.texts {
			count[tx]++
		}
		for _, tx := range texts {
			if count[tx] != 1 {
				r.t.Errorf("customer %s: text %q appears %d times, want exactly once", phone, tx, count[tx])
			}
			delete(count, tx)
		}
		for tx, n := range count {
			r.t.Errorf("customer %s: unexpected text %q (%d times)", phone, tx, n)
		}
		if !slices.Equal(c.texts, texts) && len(c.texts) == len(texts) {
			r.t.Errorf("customer %s: texts out of order:\n got %q\nwant %q", phone, c.texts, texts)
		}
	}
	for phone, c := range got {
		if _, ok := want[phone]; !ok {
			r.t.Errorf("tickets %v of an unknown requester (phone %q)", c.tickets, phone)
		}
	}
	return tickets
}

// textsIn counts how many of the wanted texts the helpdesk holds so far.
func (r *engineRig) textsIn() int {
	n := 0
	for _, c := range r.conversations(false) {
		n += len(c.texts)
	}
	return n
}

// TestEngineConversationThroughServe: a customer's message becomes a
// ticket authored by them, an agent's public reply reaches them on
// WhatsApp once, and their next message joins the same ticket.
func TestEngineConversationThroughServe(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, kind store.Kind) {
		t.Parallel()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		r := newEngineRig(t, engineRigOptions{storeURL: storetest.URL(t, kind)})
		r.inst.start()
		const ana = "34600111222"

		if !r.say(ctx, ana, "Ana", "Hola, mi pedido no llegó") {
			t.FailNow()
		}
		r.eventually(20*time.Second, "first message relayed", func() (bool, string) {
			tks := r.zd.Tickets()
			return len(tks) == 1 && len(customerComments(tks[0])) == 1, fmt.Sprintf("%d tickets", len(tks))
		})
		r.settle(20 * time.Second)
		tks := r.zd.Tickets()
		if len(tks) != 1 {
			t.Fatalf("%d tickets, want 1", len(tks))
		}
		tk := tks[0]
		if got := customerComments(tk); len(got) != 1 || got[0] != "Hola, mi pedido no llegó" {
			t.Errorf("customer comments = %q", got)
		}
		if c := tk.Comments[0]; c.AuthorID != tk.RequesterID || c.AuthorRole != "end-user" || !c.Public {
			t.Errorf("first comment by %d (%s, public %v), want a public comment of the requester %d", c.AuthorID, c.AuthorRole, c.Public, tk.RequesterID)
		}
		if p := r.phoneOf()[tk.RequesterID]; p != ana {
			t.Errorf("requester %d has phone %q, want %s", tk.RequesterID, p, ana)
		}

		// The agent answers in public: the customer gets it once.
		const answer = "Hola Ana, ya lo revisamos"
		if _, err := r.zd.AgentReply(ctx, sbzendesk.ReplyParams{TicketID: tk.ID, Body: answer}); err != nil {
			t.Fatal(err)
		}
		r.eventually(20*time.Second, "agent reply sent", func() (bool, string) {
			got := r.sentTexts(ana)
			return len(got) > 0, fmt.Sprintf("sent %q", got)
		})
		r.settle(20 * time.Second)
		if got := r.sentTexts(ana); len(got) != 1 || got[0] != answer {
			t.Errorf("sent to the customer: %q, want exactly [%q]", got, answer)
		}

		// The customer writes again: same ticket.
		if !r.say(ctx, ana, "Ana", "¡Gracias! ¿Cuándo llega?") {
			t.FailNow()
		}
		r.eventually(20*time.Second, "second message relayed", func() (bool, string) {
			n := 0
			for _, tk := range r.zd.Tickets() {
				n += len(customerComments(tk))
			}
			return n >= 2, fmt.Sprintf("%d customer comments", n)
		})
		s := r.settle(20 * time.Second)
		tks = r.zd.Tickets()
		if len(tks) != 1 {
			t.Fatalf("%d tickets after the second message, want 1", len(tks))
		}
		want := []string{"Hola, mi pedido no llegó", "¡Gracias! ¿Cuándo llega?"}
		if got := customerComments(tks[0]); !slices.Equal(got, want) {
			t.Errorf("customer comments = %q, want %q", got, want)
		}
		if got := r.sentTexts(ana); len(got) != 1 {
			t.Errorf("sent to the customer after the second message: %q, want only the reply", got)
		}
		for _, d := range r.zd.Deliveries() {
			if !d.Delivered {
				t.Errorf("zendesk webhook not delivered: %+v", d)
			}
		}
		if s.DeadLetters != 0 {
			t.Errorf("status %+v: dead letters", s)
		}
	})
}

// engineSeed returns the seed of the random kill points: E2E_ENGINE_SEED,
// else the clock. It is logged so a failure can be replayed.
func engineSeed(t *testing.T) uint64 {
	if v := os.Getenv("E2E_ENGINE_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("E2E_ENGINE_SEED: %v", err)
		}
		return s
	}
	return uint64(time.Now().UnixNano())
}

// TestEngineCrashExactlyOnce SIGKILLs `deskbridge serve` three times while
// 20 customers write 10 texts each, and once more while agents answer
// every ticket twice. Every customer ends with one ticket holding each of
// their texts once and in order, every reply reaches WhatsApp once, and
// nothing is dead-lettered.
func TestEngineCrashExactlyOnce(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	storetest.ForEach(t, func(t *testing.T, kind store.Kind) {
		t.Parallel()
		const (
			customers = 20
			texts     = 10
			total     = customers * texts
		)
		seed := engineSeed(t)
		t.Logf("seed %d (E2E_ENGINE_SEED=%d replays the kill thresholds)", seed, seed)
		rnd := rand.New(rand.NewPCG(seed, 1))
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		r := newEngineRig(t, engineRigOptions{storeURL: storetest.URL(t, kind)})
		r.inst.start()
		start := time.Now()

		phone := func(i int) string { return fmt.Sprintf("346002%05d", i) }
		want := map[string][]string{}
		for i := range customers {
			for j := range texts {
				want[phone(i)] = append(want[phone(i)], fmt.Sprintf("hola c%02d-m%02d", i, j))
			}
		}

		// Phase 1: the customers write, each in order, all at once.
		var sent atomic.Int64
		var wg sync.WaitGroup
		for i := range customers {
			wg.Add(1)
			prnd := rand.New(rand.NewPCG(seed, uint64(i)+2))
			go func() {
				defer wg.Done()
				for _, tx := range want[phone(i)] {
					if !r.say(ctx, phone(i), fmt.Sprintf("Cliente %02d", i), tx) {
						return
					}
					sent.Add(1)
					time.Sleep(time.Duration(prnd.IntN(60)) * time.Millisecond)
				}
			}()
		}
		sendersDone := make(chan struct{})
		go func() { wg.Wait(); close(sendersDone) }()

		// Three SIGKILLs at random points of the relaying: when the helpdesk
		// holds k1 < k2 < k3 of the 200 texts.
		k1 := 5 + rnd.IntN(40)
		k2 := k1 + 30 + rnd.IntN(40)
		k3 := min(k2+30+rnd.IntN(50), total-5)
		for n, k := range []int{k1, k2, k3} {
			r.eventually(60*time.Second, fmt.Sprintf("kill %d: %d texts in the helpdesk", n+1, k), func() (bool, string) {
				got := r.textsIn()
				return got >= k, fmt.Sprintf("%d texts in the helpdesk, %d acknowledged", got, sent.Load())
			})
			time.Sleep(time.Duration(rnd.IntN(150)) * time.Millisecond)
			before := r.textsIn()
			r.restart(time.Duration(100+rnd.IntN(300)) * time.Millisecond)
			t.Logf("SIGKILL %d at %d texts in the helpdesk (%d acknowledged), %.1fs", n+1, before, sent.Load(), time.Since(start).Seconds())
			time.Sleep(300 * time.Millisecond) // some uptime before the next kill
		}
		select {
		case <-sendersDone:
		case <-ctx.Done():
			t.Fatalf("customers' messages not acknowledged: %d of %d", sent.Load(), total)
		}
		if t.Failed() {
			t.FailNow()
		}
		r.eventually(60*time.Second, "every text relayed", func() (bool, string) {
			got := r.textsIn()
			return got >= total, fmt.Sprintf("%d of %d texts in the helpdesk", got, total)
		})
		r.settle(30 * time.Second)
		tickets := r.checkConversations(want)
		t.Logf("phase 1: %d texts in %d tickets, %.1fs", total, len(tickets), time.Since(start).Seconds())
		if t.Failed() {
			t.FailNow()
		}

		// Phase 2: agents answer every ticket twice; one SIGKILL on the way.
		phones := make([]string, 0, len(tickets))
		for p := range tickets {
			phones = append(phones, p)
		}
		sort.Strings(phones)
		replyText := func(round int, p string) string { return fmt.Sprintf("respuesta %d para %s", round, p) }
		var replied atomic.Int64
		repliesDone := make(chan struct{})
		go func() {
			defer close(repliesDone)
			for round := 1; round <= 2; round++ {
				for _, p := range phones {
					if _, err := r.zd.AgentReply(ctx, sbzendesk.ReplyParams{TicketID: tickets[p], Body: replyText(round, p)}); err != nil {
						t.Errorf("agent reply on ticket %d: %v", tickets[p], err)
						return
					}
					replied.Add(1)
					time.Sleep(25 * time.Millisecond)
				}
			}
		}()
		k4 := 5 + rnd.IntN(2*len(phones)-10)
		r.eventually(30*time.Second, fmt.Sprintf("kill 4: %d replies", k4), func() (bool, string) {
			return replied.Load() >= int64(k4), fmt.Sprintf("%d replies", replied.Load())
		})
		time.Sleep(time.Duration(rnd.IntN(200)) * time.Millisecond)
		sentBefore := len(r.wa.Outbound(""))
		r.restart(time.Duration(100+rnd.IntN(300)) * time.Millisecond)
		t.Logf("SIGKILL 4 after %d replies, %d sent to WhatsApp, %.1fs", replied.Load(), sentBefore, time.Since(start).Seconds())
		<-repliesDone
		r.eventually(60*time.Second, "every reply sent", func() (bool, string) {
			n := 0
			for _, p := range phones {
				n += min(len(r.sentTexts(p)), 2)
			}
			return n == 2*len(phones), fmt.Sprintf("%d of %d replies sent", n, 2*len(phones))
		})
		s := r.settle(30 * time.Second)

		for _, p := range phones {
			got := r.sentTexts(p)
			for round := 1; round <= 2; round++ {
				if n := countOf(got, replyText(round, p)); n != 1 {
					t.Errorf("customer %s: reply %d sent %d times, want once (sent %q)", p, round, n, got)
				}
			}
			if len(got) != 2 {
				t.Errorf("customer %s: %d messages sent, want 2: %q", p, len(got), got)
			}
		}
		r.checkConversations(want) // nothing changed on the tickets' customer side
		if s.DeadLetters != 0 {
			t.Errorf("status %+v: dead letters, want none", s)
		}
		for _, d := range r.zd.Deliveries() {
			if !d.Delivered {
				t.Errorf("zendesk webhook given up: %+v", d)
			}
		}
		t.Logf("done in %.1fs: %+v", time.Since(start).Seconds(), s)
	})
}

func countOf(ss []string, s string) int {
	n := 0
	for _, x := range ss {
		if x == s {
			n++
		}
	}
	return n
}

// storm answers every request 429 (Retry-After: 1) for its first phase,
// then 503 until the end of the storm, then passes requests on. The storm
// starts at the first request after arm.
type storm struct {
	next              http.Handler
	limited, outage   time.Duration
	armed             atomic.Bool
	mu                sync.Mutex
	start             time.Time
	n429, n503, nPass atomic.Int64
}

func (s *storm) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if s.armed.Load() {
		s.mu.Lock()
		if s.start.IsZero() {
			s.start = time.Now()
		}
		el := time.Since(s.start)
		s.mu.Unlock()
		switch {
		case el < s.limited:
			s.n429.Add(1)
			w.Header().Set("Retry-After", "1")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"error":"APIRateLimitExceeded","description":"Number of allowed API requests per minute exceeded"}`))
			return
		case el < s.outage:
			s.n503.Add(1)
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("<html><body>503 Service Unavailable</body></html>"))
			return
		}
	}
	s.nPass.Add(1)
	s.next.ServeHTTP(w, req)
}

// TestEngineHelpdeskStorm puts a proxy in front of the Zendesk fake that
// answers 429 and then 503 for the first seconds of the customers'
// traffic: once it passes, every text arrives exactly once, in order, and
// agent replies still reach WhatsApp once.
func TestEngineHelpdeskStorm(t *testing.T) {
	t.Parallel()
	const (
		customers = 10
		texts     = 5
		total     = customers * texts
	)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var st *storm
	r := newEngineRig(t, engineRigOptions{storeURL: storetest.URL(t, store.SQLite),
		zendeskFront: func(fake http.Handler) http.Handler {
			// A real reverse proxy, so the binary talks HTTP to a
			// separate origin.
			origin := httptest.NewServer(fake)
			t.Cleanup(origin.Close)
			u, _ := url.Parse(origin.URL)
			st = &storm{next: httputil.NewSingleHostReverseProxy(u), limited: 1500 * time.Millisecond, outage: 3 * time.Second}
			return st
		}})
	r.inst.start()
	start := time.Now()
	st.armed.Store(true)

	phone := func(i int) string { return fmt.Sprintf("346003%05d", i) }
	want := map[string][]string{}
	var wg sync.WaitGroup
	for i := range customers {
		for j := range texts {
			want[phone(i)] = append(want[phone(i)], fmt.Sprintf("tormenta c%02d-m%02d", i, j))
		}
	}
	for i := range customers {
		mine := want[phone(i)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, tx := range mine {
				if !r.say(ctx, phone(i), fmt.Sprintf("Cliente %02d", i), tx) {
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	r.eventually(90*time.Second, "every text relayed after the storm", func() (bool, string) {
		got := r.textsIn()
		return got >= total, fmt.Sprintf("%d of %d texts in the helpdesk; proxy: %d×429 %d×503 %d passed",
			got, total, st.n429.Load(), st.n503.Load(), st.nPass.Load())
	})
	t.Logf("texts relayed after %.1fs; proxy: %d×429 %d×503 %d passed", time.Since(start).Seconds(),
		st.n429.Load(), st.n503.Load(), st.nPass.Load())
	r.settle(30 * time.Second)
	tickets := r.checkConversations(want)
	if st.n429.Load() == 0 || st.n503.Load() == 0 {
		t.Errorf("the storm did not hit the binary: %d×429, %d×503", st.n429.Load(), st.n503.Load())
	}
	if t.Failed() {
		t.FailNow()
	}

	// After the storm, agent replies go through as usual.
	for p, id := range tickets {
		if _, err := r.zd.AgentReply(ctx, sbzendesk.ReplyParams{TicketID: id, Body: "respuesta para " + p}); err != nil {
			t.Fatal(err)
		}
	}
	r.eventually(60*time.Second, "every reply sent", func() (bool, string) {
		n := 0
		for p := range tickets {
			n += min(len(r.sentTexts(p)), 1)
		}
		return n == len(tickets), fmt.Sprintf("%d of %d replies sent", n, len(tickets))
	})
	s := r.settle(30 * time.Second)
	for p := range tickets {
		if got := r.sentTexts(p); len(got) != 1 || got[0] != "respuesta para "+p {
			t.Errorf("customer %s: sent %q, want the one reply", p, got)
		}
	}
	r.checkConversations(want)
	if s.DeadLetters != 0 {
		t.Errorf("status %+v: dead letters, want none", s)
	}
	t.Logf("done in %.1fs: %+v", time.Since(start).Seconds(), s)
}
