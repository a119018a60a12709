package whatsapp

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deskbridge/deskbridge/connectors"
)

// metaBody is a Graph API error body with the given code and details.
func metaBody(code int, details string) string {
	return fmt.Sprintf(`{"error":{"message":"(#%d) title of %d","type":"OAuthException","code":%d,
		"error_data":{"messaging_product":"whatsapp","details":%q},"error_subcode":2494055,"fbtrace_id":"Az8or2yhqkZfEZ"}}`,
		code, code, code, details)
}

// TestErrorClassification sends a message against each of Meta's error
// answers and checks the kind, code, details and wait of the error.
func TestErrorClassification(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		status   int
		body     string
		header   []string
		kind     connectors.Kind
		code     string
		wait     time.Duration
		message  string // substring; "" = "(#code) title of code" when code is set
		noDetail bool
	}{
		{name: "0 auth exception", status: 401, body: metaBody(0, "could not authenticate"), kind: connectors.Auth, code: "0"},
		{name: "190 token expired", status: 401, body: `{"error":{"message":"Error validating access token: Session has expired",
			"type":"OAuthException","code":190,"error_subcode":463,"fbtrace_id":"AXsg"}}`, kind: connectors.Auth, code: "190",
			message: "Session has expired", noDetail: true},
		{name: "10 permission", status: 403, body: metaBody(10, "permission denied"), kind: connectors.Auth, code: "10"},
		{name: "200 permission", status: 403, body: metaBody(200, "no access to WABA"), kind: connectors.Auth, code: "200"},
		{name: "299 permission range", status: 403, body: metaBody(299, "x"), kind: connectors.Auth, code: "299"},
		{name: "131005 permission", status: 403, body: metaBody(131005, "x"), kind: connectors.Auth, code: "131005"},
		{name: "4 app rate limit", status: 400, body: metaBody(4, "app limit"), kind: connectors.RateLimited, code: "4", wait: time.Minute},
		{name: "4 with usage header", status: 400, body: metaBody(4, "app limit"), kind: connectors.RateLimited, code: "4",
			header: []string{"X-Business-Use-Case-Usage", `{"102290129340398":[{"type":"whatsapp","call_count":100,"estimated_time_to_regain_access":5}]}`},
			wait:   5 * time.Minute},
		{name: "80007 WABA rate limit", status: 400, body: metaBody(80007, "waba limit"), kind: connectors.RateLimited, code: "80007", wait: time.Minute},
		{name: "130429 throughput", status: 400, body: metaBody(130429, "Cloud API message throughput has been reached."),
			kind: connectors.RateLimited, code: "130429", wait: time.Second},
		{name: "130429 with Retry-After", status: 429, body: metaBody(130429, "throughput"), header: []string{"Retry-After", "7"},
			kind: connectors.RateLimited, code: "130429", wait: 7 * time.Second},
		{name: "131056 pair rate", status: 400, body: metaBody(131056, "pair rate"), kind: connectors.RateLimited, code: "131056", wait: time.Second},
		{name: "131048 spam limit", status: 400, body: metaBody(131048, "spam"), kind: connectors.RateLimited, code: "131048", wait: time.Hour},
		{name: "131049 ecosystem", status: 400, body: metaBody(131049, "ecosystem"), kind: connectors.RateLimited, code: "131049", wait: 24 * time.Hour},
		{name: "131064 classification", status: 400, body: metaBody(131064, "x"), kind: connectors.RateLimited, code: "131064", wait: time.Hour},
		{name: "2494100 migration", status: 400, body: metaBody(2494100, "x"), kind: connectors.RateLimited, code: "2494100", wait: 5 * time.Minute},
		{name: "131047 window closed", status: 400, body: metaBody(131047, "Message failed to send because more than 24 hours have passed"),
			kind: connectors.WindowClosed, code: "131047"},
		{name: "132000 param count", status: 400, body: metaBody(132000, "body: number of parameters does not match"), kind: connectors.Permanent, code: "132000"},
		{name: "132001 template missing", status: 404, body: metaBody(132001, "template name does not exist in en_US"), kind: connectors.Permanent, code: "132001"},
		{name: "132012 param format", status: 400, body: metaBody(132012, "format mismatch"), kind: connectors.Permanent, code: "132012"},
		{name: "100 invalid parameter", status: 400, body: metaBody(100, "Param text['body'] must be at most 4096 characters long."), kind: connectors.Permanent, code: "100"},
		{name: "131008 missing parameter", status: 400, body: metaBody(131008, "The parameter to is required."), kind: connectors.Permanent, code: "131008"},
		{name: "131009 invalid value", status: 400, body: metaBody(131009, "Value invalid"), kind: connectors.Permanent, code: "131009"},
		{name: "131026 undeliverable", status: 400, body: metaBody(131026, "Message Undeliverable."), kind: connectors.Permanent, code: "131026"},
		{name: "3 capability", status: 400, body: metaBody(3, "capability"), kind: connectors.Permanent, code: "3"},
		{name: "368 restricted", status: 400, body: metaBody(368, "policy"), kind: connectors.Permanent, code: "368"},
		{name: "1 invalid request", status: 500, body: metaBody(1, "unknown"), kind: connectors.Retryable, code: "1"},
		{name: "2 temporary", status: 503, body: `{"error":{"message":"An unexpected error occurred. Please retry your request",
			"type":"GraphMethodException","code":2,"fbtrace_id":"AXsg","is_transient":true}}`, kind: connectors.Retryable, code: "2",
			message: "Please retry", noDetail: true},
		{name: "131000 unknown", status: 500, body: metaBody(131000, "x"), kind: connectors.Retryable, code: "131000"},
		{name: "131016 unavailable", status: 503, body: metaBody(131016, "x"), kind: connectors.Retryable, code: "131016"},
		{name: "131057 maintenance", status: 400, body: metaBody(131057, "maintenance"), kind: connectors.Retryable, code: "131057"},
		{name: "133004 unavailable", status: 503, body: metaBody(133004, "x"), kind: connectors.Retryable, code: "133004"},
		{name: "133004 keeps Retry-After", status: 503, body: metaBody(133004, "x"), header: []string{"Retry-After", "3"},
			kind: connectors.Retryable, code: "133004", wait: 3 * time.Second},
		{name: "unknown code by 400", status: 400, body: metaBody(987654, "new"), kind: connectors.Permanent, code: "987654"},
		{name: "unknown code by 500", status: 500, body: metaBody(987654, "new"), kind: connectors.Retryable, code: "987654"},
		{name: "unknown code by 403", status: 403, body: metaBody(987654, "new"), kind: connectors.Auth, code: "987654"},
		{name: "unknown transient code", status: 400, body: `{"error":{"message":"busy","code":987654,"is_transient":true}}`,
			kind: connectors.Retryable, code: "987654", message: "busy", noDetail: true},
		{name: "error_data as a string", status: 400, body: `{"error":{"message":"(#131009) bad","code":131009,
			"error_data":"{\"messaging_product\":\"whatsapp\",\"details\":\"stringified\"}"}}`, kind: connectors.Permanent,
			code: "131009", message: "bad"},
		{name: "5xx without body", status: 502, body: "", kind: connectors.Retryable, message: "Bad Gateway", noDetail: true},
		{name: "5xx html body", status: 503, body: "<html>down</html>", kind: connectors.Retryable, message: "Service Unavailable", noDetail: true},
		{name: "429 without body", status: 429, body: "", header: []string{"Retry-After", "11"}, kind: connectors.RateLimited,
			wait: 11 * time.Second, message: "Too Many Requests", noDetail: true},
		{name: "404 plain text", status: 404, body: "not here", kind: connectors.Permanent, message: "not here", noDetail: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, nil)
			b.mock.RegisterResponder(http.MethodPost, apiPrefix+"/"+testPhoneID+"/messages", b.rec.respond(tc.status, tc.body, tc.header...))
			_, err := b.client.Send(t.Context(), TextMessage(testTo, "hi"))
			ce := asConnErr(t, err)
			if ce.Kind != tc.kind || ce.Code != tc.code || ce.Status != tc.status || ce.Vendor != "whatsapp" || ce.Op != "send_text" {
				t.Errorf("err = %#v, want kind %s code %q status %d", ce, tc.kind, tc.code, tc.status)
			}
			if ce.Wait != tc.wait {
				t.Errorf("wait = %v, want %v", ce.Wait, tc.wait)
			}
			wantMsg := tc.message
			if wantMsg == "" {
				wantMsg = fmt.Sprintf("(#%s)", tc.code)
			}
			if !strings.Contains(ce.Message, wantMsg) {
				t.Errorf("message = %q, want it to contain %q", ce.Message, wantMsg)
			}
			if !tc.noDetail && ce.Details == "" {
				t.Errorf("details were lost: %#v", ce)
			}
			if tc.code != "" {
				var me *MetaError
				if !errors.As(err, &me) || me.FBTraceID == "" && strings.Contains(tc.body, "fbtrace_id") {
					t.Errorf("the Meta error (fbtrace id) is not reachable: %v", err)
				}
			}
			if n := b.mock.GetTotalCallCount(); n != 1 {
				t.Errorf("%d requests; a send must not be retried once it may have reached Meta", n)
			}
		})
	}
}

