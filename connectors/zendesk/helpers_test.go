package zendesk

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"

	"github.com/deskbridge/deskbridge/connectors"
)

// Test account.
const (
	testBase  = "https://acme.zendesk.com"
	testEmail = "bridge@acme.test"
	testToken = "tok-123"
	testOAuth = "oauth-456"
)

// payloadDir holds the recorded Zendesk bodies.
const payloadDir = "../../../shared/payloads/zendesk"

// basicAuth is the Authorization header of the test API token.
var basicAuth = "Basic " + base64.StdEncoding.EncodeToString([]byte(testEmail+"/token:"+testToken))

// captured is one request seen by a responder.
type captured struct {
	Method string
	Path   string
	Query  url.Values
	Host   string
	Header http.Header
	Body   []byte
}

// recorder records the requests its responders see, in order; safe for
// concurrent use.
type recorder struct {
	mu   sync.Mutex
	reqs []captured
}

func (r *recorder) record(req *http.Request) {
	var b []byte
	if req.Body != nil {
		b, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, captured{Method: req.Method, Path: req.URL.Path, Query: req.URL.Query(),
		Host: req.URL.Host, Header: req.Header.Clone(), Body: b})
}

func (r *recorder) all() []captured {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]captured(nil), r.reqs...)
}

// reply is one scripted answer.
type reply struct {
	status int
	body   string
	header []string // name, value pairs
}

// testBundle is a client over an httpmock transport, with a settable
// clock.
type testBundle struct {
	client *Client
	mock   *httpmock.MockTransport
	rec    *recorder

	mu  sync.Mutex
	now time.Time
}

func (b *testBundle) clock() time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.now
}

func (b *testBundle) advance(d time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.now = b.now.Add(d)
}

// setup builds a client for testBase with the API token; mutate may change
// the config.
func setup(t *testing.T, mutate func(*Config)) *testBundle {
	t.Helper()
	b := &testBundle{mock: httpmock.NewMockTransport(), rec: &recorder{},
		now: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)}
	cfg := Config{
		Name: "acme", BaseURL: testBase, Email: testEmail,
		APIToken:  func(context.Context) (string, error) { return testToken, nil },
		Transport: b.mock, Now: b.clock,
		RequestsPerMinute: 600_000, // tests are not paced; ratelimit_test.go sets its own
		stack: func(c *connectors.ClientConfig) {
			c.RetryWaitMin, c.RetryWaitMax = time.Millisecond, 2*time.Millisecond
		},
	}
	if mutate != nil {
		mutate(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	b.client = c
	return b
}

// on answers method path (relative to testBase, or absolute) with the
// replies in turn, the last one repeating, recording each request.
func (b *testBundle) on(method, path string, replies ...reply) {
	u := path
	if u[0] == '/' {
		u = testBase + path
	}
	var mu sync.Mutex
	n := 0
	b.mock.RegisterResponder(method, u, func(req *http.Request) (*http.Response, error) {
		b.rec.record(req)
		mu.Lock()
		r := replies[min(n, len(replies)-1)]
		n++
		mu.Unlock()
		resp := httpmock.NewStringResponse(r.status, r.body)
		resp.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(r.header); i += 2 {
			resp.Header.Set(r.header[i], r.header[i+1])
		}
		return resp, nil
	})
}

// ok is a 200 reply with body.
func ok(body string) reply { return reply{status: 200, body: body} }

// want is an expected request.
type want struct {
	method string
	path   string
	query  url.Values // nil: no query
	body   string     // JSON compared semantically; "" for no body
}

// checkRequests compares the recorded requests with ws, in order, and
// checks that each carried the wanted Authorization header.
func checkRequests(t *testing.T, b *testBundle, auth string, ws ...want) {
	t.Helper()
	got := b.rec.all()
	if len(got) != len(ws) {
		for _, g := range got {
			t.Logf("request: %s %s?%s %s", g.Method, g.Path, g.Query.Encode(), g.Body)
		}
		t.Fatalf("%d requests, want %d", len(got), len(ws))
	}
	for i, w := range ws {
		g := got[i]
		if g.Method != w.method || g.Path != w.path {
			t.Errorf("request %d = %s %s, want %s %s", i, g.Method, g.Path, w.method, w.path)
		}
		if len(g.Query) != 0 || len(w.query) != 0 {
			if !reflect.DeepEqual(g.Query, w.query) {
				t.Errorf("request %d %s query = %v, want %v", i, g.Path, g.Query, w.query)
			}
		}
		if auth != "" && g.Header.Get("Authorization") != auth {
			t.Errorf("request %d %s Authorization = %q, want %q", i, g.Path, g.Header.Get("Authorization"), auth)
		}
		switch {
		case w.body == "" && len(g.Body) != 0:
			t.Errorf("request %d %s has body %s, want none", i, g.Path, g.Body)
		case w.body != "":
			jsonEqual(t, g.Body, []byte(w.body))
			if ct := g.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("request %d %s Content-Type = %q", i, g.Path, ct)
			}
		}
	}
}

// jsonEqual compares two JSON documents semantically.
func jsonEqual(t *testing.T, got, want []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("body %s is not JSON: %v", got, err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("want %s is not JSON: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("body = %s\nwant %s", got, want)
	}
}

// payload reads a recorded body, skipping the test when the payloads are
// absent.
func payload(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(payloadDir, name))
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("payload %s not found; test skipped", name)
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// asError returns err as a *connectors.Error, failing when it is not one.
func asError(t *testing.T, err error) *connectors.Error {
	t.Helper()
	var ce *connectors.Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %v (%T) is not a *connectors.Error", err, err)
	}
	return ce
}

// q builds url.Values from name, value pairs.
func q(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}
