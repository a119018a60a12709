package config

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Problem is one thing wrong with a configuration.
type Problem struct {
	// Path is the key path, such as helpdesks.support.kind or
	// whatsapp.numbers[0].phone_number_id, or the name of an environment
	// variable that matches no key.
	Path string
	// Reason says what is wrong, such as "required".
	Reason string
}

// String formats p as "path: reason".
func (p Problem) String() string { return p.Path + ": " + p.Reason }

// ValidationError lists every problem found in a configuration, in config
// order (the order of the keys in Config), one per line in Error.
type ValidationError struct {
	Problems []Problem
}

// newValidationError sorts problems in config order.
func newValidationError(problems []Problem) *ValidationError {
	problems = slices.Clone(problems)
	slices.SortStableFunc(problems, func(a, b Problem) int { return comparePaths(a.Path, b.Path) })
	return &ValidationError{Problems: problems}
}

// Error returns one "key.path: reason" line per problem.
func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Validate checks c (normally after WithDefaults) and returns a
// *ValidationError listing every problem, or nil.
func (c *Config) Validate() error {
	v := validator{c: c}
	v.checkTags()
	v.checkStore()
	v.checkServer()
	v.checkQueue()
	v.checkWhatsApp()
	v.checkHelpdesks()
	v.checkOutsideWindow()
	v.checkThreading()
	v.checkRouting()
	v.checkVault()
	if len(v.problems) == 0 {
		return nil
	}
	return newValidationError(v.problems)
}

type validator struct {
	c        *Config
	problems []Problem
}

func (v *validator) add(path, format string, args ...any) {
	v.problems = append(v.problems, Problem{Path: path, Reason: fmt.Sprintf(format, args...)})
}

var patternCache sync.Map // string → *regexp.Regexp

func compiledPattern(p string) *regexp.Regexp {
	if re, ok := patternCache.Load(p); ok {
		return re.(*regexp.Regexp)
	}
	re := regexp.MustCompile(p)
	patternCache.Store(p, re)
	return re
}

// patternReasons words the problem for patterns that have a plainer
// explanation than the regular expression.
var patternReasons = map[string]string{
	"^[0-9]+$":           "must contain only digits",
	"^[a-z][a-z0-9_-]*$": "must start with a lower-case letter and contain only a-z, 0-9, _ and -",
	`^v[0-9]+\.[0-9]+$`:  "must look like v23.0",
}

func patternReason(p string) string {
	if r, ok := patternReasons[p]; ok {
		return r
	}
	return "must match " + p
}

// checkTags applies the checks declared in struct tags (required, enum,
// pattern, min, keys), that durations are positive and that secrets are
// well-formed references.
func (v *validator) checkTags() {
	walk(reflect.ValueOf(v.c).Elem(), "", "", false, func(val reflect.Value, path string, tag reflect.StructTag) {
		empty := val.IsZero() || ((val.Kind() == reflect.Slice || val.Kind() == reflect.Map) && val.Len() == 0)
		if tag.Get("required") == "true" && empty {
			if val.Kind() == reflect.Slice {
				v.add(path, "at least one is required")
			} else {
				v.add(path, "required")
			}
			return
		}
		switch {
		case val.Type() == durationType:
			if val.Int() <= 0 {
				v.add(path, "must be a positive duration, such as 30s")
			}
		case val.Type() == secretType:
			v.checkSecret(path, Secret(val.String()))
		case val.Kind() == reflect.String && val.String() != "":
			if enum := tag.Get("enum"); enum != "" && !slices.Contains(strings.Split(enum, ","), val.String()) {
				v.add(path, "must be one of %s", strings.ReplaceAll(enum, ",", ", "))
			}
			if p := tag.Get("pattern"); p != "" && !compiledPattern(p).MatchString(val.String()) {
				v.add(path, "%s", patternReason(p))
			}
		case val.Kind() == reflect.Int:
			if m, ok := tag.Lookup("min"); ok {
				if n, _ := strconv.Atoi(m); val.Int() < int64(n) {
					v.add(path, "must be at least %d", n)
				}
			}
		case val.Kind() == reflect.Map:
			if p := tag.Get("keys"); p != "" {
				for _, k := range sortedKeys(val) {
					if !compiledPattern(p).MatchString(k.String()) {
						v.add(joinKey(path, k.String()), "name %s", patternReason(p))
					}
				}
			}
		}
	})
}

