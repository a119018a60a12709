package zendesk

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/deskbridge/deskbridge/sandbox/fakeclock"
)

// Defaults and fixed limits of the fake.
const (
	// DefaultRequestsPerMinute is the account limit (Zendesk Enterprise).
	DefaultRequestsPerMinute = 700
	// Unlimited as Options.RequestsPerMinute or Limits.RequestsPerMinute
	// turns the account rate limit off.
	Unlimited = -1
	// APIUserName is the name of the admin user the API credentials act as.
	APIUserName = "Deskbridge API"
	// DefaultAgentName is the name of the built-in agent used by AgentReply
	// when no agent is given.
	DefaultAgentName = "Sandbox Agent"
	// MaxUploadSize is the largest file POST /api/v2/uploads accepts.
	MaxUploadSize = 50 << 20
	// UploadTTL is how long an upload token can be used.
	UploadTTL = 60 * time.Minute
	// IdempotencyTTL is how long an Idempotency-Key of a ticket create is kept.
	IdempotencyTTL = 2 * time.Hour

	ticketUpdateLimit  = 30
	ticketUpdateWindow = 10 * time.Minute
	userUpdateLimit    = 5
	userUpdateWindow   = time.Minute

	apiUserID       int64 = 360000000001
	defaultAgentID  int64 = 360000000002
	firstDynamicID  int64 = 360000001000
	maxRequestBytes       = 16 << 20
)

// Via ids of the writes the fake knows, as trigger conditions see them
// (current_via_id, via_id).
const (
	ViaWebForm    = 0 // agent UI (control API)
	ViaWebService = 5 // the REST API
)

// Options configures a [Server]. Zero fields take the documented defaults.
type Options struct {
	// Email and APIToken are the API-token credentials accepted as
	// "Authorization: Basic base64({Email}/token:{APIToken})"; Email is
	// also the API user's email.
	Email string
	// APIToken is the API token (see Email); empty disables token auth.
	APIToken string
	// OAuthToken is accepted as "Authorization: Bearer {OAuthToken}".
	OAuthToken string
	// RequestsPerMinute is the account's token bucket (default 700;
	// Unlimited or any negative value: no limit).
	RequestsPerMinute int
	// SearchLag hides new users from search (users/search?query= and
	// /search) for this long after their creation (default 0).
	SearchLag time.Duration
	// AutoCloseAfter closes solved tickets this long after they were solved,
	// as Zendesk's default automation does after 4 days (0: never).
	AutoCloseAfter time.Duration
	// Now is the base clock (default time.Now); the fake clock adds the
	// offset moved by AdvanceClock and SetClock.
	Now func() time.Time
	// HTTPClient delivers webhooks (default: a client with a 10 s timeout).
	HTTPClient *http.Client
	// BaseURL is this server's external URL, used in url, content_url and
	// Location; when empty the request's own scheme and host are used.
	BaseURL string
	// WebhookMaxAttempts bounds the POSTs of one webhook delivery (default 4).
	WebhookMaxAttempts int
	// WebhookRetryBackoff is the real-time wait before the first retry of a
	// failed delivery; it doubles each time (default 500 ms).
	WebhookRetryBackoff time.Duration
	// Logger receives diagnostics (default: discarded).
	Logger *slog.Logger

	// TicketFields, UserFields, Groups, Brands and TicketForms are added
	// to the account's built-in schema (see fields.go) at start and after
	// Reset, in order; an invalid one is logged and skipped.
	TicketFields []TicketField
	UserFields   []UserField
	Groups       []Group
	Brands       []Brand
	TicketForms  []TicketForm
}

// Limits are the account limits that SetLimits changes at run time.
type Limits struct {
	// RequestsPerMinute is the account token bucket; 0 or negative: none.
	RequestsPerMinute int `json:"requests_per_minute"`
	// SearchLag hides new users from search for this long.
	SearchLag time.Duration `json:"-"`
	// Plain429 answers the account rate limit with the text body
	// "Rate limit exceeded" instead of JSON.
	Plain429 bool `json:"plain_429"`
}

