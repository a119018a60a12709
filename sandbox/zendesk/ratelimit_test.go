package zendesk

import (
	"net/http"
	"testing"
	"time"
)

func TestAccountRateLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		plain     bool
		wantBody  string
		wantError string
	}{
		{"json body", false, "", "TooManyRequests"},
		{"plain body", true, "Rate limit exceeded", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, func(o *Options) { o.RequestsPerMinute = 3 })
			if tc.plain {
				l := b.fake.Limits()
				l.Plain429 = true
				b.fake.SetLimits(l)
			}
			for i, want := range []string{"2", "1", "0"} {
				r := b.do(t, http.MethodGet, "/api/v2/users/me", nil).want(t, http.StatusOK)
				for _, h := range []string{"X-Rate-Limit-Remaining", "ratelimit-remaining"} {
					if r.header.Get(h) != want {
						t.Fatalf("request %d: %s = %q, want %s", i, h, r.header.Get(h), want)
					}
				}
				if r.header.Get("X-Rate-Limit") != "3" || r.header.Get("ratelimit-limit") != "3" || r.header.Get("ratelimit-reset") == "" {
					t.Fatalf("headers = %v", r.header)
				}
			}
			r := b.do(t, http.MethodGet, "/api/v2/users/me", nil).want(t, http.StatusTooManyRequests)
			if r.header.Get("Retry-After") != "20" || r.header.Get("X-Rate-Limit-Remaining") != "0" || r.header.Get("ratelimit-reset") != "60" {
				t.Fatalf("429 headers = %v", r.header)
			}
			if tc.plain && string(r.raw) != tc.wantBody {
				t.Fatalf("body = %q", r.raw)
			}
			if !tc.plain && (str(r.body, "error") != tc.wantError || str(r.body, "description") == "") {
				t.Fatalf("body = %s", r.raw)
			}
			// Control calls and failed credentials do not spend the budget.
			b.fake.AdvanceClock(20 * time.Second)
			b.doWith(t, http.MethodGet, "/api/v2/users/me", nil, func(r *http.Request) { r.Header.Del("Authorization") }).
				want(t, http.StatusUnauthorized)
			b.do(t, http.MethodGet, "/api/v2/users/me", nil).want(t, http.StatusOK)
			b.do(t, http.MethodGet, "/api/v2/users/me", nil).want(t, http.StatusTooManyRequests)
		})
	}
}

func TestRateLimitControls(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := b.do(t, http.MethodGet, "/api/v2/users/me", nil).want(t, http.StatusOK)
	if r.header.Get("X-Rate-Limit") != "700" || r.header.Get("X-Rate-Limit-Remaining") != "699" {
		t.Fatalf("default headers = %v", r.header)
	}
	b.fake.ExhaustRateLimit()
	b.do(t, http.MethodGet, "/api/v2/users/me", nil).want(t, http.StatusTooManyRequests)
	b.fake.SetLimits(Limits{RequestsPerMinute: 0})
	r = b.do(t, http.MethodGet, "/api/v2/users/me", nil).want(t, http.StatusOK)
	if r.header.Get("X-Rate-Limit") != "" {
		t.Fatalf("unlimited still sends headers: %v", r.header)
	}
	u := setup(t, func(o *Options) { o.RequestsPerMinute = Unlimited })
	for range 3 {
		u.do(t, http.MethodGet, "/api/v2/users/me", nil).want(t, http.StatusOK)
	}
}
