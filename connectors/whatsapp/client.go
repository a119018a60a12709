package whatsapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/deskbridge/deskbridge/connectors"
	"github.com/deskbridge/deskbridge/telemetry"
)

// Defaults of [Config].
const (
	// DefaultAPIBaseURL is Meta's Graph API host.
	DefaultAPIBaseURL = "https://graph.facebook.com"
	// DefaultAPIVersion is the Graph API version the client speaks when the
	// configuration names none. Pin one version: payload shapes differ
	// between versions.
	DefaultAPIVersion = "v23.0"
	// DefaultMediaTimeout bounds one media upload or download attempt.
	DefaultMediaTimeout = 5 * time.Minute
)

// vendor is the connectors vendor name: metric label and error prefix.
const vendor = "whatsapp"

// TokenFunc returns the access token (a system user token) to send. It is
// called for every request attempt, so a rotated token is used without a
// restart; it should be cheap (read a cached secret) and safe for
// concurrent use.
type TokenFunc func(ctx context.Context) (string, error)

// Config configures a [Client]: one per business phone number.
type Config struct {
	// OnAuthFailure, when set, is called when Meta rejects the token;
	// returning true retries the request once (a rotated token may now be
	// read; see connectors.ClientConfig.OnAuthFailure).
	OnAuthFailure func(ctx context.Context) bool
	// APIBaseURL is the Graph API origin, e.g. https://graph.facebook.com
	// (the sandbox points it at its fake). Default DefaultAPIBaseURL.
	APIBaseURL string
	// APIVersion is the Graph API version, e.g. "v23.0". Default
	// DefaultAPIVersion.
	APIVersion string
	// PhoneNumberID is the business number's id (digits). Required.
	PhoneNumberID string
	// WABAID is the WhatsApp Business Account id (digits) that owns the
	// number; templates live there. Required only for ListTemplates.
	WABAID string
	// Token returns the access token. Required.
	Token TokenFunc
	// RequestsPerSecond bounds the Graph API calls of this number (0:
	// unlimited). The ratelimit package governs message throughput; this is
	// a last line of defence.
	RequestsPerSecond float64
	// MediaTimeout bounds one media upload or download attempt (default
	// DefaultMediaTimeout). Other calls use the stack's default timeout.
	MediaTimeout time.Duration
	// Templates, when set, is consulted by Send for template messages: the
	// template must exist, be APPROVED and match the parameters (see
	// CheckTemplate) before the request is made.
	Templates *TemplateCache
	// Transport is the HTTP transport (default http.DefaultTransport;
	// tests pass an httpmock transport).
	Transport http.RoundTripper
	// Metrics counts the calls; nil means not counted.
	Metrics *connectors.Metrics
	// Logger receives debug and warning logs; nil discards them.
	Logger *slog.Logger
	// Now returns the current time (default time.Now).
	Now func() time.Time

	// stack lets tests adjust the HTTP stack (quick-retry waits).
	stack func(*connectors.ClientConfig)
}

// Client calls the WhatsApp Cloud API for one business phone number:
// sending messages, media, templates of its WABA and the number's own
// details. It is safe for concurrent use.
//
// Every failure is a *connectors.Error whose Kind comes from Meta's error
// code (see ClassifyCode); invalid input is refused before any request
// with a Permanent error naming the field.
type Client struct {
	cfg   Config
	log   *slog.Logger
	api   *connectors.Client // Graph API calls, rate limited
	media *connectors.Client // media transfer: long timeout, own breaker
}

var (
	digitsRE  = regexp.MustCompile(`^[0-9]+$`)
	versionRE = regexp.MustCompile(`^v[0-9]+\.[0-9]+$`)
)

