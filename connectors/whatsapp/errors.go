package whatsapp

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/deskbridge/deskbridge/connectors"
)

// MetaError is Meta's error object as returned by the Graph API:
//
//	{"error":{"message","type","code","error_subcode",
//	  "error_data":{"messaging_product","details"},"fbtrace_id"}}
//
// Client errors are *connectors.Error values whose Err is a *MetaError, so
// the fbtrace id (which Meta support asks for) stays reachable with
// errors.As.
type MetaError struct {
	Code      int
	Subcode   int
	Type      string // e.g. "OAuthException"
	Message   string // "(#code) title"
	Details   string // error_data.details: which parameter, which limit
	FBTraceID string
	Transient bool // is_transient, when Meta says so
}

// Error implements error.
func (e *MetaError) Error() string {
	s := "meta error " + strconv.Itoa(e.Code)
	if e.Subcode != 0 {
		s += " subcode " + strconv.Itoa(e.Subcode)
	}
	if e.FBTraceID != "" {
		s += " fbtrace_id " + e.FBTraceID
	}
	return s
}

// wireAPIError is the body of a Graph API error answer.
type wireAPIError struct {
	Error *struct {
		Message     flexString      `json:"message"`
		Type        flexString      `json:"type"`
		Code        flexInt         `json:"code"`
		Subcode     flexInt         `json:"error_subcode"`
		ErrorData   json.RawMessage `json:"error_data"`
		FBTraceID   flexString      `json:"fbtrace_id"`
		IsTransient flexBool        `json:"is_transient"`
	} `json:"error"`
}

// ParseMetaError reads a Graph API error body; nil when body is not one.
func ParseMetaError(body []byte) *MetaError {
	var w wireAPIError
	if json.Unmarshal(body, &w) != nil || w.Error == nil || (w.Error.Code == 0 && w.Error.Message == "" &&
		w.Error.Type == "") {
		return nil
	}
	e := &MetaError{Code: int(w.Error.Code), Subcode: int(w.Error.Subcode), Type: string(w.Error.Type),
		Message: string(w.Error.Message), FBTraceID: string(w.Error.FBTraceID), Transient: bool(w.Error.IsTransient)}
	// error_data is an object; some older answers carry it JSON-encoded in
	// a string.
	data := w.Error.ErrorData
	var s string
	if json.Unmarshal(data, &s) == nil {
		data = []byte(s)
	}
	var d struct {
		Details flexString `json:"details"`
	}
	if json.Unmarshal(data, &d) == nil {
		e.Details = string(d.Details)
	}
	return e
}

// codeRule is how one documented code is handled.
type codeRule struct {
	kind connectors.Kind
	wait time.Duration // default wait for RateLimited codes
}

// codeRules follows the error-code table of Meta's docs (reference §9):
// R → Retryable, rate limits → RateLimited, W → RateLimited with a long
// wait, N → Permanent except credentials (Auth) and 131047 (WindowClosed).
// Codes 200–299 are handled in ClassifyCode.
var codeRules = map[int]codeRule{
	// Credentials and permissions: retrying helps only after the token or
	// its permissions are fixed.
	0:      {kind: connectors.Auth},
	10:     {kind: connectors.Auth},
	190:    {kind: connectors.Auth},
	131005: {kind: connectors.Auth},
	// Rate limits.
	4:       {kind: connectors.RateLimited, wait: time.Minute},     // app call limit (per hour)
	80007:   {kind: connectors.RateLimited, wait: time.Minute},     // WABA call limit (per hour)
	130429:  {kind: connectors.RateLimited, wait: time.Second},     // throughput (messages/s)
	131056:  {kind: connectors.RateLimited, wait: time.Second},     // pair rate: 4^X s, X from 0
	131048:  {kind: connectors.RateLimited, wait: time.Hour},       // spam rate limit (W)
	131049:  {kind: connectors.RateLimited, wait: 24 * time.Hour},  // per-user marketing cap (W ≥24h)
	131064:  {kind: connectors.RateLimited, wait: time.Hour},       // template classification limit (W)
	2494100: {kind: connectors.RateLimited, wait: 5 * time.Minute}, // maintenance (phone migration)
	// Temporary failures.
	1:      {kind: connectors.Retryable}, // "retry once": the queue bounds attempts
	2:      {kind: connectors.Retryable},
	131000: {kind: connectors.Retryable},
	131016: {kind: connectors.Retryable},
	131057: {kind: connectors.Retryable}, // maintenance mode, about a minute
	133004: {kind: connectors.Retryable},
	// The 24-hour customer service window is closed: only a template helps.
	131047: {kind: connectors.WindowClosed},
	// Everything else in the table: fix the request, the template, the
	// account or the recipient.
	3: {kind: connectors.Permanent}, 100: {kind: connectors.Permanent}, 368: {kind: connectors.Permanent},
	130403: {kind: connectors.Permanent}, 130472: {kind: connectors.Permanent}, 130497: {kind: connectors.Permanent},
	131008: {kind: connectors.Permanent}, 131009: {kind: connectors.Permanent}, 131021: {kind: connectors.Permanent},
	131026: {kind: connectors.Permanent}, 131031: {kind: connectors.Permanent}, 131037: {kind: connectors.Permanent},
	131042: {kind: connectors.Permanent}, 131045: {kind: connectors.Permanent}, 131050: {kind: connectors.Permanent},
	131051: {kind: connectors.Permanent}, 131052: {kind: connectors.Permanent}, 131053: {kind: connectors.Permanent},
	131062: {kind: connectors.Permanent}, 131063: {kind: connectors.Permanent}, 132000: {kind: connectors.Permanent},
	132001: {kind: connectors.Permanent}, 132005: {kind: connectors.Permanent}, 132007: {kind: connectors.Permanent},
	132012: {kind: connectors.Permanent}, 132015: {kind: connectors.Permanent}, 132016: {kind: connectors.Permanent},
	133010: {kind: connectors.Permanent}, 135000: {kind: connectors.Permanent},
}

