package main

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/deskbridge/deskbridge/config"
	"github.com/deskbridge/deskbridge/connectors"
	sbzendesk "github.com/deskbridge/deskbridge/sandbox/zendesk"
)

// onlineFake starts a Zendesk fake with the test account's schema: besides
// the built-in system fields, group, brand and form (sbzendesk.Builtin…),
// the ticket fields 360001 "WhatsApp number" (text), 360002 "VIP"
// (checkbox), 360003 "Tier" (tagger: tier_gold, tier_silver), 360004
// "Due" (date), 360005 "Legacy" (inactive), the user field "plan"
// (dropdown: pro, free), the group 500 "Billing" and the inactive brand
// 600 "Old".
func onlineFake(t *testing.T) *httptest.Server {
	t.Helper()
	fake := sbzendesk.New(sbzendesk.Options{Email: "bridge@acme.test", APIToken: "zd-token",
		TicketFields: []sbzendesk.TicketField{
			{ID: 360001, Title: "WhatsApp number"},
			{ID: 360002, Title: "VIP", Type: "checkbox"},
			{ID: 360003, Title: "Tier", Type: "tagger", Options: []sbzendesk.FieldOption{
				{Name: "Gold", Value: "tier_gold"}, {Name: "Silver", Value: "tier_silver"}}},
			{ID: 360004, Title: "Due", Type: "date"},
			{ID: 360005, Title: "Legacy", Inactive: true},
		},
		UserFields: []sbzendesk.UserField{{Key: "plan", Title: "Plan", Type: "dropdown",
			Options: []sbzendesk.FieldOption{{Name: "Pro", Value: "pro"}, {Name: "Free", Value: "free"}}}},
		Groups: []sbzendesk.Group{{ID: 500, Name: "Billing"}},
		Brands: []sbzendesk.Brand{{ID: 600, Name: "Old", Inactive: true}},
	})
	t.Cleanup(fake.Close)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	fake.SetBaseURL(srv.URL)
	return srv
}

// onlineConfig writes the example configuration with the Zendesk helpdesk
// "support" at baseURL, authenticated with token (helpdesk holds extra
// lines of the helpdesk, indented by 4), followed by tail (top-level YAML,
// such as a mapping section).
func onlineConfig(t *testing.T, baseURL, token, helpdesk, tail string) string {
	t.Helper()
	u, _ := sqliteURL(t)
	cfg := exampleConfig(t, u) + fmt.Sprintf(`      helpdesk: support
helpdesks:
  support:
    kind: zendesk
    base_url: %q
    email: "bridge@acme.test"
    api_token: %q
%s`, baseURL, token, helpdesk) + tail
	return writeFile(t, "online.yaml", cfg)
}

// validMapping uses every kind of reference the account has, correctly.
const validMapping = `mapping:
  contact:
    fields:
      plan: "'pro'"
  ticket:
    priority: "'high'"
    type: "message.type == 'text' ? 'question' : 'incident'"
    group: "'500'"
    custom_fields:
      "360001": "contact.phone"
      "360002": "true"
      "360003": "message.text.contains('vip') ? 'tier_gold' : 'tier_silver'"
      "360004": "'2026-12-31'"
  routing:
    - name: billing
      when: "message.text.contains('refund')"
      set:
        group: "'500'"
        priority: "'urgent'"
        custom_fields.360002: "false"
`

