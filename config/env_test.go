package config

import (
	"reflect"
	"slices"
	"testing"
	"time"
)

// envFileYAML is validYAML plus a helpdesk whose name has a dash.
const envFileYAML = validYAML + `
  support-eu:
    kind: freshdesk
    base_url: https://acme-eu.freshdesk.com
    api_token: env://FD_TOKEN
`

func TestEnvOverrides(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		env   []string
		check func(t *testing.T, c *Config)
	}{
		{"scalar string", []string{"DESKBRIDGE_STORE_URL=postgres://u:p@db/deskbridge"}, func(t *testing.T, c *Config) {
			if c.Store.URL != "postgres://u:p@db/deskbridge" || c.StoreKind() != "postgres" {
				t.Errorf("store.url = %q", c.Store.URL)
			}
		}},
		{"string kept verbatim", []string{"DESKBRIDGE_MAPPING_TICKET_SUBJECT='WhatsApp: ' + contact.name"}, func(t *testing.T, c *Config) {
			if c.Mapping.Ticket.Subject != "'WhatsApp: ' + contact.name" {
				t.Errorf("subject = %q", c.Mapping.Ticket.Subject)
			}
		}},
		{"duration", []string{"DESKBRIDGE_SERVER_SHUTDOWN_TIMEOUT=30s"}, func(t *testing.T, c *Config) {
			if c.Server.ShutdownTimeout.Duration() != 30*time.Second {
				t.Errorf("shutdown_timeout = %v", c.Server.ShutdownTimeout)
			}
		}},
		{"int", []string{"DESKBRIDGE_QUEUE_WORKERS=3"}, func(t *testing.T, c *Config) {
			if c.Queue.Workers != 3 {
				t.Errorf("workers = %d", c.Queue.Workers)
			}
		}},
		{"bool", []string{"DESKBRIDGE_VAULT_WAIT_AT_START=true", "DESKBRIDGE_THREADING_REOPEN_SOLVED=false"}, func(t *testing.T, c *Config) {
			if !c.Vault.WaitAtStart || *c.Threading.ReopenSolved {
				t.Errorf("wait_at_start = %v, reopen_solved = %v", c.Vault.WaitAtStart, *c.Threading.ReopenSolved)
			}
		}},
		{"secret", []string{"DESKBRIDGE_WHATSAPP_APP_SECRET=file:///run/secrets/app_secret"}, func(t *testing.T, c *Config) {
			if c.WhatsApp.AppSecret != "file:///run/secrets/app_secret" {
				t.Errorf("app_secret = %q", string(c.WhatsApp.AppSecret))
			}
		}},
		{"literal secret allowed by env", []string{"DESKBRIDGE_INSECURE_LITERAL_SECRETS=1", "DESKBRIDGE_WHATSAPP_APP_SECRET=dev"}, func(t *testing.T, c *Config) {
			if !c.WhatsApp.AppSecret.IsLiteral() || !c.InsecureLiteralSecrets {
				t.Error("literal not applied")
			}
		}},
		{"list index", []string{"DESKBRIDGE_WHATSAPP_NUMBERS_0_LABEL=main", "DESKBRIDGE_WHATSAPP_NUMBERS_0_THROUGHPUT_MPS=20"}, func(t *testing.T, c *Config) {
			n := c.WhatsApp.Numbers[0]
			if n.Label != "main" || n.ThroughputMPS != 20 || n.PhoneNumberID != "1001" {
				t.Errorf("numbers[0] = %+v", n)
			}
		}},
		{"list index appends", []string{
			"DESKBRIDGE_WHATSAPP_NUMBERS_1_PHONE_NUMBER_ID=1002",
			"DESKBRIDGE_WHATSAPP_NUMBERS_1_HELPDESK=support-eu",
		}, func(t *testing.T, c *Config) {
			if len(c.WhatsApp.Numbers) != 2 || c.WhatsApp.Numbers[1].PhoneNumberID != "1002" || c.WhatsApp.Numbers[1].Helpdesk != "support-eu" {
				t.Errorf("numbers = %+v", c.WhatsApp.Numbers)
			}
		}},
		{"map key", []string{"DESKBRIDGE_HELPDESKS_SUPPORT_BASE_URL=https://other.zendesk.com"}, func(t *testing.T, c *Config) {
			if c.Helpdesks["support"].BaseURL != "https://other.zendesk.com" || c.Helpdesks["support"].Kind != "zendesk" {
				t.Errorf("support = %+v", c.Helpdesks["support"])
			}
		}},
		{"map key with dash", []string{"DESKBRIDGE_HELPDESKS_SUPPORT_EU_REQUESTS_PER_MINUTE=100"}, func(t *testing.T, c *Config) {
			if c.Helpdesks["support-eu"].RequestsPerMinute != 100 || len(c.Helpdesks) != 2 {
				t.Errorf("helpdesks = %+v", c.Helpdesks)
			}
		}},
		{"new map key", []string{
			"DESKBRIDGE_HELPDESKS_SALES_KIND=hubspot",
			"DESKBRIDGE_HELPDESKS_SALES_BASE_URL=https://api.hubapi.com",
			"DESKBRIDGE_HELPDESKS_SALES_OAUTH_TOKEN=env://HUBSPOT_TOKEN",
		}, func(t *testing.T, c *Config) {
			h := c.Helpdesks["sales"]
			if h.Kind != "hubspot" || h.BaseURL != "https://api.hubapi.com" || h.OAuthToken != "env://HUBSPOT_TOKEN" {
				t.Errorf("sales = %+v", h)
			}
		}},
		{"new map entry whole", []string{`DESKBRIDGE_HELPDESKS_SALES={kind: hubspot, base_url: "https://api.hubapi.com", oauth_token: "env://HS"}`}, func(t *testing.T, c *Config) {
			if c.Helpdesks["sales"].Kind != "hubspot" || len(c.Helpdesks) != 3 {
				t.Errorf("helpdesks = %+v", c.Helpdesks)
			}
		}},
		{"string map new key", []string{"DESKBRIDGE_MAPPING_TICKET_CUSTOM_FIELDS_360004=number.label"}, func(t *testing.T, c *Config) {
			if c.Mapping.Ticket.CustomFields["360004"] != "number.label" {
				t.Errorf("custom_fields = %v", c.Mapping.Ticket.CustomFields)
			}
		}},
		{"whole list JSON", []string{`DESKBRIDGE_WHATSAPP_NUMBERS=[{"phone_number_id":"1","helpdesk":"support"},{"phone_number_id":"2","helpdesk":"support"}]`}, func(t *testing.T, c *Config) {
			if len(c.WhatsApp.Numbers) != 2 || c.WhatsApp.Numbers[1].PhoneNumberID != "2" || c.WhatsApp.Numbers[0].WABAID != "" {
				t.Errorf("numbers = %+v", c.WhatsApp.Numbers)
			}
		}},
		{"whole list then index", []string{
			`DESKBRIDGE_WHATSAPP_NUMBERS=[{"phone_number_id":"1","helpdesk":"support"}]`,
			"DESKBRIDGE_WHATSAPP_NUMBERS_0_LABEL=refined",
		}, func(t *testing.T, c *Config) {
			if len(c.WhatsApp.Numbers) != 1 || c.WhatsApp.Numbers[0].Label != "refined" || c.WhatsApp.Numbers[0].PhoneNumberID != "1" {
				t.Errorf("numbers = %+v", c.WhatsApp.Numbers)
			}
		}},
		{"whole string list YAML", []string{"DESKBRIDGE_MAPPING_TICKET_TAGS=[a, b]", "DESKBRIDGE_MAPPING_TICKET_TAGS_2=c"}, func(t *testing.T, c *Config) {
			if !slices.Equal(c.Mapping.Ticket.Tags, []string{"a", "b", "c"}) {
				t.Errorf("tags = %q", c.Mapping.Ticket.Tags)
			}
		}},
		{"whole section gets defaults", []string{"DESKBRIDGE_LOG={level: debug}"}, func(t *testing.T, c *Config) {
			if c.Log.Level != "debug" || c.Log.Format != "json" {
				t.Errorf("log = %+v", c.Log)
			}
		}},
		{"reserved and foreign names ignored", []string{
			"DESKBRIDGE_CONFIG=/etc/deskbridge.yaml",
			"DESKBRIDGE_TEST_DATABASE_URL=postgres://x",
			"HOME=/root",
		}, func(t *testing.T, c *Config) {
			if c.Store.URL != "sqlite://test.db" {
				t.Errorf("store.url = %q", c.Store.URL)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := LoadEnviron(writeFile(t, envFileYAML), tc.env)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			tc.check(t, c)
		})
	}
}

