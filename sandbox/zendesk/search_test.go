package zendesk

import (
	"net/http"
	"net/url"
	"testing"
	"time"
)

func TestSearchLag(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *Options) { o.SearchLag = 2 * time.Minute })
	id := b.createUser(t, map[string]any{"name": "Ana", "phone": "+34600111222", "external_id": "whatsapp:+34600111222"})
	searches := []string{
		"/api/v2/users/search.json?query=" + url.QueryEscape("phone:+34600111222"),
		"/api/v2/search.json?query=" + url.QueryEscape("type:user phone:+34600111222"),
	}
	count := func(path string) int64 {
		r := b.do(t, http.MethodGet, path, nil).want(t, http.StatusOK)
		return num(r.body, "count")
	}
	for _, p := range searches {
		if n := count(p); n != 0 {
			t.Fatalf("%s found %d users before the index caught up", p, n)
		}
	}
	// Exact lookups do not lag.
	if n := count("/api/v2/users/search.json?external_id=whatsapp:%2B34600111222"); n != 1 {
		t.Fatalf("external_id lookup found %d", n)
	}
	r := b.do(t, http.MethodGet, "/api/v2/users/show_many?external_ids=whatsapp:%2B34600111222", nil)
	if len(list(r.body, "users")) != 1 {
		t.Fatalf("show_many = %s", r.raw)
	}
	b.fake.AdvanceClock(2 * time.Minute)
	for _, p := range searches {
		r := b.do(t, http.MethodGet, p, nil).want(t, http.StatusOK)
		if num(r.body, "count") != 1 {
			t.Fatalf("%s after the lag: %s", p, r.raw)
		}
	}
	r = b.do(t, http.MethodGet, searches[1], nil)
	if num(r.body, "results", 0, "id") != id || str(r.body, "results", 0, "result_type") != "user" {
		t.Fatalf("result = %s", r.raw)
	}
}

func TestUserSearchQueries(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ana := b.createUser(t, map[string]any{"name": "Ana Lopez", "phone": "+34 600 111 222", "email": "ana@acme.test"})
	bea := b.createUser(t, map[string]any{"name": "Bea Lopez", "identities": []any{map[string]any{"type": "phone_number", "value": "+34600333444"}}})
	tests := []struct {
		name    string
		query   string
		wantIDs []int64
	}{
		{"phone, other formatting", "phone:+34600111222", []int64{ana}},
		{"phone identity", "phone:+34600333444", []int64{bea}},
		{"quoted phone", `phone:"+34 600 111 222"`, []int64{ana}},
		{"free text name", "lopez", []int64{ana, bea}},
		{"free text and type", "type:user bea", []int64{bea}},
		{"email", "email:ANA@acme.test", []int64{ana}},
		{"name key", "name:ana", []int64{ana}},
		{"negation", "lopez -name:ana", []int64{bea}},
		{"no match", "phone:+1555", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := b.do(t, http.MethodGet, "/api/v2/users/search?query="+url.QueryEscape(tc.query), nil).want(t, http.StatusOK)
			users := list(r.body, "users")
			if len(users) != len(tc.wantIDs) || num(r.body, "count") != int64(len(tc.wantIDs)) {
				t.Fatalf("found %s, want %v", r.raw, tc.wantIDs)
			}
			for i, id := range tc.wantIDs {
				if num(users[i], "id") != id {
					t.Fatalf("user %d = %d, want %d", i, num(users[i], "id"), id)
				}
			}
		})
	}
	b.do(t, http.MethodGet, "/api/v2/users/search", nil).wantError(t, 400, "ParameterMissing", "")
}

func TestSearchPaging(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, n := range []string{"Lopez A", "Lopez B", "Lopez C"} {
		b.createUser(t, map[string]any{"name": n})
	}
	q := "/api/v2/search.json?query=" + url.QueryEscape("type:user lopez")
	r := b.do(t, http.MethodGet, q+"&per_page=2", nil).want(t, http.StatusOK)
	if len(list(r.body, "results")) != 2 || num(r.body, "count") != 3 || r.body["previous_page"] != nil {
		t.Fatalf("page 1 = %s", r.raw)
	}
	next, err := url.Parse(str(r.body, "next_page"))
	if err != nil || next.Query().Get("page") != "2" {
		t.Fatalf("next_page = %q", str(r.body, "next_page"))
	}
	r = b.do(t, http.MethodGet, next.RequestURI(), nil).want(t, http.StatusOK)
	if len(list(r.body, "results")) != 1 || r.body["next_page"] != nil || str(r.body, "results", 0, "name") != "Lopez C" {
		t.Fatalf("page 2 = %s", r.raw)
	}
	tests := []struct {
		name       string
		path       string
		wantStatus int
		wantErr    string
	}{
		{"past 1000 results", q + "&page=11&per_page=100", 422, "invalid"},
		{"no query", "/api/v2/search.json", 400, "ParameterMissing"},
		{"tickets are not indexed", "/api/v2/search.json?query=type:ticket", 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := b.do(t, http.MethodGet, tc.path, nil)
			if tc.wantErr == "" {
				r.want(t, tc.wantStatus)
				if num(r.body, "count") != 0 {
					t.Fatalf("answer = %s", r.raw)
				}
				return
			}
			r.wantError(t, tc.wantStatus, tc.wantErr, "")
		})
	}
}
