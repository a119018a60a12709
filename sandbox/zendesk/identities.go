package zendesk

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// identityJSON renders a user identity.
func identityJSON(base string, id *identity) map[string]any {
	method := "none"
	if id.Verified {
		method = "low"
	}
	return map[string]any{
		"url": fmt.Sprintf("%s/api/v2/users/%d/identities/%d.json", base, id.UserID, id.ID), "id": id.ID,
		"user_id": id.UserID, "type": id.Type, "value": id.Value, "verified": id.Verified, "primary": id.Primary,
		"created_at": stamp(id.CreatedAt), "updated_at": stamp(id.UpdatedAt), "undeliverable_count": 0,
		"deliverable_state": "deliverable", "verification_method": method,
	}
}

// setEmailLocked makes email the primary email identity (or removes the
// primary email when empty). s.mu is held.
func (s *Server) setEmailLocked(u *user, email string, now time.Time) {
	u.Email = strings.ToLower(strings.TrimSpace(email))
	for i, id := range u.identities {
		if id.Type == "email" && id.Primary {
			if u.Email == "" {
				u.identities = slices.Delete(u.identities, i, i+1)
			} else {
				id.Value, id.UpdatedAt = u.Email, now
			}
			return
		}
	}
	if u.Email != "" {
		u.identities = append(u.identities, &identity{ID: s.nextIDLocked(), UserID: u.ID, Type: "email", Value: u.Email,
			Primary: true, Verified: u.Verified, CreatedAt: now, UpdatedAt: now})
	}
}

// setPhoneLocked sets the user's phone: an existing phone identity with
// the same digits becomes primary, else the primary phone identity takes
// the new value, else a new primary one is added. s.mu is held.
func (s *Server) setPhoneLocked(u *user, phone string, now time.Time) {
	u.Phone = strings.TrimSpace(phone)
	var primary, same *identity
	for _, id := range u.identities {
		if id.Type != "phone_number" {
			continue
		}
		if id.Primary {
			primary = id
		}
		if u.Phone != "" && digits(id.Value) == digits(u.Phone) {
			same = id
		}
	}
	switch {
	case u.Phone == "":
		if primary != nil {
			primary.Primary = false
		}
	case same != nil:
		if primary != nil {
			primary.Primary = false
		}
		same.Primary, same.UpdatedAt = true, now
	case primary != nil:
		primary.Value, primary.UpdatedAt = u.Phone, now
	default:
		u.identities = append(u.identities, &identity{ID: s.nextIDLocked(), UserID: u.ID, Type: "phone_number",
			Value: u.Phone, Primary: true, CreatedAt: now, UpdatedAt: now})
	}
}

// addIdentityLocked adds one identity; a user's first email or phone
// identity becomes primary and fills user.email or user.phone. An identity
// the user already has is returned as is. s.mu is held.
func (s *Server) addIdentityLocked(u *user, in identityInput, now time.Time) *identity {
	value := strings.TrimSpace(in.Value)
	if in.Type == "email" {
		value = strings.ToLower(value)
	}
	hasPrimary := false
	for _, id := range u.identities {
		if id.Type == in.Type && (id.Value == value || (in.Type == "phone_number" && digits(id.Value) == digits(value))) {
			return id
		}
		hasPrimary = hasPrimary || (id.Type == in.Type && id.Primary)
	}
	id := &identity{ID: s.nextIDLocked(), UserID: u.ID, Type: in.Type, Value: value, Verified: in.Verified,
		Primary: !hasPrimary && (in.Type == "email" || in.Type == "phone_number"), CreatedAt: now, UpdatedAt: now}
	u.identities = append(u.identities, id)
	switch {
	case id.Primary && in.Type == "email":
		u.Email = value
	case id.Primary && in.Type == "phone_number":
		u.Phone = value
	}
	return id
}

// handleIdentityList answers GET /api/v2/users/{id}/identities[?type[]=…].
func (s *Server) handleIdentityList(c *call, rawID string) {
	types := c.r.URL.Query()["type[]"]
	s.mu.Lock()
	defer s.mu.Unlock()
	u, e := s.userLocked(rawID)
	if e != nil {
		c.fail(e)
		return
	}
	out := []any{}
	for _, id := range u.identities {
		if len(types) == 0 || slices.Contains(types, id.Type) {
			out = append(out, identityJSON(c.base, id))
		}
	}
	c.json(http.StatusOK, map[string]any{"identities": out, "next_page": nil, "previous_page": nil, "count": len(out)})
}

// handleIdentityCreate answers POST /api/v2/users/{id}/identities with 201.
func (s *Server) handleIdentityCreate(c *call, rawID string) {
	raw, e := readBody(c.r)
	var in identityInput
	if e == nil {
		e = decodeRoot(raw, "identity", &in)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, e2 := s.userLocked(rawID)
	if e2 != nil {
		e = e2
	}
	if e == nil {
		e = s.validateUserLocked(u, userInput{Identities: []identityInput{in}})
	}
	if e != nil {
		c.fail(e)
		return
	}
	now := s.clock.Now()
	id := s.addIdentityLocked(u, in, now)
	u.UpdatedAt = now
	c.json(http.StatusCreated, map[string]any{"identity": identityJSON(c.base, id)})
}
