package zendesk

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	testEmail = "bot@acme.test"
	testToken = "test-api-token"
	testOAuth = "test-oauth-token"
)

// testBase is the fixed base clock of the tests.
var testBase = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// basicAuth is the API-token Authorization header of the tests.
var basicAuth = "Basic " + base64.StdEncoding.EncodeToString([]byte(testEmail+"/token:"+testToken))

// testBundle is a fake on httptest with a webhook receiver.
type testBundle struct {
	fake *Server
	srv  *httptest.Server
	hook *receiver
}

// setup starts a fake with a fixed base clock, fast webhook retries and a
// receiver for webhooks.
func setup(t *testing.T, mods ...func(*Options)) *testBundle {
	t.Helper()
	opts := Options{Email: testEmail, APIToken: testToken, OAuthToken: testOAuth,
		Now: func() time.Time { return testBase }, WebhookRetryBackoff: 5 * time.Millisecond, WebhookMaxAttempts: 3}
	for _, m := range mods {
		m(&opts)
	}
	fake := New(opts)
	srv := httptest.NewServer(fake)
	fake.SetBaseURL(srv.URL)
	t.Cleanup(func() {
		fake.Close()
		srv.Close()
	})
	return &testBundle{fake: fake, srv: srv, hook: newReceiver(t)}
}

// result is an answer of the fake.
type result struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

// do sends a request with the test credentials; body may be nil, a string,
// []byte or a value to encode as JSON.
func (b *testBundle) do(t *testing.T, method, path string, body any) result {
	t.Helper()
	return b.doWith(t, method, path, body, nil)
}

// doWith is do with a hook to change the request (headers, credentials).
func (b *testBundle) doWith(t *testing.T, method, path string, body any, edit func(*http.Request)) result {
	t.Helper()
	var rd io.Reader
	switch v := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(v)
	case []byte:
		rd = bytes.NewReader(v)
	default:
		j, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, b.srv.URL+path, rd)
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	req.Header.Set("Authorization", basicAuth)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if edit != nil {
		edit(req)
	}
	resp, err := b.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, _ := io.ReadAll(resp.Body)
	res := result{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(raw) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &res.body); err != nil {
			t.Fatalf("%s %s: answer is not JSON: %v: %s", method, path, err, raw)
		}
	}
	return res
}

// want fails the test when the status is not wantStatus.
func (r result) want(t *testing.T, wantStatus int) result {
	t.Helper()
	if r.status != wantStatus {
		t.Fatalf("status = %d, want %d: %s", r.status, wantStatus, r.raw)
	}
	return r
}

// wantError checks a classic Zendesk error: status, error and, when
// detailKey is set, that details has that key.
func (r result) wantError(t *testing.T, wantStatus int, wantErr, detailKey string) {
	t.Helper()
	r.want(t, wantStatus)
	if got := str(r.body, "error"); got != wantErr {
		t.Fatalf("error = %q, want %q: %s", got, wantErr, r.raw)
	}
	if detailKey != "" {
		d, _ := r.body["details"].(map[string]any)
		if _, ok := d[detailKey]; !ok {
			t.Fatalf("details has no %q: %s", detailKey, r.raw)
		}
	}
}

// createUser creates a user and returns its id.
func (b *testBundle) createUser(t *testing.T, user map[string]any) int64 {
	t.Helper()
	r := b.do(t, http.MethodPost, "/api/v2/users.json", map[string]any{"user": user}).want(t, http.StatusCreated)
	return num(r.body, "user", "id")
}

// createTicket creates a ticket whose requester is requester and returns
// its id.
func (b *testBundle) createTicket(t *testing.T, requester int64, extra map[string]any) int64 {
	t.Helper()
	tk := map[string]any{"subject": "Help", "requester_id": requester, "comment": map[string]any{"body": "Hello"}}
	for k, v := range extra {
		tk[k] = v
	}
	r := b.do(t, http.MethodPost, "/api/v2/tickets.json", map[string]any{"ticket": tk}).want(t, http.StatusCreated)
	return num(r.body, "ticket", "id")
}

// flush waits for the webhook queue.
func (b *testBundle) flush(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.fake.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

// receiver is a webhook endpoint that records what it gets. It never fails
// the test inside the handler.
type receiver struct {
	srv *httptest.Server

	mu   sync.Mutex
	fail int // answer 500 to this many next requests
	got  []received
}

type received struct {
	method   string
	header   http.Header
	body     []byte
	answered int
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		d := received{method: r.Method, header: r.Header.Clone(), body: body, answered: http.StatusOK}
		if rc.fail > 0 {
			rc.fail--
			d.answered = http.StatusInternalServerError
		}
		rc.got = append(rc.got, d)
		rc.mu.Unlock()
		w.WriteHeader(d.answered)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) failNext(n int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.fail = n
}

func (rc *receiver) all() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// str digs a string out of nested JSON maps and arrays.
func str(v any, path ...any) string {
	v = dig(v, path...)
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

// num digs a number out of nested JSON maps and arrays.
func num(v any, path ...any) int64 {
	f, _ := dig(v, path...).(float64)
	return int64(f)
}

func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

func list(v any, path ...any) []any {
	a, _ := dig(v, path...).([]any)
	return a
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
