package connectors

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/sony/gobreaker/v2"
	"golang.org/x/time/rate"

	"github.com/deskbridge/deskbridge/telemetry"
)

// AuthFunc adds credentials to an outgoing request. It is called on a
// clone of the request, once per attempt, so a rotated secret is picked up
// by the next attempt without a restart.
type AuthFunc func(ctx context.Context, req *http.Request) error

// ClassifyFunc turns a non-2xx answer into an *Error using the vendor's
// documented error codes. Vendor, Op and Status are filled in by the
// client. Nil means KindForStatus plus Retry-After.
type ClassifyFunc func(status int, header http.Header, body []byte) *Error

// ClientConfig configures a Client: one per vendor account.
type ClientConfig struct {
	Vendor  string // metric label and error prefix: "whatsapp", "zendesk", …
	Account string // names the breaker (never a metric label)
	BaseURL string // prefix of relative request paths
	Auth    AuthFunc
	// Classify maps error answers to kinds; nil uses KindForStatus.
	Classify ClassifyFunc
	// RequestsPerSecond and Burst set the account's limiter (0: unlimited).
	RequestsPerSecond float64
	Burst             int
	// OnAuthFailure, when set, is called when the vendor rejects the
	// credentials (an Auth error: 401, 403); when it returns true (a fresh
	// value may now be read, e.g. a rotated token from Vault) the request
	// is made once more.
	OnAuthFailure func(ctx context.Context) bool
	// Gate, when set, is waited on before every request after the limiter:
	// a budget shared with other processes (replicas on one database). An
	// error it returns is returned as is (a *ratelimit.Throttled snoozes
	// the event).
	Gate func(ctx context.Context) error
	// Timeout bounds one attempt (default 30s).
	Timeout time.Duration
	// RetryMax is the number of quick retries (default 1, at most 2); the
	// queue owns long waits.
	RetryMax int
	// RetryWaitMin/Max bound the pause before a quick retry (100ms, 1s).
	RetryWaitMin, RetryWaitMax time.Duration
	// BreakerFailures consecutive retryable failures open the breaker
	// (default 5); it stays open for BreakerOpenFor (default 30s).
	BreakerFailures int
	BreakerOpenFor  time.Duration
	// MaxResponseBytes bounds a response body (default 16 MiB).
	MaxResponseBytes int64
	Transport        http.RoundTripper // default http.DefaultTransport (tests: httpmock)
	Metrics          *Metrics          // nil: not counted
	Logger           *slog.Logger
}

// Client is the outbound HTTP stack of one vendor account. Middleware
// order, outermost first:
//
//	rate limiter (Wait) → circuit breaker (counts Retryable failures only)
//	→ retryablehttp (RetryMax quick retries, PassthroughErrorHandler)
//	→ http.Client (per-attempt Timeout) → auth (on a cloned request)
//	→ transport
//
// The final answer is classified once, by the vendor's ClassifyFunc.
type Client struct {
	cfg     ClientConfig
	log     *slog.Logger
	limiter *rate.Limiter
	breaker *gobreaker.CircuitBreaker[*Response]
	http    *retryablehttp.Client
}

// Request is one call. Path is relative to BaseURL unless it is absolute.
type Request struct {
	Method      string
	Path        string
	Query       url.Values
	Header      http.Header
	Body        []byte
	ContentType string
	// Idempotent allows quick retries after the request may have reached
	// the vendor (timeouts, 5xx). GET, HEAD and DELETE are idempotent by
	// default; a POST, PUT or PATCH (a PUT may add a comment) is retried
	// only when its connection was never established, unless this is set
	// (e.g. with an idempotency key).
	Idempotent bool
	// MaxBytes overrides ClientConfig.MaxResponseBytes for this call.
	MaxBytes int64
}

