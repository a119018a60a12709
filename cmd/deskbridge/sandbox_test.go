package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/deskbridge/deskbridge/connectors/whatsapp"
)

func TestSandboxWhatsAppLoopbackOnly(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:8089"} {
		code, stdout, stderr := runCmd(t, "sandbox", "whatsapp", "--addr", addr)
		if code != 1 {
			t.Errorf("--addr %s: exit code = %d, want 1", addr, code)
		}
		checkOneLineError(t, stdout, stderr)
		checkContains(t, "stderr", stderr, addr, "loopback only")
	}
	code, stdout, stderr := runCmd(t, "sandbox", "whatsapp", "--addr", "no-port")
	if code != 1 {
		t.Errorf("--addr no-port: exit code = %d, want 1", code)
	}
	checkOneLineError(t, stdout, stderr)
	checkContains(t, "stderr", stderr, `"no-port"`)
}

func TestSandboxWhatsAppPortInUse(t *testing.T) {
	t.Parallel()
	busy := httptest.NewServer(http.NotFoundHandler())
	defer busy.Close()
	addr := strings.TrimPrefix(busy.URL, "http://")
	code, stdout, stderr := runCmd(t, "sandbox", "whatsapp", "--addr", addr)
	if code != 1 {
		t.Errorf("exit code = %d, want 1", code)
	}
	checkOneLineError(t, stdout, stderr)
	checkContains(t, "stderr", stderr, "sandbox", addr)
}

// runningSandbox is `deskbridge sandbox whatsapp` running in a goroutine.
type runningSandbox struct {
	cancel         context.CancelFunc
	done           chan int
	stdout, stderr *syncBuffer
}