// ClassifyCode returns the Kind of a documented Cloud API error code, or ""
// for a code that Meta's table does not list (the caller then decides by
// HTTP status, see Classify). It never looks at message text.
func ClassifyCode(code int) connectors.Kind {
	if r, ok := codeRules[code]; ok {
		return r.kind
	}
	if code >= 200 && code <= 299 {
		return connectors.Auth // permission not granted or removed; 200 also means no token
	}
	return ""
}

// PairRateBackoff is Meta's advice for error 131056 (too many messages to
// one user): wait 4^attempt seconds, attempt counting from 0. The exponent
// is capped at 8 (about 18 hours).
func PairRateBackoff(attempt int) time.Duration {
	attempt = min(max(attempt, 0), 8)
	return time.Duration(math.Pow(4, float64(attempt))) * time.Second
}

// Classify is the connectors.ClassifyFunc of the Cloud API: it parses Meta's
// error body and classifies by error.code (ClassifyCode). Codes Meta does
// not document fall back to is_transient and then to the HTTP status
// (connectors.KindForStatus). Code, message and details are kept; Wait is
// the longest of the Retry-After header, the usage header's
// estimated_time_to_regain_access (app/WABA call limits) and the documented
// wait of the code.
func Classify(status int, header http.Header, body []byte) *connectors.Error {
	me := ParseMetaError(body)
	if me == nil {
		msg := http.StatusText(status)
		if b := strings.TrimSpace(string(body)); b != "" && len(b) <= 200 && !strings.ContainsAny(b, "<{") {
			msg = b
		}
		return &connectors.Error{Kind: connectors.KindForStatus(status), Message: msg,
			Wait: connectors.RetryAfterHeader(header, time.Now())}
	}
	kind := ClassifyCode(me.Code)
	if kind == "" {
		kind = connectors.KindForStatus(status)
		if me.Transient && kind == connectors.Permanent {
			kind = connectors.Retryable
		}
	}
	e := &connectors.Error{Kind: kind, Code: strconv.Itoa(me.Code), Message: me.Message, Details: me.Details, Err: me}
	if kind == connectors.RateLimited || kind == connectors.Retryable {
		// The longest of what Meta said and what its docs advise.
		e.Wait = max(connectors.RetryAfterHeader(header, time.Now()), codeRules[me.Code].wait)
		if me.Code == 4 || me.Code == 80007 {
			e.Wait = max(e.Wait, regainAccess(header))
		}
	}
	return e
}

// regainAccess reads estimated_time_to_regain_access (minutes) from the
// Graph usage headers X-Business-Use-Case-Usage and X-App-Usage; 0 when
// absent.
func regainAccess(h http.Header) time.Duration {
	var longest time.Duration
	if v := h.Get("X-Business-Use-Case-Usage"); v != "" {
		var buc map[string][]struct {
			Regain flexInt `json:"estimated_time_to_regain_access"`
		}
		if json.Unmarshal([]byte(v), &buc) == nil {
			for _, list := range buc {
				for _, u := range list {
					longest = max(longest, time.Duration(u.Regain)*time.Minute)
				}
			}
		}
	}
	if v := h.Get("X-App-Usage"); v != "" {
		var app struct {
			Regain flexInt `json:"estimated_time_to_regain_access"`
		}
		if json.Unmarshal([]byte(v), &app) == nil {
			longest = max(longest, time.Duration(app.Regain)*time.Minute)
		}
	}
	return longest
}