func TestEnvProblems(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		env  []string
		want []string
	}{
		{"bad duration", []string{"DESKBRIDGE_SERVER_SHUTDOWN_TIMEOUT=soon"}, []string{
			`server.shutdown_timeout: invalid duration "soon"; use a Go duration such as 30s, 5m or 24h (from DESKBRIDGE_SERVER_SHUTDOWN_TIMEOUT)`}},
		{"bad int", []string{"DESKBRIDGE_QUEUE_WORKERS=eight"}, []string{
			`queue.workers: must be an integer, got "eight" (from DESKBRIDGE_QUEUE_WORKERS)`}},
		{"bad bool", []string{"DESKBRIDGE_THREADING_REOPEN_SOLVED=maybe"}, []string{
			`threading.reopen_solved: must be true or false, got "maybe" (from DESKBRIDGE_THREADING_REOPEN_SOLVED)`}},
		{"bad list YAML", []string{"DESKBRIDGE_WHATSAPP_NUMBERS=[{"}, []string{
			"whatsapp.numbers: invalid YAML or JSON value: line 1: did not find expected node content (from DESKBRIDGE_WHATSAPP_NUMBERS)"}},
		{"list given a scalar", []string{"DESKBRIDGE_WHATSAPP_NUMBERS=1001"}, []string{
			"whatsapp.numbers: must be a list (in DESKBRIDGE_WHATSAPP_NUMBERS, line 1)"}},
		{"unknown key in whole value", []string{`DESKBRIDGE_WHATSAPP_NUMBERS=[{"phone_numbr_id":"1"}]`}, []string{
			"whatsapp.numbers[0].phone_numbr_id: unknown key (in DESKBRIDGE_WHATSAPP_NUMBERS, line 1); did you mean phone_number_id?"}},
		{"unknown variable", []string{"DESKBRIDGE_STROE_URL=x"}, []string{
			"DESKBRIDGE_STROE_URL: environment variable matches no configuration key; did you mean DESKBRIDGE_STORE_URL?"}},
		{"unknown leaf suffix", []string{"DESKBRIDGE_SERVER_PUBLIC_ADDR_PORT=1"}, []string{
			"DESKBRIDGE_SERVER_PUBLIC_ADDR_PORT: environment variable matches no configuration key"}},
		{"prefix only", []string{"DESKBRIDGE_=x"}, []string{
			"DESKBRIDGE_: environment variable matches no configuration key"}},
		{"index not a number", []string{"DESKBRIDGE_WHATSAPP_NUMBERS_X_LABEL=x"}, []string{
			"DESKBRIDGE_WHATSAPP_NUMBERS_X_LABEL: environment variable matches no configuration key; did you mean DESKBRIDGE_WHATSAPP_NUMBERS_0_LABEL?"}},
		{"index too large", []string{"DESKBRIDGE_WHATSAPP_NUMBERS_5000_LABEL=x"}, []string{
			"DESKBRIDGE_WHATSAPP_NUMBERS_5000_LABEL: environment variable matches no configuration key"}},
		{"ambiguous new map key", []string{"DESKBRIDGE_HELPDESKS_NEW_EMAIL={}"}, []string{
			"DESKBRIDGE_HELPDESKS_NEW_EMAIL: ambiguous: could set helpdesks.new.email or helpdesks.new_email; set the enclosing map entry whole with YAML instead"}},
		{"gap in list is validated", []string{"DESKBRIDGE_WHATSAPP_NUMBERS_2_PHONE_NUMBER_ID=1003", "DESKBRIDGE_WHATSAPP_NUMBERS_2_HELPDESK=support"}, []string{
			"whatsapp.numbers[1].phone_number_id: required",
			"whatsapp.numbers[1].helpdesk: required: name one of helpdesks (support, support-eu)",
		}},
		{"env value validated", []string{"DESKBRIDGE_LOG_LEVEL=loud"}, []string{
			"log.level: must be one of debug, info, warn, error"}},
		{"several together in config order", []string{
			"DESKBRIDGE_NOPE=1",
			"DESKBRIDGE_QUEUE_WORKERS=x",
			"DESKBRIDGE_SERVER_READ_TIMEOUT=1",
		}, []string{
			`server.read_timeout: invalid duration "1"; use a Go duration such as 30s, 5m or 24h (from DESKBRIDGE_SERVER_READ_TIMEOUT)`,
			`queue.workers: must be an integer, got "x" (from DESKBRIDGE_QUEUE_WORKERS)`,
			"DESKBRIDGE_NOPE: environment variable matches no configuration key",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := LoadEnviron(writeFile(t, envFileYAML), tc.env)
			equalLines(t, problemLines(t, err), tc.want)
		})
	}
}