// TestErrorExamples classifies Meta's own example error bodies.
func TestErrorExamples(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file   string
		status int
		kind   connectors.Kind
		code   string
	}{
		{"meta-openapi-v23/get_phone_number_id__resp401__expired_token.json", 401, connectors.Auth, "190"},
		{"meta-openapi-v23/get_phone_number_id__resp403__insufficient_permissions.json", 403, connectors.Auth, "200"},
		{"meta-openapi-v23/get_phone_number_id__resp429__rate_limit_exceeded.json", 429, connectors.RateLimited, "4"},
		{"meta-openapi-v23/get_phone_number_id__resp500__internal_error.json", 500, connectors.Retryable, "2"},
		{"meta-docs/error_response_130429.json", 400, connectors.RateLimited, "130429"},
	}
	for _, tc := range tests {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			t.Parallel()
			body, err := os.ReadFile(filepath.Join(payloadDir, tc.file))
			if errors.Is(err, os.ErrNotExist) {
				t.Skipf("%s not found", tc.file)
			}
			if err != nil {
				t.Fatal(err)
			}
			e := Classify(tc.status, http.Header{}, body)
			if e.Kind != tc.kind || e.Code != tc.code || e.Message == "" {
				t.Errorf("Classify = %#v, want %s %s", e, tc.kind, tc.code)
			}
		})
	}
}