// StatusError maps an error carried by a "failed" status webhook (or a
// value-level webhook error) to the same kinds as a synchronous answer, so
// the status pipeline and the send pipeline treat a code alike. Op is
// "message_status"; Status is 0. A code Meta does not document is
// Permanent: the message has failed and nothing says a resend would work.
func StatusError(e Error) *connectors.Error {
	code := int(e.Code)
	kind := ClassifyCode(code)
	if kind == "" {
		kind = connectors.Permanent
	}
	msg := e.Message
	if msg == "" {
		msg = e.Title
	}
	ce := &connectors.Error{Kind: kind, Vendor: vendor, Op: "message_status", Code: strconv.Itoa(code),
		Message: msg, Details: e.Details}
	if kind == connectors.RateLimited || kind == connectors.Retryable {
		ce.Wait = codeRules[code].wait
	}
	return ce
}

// codeHints are the operator hints of the codes a bridge meets most.
var codeHints = map[int]string{
	0:       "access token rejected: rotate the token",
	190:     "access token rejected: rotate the token",
	10:      "the token lacks a permission (whatsapp_business_messaging or whatsapp_business_management): fix the system user's permissions",
	131005:  "the token lacks a permission (whatsapp_business_messaging or whatsapp_business_management): fix the system user's permissions",
	4:       "app request limit reached: retry later",
	80007:   "WhatsApp Business Account request limit reached: retry later",
	130429:  "throughput limit reached: retry later",
	131056:  "too many messages to this customer: retry after a pause",
	131048:  "spam rate limit: too many earlier messages were blocked or flagged; wait before sending more",
	131049:  "Meta held this marketing message to keep engagement healthy: wait at least 24 hours before resending",
	131064:  "messaging limited after template classification violations: wait, then review the templates",
	2494100: "the account is in maintenance (phone migration): retry in a few minutes",
	131057:  "the account is in maintenance: retry in a minute",
	1:       "Meta reported an invalid request or a server error: retry once, then check the request",
	2:       "WhatsApp is temporarily unavailable: retrying",
	131000:  "unknown error at Meta: retrying; contact Meta support if it persists",
	131016:  "WhatsApp is temporarily unavailable: retrying",
	133004:  "WhatsApp is temporarily unavailable: retrying",
	131047:  "customer service window closed: send a template",
	131026:  "the number is not on WhatsApp or cannot receive messages",
	131050:  "the customer stopped marketing messages: do not resend",
	131051:  "this message type is not supported",
	131052:  "the customer's media could not be downloaded: ask them to send it again",
	131053:  "the media could not be uploaded: check the file type and size",
	131062:  "this message cannot be sent to a business-scoped user id: use the phone number",
	131021:  "sender and recipient are the same number",
	131031:  "the business account is locked: check it in WhatsApp Manager",
	131042:  "payment method problem on the business account",
	131045:  "the business number is not registered correctly: register it",
	133010:  "the business number is not registered on the Cloud API: register it",
	131037:  "the business number needs an approved display name",
	131063:  "marketing templates are disabled for the Cloud API on this account",
	130403:  "the business has blocked this user",
	130472:  "the user is part of a Meta marketing experiment: the message was not sent",
	130497:  "the account may not message users in this country",
	368:     "the business account is restricted for a policy violation",
	100:     "invalid or unsupported parameter: see the details",
	131008:  "a required parameter is missing: see the details",
	131009:  "a parameter value is invalid: see the details",
	132000:  "template parameter count does not match the template: check its placeholders",
	132001:  "template missing in that language or not approved: run `deskbridge templates sync` and check the name",
	132005:  "translated template text is too long",
	132007:  "template content breaks WhatsApp policy",
	132012:  "template parameter format does not match the template: check its variables",
	132015:  "template paused for low quality: edit it or wait",
	132016:  "template permanently disabled: create a new template",
	135000:  "unknown error with the request parameters: contact Meta support with the fbtrace id",
}

// Hint returns a short, human hint for operators about err (an error from
// this package), for internal notes and logs: what happened and what to do.
// It is "" when err is nil or not a *connectors.Error.
func Hint(err error) string {
	var e *connectors.Error
	if !errors.As(err, &e) {
		return ""
	}
	if code, convErr := strconv.Atoi(e.Code); convErr == nil {
		if h, ok := codeHints[code]; ok {
			return h
		}
		if code >= 200 && code <= 299 {
			return "the token lacks a permission or the system user has no access to the WABA: fix its permissions"
		}
	}
	switch e.Kind {
	case connectors.Auth:
		return "credentials rejected: check or rotate the access token"
	case connectors.RateLimited:
		return "rate limited: retrying later"
	case connectors.Retryable:
		return "temporary failure: retrying"
	case connectors.WindowClosed:
		return codeHints[131047]
	case connectors.Conflict:
		return "conflicting write: read the current state before writing again"
	case connectors.Permanent:
		if e.Code == "" && e.Status == 0 {
			return fmt.Sprintf("message refused before sending: %s", e.Message)
		}
		return "request rejected: fix it (see the details); retrying will not help"
	}
	return ""
}