// Server is a stateful fake of the Zendesk Support API. It serves Zendesk's
// paths (with or without ".json"), attachment downloads under /attachments/
// and a control API under /_sandbox/, and POSTs signed webhooks when
// triggers fire. Create it with [New]; it is safe for concurrent use. Call
// Close when done.
type Server struct {
	opts  Options
	log   *slog.Logger
	clock *fakeclock.Clock
	em    *emitter

	mu          sync.Mutex
	baseURL     string
	lastBase    string
	revoked     bool
	limits      Limits
	bucket      bucket
	seq         int64
	ticketSeq   int64
	users       map[int64]*user
	userOrder   []int64
	tickets     map[int64]*ticket
	uploads     map[string]*upload
	attachments map[string]*attachment // by content token
	attByID     map[int64]*attachment
	webhooks    map[string]*webhook
	hookOrder   []string
	triggers    map[int64]*trigger
	idem        map[string]*idemEntry
	userUpdates map[int64]window
	schema      schemaState
}

// New returns a Server for opts.
func New(opts Options) *Server {
	if opts.RequestsPerMinute == 0 {
		opts.RequestsPerMinute = DefaultRequestsPerMinute
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if opts.WebhookMaxAttempts <= 0 {
		opts.WebhookMaxAttempts = 4
	}
	if opts.WebhookRetryBackoff <= 0 {
		opts.WebhookRetryBackoff = 500 * time.Millisecond
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{opts: opts, log: log.With("component", "zendesk_sandbox"), clock: fakeclock.New(opts.Now)}
	s.em = newEmitter(s.log, opts.HTTPClient, opts.WebhookMaxAttempts, opts.WebhookRetryBackoff, s.clock.Now)
	s.mu.Lock()
	s.baseURL = strings.TrimRight(opts.BaseURL, "/")
	s.resetLocked()
	s.mu.Unlock()
	return s
}

// resetLocked rebuilds the state from s.opts. s.mu is held.
func (s *Server) resetLocked() {
	s.revoked = false
	rpm := s.opts.RequestsPerMinute
	if rpm < 0 {
		rpm = 0
	}
	s.limits = Limits{RequestsPerMinute: rpm, SearchLag: s.opts.SearchLag}
	s.bucket = bucket{}
	s.seq = firstDynamicID
	s.ticketSeq = 0
	s.users = map[int64]*user{}
	s.userOrder = nil
	s.tickets = map[int64]*ticket{}
	s.uploads = map[string]*upload{}
	s.attachments = map[string]*attachment{}
	s.attByID = map[int64]*attachment{}
	s.webhooks = map[string]*webhook{}
	s.hookOrder = nil
	s.triggers = map[int64]*trigger{}
	s.idem = map[string]*idemEntry{}
	s.userUpdates = map[int64]window{}
	// The built-in users are visible to search at once, whatever the lag.
	now := s.clock.Now()
	s.addUserLocked(&user{ID: apiUserID, Name: APIUserName, Email: strings.ToLower(s.opts.Email), Role: roleAdmin,
		Verified: true, builtin: true, CreatedAt: now, UpdatedAt: now}, now)
	s.addUserLocked(&user{ID: defaultAgentID, Name: DefaultAgentName, Email: "agent@sandbox.invalid", Role: roleAgent,
		Verified: true, builtin: true, CreatedAt: now, UpdatedAt: now}, now)
	s.resetSchemaLocked()
}

// Reset drops every user (but the API user and the built-in agent), ticket,
// upload, webhook, trigger, idempotency key and queued webhook delivery,
// restores the limits given in Options and the schema (the built-in ticket
// fields, group, brand and form plus those of Options; see fields.go),
// un-revokes the credentials and sets the fake clock back to the base
// clock. Ids start again from the same values, so a reset fake hands out
// the same ids.
func (s *Server) Reset() {
	s.clock.Reset()
	s.em.reset()
	s.mu.Lock()
	s.resetLocked()
	s.mu.Unlock()
}

// Close stops webhook delivery: queued deliveries are dropped and an
// in-flight one is cancelled. The HTTP handler keeps answering.
func (s *Server) Close() { s.em.close() }

// SetBaseURL sets this server's external base URL (e.g. httptest.Server.URL).
func (s *Server) SetBaseURL(url string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.baseURL = strings.TrimRight(url, "/")
}

// APIUserID returns the id of the admin user "Deskbridge API" the API
// credentials act as; it is fixed for the life of the Server.
func (s *Server) APIUserID() int64 { return apiUserID }

// DefaultAgentID returns the id of the built-in agent that AgentReply uses
// when ReplyParams.AgentID is 0.
func (s *Server) DefaultAgentID() int64 { return defaultAgentID }

// Now returns the fake clock's time.
func (s *Server) Now() time.Time { return s.clock.Now() }

// AdvanceClock moves the fake clock by d and returns the new time.
func (s *Server) AdvanceClock(d time.Duration) time.Time { return s.clock.Advance(d) }

// SetClock sets the fake clock to t; it keeps ticking from there.
func (s *Server) SetClock(t time.Time) time.Time { return s.clock.Set(t) }

// RevokeAuth makes every API request answer 401 (true) or accepts the
// credentials again (false).
func (s *Server) RevokeAuth(revoked bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revoked = revoked
}

// Limits returns the limits in force.
func (s *Server) Limits() Limits {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limits
}

// SetLimits replaces the limits (RequestsPerMinute 0 or negative: none) and
// refills the account bucket. It returns the limits now in force.
func (s *Server) SetLimits(l Limits) Limits {
	s.mu.Lock()
	defer s.mu.Unlock()
	l.RequestsPerMinute = max(l.RequestsPerMinute, 0)
	l.SearchLag = max(l.SearchLag, 0)
	s.limits = l
	s.bucket = bucket{}
	return l
}

// ExhaustRateLimit empties the account bucket, so the next requests answer
// 429 until it refills (RequestsPerMinute/60 tokens a second on the fake
// clock). It has no effect when the rate limit is off.
func (s *Server) ExhaustRateLimit() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bucket.drain(s.clock.Now())
}

// call is one API request being served.
type call struct {
	w    http.ResponseWriter
	r    *http.Request
	base string // external base URL, no trailing slash
}

func (c *call) json(status int, v any) { writeJSON(c.w, status, v) }
func (c *call) fail(e *apiError)       { writeError(c.w, e) }

// ServeHTTP routes the API, the attachment downloads and the control API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if p == "/_sandbox" || strings.HasPrefix(p, "/_sandbox/") {
		if !s.serveSchemaControl(w, r) {
			s.serveControl(w, r)
		}
		return
	}
	c := &call{w: w, r: r, base: s.baseFor(r)}
	authed := s.authenticate(r)
	now := s.clock.Now()
	s.mu.Lock()
	var limited *apiError
	if authed && s.limits.RequestsPerMinute > 0 && !s.bucket.take(now, s.limits.RequestsPerMinute) {
		st := s.bucket.state(now, s.limits.RequestsPerMinute)
		limited = errTooMany(s.limits.Plain429, s.limits.RequestsPerMinute, st.retry)
	}
	if s.limits.RequestsPerMinute > 0 {
		st := s.bucket.state(now, s.limits.RequestsPerMinute)
		h := w.Header()
		lim, rem, reset := strconv.Itoa(st.limit), strconv.Itoa(st.remaining), strconv.Itoa(st.reset)
		h.Set("X-Rate-Limit", lim)
		h.Set("X-Rate-Limit-Remaining", rem)
		h.Set("Ratelimit-Limit", lim)
		h.Set("Ratelimit-Remaining", rem)
		h.Set("Ratelimit-Reset", reset)
	}
	s.mu.Unlock()
	switch {
	case !authed:
		c.fail(errAuth())
	case limited != nil:
		c.fail(limited)
	default:
		s.route(c, splitPath(p))
	}
}