// NewClient validates cfg and builds a client.
func NewClient(cfg Config) (*Client, error) {
	if cfg.APIBaseURL == "" {
		cfg.APIBaseURL = DefaultAPIBaseURL
	}
	if cfg.APIVersion == "" {
		cfg.APIVersion = DefaultAPIVersion
	}
	if cfg.MediaTimeout <= 0 {
		cfg.MediaTimeout = DefaultMediaTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = telemetry.DiscardLogger()
	}
	u, err := url.Parse(cfg.APIBaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("whatsapp: api_base_url %q must be an absolute http(s) URL", cfg.APIBaseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("whatsapp: api_base_url %q must not carry a query or fragment", cfg.APIBaseURL)
	}
	if !versionRE.MatchString(cfg.APIVersion) {
		return nil, fmt.Errorf("whatsapp: api_version %q must look like v23.0", cfg.APIVersion)
	}
	if !digitsRE.MatchString(cfg.PhoneNumberID) {
		return nil, fmt.Errorf("whatsapp: phone_number_id %q must be digits", cfg.PhoneNumberID)
	}
	if cfg.WABAID != "" && !digitsRE.MatchString(cfg.WABAID) {
		return nil, fmt.Errorf("whatsapp: waba_id %q must be digits", cfg.WABAID)
	}
	if cfg.Token == nil {
		return nil, errors.New("whatsapp: a token source is required")
	}
	if cfg.RequestsPerSecond < 0 {
		return nil, fmt.Errorf("whatsapp: requests_per_second %v must not be negative", cfg.RequestsPerSecond)
	}
	c := &Client{cfg: cfg, log: cfg.Logger.With("connector", vendor)}
	base := strings.TrimSuffix(cfg.APIBaseURL, "/") + "/" + cfg.APIVersion
	api := connectors.ClientConfig{
		Vendor: vendor, Account: cfg.PhoneNumberID, BaseURL: base,
		Auth: c.auth, Classify: Classify,
		RequestsPerSecond: cfg.RequestsPerSecond, Burst: max(1, int(cfg.RequestsPerSecond)),
		Transport: cfg.Transport, Metrics: cfg.Metrics, Logger: cfg.Logger, OnAuthFailure: cfg.OnAuthFailure,
	}
	media := api
	media.Account = cfg.PhoneNumberID + ":media"
	media.RequestsPerSecond, media.Burst = 0, 0
	media.Timeout = cfg.MediaTimeout
	media.MaxResponseBytes = maxDownloadBytes
	if cfg.stack != nil {
		cfg.stack(&api)
		cfg.stack(&media)
	}
	if c.api, err = connectors.NewClient(api); err != nil {
		return nil, fmt.Errorf("whatsapp: %w", err)
	}
	if c.media, err = connectors.NewClient(media); err != nil {
		return nil, fmt.Errorf("whatsapp: %w", err)
	}
	return c, nil
}

// PhoneNumberID returns the business number's id.
func (c *Client) PhoneNumberID() string { return c.cfg.PhoneNumberID }

// WABAID returns the WhatsApp Business Account id ("" when not configured).
// A TemplateCache uses it to key its store.
func (c *Client) WABAID() string { return c.cfg.WABAID }

// auth adds the bearer token to a cloned request (see connectors.AuthFunc).
func (c *Client) auth(ctx context.Context, req *http.Request) error {
	tok, err := c.cfg.Token(ctx)
	if err != nil {
		return fmt.Errorf("whatsapp: access token: %w", err)
	}
	if tok == "" {
		return errors.New("whatsapp: access token is empty")
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	return nil
}

// call performs one JSON request on the Graph API client and decodes a
// 2xx body into out (when out is not nil).
func (c *Client) call(ctx context.Context, op, method, path string, query url.Values, in, out any) error {
	req := &connectors.Request{Method: method, Path: path, Query: query}
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return invalid(op, "encode request: %v", err)
		}
		req.Body, req.ContentType = b, "application/json"
	}
	resp, err := c.api.Do(ctx, op, req)
	if err != nil {
		return err
	}
	return decode(op, resp, out)
}

// decode unmarshals a 2xx JSON body into out. A body that is not what Meta
// documents is Retryable: the request itself was fine.
func decode(op string, resp *connectors.Response, out any) error {
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(resp.Body, out); err != nil {
		return &connectors.Error{Kind: connectors.Retryable, Vendor: vendor, Op: op, Status: resp.Status,
			Message: "unexpected response body", Err: err}
	}
	return nil
}

// successBody is Meta's {"success": true} answer.
type successBody struct {
	Success flexBool `json:"success"`
}

// check turns {"success": false} into an error.
func (s *successBody) check(op string) error {
	if s.Success {
		return nil
	}
	return &connectors.Error{Kind: connectors.Retryable, Vendor: vendor, Op: op, Status: http.StatusOK,
		Message: `Meta answered "success": false`}
}

// invalid is the error for input refused before any request: Permanent,
// with no vendor code, naming what is wrong.
func invalid(op, format string, args ...any) *connectors.Error {
	return &connectors.Error{Kind: connectors.Permanent, Vendor: vendor, Op: op, Message: fmt.Sprintf(format, args...)}
}

// idRE accepts Graph node ids (media ids, template ids): they become a path
// segment, so nothing that could change the path is allowed.
var idRE = regexp.MustCompile(`^[A-Za-z0-9_\-]{1,256}$`)
