package connectors_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/deskbridge/deskbridge/connectors"
)

const base = "https://api.example.test/v1"

type bundle struct {
	mock    *httpmock.MockTransport
	client  *connectors.Client
	metrics *connectors.Metrics
	token   *atomic.Value
}

// classify reads {"code": N} bodies: 7 = rate limited, 9 = permanent.
func classify(status int, _ http.Header, body []byte) *connectors.Error {
	var b struct {
		Code int `json:"code"`
	}
	if json.Unmarshal(body, &b) != nil || b.Code == 0 {
		return nil
	}
	switch b.Code {
	case 7:
		return &connectors.Error{Kind: connectors.RateLimited, Code: "7", Wait: 4 * time.Second}
	default:
		return &connectors.Error{Kind: connectors.Permanent, Code: "9", Details: "field x is invalid"}
	}
}

func setup(t *testing.T, mutate func(*connectors.ClientConfig)) bundle {
	t.Helper()
	mock := httpmock.NewMockTransport()
	token := &atomic.Value{}
	token.Store("tok-1")
	m := connectors.NewMetrics(prometheus.NewRegistry())
	cfg := connectors.ClientConfig{
		Vendor: "acme", Account: "acct-1", BaseURL: base,
		Auth: func(_ context.Context, r *http.Request) error {
			r.Header.Set("Authorization", "Bearer "+token.Load().(string))
			return nil
		},
		Classify:        classify,
		RetryWaitMin:    time.Millisecond,
		RetryWaitMax:    2 * time.Millisecond,
		BreakerFailures: 3,
		BreakerOpenFor:  time.Hour,
		Transport:       mock,
		Metrics:         m,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	c, err := connectors.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return bundle{mock: mock, client: c, metrics: m, token: token}
}

func TestDoSuccessAddsAuthOnClone(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	var gotAuth, gotCT, gotBody string
	b.mock.RegisterResponder(http.MethodPost, base+"/things", func(r *http.Request) (*http.Response, error) {
		gotAuth, gotCT = r.Header.Get("Authorization"), r.Header.Get("Content-Type")
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
		return httpmock.NewStringResponse(201, `{"id":"1"}`), nil
	})
	req := &connectors.Request{Method: http.MethodPost, Path: "/things", Body: []byte(`{"a":1}`), ContentType: "application/json"}
	resp, err := b.client.Do(context.Background(), "create_thing", req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 201 || string(resp.Body) != `{"id":"1"}` {
		t.Errorf("resp = %d %s", resp.Status, resp.Body)
	}
	if gotAuth != "Bearer tok-1" || gotCT != "application/json" || gotBody != `{"a":1}` {
		t.Errorf("request: auth=%q ct=%q body=%q", gotAuth, gotCT, gotBody)
	}
	if req.Header != nil {
		t.Error("the caller's request was modified")
	}
	// A rotated token is used by the next call.
	b.token.Store("tok-2")
	if _, err := b.client.Do(context.Background(), "create_thing", req); err != nil {
		t.Fatal(err)
	}
	if gotAuth != "Bearer tok-2" {
		t.Errorf("after rotation auth = %q", gotAuth)
	}
	if got := testutil.ToFloat64(b.metrics.Requests.WithLabelValues("acme", "create_thing", "2xx")); got != 2 {
		t.Errorf("upstream_requests_total{2xx} = %v, want 2", got)
	}
}

func TestErrorClassification(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		status    int
		body      string
		header    http.Header
		kind      connectors.Kind
		code      string
		wait      time.Duration
		calls     int
		permanent bool
	}{
		{"vendor rate limit code", 400, `{"code":7}`, nil, connectors.RateLimited, "7", 4 * time.Second, 1, false},
		{"vendor permanent code", 400, `{"code":9}`, nil, connectors.Permanent, "9", 0, 1, true},
		{"429 with Retry-After", 429, `slow down`, http.Header{"Retry-After": {"12"}}, connectors.RateLimited, "", 12 * time.Second, 1, false},
		{"401", 401, ``, nil, connectors.Auth, "", 0, 1, false},
		{"403", 403, `{}`, nil, connectors.Auth, "", 0, 1, false},
		{"404", 404, ``, nil, connectors.Permanent, "", 0, 1, true},
		{"409", 409, ``, nil, connectors.Conflict, "", 0, 1, false},
		{"422", 422, ``, nil, connectors.Permanent, "", 0, 1, true},
		{"503 retried quickly then given up", 503, ``, nil, connectors.Retryable, "", 0, 2, false},
		{"501 not retried", 501, ``, nil, connectors.Permanent, "", 0, 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, nil)
			resp := httpmock.NewStringResponder(tc.status, tc.body)
			if tc.header != nil {
				resp = resp.HeaderSet(tc.header)
			}
			b.mock.RegisterResponder(http.MethodGet, base+"/x", resp)
			_, err := b.client.Do(context.Background(), "get_x", &connectors.Request{Method: http.MethodGet, Path: "x"})
			var ce *connectors.Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want *connectors.Error", err)
			}
			if ce.Kind != tc.kind || ce.Code != tc.code || ce.Wait != tc.wait || ce.Status != tc.status ||
				ce.Vendor != "acme" || ce.Op != "get_x" || ce.Permanent() != tc.permanent {
				t.Errorf("error = %+v (permanent %v)", ce, ce.Permanent())
			}
			if n := b.mock.GetTotalCallCount(); n != tc.calls {
				t.Errorf("calls = %d, want %d", n, tc.calls)
			}
		})
	}
}

