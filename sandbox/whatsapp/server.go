package whatsapp

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/deskbridge/deskbridge/sandbox/fakeclock"
)

// Defaults used by [New] for zero option fields.
const (
	// DefaultAPIVersion is the Graph API version served.
	DefaultAPIVersion = "v23.0"
	// DefaultThroughputMPS is the default messages per second of a number.
	DefaultThroughputMPS = 80
	// DefaultQualityRating is the default quality rating of a number.
	DefaultQualityRating = "GREEN"
	// DefaultMessagingLimit is the messaging tier of a new portfolio.
	DefaultMessagingLimit = "TIER_250"
	// DefaultPairLimit is how many messages one recipient may get per
	// DefaultPairWindow (Meta's burst of 45 in 6 s).
	DefaultPairLimit = 45
	// DefaultPairWindow is the window of DefaultPairLimit.
	DefaultPairWindow = 6 * time.Second
	// DefaultVerifiedName is the verified_name of a number without one.
	DefaultVerifiedName = "Deskbridge Sandbox"
)

// Number is a business phone number served by the fake.
type Number struct {
	// PhoneNumberID is the numeric id used in API paths and webhook metadata.
	PhoneNumberID string `json:"phone_number_id"`
	// WABAID is the WhatsApp Business Account that owns the number (and its
	// templates); it is entry[].id in webhooks.
	WABAID string `json:"waba_id"`
	// DisplayPhoneNumber is the number as Meta displays it, e.g.
	// "+1 555-555-5555"; its country code is prepended to a `to` sent without "+".
	DisplayPhoneNumber string `json:"display_phone_number"`
	// VerifiedName is the business display name (default DefaultVerifiedName).
	VerifiedName string `json:"verified_name,omitempty"`
	// ThroughputMPS is the messages-per-second budget (default 80).
	ThroughputMPS int `json:"throughput_mps,omitempty"`
	// QualityRating is GREEN, YELLOW, RED or NA (default GREEN).
	QualityRating string `json:"quality_rating,omitempty"`
	// MessagingLimit is the portfolio tier, e.g. TIER_250 (default), TIER_2K,
	// TIER_10K, TIER_100K, TIER_UNLIMITED. It is reported, not enforced.
	MessagingLimit string `json:"messaging_limit,omitempty"`
}

// Options configures a [Server]. Zero fields take the documented defaults.
type Options struct {
	// APIVersion is the only version path segment served (default "v23.0").
	APIVersion string
	// AccessToken is the only Bearer token accepted.
	AccessToken string
	// AppSecret signs webhooks (X-Hub-Signature-256).
	AppSecret string
	// CallbackURL receives the webhooks; may be set later with SetCallback.
	CallbackURL string
	// Numbers are the business numbers; at least one is needed.
	Numbers []Number
	// Templates are loaded at start and after every reset (see DefaultTemplates).
	// An empty WABAID puts the template on every WABA of Numbers.
	Templates []Template
	// Now is the base clock (default time.Now); the fake clock adds the offset
	// moved by AdvanceClock and SetClock.
	Now func() time.Time
	// HTTPClient delivers webhooks (default: a client with a 5 s timeout).
	HTTPClient *http.Client
	// BaseURL is this server's external base URL, used in media download URLs;
	// when empty the request's own scheme and host are used.
	BaseURL string
	// Webhook sets the initial webhook options (nil: DefaultWebhookOptions).
	Webhook *WebhookOptions
	// Logger receives diagnostics (default: discarded).
	Logger *slog.Logger
}

// Limits are the rate limits of one number, as set by SetLimits.
type Limits struct {
	PhoneNumberID  string        // the number (SetLimits: "" = the first)
	ThroughputMPS  int           // token bucket rate and burst, per second
	PairLimit      int           // messages to one recipient per PairWindow
	PairWindow     time.Duration // sliding window of PairLimit
	MessagingLimit string        // tier shown on the phone-number node
	QualityRating  string        // quality_rating shown on the phone-number node
}