// checkSecret checks that a set secret is a well-formed reference, or an
// allowed literal.
func (v *validator) checkSecret(path string, s Secret) {
	if s == "" {
		return
	}
	ref, err := s.Ref()
	switch {
	case err != nil:
		v.add(path, "invalid secret reference: %v", err)
	case ref.Scheme == SchemeLiteral && !v.c.InsecureLiteralSecrets:
		v.add(path, "literal secret not allowed; use env://, file:// or vault:// (or set insecure_literal_secrets: true)")
	case ref.Scheme == SchemeVault && strings.HasPrefix(path, "vault."):
		v.add(path, "cannot be a vault:// reference: it is needed to log in to Vault")
	case ref.Scheme == SchemeVault && v.c.Vault.Address == "":
		v.add(path, "vault:// reference needs vault.address")
	}
}

// StoreKind returns "sqlite" or "postgres" according to store.url, or "" if
// the URL has neither scheme.
func (c *Config) StoreKind() string {
	switch scheme, _, _ := strings.Cut(c.Store.URL, "://"); scheme {
	case "sqlite":
		return "sqlite"
	case "postgres", "postgresql":
		return "postgres"
	}
	return ""
}

// SQLitePath returns the database file of a sqlite:// store URL, without any
// ?query: sqlite://deskbridge.db → deskbridge.db, sqlite:///var/lib/d.db →
// /var/lib/d.db. It returns "" for other stores.
func (c *Config) SQLitePath() string {
	rest, ok := strings.CutPrefix(c.Store.URL, "sqlite://")
	if !ok {
		return ""
	}
	p, _, _ := strings.Cut(rest, "?")
	return p
}

func (v *validator) checkStore() {
	u := v.c.Store.URL
	switch v.c.StoreKind() {
	case "sqlite":
		if v.c.SQLitePath() == "" {
			v.add("store.url", "sqlite:// needs a file path, such as sqlite://deskbridge.db")
		}
	case "postgres":
		if _, err := url.Parse(u); err != nil {
			v.add("store.url", "invalid postgres URL")
		}
	default:
		if u != "" {
			v.add("store.url", "must start with sqlite://, postgres:// or postgresql://")
		} else {
			v.add("store.url", "required")
		}
	}
}

func (v *validator) checkServer() {
	s := v.c.Server
	v.checkAddr("server.public_addr", s.PublicAddr, true)
	v.checkAddr("server.internal_addr", s.InternalAddr, true)
	if s.PublicAddr != "" && s.PublicAddr == s.InternalAddr {
		v.add("server.internal_addr", "must differ from server.public_addr")
	}
	v.checkURL("server.public_url", s.PublicURL, false)
}

// checkAddr checks a listen address: host:port with an empty host allowed.
func (v *validator) checkAddr(path, addr string, required bool) {
	if addr == "" {
		if required {
			v.add(path, "required")
		}
		return
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		v.add(path, "must be host:port, such as :8080 or 127.0.0.1:9090")
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		v.add(path, "port must be a number from 0 to 65535")
	}
}

// checkURL checks an absolute http(s) URL.
func (v *validator) checkURL(path, s string, required bool) {
	if s == "" {
		if required {
			v.add(path, "required")
		}
		return
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.add(path, "must be an absolute http:// or https:// URL")
	}
}

func (v *validator) checkQueue() {
	q := v.c.Queue
	if q.JobTimeout > 0 && q.RescueAfter > 0 && q.RescueAfter <= q.JobTimeout {
		v.add("queue.rescue_after", "must be longer than queue.job_timeout (%s)", q.JobTimeout)
	}
	if q.RetryBase > 0 && q.RetryMax > 0 && q.RetryMax < q.RetryBase {
		v.add("queue.retry_max", "must not be shorter than queue.retry_base (%s)", q.RetryBase)
	}
}

func (v *validator) checkWhatsApp() {
	w := v.c.WhatsApp
	v.checkURL("whatsapp.api_base_url", w.APIBaseURL, true)
	seen := map[string]int{}
	for i, n := range w.Numbers {
		p := indexPath("whatsapp.numbers", i)
		if n.PhoneNumberID != "" {
			if j, dup := seen[n.PhoneNumberID]; dup {
				v.add(p+".phone_number_id", "duplicate of %s.phone_number_id", indexPath("whatsapp.numbers", j))
			} else {
				seen[n.PhoneNumberID] = i
			}
		}
		switch _, ok := v.c.Helpdesks[n.Helpdesk]; {
		case n.Helpdesk == "" && len(v.c.Helpdesks) > 0:
			v.add(p+".helpdesk", "required: name one of helpdesks (%s)", strings.Join(helpdeskNames(v.c), ", "))
		case n.Helpdesk != "" && len(v.c.Helpdesks) == 0:
			v.add(p+".helpdesk", "names helpdesk %q but no helpdesks are configured", n.Helpdesk)
		case n.Helpdesk != "" && !ok:
			v.add(p+".helpdesk", "unknown helpdesk %q; must be one of %s", n.Helpdesk, strings.Join(helpdeskNames(v.c), ", "))
		}
	}
}

