package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	sbwhatsapp "github.com/deskbridge/deskbridge/sandbox/whatsapp"
)

// fakeToken is the access token the Cloud API fake of these tests accepts.
const fakeToken = "test-access-token-7f3a"

// exampleTokenRef is the access token reference written in examplePath.
const exampleTokenRef = "env://WA_ACCESS_TOKEN?default=sandbox-access-token"

// unsetEnv is an environment variable no test sets: an env:// reference to
// it always resolves to its default.
const unsetEnv = "DESKBRIDGE_TEST_UNSET_VARIABLE"

// Ids of the number in examplePath.
const (
	examplePhoneNumberID = "106540352242922"
	exampleWABAID        = "102290129340398"
)

// recorder is an HTTP endpoint that records what it receives.
type recorder struct {
	mu   sync.Mutex
	reqs []recorded
}

// recorded is one request seen by a recorder.
type recorded struct {
	method, path string
	header       http.Header
	body         []byte
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.reqs = append(r.reqs, recorded{req.Method, req.URL.Path, req.Header.Clone(), b})
	r.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func (r *recorder) all() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.reqs...)
}

// count returns how many requests had this method and path.
func (r *recorder) count(method, path string) int {
	n := 0
	for _, q := range r.all() {
		if q.method == method && q.path == path {
			n++
		}
	}
	return n
}

// waFixture is a Cloud API fake on a test server, a webhook receiver, and
// a configuration that points deskbridge at them.
type waFixture struct {
	fake     *sbwhatsapp.Server
	url      string    // the fake's base URL
	api      *recorder // every request the fake was sent
	hooks    *recorder // every webhook the fake delivered
	config   string    // path of the configuration file
	storeURL string
}

// fixtureOptions adjust newWAFixture.
type fixtureOptions struct {
	configToken string           // default of the configured token (default fakeToken)
	now         func() time.Time // the fake's base clock (default real time)
}

// newWAFixture starts the fake (status webhooks off) and writes the
// example configuration with the fake's URL, a temporary SQLite store and
// an env:// access token whose default is o.configToken.
func newWAFixture(t *testing.T, o fixtureOptions) *waFixture {
	t.Helper()
	if o.configToken == "" {
		o.configToken = fakeToken
	}
	f := &waFixture{api: &recorder{}, hooks: &recorder{}}
	hookSrv := httptest.NewServer(f.hooks)
	t.Cleanup(hookSrv.Close)
	wo := sbwhatsapp.DefaultWebhookOptions()
	wo.StatusesEnabled, wo.MaxAttempts = false, 1
	f.fake = sbwhatsapp.New(sbwhatsapp.Options{
		AccessToken: fakeToken,
		AppSecret:   "test-app-secret",
		CallbackURL: hookSrv.URL + "/webhooks/whatsapp",
		Numbers: []sbwhatsapp.Number{{PhoneNumberID: examplePhoneNumberID, WABAID: exampleWABAID,
			DisplayPhoneNumber: "+1 555-078-3881"}},
		Templates: sbwhatsapp.DefaultTemplates(),
		Now:       o.now,
		Webhook:   &wo,
	})
	t.Cleanup(f.fake.Close)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/_sandbox/") {
			b, _ := io.ReadAll(r.Body)
			f.api.mu.Lock()
			f.api.reqs = append(f.api.reqs, recorded{r.Method, r.URL.Path, r.Header.Clone(), b})
			f.api.mu.Unlock()
			r.Body = io.NopCloser(strings.NewReader(string(b)))
		}
		f.fake.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	f.url = srv.URL
	f.fake.SetBaseURL(srv.URL)
	f.storeURL, _ = sqliteURL(t)
	f.config = writeFile(t, "deskbridge.yaml", exampleConfig(t, f.storeURL,
		`api_base_url: "http://127.0.0.1:8089"`, `api_base_url: "`+srv.URL+`"`,
		exampleTokenRef, "env://"+unsetEnv+"?default="+o.configToken,
	))
	return f
}

// messagesPath is the send path of the example's number.
const messagesPath = "/v23.0/" + examplePhoneNumberID + "/messages"

// sends returns how many send requests reached the fake.
func (f *waFixture) sends() int { return f.api.count(http.MethodPost, messagesPath) }

// inbound makes from write to the business number, which opens the
// customer service window.
func (f *waFixture) inbound(t *testing.T, from string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, status, err := f.fake.Inbound(ctx, sbwhatsapp.InboundParams{From: from, Name: "Ana", Text: "Hola"}); err != nil || status != http.StatusOK {
		t.Fatalf("fake.Inbound(%s) = status %d, %v; want 200", from, status, err)
	}
}

