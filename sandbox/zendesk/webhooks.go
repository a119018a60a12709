package zendesk

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// conditionalEvents is the subscription a webhook needs to be used by
// triggers and automations.
const conditionalEvents = "conditional_ticket_events"

// webhook is a stored webhook with its signing secret.
type webhook struct {
	ID            string
	Name          string
	Description   string
	Endpoint      string
	HTTPMethod    string
	RequestFormat string
	Status        string
	Subscriptions []string
	Auth          *webhookAuth
	CustomHeaders map[string]string
	Secret        string
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// webhookAuth is a webhook's authentication; Data is write-only.
type webhookAuth struct {
	Type        string         `json:"type"`
	Data        map[string]any `json:"data,omitempty"`
	AddPosition string         `json:"add_position,omitempty"`
}

// webhookInput is the "webhook" object of create, update and patch.
type webhookInput struct {
	Name           *string           `json:"name"`
	Description    *string           `json:"description"`
	Endpoint       *string           `json:"endpoint"`
	HTTPMethod     *string           `json:"http_method"`
	RequestFormat  *string           `json:"request_format"`
	Status         *string           `json:"status"`
	Subscriptions  *[]string         `json:"subscriptions"`
	Authentication *webhookAuth      `json:"authentication"`
	CustomHeaders  map[string]string `json:"custom_headers"`
}

// apply writes the fields present in in to w.
func (in webhookInput) apply(w *webhook) {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&w.Name, in.Name)
	set(&w.Description, in.Description)
	set(&w.Endpoint, in.Endpoint)
	set(&w.HTTPMethod, in.HTTPMethod)
	set(&w.RequestFormat, in.RequestFormat)
	set(&w.Status, in.Status)
	if in.Subscriptions != nil {
		w.Subscriptions = slices.Clone(*in.Subscriptions)
	}
	if in.Authentication != nil {
		a := *in.Authentication
		w.Auth = &a
	}
	if in.CustomHeaders != nil {
		w.CustomHeaders = in.CustomHeaders
	}
}

// validate checks a webhook as it would be stored.
func (w *webhook) validate() *apiError {
	bad := func(field, detail string) *apiError {
		return errWebhook(http.StatusBadRequest, "InvalidValue", "Invalid value", detail, "/webhook/"+field)
	}
	for _, f := range []struct{ name, value string }{{"name", w.Name}, {"endpoint", w.Endpoint},
		{"http_method", w.HTTPMethod}, {"request_format", w.RequestFormat}, {"status", w.Status}} {
		if strings.TrimSpace(f.value) == "" {
			return errWebhook(http.StatusBadRequest, "RequiredValue", "Missing value", f.name+" is required", "/webhook/"+f.name)
		}
	}
	if u, err := url.Parse(w.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return bad("endpoint", "endpoint must be an absolute http or https URL")
	}
	if !slices.Contains([]string{"GET", "POST", "PUT", "PATCH", "DELETE"}, w.HTTPMethod) {
		return bad("http_method", "http_method must be one of GET, POST, PUT, PATCH, DELETE")
	}
	if !slices.Contains([]string{"json", "xml", "form_encoded"}, w.RequestFormat) {
		return bad("request_format", "request_format must be one of json, xml, form_encoded")
	}
	if !slices.Contains([]string{"active", "inactive"}, w.Status) {
		return bad("status", "status must be active or inactive")
	}
	if slices.Contains(w.Subscriptions, conditionalEvents) && len(w.Subscriptions) > 1 {
		return bad("subscriptions", conditionalEvents+" cannot be combined with other subscriptions")
	}
	if w.Auth != nil && !slices.Contains([]string{"basic_auth", "bearer_token", "api_key"}, w.Auth.Type) {
		return bad("authentication", "authentication type must be basic_auth, bearer_token or api_key")
	}
	return nil
}

// webhookJSON renders a webhook; authentication data is never returned.
func webhookJSON(w *webhook) map[string]any {
	subs := w.Subscriptions
	if subs == nil {
		subs = []string{}
	}
	out := map[string]any{"id": w.ID, "name": w.Name, "endpoint": w.Endpoint, "http_method": w.HTTPMethod,
		"request_format": w.RequestFormat, "status": w.Status, "subscriptions": subs,
		"created_at": stamp(w.CreatedAt), "created_by": strconv.FormatInt(apiUserID, 10),
		"updated_at": stamp(w.UpdatedAt), "updated_by": strconv.FormatInt(apiUserID, 10)}
	if w.Description != "" {
		out["description"] = w.Description
	}
	if w.Auth != nil {
		out["authentication"] = map[string]any{"type": w.Auth.Type, "add_position": w.Auth.AddPosition}
	}
	if len(w.CustomHeaders) > 0 {
		out["custom_headers"] = w.CustomHeaders
	}
	return out
}

