package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/deskbridge/deskbridge/config"
	"github.com/deskbridge/deskbridge/connectors"
	"github.com/deskbridge/deskbridge/connectors/zendesk"
)

// freePorts are the flags that make `deskbridge sandbox` listen on ports
// the system picks, so that tests run in parallel with each other and with
// a sandbox on the default ports.
var freePorts = []string{"--public-addr", "127.0.0.1:0", "--internal-addr", "127.0.0.1:0",
	"--whatsapp-addr", "127.0.0.1:0", "--zendesk-addr", "127.0.0.1:0"}

// fullSandbox is `deskbridge sandbox` running in a goroutine.
type fullSandbox struct {
	cancel         context.CancelFunc
	done           chan int
	stdout, stderr *syncBuffer
	statePath      string
	st             sandboxState
}

// startFullSandbox runs `deskbridge sandbox` on free ports with args, and
// waits until its state file is written and the bridge is ready. The
// sandbox is stopped when the test ends.
func startFullSandbox(t *testing.T, args ...string) *fullSandbox {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &fullSandbox{cancel: cancel, done: make(chan int, 1), stdout: &syncBuffer{}, stderr: &syncBuffer{},
		statePath: filepath.Join(t.TempDir(), "state", "state.json")}
	full := append(append([]string{"sandbox", "--state", s.statePath}, freePorts...), args...)
	go func() { s.done <- run(ctx, full, s.stdout, s.stderr) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(30 * time.Second):
			t.Error("the sandbox did not stop within 30s")
		}
	})
	for deadline := time.Now().Add(60 * time.Second); ; {
		select {
		case code := <-s.done:
			s.done <- code
			t.Fatalf("the sandbox exited early with code %d; stderr:\n%s", code, s.stderr.String())
		default:
		}
		if b, err := os.ReadFile(s.statePath); err == nil && json.Unmarshal(b, &s.st) == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no state file after 60s; stderr:\n%s", s.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code, body, err := httpGet(ctx, s.st.InternalURL+"/readyz"); err != nil || code != http.StatusOK {
		t.Fatalf("GET /readyz = %d %q, %v once the state file is written; want 200", code, body, err)
	}
	return s
}

// stop cancels the sandbox, as Ctrl-C does, and checks that it returns 0
// and releases its ports.
func (s *fullSandbox) stop(t *testing.T) {
	t.Helper()
	s.cancel()
	select {
	case code := <-s.done:
		s.done <- code
		if code != 0 {
			t.Errorf("sandbox exit code = %d after cancel, want 0; stderr:\n%s", code, s.stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the sandbox did not return within 30s of cancel")
	}
	checkNoPanic(t, s.stdout.String())
	for _, u := range []string{s.st.PublicURL, s.st.InternalURL, s.st.WhatsAppURL, s.st.ZendeskURL} {
		if conn, err := net.DialTimeout("tcp", strings.TrimPrefix(u, "http://"), time.Second); err == nil {
			conn.Close()
			t.Errorf("%s still accepts connections after the sandbox stopped", u)
		}
	}
}

// cli runs a client command (say, reply, show) against this sandbox.
func (s *fullSandbox) cli(t *testing.T, sub string, args ...string) (int, string, string) {
	t.Helper()
	return runCmd(t, append([]string{"sandbox", sub, "--state", s.statePath}, args...)...)
}

// cliOK runs a client command that must succeed silently on stderr and
// returns its stdout.
func (s *fullSandbox) cliOK(t *testing.T, sub string, args ...string) string {
	t.Helper()
	code, stdout, stderr := s.cli(t, sub, args...)
	if code != 0 || stderr != "" {
		t.Fatalf("sandbox %s %q: exit code %d, stderr %q; want 0 and nothing", sub, args, code, stderr)
	}
	return stdout
}

// metric returns the value of the sample whose line starts with series
// (name and labels), 0 when absent.
func (s *fullSandbox) metric(t *testing.T, series string) float64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	code, body, err := httpGet(ctx, s.st.InternalURL+"/metrics")
	if err != nil || code != http.StatusOK {
		t.Fatalf("GET /metrics = %d, %v", code, err)
	}
	for l := range strings.Lines(body) {
		if rest, ok := strings.CutPrefix(l, series+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err != nil {
				t.Fatalf("metric line %q: %v", l, err)
			}
			return v
		}
	}
	return 0
}

// eventually polls cond every 50 ms for up to 20 s; it fails with what
// cond last said.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	var last string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var ok bool
		if ok, last = cond(); ok {
			return
		}
	}
	t.Fatalf("%s: not true after 20s: %s", what, last)
}

