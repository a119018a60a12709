package zendesk

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// apiError is an error answer: a JSON body in one of Zendesk's shapes, or a
// plain-text body for the throttles that answer in text.
type apiError struct {
	status     int
	body       any    // JSON body; nil when plain is used
	plain      string // text/plain body
	retryAfter int    // seconds; 0 = no Retry-After header
}

// Error describes the answer (for logs).
func (e *apiError) Error() string {
	if e.plain != "" {
		return fmt.Sprintf("%d %s", e.status, e.plain)
	}
	b, _ := json.Marshal(e.body)
	return fmt.Sprintf("%d %s", e.status, b)
}

// classic is Zendesk's classic error body:
// {"error":"RecordInvalid","description":"…","details":{…}}.
type classic struct {
	Error       string                    `json:"error"`
	Description string                    `json:"description,omitempty"`
	Message     string                    `json:"message,omitempty"`
	Details     map[string][]detailRecord `json:"details,omitempty"`
}

// detailRecord is one entry of details.<field>; Error is omitted when empty
// (the closed-ticket answer has none).
type detailRecord struct {
	Description string `json:"description"`
	Error       string `json:"error,omitempty"`
}

// jsonAPIErrors is the body of the newer endpoints (webhooks):
// {"errors":[{"code","title","detail","source"}]}.
type jsonAPIErrors struct {
	Errors []jsonAPIError `json:"errors"`
}

type jsonAPIError struct {
	Code   string         `json:"code"`
	Title  string         `json:"title"`
	Detail string         `json:"detail,omitempty"`
	Source map[string]any `json:"source,omitempty"`
}

func errAuth() *apiError {
	return &apiError{status: http.StatusUnauthorized, body: map[string]string{"error": "Couldn't authenticate you"}}
}

func errNotFound() *apiError {
	return &apiError{status: http.StatusNotFound, body: classic{Error: "RecordNotFound", Description: "Not found"}}
}

func errInvalidEndpoint() *apiError {
	return &apiError{status: http.StatusNotFound, body: classic{Error: "InvalidEndpoint", Description: "Not found"}}
}

func errParameterMissing(name string) *apiError {
	return &apiError{status: http.StatusBadRequest,
		body: classic{Error: "ParameterMissing", Description: "Parameter " + name + " is required"}}
}

// errBadJSON answers a body that is not JSON.
func errBadJSON() *apiError {
	return &apiError{status: http.StatusBadRequest,
		body: classic{Error: "Unprocessable Entity", Message: "Server could not parse JSON"}}
}

// invalid collects RecordInvalid details.
type invalid map[string][]detailRecord

func (v invalid) add(field, errCode, description string) {
	v[field] = append(v[field], detailRecord{Description: description, Error: errCode})
}

// err returns the 422 answer, or nil when nothing was added.
func (v invalid) err() *apiError {
	if len(v) == 0 {
		return nil
	}
	return &apiError{status: http.StatusUnprocessableEntity,
		body: classic{Error: "RecordInvalid", Description: "Record validation errors", Details: v}}
}

func errRecordInvalid(field, errCode, description string) *apiError {
	v := invalid{}
	v.add(field, errCode, description)
	return v.err()
}

// errClosed is the answer to any update of a closed ticket.
func errClosed() *apiError {
	return &apiError{status: http.StatusUnprocessableEntity, body: classic{
		Error: "RecordInvalid", Description: "Record validation errors",
		Details: map[string][]detailRecord{"status": {{Description: "Status: closed prevents ticket update"}}},
	}}
}

// errTooMany is the account rate-limit answer.
func errTooMany(plain bool, limit, retry int) *apiError {
	if plain {
		return &apiError{status: http.StatusTooManyRequests, plain: "Rate limit exceeded", retryAfter: retry}
	}
	return &apiError{status: http.StatusTooManyRequests, retryAfter: retry, body: classic{Error: "TooManyRequests",
		Description: fmt.Sprintf("You have exceeded the rate limit of %d requests per minute for this account", limit)}}
}

// errTicketThrottle is the answer to the 31st update of one ticket by one
// user within 10 minutes.
func errTicketThrottle(ticketID int64, retry int) *apiError {
	return &apiError{status: http.StatusTooManyRequests, retryAfter: retry, body: classic{Error: "TooManyRequests",
		Description: fmt.Sprintf("Ticket %d has been updated too many times: the limit is %d updates per %d minutes per user",
			ticketID, ticketUpdateLimit, int(ticketUpdateWindow.Minutes()))}}
}

// errUserThrottle is the plain-text answer to too many updates of one user.
func errUserThrottle(retry int) *apiError {
	return &apiError{status: http.StatusTooManyRequests, retryAfter: retry,
		plain: "You have exceeded the rate limit for updating a single unique user"}
}

// errWebhook is a webhooks-API error.
func errWebhook(status int, code, title, detail, pointer string) *apiError {
	e := jsonAPIError{Code: code, Title: title, Detail: detail}
	if pointer != "" {
		e.Source = map[string]any{"pointer": pointer}
	}
	return &apiError{status: status, body: jsonAPIErrors{Errors: []jsonAPIError{e}}}
}

func errWebhookNotFound() *apiError {
	return errWebhook(http.StatusNotFound, "RecordNotFound", "Not Found", "Webhook not found", "")
}

// writeError writes e with its headers.
func writeError(w http.ResponseWriter, e *apiError) {
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.retryAfter))
	}
	if e.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="Web Password"`)
	}
	if e.plain != "" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(e.status)
		_, _ = w.Write([]byte(e.plain))
		return
	}
	writeJSON(w, e.status, e.body)
}

// writeJSON writes v as JSON (HTML characters left unescaped, as Zendesk does).
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(marshal(v))
}

// marshal encodes v without HTML escaping and without a trailing newline.
func marshal(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return []byte(`{"status":500,"error":"Internal Server Error"}`)
	}
	return bytes.TrimRight(buf.Bytes(), "\n")
}