// newSecret returns a fresh signing secret.
func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// routeWebhooks serves /api/v2/webhooks/…; it reports false for an unknown route.
func (s *Server) routeWebhooks(c *call, m string, rest []string) bool {
	switch {
	case len(rest) == 0 && m == http.MethodGet:
		s.handleWebhookList(c)
	case len(rest) == 0 && m == http.MethodPost:
		s.handleWebhookCreate(c)
	case len(rest) == 1 && (m == http.MethodGet || m == http.MethodDelete):
		s.handleWebhookShowDelete(c, rest[0])
	case len(rest) == 1 && (m == http.MethodPut || m == http.MethodPatch):
		s.handleWebhookUpdate(c, rest[0], m == http.MethodPatch)
	case len(rest) == 2 && rest[1] == "signing_secret" && (m == http.MethodGet || m == http.MethodPost):
		s.handleSigningSecret(c, rest[0], m == http.MethodPost)
	default:
		return false
	}
	return true
}

func (s *Server) handleWebhookCreate(c *call) {
	raw, e := readBody(c.r)
	var in webhookInput
	if e == nil {
		e = decodeRoot(raw, "webhook", &in)
	}
	if e != nil {
		c.fail(e)
		return
	}
	w := &webhook{}
	in.apply(w)
	if e := w.validate(); e != nil {
		c.fail(e)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	w.ID = fmt.Sprintf("01HSANDBOX%016d", s.nextIDLocked())
	w.Secret, w.CreatedAt, w.UpdatedAt = newSecret(), now, now
	s.webhooks[w.ID] = w
	s.hookOrder = append(s.hookOrder, w.ID)
	c.json(http.StatusCreated, map[string]any{"webhook": webhookJSON(w)})
}

// handleWebhookList answers GET /api/v2/webhooks with filter[name_contains],
// filter[status], sort (name, status, -name, -status) and cursor pages.
func (s *Server) handleWebhookList(c *call) {
	q := c.r.URL.Query()
	cr, _, e := parseCursor(q)
	if e != nil {
		c.fail(e)
		return
	}
	if cr.size == 0 {
		cr.size = 100
	}
	contains, status := strings.ToLower(q.Get("filter[name_contains]")), q.Get("filter[status]")
	s.mu.Lock()
	defer s.mu.Unlock()
	var list []*webhook
	for _, id := range s.hookOrder {
		w := s.webhooks[id]
		if strings.Contains(strings.ToLower(w.Name), contains) && (status == "" || w.Status == status) {
			list = append(list, w)
		}
	}
	if by := strings.TrimPrefix(q.Get("sort"), "-"); by == "name" || by == "status" {
		desc := strings.HasPrefix(q.Get("sort"), "-")
		sort.SliceStable(list, func(i, j int) bool {
			a, b := list[i].Name, list[j].Name
			if by == "status" {
				a, b = list[i].Status, list[j].Status
			}
			return (a < b) != desc && a != b
		})
	}
	// The webhooks API pages by cursor only.
	writeList(c, "webhooks", list, true, cr, func(w *webhook) string { return w.ID },
		func(w *webhook) any { return webhookJSON(w) })
}

func (s *Server) handleWebhookShowDelete(c *call, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.webhooks[id]
	if w == nil {
		c.fail(errWebhookNotFound())
		return
	}
	if c.r.Method == http.MethodGet {
		c.json(http.StatusOK, map[string]any{"webhook": webhookJSON(w)})
		return
	}
	delete(s.webhooks, id)
	s.hookOrder = slices.DeleteFunc(s.hookOrder, func(x string) bool { return x == id })
	c.w.WriteHeader(http.StatusNoContent)
}

// handleWebhookUpdate answers PUT (every required field) and PATCH (the
// fields given) with 204.
func (s *Server) handleWebhookUpdate(c *call, id string, patch bool) {
	raw, e := readBody(c.r)
	var in webhookInput
	if e == nil {
		e = decodeRoot(raw, "webhook", &in)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.webhooks[id]
	if w == nil {
		c.fail(errWebhookNotFound())
		return
	}
	if e != nil {
		c.fail(e)
		return
	}
	next := &webhook{ID: w.ID, Secret: w.Secret, CreatedAt: w.CreatedAt}
	if patch {
		*next = *w
	}
	in.apply(next)
	if e := next.validate(); e != nil {
		c.fail(e)
		return
	}
	next.UpdatedAt = s.clock.Now()
	*w = *next
	c.w.WriteHeader(http.StatusNoContent)
}

// handleSigningSecret shows (GET, 200) or resets (POST, 201) the secret.
func (s *Server) handleSigningSecret(c *call, id string, reset bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.webhooks[id]
	if w == nil {
		c.fail(errWebhookNotFound())
		return
	}
	status := http.StatusOK
	if reset {
		w.Secret, w.UpdatedAt, status = newSecret(), s.clock.Now(), http.StatusCreated
	}
	c.json(status, map[string]any{"signing_secret": map[string]any{"algorithm": "SHA256", "secret": w.Secret}})
}

// WebhookSecret returns the signing secret of a webhook ("" if unknown).
func (s *Server) WebhookSecret(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w := s.webhooks[id]; w != nil {
		return w.Secret
	}
	return ""
}
