// Package zendesk is the Zendesk Support (Ticketing API v2) connector: it
// implements connectors.Helpdesk and the optional CommentFetcher and
// WebhookInstaller on top of the shared connectors HTTP stack.
//
// Identifiers and their invariants:
//
//   - A contact is a Zendesk end user. Its ContactRef.ID is the user id
//     (digits); ContactRef.ExternalID is the bridge's deterministic key
//     ("whatsapp:+E164"), stored in the user's external_id so that the next
//     lookup is an exact one (GET /users/show_many?external_ids=…) and never
//     depends on the search index, which lags behind writes.
//   - A ticket is a TicketRef whose ID is the Zendesk ticket id (digits). A
//     comment's CommentRef.ID is the comment id taken from the update's
//     audit, "" when Zendesk did not return one.
//   - Every id is frozen once stored: Zendesk never renumbers users,
//     tickets or comments. A closed ticket stays closed forever: writes go
//     to a follow-up ticket (CreateTicketParams.FollowUpOf).
//
// Limits enforced here, before any request: Zendesk's attachment size limit
// (Config.MaxAttachmentBytes), and the Update Ticket limit of 30 updates per
// ticket per 10 minutes for one API identity (see ratelimit.go). The
// account-wide budget (Config.RequestsPerMinute) is adapted to Zendesk's
// rate-limit headers.
//
// Agent replies reach the bridge through a webhook called by a trigger
// (setup.go); webhook.go checks their signature and parses their body.
package zendesk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/deskbridge/deskbridge/connectors"
	"github.com/deskbridge/deskbridge/telemetry"
)

// vendor is the connectors vendor name: metric label and error prefix.
const vendor = "zendesk"

// Defaults of [Config].
const (
	// DefaultRequestsPerMinute is the Team plan's account-wide API budget,
	// the smallest of the current plans.
	DefaultRequestsPerMinute = 200
	// DefaultMaxAttachmentBytes is Zendesk's default attachment size limit
	// (50 MB per file).
	DefaultMaxAttachmentBytes = 50 << 20
	// DefaultTransferTimeout bounds one upload or download attempt.
	DefaultTransferTimeout = 5 * time.Minute
)

// TokenFunc returns a secret (an API token or an OAuth access token). It is
// called for every request attempt, so a rotated secret is used without a
// restart; it should be cheap (read a cached secret) and safe for
// concurrent use.
type TokenFunc func(ctx context.Context) (string, error)

// Config configures a [Client]: one per Zendesk account (helpdesk).
type Config struct {
	// Name is the helpdesk's name in the configuration; it is the Account
	// of every ref and of the circuit breaker. Required.
	Name string
	// BaseURL is the account's origin, e.g. https://acme.zendesk.com. Plain
	// http is allowed only for a loopback host (the sandbox). Required.
	BaseURL string
	// Email is the API identity's email address, required with APIToken.
	Email string
	// APIToken returns the API token (Basic "{email}/token:{token}").
	// Exactly one of APIToken and OAuthToken is set.
	APIToken TokenFunc
	// OAuthToken returns an OAuth access token (Bearer).
	OAuthToken TokenFunc
	// RequestsPerMinute is the account's plan budget (default
	// DefaultRequestsPerMinute). Zendesk's rate-limit headers slow it down
	// further when the remaining quota runs low.
	RequestsPerMinute int
	// OnQuota, when set, is told the remaining requests and the limit of
	// the account's rate-limit window each time Zendesk's headers give
	// them (for a gauge of the remaining budget).
	OnQuota func(remaining, limit int)
	// OnAuthFailure, when set, is called when Zendesk rejects the
	// credentials; returning true retries the request once (see
	// connectors.ClientConfig.OnAuthFailure).
	OnAuthFailure func(ctx context.Context) bool
	// Gate, when set, is waited on before every API request: the account
	// budget shared by replicas (see connectors.ClientConfig.Gate).
	Gate func(ctx context.Context) error
	// BrandID, GroupID and FormID are defaults for new tickets (0: none);
	// CreateTicketParams override them.
	BrandID, GroupID, FormID int64
	// MaxAttachmentBytes is the largest file accepted (default
	// DefaultMaxAttachmentBytes); larger files are refused before any
	// request with a Permanent error naming the file.
	MaxAttachmentBytes int64
	// Transport is the HTTP transport (default http.DefaultTransport;
	// tests pass an httpmock transport).
	Transport http.RoundTripper
	// Metrics counts the calls; nil means not counted.
	Metrics *connectors.Metrics
	// Logger receives debug and warning logs; nil discards them.
	Logger *slog.Logger
	// Now returns the current time (default time.Now). It drives the
	// per-ticket update window and the rate-limit windows.
	Now func() time.Time

	// stack lets tests adjust the HTTP stack (quick-retry waits).
	stack func(*connectors.ClientConfig)
}

