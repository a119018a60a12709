package zendesk

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deskbridge/deskbridge/connectors"
)

// TestClassifyRecordedErrors classifies every error body recorded from a
// real Zendesk (amp-labs__*), through the client.
func TestClassifyRecordedErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file    string
		status  int
		kind    connectors.Kind
		code    string
		message string // substring of Message
		details string // substring of Details
	}{
		{"amp-labs__duplicate-error.json", 422, connectors.Permanent, "RecordInvalid", "Record validation errors",
			"route.subdomain: Subdomain: nk2 has already been taken (DuplicateValue)"},
		{"amp-labs__record-validation.json", 422, connectors.Permanent, "RecordInvalid", "Record validation errors",
			"name: Name: cannot be blank (BlankValue); recipient_addresses.email: Email is not properly formatted (InvalidFormat); route.subdomain: Subdomain: is invalid"},
		{"amp-labs__forbidden.json", 403, connectors.Auth, "Forbidden", "You do not have access to this page", ""},
		{"amp-labs__missing-parameter.json", 400, connectors.Permanent, "ParameterMissing", "Parameter brands is required", ""},
		{"amp-labs__resource-not-found.json", 404, connectors.Permanent, "InvalidEndpoint", "Not found", ""},
		{"amp-labs__server-error.json", 500, connectors.Retryable, "Internal Server Error", "Internal Server Error", ""},
	}
	// Every recorded error body is in the table.
	files, _ := filepath.Glob(filepath.Join(payloadDir, "amp-labs__*.json"))
	for _, f := range files {
		name := filepath.Base(f)
		if strings.HasPrefix(name, "amp-labs__read_") {
			continue // recorded list pages, not errors
		}
		found := false
		for _, tc := range tests {
			found = found || tc.file == name
		}
		if !found {
			t.Errorf("recorded error %s is not classified by this test", name)
		}
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			b := setup(t, nil)
			b.on("GET", "/api/v2/tickets/4.json", reply{status: tc.status, body: payload(t, tc.file)})
			_, err := b.client.Ticket(t.Context(), ticket4)
			ce := asError(t, err)
			if ce.Kind != tc.kind || ce.Code != tc.code || ce.Status != tc.status || ce.Vendor != "zendesk" || ce.Op != "show_ticket" {
				t.Errorf("error = %+v, want %s %s HTTP %d", ce, tc.kind, tc.code, tc.status)
			}
			if !strings.Contains(ce.Message, tc.message) || !strings.Contains(ce.Details, tc.details) {
				t.Errorf("message %q / details %q, want %q / %q", ce.Message, ce.Details, tc.message, tc.details)
			}
			var ae *APIError
			if !errors.As(err, &ae) || ae.Name != tc.code {
				t.Errorf("APIError not reachable: %v", err)
			}
		})
	}
}