func TestQuickRetryThenSuccess(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *connectors.ClientConfig) { c.RetryMax = 2 })
	b.mock.RegisterResponder(http.MethodGet, base+"/flaky", httpmock.ResponderFromMultipleResponses([]*http.Response{
		httpmock.NewStringResponse(503, ""), httpmock.NewStringResponse(502, ""), httpmock.NewStringResponse(200, "ok"),
	}))
	resp, err := b.client.Do(context.Background(), "get_flaky", &connectors.Request{Method: http.MethodGet, Path: "/flaky"})
	if err != nil || string(resp.Body) != "ok" {
		t.Fatalf("resp=%v err=%v", resp, err)
	}
	if n := b.mock.GetTotalCallCount(); n != 3 {
		t.Errorf("calls = %d, want 3", n)
	}
}

func TestWriteNotRetriedAfterItMayHaveArrived(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		method     string
		idempotent bool
		calls      int
	}{
		{"plain POST", http.MethodPost, false, 1},
		{"PUT (may add a comment)", http.MethodPut, false, 1},
		{"POST with an idempotency key", http.MethodPost, true, 2},
		{"DELETE", http.MethodDelete, false, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, nil)
			b.mock.RegisterResponder(tc.method, base+"/send", httpmock.NewStringResponder(500, ""))
			_, err := b.client.Do(context.Background(), "send", &connectors.Request{Method: tc.method, Path: "/send", Body: []byte("{}"), Idempotent: tc.idempotent})
			if connectors.KindOf(err) != connectors.Retryable {
				t.Errorf("kind = %v", connectors.KindOf(err))
			}
			if n := b.mock.GetTotalCallCount(); n != tc.calls {
				t.Errorf("calls = %d, want %d", n, tc.calls)
			}
		})
	}
}

func TestNetworkErrors(t *testing.T) {
	t.Parallel()
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	read := &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}
	for _, tc := range []struct {
		name   string
		method string
		err    error
		calls  int
	}{
		{"POST, dial failed: nothing sent, retried", http.MethodPost, dial, 2},
		{"POST, reset after sending: not retried", http.MethodPost, read, 1},
		{"GET, reset: retried", http.MethodGet, read, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, nil)
			b.mock.RegisterResponder(tc.method, base+"/n", httpmock.NewErrorResponder(tc.err))
			_, err := b.client.Do(context.Background(), "n", &connectors.Request{Method: tc.method, Path: "/n"})
			if connectors.KindOf(err) != connectors.Retryable || !connectors.IsRetryable(err) {
				t.Errorf("err = %v, want retryable", err)
			}
			if n := b.mock.GetTotalCallCount(); n != tc.calls {
				t.Errorf("calls = %d, want %d", n, tc.calls)
			}
			if got := testutil.ToFloat64(b.metrics.Requests.WithLabelValues("acme", "n", "error")); got != 1 {
				t.Errorf("upstream_requests_total{error} = %v, want 1", got)
			}
		})
	}
}

func TestBreakerCountsOnlyRetryableFailures(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.mock.RegisterResponder(http.MethodGet, base+"/bad", httpmock.NewStringResponder(400, `{"code":9}`))
	b.mock.RegisterResponder(http.MethodGet, base+"/down", httpmock.NewStringResponder(503, ""))
	ctx := context.Background()
	get := func(p string) error {
		_, err := b.client.Do(ctx, "get", &connectors.Request{Method: http.MethodGet, Path: p})
		return err
	}
	for range 10 { // permanent errors never open it
		_ = get("/bad")
	}
	if v := testutil.ToFloat64(b.metrics.BreakerState.WithLabelValues("acme")); v != 0 {
		t.Fatalf("breaker state after permanent errors = %v, want closed (0)", v)
	}
	for range 3 {
		_ = get("/down")
	}
	if v := testutil.ToFloat64(b.metrics.BreakerState.WithLabelValues("acme")); v != 2 {
		t.Fatalf("breaker state after 3 failures = %v, want open (2)", v)
	}
	calls := b.mock.GetTotalCallCount()
	err := get("/down")
	var ce *connectors.Error
	if !errors.As(err, &ce) || ce.Kind != connectors.Retryable || ce.RetryAfter() != time.Hour {
		t.Fatalf("open breaker: err = %v, want retryable with a wait", err)
	}
	if b.mock.GetTotalCallCount() != calls {
		t.Error("an open breaker let a request through")
	}
	if got := testutil.ToFloat64(b.metrics.Requests.WithLabelValues("acme", "get", "breaker_open")); got != 1 {
		t.Errorf("breaker_open count = %v", got)
	}
}