func TestLoadWithLookupFunc(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"DESKBRIDGE_STORE_URL":                          "sqlite://other.db",
		"DESKBRIDGE_HELPDESKS_SUPPORT_EMAIL":            "agent@acme.com",
		"DESKBRIDGE_WHATSAPP_NUMBERS_1_PHONE_NUMBER_ID": "1002",
		"DESKBRIDGE_WHATSAPP_NUMBERS_1_HELPDESK":        "support",
		"DESKBRIDGE_WHATSAPP_NUMBERS_2_PHONE_NUMBER_ID": "1003",
		"DESKBRIDGE_WHATSAPP_NUMBERS_2_HELPDESK":        "support",
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	c, err := Load(writeFile(t, envFileYAML), lookup)
	if err != nil {
		t.Fatal(err)
	}
	if c.Store.URL != "sqlite://other.db" || c.Helpdesks["support"].Email != "agent@acme.com" ||
		len(c.WhatsApp.Numbers) != 3 || c.WhatsApp.Numbers[2].PhoneNumberID != "1003" {
		t.Errorf("overrides through lookupEnv not applied: %+v", c)
	}
}

// Not parallel: uses the process environment.
func TestLoadProcessEnvironment(t *testing.T) {
	t.Setenv("DESKBRIDGE_LOG_LEVEL", "warn")
	t.Setenv("DESKBRIDGE_HELPDESKS_SALES", `{kind: hubspot, base_url: "https://api.hubapi.com", oauth_token: "env://HS"}`)
	path := writeFile(t, envFileYAML)
	c, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Log.Level != "warn" || c.Helpdesks["sales"].Kind != "hubspot" {
		t.Errorf("log = %+v, helpdesks = %+v", c.Log, c.Helpdesks)
	}
	t.Setenv("DESKBRIDGE_LOG_LEVL", "warn")
	_, err = Load(path, nil)
	equalLines(t, problemLines(t, err), []string{
		"DESKBRIDGE_LOG_LEVL: environment variable matches no configuration key; did you mean DESKBRIDGE_LOG_LEVEL?"})
}