// Response is a successful (2xx) answer, read whole.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// NewClient builds a client.
func NewClient(cfg ClientConfig) (*Client, error) {
	if cfg.Vendor == "" {
		return nil, errors.New("connectors: ClientConfig.Vendor is required")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = 1
	}
	cfg.RetryMax = min(cfg.RetryMax, 2)
	if cfg.RetryWaitMin <= 0 {
		cfg.RetryWaitMin = 100 * time.Millisecond
	}
	if cfg.RetryWaitMax <= 0 {
		cfg.RetryWaitMax = time.Second
	}
	if cfg.BreakerFailures <= 0 {
		cfg.BreakerFailures = 5
	}
	if cfg.BreakerOpenFor <= 0 {
		cfg.BreakerOpenFor = 30 * time.Second
	}
	if cfg.MaxResponseBytes <= 0 {
		cfg.MaxResponseBytes = 16 << 20
	}
	if cfg.Transport == nil {
		cfg.Transport = http.DefaultTransport
	}
	if cfg.Logger == nil {
		cfg.Logger = telemetry.DiscardLogger()
	}
	c := &Client{cfg: cfg, log: cfg.Logger.With("component", "connector", "vendor", cfg.Vendor)}

	limit, burst := rate.Inf, 1
	if cfg.RequestsPerSecond > 0 {
		limit, burst = rate.Limit(cfg.RequestsPerSecond), max(cfg.Burst, 1)
	}
	c.limiter = rate.NewLimiter(limit, burst)

	c.breaker = gobreaker.NewCircuitBreaker[*Response](gobreaker.Settings{
		Name:        cfg.Vendor + ":" + cfg.Account,
		MaxRequests: 1,
		Timeout:     cfg.BreakerOpenFor,
		ReadyToTrip: func(counts gobreaker.Counts) bool {
			return counts.ConsecutiveFailures >= uint32(cfg.BreakerFailures)
		},
		// Only failures of the vendor (network, 5xx) trip the breaker: a
		// bad request or a rate limit says nothing about its health.
		IsSuccessful: func(err error) bool { return err == nil || KindOf(err) != Retryable },
		OnStateChange: func(name string, from, to gobreaker.State) {
			c.log.Warn("circuit breaker state changed", "breaker", name, "from_state", from.String(), "to_state", to.String())
			if cfg.Metrics != nil {
				cfg.Metrics.setBreaker(cfg.Vendor, cfg.Account, to)
			}
		},
	})
	if cfg.Metrics != nil {
		cfg.Metrics.setBreaker(cfg.Vendor, cfg.Account, gobreaker.StateClosed)
	}

	rc := retryablehttp.NewClient()
	rc.HTTPClient = &http.Client{
		Timeout:   cfg.Timeout,
		Transport: &authTransport{auth: cfg.Auth, next: cfg.Transport},
	}
	rc.RetryMax = cfg.RetryMax
	rc.RetryWaitMin, rc.RetryWaitMax = cfg.RetryWaitMin, cfg.RetryWaitMax
	rc.CheckRetry = checkRetry
	rc.ErrorHandler = retryablehttp.PassthroughErrorHandler
	rc.Logger = leveledLogger{c.log}
	c.http = rc
	return c, nil
}

// Limiter returns the account's limiter, so a connector can adapt it to
// the vendor's remaining-quota headers.
func (c *Client) Limiter() *rate.Limiter { return c.limiter }

// BaseURL returns the configured base URL.
func (c *Client) BaseURL() string { return c.cfg.BaseURL }

type idempotentKey struct{}

// Do performs req as operation op. A 2xx answer is returned; anything else
// is an *Error classified by the vendor's ClassifyFunc (or by status).
func (c *Client) Do(ctx context.Context, op string, req *Request) (*Response, error) {
	if err := c.limiter.Wait(ctx); err != nil {
		return nil, &Error{Kind: Retryable, Vendor: c.cfg.Vendor, Op: op, Err: err}
	}
	if c.cfg.Gate != nil {
		if err := c.cfg.Gate(ctx); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	resp, err := c.breaker.Execute(func() (*Response, error) { return c.do(ctx, op, req) })
	if KindOf(err) == Auth && c.cfg.OnAuthFailure != nil && c.cfg.OnAuthFailure(ctx) {
		resp, err = c.breaker.Execute(func() (*Response, error) { return c.do(ctx, op, req) })
	}
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		c.count(op, "breaker_open", start)
		return nil, &Error{Kind: Retryable, Vendor: c.cfg.Vendor, Op: op, Wait: c.cfg.BreakerOpenFor,
			Message: "circuit breaker open after repeated failures", Err: err}
	}
	return resp, err
}