func TestConfigValidateOnline(t *testing.T) {
	t.Parallel()
	srv := onlineFake(t)
	const zdToken = "env://DESKBRIDGE_TEST_UNSET_ZD_TOKEN?default=zd-token"
	group, brand, form := sbzendesk.BuiltinGroupID, sbzendesk.BuiltinBrandID, sbzendesk.BuiltinFormID
	tests := []struct {
		name     string
		baseURL  string // default: the fake
		token    string // default: zdToken
		helpdesk string
		tail     string
		wantOut  []string // stdout lines, in order, when the exit code is 0
		want     []string // problem lines, in order, when it is 1
	}{
		{
			name:     "valid",
			helpdesk: fmt.Sprintf("    group_id: \"%d\"\n    brand_id: \"%d\"\n    ticket_form_id: \"%d\"\n", group, brand, form),
			tail:     validMapping,
			wantOut: []string{"{cfg}: valid",
				"{cfg}: helpdesk support (zendesk) matches the configuration (12 ticket fields, 1 user field, 2 groups, 2 brands, 1 ticket form)"},
		},
		{
			name: "no mapping",
			wantOut: []string{"{cfg}: valid",
				"{cfg}: helpdesk support (zendesk) matches the configuration (12 ticket fields, 1 user field, 2 groups, 2 brands, 1 ticket form)"},
		},
		{
			name: "unknown field ids",
			tail: `mapping:
  contact:
    fields:
      tier: "'gold'"
  ticket:
    custom_fields:
      "999": "'x'"
      vip: "true"
      "360001": "contact.name"
  routing:
    - name: r
      set:
        custom_fields.360009: "'x'"
`,
			want: []string{
				"mapping.contact.fields.tier: no such user field in helpdesk support",
				"mapping.ticket.custom_fields.999: no such ticket field in helpdesk support",
				`mapping.ticket.custom_fields.vip: no such ticket field in helpdesk support (did you mean 360002, "VIP"?)`,
				`mapping.routing[0].set["custom_fields.360009"]: no such ticket field in helpdesk support`,
			},
		},
		{
			name:     "wrong group, brand and form",
			helpdesk: "    group_id: \"42\"\n    brand_id: \"600\"\n    ticket_form_id: \"7\"\n",
			tail: `mapping:
  ticket:
    group: "message.text == '' ? '43' : 'Billing'"
    brand: "'601'"
  routing:
    - name: r
      set:
        form: "'8'"
`,
			want: []string{
				`helpdesks.support.brand_id: brand 600 ("Old") is inactive in helpdesk support`,
				"helpdesks.support.group_id: no such group 42 in helpdesk support",
				"helpdesks.support.ticket_form_id: no such ticket form 7 in helpdesk support",
				"mapping.ticket.group: no such group 43 in helpdesk support",
				`mapping.ticket.group: no such group "Billing" in helpdesk support (group "Billing" has id 500; the value must be the id)`,
				"mapping.ticket.brand: no such brand 601 in helpdesk support",
				"mapping.routing[0].set.form: no such ticket form 8 in helpdesk support",
			},
		},
		{
			name: "values that do not fit",
			tail: fmt.Sprintf(`mapping:
  contact:
    fields:
      plan: "'Pro'"
  ticket:
    priority: "'asap'"
    custom_fields:
      "360002": "'yes'"
      "360003": "'gold'"
      "360004": "'tomorrow'"
      "360005": "'x'"
      "%d": "'high'"
`, sbzendesk.BuiltinPriorityFieldID),
			want: []string{
				`mapping.contact.fields.plan: "Pro" is not an option of field "Plan" (pro, free); did you mean "pro"?`,
				`mapping.ticket.priority: "asap" is not a ticket priority of helpdesk support (low, normal, high, urgent)`,
				fmt.Sprintf(`mapping.ticket.custom_fields.%d: ticket field "Priority" is a system field (priority); custom fields cannot set it`,
					sbzendesk.BuiltinPriorityFieldID), // keys in string order
				`mapping.ticket.custom_fields.360002: field "VIP" is a checkbox; the expression gives string`,
				`mapping.ticket.custom_fields.360003: "gold" is not an option of field "Tier" (tier_gold, tier_silver)`,
				`mapping.ticket.custom_fields.360004: field "Due" is a date field; "tomorrow" is not a date (YYYY-MM-DD)`,
				`mapping.ticket.custom_fields.360005: ticket field "Legacy" is inactive in helpdesk support`,
			},
		},
		{
			name: "computed values of the wrong type",
			tail: `mapping:
  ticket:
    custom_fields:
      "360002": "contact.name"
      "360004": "message.media_size"
      "360001": "dyn(contact.name)"
`,
			want: []string{
				`mapping.ticket.custom_fields.360002: field "VIP" is a checkbox; the expression gives string`,
				`mapping.ticket.custom_fields.360004: field "Due" is a date field; the expression gives int`,
			},
		},
		{
			name:  "rejected token",
			token: "env://DESKBRIDGE_TEST_UNSET_ZD_TOKEN?default=wrong-token",
			tail:  validMapping,
			want: []string{"helpdesks.support: {url} rejected the credentials (HTTP 401: Couldn't authenticate you); " +
				"check email and api_token"},
		},
		{
			name:    "unreachable",
			baseURL: "http://127.0.0.1:1",
			want:    []string{"helpdesks.support: cannot reach http://127.0.0.1:1: "},
		},
		{
			name:  "unset secret",
			token: "env://DESKBRIDGE_TEST_UNSET_ZD_TOKEN",
			want:  []string{"helpdesks.support.api_token: cannot read the secret: env://DESKBRIDGE_TEST_UNSET_ZD_TOKEN: "},
		},
		{
			name:  "vault secret",
			token: "vault://secret/zendesk#token",
			tail:  "vault:\n  address: \"https://vault.acme.test:8200\"\n  auth:\n    method: token\n    token: \"env://VAULT_TOKEN\"\n",
			want: []string{"helpdesks.support.api_token: vault:// secrets are read by serve only, " +
				"so helpdesk support cannot be checked online; use env:// or file:// for this check"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			base := tc.baseURL
			if base == "" {
				base = srv.URL
			}
			token := tc.token
			if token == "" {
				token = zdToken
			}
			cfg := onlineConfig(t, base, token, tc.helpdesk, tc.tail)
			code, out, errOut := runCmd(t, "config", "validate", "--online", "--config", cfg)
			checkNoPanic(t, out+errOut)
			expand := func(s string) string {
				return strings.NewReplacer("{cfg}", cfg, "{url}", srv.URL).Replace(s)
			}
			if tc.want == nil {
				if code != 0 || errOut != "" {
					t.Fatalf("exit %d, want 0; stderr:\n%s", code, errOut)
				}
				var want []string
				for _, l := range tc.wantOut {
					want = append(want, expand(l))
				}
				if got := nonEmptyLines(out); !slices.Equal(got, want) {
					t.Errorf("stdout:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
				return
			}
			if code != 1 || out != "" {
				t.Fatalf("exit %d, stdout %q; want 1 and nothing on stdout; stderr:\n%s", code, out, errOut)
			}
			lines := nonEmptyLines(errOut)
			header := fmt.Sprintf("deskbridge: invalid configuration %s (%s found online):", cfg, count(len(tc.want), "problem"))
			if len(lines) != len(tc.want)+1 || lines[0] != header {
				t.Fatalf("stderr:\n%s\nwant the header %q and %d problems", errOut, header, len(tc.want))
			}
			for i, w := range tc.want {
				if w = expand(w); !strings.HasPrefix(lines[i+1], w) {
					t.Errorf("problem %d = %q, want %q", i, lines[i+1], w)
				}
			}
		})
	}
}

// TestConfigValidateWithoutOnline: without --online, nothing is read from
// the helpdesk and nothing changes, even when the mapping names ids the
// account lacks.
func TestConfigValidateWithoutOnline(t *testing.T) {
	t.Parallel()
	cfg := onlineConfig(t, "http://127.0.0.1:1", "env://DESKBRIDGE_TEST_UNSET_ZD_TOKEN?default=zd-token",
		"    group_id: \"42\"\n", "mapping:\n  ticket:\n    custom_fields:\n      \"999\": \"'x'\"\n")
	code, out, errOut := runCmd(t, "config", "validate", "--config", cfg)
	if code != 0 || out != cfg+": valid\n" || errOut != "" {
		t.Errorf("exit %d, stdout %q, stderr %q; want 0 and %q", code, out, errOut, cfg+": valid\n")
	}
}

// TestConfigValidateOnlineNoHelpdesk: a configuration whose numbers use no
// helpdesk has nothing to check online.
func TestConfigValidateOnlineNoHelpdesk(t *testing.T) {
	t.Parallel()
	code, out, errOut := runCmd(t, "config", "validate", "--online", "--config", examplePath)
	want := examplePath + ": valid\n" + examplePath + ": no helpdesk to check online: no whatsapp.numbers[].helpdesk is set\n"
	if code != 0 || out != want || errOut != "" {
		t.Errorf("exit %d, stdout %q, stderr %q; want 0 and %q", code, out, errOut, want)
	}
}

func TestLiterals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src      string
		want     []string
		complete bool
	}{
		{"'42'", []string{"string 42"}, true},
		{"42", []string{"int 42"}, true},
		{"-3", []string{"int -3"}, true},
		{"2.5", []string{"double 2.5"}, true},
		{"true", []string{"bool true"}, true},
		{"null", []string{"null_type NULL_VALUE"}, true},
		{"c ? 'a' : (d ? 'b' : 'c')", []string{"string a", "string b", "string c"}, true},
		{"c ? 'a' : contact.name", []string{"string a"}, false},
		{"contact.name", nil, false},
		{"lower('A')", nil, false},
		{"contact.?name.orValue('x')", nil, false},
		{"(", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.src, func(t *testing.T) {
			vals, complete := literals(tc.src)
			var got []string
			for _, v := range vals {
				got = append(got, fmt.Sprintf("%s %v", v.Type().TypeName(), v.Value()))
			}
			if !slices.Equal(got, tc.want) || complete != tc.complete {
				t.Errorf("literals(%q) = %q, %t; want %q, %t", tc.src, got, complete, tc.want, tc.complete)
			}
		})
	}
}