// show runs `sandbox show --json` and decodes it.
func (s *fullSandbox) show(t *testing.T) sandboxView {
	t.Helper()
	var v sandboxView
	if err := json.Unmarshal([]byte(s.cliOK(t, "show", "--json")), &v); err != nil {
		t.Fatalf("show --json: %v", err)
	}
	return v
}

const (
	storedMessages    = `deskbridge_webhook_events_total{kind="message",result="stored",source="whatsapp"}`
	storedAgentReplys = `deskbridge_webhook_events_total{kind="agent_reply",result="stored",source="zendesk"}`
)

// sandboxSecretNames are the secret files a run writes.
var sandboxSecretNames = []string{"whatsapp-app-secret", "whatsapp-verify-token", "whatsapp-access-token",
	"zendesk-api-token", "zendesk-webhook-secret"}

// checkSandboxFiles checks the run's files: 0600 secrets that the
// configuration names by file:// reference, and no secret value in the
// configuration, the state file or what the sandbox printed.
func checkSandboxFiles(t *testing.T, s *fullSandbox) {
	t.Helper()
	if fi, err := os.Stat(s.statePath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("state file %s: %v, mode %v; want 0600", s.statePath, err, fi.Mode().Perm())
	}
	cfgText, err := os.ReadFile(s.st.Config)
	if err != nil {
		t.Fatalf("configuration: %v", err)
	}
	state, _ := os.ReadFile(s.statePath)
	for _, name := range sandboxSecretNames {
		p := filepath.Join(s.st.Dir, name)
		fi, err := os.Stat(p)
		if err != nil {
			t.Errorf("secret file %s: %v", name, err)
			continue
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("secret file %s has mode %v, want 0600", name, fi.Mode().Perm())
		}
		b, _ := os.ReadFile(p)
		v := strings.TrimSpace(string(b))
		if len(v) < 20 {
			t.Errorf("secret %s = %q, want a long random value", name, v)
		}
		for what, text := range map[string]string{"configuration": string(cfgText), "state file": string(state),
			"stdout": s.stdout.String(), "stderr": s.stderr.String()} {
			if strings.Contains(text, v) {
				t.Errorf("the %s contains the value of %s", what, name)
			}
		}
		if !strings.Contains(string(cfgText), "file://"+p) {
			t.Errorf("the configuration does not refer to file://%s", p)
		}
	}
	cfg, err := config.LoadEnviron(s.st.Config, nil)
	if err != nil {
		t.Fatalf("the written configuration does not load: %v", err)
	}
	for _, ns := range cfg.Secrets() {
		if ref, err := ns.Secret.Ref(); err != nil || ref.Scheme != config.SchemeFile {
			t.Errorf("%s = %s, want a file:// reference", ns.Path, ns.Secret)
		}
	}
	h := cfg.Helpdesks[sandboxHelpdesk]
	if h.Kind != "zendesk" || h.BaseURL != s.st.ZendeskURL || h.WebhookSecret == "" || cfg.WhatsApp.Numbers[0].Helpdesk != sandboxHelpdesk {
		t.Errorf("helpdesks.sandbox = %+v, number helpdesk %q; want the Zendesk fake with a webhook secret", h, cfg.WhatsApp.Numbers[0].Helpdesk)
	}
	if cfg.WhatsApp.APIBaseURL != s.st.WhatsAppURL || cfg.Server.PublicURL != s.st.PublicURL {
		t.Errorf("whatsapp.api_base_url %q, server.public_url %q; want %s and %s", cfg.WhatsApp.APIBaseURL, cfg.Server.PublicURL, s.st.WhatsAppURL, s.st.PublicURL)
	}
}