func TestGetRetriesQuicklyOn5xx(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	calls := 0
	b.mock.RegisterResponder(http.MethodGet, apiPrefix+"/"+testPhoneID, func(r *http.Request) (*http.Response, error) {
		calls++
		if calls == 1 {
			return b.rec.respond(503, "")(r)
		}
		return b.rec.respond(200, `{"id":"1"}`)(r)
	})
	if _, err := b.client.PhoneNumberInfo(t.Context()); err != nil {
		t.Fatalf("PhoneNumberInfo: %v (a GET gets one quick retry)", err)
	}
	if len(b.rec.all()) != 2 {
		t.Fatalf("%d requests, want 2", len(b.rec.all()))
	}
}

// TestStatusWebhookErrors maps errors of failed status webhooks to the same
// kinds as synchronous answers.
func TestStatusWebhookErrors(t *testing.T) {
	t.Parallel()
	t.Run("status_failed_131049.json", func(t *testing.T) {
		t.Parallel()
		body, err := os.ReadFile(filepath.Join(payloadDir, "meta-docs", "status_failed_131049.json"))
		if errors.Is(err, os.ErrNotExist) {
			t.Skip("status_failed_131049.json not found")
		}
		if err != nil {
			t.Fatal(err)
		}
		evs, err := ParseNotification(body)
		if err != nil || len(evs) != 1 || evs[0].Status == nil || len(evs[0].Status.Errors) != 1 {
			t.Fatalf("ParseNotification = %+v, %v", evs, err)
		}
		ce := StatusError(evs[0].Status.Errors[0])
		if ce.Kind != connectors.RateLimited || ce.Code != "131049" || ce.Wait != 24*time.Hour || ce.Op != "message_status" ||
			ce.Vendor != "whatsapp" || !strings.Contains(ce.Details, "healthy ecosystem engagement") ||
			!strings.Contains(ce.Message, "not delivered") {
			t.Errorf("StatusError = %#v", ce)
		}
		if h := Hint(ce); !strings.Contains(h, "24 hours") {
			t.Errorf("Hint = %q", h)
		}
	})
	tests := []struct {
		err  Error
		kind connectors.Kind
		wait time.Duration
	}{
		{Error{Code: 131047, Title: "Re-engagement message"}, connectors.WindowClosed, 0},
		{Error{Code: 131026, Message: "Message Undeliverable."}, connectors.Permanent, 0},
		{Error{Code: 130429, Message: "Rate limit hit"}, connectors.RateLimited, time.Second},
		{Error{Code: 131056, Message: "pair rate"}, connectors.RateLimited, time.Second},
		{Error{Code: 131000, Message: "Something went wrong"}, connectors.Retryable, 0},
		{Error{Code: 190, Message: "token"}, connectors.Auth, 0},
		{Error{Code: 132001, Message: "template"}, connectors.Permanent, 0},
		{Error{Code: 555555, Message: "new code"}, connectors.Permanent, 0},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.err.Code), func(t *testing.T) {
			t.Parallel()
			ce := StatusError(tc.err)
			if ce.Kind != tc.kind || ce.Wait != tc.wait || ce.Code != fmt.Sprint(tc.err.Code) || ce.Message == "" {
				t.Errorf("StatusError(%+v) = %#v, want %s wait %v", tc.err, ce, tc.kind, tc.wait)
			}
		})
	}
}

