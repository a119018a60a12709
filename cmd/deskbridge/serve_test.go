package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/deskbridge/deskbridge/connectors/whatsapp"
)

func TestServeUnreachableStore(t *testing.T) {
	t.Parallel()
	const password = "s3cretpw-xyz"
	storeURL := "postgres://u:" + password + "@127.0.0.1:1/db?connect_timeout=1"
	p := writeFile(t, "deskbridge.yaml", exampleConfig(t, storeURL))
	start := time.Now()
	code, stdout, stderr := runCmd(t, "serve", "--config", p)
	if elapsed := time.Since(start); elapsed > 20*time.Second {
		t.Errorf("serve took %s to give up on an unreachable store", elapsed)
	}
	if code != 1 {
		t.Errorf("exit code = %d, want 1", code)
	}
	checkNoPanic(t, stdout+stderr)
	if stdout != "" {
		t.Errorf("stdout = %q, want empty", stdout)
	}
	lines := nonEmptyLines(stderr)
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "deskbridge: store: connect ") || !strings.Contains(lines[0], "unreachable") {
		t.Errorf("stderr = %q, want a first line saying the store is unreachable", stderr)
	}
	t.Run("one line", func(t *testing.T) {
		if len(lines) > 1 {
			// pgx joins its connection attempts (TLS, then plain text
			// with the default sslmode=prefer) with "\n\t"; run must fold
			// them into one line.
			t.Errorf("serve printed the cause on %d lines, want 1:\n%s", len(lines), stderr)
		}
	})
	if !strings.Contains(stderr, "127.0.0.1:1") {
		t.Errorf("stderr = %q, want it to name the store address", stderr)
	}
	if strings.Contains(stdout+stderr, password) {
		t.Errorf("output shows the store password:\n%s", stderr)
	}
}

func TestServeVaultSecret(t *testing.T) {
	t.Parallel()
	// A Vault on loopback that refuses the token, and an address where
	// nothing listens: serve stops with one line naming the cause, before
	// opening the store, and never shows the token.
	denying := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"errors":["permission denied"]}`))
	}))
	t.Cleanup(denying.Close)
	for _, tc := range []struct {
		name, addr string
		want       []string
	}{
		{"token refused", denying.URL, []string{"vault", "denied", "permission denied"}},
		{"unreachable", "http://127.0.0.1:1", []string{"vault", "unreachable"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			storeURL, dbPath := sqliteURL(t)
			cfg := exampleConfig(t, storeURL,
				"env://WA_APP_SECRET?default=sandbox-app-secret", "vault://secret/x#k",
			) + `vault:
  address: "` + tc.addr + `"
  auth:
    method: token
    token: "env://DESKBRIDGE_TEST_UNSET_VAULT_TOKEN?default=dev-root-token"
`
			p := writeFile(t, "deskbridge.yaml", cfg)
			if code, _, stderr := runCmd(t, "config", "validate", "--config", p); code != 0 {
				t.Fatalf("config validate: exit code = %d, want 0; stderr:\n%s", code, stderr)
			}
			code, stdout, stderr := runCmd(t, "serve", "--config", p)
			if code != 1 {
				t.Errorf("exit code = %d, want 1", code)
			}
			checkOneLineError(t, stdout, stderr)
			for _, want := range tc.want {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr = %q, want it to contain %q", stderr, want)
				}
			}
			if strings.Contains(stderr, "dev-root-token") {
				t.Errorf("stderr shows the vault token: %q", stderr)
			}
			if _, err := os.Stat(dbPath); !os.IsNotExist(err) {
				t.Errorf("serve created the store %s before failing (stat: %v)", dbPath, err)
			}
		})
	}
}

func TestServeInvalidConfig(t *testing.T) {
	t.Parallel()
	p := writeFile(t, "problems.yaml", problemsConfig)
	code, stdout, stderr := runCmd(t, "serve", "--config", p)
	if code != 1 {
		t.Errorf("exit code = %d, want 1", code)
	}
	if stdout != "" {
		t.Errorf("stdout = %q, want empty", stdout)
	}
	checkNoPanic(t, stderr)
	if !strings.Contains(stderr, "helpdesks.support.kind: must be one of zendesk, freshdesk, hubspot") {
		t.Errorf("stderr does not list the problems:\n%s", stderr)
	}
}

// serveConfig returns a configuration based on the example that serves on
// the given addresses with a SQLite store at storeURL.
func serveConfig(t *testing.T, storeURL, publicAddr, internalAddr string) string {
	t.Helper()
	return exampleConfig(t, storeURL, "  format: text", "  level: warn\n  format: text") + `server:
  public_addr: "` + publicAddr + `"
  internal_addr: "` + internalAddr + `"
  shutdown_timeout: 5s