// splitPath splits a path into segments, dropping a ".json" suffix of the
// last segment of /api/ paths.
func splitPath(p string) []string {
	segs := strings.Split(strings.Trim(p, "/"), "/")
	if len(segs) > 0 && segs[0] == "api" {
		last := len(segs) - 1
		segs[last] = strings.TrimSuffix(segs[last], ".json")
	}
	return segs
}

// route dispatches an authenticated request.
func (s *Server) route(c *call, segs []string) {
	m := c.r.Method
	if len(segs) == 3 && segs[0] == "attachments" && segs[1] == "token" && m == http.MethodGet {
		s.handleDownload(c, segs[2])
		return
	}
	if len(segs) < 3 || segs[0] != "api" || segs[1] != "v2" {
		c.fail(errInvalidEndpoint())
		return
	}
	rest := segs[2:]
	var ok bool
	switch rest[0] {
	case "users":
		ok = s.routeUsers(c, m, rest[1:])
	case "search":
		ok = len(rest) == 1 && m == http.MethodGet
		if ok {
			s.handleSearch(c)
		}
	case "tickets":
		ok = s.routeTickets(c, m, rest[1:])
	case "uploads":
		ok = s.routeUploads(c, m, rest[1:])
	case "attachments":
		ok = len(rest) == 2 && m == http.MethodGet
		if ok {
			s.handleAttachmentShow(c, rest[1])
		}
	case "webhooks":
		ok = s.routeWebhooks(c, m, rest[1:])
	case "triggers":
		ok = s.routeTriggers(c, m, rest[1:])
	case "ticket_fields", "user_fields", "groups", "brands", "ticket_forms":
		ok = s.routeSchema(c, m, rest[0], rest[1:])
	}
	if !ok {
		c.fail(errInvalidEndpoint())
	}
}

