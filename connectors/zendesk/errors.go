package zendesk

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/deskbridge/deskbridge/connectors"
)

// CodeTicketUpdateLimit is the Error.Code of an update refused locally
// because it would be the 31st update of one ticket within 10 minutes
// (Zendesk's Update Ticket limit per user per ticket). Wait says when a
// slot frees.
const CodeTicketUpdateLimit = "ticket_update_limit"

// defaultRateLimitWait is the wait of a 429 that carries neither
// Retry-After nor ratelimit-reset: Zendesk's budgets are per minute.
const defaultRateLimitWait = time.Minute

// FieldError is one validation error of a field, from the details of a
// RecordInvalid answer.
type FieldError struct {
	Description string // e.g. "Status: closed prevents ticket update"
	Error       string // e.g. "InvalidValue", "BlankValue"; may be ""
}

// APIError is Zendesk's error body. Zendesk answers in several shapes; all
// are read into this one:
//
//	{"error":"RecordInvalid","description":"Record validation errors",
//	 "details":{"<field>":[{"description":"…","error":"InvalidValue"}]}}
//	{"error":"InvalidEndpoint","description":"Not found"}
//	{"error":{"title":"Forbidden","message":"…"}}
//	{"status":500,"error":"Internal Server Error"}
//	{"errors":[{"code":"…","title":"…","detail":"…","status":"…","source":{…}}]}
//
// Client errors are *connectors.Error values whose Err is an *APIError,
// reachable with errors.As.
type APIError struct {
	// Name is the error name: "RecordInvalid", "InvalidEndpoint",
	// "ParameterMissing", "Forbidden", or the first errors[].code.
	Name string
	// Description is the human text: description, message or title.
	Description string
	// Fields are the per-field errors of RecordInvalid (details), or the
	// errors[] entries keyed by their source (or code when none).
	Fields map[string][]FieldError
}

// Error implements error. It names the error only: the *connectors.Error
// that wraps it already carries the description and the field errors.
func (e *APIError) Error() string { return "zendesk error " + cmpOr(e.Name, e.Description) }

// FieldsText renders Fields as "field: description (error); …", sorted by
// field, or "" when there are none.
func (e *APIError) FieldsText() string {
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		for _, f := range e.Fields[k] {
			p := k + ": " + f.Description
			if f.Error != "" {
				p += " (" + f.Error + ")"
			}
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, "; ")
}

// wireError is every documented error shape at once.
type wireError struct {
	Error       json.RawMessage `json:"error"`
	Description string          `json:"description"`
	Details     json.RawMessage `json:"details"`
	Errors      []struct {
		Code   string          `json:"code"`
		Title  string          `json:"title"`
		Detail string          `json:"detail"`
		Source json.RawMessage `json:"source"`
	} `json:"errors"`
}

// ParseError reads a Zendesk error body; nil when body is not one (a
// plain-text answer, an empty body).
func ParseError(body []byte) *APIError {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return nil
	}
	var w wireError
	if json.Unmarshal(body, &w) != nil {
		return nil
	}
	e := &APIError{Description: w.Description}
	var name string
	var obj struct {
		Title   string `json:"title"`
		Message string `json:"message"`
	}
	switch {
	case json.Unmarshal(w.Error, &name) == nil && name != "":
		e.Name = name
	case json.Unmarshal(w.Error, &obj) == nil && (obj.Title != "" || obj.Message != ""):
		e.Name = obj.Title
		if e.Description == "" {
			e.Description = obj.Message
		}
	}
	if len(w.Details) > 0 {
		var fields map[string][]FieldError
		var text string
		if json.Unmarshal(w.Details, &fields) == nil && len(fields) > 0 {
			e.Fields = fields
		} else if json.Unmarshal(w.Details, &text) == nil && text != "" {
			e.Fields = map[string][]FieldError{"details": {{Description: text}}}
		}
	}
	for i, item := range w.Errors {
		if i == 0 {
			e.Name = cmpOr(item.Code, item.Title, e.Name)
			e.Description = cmpOr(item.Title, item.Detail, e.Description)
		}
		if item.Detail == "" {
			continue
		}
		if e.Fields == nil {
			e.Fields = map[string][]FieldError{}
		}
		key := cmpOr(sourceName(item.Source), item.Code, "error")
		e.Fields[key] = append(e.Fields[key], FieldError{Description: item.Detail, Error: item.Code})
	}
	if e.Name == "" && e.Description == "" && len(e.Fields) == 0 {
		return nil
	}
	return e
}

// sourceName names an errors[].source: its pointer, parameter or header.
func sourceName(raw json.RawMessage) string {
	var s struct {
		Pointer   string `json:"pointer"`
		Parameter string `json:"parameter"`
		Header    string `json:"header"`
	}
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return cmpOr(s.Pointer, s.Parameter, s.Header)
}

// cmpOr returns the first non-empty string.
func cmpOr(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// Classify is the connectors.ClassifyFunc of the Zendesk API. Zendesk
// documents its errors by HTTP status, so the Kind follows the status:
// 401/403 Auth, 409 Conflict, 429 RateLimited, 5xx (but 501) Retryable,
// other 4xx (400, 404, 422…) Permanent. Code is Zendesk's error name, Message
// its description and Details the per-field errors. A 429's Wait is
// Retry-After, else ratelimit-reset, else a minute; its body may be plain
// text (the single-user update throttle), kept as Message.
func Classify(status int, header http.Header, body []byte) *connectors.Error {
	e := &connectors.Error{Kind: connectors.KindForStatus(status)}
	if ae := ParseError(body); ae != nil {
		e.Code, e.Message, e.Details, e.Err = ae.Name, cmpOr(ae.Description, ae.Name), ae.FieldsText(), ae
	} else {
		e.Message = http.StatusText(status)
		if b := strings.TrimSpace(string(body)); b != "" && len(b) <= 300 && !strings.ContainsAny(b, "<{") {
			e.Message = b
		}
	}
	switch e.Kind {
	case connectors.RateLimited:
		e.Wait = connectors.RetryAfterHeader(header, time.Now())
		if e.Wait <= 0 {
			e.Wait = resetHeader(header)
		}
		if e.Wait <= 0 {
			e.Wait = defaultRateLimitWait
		}
	case connectors.Retryable:
		e.Wait = connectors.RetryAfterHeader(header, time.Now())
	}
	return e
}

// apiError returns the *APIError of err, nil when it has none.
func apiError(err error) *APIError {
	var ce *connectors.Error
	if !errors.As(err, &ce) {
		return nil
	}
	ae, _ := ce.Err.(*APIError)
	return ae
}

// closedConflict is the error of a write to a closed ticket.
func closedConflict(op, ticketID string, cause *connectors.Error) *connectors.Error {
	e := &connectors.Error{Kind: connectors.Conflict, Vendor: vendor, Op: op, Code: connectors.CodeTicketClosed,
		Message: fmt.Sprintf("ticket %s is closed: open a follow-up ticket", ticketID)}
	if cause != nil {
		e.Status, e.Details, e.Err = cause.Status, cause.Details, cause.Err
	}
	return e
}