func (c *Client) do(ctx context.Context, op string, r *Request) (*Response, error) {
	u := r.Path
	if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		u = strings.TrimSuffix(c.cfg.BaseURL, "/") + "/" + strings.TrimPrefix(r.Path, "/")
	}
	if len(r.Query) > 0 {
		u += "?" + r.Query.Encode()
	}
	idempotent := r.Idempotent || r.Method == http.MethodGet || r.Method == http.MethodHead ||
		r.Method == http.MethodDelete
	rctx := context.WithValue(ctx, idempotentKey{}, idempotent)
	var body any
	if r.Body != nil {
		body = r.Body
	}
	req, err := retryablehttp.NewRequestWithContext(rctx, r.Method, u, body)
	if err != nil {
		return nil, &Error{Kind: Permanent, Vendor: c.cfg.Vendor, Op: op, Err: err}
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if r.ContentType != "" {
		req.Header.Set("Content-Type", r.ContentType)
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}

	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		c.count(op, "error", start)
		kind := Retryable
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return nil, &Error{Kind: kind, Vendor: c.cfg.Vendor, Op: op, Err: err}
	}
	defer resp.Body.Close()
	limit := c.cfg.MaxResponseBytes
	if r.MaxBytes > 0 {
		limit = r.MaxBytes
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	c.count(op, codeClass(resp.StatusCode), start)
	if err != nil {
		return nil, &Error{Kind: Retryable, Vendor: c.cfg.Vendor, Op: op, Status: resp.StatusCode, Err: err}
	}
	if int64(len(data)) > limit {
		return nil, &Error{Kind: Permanent, Vendor: c.cfg.Vendor, Op: op, Status: resp.StatusCode,
			Message: fmt.Sprintf("response larger than %d bytes", limit)}
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return &Response{Status: resp.StatusCode, Header: resp.Header, Body: data}, nil
	}
	var e *Error
	if c.cfg.Classify != nil {
		e = c.cfg.Classify(resp.StatusCode, resp.Header, data)
	}
	if e == nil {
		e = &Error{Kind: KindForStatus(resp.StatusCode), Message: http.StatusText(resp.StatusCode)}
	}
	e.Vendor, e.Op, e.Status = c.cfg.Vendor, op, resp.StatusCode
	if e.Wait == 0 {
		e.Wait = RetryAfterHeader(resp.Header, time.Now())
	}
	return nil, e
}

func (c *Client) count(op, class string, start time.Time) {
	if m := c.cfg.Metrics; m != nil {
		m.Requests.WithLabelValues(c.cfg.Vendor, op, class).Inc()
		m.Duration.WithLabelValues(c.cfg.Vendor, op).Observe(time.Since(start).Seconds())
	}
}

func codeClass(status int) string { return strconv.Itoa(status/100) + "xx" }

// checkRetry allows a quick retry for a network error or a 5xx (but 501)
// when the request is idempotent, and for other requests only when the
// connection was never established. 429 is not retried here: the caller snoozes.
func checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	idempotent, _ := ctx.Value(idempotentKey{}).(bool)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return true, nil // nothing was sent
		}
		return idempotent, nil
	}
	if resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented {
		return idempotent, nil
	}
	return false, nil
}

// RetryAfterHeader parses Retry-After (seconds or an HTTP date); 0 when
// absent or unparsable.
func RetryAfterHeader(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// authTransport adds credentials to a clone of each request, as a
// RoundTripper must not modify the request it is given.
type authTransport struct {
	auth AuthFunc
	next http.RoundTripper
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.auth == nil {
		return t.next.RoundTrip(req)
	}
	clone := req.Clone(req.Context())
	if err := t.auth(req.Context(), clone); err != nil {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, fmt.Errorf("add credentials: %w", err)
	}
	return t.next.RoundTrip(clone)
}

// leveledLogger routes retryablehttp's logs to slog at debug level (its
// default logger would print to stderr). Failures are not lost: the final
// outcome is returned, classified, to the caller, which logs it.
type leveledLogger struct{ l *slog.Logger }

func (l leveledLogger) Error(msg string, kv ...any) { l.l.Debug(msg, kv...) }
func (l leveledLogger) Warn(msg string, kv ...any)  { l.l.Debug(msg, kv...) }
func (l leveledLogger) Info(msg string, kv ...any)  { l.l.Debug(msg, kv...) }
func (l leveledLogger) Debug(msg string, kv ...any) { l.l.Debug(msg, kv...) }