func TestClassifyCodeTable(t *testing.T) {
	t.Parallel()
	want := map[connectors.Kind][]int{
		connectors.Auth:         {0, 10, 190, 200, 250, 299, 131005},
		connectors.RateLimited:  {4, 80007, 130429, 131056, 131048, 131049, 131064, 2494100},
		connectors.Retryable:    {1, 2, 131000, 131016, 131057, 133004},
		connectors.WindowClosed: {131047},
		connectors.Permanent: {3, 100, 368, 130403, 130472, 130497, 131008, 131009, 131021, 131026, 131031, 131037,
			131042, 131045, 131050, 131051, 131052, 131053, 131062, 131063, 132000, 132001, 132005, 132007, 132012,
			132015, 132016, 133010, 135000},
		"": {5, 199, 300, 131001, 999999},
	}
	for kind, codes := range want {
		for _, code := range codes {
			if got := ClassifyCode(code); got != kind {
				t.Errorf("ClassifyCode(%d) = %q, want %q", code, got, kind)
			}
		}
	}
}

func TestPairRateBackoff(t *testing.T) {
	t.Parallel()
	for attempt, want := range map[int]time.Duration{-1: time.Second, 0: time.Second, 1: 4 * time.Second,
		2: 16 * time.Second, 3: 64 * time.Second, 8: 65536 * time.Second, 50: 65536 * time.Second} {
		if got := PairRateBackoff(attempt); got != want {
			t.Errorf("PairRateBackoff(%d) = %v, want %v", attempt, got, want)
		}
	}
}

func TestHint(t *testing.T) {
	t.Parallel()
	code := func(c string, k connectors.Kind) error {
		return fmt.Errorf("wrapped: %w", &connectors.Error{Kind: k, Vendor: "whatsapp", Code: c, Status: 400})
	}
	tests := []struct {
		err  error
		want string
	}{
		{code("131047", connectors.WindowClosed), "customer service window closed: send a template"},
		{code("130429", connectors.RateLimited), "throughput limit reached: retry later"},
		{code("131056", connectors.RateLimited), "too many messages to this customer: retry after a pause"},
		{code("132001", connectors.Permanent), "template missing in that language or not approved: run `deskbridge templates sync` and check the name"},
		{code("190", connectors.Auth), "access token rejected: rotate the token"},
		{code("0", connectors.Auth), "access token rejected: rotate the token"},
		{code("131026", connectors.Permanent), "the number is not on WhatsApp or cannot receive messages"},
		{code("230", connectors.Auth), "permission"},
		{code("777777", connectors.Permanent), "retrying will not help"},
		{code("", connectors.Retryable), "temporary failure"},
		{code("", connectors.Auth), "rotate the access token"},
		{invalid("send_text", "to: bad"), "refused before sending: to: bad"},
		{errors.New("plain"), ""},
		{nil, ""},
	}
	for _, tc := range tests {
		if got := Hint(tc.err); !strings.Contains(got, tc.want) || (tc.want == "" && got != "") {
			t.Errorf("Hint(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