// Server is a stateful fake of the WhatsApp Cloud API. It serves Meta's paths
// under /{version}/, a media download path under /_media/ and a control API
// under /_sandbox/, and POSTs signed webhooks to the callback URL. Create it
// with [New]; it is safe for concurrent use. Call Close when done.
type Server struct {
	opts   Options
	log    *slog.Logger
	clock  *fakeclock.Clock
	em     *emitter
	urlKey []byte // signs media download URLs
	seq    atomic.Uint64

	mu        sync.Mutex
	baseURL   string
	numbers   map[string]*numberState
	order     []string // phone number ids in Options order
	templates []*Template
	media     map[string]*mediaItem
	inbound   map[string]*inboundRecord
	windows   map[string]time.Time // phone number id + "|" + customer → last inbound
	bsuids    map[string]string    // BSUID → E.164 learned from inbound messages
	outbound  []*outboundRecord
	reads     []ReadMark
}

// numberState is a Number with its country code and rate-limit state.
type numberState struct {
	Number
	cc         string // country calling code of DisplayPhoneNumber
	digits     string // DisplayPhoneNumber digits, as in webhook metadata
	pairLimit  int
	pairWindow time.Duration
	bucket     tokenBucket
	pairs      map[string]pairWindow
}

// New returns a Server for opts. It panics if opts.Numbers is empty, because
// a fake without a business number cannot answer anything.
func New(opts Options) *Server {
	if len(opts.Numbers) == 0 {
		panic("whatsapp sandbox: Options.Numbers is empty")
	}
	if opts.APIVersion == "" {
		opts.APIVersion = DefaultAPIVersion
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 5 * time.Second}
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	wo := DefaultWebhookOptions()
	if opts.Webhook != nil {
		wo = *opts.Webhook
	}
	s := &Server{
		opts:   opts,
		log:    log.With("component", "whatsapp_sandbox"),
		clock:  fakeclock.New(opts.Now),
		urlKey: key,
	}
	s.em = newEmitter(s.log, opts.HTTPClient, []byte(opts.AppSecret), opts.CallbackURL, wo)
	s.mu.Lock()
	s.baseURL = strings.TrimRight(opts.BaseURL, "/")
	s.resetLocked()
	s.mu.Unlock()
	return s
}

// resetLocked rebuilds the state from s.opts. s.mu is held.
func (s *Server) resetLocked() {
	s.numbers = make(map[string]*numberState, len(s.opts.Numbers))
	s.order = s.order[:0]
	for _, n := range s.opts.Numbers {
		if n.ThroughputMPS <= 0 {
			n.ThroughputMPS = DefaultThroughputMPS
		}
		if n.QualityRating == "" {
			n.QualityRating = DefaultQualityRating
		}
		if n.MessagingLimit == "" {
			n.MessagingLimit = DefaultMessagingLimit
		}
		if n.VerifiedName == "" {
			n.VerifiedName = DefaultVerifiedName
		}
		d := digitsOf(n.DisplayPhoneNumber)
		s.numbers[n.PhoneNumberID] = &numberState{
			Number: n, cc: countryCode(d), digits: d,
			pairLimit: DefaultPairLimit, pairWindow: DefaultPairWindow,
			pairs: map[string]pairWindow{},
		}
		s.order = append(s.order, n.PhoneNumberID)
	}
	s.templates = nil
	s.media = map[string]*mediaItem{}
	s.inbound = map[string]*inboundRecord{}
	s.windows = map[string]time.Time{}
	s.bsuids = map[string]string{}
	s.outbound = nil
	s.reads = nil
	for _, t := range s.opts.Templates {
		if _, err := s.putTemplateLocked(t); err != nil {
			s.log.Warn("template not loaded", slog.String("name", t.Name), slog.Any("error", err))
		}
	}
}

// Reset drops every message, media item, read mark, service window and
// queued webhook, restores the numbers, limits, templates and webhook options
// given in Options, and sets the fake clock back to the base clock.
func (s *Server) Reset() {
	s.clock.Reset()
	wo := DefaultWebhookOptions()
	if s.opts.Webhook != nil {
		wo = *s.opts.Webhook
	}
	s.em.reset(wo)
	s.mu.Lock()
	s.resetLocked()
	s.mu.Unlock()
}

// Close stops webhook delivery: queued webhooks are dropped and an in-flight
// one is cancelled. The HTTP handler keeps answering.
func (s *Server) Close() { s.em.close() }

// SetCallback sets the URL webhooks are POSTed to.
func (s *Server) SetCallback(url string) { s.em.setCallback(url) }

// SetBaseURL sets this server's external base URL (e.g. httptest.Server.URL),
// used to build media download URLs.
func (s *Server) SetBaseURL(url string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.baseURL = strings.TrimRight(url, "/")
}

// Now returns the fake clock's time.
func (s *Server) Now() time.Time { return s.clock.Now() }