// zendeskAPI is the connector of the run's Zendesk fake, as the engine
// will use it.
func zendeskAPI(t *testing.T, s *fullSandbox) *zendesk.Client {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.st.Dir, "zendesk-api-token"))
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(string(b))
	c, err := zendesk.New(zendesk.Config{Name: sandboxHelpdesk, BaseURL: s.st.ZendeskURL, Email: sandboxZendeskEmail,
		APIToken: func(context.Context) (string, error) { return token, nil }})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// openTicket opens a ticket for the customer in the Zendesk fake through
// the connector and returns its id.
func openTicket(t *testing.T, s *fullSandbox, phone, name, text string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	zc := zendeskAPI(t, s)
	contact, err := zc.FindOrCreateContact(ctx, &connectors.ContactParams{ExternalID: "whatsapp:" + phone, Phone: phone, Name: name})
	if err != nil {
		t.Fatalf("FindOrCreateContact: %v", err)
	}
	res, err := zc.CreateTicket(ctx, &connectors.CreateTicketParams{Requester: contact.Contact, Subject: text, Body: text,
		IdempotencyKey: "test-" + text})
	if err != nil {
		t.Fatalf("CreateTicket: %v", err)
	}
	return res.Ticket.ID
}

func TestSandboxRun(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "run")
	s := startFullSandbox(t, "--dir", dir)
	if s.st.Dir != dir || s.st.Config != filepath.Join(dir, sandboxConfigFile) || s.st.PID != os.Getpid() {
		t.Errorf("state = %+v, want dir %s and this process", s.st, dir)
	}
	out := s.stdout.String()
	checkContains(t, "stdout", out, "deskbridge sandbox is running", s.st.PublicURL, s.st.WhatsAppURL, s.st.ZendeskURL,
		"sandbox say --state "+s.statePath+` --from +34600111222 --name Ana "Hola, where is my order?"`,
		"sandbox show --state "+s.statePath, `sandbox reply --state `+s.statePath+` 1 "Hi Ana`, "--note",
		"status --config "+s.st.Config, "curl -s "+s.st.InternalURL+"/metrics | grep deskbridge_webhook", "Ctrl-C", "kept on exit")
	checkSandboxFiles(t, s)

	// A customer writes: the WhatsApp fake delivers the signed webhook and
	// the bridge stores the messages.
	wamid := strings.TrimSpace(s.cliOK(t, "say", "--from", "+34600111222", "--name", "Ana", "hola"))
	if !strings.HasPrefix(wamid, "wamid.") {
		t.Fatalf("say printed %q, want a wamid", wamid)
	}
	img := writeFile(t, "photo.png", "\x89PNG\r\n\x1a\n0000")
	imgWAMID := strings.TrimSpace(s.cliOK(t, "say", "--from", "+34600111222", "--image", img, "my receipt"))
	doc := writeFile(t, "order.pdf", "%PDF-1.4\n%%EOF\n")
	docWAMID := strings.TrimSpace(s.cliOK(t, "say", "--from", "+34600111222", "--document", doc))
	if s.metric(t, storedMessages) != 3 {
		t.Errorf("%s = %v, want 3", storedMessages, s.metric(t, storedMessages))
	}
	eventually(t, "status counts the 3 events", func() (bool, string) {
		code, stdout, stderr := runCmd(t, "status", "--json", "--config", s.st.Config)
		var st struct {
			EventsTotal int `json:"events_total"`
		}
		return code == 0 && json.Unmarshal([]byte(stdout), &st) == nil && st.EventsTotal >= 3, stdout + stderr
	})

	// An agent answers a ticket: the trigger sends the signed webhook to
	// the bridge, which stores the reply. A note fires nothing.
	ticket := openTicket(t, s, "+34600111222", "Ana", "Where is my order?")
	cid := strings.TrimSpace(s.cliOK(t, "reply", ticket, "Hola Ana,", "your order ships today."))
	if _, err := strconv.ParseInt(cid, 10, 64); err != nil {
		t.Errorf("reply printed %q, want a comment id", cid)
	}
	eventually(t, "the bridge stores the agent reply", func() (bool, string) {
		v := s.metric(t, storedAgentReplys)
		return v == 1, fmt.Sprintf("%s = %v", storedAgentReplys, v)
	})
	s.cliOK(t, "reply", "--note", ticket, "internal: check the warehouse")
	invoice := writeFile(t, "invoice.pdf", "%PDF-1.4\ninvoice\n%%EOF\n")
	s.cliOK(t, "reply", "--attach", invoice, ticket, "Here is your invoice")
	eventually(t, "the bridge stores the second agent reply", func() (bool, string) {
		v := s.metric(t, storedAgentReplys)
		return v == 2, fmt.Sprintf("%s = %v", storedAgentReplys, v)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var flushed struct {
		OK bool `json:"ok"`
	}
	c := findSandbox(s.statePath)
	if err := c.call(ctx, http.MethodPost, s.st.ZendeskURL+"/_sandbox/flush", nil, &flushed); err != nil || !flushed.OK {
		t.Fatalf("flush the Zendesk fake: %v", err)
	}
	var deliveries struct {
		Deliveries []struct {
			URL        string `json:"url"`
			Signature  string `json:"signature"`
			LastStatus int    `json:"last_status"`
			Delivered  bool   `json:"delivered"`
		} `json:"deliveries"`
	}
	if err := c.call(ctx, http.MethodGet, s.st.ZendeskURL+"/_sandbox/webhooks/deliveries", nil, &deliveries); err != nil {
		t.Fatal(err)
	}
	if len(deliveries.Deliveries) != 2 {
		t.Errorf("the Zendesk fake sent %d webhooks, want 2 (the note sends none): %+v", len(deliveries.Deliveries), deliveries)
	}
	for _, d := range deliveries.Deliveries {
		if d.URL != s.st.PublicURL+"/webhooks/zendesk" || d.Signature == "" || d.LastStatus != http.StatusOK || !d.Delivered {
			t.Errorf("delivery %+v, want a signed call to the bridge answered 200", d)
		}
	}
	if v := s.metric(t, storedAgentReplys); v != 2 {
		t.Errorf("%s = %v after the note, want 2", storedAgentReplys, v)
	}

	// show prints both sides.
	code, text, stderr := s.cli(t, "show")
	if code != 0 || stderr != "" {
		t.Fatalf("show: exit code %d, stderr %q", code, stderr)
	}
	// Once the engine runs, the customer's messages open a ticket of their
	// own and agent replies may be sent back: only what this test made is
	// checked.
	checkContains(t, "show", text, "Zendesk tickets (", "#"+ticket+"  open", `"Where is my order?"`, "requester Ana <+34600111222>",
		"Hola Ana, your order ships today.", "internal note: internal: check the warehouse", "attachments: invoice.pdf",
		"WhatsApp conversations (1)", "+34600111222 Ana with number "+sandboxPhoneNumberID,
		"← Ana: hola  (text "+wamid+"; bridge: delivered 200)", "← Ana: my receipt  (image image/png "+imgWAMID,
		"(document order.pdf "+docWAMID)
	v := s.show(t)
	var tk *viewTicket
	for i := range v.Tickets {
		if strconv.FormatInt(v.Tickets[i].ID, 10) == ticket {
			tk = &v.Tickets[i]
		}
	}
	if tk == nil || tk.Requester.Phone != "+34600111222" || len(tk.Comments) != 4 {
		t.Errorf("ticket %s = %+v, want the ticket of +34600111222 with 4 comments", ticket, tk)
	} else {
		for i, want := range []struct {
			public bool
			role   string
			files  int
		}{{true, "end-user", 0}, {true, "agent", 0}, {false, "agent", 0}, {true, "agent", 1}} {
			if cm := tk.Comments[i]; cm.Public != want.public || cm.AuthorRole != want.role || len(cm.Attachments) != want.files || cm.Time.IsZero() {
				t.Errorf("comment %d = %+v, want public %v by %s with %d attachment(s)", i, cm, want.public, want.role, want.files)
			}
		}
	}
	if len(v.Conversations) != 1 {
		t.Fatalf("show --json: %d conversations, want Ana's", len(v.Conversations))
	}
	conv := v.Conversations[0]
	var inbound []viewMessage
	for _, m := range conv.Messages {
		if m.Direction == "in" {
			inbound = append(inbound, m)
		}
	}
	if conv.Customer != "+34600111222" || conv.Name != "Ana" || len(inbound) != 3 {
		t.Errorf("conversation = %+v, want Ana's 3 messages", conv)
	} else {
		for i, id := range []string{wamid, imgWAMID, docWAMID} {
			if m := inbound[i]; m.ID != id || m.Status != "delivered" || m.WebhookStatus != 200 {
				t.Errorf("message %d = %+v, want %s delivered to the bridge", i, m, id)
			}
		}
	}

	s.stop(t)
	if _, err := os.Stat(s.statePath); !os.IsNotExist(err) {
		t.Errorf("state file still there after exit (stat: %v)", err)
	}
	if _, err := os.Stat(filepath.Join(dir, sandboxStoreFile)); err != nil {
		t.Errorf("--dir: the store is gone after exit: %v", err)
	}
	// The clients now find no sandbox.
	code, stdout, stderr := s.cli(t, "show")
	if code != 1 || stderr != "deskbridge: no sandbox is running; start one with `deskbridge sandbox`\n" {
		t.Errorf("show after exit: exit code %d, stderr %q", code, stderr)
	}
	checkOneLineError(t, stdout, stderr)
	// A second run in the same --dir is refused: its store belongs to the
	// fakes of the first run.
	code, stdout, stderr = runCmd(t, append(append([]string{"sandbox", "--state", s.statePath}, freePorts...), "--dir", dir)...)
	if code != 1 || !strings.Contains(stderr, "already holds a store") {
		t.Errorf("second run in --dir: exit code %d, stderr %q", code, stderr)
	}
	checkOneLineError(t, stdout, stderr)
}

func TestSandboxTempDir(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		kept bool
	}{
		{"removed on exit", nil, false},
		{"--keep", []string{"--keep"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := startFullSandbox(t, append(tc.args, "--log-level", "warn")...)
			if tc.kept {
				t.Cleanup(func() { os.RemoveAll(s.st.Dir) })
			}
			if !strings.HasPrefix(filepath.Base(s.st.Dir), "deskbridge-sandbox-run-") {
				t.Errorf("dir = %s, want a temporary deskbridge-sandbox-run-* directory", s.st.Dir)
			}
			checkSandboxFiles(t, s)
			want := "removed on exit"
			if tc.kept {
				want = "kept on exit"
			}
			checkContains(t, "stdout", s.stdout.String(), s.st.Dir, want)
			s.stop(t)
			if _, err := os.Stat(s.st.Dir); tc.kept != (err == nil) {
				t.Errorf("after exit, stat %s: %v; want kept=%v", s.st.Dir, err, tc.kept)
			}
			if _, err := os.Stat(s.statePath); !os.IsNotExist(err) {
				t.Errorf("state file still there after exit (stat: %v)", err)
			}
		})
	}
}