func TestSchemaError(t *testing.T) {
	t.Parallel()
	h := config.Helpdesk{BaseURL: "https://acme.zendesk.com"}
	oauth := config.Helpdesk{BaseURL: "https://acme.zendesk.com", OAuthToken: "env://ZD_OAUTH"}
	refused := &url.Error{Op: "Get", URL: "https://acme.zendesk.com/api/v2/groups", Err: errors.New("dial tcp: connection refused")}
	tests := []struct {
		name string
		h    config.Helpdesk
		err  error
		want string
	}{
		{"401", h, &connectors.Error{Kind: connectors.Auth, Vendor: "zendesk", Op: "list_ticket_fields", Status: 401,
			Message: "Couldn't authenticate you"},
			"helpdesks.x: https://acme.zendesk.com rejected the credentials (HTTP 401: Couldn't authenticate you); check email and api_token"},
		{"401 oauth", oauth, &connectors.Error{Kind: connectors.Auth, Op: "list_ticket_fields", Status: 401, Message: "Unauthorized"},
			"helpdesks.x: https://acme.zendesk.com rejected the credentials (HTTP 401: Unauthorized); check oauth_token"},
		{"403", h, &connectors.Error{Kind: connectors.Auth, Op: "list_brands", Status: 403, Code: "Forbidden", Message: "You do not have access"},
			"helpdesks.x: the API user may not list brands (HTTP 403: You do not have access); it needs an agent or admin role"},
		{"rate limited", h, &connectors.Error{Kind: connectors.RateLimited, Op: "list_groups", Status: 429, Wait: 42 * time.Second},
			"helpdesks.x: https://acme.zendesk.com is rate-limiting the API user; try again in 42s"},
		{"network", h, &connectors.Error{Kind: connectors.Retryable, Op: "list_groups", Err: refused},
			"helpdesks.x: cannot reach https://acme.zendesk.com: dial tcp: connection refused"},
		{"server error", h, &connectors.Error{Kind: connectors.Retryable, Vendor: "zendesk", Op: "list_user_fields", Status: 503,
			Message: "Service Unavailable"},
			"helpdesks.x: cannot list user fields: zendesk: list_user_fields: retryable (HTTP 503): Service Unavailable"},
		{"other error", h, errors.New("boom\nagain"), "helpdesks.x: cannot read the account: boom again"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := schemaError("helpdesks.x", tc.h, tc.err)
			if !strings.HasPrefix(got, tc.want) || strings.Contains(got, "\n") {
				t.Errorf("got  %q\nwant %q…", got, tc.want)
			}
		})
	}
}