func TestLimiterAndContext(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *connectors.ClientConfig) { c.RequestsPerSecond, c.Burst = 0.001, 1 })
	b.mock.RegisterResponder(http.MethodGet, base+"/x", httpmock.NewStringResponder(200, "ok"))
	ctx := context.Background()
	if _, err := b.client.Do(ctx, "x", &connectors.Request{Method: http.MethodGet, Path: "/x"}); err != nil {
		t.Fatal(err)
	}
	// The burst is spent: the next call waits for the limiter and gives up
	// with its context.
	cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	_, err := b.client.Do(cctx, "x", &connectors.Request{Method: http.MethodGet, Path: "/x"})
	if connectors.KindOf(err) != connectors.Retryable {
		t.Errorf("err = %v, want retryable", err)
	}
	if b.mock.GetTotalCallCount() != 1 {
		t.Error("the limiter let a second request through")
	}
}

func TestResponseTooLarge(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *connectors.ClientConfig) { c.MaxResponseBytes = 10 })
	b.mock.RegisterResponder(http.MethodGet, base+"/big", httpmock.NewStringResponder(200, strings.Repeat("x", 11)))
	_, err := b.client.Do(context.Background(), "big", &connectors.Request{Method: http.MethodGet, Path: "/big"})
	if connectors.KindOf(err) != connectors.Permanent {
		t.Errorf("err = %v", err)
	}
	_, err = b.client.Do(context.Background(), "big", &connectors.Request{Method: http.MethodGet, Path: "/big", MaxBytes: 100})
	if err != nil {
		t.Errorf("with MaxBytes: %v", err)
	}
}

func TestErrorMessage(t *testing.T) {
	t.Parallel()
	e := &connectors.Error{Kind: connectors.WindowClosed, Vendor: "whatsapp", Op: "send_text", Status: 400, Code: "131047",
		Message: "Re-engagement message", Details: "more than 24 hours have passed"}
	want := "whatsapp: send_text: window_closed (131047, HTTP 400): Re-engagement message: more than 24 hours have passed"
	if e.Error() != want {
		t.Errorf("Error() = %q\nwant %q", e.Error(), want)
	}
	wrapped := errors.Join(errors.New("context"), e)
	if connectors.KindOf(wrapped) != connectors.WindowClosed {
		t.Error("KindOf does not see through wrapping")
	}
}

func TestRetryAfterHeader(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		v    string
		want time.Duration
	}{
		{"", 0}, {"30", 30 * time.Second}, {"1.5", 1500 * time.Millisecond}, {"-1", 0}, {"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
	} {
		if got := connectors.RetryAfterHeader(http.Header{"Retry-After": {tc.v}}, now); got != tc.want {
			t.Errorf("Retry-After %q = %v, want %v", tc.v, got, tc.want)
		}
	}
}

// A rejected credential is refreshed (OnAuthFailure) and the request made
// once more with the new value; a refresh that changes nothing gives the
// Auth error at once.
func TestAuthFailureRefreshesOnce(t *testing.T) {
	t.Parallel()
	for _, rotated := range []bool{true, false} {
		t.Run(fmt.Sprint("rotated=", rotated), func(t *testing.T) {
			t.Parallel()
			var refreshes atomic.Int32
			var tok *atomic.Value
			b := setup(t, func(c *connectors.ClientConfig) {
				c.OnAuthFailure = func(context.Context) bool {
					refreshes.Add(1)
					if rotated {
						tok.Store("tok-2")
					}
					return rotated
				}
			})
			tok = b.token
			var calls atomic.Int32
			b.mock.RegisterResponder("GET", base+"/me", func(r *http.Request) (*http.Response, error) {
				calls.Add(1)
				if r.Header.Get("Authorization") != "Bearer tok-2" {
					return httpmock.NewStringResponse(http.StatusUnauthorized, `{}`), nil
				}
				return httpmock.NewStringResponse(http.StatusOK, `{}`), nil
			})
			_, err := b.client.Do(t.Context(), "me", &connectors.Request{Method: http.MethodGet, Path: "/me"})
			if rotated && err != nil {
				t.Fatalf("after the rotation: %v", err)
			}
			if !rotated && connectors.KindOf(err) != connectors.Auth {
				t.Fatalf("err = %v, want Auth", err)
			}
			if refreshes.Load() != 1 {
				t.Errorf("refreshes = %d, want 1", refreshes.Load())
			}
			if want := map[bool]int32{true: 2, false: 1}[rotated]; calls.Load() != want {
				t.Errorf("calls = %d, want %d", calls.Load(), want)
			}
		})
	}
}
