package zendesk

import (
	"net/http"
	"reflect"
	"testing"

	"github.com/jarcoal/httpmock"

	"github.com/deskbridge/deskbridge/connectors"
)

const (
	extID  = "whatsapp:+34600111222"
	phone1 = "+34600111222"
	phone2 = "+346001112220" // an alternative form
)

var (
	showMany   = want{method: "GET", path: "/api/v2/users/show_many.json", query: q("external_ids", extID)}
	search1    = want{method: "GET", path: "/api/v2/users/search.json", query: q("query", "phone:"+phone1)}
	search2    = want{method: "GET", path: "/api/v2/users/search.json", query: q("query", "phone:"+phone2)}
	createUser = want{method: "POST", path: "/api/v2/users/create_or_update.json", body: `{"user":{"name":"Ana",
		"external_id":"whatsapp:+34600111222","phone":"+34600111222","skip_verify_email":true,"verified":false,
		"role":"end-user","identities":[{"type":"phone_number","value":"+34600111222"}]}}`}
)

func TestFindOrCreateContact(t *testing.T) {
	t.Parallel()
	const (
		userAna   = `{"id":7,"name":"Ana","phone":"+34600111222","external_id":"whatsapp:+34600111222","role":"end-user"}`
		userNoExt = `{"id":8,"name":"Ana","phone":"+34600111222","external_id":null,"role":"end-user","created_at":"2024-01-02T00:00:00Z"}`
	)
	ref := func(id, ext string) connectors.ContactRef {
		return connectors.ContactRef{Vendor: "zendesk", Account: "acme", ID: id, ExternalID: ext}
	}
	tests := []struct {
		name   string
		params connectors.ContactParams
		routes func(b *testBundle)
		want   connectors.ContactResult
		reqs   []want
	}{
		{
			name:   "exact by external id",
			params: connectors.ContactParams{ExternalID: extID, Phone: phone1, Name: "Ana"},
			routes: func(b *testBundle) { b.on("GET", "/api/v2/users/show_many.json", ok(`{"users":[`+userAna+`]}`)) },
			want:   connectors.ContactResult{Contact: ref("7", extID), Match: connectors.MatchExact},
			reqs:   []want{showMany},
		},
		{
			name:   "exact, external id in another case",
			params: connectors.ContactParams{ExternalID: extID, Phone: phone1, Name: "Ana"},
			routes: func(b *testBundle) {
				b.on("GET", "/api/v2/users/show_many.json", ok(`{"users":[{"id":7,"name":"Ana","external_id":"WhatsApp:+34600111222"}]}`))
			},
			want: connectors.ContactResult{Contact: ref("7", "WhatsApp:+34600111222"), Match: connectors.MatchExact},
			reqs: []want{showMany},
		},
		{
			name:   "exact with a new profile name",
			params: connectors.ContactParams{ExternalID: extID, Phone: phone1, Name: "Ana G."},
			routes: func(b *testBundle) {
				b.on("GET", "/api/v2/users/show_many.json", ok(`{"users":[`+userAna+`]}`))
				b.on("PUT", "/api/v2/users/7", ok(`{"user":{"id":7,"name":"Ana G."}}`))
			},
			want: connectors.ContactResult{Contact: ref("7", extID), Match: connectors.MatchExact, NameUpdated: true},
			reqs: []want{showMany, {method: "PUT", path: "/api/v2/users/7", body: `{"user":{"name":"Ana G."}}`}},
		},
		{
			name:   "rename throttled (429 plain text) is not a failure",
			params: connectors.ContactParams{ExternalID: extID, Phone: phone1, Name: "Ana G."},
			routes: func(b *testBundle) {
				b.on("GET", "/api/v2/users/show_many.json", ok(`{"users":[`+userAna+`]}`))
				b.on("PUT", "/api/v2/users/7", reply{status: 429, header: []string{"Retry-After", "12"},
					body: "You have exceeded the rate limit for updating a single unique user. Please retry in a minute."})
			},
			want: connectors.ContactResult{Contact: ref("7", extID), Match: connectors.MatchExact},
			reqs: []want{showMany, {method: "PUT", path: "/api/v2/users/7", body: `{"user":{"name":"Ana G."}}`}},
		},
		{
			name:   "empty profile name leaves the name alone",
			params: connectors.ContactParams{ExternalID: extID, Phone: phone1},
			routes: func(b *testBundle) { b.on("GET", "/api/v2/users/show_many.json", ok(`{"users":[`+userAna+`]}`)) },
			want:   connectors.ContactResult{Contact: ref("7", extID), Match: connectors.MatchExact},
			reqs:   []want{showMany},
		},
		{
			name:   "alias by phone gets the external id",
			params: connectors.ContactParams{ExternalID: extID, Phone: phone1, Name: "Ana"},
			routes: func(b *testBundle) {
				b.on("GET", "/api/v2/users/show_many.json", ok(`{"users":[]}`))
				b.on("GET", "/api/v2/users/search.json", ok(`{"users":[`+userNoExt+`],"count":1}`))
				b.on("PUT", "/api/v2/users/8", ok(`{"user":{"id":8}}`))
			},
			want: connectors.ContactResult{Contact: ref("8", extID), Match: connectors.MatchAlias},
			reqs: []want{showMany, search1, {method: "PUT", path: "/api/v2/users/8", body: `{"user":{"external_id":"whatsapp:+34600111222"}}`}},
		},
		{
			name:   "alias renamed and given the external id in one update",
			params: connectors.ContactParams{ExternalID: extID, Phone: phone1, Name: "Ana G."},
			routes: func(b *testBundle) {
				b.on("GET", "/api/v2/users/show_many.json", ok(`{"users":[]}`))
				b.on("GET", "/api/v2/users/search.json", ok(`{"users":[`+userNoExt+`]}`))
				b.on("PUT", "/api/v2/users/8", ok(`{"user":{"id":8}}`))
			},
			want: connectors.ContactResult{Contact: ref("8", extID), Match: connectors.MatchAlias, NameUpdated: true},
			reqs: []want{showMany, search1, {method: "PUT", path: "/api/v2/users/8",
				body: `{"user":{"name":"Ana G.","external_id":"whatsapp:+34600111222"}}`}},
		},
		{
			name:   "alias keeps another system's external id",
			params: connectors.ContactParams{ExternalID: extID, Phone: phone1, Name: "Ana"},
			routes: func(b *testBundle) {
				b.on("GET", "/api/v2/users/show_many.json", ok(`{"users":[]}`))
				b.on("GET", "/api/v2/users/search.json", ok(`{"users":[{"id":9,"name":"Ana","phone":"+34 600 111 222","external_id":"crm-99"}]}`))
			},
			want: connectors.ContactResult{Contact: ref("9", "crm-99"), Match: connectors.MatchAlias},
			reqs: []want{showMany, search1},
		},
		{
			name:   "alias by an alternative phone",
			params: connectors.ContactParams{ExternalID: extID, Phone: phone1, AltPhones: []string{phone2, phone1}, Name: "Ana"},
			routes: func(b *testBundle) {
				b.on("GET", "/api/v2/users/show_many.json", ok(`{"users":[]}`))
				b.mock.RegisterResponderWithQuery("GET", testBase+"/api/v2/users/search.json", q("query", "phone:"+phone1),
					recordAnd(b, ok(`{"users":[]}`)))
				b.mock.RegisterResponderWithQuery("GET", testBase+"/api/v2/users/search.json", q("query", "phone:"+phone2),
					recordAnd(b, ok(`{"users":[{"id":10,"name":"Ana","phone":"+346001112220","external_id":null}]}`)))
				b.on("PUT", "/api/v2/users/10", ok(`{"user":{"id":10}}`))
			},
			want: connectors.ContactResult{Contact: ref("10", extID), Match: connectors.MatchAlias},
			reqs: []want{showMany, search1, search2, {method: "PUT", path: "/api/v2/users/10", body: `{"user":{"external_id":"whatsapp:+34600111222"}}`}},
		},
		{
			name:   "ambiguous: the one whose primary phone is Phone first",
			params: connectors.ContactParams{ExternalID: extID, Phone: phone1, Name: "Ana"},
			routes: func(b *testBundle) {
				b.on("GET", "/api/v2/users/show_many.json", ok(`{"users":[]}`))
				b.on("GET", "/api/v2/users/search.json", ok(`{"users":[
					{"id":11,"name":"Ana old","phone":null,"created_at":"2019-01-01T00:00:00Z"},
					{"id":12,"name":"Ana","phone":"+34600111222","created_at":"2023-01-01T00:00:00Z"}]}`))
			},
			want: connectors.ContactResult{Contact: ref("12", ""), Match: connectors.MatchAmbiguous,
				Candidates: []connectors.ContactRef{ref("12", ""), ref("11", "")}},
			reqs: []want{showMany, search1},
		},
		{
			name:   "ambiguous: then the oldest",
			params: connectors.ContactParams{ExternalID: extID, Phone: phone1, AltPhones: []string{phone2}, Name: "Ana"},
			routes: func(b *testBundle) {
				b.on("GET", "/api/v2/users/show_many.json", ok(`{"users":[]}`))
				b.mock.RegisterResponderWithQuery("GET", testBase+"/api/v2/users/search.json", q("query", "phone:"+phone1),
					recordAnd(b, ok(`{"users":[{"id":21,"phone":"","created_at":"2022-05-01T00:00:00Z"}]}`)))
				b.mock.RegisterResponderWithQuery("GET", testBase+"/api/v2/users/search.json", q("query", "phone:"+phone2),
					recordAnd(b, ok(`{"users":[{"id":22,"phone":"+346001112220","created_at":"2020-05-01T00:00:00Z"},{"id":21}]}`)))
			},
			want: connectors.ContactResult{Contact: ref("22", ""), Match: connectors.MatchAmbiguous,
				Candidates: []connectors.ContactRef{ref("22", ""), ref("21", "")}},
			reqs: []want{showMany, search1, search2},
		},
		{
			name:   "a search hit on another number is ignored",
			params: connectors.ContactParams{ExternalID: extID, Phone: phone1, Name: "Ana"},
			routes: func(b *testBundle) {
				b.on("GET", "/api/v2/users/show_many.json", ok(`{"users":[]}`))
				b.on("GET", "/api/v2/users/search.json", ok(`{"users":[{"id":30,"phone":"+34600111229"}]}`))
				b.on("POST", "/api/v2/users/create_or_update.json", reply{status: 201, body: `{"user":{"id":31,"external_id":"whatsapp:+34600111222"}}`})
			},
			want: connectors.ContactResult{Contact: ref("31", extID), Match: connectors.MatchCreated},
			reqs: []want{showMany, search1, createUser},
		},
		{
			name:   "created",
			params: connectors.ContactParams{ExternalID: extID, Phone: phone1, Name: "Ana"},
			routes: func(b *testBundle) {
				b.on("GET", "/api/v2/users/show_many.json", ok(`{"users":[]}`))
				b.on("GET", "/api/v2/users/search.json", ok(`{"users":[]}`))
				b.on("POST", "/api/v2/users/create_or_update.json", reply{status: 201, body: payload(t, "go-zendesk__POST_users.json")})
			},
			want: connectors.ContactResult{Contact: ref("369895320554", extID), Match: connectors.MatchCreated},
			reqs: []want{showMany, search1, createUser},
		},
		{
			name:   "existed on create (200)",
			params: connectors.ContactParams{ExternalID: extID, Phone: phone1, Name: "Ana"},
			routes: func(b *testBundle) {
				b.on("GET", "/api/v2/users/show_many.json", ok(`{"users":[]}`))
				b.on("GET", "/api/v2/users/search.json", ok(`{"users":[]}`))
				b.on("POST", "/api/v2/users/create_or_update.json", ok(`{"user":`+userAna+`}`))
			},
			want: connectors.ContactResult{Contact: ref("7", extID), Match: connectors.MatchExact},
			reqs: []want{showMany, search1, createUser},
		},
		{
			name:   "no phone: no search, no phone identity",
			params: connectors.ContactParams{ExternalID: "whatsapp:bsuid:US.13491208655302741918"},
			routes: func(b *testBundle) {
				b.on("GET", "/api/v2/users/show_many.json", ok(`{"users":[]}`))
				b.on("POST", "/api/v2/users/create_or_update.json", reply{status: 201, body: `{"user":{"id":40}}`})
			},
			want: connectors.ContactResult{Contact: ref("40", "whatsapp:bsuid:US.13491208655302741918"), Match: connectors.MatchCreated},
			reqs: []want{
				{method: "GET", path: "/api/v2/users/show_many.json", query: q("external_ids", "whatsapp:bsuid:US.13491208655302741918")},
				{method: "POST", path: "/api/v2/users/create_or_update.json", body: `{"user":{"name":"whatsapp:bsuid:US.13491208655302741918",
					"external_id":"whatsapp:bsuid:US.13491208655302741918","skip_verify_email":true,"verified":false,"role":"end-user"}}`},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, nil)
			tc.routes(b)
			got, err := b.client.FindOrCreateContact(t.Context(), &tc.params)
			if err != nil {
				t.Fatalf("FindOrCreateContact: %v", err)
			}
			if !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("result = %+v\nwant     %+v", *got, tc.want)
			}
			checkRequests(t, b, basicAuth, tc.reqs...)
		})
	}
}