// send runs deskbridge send with the fixture's configuration.
func (f *waFixture) send(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return runCmd(t, append([]string{"send", "--config", f.config}, args...)...)
}

// checkContains fails unless s contains every one of wants.
func checkContains(t *testing.T, what, s string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(s, w) {
			t.Errorf("%s = %q, want it to contain %q", what, s, w)
		}
	}
}

// sendOK runs deskbridge send and checks that it succeeded: exit 0,
// nothing on stderr, and stdout exactly one wamid line. It returns the wamid.
func (f *waFixture) sendOK(t *testing.T, args ...string) string {
	t.Helper()
	code, stdout, stderr := f.send(t, args...)
	if code != 0 {
		t.Fatalf("send %s: exit code = %d, want 0; stderr: %s", strings.Join(args, " "), code, stderr)
	}
	if stderr != "" {
		t.Errorf("stderr = %q, want empty", stderr)
	}
	wamid, ok := strings.CutSuffix(stdout, "\n")
	if !ok || !strings.HasPrefix(wamid, "wamid.") || strings.ContainsAny(wamid, " \n") {
		t.Fatalf("stdout = %q, want exactly one wamid line", stdout)
	}
	return wamid
}

// requestOf returns the JSON request body of the fake's outbound message.
func requestOf(t *testing.T, m sbwhatsapp.OutboundMessage) map[string]any {
	t.Helper()
	var req map[string]any
	if err := json.Unmarshal(m.Request, &req); err != nil {
		t.Fatalf("outbound request %s: %v", m.Request, err)
	}
	return req
}

func TestSendTextWindow(t *testing.T) {
	t.Parallel()
	f := newWAFixture(t, fixtureOptions{})
	const to, body = "+34600111222", "Hola Ana, ¿en qué podemos ayudarte?"

	// The customer never wrote: Meta refuses free text with 131047.
	code, stdout, stderr := f.send(t, "--to", to, "--text", body)
	if code != 1 {
		t.Errorf("exit code = %d, want 1", code)
	}
	checkOneLineError(t, stdout, stderr)
	checkContains(t, "stderr", stderr, "window_closed", "131047", "send a template")
	if got := f.fake.Outbound(to); len(got) != 0 {
		t.Errorf("fake.Outbound(%s) = %d messages after a refused send, want 0", to, len(got))
	}

	// Once the customer writes, the window is open.
	f.inbound(t, to)
	if n := len(f.hooks.all()); n != 1 {
		t.Errorf("webhook receiver got %d requests, want the inbound message", n)
	}
	wamid := f.sendOK(t, "--to", to, "--text", body)
	got := f.fake.Outbound(to)
	if len(got) != 1 {
		t.Fatalf("fake.Outbound(%s) = %d messages, want 1", to, len(got))
	}
	if got[0].ID != wamid || got[0].Type != "text" || got[0].To != to {
		t.Errorf("outbound = id %s type %s to %s; want id %s, a text to %s", got[0].ID, got[0].Type, got[0].To, wamid, to)
	}
	text, _ := requestOf(t, got[0])["text"].(map[string]any)
	if text["body"] != body {
		t.Errorf("outbound text = %v, want body %q", text, body)
	}

	// --reply-to quotes a message and --preview-url asks for a preview.
	wamid2 := f.sendOK(t, "--to", to, "--text", "see https://example.com", "--preview-url", "--reply-to", wamid)
	got = f.fake.Outbound(to)
	if len(got) != 2 || got[1].ID != wamid2 {
		t.Fatalf("fake.Outbound(%s) = %d messages, want the second one %s", to, len(got), wamid2)
	}
	req := requestOf(t, got[1])
	if ctx, _ := req["context"].(map[string]any); ctx["message_id"] != wamid {
		t.Errorf("outbound context = %v, want message_id %s", req["context"], wamid)
	}
	if text, _ := req["text"].(map[string]any); text["preview_url"] != true {
		t.Errorf("outbound text = %v, want preview_url true", text)
	}
}

func TestSendRefusesNumberWithoutPlus(t *testing.T) {
	t.Parallel()
	f := newWAFixture(t, fixtureOptions{})
	f.inbound(t, "+34600111222")
	code, stdout, stderr := f.send(t, "--to", "34600111222", "--text", "Hola")
	if code != 1 {
		t.Errorf("exit code = %d, want 1", code)
	}
	checkOneLineError(t, stdout, stderr)
	checkContains(t, "stderr", stderr, "refused before sending", "must start with +")
	if strings.Contains(stderr, "34600111222") {
		t.Errorf("stderr shows the whole customer number: %q", stderr)
	}
	if n := f.sends(); n != 0 {
		t.Errorf("the fake received %d send requests, want 0", n)
	}
	if got := f.fake.Outbound(""); len(got) != 0 {
		t.Errorf("fake.Outbound = %d messages, want 0", len(got))
	}
}