func TestClassifyShapes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		status  int
		header  []string
		body    string
		kind    connectors.Kind
		code    string
		message string
		details string
		wait    time.Duration
	}{
		{name: "errors list", status: 400, kind: connectors.Permanent, code: "InvalidParameter", message: "Invalid parameter",
			body:    `{"errors":[{"code":"InvalidParameter","title":"Invalid parameter","detail":"endpoint must be https","status":"400","source":{"pointer":"/webhook/endpoint"}}]}`,
			details: "/webhook/endpoint: endpoint must be https (InvalidParameter)"},
		{name: "errors list without source", status: 404, kind: connectors.Permanent, code: "WebhookNotFound", message: "Webhook not found",
			body: `{"errors":[{"code":"WebhookNotFound","title":"Webhook not found","detail":"no webhook 01X"}]}`, details: "WebhookNotFound: no webhook 01X"},
		{name: "search unavailable", status: 503, kind: connectors.Retryable, code: "unavailable", message: "Sorry, we could not complete your search query",
			body: `{"error":"unavailable","description":"Sorry, we could not complete your search query. Please try again in a moment."}`},
		{name: "search invalid page", status: 422, kind: connectors.Permanent, code: "invalid", message: "Invalid search",
			body: `{"error":"invalid","description":"Invalid search: Requested response size was greater than Search Response Limits"}`},
		{name: "unauthenticated", status: 401, kind: connectors.Auth, code: "Couldn't authenticate you", message: "Couldn't authenticate you",
			body: `{"error":"Couldn't authenticate you"}`},
		{name: "conflict", status: 409, kind: connectors.Conflict, code: "UpdateConflict", message: "Safe update failed",
			body: `{"error":"UpdateConflict","description":"Safe update failed: the ticket was updated since updated_stamp"}`},
		{name: "429 JSON with Retry-After", status: 429, header: []string{"Retry-After", "93"}, kind: connectors.RateLimited,
			code: "TooManyRequests", message: "Rate limit", body: `{"error":"TooManyRequests","description":"Rate limit exceeded"}`, wait: 93 * time.Second},
		{name: "429 plain text", status: 429, header: []string{"Retry-After", "7", "Content-Type", "text/plain"}, kind: connectors.RateLimited,
			message: "You have exceeded the rate limit for updating a single unique user",
			body:    "You have exceeded the rate limit for updating a single unique user. Please wait before retrying.", wait: 7 * time.Second},
		{name: "429 with ratelimit-reset only", status: 429, header: []string{"ratelimit-reset", "41"}, kind: connectors.RateLimited,
			message: "Too Many Requests", body: "", wait: 41 * time.Second},
		{name: "429 with nothing", status: 429, kind: connectors.RateLimited, message: "Too Many Requests", body: "", wait: time.Minute},
		{name: "503 Retry-After", status: 503, header: []string{"Retry-After", "5"}, kind: connectors.Retryable, message: "maintenance",
			body: "maintenance", wait: 5 * time.Second},
		{name: "501", status: 501, kind: connectors.Permanent, message: "Not Implemented", body: "<html>nope</html>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			for i := 0; i+1 < len(tc.header); i += 2 {
				h.Set(tc.header[i], tc.header[i+1])
			}
			e := Classify(tc.status, h, []byte(tc.body))
			if e.Kind != tc.kind || e.Code != tc.code || e.Wait != tc.wait {
				t.Errorf("Classify = kind %s code %q wait %s, want %s %q %s", e.Kind, e.Code, e.Wait, tc.kind, tc.code, tc.wait)
			}
			if !strings.Contains(e.Message, tc.message) || !strings.Contains(e.Details, tc.details) {
				t.Errorf("message %q details %q, want %q / %q", e.Message, e.Details, tc.message, tc.details)
			}
		})
	}
}

// TestRateLimitedThroughClient: a 429 reaches the caller as RateLimited
// with the wait, after a single attempt.
func TestRateLimitedThroughClient(t *testing.T) {
	t.Parallel()
	for _, body := range []string{`{"error":"TooManyRequests","description":"Rate limit exceeded"}`, "Too many requests, slow down"} {
		b := setup(t, nil)
		b.on("GET", "/api/v2/tickets/4.json", reply{status: 429, body: body, header: []string{"Retry-After", "30"}})
		_, err := b.client.Ticket(t.Context(), ticket4)
		ce := asError(t, err)
		if ce.Kind != connectors.RateLimited || ce.RetryAfter() != 30*time.Second || ce.Status != 429 {
			t.Errorf("429 %q = %+v, want RateLimited 30s", body, ce)
		}
		if n := len(b.rec.all()); n != 1 {
			t.Errorf("429 retried by the stack: %d attempts", n)
		}
	}
}

func TestParseErrorNotZendesk(t *testing.T) {
	t.Parallel()
	for _, body := range []string{"", "plain", "[]", "{}", `{"foo":1}`, `{"error":null}`, "{broken"} {
		if e := ParseError([]byte(body)); e != nil {
			t.Errorf("ParseError(%q) = %+v, want nil", body, e)
		}
	}
	if _, err := os.Stat(payloadDir); err != nil {
		t.Logf("payloads absent: %v", err)
	}
}