// AdvanceClock moves the fake clock forward by d (backwards if negative) and
// returns the new time.
func (s *Server) AdvanceClock(d time.Duration) time.Time { return s.clock.Advance(d) }

// SetClock sets the fake clock to t; it keeps ticking from there.
func (s *Server) SetClock(t time.Time) time.Time { return s.clock.Set(t) }

// Numbers returns the business numbers with their current limits applied.
func (s *Server) Numbers() []Number {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Number, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, s.numbers[id].Number)
	}
	return out
}

// SetLimits changes the limits of l.PhoneNumberID (the first number when
// empty). Zero fields are left unchanged. It returns the limits now in force.
func (s *Server) SetLimits(l Limits) (Limits, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.numberOrFirstLocked(l.PhoneNumberID)
	if err != nil {
		return Limits{}, err
	}
	if l.ThroughputMPS > 0 {
		n.ThroughputMPS = l.ThroughputMPS
		n.bucket = tokenBucket{}
	}
	if l.PairLimit > 0 {
		n.pairLimit = l.PairLimit
	}
	if l.PairWindow > 0 {
		n.pairWindow = l.PairWindow
	}
	if l.MessagingLimit != "" {
		n.MessagingLimit = l.MessagingLimit
	}
	if l.QualityRating != "" {
		n.QualityRating = l.QualityRating
	}
	return n.limits(), nil
}

// Limits returns the limits of a number (the first when phoneNumberID is empty).
func (s *Server) Limits(phoneNumberID string) (Limits, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.numberOrFirstLocked(phoneNumberID)
	if err != nil {
		return Limits{}, err
	}
	return n.limits(), nil
}

func (n *numberState) limits() Limits {
	return Limits{
		PhoneNumberID: n.PhoneNumberID, ThroughputMPS: n.ThroughputMPS,
		PairLimit: n.pairLimit, PairWindow: n.pairWindow,
		MessagingLimit: n.MessagingLimit, QualityRating: n.QualityRating,
	}
}

// numberOrFirstLocked finds a number by id, or the first one for "".
func (s *Server) numberOrFirstLocked(id string) (*numberState, error) {
	if id == "" {
		id = s.order[0]
	}
	n, ok := s.numbers[id]
	if !ok {
		return nil, fmt.Errorf("whatsapp sandbox: unknown phone_number_id %q", id)
	}
	return n, nil
}

// ServeHTTP routes Meta's Cloud API paths, the media download path and the
// control API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == "/_sandbox" || strings.HasPrefix(p, "/_sandbox/"):
		s.serveControl(w, r)
		return
	case strings.HasPrefix(p, "/_media/"):
		s.serveDownload(w, r, strings.TrimPrefix(p, "/_media/"))
		return
	}
	if e := s.authorize(r); e != nil {
		writeError(w, e)
		return
	}
	segs := strings.Split(strings.Trim(p, "/"), "/")
	if segs[0] != s.opts.APIVersion {
		writeError(w, errVersion())
		return
	}
	if len(segs) < 2 {
		writeError(w, errUnknownPath(""))
		return
	}
	w.Header().Set("facebook-api-version", s.opts.APIVersion)
	id := segs[1]
	method := strings.ToLower(r.Method)
	switch {
	case len(segs) == 2:
		s.serveNode(w, r, id)
	case len(segs) == 3 && segs[2] == "messages" && r.Method == http.MethodPost:
		s.handleMessages(w, r, id)
	case len(segs) == 3 && segs[2] == "media" && r.Method == http.MethodPost:
		s.handleUpload(w, r, id)
	case len(segs) == 3 && segs[2] == "message_templates" && r.Method == http.MethodGet:
		s.handleTemplateList(w, r, id)
	case len(segs) == 3 && slices.Contains([]string{"messages", "media", "message_templates"}, segs[2]):
		writeError(w, errNoObject(method, id))
	default:
		writeError(w, errUnknownPath(strings.Join(segs[2:], "/")))
	}
}

// serveNode answers GET/DELETE /{version}/{id} for phone numbers and media.
func (s *Server) serveNode(w http.ResponseWriter, r *http.Request, id string) {
	s.mu.Lock()
	_, isNumber := s.numbers[id]
	s.mu.Unlock()
	switch {
	case isNumber && r.Method == http.MethodGet:
		s.handlePhoneNumber(w, r, id)
	case r.Method == http.MethodGet:
		s.handleMediaGet(w, r, id)
	case r.Method == http.MethodDelete:
		s.handleMediaDelete(w, r, id)
	default:
		writeError(w, errNoObject(strings.ToLower(r.Method), id))
	}
}

