package whatsapp

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"

	"github.com/deskbridge/deskbridge/connectors"
)

// Test client constants: requests go to apiBase/v23.0/…
const (
	apiBase   = "https://graph.test"
	apiPrefix = apiBase + "/v23.0"
	testTo    = "+16505551234"
)

// examplesDir holds Meta's OpenAPI request/response examples.
const examplesDir = payloadDir + "/meta-openapi-v23"

// captured is one request seen by a responder.
type captured struct {
	Method string
	URL    string
	Header http.Header
	Body   []byte
}

// recorder records the requests its responders see; safe for the
// concurrent use of a transport.
type recorder struct {
	mu   sync.Mutex
	reqs []captured
}

// respond returns a responder that records the request and answers status
// with body (JSON) and the given header pairs.
func (r *recorder) respond(status int, body string, header ...string) httpmock.Responder {
	return func(req *http.Request) (*http.Response, error) {
		r.record(req)
		resp := httpmock.NewStringResponse(status, body)
		resp.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(header); i += 2 {
			resp.Header.Set(header[i], header[i+1])
		}
		return resp, nil
	}
}

func (r *recorder) record(req *http.Request) captured {
	var b []byte
	if req.Body != nil {
		b, _ = io.ReadAll(req.Body)
	}
	c := captured{Method: req.Method, URL: req.URL.String(), Header: req.Header.Clone(), Body: b}
	r.mu.Lock()
	r.reqs = append(r.reqs, c)
	r.mu.Unlock()
	return c
}

func (r *recorder) all() []captured {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]captured(nil), r.reqs...)
}

// only returns the single recorded request, failing otherwise.
func (r *recorder) only(t *testing.T) captured {
	t.Helper()
	reqs := r.all()
	if len(reqs) != 1 {
		t.Fatalf("got %d requests, want 1: %+v", len(reqs), reqs)
	}
	return reqs[0]
}

// testBundle is a client over an httpmock transport.
type testBundle struct {
	client *Client
	mock   *httpmock.MockTransport
	rec    *recorder
	tokens *atomic.Int64 // number of token calls; the token is "tok-<n>"
}

// setup builds a client for testPhoneID/testWABA; mutate may change the
// config.
func setup(t *testing.T, mutate func(*Config)) *testBundle {
	t.Helper()
	b := &testBundle{mock: httpmock.NewMockTransport(), rec: &recorder{}, tokens: &atomic.Int64{}}
	cfg := Config{
		APIBaseURL: apiBase, APIVersion: "v23.0", PhoneNumberID: testPhoneID, WABAID: testWABA,
		Token: func(context.Context) (string, error) {
			return "tok-" + strconv.FormatInt(b.tokens.Add(1), 10), nil
		},
		Transport: b.mock,
		stack: func(c *connectors.ClientConfig) {
			c.RetryWaitMin, c.RetryWaitMax = time.Millisecond, 2*time.Millisecond
		},
	}
	if mutate != nil {
		mutate(&cfg)
	}
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	b.client = c
	return b
}

// example reads a file of Meta's examples, skipping the test when the
// folder is absent.
func example(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(examplesDir, name))
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("example %s not found; example-based test skipped", name)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// jsonEqual compares two JSON documents semantically.
func jsonEqual(t *testing.T, got, want []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got invalid JSON %s: %v", got, err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("want invalid JSON %s: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("JSON differs\n got: %s\nwant: %s", compact(got), compact(want))
	}
}

func compact(b []byte) string {
	var v any
	if json.Unmarshal(b, &v) != nil {
		return string(b)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

// kindOf returns err's *connectors.Error, failing when there is none.
func asConnErr(t *testing.T, err error) *connectors.Error {
	t.Helper()
	var ce *connectors.Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %v (%T) is not a *connectors.Error", err, err)
	}
	return ce
}

func TestNewClientValidates(t *testing.T) {
	t.Parallel()
	tok := func(context.Context) (string, error) { return "t", nil }
	tests := []struct {
		name string
		cfg  Config
		want string // substring of the error; "" = valid
	}{
		{"valid with defaults", Config{PhoneNumberID: "1", Token: tok}, ""},
		{"valid full", Config{APIBaseURL: "http://127.0.0.1:8080/", APIVersion: "v24.0", PhoneNumberID: "1",
			WABAID: "2", Token: tok, RequestsPerSecond: 80}, ""},
		{"relative base url", Config{APIBaseURL: "graph.facebook.com", PhoneNumberID: "1", Token: tok}, "absolute"},
		{"ftp base url", Config{APIBaseURL: "ftp://x", PhoneNumberID: "1", Token: tok}, "absolute"},
		{"base url with query", Config{APIBaseURL: "https://x/?a=1", PhoneNumberID: "1", Token: tok}, "query"},
		{"bad version", Config{APIVersion: "23.0", PhoneNumberID: "1", Token: tok}, "api_version"},
		{"missing phone id", Config{Token: tok}, "phone_number_id"},
		{"phone id not digits", Config{PhoneNumberID: "+34600", Token: tok}, "phone_number_id"},
		{"waba not digits", Config{PhoneNumberID: "1", WABAID: "abc", Token: tok}, "waba_id"},
		{"no token", Config{PhoneNumberID: "1"}, "token"},
		{"negative rps", Config{PhoneNumberID: "1", Token: tok, RequestsPerSecond: -1}, "requests_per_second"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewClient(tc.cfg)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("NewClient: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("NewClient error = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestTokenIsFetchedPerRequest(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.mock.RegisterResponder(http.MethodPost, apiPrefix+"/"+testPhoneID+"/messages",
		b.rec.respond(200, `{"success":true}`))
	for range 2 {
		if err := b.client.MarkRead(t.Context(), "wamid.X", false); err != nil {
			t.Fatal(err)
		}
	}
	reqs := b.rec.all()
	if len(reqs) != 2 || reqs[0].Header.Get("Authorization") != "Bearer tok-1" ||
		reqs[1].Header.Get("Authorization") != "Bearer tok-2" {
		t.Fatalf("authorization headers = %q, %q; want a fresh token per request",
			reqs[0].Header.Get("Authorization"), reqs[1].Header.Get("Authorization"))
	}
}

func TestTokenFailureMakesNoRequest(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *Config) {
		c.Token = func(context.Context) (string, error) { return "", errors.New("vault sealed") }
	})
	b.mock.RegisterResponder(http.MethodPost, apiPrefix+"/"+testPhoneID+"/messages", b.rec.respond(200, `{}`))
	err := b.client.MarkRead(t.Context(), "wamid.X", false)
	if err == nil || !strings.Contains(err.Error(), "vault sealed") {
		t.Fatalf("err = %v, want the token error", err)
	}
	if n := b.mock.GetTotalCallCount(); n != 0 {
		t.Fatalf("%d requests reached the transport", n)
	}
}

func TestPhoneNumberInfo(t *testing.T) {
	t.Parallel()
	body := `{"id":"106853218861309","display_phone_number":"+1 555-555-5555","verified_name":"Jaspers Market",
		"quality_rating":"GREEN","whatsapp_business_manager_messaging_limit":"TIER_2K","throughput":{"level":"STANDARD"}}`
	b := setup(t, nil)
	b.mock.RegisterResponder(http.MethodGet, apiPrefix+"/"+testPhoneID, b.rec.respond(200, body))
	info, err := b.client.PhoneNumberInfo(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := PhoneInfo{ID: "106853218861309", DisplayPhoneNumber: "+1 555-555-5555", VerifiedName: "Jaspers Market",
		QualityRating: "GREEN", MessagingLimit: "TIER_2K", Throughput: "STANDARD"}
	if *info != want {
		t.Errorf("info = %+v, want %+v", *info, want)
	}
	r := b.rec.only(t)
	wantURL := apiPrefix + "/" + testPhoneID + "?fields=" +
		"id%2Cdisplay_phone_number%2Cverified_name%2Cquality_rating%2Cwhatsapp_business_manager_messaging_limit%2Cthroughput"
	if r.Method != http.MethodGet || r.URL != wantURL || r.Header.Get("Authorization") != "Bearer tok-1" {
		t.Errorf("request = %s %s (auth %q), want GET %s", r.Method, r.URL, r.Header.Get("Authorization"), wantURL)
	}
}

func TestPhoneNumberInfoDefaultExample(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.mock.RegisterResponder(http.MethodGet, apiPrefix+"/"+testPhoneID,
		b.rec.respond(200, string(example(t, "get_phone_number_id__resp200__default_response.json"))))
	info, err := b.client.PhoneNumberInfo(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.ID != "106853218861309" || info.VerifiedName != "Jaspers Market" || info.QualityRating != "GREEN" ||
		info.MessagingLimit != "" || info.Throughput != "" {
		t.Errorf("info = %+v", *info)
	}
}