func TestSendWrongToken(t *testing.T) {
	t.Parallel()
	f := newWAFixture(t, fixtureOptions{configToken: "not-the-right-token"})
	f.inbound(t, "+34600111222")
	code, stdout, stderr := f.send(t, "--to", "+34600111222", "--text", "Hola")
	if code != 1 {
		t.Errorf("exit code = %d, want 1", code)
	}
	checkOneLineError(t, stdout, stderr)
	checkContains(t, "stderr", stderr, "auth", "190", "rotate the token")
	if strings.Contains(stderr, "not-the-right-token") {
		t.Errorf("stderr shows the token: %q", stderr)
	}
	if got := f.fake.Outbound(""); len(got) != 0 {
		t.Errorf("fake.Outbound = %d messages, want 0", len(got))
	}

	// templates sync meets the same answer.
	code, stdout, stderr = runCmd(t, "templates", "sync", "--config", f.config)
	if code != 1 {
		t.Errorf("templates sync: exit code = %d, want 1", code)
	}
	checkOneLineError(t, stdout, stderr)
	checkContains(t, "templates sync stderr", stderr, "auth", "190", "rotate the token")
}

func TestSendThroughputLimit(t *testing.T) {
	t.Parallel()
	// A frozen clock: the fake's token bucket does not refill between the
	// two sends however slow the machine is.
	frozen := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	f := newWAFixture(t, fixtureOptions{now: func() time.Time { return frozen }})
	if _, err := f.fake.SetLimits(sbwhatsapp.Limits{ThroughputMPS: 1}); err != nil {
		t.Fatal(err)
	}
	const to = "+34600111222"
	f.inbound(t, to)
	f.sendOK(t, "--to", to, "--text", "first")
	code, stdout, stderr := f.send(t, "--to", to, "--text", "second")
	if code != 1 {
		t.Errorf("second send: exit code = %d, want 1", code)
	}
	checkOneLineError(t, stdout, stderr)
	checkContains(t, "stderr", stderr, "rate_limited", "130429", "retry later")
	if got := f.fake.Outbound(to); len(got) != 1 {
		t.Errorf("fake.Outbound(%s) = %d messages, want 1", to, len(got))
	}
}

func TestSendFlagErrors(t *testing.T) {
	t.Parallel()
	f := newWAFixture(t, fixtureOptions{})
	f.inbound(t, "+34600111222")
	to := []string{"--to", "+34600111222"}
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"text and template", append(to, "--text", "x", "--template", "reengage", "--lang", "en_US"), []string{"exactly one of --text and --template"}},
		{"neither", to, []string{"exactly one of --text and --template"}},
		{"template without lang", append(to, "--template", "reengage"), []string{"--template needs --lang"}},
		{"param without template", append(to, "--text", "x", "--param", "Ana"), []string{"--param", "go with --template"}},
		{"named param without template", append(to, "--text", "x", "--named-param", "first_name=Ana"), []string{"go with --template"}},
		{"named param without =", append(to, "--template", "welcome_named", "--lang", "es_ES", "--named-param", "Ana"), []string{`--named-param "Ana"`, "name=value"}},
		{"number not configured", append(to, "--text", "x", "--number", "999000111"), []string{"number 999000111", "not in whatsapp.numbers"}},
		{"to missing", []string{"--text", "x"}, []string{`"to"`}},
		{"stray argument", append(to, "--text", "x", "extra"), []string{"extra"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := f.send(t, c.args...)
			if code != 1 {
				t.Errorf("exit code = %d, want 1", code)
			}
			checkOneLineError(t, stdout, stderr)
			checkContains(t, "stderr", stderr, c.want...)
			if !strings.HasPrefix(stderr, "deskbridge: ") {
				t.Errorf("stderr = %q, want it to start with \"deskbridge: \"", stderr)
			}
		})
	}
	if n := f.sends(); n != 0 {
		t.Errorf("the fake received %d send requests, want 0", n)
	}
}

func TestSendNoConfig(t *testing.T) {
	t.Setenv("DESKBRIDGE_CONFIG", "")
	code, stdout, stderr := runCmd(t, "send", "--to", "+34600111222", "--text", "Hola")
	if code != 1 {
		t.Errorf("exit code = %d, want 1", code)
	}
	checkOneLineError(t, stdout, stderr)
	checkContains(t, "stderr", stderr, "--config")
}
