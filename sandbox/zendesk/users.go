package zendesk

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// User roles as the API spells them.
const (
	roleEndUser = "end-user"
	roleAgent   = "agent"
	roleAdmin   = "admin"
)

// identityTypes are the identity types Create Identity accepts.
var identityTypes = []string{"email", "twitter", "facebook", "google", "phone_number", "agent_forwarding", "any_channel", "foreign", "sdk"}

// user is a stored user. Empty strings are answered as null.
type user struct {
	ID             int64
	Name           string
	Email          string
	Phone          string
	ExternalID     string
	Role           string
	Tags           []string
	Notes          string
	Details        string
	UserFields     map[string]any
	OrganizationID *int64
	Verified       bool
	SharedPhone    *bool
	Suspended      bool
	CreatedAt      time.Time
	UpdatedAt      time.Time
	builtin        bool // API user and built-in agent: always searchable
	identities     []*identity
}

// identity is a user identity (email, phone_number, …).
type identity struct {
	ID        int64
	UserID    int64
	Type      string
	Value     string
	Primary   bool
	Verified  bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// userInput is the "user" object of create, update and create_or_update.
type userInput struct {
	Name              *string         `json:"name"`
	Email             *string         `json:"email"`
	Phone             *string         `json:"phone"`
	ExternalID        *string         `json:"external_id"`
	Role              *string         `json:"role"`
	Tags              *[]string       `json:"tags"`
	Notes             *string         `json:"notes"`
	Details           *string         `json:"details"`
	UserFields        map[string]any  `json:"user_fields"`
	OrganizationID    *int64          `json:"organization_id"`
	Verified          *bool           `json:"verified"`
	SharedPhoneNumber *bool           `json:"shared_phone_number"`
	Suspended         *bool           `json:"suspended"`
	Identities        []identityInput `json:"identities"`
	SkipVerifyEmail   bool            `json:"skip_verify_email"`
}

// identityInput is an identity to add.
type identityInput struct {
	Type     string `json:"type"`
	Value    string `json:"value"`
	Primary  bool   `json:"primary"`
	Verified bool   `json:"verified"`
}

// addUserLocked stores u with its email and phone identities. s.mu is held.
func (s *Server) addUserLocked(u *user, now time.Time) {
	s.users[u.ID] = u
	s.userOrder = append(s.userOrder, u.ID)
	if u.Email != "" {
		u.identities = append(u.identities, &identity{ID: s.nextIDLocked(), UserID: u.ID, Type: "email", Value: u.Email,
			Primary: true, Verified: u.Verified, CreatedAt: now, UpdatedAt: now})
	}
	if u.Phone != "" {
		s.setPhoneLocked(u, u.Phone, now)
	}
}

// userJSON renders u in the API's shape (fields as in Show User).
func (s *Server) userJSON(base string, u *user) map[string]any {
	role := u.Role
	var restriction any = "requested"
	if role != roleEndUser {
		restriction = nil
	}
	tags := u.Tags
	if tags == nil {
		tags = []string{}
	}
	fields := u.UserFields
	if fields == nil {
		fields = map[string]any{}
	}
	var shared any
	if u.SharedPhone != nil {
		shared = *u.SharedPhone
	} else if u.Phone != "" {
		shared = false
	}
	return map[string]any{
		"id": u.ID, "url": fmt.Sprintf("%s/api/v2/users/%d.json", base, u.ID), "name": u.Name, "email": nullStr(u.Email),
		"created_at": stamp(u.CreatedAt), "updated_at": stamp(u.UpdatedAt), "time_zone": "UTC", "iana_time_zone": "Etc/UTC",
		"phone": nullStr(u.Phone), "shared_phone_number": shared, "photo": nil, "locale_id": 1, "locale": "en-US",
		"organization_id": nullInt(u.OrganizationID), "role": role, "verified": u.Verified, "external_id": nullStr(u.ExternalID),
		"tags": tags, "alias": nil, "active": true, "shared": false, "shared_agent": false, "last_login_at": nil,
		"two_factor_auth_enabled": nil, "signature": nil, "details": nullStr(u.Details), "notes": nullStr(u.Notes),
		"role_type": nil, "custom_role_id": nil, "moderator": role != roleEndUser, "ticket_restriction": restriction,
		"only_private_comments": false, "restricted_agent": role == roleEndUser, "suspended": u.Suspended,
		"chat_only": false, "default_group_id": nil, "report_csv": role == roleAdmin, "user_fields": fields,
	}
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullInt(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

// routeUsers serves /api/v2/users/…; it reports false for an unknown route.
func (s *Server) routeUsers(c *call, m string, rest []string) bool {
	switch {
	case len(rest) == 0 && m == http.MethodPost:
		s.handleUserCreate(c)
	case len(rest) == 1 && rest[0] == "me" && m == http.MethodGet:
		s.handleUserShow(c, strconv.FormatInt(apiUserID, 10))
	case len(rest) == 1 && rest[0] == "show_many" && m == http.MethodGet:
		s.handleShowMany(c)
	case len(rest) == 1 && rest[0] == "search" && m == http.MethodGet:
		s.handleUserSearch(c)
	case len(rest) == 1 && rest[0] == "create_or_update" && m == http.MethodPost:
		s.handleCreateOrUpdate(c)
	case len(rest) == 1 && m == http.MethodGet:
		s.handleUserShow(c, rest[0])
	case len(rest) == 1 && m == http.MethodPut:
		s.handleUserUpdate(c, rest[0])
	case len(rest) == 2 && rest[1] == "identities" && m == http.MethodGet:
		s.handleIdentityList(c, rest[0])
	case len(rest) == 2 && rest[1] == "identities" && m == http.MethodPost:
		s.handleIdentityCreate(c, rest[0])
	default:
		return false
	}
	return true
}

// userLocked finds a user by path id. s.mu is held.
func (s *Server) userLocked(raw string) (*user, *apiError) {
	id, ok := parseID(raw)
	if !ok {
		return nil, errNotFound()
	}
	u, ok := s.users[id]
	if !ok {
		return nil, errNotFound()
	}
	return u, nil
}

func (s *Server) handleUserShow(c *call, raw string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, e := s.userLocked(raw)
	if e != nil {
		c.fail(e)
		return
	}
	c.json(http.StatusOK, map[string]any{"user": s.userJSON(c.base, u)})
}

func (s *Server) handleUserCreate(c *call) {
	raw, e := readBody(c.r)
	var in userInput
	if e == nil {
		e = decodeRoot(raw, "user", &in)
	}
	if e != nil {
		c.fail(e)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, e := s.createUserLocked(in, s.clock.Now())
	if e != nil {
		c.fail(e)
		return
	}
	c.json(http.StatusCreated, map[string]any{"user": s.userJSON(c.base, u)})
}

// createUserLocked validates and stores a new user. s.mu is held.
func (s *Server) createUserLocked(in userInput, now time.Time) (*user, *apiError) {
	if e := s.validateUserLocked(nil, in); e != nil {
		return nil, e
	}
	u := &user{ID: s.nextIDLocked(), Role: roleEndUser, CreatedAt: now, UpdatedAt: now}
	s.addUserLocked(u, now)
	s.applyUserLocked(u, in, now)
	return u, nil
}

// validateUserLocked checks in for a new user (u == nil) or an update of u.
// s.mu is held.
func (s *Server) validateUserLocked(u *user, in userInput) *apiError {
	v := invalid{}
	if u == nil && (in.Name == nil || strings.TrimSpace(*in.Name) == "") {
		v.add("name", "BlankValue", "Name: cannot be blank")
	}
	if u != nil && in.Name != nil && strings.TrimSpace(*in.Name) == "" {
		v.add("name", "BlankValue", "Name: cannot be blank")
	}
	if in.Role != nil && !slices.Contains([]string{roleEndUser, roleAgent, roleAdmin}, *in.Role) {
		v.add("role", "InvalidValue", fmt.Sprintf("Role: %s is not valid", *in.Role))
	}
	if in.Email != nil && *in.Email != "" {
		if !validEmail(*in.Email) {
			v.add("email", "InvalidFormat", fmt.Sprintf("Email: %s is not properly formatted", *in.Email))
		} else if other := s.userByEmailLocked(*in.Email); other != nil && other != u {
			v.add("email", "DuplicateValue", fmt.Sprintf("Email: %s is already being used by another user", *in.Email))
		}
	}
	if in.ExternalID != nil && *in.ExternalID != "" {
		if other := s.userByExternalIDLocked(*in.ExternalID); other != nil && other != u {
			v.add("external_id", "DuplicateValue", "External has already been taken")
		}
	}
	for _, id := range in.Identities {
		if !slices.Contains(identityTypes, id.Type) {
			v.add("identities", "InvalidValue", fmt.Sprintf("Identity type: %q is not valid", id.Type))
		} else if strings.TrimSpace(id.Value) == "" {
			v.add("identities", "BlankValue", "Identity value: cannot be blank")
		} else if id.Type == "email" {
			if other := s.userByEmailLocked(id.Value); other != nil && other != u {
				v.add("identities", "DuplicateValue", fmt.Sprintf("Email: %s is already being used by another user", id.Value))
			}
		}
	}
	return v.err()
}

// applyUserLocked writes the fields of in to u (validated before). s.mu is held.
func (s *Server) applyUserLocked(u *user, in userInput, now time.Time) {
	if in.Name != nil {
		u.Name = strings.TrimSpace(*in.Name)
	}
	if in.Role != nil {
		u.Role = *in.Role
	}
	if in.ExternalID != nil {
		u.ExternalID = *in.ExternalID
	}
	if in.Tags != nil {
		u.Tags = normalizeTags(*in.Tags)
	}
	if in.Notes != nil {
		u.Notes = *in.Notes
	}
	if in.Details != nil {
		u.Details = *in.Details
	}
	if in.UserFields != nil {
		if u.UserFields == nil {
			u.UserFields = map[string]any{}
		}
		for k, val := range in.UserFields {
			u.UserFields[k] = val
		}
	}
	if in.OrganizationID != nil {
		u.OrganizationID = in.OrganizationID
	}
	if in.Verified != nil {
		u.Verified = *in.Verified
	}
	if in.SharedPhoneNumber != nil {
		u.SharedPhone = in.SharedPhoneNumber
	}
	if in.Suspended != nil {
		u.Suspended = *in.Suspended
	}
	if in.Email != nil {
		s.setEmailLocked(u, *in.Email, now)
	}
	if in.Phone != nil {
		s.setPhoneLocked(u, *in.Phone, now)
	}
	for _, id := range in.Identities {
		s.addIdentityLocked(u, id, now)
	}
	u.UpdatedAt = now
}

func (s *Server) userByEmailLocked(email string) *user {
	email = strings.ToLower(strings.TrimSpace(email))
	for _, id := range s.userOrder {
		u := s.users[id]
		for _, ident := range u.identities {
			if ident.Type == "email" && ident.Value == email {
				return u
			}
		}
	}
	return nil
}

func (s *Server) userByExternalIDLocked(ext string) *user {
	for _, id := range s.userOrder {
		if u := s.users[id]; u.ExternalID != "" && strings.EqualFold(u.ExternalID, ext) {
			return u
		}
	}
	return nil
}

// throttleUserLocked counts an update of user id and answers 429 past 5 a
// minute. s.mu is held.
func (s *Server) throttleUserLocked(id int64, now time.Time) *apiError {
	w := s.userUpdates[id]
	if w.count(now, userUpdateWindow) >= userUpdateLimit {
		return errUserThrottle(w.retryAfter(now, userUpdateWindow))
	}
	s.userUpdates[id] = w.add(now, userUpdateWindow)
	return nil
}

func (s *Server) handleUserUpdate(c *call, rawID string) {
	raw, e := readBody(c.r)
	var in userInput
	if e == nil {
		e = decodeRoot(raw, "user", &in)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, e2 := s.userLocked(rawID)
	switch {
	case e2 != nil:
		e = e2
	case e == nil:
		e = s.validateUserLocked(u, in)
	}
	now := s.clock.Now()
	if e == nil {
		e = s.throttleUserLocked(u.ID, now)
	}
	if e != nil {
		c.fail(e)
		return
	}
	s.applyUserLocked(u, in, now)
	c.json(http.StatusOK, map[string]any{"user": s.userJSON(c.base, u)})
}

// handleCreateOrUpdate matches an existing user only by external_id (case
// insensitive; the stored value takes the case sent) or by email.
func (s *Server) handleCreateOrUpdate(c *call) {
	raw, e := readBody(c.r)
	var in userInput
	if e == nil {
		e = decodeRoot(raw, "user", &in)
	}
	if e != nil {
		c.fail(e)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	var u *user
	if in.ExternalID != nil && *in.ExternalID != "" {
		u = s.userByExternalIDLocked(*in.ExternalID)
	}
	if u == nil && in.Email != nil && *in.Email != "" {
		u = s.userByEmailLocked(*in.Email)
	}
	status := http.StatusOK
	if u == nil {
		if u, e = s.createUserLocked(in, now); e != nil {
			c.fail(e)
			return
		}
		status = http.StatusCreated
	} else {
		if e = s.validateUserLocked(u, in); e == nil {
			e = s.throttleUserLocked(u.ID, now)
		}
		if e != nil {
			c.fail(e)
			return
		}
		s.applyUserLocked(u, in, now)
	}
	c.w.Header().Set("Location", fmt.Sprintf("%s/api/v2/users/%d.json", c.base, u.ID))
	c.json(status, map[string]any{"user": s.userJSON(c.base, u)})
}

// handleShowMany answers ?ids= or ?external_ids= (up to 100 each).
func (s *Server) handleShowMany(c *call) {
	q := c.r.URL.Query()
	ids, exts := splitList(q.Get("ids")), splitList(q.Get("external_ids"))
	switch {
	case len(ids) == 0 && len(exts) == 0:
		c.fail(errParameterMissing("ids"))
		return
	case len(ids) > 100 || len(exts) > 100:
		c.fail(&apiError{status: http.StatusBadRequest,
			body: classic{Error: "InvalidValue", Description: "Too many values: the maximum is 100"}})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []any{}
	seen := map[int64]bool{}
	add := func(u *user) {
		if u != nil && !seen[u.ID] {
			seen[u.ID] = true
			out = append(out, s.userJSON(c.base, u))
		}
	}
	for _, raw := range ids {
		if id, ok := parseID(raw); ok {
			add(s.users[id])
		}
	}
	for _, ext := range exts {
		add(s.userByExternalIDLocked(ext))
	}
	c.json(http.StatusOK, map[string]any{"users": out, "next_page": nil, "previous_page": nil, "count": len(out)})
}

// splitList splits a comma-separated query value, dropping blanks.
func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// digits keeps the ASCII digits of s.
func digits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func validEmail(e string) bool {
	at := strings.IndexByte(e, '@')
	return at > 0 && at < len(e)-1 && !strings.ContainsAny(e, " \t") && strings.Contains(e[at:], ".")
}

// normalizeTags lowercases tags, splits them on spaces and drops duplicates,
// as Zendesk does.
func normalizeTags(in []string) []string {
	out := []string{}
	for _, t := range in {
		for _, f := range strings.Fields(strings.ToLower(t)) {
			if !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
	}
	return out
}
