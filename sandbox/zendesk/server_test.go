package zendesk

import (
	"encoding/base64"
	"net/http"
	"testing"
)

func TestAuthentication(t *testing.T) {
	t.Parallel()
	b := setup(t)
	basic := func(user, pass string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	}
	tests := []struct {
		name       string
		auth       string
		wantStatus int
	}{
		{"api token", basicAuth, http.StatusOK},
		{"api token, email in other case", basic("BOT@acme.test/token", testToken), http.StatusOK},
		{"oauth bearer", "Bearer " + testOAuth, http.StatusOK},
		{"missing", "", http.StatusUnauthorized},
		{"wrong token", basic(testEmail+"/token", "nope"), http.StatusUnauthorized},
		{"wrong email", basic("other@acme.test/token", testToken), http.StatusUnauthorized},
		{"password access (disabled)", basic(testEmail, testToken), http.StatusUnauthorized},
		{"wrong bearer", "Bearer nope", http.StatusUnauthorized},
		{"garbage", "Basic !!!", http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := b.doWith(t, http.MethodGet, "/api/v2/users/me.json", nil, func(req *http.Request) {
				req.Header.Del("Authorization")
				if tc.auth != "" {
					req.Header.Set("Authorization", tc.auth)
				}
			}).want(t, tc.wantStatus)
			if tc.wantStatus == http.StatusUnauthorized {
				if string(r.raw) != `{"error":"Couldn't authenticate you"}` {
					t.Fatalf("401 body = %s", r.raw)
				}
				return
			}
			if num(r.body, "user", "id") != b.fake.APIUserID() || str(r.body, "user", "role") != "admin" ||
				str(r.body, "user", "name") != APIUserName {
				t.Fatalf("me = %s", r.raw)
			}
		})
	}
}

func TestRevokedCredentials(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.fake.RevokeAuth(true)
	b.do(t, http.MethodGet, "/api/v2/users/me", nil).wantError(t, http.StatusUnauthorized, "Couldn't authenticate you", "")
	b.fake.RevokeAuth(false)
	b.do(t, http.MethodGet, "/api/v2/users/me", nil).want(t, http.StatusOK)
}

func TestRoutingAndErrorBodies(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		name       string
		method     string
		path       string
		body       any
		wantStatus int
		wantErr    string
		wantDesc   string
	}{
		{"unknown path", http.MethodGet, "/api/v2/nothing.json", nil, 404, "InvalidEndpoint", "Not found"},
		{"outside the api", http.MethodGet, "/hc/en-us", nil, 404, "InvalidEndpoint", "Not found"},
		{"wrong method", http.MethodDelete, "/api/v2/users/me", nil, 404, "InvalidEndpoint", "Not found"},
		{"unknown user", http.MethodGet, "/api/v2/users/999.json", nil, 404, "RecordNotFound", "Not found"},
		{"non-numeric id", http.MethodGet, "/api/v2/tickets/abc", nil, 404, "RecordNotFound", "Not found"},
		{"unknown ticket", http.MethodGet, "/api/v2/tickets/999", nil, 404, "RecordNotFound", "Not found"},
		{"missing root", http.MethodPost, "/api/v2/users.json", map[string]any{"name": "x"}, 400, "ParameterMissing", "Parameter user is required"},
		{"empty body", http.MethodPost, "/api/v2/tickets.json", "", 400, "ParameterMissing", "Parameter ticket is required"},
		{"bad json", http.MethodPost, "/api/v2/tickets.json", "{nope", 400, "Unprocessable Entity", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := b.do(t, tc.method, tc.path, tc.body)
			r.wantError(t, tc.wantStatus, tc.wantErr, "")
			if tc.wantDesc != "" && str(r.body, "description") != tc.wantDesc {
				t.Fatalf("description = %q, want %q", str(r.body, "description"), tc.wantDesc)
			}
		})
	}
}

func TestJSONSuffixIsOptional(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id := b.createUser(t, map[string]any{"name": "Ana"})
	for _, p := range []string{"/api/v2/users/", "/api/v2/users/"} {
		a := b.do(t, http.MethodGet, p+itoa(id), nil).want(t, http.StatusOK)
		j := b.do(t, http.MethodGet, p+itoa(id)+".json", nil).want(t, http.StatusOK)
		if string(a.raw) != string(j.raw) {
			t.Fatalf("answers differ:\n%s\n%s", a.raw, j.raw)
		}
	}
}

func TestTypeErrorIsRecordInvalid(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.do(t, http.MethodPost, "/api/v2/users", `{"user":{"name":5}}`).wantError(t, 422, "RecordInvalid", "name")
}