func TestEnvName(t *testing.T) {
	t.Parallel()
	for path, want := range map[string]string{
		"store.url":                           "DESKBRIDGE_STORE_URL",
		"server.shutdown_timeout":             "DESKBRIDGE_SERVER_SHUTDOWN_TIMEOUT",
		"whatsapp.numbers[0].phone_number_id": "DESKBRIDGE_WHATSAPP_NUMBERS_0_PHONE_NUMBER_ID",
		"helpdesks.support-eu.base_url":       "DESKBRIDGE_HELPDESKS_SUPPORT_EU_BASE_URL",
		`mapping.ticket.custom_fields["a.b"]`: "DESKBRIDGE_MAPPING_TICKET_CUSTOM_FIELDS_A_B",
	} {
		if got := EnvName(path); got != want {
			t.Errorf("EnvName(%q) = %q, want %q", path, got, want)
		}
	}
}

// Every key of the configuration has an override that reaches it.
func TestEveryKeyHasAnOverride(t *testing.T) {
	t.Parallel()
	c := validConfig(t)
	root := reflect.ValueOf(c).Elem()
	names := envProbeNames(root)
	if len(names) < 100 {
		t.Fatalf("only %d names", len(names))
	}
	for _, n := range names {
		if cands := resolveEnv(root.Type(), root, n[len(EnvPrefix):]); len(cands) != 1 {
			t.Errorf("%s resolves %d ways", n, len(cands))
		}
	}
}