func helpdeskNames(c *Config) []string {
	names := make([]string, 0, len(c.Helpdesks))
	for k := range c.Helpdesks {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

func (v *validator) checkHelpdesks() {
	for _, name := range helpdeskNames(v.c) {
		h := v.c.Helpdesks[name]
		p := joinKey("helpdesks", name)
		if h.BaseURL != "" {
			v.checkURL(p+".base_url", h.BaseURL, true)
		}
		if h.Email != "" {
			if a, err := mail.ParseAddress(h.Email); err != nil || a.Address != h.Email {
				v.add(p+".email", "must be an email address, such as bot@acme.com")
			}
		}
		if h.APIToken == "" && h.OAuthToken == "" {
			v.add(p, "one of api_token or oauth_token is required")
		}
		if h.APIToken != "" && h.OAuthToken != "" {
			v.add(p, "set only one of api_token or oauth_token")
		}
		if h.Kind == "zendesk" && h.APIToken != "" && h.Email == "" {
			v.add(p+".email", "required with api_token: Zendesk API tokens authenticate as email/token")
		}
		if h.Kind == "zendesk" {
			for _, f := range []struct{ key, val string }{
				{"brand_id", h.BrandID}, {"group_id", h.GroupID}, {"ticket_form_id", h.TicketFormID},
			} {
				if f.val != "" && !digitsOnly(f.val) {
					v.add(p+"."+f.key, "must be a Zendesk id (digits)")
				}
			}
			if u, err := url.Parse(h.BaseURL); err == nil && u.Scheme == "http" && !loopbackHost(u.Hostname()) {
				v.add(p+".base_url", "must use https (plain http is allowed only for a loopback sandbox)")
			}
		}
	}
}

func digitsOnly(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

func loopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func (v *validator) checkOutsideWindow() {
	o := v.c.OutsideWindow
	if o.Policy != "template" {
		return
	}
	if o.Template.Name == "" {
		v.add("outside_window.template.name", "required when outside_window.policy is template")
	}
	if o.Template.Language == "" {
		v.add("outside_window.template.language", "required when outside_window.policy is template")
	}
}

func (v *validator) checkThreading() {
	t := v.c.Threading
	if t.CoalesceMax > 100 {
		v.add("threading.coalesce_max", "must be at most 100 (one comment stays within the helpdesk's size limits)")
	}
	if t.TimeZone != "" {
		if _, err := time.LoadLocation(t.TimeZone); err != nil {
			v.add("threading.time_zone", "unknown time zone %q (use an IANA name such as Europe/Madrid)", t.TimeZone)
		}
	}
	for i, k := range v.c.OptOut.Keywords {
		if strings.TrimSpace(k) == "" {
			v.add(indexPath("opt_out.keywords", i), "must not be blank")
		}
	}
}

func (v *validator) checkRouting() {
	seen := map[string]int{}
	for i, r := range v.c.Mapping.Routing {
		if r.Name == "" {
			continue
		}
		if j, dup := seen[r.Name]; dup {
			v.add(indexPath("mapping.routing", i)+".name", "duplicate of %s.name", indexPath("mapping.routing", j))
			continue
		}
		seen[r.Name] = i
	}
}

func (v *validator) checkVault() {
	vc := v.c.Vault
	if vc.Address == "" {
		return
	}
	v.checkURL("vault.address", vc.Address, true)
	if (vc.ClientCert == "") != (vc.ClientKey == "") {
		if vc.ClientCert == "" {
			v.add("vault.client_cert", "required with vault.client_key")
		} else {
			v.add("vault.client_key", "required with vault.client_cert")
		}
	}
	a := vc.Auth
	switch a.Method {
	case "":
		v.add("vault.auth.method", "required when vault.address is set")
	case "token":
		if a.Token == "" {
			v.add("vault.auth.token", "required when vault.auth.method is token")
		}
	case "approle":
		if a.RoleID == "" {
			v.add("vault.auth.role_id", "required when vault.auth.method is approle")
		}
	case "kubernetes":
		if a.Role == "" {
			v.add("vault.auth.role", "required when vault.auth.method is kubernetes")
		}
	}
	if a.SecretIDWrapped && a.Method != "approle" {
		v.add("vault.auth.secret_id_wrapped", "only applies to vault.auth.method approle")
	}
	if a.SecretIDWrapped && a.SecretID == "" {
		v.add("vault.auth.secret_id", "required when vault.auth.secret_id_wrapped is true")
	}
}