// startSandbox runs the sandbox command with args and waits until its
// control API at base answers.
func startSandbox(t *testing.T, base string, args ...string) *runningSandbox {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &runningSandbox{cancel: cancel, done: make(chan int, 1), stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	t.Cleanup(cancel)
	go func() { s.done <- run(ctx, append([]string{"sandbox", "whatsapp"}, args...), s.stdout, s.stderr) }()
	for deadline := time.Now().Add(20 * time.Second); ; {
		select {
		case code := <-s.done:
			t.Fatalf("sandbox exited early with code %d; stderr:\n%s", code, s.stderr.String())
		default:
		}
		rctx, rcancel := context.WithTimeout(ctx, 2*time.Second)
		code, _, err := httpGet(rctx, base+"/_sandbox/templates")
		rcancel()
		if err == nil && code == http.StatusOK {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /_sandbox/templates not 200 after 20s: code %d, err %v; stderr:\n%s", code, err, s.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop cancels the command and checks that it returns 0.
func (s *runningSandbox) stop(t *testing.T) {
	t.Helper()
	s.cancel()
	select {
	case code := <-s.done:
		if code != 0 {
			t.Errorf("sandbox exit code = %d after cancel, want 0; stderr:\n%s", code, s.stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sandbox did not return within 10s of cancel")
	}
	checkNoPanic(t, s.stdout.String()+s.stderr.String())
}

// postInbound acts as a customer through the control API and returns the
// answer.
func postInbound(t *testing.T, base, body string) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	code, answer, err := postWebhook(ctx, base+"/_sandbox/inbound", body, "")
	if err != nil || code != http.StatusOK {
		t.Fatalf("POST /_sandbox/inbound = %d %q, %v; want 200", code, answer, err)
	}
	var out map[string]any
	if err := json.Unmarshal([]byte(answer), &out); err != nil {
		t.Fatalf("POST /_sandbox/inbound answer %q: %v", answer, err)
	}
	return out
}

// checkSignedInbound checks that hooks got exactly one webhook, at path,
// signed with secret, carrying the inbound message wamid from the number.
func checkSignedInbound(t *testing.T, hooks *recorder, path, secret, wamid string) {
	t.Helper()
	got := hooks.all()
	if len(got) != 1 {
		t.Fatalf("the receiver got %d requests, want 1 webhook", len(got))
	}
	h := got[0]
	if h.method != http.MethodPost || h.path != path {
		t.Errorf("webhook = %s %s, want POST %s", h.method, h.path, path)
	}
	sig := h.header.Get("X-Hub-Signature-256")
	if err := whatsapp.VerifySignature(h.body, sig, []byte(secret)); err != nil {
		t.Errorf("X-Hub-Signature-256 %q does not verify with %q: %v", sig, secret, err)
	}
	if err := whatsapp.VerifySignature(h.body, sig, []byte(secret+"x")); err == nil {
		t.Errorf("the signature also verifies with another secret")
	}
	events, err := whatsapp.ParseNotification(h.body)
	if err != nil {
		t.Fatalf("webhook body does not parse: %v\n%s", err, h.body)
	}
	if len(events) != 1 || events[0].Kind != whatsapp.KindMessage || events[0].Key != wamid ||
		events[0].PhoneNumberID != examplePhoneNumberID || events[0].ContactKey != "34600111222" {
		t.Errorf("webhook events = %+v, want message %s from 34600111222 to %s", events, wamid, examplePhoneNumberID)
	}
	checkContains(t, "webhook body", string(h.body), `"Hola"`, `"Ana"`)
}

func TestSandboxWhatsAppFlags(t *testing.T) {
	// Without --config the sandbox uses its defaults; DESKBRIDGE_CONFIG
	// would give it one.
	t.Setenv("DESKBRIDGE_CONFIG", "")
	hooks := &recorder{}
	recv := httptest.NewServer(hooks)
	defer recv.Close()
	addr := freeAddr(t)
	base := "http://" + addr
	callback := recv.URL + "/hook"
	s := startSandbox(t, base, "--addr", addr, "--callback", callback)

	line := s.stdout.String()
	checkContains(t, "stdout", line, "WhatsApp sandbox: Cloud API "+base+"/v23.0", examplePhoneNumberID,
		"webhooks to "+callback, "control API "+base+"/_sandbox/")
	var tpl struct {
		Data []struct{ Name string } `json:"data"`
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, body, err := httpGet(ctx, base+"/_sandbox/templates"); err != nil || json.Unmarshal([]byte(body), &tpl) != nil || len(tpl.Data) != 4 {
		t.Errorf("GET /_sandbox/templates = %q, %v; want the 4 default templates", body, err)
	}

	out := postInbound(t, base, `{"from":"+34600111222","name":"Ana","text":"Hola"}`)
	if out["webhook_status"] != float64(200) {
		t.Errorf("inbound answer = %v, want webhook_status 200", out)
	}
	wamid, _ := out["id"].(string)
	checkSignedInbound(t, hooks, "/hook", "sandbox-app-secret", wamid)

	// The default token is accepted, another one is not.
	for tok, want := range map[string]int{"sandbox-access-token": http.StatusOK, "other": http.StatusUnauthorized} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v23.0/"+examplePhoneNumberID, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET phone number with token %q = %d, want %d", tok, resp.StatusCode, want)
		}
	}
	s.stop(t)
	if _, _, err := httpGet(context.Background(), base+"/_sandbox/templates"); err == nil {
		t.Errorf("the sandbox still answers after cancel")
	}
}

func TestSandboxWhatsAppConfig(t *testing.T) {
	t.Parallel()
	hooks := &recorder{}
	recv := httptest.NewServer(hooks)
	defer recv.Close()
	const secret, token = "cfg-app-secret-91", "cfg-access-token-12"
	addr := freeAddr(t)
	base := "http://" + addr
	storeURL, _ := sqliteURL(t)
	// The listen address comes from whatsapp.api_base_url and the webhook
	// URL from server.public_addr.
	cfg := exampleConfig(t, storeURL,
		`api_base_url: "http://127.0.0.1:8089"`, `api_base_url: "`+base+`"`,
		"env://WA_APP_SECRET?default=sandbox-app-secret", "env://"+unsetEnv+"?default="+secret,
		exampleTokenRef, "env://"+unsetEnv+"?default="+token,
	) + "server:\n  public_addr: \"" + strings.TrimPrefix(recv.URL, "http://") + "\"\n"
	p := writeFile(t, "deskbridge.yaml", cfg)
	s := startSandbox(t, base, "--config", p)
	checkContains(t, "stdout", s.stdout.String(), "Cloud API "+base+"/v23.0", "webhooks to "+recv.URL+"/webhooks/whatsapp")

	out := postInbound(t, base, `{"from":"+34600111222","name":"Ana","text":"Hola"}`)
	wamid, _ := out["id"].(string)
	checkSignedInbound(t, hooks, "/webhooks/whatsapp", secret, wamid)
	if err := whatsapp.VerifySignature(hooks.all()[0].body, hooks.all()[0].header.Get("X-Hub-Signature-256"), []byte("sandbox-app-secret")); err == nil {
		t.Errorf("with --config the webhook is signed with the default secret, want the configured one")
	}

	// send, with the same configuration, talks to the running sandbox.
	code, stdout, stderr := runCmd(t, "send", "--config", p, "--to", "+34600111222", "--text", "Hola Ana")
	if code != 0 || !strings.HasPrefix(stdout, "wamid.") {
		t.Errorf("send: exit code %d, stdout %q, stderr %q; want 0 and a wamid", code, stdout, stderr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, body, err := httpGet(ctx, base+"/_sandbox/outbound?to=%2B34600111222")
	if err != nil || !strings.Contains(body, strings.TrimSpace(stdout)) || !strings.Contains(body, "Hola Ana") {
		t.Errorf("GET /_sandbox/outbound = %q, %v; want the message just sent", body, err)
	}
	s.stop(t)

	// A configuration the sandbox cannot use is refused before listening.
	bad := writeFile(t, "bad.yaml", exampleConfig(t, storeURL,
		`api_base_url: "http://127.0.0.1:8089"`, `api_base_url: "`+base+`"`,
		"env://WA_APP_SECRET?default=sandbox-app-secret", "file:///nonexistent/deskbridge-test-secret"))
	code, stdout, stderr = runCmd(t, "sandbox", "whatsapp", "--config", bad)
	if code != 1 {
		t.Errorf("unreadable app secret: exit code = %d, want 1", code)
	}
	checkOneLineError(t, stdout, stderr)
	checkContains(t, "stderr", stderr, "whatsapp.app_secret")
}