queue:
  poll_interval: 50ms
`
}

// httpGet fetches url and returns the status code and body.
func httpGet(ctx context.Context, url string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// webhookBody is a WhatsApp notification with one text message to the
// example's number.
const webhookBody = `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Ren\u00e9"},"wa_id":"16505551234"}],"messages":[{"from":"16505551234","id":"wamid.SERVE1","timestamp":"1749416383","type":"text","text":{"body":"Ol\u00e1"}}]}}]}]}`

func postWebhook(ctx context.Context, url, body, signature string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	if signature != "" {
		req.Header.Set("X-Hub-Signature-256", signature)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// envOr returns the value of the environment variable name, or def when it
// is unset: the example's secrets are env references with defaults.
func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

func TestServeLifecycle(t *testing.T) {
	t.Parallel()
	storeURL, dbPath := sqliteURL(t)
	publicAddr, internalAddr := freeAddr(t), freeAddr(t)
	p := writeFile(t, "deskbridge.yaml", serveConfig(t, storeURL, publicAddr, internalAddr))
	verifyToken := envOr("WA_VERIFY_TOKEN", "sandbox-verify-token")
	appSecret := envOr("WA_APP_SECRET", "sandbox-app-secret")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"serve", "--config", p}, &stdout, &stderr) }()

	// Wait until ready; fail early if serve exits.
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case code := <-done:
			t.Fatalf("serve exited early with code %d; stderr:\n%s", code, stderr.String())
		default:
		}
		rctx, rcancel := context.WithTimeout(ctx, 2*time.Second)
		code, body, err := httpGet(rctx, "http://"+internalAddr+"/readyz")
		rcancel()
		if err == nil && code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("/readyz not 200 after 20s: code %d, body %q, err %v; stderr:\n%s", code, body, err, stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	reqCtx, reqCancel := context.WithTimeout(ctx, 10*time.Second)
	defer reqCancel()
	if _, err := os.Stat(dbPath); err != nil {
		t.Errorf("serve did not create the store at %s: %v", dbPath, err)
	}
	if code, body, err := httpGet(reqCtx, "http://"+internalAddr+"/livez"); err != nil || code != http.StatusOK {
		t.Errorf("GET /livez = %d %q, %v; want 200", code, body, err)
	}

	// The subscription handshake.
	handshake := []struct {
		name     string
		token    string
		wantCode int
		wantBody string
	}{
		{"right token", verifyToken, http.StatusOK, "123"},
		{"wrong token", verifyToken + "-wrong", http.StatusForbidden, ""},
	}
	for _, h := range handshake {
		url := "http://" + publicAddr + "/webhooks/whatsapp?hub.mode=subscribe&hub.challenge=123&hub.verify_token=" + h.token
		code, body, err := httpGet(reqCtx, url)
		if err != nil {
			t.Errorf("%s: GET handshake: %v", h.name, err)
			continue
		}
		if code != h.wantCode {
			t.Errorf("%s: handshake status = %d, want %d (body %q)", h.name, code, h.wantCode, body)
		}
		if h.wantBody != "" && body != h.wantBody {
			t.Errorf("%s: handshake body = %q, want %q", h.name, body, h.wantBody)
		}
	}

	// Probes are on the internal listener only, webhooks on the public one.
	if code, _, err := httpGet(reqCtx, "http://"+publicAddr+"/readyz"); err == nil && code == http.StatusOK {
		t.Errorf("GET /readyz on the public listener = 200, want it served on the internal listener only")
	}

	// A signed notification is stored and then handled by the workers.
	webhookURL := "http://" + publicAddr + "/webhooks/whatsapp"
	if code, body, err := postWebhook(reqCtx, webhookURL, webhookBody, ""); err != nil || code != http.StatusUnauthorized {
		t.Errorf("unsigned POST = %d %q, %v; want 401", code, body, err)
	}
	sig := whatsapp.Sign([]byte(webhookBody), []byte(appSecret))
	if code, body, err := postWebhook(reqCtx, webhookURL, webhookBody, sig); err != nil || code != http.StatusOK {
		t.Errorf("signed POST = %d %q, %v; want 200", code, body, err)
	}
	if code, body, err := postWebhook(reqCtx, webhookURL, webhookBody, sig); err != nil || code != http.StatusOK {
		t.Errorf("re-delivered POST = %d %q, %v; want 200", code, body, err)
	}
	// status reads the store while serve runs.
	var stats map[string]int64
	for deadline := time.Now().Add(15 * time.Second); ; {
		code, out, errOut := runCmd(t, "status", "--json", "--config", p)
		if code != 0 {
			t.Fatalf("status while serving: exit code %d; stderr:\n%s", code, errOut)
		}
		stats = map[string]int64{}
		var raw map[string]float64
		if err := json.Unmarshal([]byte(out), &raw); err != nil {
			t.Fatalf("status --json: %v\n%s", err, out)
		}
		for k, v := range raw {
			stats[k] = int64(v)
		}
		if stats["events_done"] == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	for key, want := range map[string]int64{"events_total": 1, "events_done": 1, "events_pending": 0, "duplicates_total": 1, "dead_letters": 0} {
		if stats[key] != want {
			t.Errorf("status while serving: %s = %d, want %d (all: %v)", key, stats[key], want, stats)
		}
	}

	if code, body, err := httpGet(reqCtx, "http://"+internalAddr+"/metrics"); err != nil || code != http.StatusOK {
		t.Errorf("GET /metrics = %d, %v; want 200", code, err)
	} else {
		for _, want := range []string{"deskbridge_inbox_pending_events 0", `deskbridge_webhook_events_total{kind="message",result="duplicate",source="whatsapp"} 1`} {
			if !strings.Contains(body, want) {
				t.Errorf("/metrics lacks %q", want)
			}
		}
	}

	// Cancelling the context (SIGINT/SIGTERM in main) shuts down cleanly
	// within server.shutdown_timeout.
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("serve exit code = %d after cancel, want 0; stderr:\n%s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("serve did not return within 10s of cancel (shutdown_timeout 5s)")
	}
	checkNoPanic(t, stdout.String()+stderr.String())
	if stdout.String() != "" {
		t.Errorf("serve wrote to stdout: %q", stdout.String())
	}
	// The listeners are closed.
	if _, _, err := httpGet(context.Background(), "http://"+internalAddr+"/livez"); err == nil {
		t.Errorf("internal listener still answers after shutdown")
	}
}

func TestServePortInUse(t *testing.T) {
	t.Parallel()
	storeURL, _ := sqliteURL(t)
	// Hold the public port for the whole test.
	busy := freeAddr(t)
	ln, err := net.Listen("tcp", busy)
	if err != nil {
		t.Skipf("could not hold %s: %v", busy, err)
	}
	defer ln.Close()
	p := writeFile(t, "deskbridge.yaml", serveConfig(t, storeURL, busy, freeAddr(t)))
	code, stdout, stderr := runCmd(t, "serve", "--config", p)
	if code != 1 {
		t.Errorf("exit code = %d, want 1", code)
	}
	checkOneLineError(t, stdout, stderr)
	if !strings.Contains(stderr, busy) {
		t.Errorf("stderr = %q, want it to name %s", stderr, busy)
	}
}
