// Package e2e runs the real deskbridge binary on loopback and drives it as
// Meta would: signed webhooks, batches, re-deliveries, and a SIGKILL in the
// middle of a load.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/deskbridge/deskbridge/connectors/whatsapp"
	"github.com/deskbridge/deskbridge/store"
)

const (
	appSecret   = "e2e-app-secret"
	verifyToken = "e2e-verify-token"
	phoneID     = "106540352242922"
	wabaID      = "102290129340398"
)

var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "deskbridge-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "deskbridge")
	build := exec.Command("go", "build", "-o", binPath, "../../cmd/deskbridge")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: build deskbridge:", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// instance is one deskbridge serve configuration; it may be started and
// killed several times.
type instance struct {
	t          *testing.T
	configPath string
	storeURL   string
	public     string // http://127.0.0.1:port
	internal   string
	logPath    string

	mu  sync.Mutex
	cmd *exec.Cmd
}

func newInstance(t *testing.T, storeURL string, queueYAML string) *instance {
	t.Helper()
	dir := t.TempDir()
	pub, in := freePort(t), freePort(t)
	cfg := fmt.Sprintf(`store:
  url: %q
log:
  level: warn
  format: text
server:
  public_addr: "127.0.0.1:%d"
  internal_addr: "127.0.0.1:%d"
  shutdown_timeout: 10s
queue:
%s
whatsapp:
  app_secret: "env://E2E_APP_SECRET"
  verify_token: "env://E2E_VERIFY_TOKEN"
  numbers:
    - phone_number_id: %q
      waba_id: %q
`, storeURL, pub, in, queueYAML, phoneID, wabaID)
	p := filepath.Join(dir, "deskbridge.yaml")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	inst := &instance{t: t, configPath: p, storeURL: storeURL, logPath: filepath.Join(dir, "serve.log"),
		public: fmt.Sprintf("http://127.0.0.1:%d", pub), internal: fmt.Sprintf("http://127.0.0.1:%d", in)}
	t.Cleanup(inst.stop)
	return inst
}

func (in *instance) env() []string {
	return append(os.Environ(), "E2E_APP_SECRET="+appSecret, "E2E_VERIFY_TOKEN="+verifyToken)
}

// start runs `deskbridge serve` and waits until /readyz answers 200.
func (in *instance) start() {
	t := in.t
	t.Helper()
	logf, err := os.OpenFile(in.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binPath, "serve", "--config", in.configPath)
	cmd.Env = in.env()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	in.mu.Lock()
	in.cmd = cmd
	in.mu.Unlock()
	go func() { _ = cmd.Wait(); _ = logf.Close() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(in.internal + "/readyz")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(in.logPath)
			t.Fatalf("deskbridge serve not ready after 30s; log:\n%s", log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill sends sig and waits for the process to exit.
func (in *instance) kill(sig syscall.Signal) {
	in.mu.Lock()
	cmd := in.cmd
	in.cmd = nil
	in.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
}

func (in *instance) stop() { in.kill(syscall.SIGTERM) }

// post sends a signed webhook and returns the status code (0 when the
// request failed).
func (in *instance) post(ctx context.Context, client *http.Client, body []byte) int {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.public+"/webhooks/whatsapp", bytes.NewReader(body))
	if err != nil {
		return 0
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hub-Signature-256", whatsapp.Sign(body, []byte(appSecret)))
	resp, err := client.Do(req)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode
}

// status runs `deskbridge status --json`.
func (in *instance) status() store.Stats {
	t := in.t
	t.Helper()
	cmd := exec.Command(binPath, "status", "--json", "--config", in.configPath)
	cmd.Env = in.env()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("deskbridge status: %v: %s", err, errb.String())
	}
	var s store.Stats
	if err := json.Unmarshal(out.Bytes(), &s); err != nil {
		t.Fatalf("status --json: %v: %s", err, out.String())
	}
	return s
}

// waitDrained polls status until nothing is pending and no job is left.
func (in *instance) waitDrained(timeout time.Duration) store.Stats {
	t := in.t
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s := in.status()
		if s.EventsPending == 0 && s.JobsPending == 0 {
			return s
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(in.logPath)
			t.Fatalf("not drained after %s: %+v\nlog tail:\n%s", timeout, s, tail(string(log), 3000))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// msg is a text message item.
type msg struct {
	From, ID, Text string
	TS             int64
}

// status item.
type stat struct {
	ID, Status string
	TS         int64
	Recipient  string
}

// body builds a notification with one entry per group of items.
func body(entries ...[]any) []byte {
	var es []string
	for _, items := range entries {
		var msgs, stats, contacts []string
		for _, it := range items {
			switch v := it.(type) {
			case msg:
				msgs = append(msgs, fmt.Sprintf(`{"from":%q,"id":%q,"timestamp":"%d","type":"text","text":{"body":%q}}`, v.From, v.ID, v.TS, v.Text))
				contacts = append(contacts, fmt.Sprintf(`{"profile":{"name":"Cliente %s"},"wa_id":%q}`, v.From[len(v.From)-2:], v.From))
			case stat:
				stats = append(stats, fmt.Sprintf(`{"id":%q,"status":%q,"timestamp":"%d","recipient_id":%q}`, v.ID, v.Status, v.TS, v.Recipient))
			}
		}
		value := fmt.Sprintf(`"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":%q}`, phoneID)
		if len(msgs) > 0 {
			value += `,"contacts":[` + strings.Join(contacts, ",") + `],"messages":[` + strings.Join(msgs, ",") + `]`
		}
		if len(stats) > 0 {
			value += `,"statuses":[` + strings.Join(stats, ",") + `]`
		}
		es = append(es, fmt.Sprintf(`{"id":%q,"changes":[{"field":"messages","value":{%s}}]}`, wabaID, value))
	}
	return []byte(`{"object":"whatsapp_business_account","entry":[` + strings.Join(es, ",") + `]}`)
}