// authenticate checks the API-token Basic credentials or the OAuth Bearer
// token.
func (s *Server) authenticate(r *http.Request) bool {
	s.mu.Lock()
	revoked := s.revoked
	s.mu.Unlock()
	if revoked {
		return false
	}
	scheme, rest, _ := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	rest = strings.TrimSpace(rest)
	switch strings.ToLower(scheme) {
	case "basic":
		raw, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return false
		}
		name, secret, ok := strings.Cut(string(raw), ":")
		email, isToken := strings.CutSuffix(name, "/token")
		return ok && isToken && s.opts.APIToken != "" && s.opts.Email != "" &&
			strings.EqualFold(email, s.opts.Email) && equal(secret, s.opts.APIToken)
	case "bearer":
		return s.opts.OAuthToken != "" && equal(rest, s.opts.OAuthToken)
	}
	return false
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// baseFor returns the external base URL for r and remembers it for work
// done outside a request (webhook bodies of control-API replies).
func (s *Server) baseFor(r *http.Request) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.baseURL != "" {
		return s.baseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	s.lastBase = scheme + "://" + r.Host
	return s.lastBase
}

// baseLocked is the base URL outside a request. s.mu is held.
func (s *Server) baseLocked() string {
	switch {
	case s.baseURL != "":
		return s.baseURL
	case s.lastBase != "":
		return s.lastBase
	}
	return "http://zendesk.sandbox.invalid"
}

// nextIDLocked returns a fresh id for users, comments, audits, attachments
// and triggers. s.mu is held.
func (s *Server) nextIDLocked() int64 {
	s.seq++
	return s.seq
}

// readBody reads a request body up to maxRequestBytes.
func readBody(r *http.Request) ([]byte, *apiError) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes+1))
	if err != nil {
		return nil, errBadJSON()
	}
	if len(b) > maxRequestBytes {
		return nil, &apiError{status: http.StatusRequestEntityTooLarge,
			body: classic{Error: "RequestEntityTooLarge", Description: "Request body is too large"}}
	}
	return b, nil
}

// decodeRoot decodes {"<root>": …} into v. A missing body or root is
// ParameterMissing, bad JSON is 400, a wrong JSON type is RecordInvalid.
func decodeRoot(raw []byte, root string, v any) *apiError {
	if len(strings.TrimSpace(string(raw))) == 0 {
		return errParameterMissing(root)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return errBadJSON()
	}
	inner, ok := top[root]
	if !ok || string(inner) == "null" {
		return errParameterMissing(root)
	}
	if err := json.Unmarshal(inner, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return errRecordInvalid(te.Field, "InvalidValue", fmt.Sprintf("%s: is invalid", te.Field))
		}
		return errBadJSON()
	}
	return nil
}

// parseID parses a numeric path id.
func parseID(s string) (int64, bool) {
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil && id > 0
}

// randomToken returns n random characters from [a-zA-Z0-9].
func randomToken(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// stamp formats a time as Zendesk does (RFC 3339, UTC, seconds).
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }
