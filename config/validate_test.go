package config

import (
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		edit func(c *Config)
		want []string
	}{
		{"valid", func(c *Config) {}, nil},
		// store
		{"store url empty", func(c *Config) { c.Store.URL = "" }, []string{"store.url: required"}},
		{"store url scheme", func(c *Config) { c.Store.URL = "mysql://db/x" },
			[]string{"store.url: must start with sqlite://, postgres:// or postgresql://"}},
		{"store sqlite without path", func(c *Config) { c.Store.URL = "sqlite://" },
			[]string{"store.url: sqlite:// needs a file path, such as sqlite://deskbridge.db"}},
		{"store sqlite only query", func(c *Config) { c.Store.URL = "sqlite://?mode=memory" },
			[]string{"store.url: sqlite:// needs a file path, such as sqlite://deskbridge.db"}},
		{"store postgres bad URL", func(c *Config) { c.Store.URL = "postgres://db:port/x" },
			[]string{"store.url: invalid postgres URL"}},
		{"store max_open_conns", func(c *Config) { c.Store.MaxOpenConns = -1 },
			[]string{"store.max_open_conns: must be at least 0"}},
		// server
		{"public_addr", func(c *Config) { c.Server.PublicAddr = "8080" },
			[]string{"server.public_addr: must be host:port, such as :8080 or 127.0.0.1:9090"}},
		{"public_addr empty", func(c *Config) { c.Server.PublicAddr = "" }, []string{"server.public_addr: required"}},
		{"internal_addr port", func(c *Config) { c.Server.InternalAddr = "localhost:99999" },
			[]string{"server.internal_addr: port must be a number from 0 to 65535"}},
		{"internal_addr same as public", func(c *Config) { c.Server.InternalAddr = c.Server.PublicAddr },
			[]string{"server.internal_addr: must differ from server.public_addr"}},
		{"public_url", func(c *Config) { c.Server.PublicURL = "bridge.acme.com" },
			[]string{"server.public_url: must be an absolute http:// or https:// URL"}},
		{"shutdown_timeout", func(c *Config) { c.Server.ShutdownTimeout = 0 },
			[]string{"server.shutdown_timeout: must be a positive duration, such as 30s"}},
		{"max_body_bytes", func(c *Config) { c.Server.MaxBodyBytes = 0 },
			[]string{"server.max_body_bytes: must be at least 1"}},
		{"read_timeout", func(c *Config) { c.Server.ReadTimeout = -1 },
			[]string{"server.read_timeout: must be a positive duration, such as 30s"}},
		{"write_timeout", func(c *Config) { c.Server.WriteTimeout = 0 },
			[]string{"server.write_timeout: must be a positive duration, such as 30s"}},
		{"admin_token literal", func(c *Config) { c.Server.AdminToken = "hunter2" },
			[]string{"server.admin_token: literal secret not allowed; use env://, file:// or vault:// (or set insecure_literal_secrets: true)"}},
		// log
		{"log level", func(c *Config) { c.Log.Level = "verbose" },
			[]string{"log.level: must be one of debug, info, warn, error"}},
		{"log format", func(c *Config) { c.Log.Format = "xml" }, []string{"log.format: must be one of json, text"}},
		// queue
		{"workers", func(c *Config) { c.Queue.Workers = 0 }, []string{"queue.workers: must be at least 1"}},
		{"max_attempts", func(c *Config) { c.Queue.MaxAttempts = -3 }, []string{"queue.max_attempts: must be at least 1"}},
		{"lease_ttl", func(c *Config) { c.Queue.LeaseTTL = 0 },
			[]string{"queue.lease_ttl: must be a positive duration, such as 30s"}},
		{"job_timeout", func(c *Config) { c.Queue.JobTimeout = 0 },
			[]string{"queue.job_timeout: must be a positive duration, such as 30s"}},
		{"rescue_after", func(c *Config) { c.Queue.RescueAfter = 0 },
			[]string{"queue.rescue_after: must be a positive duration, such as 30s"}},
		{"poll_interval", func(c *Config) { c.Queue.PollInterval = 0 },
			[]string{"queue.poll_interval: must be a positive duration, such as 30s"}},
		{"reconcile_interval", func(c *Config) { c.Queue.ReconcileInterval = 0 },
			[]string{"queue.reconcile_interval: must be a positive duration, such as 30s"}},
		{"reconcile_after", func(c *Config) { c.Queue.ReconcileAfter = 0 },
			[]string{"queue.reconcile_after: must be a positive duration, such as 30s"}},
		{"retry_base", func(c *Config) { c.Queue.RetryBase = 0 },
			[]string{"queue.retry_base: must be a positive duration, such as 30s"}},
		{"retry_max", func(c *Config) { c.Queue.RetryMax = 0 },
			[]string{"queue.retry_max: must be a positive duration, such as 30s"}},
		{"retry_max below retry_base", func(c *Config) { c.Queue.RetryMax = Duration(500 * time.Millisecond) },
			[]string{"queue.retry_max: must not be shorter than queue.retry_base (1s)"}},
		{"rescue_after not above job_timeout", func(c *Config) { c.Queue.RescueAfter = c.Queue.JobTimeout },
			[]string{"queue.rescue_after: must be longer than queue.job_timeout (1m)"}},
		{"max_events_per_job", func(c *Config) { c.Queue.MaxEventsPerJob = 0 },
			[]string{"queue.max_events_per_job: must be at least 1"}},
		// whatsapp
		{"api_base_url", func(c *Config) { c.WhatsApp.APIBaseURL = "graph.facebook.com" },
			[]string{"whatsapp.api_base_url: must be an absolute http:// or https:// URL"}},
		{"api_version", func(c *Config) { c.WhatsApp.APIVersion = "23" }, []string{"whatsapp.api_version: must look like v23.0"}},
		{"app_secret missing", func(c *Config) { c.WhatsApp.AppSecret = "" }, []string{"whatsapp.app_secret: required"}},
		{"app_secret literal", func(c *Config) { c.WhatsApp.AppSecret = "hunter2" },
			[]string{"whatsapp.app_secret: literal secret not allowed; use env://, file:// or vault:// (or set insecure_literal_secrets: true)"}},
		{"app_secret vault without key", func(c *Config) { c.WhatsApp.AppSecret = "vault://secret/x" },
			[]string{"whatsapp.app_secret: invalid secret reference: vault reference needs a #key: vault://mount/path#key"}},
		{"app_secret vault without vault", func(c *Config) { c.WhatsApp.AppSecret = "vault://secret/x#k" },
			[]string{"whatsapp.app_secret: vault:// reference needs vault.address"}},
		{"verify_token missing", func(c *Config) { c.WhatsApp.VerifyToken = "" }, []string{"whatsapp.verify_token: required"}},
		{"verify_token bad env", func(c *Config) { c.WhatsApp.VerifyToken = "env://" },
			[]string{"whatsapp.verify_token: invalid secret reference: env reference needs a variable name: env://NAME"}},
		{"numbers missing", func(c *Config) { c.WhatsApp.Numbers = nil }, []string{"whatsapp.numbers: at least one is required"}},
		{"numbers empty", func(c *Config) { c.WhatsApp.Numbers = []Number{} }, []string{"whatsapp.numbers: at least one is required"}},
		{"phone_number_id missing", func(c *Config) { c.WhatsApp.Numbers[0].PhoneNumberID = "" },
			[]string{"whatsapp.numbers[0].phone_number_id: required"}},
		{"phone_number_id digits", func(c *Config) { c.WhatsApp.Numbers[0].PhoneNumberID = "+1001" },
			[]string{"whatsapp.numbers[0].phone_number_id: must contain only digits"}},
		{"phone_number_id duplicate", func(c *Config) {
			c.WhatsApp.Numbers = append(c.WhatsApp.Numbers, c.WhatsApp.Numbers[0])
		}, []string{"whatsapp.numbers[1].phone_number_id: duplicate of whatsapp.numbers[0].phone_number_id"}},
		{"waba_id digits", func(c *Config) { c.WhatsApp.Numbers[0].WABAID = "waba" },
			[]string{"whatsapp.numbers[0].waba_id: must contain only digits"}},
		{"access_token relative file", func(c *Config) { c.WhatsApp.Numbers[0].AccessToken = "file://token.txt" },
			[]string{"whatsapp.numbers[0].access_token: invalid secret reference: file reference needs an absolute path: file:///abs/path"}},
		{"helpdesk missing", func(c *Config) { c.WhatsApp.Numbers[0].Helpdesk = "" },
			[]string{"whatsapp.numbers[0].helpdesk: required: name one of helpdesks (support)"}},
		{"helpdesk unknown", func(c *Config) { c.WhatsApp.Numbers[0].Helpdesk = "sales" },
			[]string{`whatsapp.numbers[0].helpdesk: unknown helpdesk "sales"; must be one of support`}},
		{"helpdesk without helpdesks", func(c *Config) { c.Helpdesks = nil },
			[]string{`whatsapp.numbers[0].helpdesk: names helpdesk "support" but no helpdesks are configured`}},
		{"throughput_mps", func(c *Config) { c.WhatsApp.Numbers[0].ThroughputMPS = -1 },
			[]string{"whatsapp.numbers[0].throughput_mps: must be at least 0"}},
		// helpdesks
		{"helpdesk name", func(c *Config) {
			c.Helpdesks["Support"] = c.Helpdesks["support"]
			delete(c.Helpdesks, "support")
			c.WhatsApp.Numbers[0].Helpdesk = "Support"
		}, []string{"helpdesks.Support: name must start with a lower-case letter and contain only a-z, 0-9, _ and -"}},
		{"kind missing", func(c *Config) { editHelpdesk(c, func(h *Helpdesk) { h.Kind = "" }) },
			[]string{"helpdesks.support.kind: required"}},
		{"kind unknown", func(c *Config) { editHelpdesk(c, func(h *Helpdesk) { h.Kind = "jira" }) },
			[]string{"helpdesks.support.kind: must be one of zendesk, freshdesk, hubspot"}},
		{"base_url missing", func(c *Config) { editHelpdesk(c, func(h *Helpdesk) { h.BaseURL = "" }) },
			[]string{"helpdesks.support.base_url: required"}},
		{"base_url not http", func(c *Config) { editHelpdesk(c, func(h *Helpdesk) { h.BaseURL = "ftp://acme" }) },
			[]string{"helpdesks.support.base_url: must be an absolute http:// or https:// URL"}},
		{"email invalid", func(c *Config) { editHelpdesk(c, func(h *Helpdesk) { h.Email = "bot at acme" }) },
			[]string{"helpdesks.support.email: must be an email address, such as bot@acme.com"}},
		{"zendesk email for api token", func(c *Config) { editHelpdesk(c, func(h *Helpdesk) { h.Email = "" }) },
			[]string{"helpdesks.support.email: required with api_token: Zendesk API tokens authenticate as email/token"}},
		{"no credentials", func(c *Config) { editHelpdesk(c, func(h *Helpdesk) { h.APIToken = "" }) },
			[]string{"helpdesks.support: one of api_token or oauth_token is required"}},
		{"both credentials", func(c *Config) { editHelpdesk(c, func(h *Helpdesk) { h.OAuthToken = "env://ZD_OAUTH" }) },
			[]string{"helpdesks.support: set only one of api_token or oauth_token"}},
		{"zendesk brand id not digits", func(c *Config) { editHelpdesk(c, func(h *Helpdesk) { h.BrandID = "acme" }) },
			[]string{"helpdesks.support.brand_id: must be a Zendesk id (digits)"}},
		{"zendesk group and form ids not digits", func(c *Config) {
			editHelpdesk(c, func(h *Helpdesk) { h.GroupID, h.TicketFormID = "g1", "-3" })
		}, []string{"helpdesks.support.group_id: must be a Zendesk id (digits)", "helpdesks.support.ticket_form_id: must be a Zendesk id (digits)"}},
		{"zendesk plain http", func(c *Config) { editHelpdesk(c, func(h *Helpdesk) { h.BaseURL = "http://acme.zendesk.com" }) },
			[]string{"helpdesks.support.base_url: must use https (plain http is allowed only for a loopback sandbox)"}},
		{"oauth_token malformed", func(c *Config) {
			editHelpdesk(c, func(h *Helpdesk) { h.APIToken, h.OAuthToken = "", "vault://secret/x?version=0#k" })
		}, []string{"helpdesks.support.oauth_token: invalid secret reference: vault reference version must be a positive integer"}},
		{"webhook_secret literal", func(c *Config) { editHelpdesk(c, func(h *Helpdesk) { h.WebhookSecret = "s3cret" }) },
			[]string{"helpdesks.support.webhook_secret: literal secret not allowed; use env://, file:// or vault:// (or set insecure_literal_secrets: true)"}},
		{"requests_per_minute", func(c *Config) { editHelpdesk(c, func(h *Helpdesk) { h.RequestsPerMinute = -5 }) },
			[]string{"helpdesks.support.requests_per_minute: must be at least 0"}},
		// threading, outside_window, mapping
		{"threading window", func(c *Config) { c.Threading.Window = 0 },
			[]string{"threading.window: must be a positive duration, such as 30s"}},
		{"threading coalesce_max", func(c *Config) { c.Threading.CoalesceMax = 101 },
			[]string{"threading.coalesce_max: must be at most 100 (one comment stays within the helpdesk's size limits)"}},
		{"threading time_zone", func(c *Config) { c.Threading.TimeZone = "Mars/Olympus" },
			[]string{`threading.time_zone: unknown time zone "Mars/Olympus" (use an IANA name such as Europe/Madrid)`}},
		{"opt_out blank keyword", func(c *Config) { c.OptOut.Keywords = []string{"STOP", " "} },
			[]string{"opt_out.keywords[1]: must not be blank"}},
		{"outside_window policy", func(c *Config) { c.OutsideWindow.Policy = "sometimes" },
			[]string{"outside_window.policy: must be one of template, note, note_only"}},
		{"outside_window template missing", func(c *Config) { c.OutsideWindow.Policy = "template" }, []string{
			"outside_window.template.name: required when outside_window.policy is template",
			"outside_window.template.language: required when outside_window.policy is template",
		}},
		{"routing name missing", func(c *Config) { c.Mapping.Routing[0].Name = "" },
			[]string{"mapping.routing[0].name: required"}},
		{"routing name duplicate", func(c *Config) {
			c.Mapping.Routing = append(c.Mapping.Routing, RoutingRule{Name: "vip"})
		}, []string{"mapping.routing[1].name: duplicate of mapping.routing[0].name"}},
		// vault
		{"vault address", func(c *Config) { setVault(c); c.Vault.Address = "vault:8200" },
			[]string{"vault.address: must be an absolute http:// or https:// URL"}},
		{"vault method missing", func(c *Config) { setVault(c); c.Vault.Auth.Method = "" },
			[]string{"vault.auth.method: required when vault.address is set"}},
		{"vault method unknown", func(c *Config) { setVault(c); c.Vault.Auth.Method = "ldap" },
			[]string{"vault.auth.method: must be one of token, approle, kubernetes"}},
		{"vault token missing", func(c *Config) { setVault(c); c.Vault.Auth = VaultAuth{Method: "token"} },
			[]string{"vault.auth.token: required when vault.auth.method is token"}},
		{"vault role_id missing", func(c *Config) { setVault(c); c.Vault.Auth.RoleID = "" },
			[]string{"vault.auth.role_id: required when vault.auth.method is approle"}},
		{"vault role missing", func(c *Config) { setVault(c); c.Vault.Auth = VaultAuth{Method: "kubernetes"} },
			[]string{"vault.auth.role: required when vault.auth.method is kubernetes"}},
		{"vault role_id from vault", func(c *Config) { setVault(c); c.Vault.Auth.RoleID = "vault://secret/r#id" },
			[]string{"vault.auth.role_id: cannot be a vault:// reference: it is needed to log in to Vault"}},
		{"vault client_key missing", func(c *Config) { setVault(c); c.Vault.ClientCert = "/c.pem" },
			[]string{"vault.client_key: required with vault.client_cert"}},
		{"vault client_cert missing", func(c *Config) { setVault(c); c.Vault.ClientKey = "/k.pem" },
			[]string{"vault.client_cert: required with vault.client_key"}},
		{"vault secret_id_wrapped method", func(c *Config) {
			setVault(c)
			c.Vault.Auth = VaultAuth{Method: "token", Token: "env://VAULT_TOKEN", SecretIDWrapped: true, SecretID: "env://W"}
		}, []string{"vault.auth.secret_id_wrapped: only applies to vault.auth.method approle"}},
		{"vault secret_id_wrapped without secret_id", func(c *Config) {
			setVault(c)
			c.Vault.Auth.SecretIDWrapped = true
			c.Vault.Auth.SecretID = ""
		}, []string{"vault.auth.secret_id: required when vault.auth.secret_id_wrapped is true"}},
		{"vault refresh_interval", func(c *Config) { c.Vault.RefreshInterval = 0 },
			[]string{"vault.refresh_interval: must be a positive duration, such as 30s"}},
		{"vault valid", func(c *Config) { setVault(c); c.WhatsApp.AppSecret = "vault://secret/meta#app_secret" }, nil},
		// literals allowed
		{"literal allowed", func(c *Config) {
			c.InsecureLiteralSecrets = true
			c.WhatsApp.AppSecret = "hunter2"
			c.Server.AdminToken = "admin"
		}, nil},
		{"malformed reference even with literals allowed", func(c *Config) {
			c.InsecureLiteralSecrets = true
			c.WhatsApp.AppSecret = "https://example.com/secret"
		}, []string{"whatsapp.app_secret: invalid secret reference: unsupported secret scheme; use env://, file:// or vault://"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := validConfig(t)
			tc.edit(c)
			equalLines(t, problemLines(t, c.Validate()), tc.want)
		})
	}
}

func editHelpdesk(c *Config, edit func(h *Helpdesk)) {
	h := c.Helpdesks["support"]
	edit(&h)
	c.Helpdesks["support"] = h
}

func setVault(c *Config) {
	c.Vault.Address = "https://vault:8200"
	c.Vault.Auth = VaultAuth{Method: "approle", RoleID: "env://VAULT_ROLE_ID", SecretID: "env://VAULT_SECRET_ID"}
}

func TestValidateReportsAllProblemsInConfigOrder(t *testing.T) {
	t.Parallel()
	c := validConfig(t)
	// Made in an order unlike the config's.
	c.OutsideWindow.Policy = "template"
	c.Helpdesks["support"] = Helpdesk{Kind: "jira"}
	c.WhatsApp.Numbers = append(c.WhatsApp.Numbers, Number{PhoneNumberID: "x", Helpdesk: "support"})
	c.Log.Level = "loud"
	c.Store.URL = "mysql://x"
	equalLines(t, problemLines(t, c.Validate()), []string{
		"store.url: must start with sqlite://, postgres:// or postgresql://",
		"log.level: must be one of debug, info, warn, error",
		"whatsapp.numbers[1].phone_number_id: must contain only digits",
		"helpdesks.support: one of api_token or oauth_token is required",
		"helpdesks.support.kind: must be one of zendesk, freshdesk, hubspot",
		"helpdesks.support.base_url: required",
		"outside_window.template.name: required when outside_window.policy is template",
		"outside_window.template.language: required when outside_window.policy is template",
	})
}
