package zendesk

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// maxSearchResults is the deepest offset search answers (1,000 results).
const maxSearchResults = 1000

// term is one term of a search query: key:value, or free text (key "").
type term struct {
	key, value string
	negate     bool
}

// parseQuery splits a Zendesk search query into terms; "quoted values"
// keep their spaces.
func parseQuery(q string) []term {
	var out []term
	var cur strings.Builder
	inQuote := false
	flush := func() {
		tok := cur.String()
		cur.Reset()
		if tok == "" {
			return
		}
		t := term{}
		if strings.HasPrefix(tok, "-") && len(tok) > 1 {
			t.negate, tok = true, tok[1:]
		}
		if k, v, ok := strings.Cut(tok, ":"); ok && k != "" && !strings.ContainsAny(k, `"`) {
			t.key, t.value = strings.ToLower(k), v
		} else {
			t.value = tok
		}
		t.value = strings.Trim(t.value, `"`)
		out = append(out, t)
	}
	for _, r := range q {
		switch {
		case r == '"':
			inQuote = !inQuote
			cur.WriteRune(r)
		case (r == ' ' || r == '\t') && !inQuote:
			flush()
		default:
			cur.WriteRune(r)
		}
	}
	flush()
	return out
}

// matchUser reports whether u matches every term (type: terms excluded).
func matchUser(u *user, terms []term) bool {
	for _, t := range terms {
		if t.key == "type" {
			continue
		}
		if matchTerm(u, t) == t.negate {
			return false
		}
	}
	return true
}

func matchTerm(u *user, t term) bool {
	v := strings.ToLower(t.value)
	switch t.key {
	case "phone":
		d := digits(v)
		if d == "" {
			return false
		}
		for _, id := range u.identities {
			if id.Type == "phone_number" && digits(id.Value) == d {
				return true
			}
		}
		return u.Phone != "" && digits(u.Phone) == d
	case "email":
		for _, id := range u.identities {
			if id.Type == "email" && id.Value == v {
				return true
			}
		}
		return false
	case "external_id":
		return u.ExternalID != "" && strings.EqualFold(u.ExternalID, t.value)
	case "name":
		return strings.Contains(strings.ToLower(u.Name), v)
	case "role":
		return strings.ReplaceAll(u.Role, "-", "") == strings.ReplaceAll(v, "-", "")
	case "tags", "tag":
		for _, tag := range u.Tags {
			if tag == v {
				return true
			}
		}
		return false
	case "":
		if strings.Contains(strings.ToLower(u.Name), v) || strings.Contains(strings.ToLower(u.Notes), v) ||
			strings.Contains(u.Email, v) {
			return true
		}
		if d := digits(v); len(d) >= 5 && strings.TrimLeft(v, "+") == d {
			return digits(u.Phone) != "" && strings.Contains(digits(u.Phone), d)
		}
		return false
	}
	return false
}

// searchUsersLocked returns the users matching q that the index has caught
// up with (created at least SearchLag ago). s.mu is held.
func (s *Server) searchUsersLocked(terms []term, now time.Time) []*user {
	var out []*user
	for _, id := range s.userOrder {
		u := s.users[id]
		if !u.builtin && now.Before(u.CreatedAt.Add(s.limits.SearchLag)) {
			continue
		}
		if matchUser(u, terms) {
			out = append(out, u)
		}
	}
	return out
}

// page is an offset page request.
type page struct {
	number, perPage int
}

// offsetPage reads page and per_page (default per_page def, at most 100).
func offsetPage(q url.Values, def int) page {
	p := page{number: 1, perPage: def}
	if n, err := strconv.Atoi(q.Get("page")); err == nil && n > 0 {
		p.number = n
	}
	if n, err := strconv.Atoi(q.Get("per_page")); err == nil && n > 0 {
		p.perPage = min(n, 100)
	}
	return p
}