// WithDefaults returns a copy of c with the defaults filled in.
func (c Config) WithDefaults() Config {
	if c.RequestsPerMinute == 0 {
		c.RequestsPerMinute = DefaultRequestsPerMinute
	}
	if c.MaxAttachmentBytes == 0 {
		c.MaxAttachmentBytes = DefaultMaxAttachmentBytes
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = telemetry.DiscardLogger()
	}
	c.BaseURL = strings.TrimSuffix(c.BaseURL, "/")
	return c
}

// Validate reports the first problem of c, naming the setting.
func (c Config) Validate() error {
	if strings.TrimSpace(c.Name) == "" {
		return errors.New("zendesk: the helpdesk name is required")
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("zendesk: base_url %q must be an absolute https URL such as https://acme.zendesk.com", c.BaseURL)
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return fmt.Errorf("zendesk: base_url %q must use https (http is allowed only for a loopback sandbox)", c.BaseURL)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("zendesk: base_url %q must not carry credentials, a query or a fragment", c.BaseURL)
	}
	switch {
	case c.APIToken == nil && c.OAuthToken == nil:
		return errors.New("zendesk: an api_token or an oauth_token is required")
	case c.APIToken != nil && c.OAuthToken != nil:
		return errors.New("zendesk: set either api_token or oauth_token, not both")
	case c.APIToken != nil && (!strings.Contains(c.Email, "@") || strings.ContainsAny(c.Email, ": \t\r\n")):
		return fmt.Errorf("zendesk: email %q must be the API identity's address (required with api_token)", c.Email)
	}
	if c.RequestsPerMinute < 0 {
		return fmt.Errorf("zendesk: requests_per_minute %d must not be negative", c.RequestsPerMinute)
	}
	if c.BrandID < 0 || c.GroupID < 0 || c.FormID < 0 {
		return errors.New("zendesk: brand_id, group_id and form_id must not be negative")
	}
	if c.MaxAttachmentBytes < 0 {
		return fmt.Errorf("zendesk: max_attachment_bytes %d must not be negative", c.MaxAttachmentBytes)
	}
	return nil
}

// isLoopback reports whether host is localhost or a loopback address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Interfaces implemented by Client.
var (
	_ connectors.Helpdesk         = (*Client)(nil)
	_ connectors.CommentFetcher   = (*Client)(nil)
	_ connectors.WebhookInstaller = (*Client)(nil)
	_ connectors.WriteFinder      = (*Client)(nil)
)

// New validates cfg and builds a client.
func New(cfg Config) (*Client, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	base, _ := url.Parse(cfg.BaseURL) // validated above
	c := &Client{
		cfg:     cfg,
		base:    base,
		log:     cfg.Logger.With("connector", vendor, "helpdesk", cfg.Name),
		tickets: newTicketWindow(ticketUpdateLimit, ticketUpdateWindow),
		closed:  &closedSet{ids: map[string]struct{}{}},
		uploads: &uploadCache{entries: map[string]uploadEntry{}},
	}
	perSecond := float64(cfg.RequestsPerMinute) / 60
	burst := max(1, cfg.RequestsPerMinute/20)
	api := connectors.ClientConfig{
		Vendor: vendor, Account: cfg.Name, BaseURL: cfg.BaseURL,
		Auth: c.auth, Classify: c.classify,
		RequestsPerSecond: perSecond, Burst: burst, Gate: cfg.Gate, OnAuthFailure: cfg.OnAuthFailure,
		Transport: cfg.Transport, Metrics: cfg.Metrics, Logger: cfg.Logger,
	}
	// Uploads carry up to MaxAttachmentBytes: a long timeout, and no
	// limiter of their own (they wait on the account limiter, see upload).
	media := api
	media.Account = cfg.Name + ":media"
	media.RequestsPerSecond, media.Burst = 0, 0
	media.Timeout = DefaultTransferTimeout
	// Downloads never get credentials from the stack: DownloadAttachment
	// adds them itself, and only for the account's own host.
	files := media
	files.Account = cfg.Name + ":files"
	files.Auth = nil
	files.Classify = Classify
	files.MaxResponseBytes = cfg.MaxAttachmentBytes
	for _, s := range []*connectors.ClientConfig{&api, &media, &files} {
		if cfg.stack != nil {
			cfg.stack(s)
		}
	}
	var err error
	if c.api, err = connectors.NewClient(api); err != nil {
		return nil, fmt.Errorf("zendesk: %w", err)
	}
	if c.media, err = connectors.NewClient(media); err != nil {
		return nil, fmt.Errorf("zendesk: %w", err)
	}
	if c.files, err = connectors.NewClient(files); err != nil {
		return nil, fmt.Errorf("zendesk: %w", err)
	}
	c.budget = newBudget(c.api.Limiter(), perSecond, burst, cfg.Now, c.log)
	c.budget.onQuota = cfg.OnQuota
	return c, nil
}
