// Package connectors holds what every vendor connector shares: the error
// type whose Kind tells the engine and the queue what to do, and the
// outbound HTTP stack (quick retries, a circuit breaker and a rate limiter
// per vendor account, auth on a cloned request, per-request timeouts,
// metrics). Vendor packages (connectors/whatsapp, connectors/zendesk, …)
// build on it and never import each other.
package connectors

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Kind says what a failed vendor call means for the caller.
type Kind string

// The error kinds. Classification follows each vendor's documented error
// codes, never message text.
const (
	// Retryable: a network error, a 5xx or a vendor code documented as
	// temporary. Try again with backoff.
	Retryable Kind = "retryable"
	// RateLimited: the vendor asked us to slow down; Error.Wait says for how
	// long when known. Waiting uses no attempt.
	RateLimited Kind = "rate_limited"
	// Permanent: the request itself is wrong (bad parameter, unknown
	// template, not found). Retrying cannot help; the details say what to fix.
	Permanent Kind = "permanent"
	// Auth: the credentials were rejected (expired or revoked token, missing
	// permission). Retrying helps only after the secret is rotated.
	Auth Kind = "auth"
	// WindowClosed: WhatsApp's 24-hour customer service window is closed
	// (131047); only a template can reach the customer.
	WindowClosed Kind = "window_closed"
	// Conflict: the vendor reports a conflicting write (HTTP 409); read the
	// current state before writing again.
	Conflict Kind = "conflict"
)

// Error is the one error type of vendor calls. Callers inspect it with
// errors.As:
//
//	var ce *connectors.Error
//	if errors.As(err, &ce) && ce.Kind == connectors.WindowClosed { … }
type Error struct {
	Kind    Kind
	Vendor  string // "whatsapp", "zendesk", …
	Op      string // the operation, e.g. "send_message"
	Status  int    // HTTP status; 0 when no response came
	Code    string // the vendor's error code, e.g. "131047"
	Message string // the vendor's message, for people
	Details string // the vendor's details (which parameter, which limit)
	// Wait is how long to wait before trying again, when the vendor said
	// (Retry-After, a documented backoff) or the breaker is open.
	Wait time.Duration
	Err  error // the underlying error (network, decoding), if any
}

// Error implements error: "whatsapp: send_message: window_closed (131047,
// HTTP 400): message: details".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Vendor)
	if e.Op != "" {
		b.WriteString(": " + e.Op)
	}
	b.WriteString(": " + string(e.Kind))
	var meta []string
	if e.Code != "" {
		meta = append(meta, e.Code)
	}
	if e.Status != 0 {
		meta = append(meta, fmt.Sprintf("HTTP %d", e.Status))
	}
	if e.Wait > 0 {
		meta = append(meta, "retry after "+e.Wait.String())
	}
	if len(meta) > 0 {
		b.WriteString(" (" + strings.Join(meta, ", ") + ")")
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.Details != "" && e.Details != e.Message {
		b.WriteString(": " + e.Details)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Permanent reports whether retrying the same request cannot succeed; the
// queue dead-letters such events. Auth is not permanent: a rotated secret
// fixes it, so it is retried (and alerted on).
func (e *Error) Permanent() bool { return e.Kind == Permanent || e.Kind == WindowClosed }

// RetryAfter is the wait the vendor asked for (or the breaker imposes);
// the queue snoozes for it without using an attempt. Zero means no wait
// was given.
func (e *Error) RetryAfter() time.Duration {
	if e.Kind == RateLimited || e.Kind == Retryable {
		return e.Wait
	}
	return 0
}

// KindOf returns the Kind of err's *Error, or "" when err has none.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ""
}

// IsRetryable reports whether err is worth retrying later: network
// errors, 5xx, rate limits and errors that are not *Error at all (an
// unknown error defaults to retryable; the queue bounds the attempts).
func IsRetryable(err error) bool {
	switch KindOf(err) {
	case Retryable, RateLimited, "":
		return err != nil
	}
	return false
}

// KindForStatus classifies an HTTP status when the vendor body says
// nothing more specific: 401/403 Auth, 409 Conflict, 429 RateLimited, 5xx
// (but 501) Retryable, other 4xx Permanent.
func KindForStatus(status int) Kind {
	switch {
	case status == 401 || status == 403:
		return Auth
	case status == 409:
		return Conflict
	case status == 429:
		return RateLimited
	case status >= 500 && status != 501:
		return Retryable
	default:
		return Permanent
	}
}