// authorize checks the Bearer token (or the access_token query parameter,
// which the Graph API also accepts).
func (s *Server) authorize(r *http.Request) *apiError {
	tok := ""
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, rest, ok := strings.Cut(strings.TrimSpace(h), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return errBadToken()
		}
		tok = strings.TrimSpace(rest)
	} else {
		tok = r.URL.Query().Get("access_token")
	}
	if tok == "" {
		return errMissingToken()
	}
	if s.opts.AccessToken == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(s.opts.AccessToken)) != 1 {
		return errBadToken()
	}
	return nil
}

// phoneNumberFields are the fields of the phone-number node the fake knows.
var phoneNumberFields = []string{
	"id", "display_phone_number", "verified_name", "quality_rating", "code_verification_status",
	"name_status", "whatsapp_business_manager_messaging_limit", "messaging_limit_tier",
	"throughput", "platform_type", "status", "account_mode", "is_official_business_account",
}

var defaultPhoneNumberFields = []string{"id", "display_phone_number", "verified_name", "quality_rating"}

// handlePhoneNumber answers GET /{version}/{phone-number-id}[?fields=…].
func (s *Server) handlePhoneNumber(w http.ResponseWriter, r *http.Request, id string) {
	fields := defaultPhoneNumberFields
	if f := r.URL.Query().Get("fields"); f != "" {
		fields = []string{"id"}
		for _, name := range strings.Split(f, ",") {
			name = strings.TrimSpace(name)
			if name == "" {
				continue
			}
			if !slices.Contains(phoneNumberFields, name) {
				writeError(w, errUnknownField(name, "WhatsAppBusinessPhoneNumber"))
				return
			}
			if !slices.Contains(fields, name) {
				fields = append(fields, name)
			}
		}
	}
	s.mu.Lock()
	n := s.numbers[id].Number
	s.mu.Unlock()
	level := "STANDARD"
	if n.ThroughputMPS >= 1000 {
		level = "HIGH"
	}
	all := map[string]any{
		"id":                       n.PhoneNumberID,
		"display_phone_number":     n.DisplayPhoneNumber,
		"verified_name":            n.VerifiedName,
		"quality_rating":           n.QualityRating,
		"code_verification_status": "VERIFIED",
		"name_status":              "APPROVED",
		"whatsapp_business_manager_messaging_limit": n.MessagingLimit,
		"messaging_limit_tier":                      n.MessagingLimit,
		"throughput":                                map[string]string{"level": level},
		"platform_type":                             "CLOUD_API",
		"status":                                    "CONNECTED",
		"account_mode":                              "LIVE",
		"is_official_business_account":              false,
	}
	out := make(map[string]any, len(fields))
	for _, f := range fields {
		out[f] = all[f]
	}
	writeJSON(w, http.StatusOK, out)
}

// newID returns a fresh numeric Graph id (media, templates).
func (s *Server) newID() string {
	return fmt.Sprintf("%d", 1_700_000_000_000_000+s.seq.Add(1))
}

// newWAMID returns a fresh, unique WhatsApp message id.
func (s *Server) newWAMID() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b[8:])
	n := s.seq.Add(1)
	for i := range 8 {
		b[i] = byte(n >> (8 * (7 - i)))
	}
	return "wamid." + base64.StdEncoding.EncodeToString(b)
}

// digitsOf keeps the ASCII digits of s.
func digitsOf(s string) string {
	var b strings.Builder
	for _, c := range s {
		if c >= '0' && c <= '9' {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// countryCode returns the ITU country calling code at the start of an E.164
// number given as digits: 1 and 7 have one digit, the two-digit codes are
// listed, every other code has three digits.
func countryCode(digits string) string {
	if digits == "" {
		return ""
	}
	if digits[0] == '1' || digits[0] == '7' {
		return digits[:1]
	}
	if len(digits) >= 2 && slices.Contains(twoDigitCodes, digits[:2]) {
		return digits[:2]
	}
	if len(digits) >= 3 {
		return digits[:3]
	}
	return digits
}

var twoDigitCodes = strings.Fields(`20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49
	51 52 53 54 55 56 57 58 60 61 62 63 64 65 66 81 82 84 86 90 91 92 93 94 95 98`)