// recordAnd wraps a reply as a responder that records the request.
func recordAnd(b *testBundle, r reply) func(*http.Request) (*http.Response, error) {
	return func(req *http.Request) (*http.Response, error) {
		b.rec.record(req)
		resp := httpmock.NewStringResponse(r.status, r.body)
		resp.Header.Set("Content-Type", "application/json")
		return resp, nil
	}
}

func TestFindOrCreateContactInvalid(t *testing.T) {
	t.Parallel()
	tests := map[string]connectors.ContactParams{
		"no external id":       {Phone: phone1},
		"comma in external id": {ExternalID: "a,b", Phone: phone1},
		"phone without plus":   {ExternalID: extID, Phone: "34600111222"},
		"phone with letters":   {ExternalID: extID, Phone: "+3460011abc"},
		"bad alternative":      {ExternalID: extID, Phone: phone1, AltPhones: []string{"600"}},
		"alternative only":     {ExternalID: extID, AltPhones: []string{phone2}},
	}
	for name, p := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, nil)
			_, err := b.client.FindOrCreateContact(t.Context(), &p)
			if ce := asError(t, err); ce.Kind != connectors.Permanent {
				t.Errorf("error = %v, want Permanent", err)
			}
			checkRequests(t, b, "")
		})
	}
}

func TestFindOrCreateContactErrors(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.on("GET", "/api/v2/users/show_many.json", reply{status: 401, body: `{"error":"Couldn't authenticate you"}`})
	_, err := b.client.FindOrCreateContact(t.Context(), &connectors.ContactParams{ExternalID: extID, Phone: phone1})
	if ce := asError(t, err); ce.Kind != connectors.Auth || ce.Permanent() {
		t.Errorf("401 = %v, want Auth (not permanent)", err)
	}
}

func TestAPIUserID(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.on("GET", "/api/v2/users/me.json", ok(`{"user":{"id":5,"role":"admin"}}`))
	for range 2 {
		id, err := b.client.APIUserID(t.Context())
		if err != nil || id != "5" {
			t.Fatalf("APIUserID = %q, %v", id, err)
		}
	}
	checkRequests(t, b, basicAuth, want{method: "GET", path: "/api/v2/users/me.json"}) // cached

	anon := setup(t, nil)
	anon.on("GET", "/api/v2/users/me.json", ok(`{"user":{"id":null,"role":"end-user"}}`))
	if _, err := anon.client.APIUserID(t.Context()); connectors.KindOf(err) != connectors.Auth {
		t.Errorf("anonymous identity = %v, want Auth", err)
	}
}