func TestSandboxStartErrors(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { busy.Close() }) // after the parallel subtests
	taken := busy.Addr().String()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"public port busy", []string{"--public-addr", taken}, "pass --public-addr HOST:PORT"},
		{"internal port busy", []string{"--internal-addr", taken}, "pass --internal-addr HOST:PORT"},
		{"whatsapp port busy", []string{"--whatsapp-addr", taken}, "pass --whatsapp-addr HOST:PORT"},
		{"zendesk port busy", []string{"--zendesk-addr", taken}, "pass --zendesk-addr HOST:PORT"},
		{"not loopback", []string{"--whatsapp-addr", "0.0.0.0:0"}, `--whatsapp-addr "0.0.0.0:0": the sandbox listens on loopback only`},
		{"no port", []string{"--public-addr", "localhost"}, `--public-addr "localhost": must be host:port`},
		{"log level", []string{"--log-level", "loud"}, "--log-level"},
		{"extra argument", []string{"now"}, `unknown command "now"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			state := filepath.Join(t.TempDir(), "state.json")
			// Later flags win: tc.args override the free ports.
			code, stdout, stderr := runCmd(t, append(append([]string{"sandbox", "--state", state}, freePorts...), tc.args...)...)
			if code != 1 {
				t.Errorf("exit code = %d, want 1", code)
			}
			checkOneLineError(t, stdout, stderr)
			checkContains(t, "stderr", stderr, tc.want)
			if _, err := os.Stat(state); !os.IsNotExist(err) {
				t.Errorf("a failed start wrote the state file (stat: %v)", err)
			}
		})
	}
}

func TestSandboxConversationFlow(t *testing.T) {
	t.Parallel()
	s := startFullSandbox(t, "--log-level", "warn")
	const phone, question, answer = "+34600111222", "Hola, where is my order?", "Hi Ana, your order ships today."

	// The customer's message opens a ticket requested by the customer.
	wamid := strings.TrimSpace(s.cliOK(t, "say", "--from", phone, "--name", "Ana", question))
	var ticket viewTicket
	eventually(t, "say opens a ticket", func() (bool, string) {
		v := s.show(t)
		for _, tk := range v.Tickets {
			if tk.Requester.Phone == phone && len(tk.Comments) > 0 && tk.Comments[0].Body == question {
				ticket = tk
				return true, ""
			}
		}
		return false, fmt.Sprintf("%+v", v.Tickets)
	})
	if ticket.Requester.ExternalID != "whatsapp:"+phone || ticket.Requester.Name != "Ana" || !ticket.Comments[0].Public ||
		ticket.Comments[0].AuthorRole != "end-user" {
		t.Errorf("ticket = %+v, want a public first comment by Ana (whatsapp:%s)", ticket, phone)
	}
	// A second message joins the same ticket.
	s.cliOK(t, "say", "--from", phone, "--name", "Ana", "It is order 1234")
	eventually(t, "the second message joins the ticket", func() (bool, string) {
		v := s.show(t)
		for _, tk := range v.Tickets {
			if tk.ID == ticket.ID {
				return len(tk.Comments) == 2 && tk.Comments[1].Body == "It is order 1234" && len(v.Tickets) == 1, fmt.Sprintf("%+v", v.Tickets)
			}
		}
		return false, fmt.Sprintf("%+v", v.Tickets)
	})

	// The agent's public reply reaches the customer on WhatsApp; the note
	// does not.
	id := strconv.FormatInt(ticket.ID, 10)
	s.cliOK(t, "reply", "--note", id, "internal: check the warehouse")
	s.cliOK(t, "reply", id, answer)
	eventually(t, "the reply is sent to WhatsApp", func() (bool, string) {
		v := s.show(t)
		for _, c := range v.Conversations {
			if c.Customer != phone {
				continue
			}
			var out []viewMessage
			for _, m := range c.Messages {
				if m.Direction == "out" {
					out = append(out, m)
				}
			}
			ok := len(out) == 1 && out[0].Text == answer && (out[0].Status == "delivered" || out[0].Status == "read")
			return ok, fmt.Sprintf("%+v", c.Messages)
		}
		return false, fmt.Sprintf("%+v", v.Conversations)
	})
	if v := s.show(t); len(v.Conversations) != 1 || v.Conversations[0].Messages[0].ID != wamid {
		t.Errorf("conversations = %+v, want Ana's thread starting with %s", v.Conversations, wamid)
	}
	s.stop(t)
}