// bounds returns the slice bounds of the page in total items.
func (p page) bounds(total int) (int, int) {
	from := min((p.number-1)*p.perPage, total)
	return from, min(from+p.perPage, total)
}

// links returns next_page and previous_page URLs for the page.
func (p page) links(base string, r *http.Request, total int) (any, any) {
	mk := func(n int) string {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(n))
		q.Set("per_page", strconv.Itoa(p.perPage))
		return base + r.URL.Path + "?" + q.Encode()
	}
	var next, prev any
	if p.number*p.perPage < total {
		next = mk(p.number + 1)
	}
	if p.number > 1 {
		prev = mk(p.number - 1)
	}
	return next, prev
}

// sortUsers orders results by sort_by (created_at or updated_at) and
// sort_order (asc or desc); the default keeps creation order.
func sortUsers(us []*user, q url.Values) {
	by, desc := q.Get("sort_by"), q.Get("sort_order") == "desc"
	key := func(u *user) time.Time { return u.CreatedAt }
	switch by {
	case "updated_at":
		key = func(u *user) time.Time { return u.UpdatedAt }
	case "created_at":
	default:
		return
	}
	sort.SliceStable(us, func(i, j int) bool {
		if desc {
			return key(us[i]).After(key(us[j]))
		}
		return key(us[i]).Before(key(us[j]))
	})
}

// handleUserSearch answers GET /api/v2/users/search?query= (lagging index)
// or ?external_id= (exact lookup, no lag).
func (s *Server) handleUserSearch(c *call) {
	q := c.r.URL.Query()
	query, ext := q.Get("query"), q.Get("external_id")
	if query == "" && ext == "" {
		c.fail(errParameterMissing("query"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var found []*user
	if ext != "" {
		if u := s.userByExternalIDLocked(ext); u != nil {
			found = append(found, u)
		}
	} else {
		found = s.searchUsersLocked(parseQuery(query), s.clock.Now())
	}
	sortUsers(found, q)
	p := offsetPage(q, 100)
	if (p.number-1)*p.perPage >= 10000 {
		c.fail(&apiError{status: http.StatusBadRequest, body: classic{Error: "invalid",
			Description: "Invalid search: Requested response size was greater than Search Response Limits"}})
		return
	}
	from, to := p.bounds(len(found))
	out := make([]any, 0, to-from)
	for _, u := range found[from:to] {
		out = append(out, s.userJSON(c.base, u))
	}
	next, prev := p.links(c.base, c.r, len(found))
	c.json(http.StatusOK, map[string]any{"users": out, "next_page": next, "previous_page": prev, "count": len(found)})
}

// handleSearch answers GET /api/v2/search?query=type:user …; only users are
// indexed (other types give no results).
func (s *Server) handleSearch(c *call) {
	q := c.r.URL.Query()
	query := q.Get("query")
	if strings.TrimSpace(query) == "" {
		c.fail(errParameterMissing("query"))
		return
	}
	p := offsetPage(q, 100)
	if p.number*p.perPage > maxSearchResults {
		c.fail(&apiError{status: http.StatusUnprocessableEntity, body: classic{Error: "invalid",
			Description: fmt.Sprintf("Invalid search: Requested response size was greater than Search Response Limits (%d)", maxSearchResults)}})
		return
	}
	terms := parseQuery(query)
	onlyOther := false
	for _, t := range terms {
		if t.key == "type" && !strings.EqualFold(t.value, "user") {
			onlyOther = true
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var found []*user
	if !onlyOther {
		found = s.searchUsersLocked(terms, s.clock.Now())
	}
	sortUsers(found, q)
	from, to := p.bounds(len(found))
	out := make([]any, 0, to-from)
	for _, u := range found[from:to] {
		j := s.userJSON(c.base, u)
		j["result_type"] = "user"
		out = append(out, j)
	}
	next, prev := p.links(c.base, c.r, len(found))
	c.json(http.StatusOK, map[string]any{"results": out, "facets": nil, "next_page": next, "previous_page": prev,
		"count": len(found)})
}
