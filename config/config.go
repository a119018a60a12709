// Package config defines deskbridge's configuration file: its schema, defaults,
// environment overrides, validation with path-precise errors, redaction and a
// generated JSON Schema.
//
// The life of a configuration:
//
//	cfg, err := config.Load("deskbridge.yaml", os.LookupEnv)
//
// Load decodes the YAML file strictly (an unknown key is an error naming its
// path and line), fills defaults (Config.WithDefaults), applies DESKBRIDGE_*
// environment overrides and runs Config.Validate. Every problem found along the
// way is reported at once in a *ValidationError, one "key.path: reason" line
// each.
//
// # Struct tags
//
// Each field carries, besides its yaml tag, tags that drive defaults,
// validation and the JSON Schema from one place:
//
//	desc      description (schema and docs)
//	default   default value, in the same syntax as the YAML/env value
//	required  "true": the field must be set (a list: non-empty)
//	enum      comma-separated allowed values
//	pattern   regular expression a non-empty string must match
//	min       smallest allowed integer
//	keys      regular expression every map key must match
//
// # Secrets
//
// Secret fields hold references, never values: env://NAME, file:///abs/path or
// vault://mount/path#key (see ParseSecretRef). Literal values are refused unless
// insecure_literal_secrets is true. The secrets package resolves references.
//
// # Environment overrides
//
// Every key can be set with DESKBRIDGE_ followed by its path upper-cased, dots
// and list indices joined by "_": DESKBRIDGE_STORE_URL,
// DESKBRIDGE_WHATSAPP_NUMBERS_0_PHONE_NUMBER_ID,
// DESKBRIDGE_HELPDESKS_SUPPORT_BASE_URL. A list, map or section may be set whole
// with a YAML or JSON value. See Load for the details.
package config

// Config is the whole deskbridge configuration file.
type Config struct {
	Store         StoreConfig         `yaml:"store" desc:"Database that holds state and the durable queue."`
	Server        ServerConfig        `yaml:"server" desc:"HTTP listeners."`
	Log           LogConfig           `yaml:"log" desc:"Logging."`
	Queue         QueueConfig         `yaml:"queue" desc:"Durable job queue workers."`
	WhatsApp      WhatsAppConfig      `yaml:"whatsapp" desc:"WhatsApp Business Cloud API and the numbers the bridge serves."`
	Helpdesks     map[string]Helpdesk `yaml:"helpdesks" keys:"^[a-z][a-z0-9_-]*$" desc:"Helpdesk accounts by name; numbers refer to them by that name."`
	Threading     ThreadingConfig     `yaml:"threading" desc:"How WhatsApp messages are grouped into tickets."`
	OutsideWindow OutsideWindowConfig `yaml:"outside_window" desc:"What to do with agent replies outside the 24-hour customer-service window."`
	OptOut        OptOutConfig        `yaml:"opt_out" desc:"Customers who ask not to be messaged."`
	Statuses      StatusesConfig      `yaml:"statuses" desc:"What WhatsApp delivery statuses write to the helpdesk."`
	Mapping       MappingConfig       `yaml:"mapping" desc:"How WhatsApp data maps onto helpdesk contacts and tickets."`
	Vault         VaultConfig         `yaml:"vault" desc:"HashiCorp Vault connection used by vault:// secret references."`

	InsecureLiteralSecrets bool `yaml:"insecure_literal_secrets" desc:"Allow secret values written literally in the file (development only)."`
}

// StoreConfig selects the database.
type StoreConfig struct {
	URL          string `yaml:"url" default:"sqlite://deskbridge.db" desc:"sqlite://path (embedded) or postgres://user:pass@host/db (scale-out)."`
	MaxOpenConns int    `yaml:"max_open_conns" min:"0" desc:"Maximum open PostgreSQL connections; 0 uses 20 (or pool_max_conns in the URL). SQLite always uses one."`
}

// ServerConfig configures the public (webhooks) and internal (metrics, health,
// admin) HTTP listeners.
type ServerConfig struct {
	PublicAddr      string   `yaml:"public_addr" default:":8080" desc:"host:port of the public webhook listener."`
	PublicURL       string   `yaml:"public_url" desc:"Externally reachable base URL of the public listener, used when registering webhooks."`
	InternalAddr    string   `yaml:"internal_addr" default:"127.0.0.1:9090" desc:"host:port of the internal listener (/metrics, /livez, /readyz, /admin)."`
	ShutdownTimeout Duration `yaml:"shutdown_timeout" default:"15s" desc:"How long a graceful shutdown may take."`
	MaxBodyBytes    int      `yaml:"max_body_bytes" default:"3145728" min:"1" desc:"Largest accepted webhook body in bytes; larger bodies get 413."`
	ReadTimeout     Duration `yaml:"read_timeout" default:"10s" desc:"HTTP server read timeout."`
	WriteTimeout    Duration `yaml:"write_timeout" default:"10s" desc:"HTTP server write timeout."`
	AdminToken      Secret   `yaml:"admin_token" desc:"Bearer token for /admin/* on the internal listener; admin endpoints are disabled when empty."`
}

// LogConfig configures log/slog output.
type LogConfig struct {
	Level  string `yaml:"level" default:"info" enum:"debug,info,warn,error" desc:"Minimum log level."`
	Format string `yaml:"format" default:"json" enum:"json,text" desc:"Log format: json for production, text for terminals."`
}

// QueueConfig configures the durable queue and its workers.
type QueueConfig struct {
	Workers           int      `yaml:"workers" default:"8" min:"1" desc:"Jobs worked concurrently by this process."`
	MaxAttempts       int      `yaml:"max_attempts" default:"10" min:"1" desc:"Attempts at one event before it is moved to the dead-letter table."`
	LeaseTTL          Duration `yaml:"lease_ttl" default:"30s" desc:"How long a worker's lease on a conversation lasts without renewal."`
	JobTimeout        Duration `yaml:"job_timeout" default:"1m" desc:"Time limit of one job attempt."`
	RescueAfter       Duration `yaml:"rescue_after" default:"2m" desc:"A running job not heard from for this long is rescued and retried."`
	PollInterval      Duration `yaml:"poll_interval" default:"200ms" desc:"How often idle workers poll for new jobs."`
	ReconcileInterval Duration `yaml:"reconcile_interval" default:"30s" desc:"How often to look for pending events that have no job."`
	ReconcileAfter    Duration `yaml:"reconcile_after" default:"2m" desc:"A conversation with an event pending this long and no live lease gets a new job."`
	RetryBase         Duration `yaml:"retry_base" default:"1s" desc:"First retry delay; later retries back off exponentially."`
	RetryMax          Duration `yaml:"retry_max" default:"10m" desc:"Longest retry delay."`
	MaxEventsPerJob   int      `yaml:"max_events_per_job" default:"100" min:"1" desc:"Events one job drains from a conversation before yielding to others."`
}

// WhatsAppConfig configures the WhatsApp Business Cloud API.
type WhatsAppConfig struct {
	APIBaseURL  string   `yaml:"api_base_url" default:"https://graph.facebook.com" desc:"Graph API base URL; the sandbox points this at its fake."`
	APIVersion  string   `yaml:"api_version" default:"v23.0" pattern:"^v[0-9]+\\.[0-9]+$" desc:"Graph API version, such as v23.0."`
	AppSecret   Secret   `yaml:"app_secret" required:"true" desc:"Meta app secret; verifies X-Hub-Signature-256 on webhooks."`
	VerifyToken Secret   `yaml:"verify_token" required:"true" desc:"Token Meta echoes when subscribing the webhook."`
	Numbers     []Number `yaml:"numbers" required:"true" desc:"WhatsApp business phone numbers served by the bridge."`
	// TemplateRefresh is how often serve refreshes the cached templates.
	MessagingLimit  int      `yaml:"messaging_limit" min:"0" desc:"Unique customers business-initiated messages (templates outside the service window) may reach in 24 hours, the portfolio's messaging limit; 0 reads the tier of the first number at start (unlimited when it cannot be read)."`
	ReadbackWait    Duration `yaml:"readback_wait" default:"1m" desc:"How long a reply whose send answer was lost (crash, timeout) waits for its status webhook before it is sent again."`
	TemplateRefresh Duration `yaml:"template_refresh" default:"1h" desc:"How often the cached message templates are refreshed from the API (also on template status webhooks and on a miss)."`
}

// Number is one WhatsApp business phone number.
type Number struct {
	PhoneNumberID      string `yaml:"phone_number_id" required:"true" pattern:"^[0-9]+$" desc:"Cloud API phone number id (digits); unique across numbers."`
	WABAID             string `yaml:"waba_id" pattern:"^[0-9]+$" desc:"WhatsApp Business Account id (digits); templates and messaging limits live there."`
	DisplayPhoneNumber string `yaml:"display_phone_number" desc:"Human-readable phone number, for logs and notes."`
	Label              string `yaml:"label" desc:"Free-form name of this number."`
	AccessToken        Secret `yaml:"access_token" desc:"System-user access token for the Cloud API."`
	Helpdesk           string `yaml:"helpdesk" desc:"Name of the helpdesk (a key of helpdesks) that receives this number's conversations."`
	ThroughputMPS      int    `yaml:"throughput_mps" min:"0" desc:"Messages per second this number may send; 0 uses 80 (20 for a coexistence number), raised to 1000 when Meta reports a throughput upgrade."`
	Coexistence        bool   `yaml:"coexistence" desc:"The number is also used in the WhatsApp Business app (coexistence mode)."`
}

// Helpdesk is one helpdesk account.
type Helpdesk struct {
	Kind              string `yaml:"kind" required:"true" enum:"zendesk,freshdesk,hubspot" desc:"Helpdesk product."`
	BaseURL           string `yaml:"base_url" required:"true" desc:"Absolute http(s) base URL of the account, such as https://acme.zendesk.com."`
	Email             string `yaml:"email" desc:"Agent email the API token belongs to (Zendesk API token auth)."`
	APIToken          Secret `yaml:"api_token" desc:"API token or key."`
	OAuthToken        Secret `yaml:"oauth_token" desc:"OAuth or private-app access token, used instead of api_token."`
	WebhookSecret     Secret `yaml:"webhook_secret" desc:"Secret that verifies the helpdesk's webhooks to the bridge."`
	RequestsPerMinute int    `yaml:"requests_per_minute" min:"0" desc:"API request budget per minute; 0 uses the vendor's documented default."`
	BrandID           string `yaml:"brand_id" desc:"Brand new tickets are created in."`
	GroupID           string `yaml:"group_id" desc:"Group new tickets are assigned to."`
	TicketFormID      string `yaml:"ticket_form_id" desc:"Ticket form new tickets use."`
}

// ThreadingConfig decides when a message joins an existing ticket.
type ThreadingConfig struct {
	Window       Duration `yaml:"window" default:"24h" desc:"A message joins the conversation's ticket if its last activity is this recent."`
	ReopenSolved *bool    `yaml:"reopen_solved" default:"true" desc:"Reopen a solved ticket inside the window instead of opening a new one."`
	CoalesceMax  int      `yaml:"coalesce_max" default:"20" min:"1" desc:"Most queued customer texts joined into one comment when the bridge is behind or the helpdesk is rate-limited; 1 turns coalescing off."`
	TimeZone     string   `yaml:"time_zone" default:"UTC" desc:"IANA time zone of the times written in comments and notes, such as Europe/Madrid."`
}

// StatusesConfig says what delivery statuses write to the helpdesk. A
// failed delivery always becomes an internal note; normal deliveries write
// nothing unless TagPrefix is set.
type StatusesConfig struct {
	TagPrefix string `yaml:"tag_prefix" pattern:"^[a-z0-9_:-]*$" desc:"Prefix of a ticket tag showing the latest delivery status of the bridge's last message (whatsapp_ gives whatsapp_sent, whatsapp_delivered, whatsapp_read, whatsapp_failed); empty writes no tag."`
}

// OptOutConfig says how customers opt out of messages.
type OptOutConfig struct {
	Keywords []string `yaml:"keywords" desc:"Customer messages that opt them out (the whole message, any case); empty uses STOP, BAJA, PARAR, SAIR. A user_preferences webhook that stops marketing messages opts out too."`
}

// OutsideWindowConfig is the policy for agent replies after the 24-hour
// customer-service window has closed.
type OutsideWindowConfig struct {
	Policy   string         `yaml:"policy" default:"note_only" enum:"template,note,note_only" desc:"template sends an approved template; note (or note_only) sends nothing. Both leave an internal note."`
	Template TemplateConfig `yaml:"template" desc:"Template sent when policy is template."`
}

// TemplateConfig names an approved WhatsApp message template.
type TemplateConfig struct {
	Name     string   `yaml:"name" desc:"Template name, as approved in WhatsApp Manager."`
	Language string   `yaml:"language" desc:"Template language code, such as en_US."`
	Params   []string `yaml:"params" desc:"Body parameter expressions, in order."`
}

// MappingConfig maps WhatsApp data onto helpdesk records. Values are
// expressions, kept as text here and compiled by the mapping package.
type MappingConfig struct {
	Contact ContactMapping `yaml:"contact" desc:"Helpdesk contact fields."`
	Ticket  TicketMapping  `yaml:"ticket" desc:"Helpdesk ticket fields."`
	Routing []RoutingRule  `yaml:"routing" desc:"Rules applied in order to new tickets."`
}

// ContactMapping maps a WhatsApp contact onto a helpdesk contact.
type ContactMapping struct {
	Name       string            `yaml:"name" desc:"Expression for the contact name."`
	ExternalID string            `yaml:"external_id" desc:"Expression for the contact's external id."`
	Fields     map[string]string `yaml:"fields" desc:"Custom contact fields: field name to expression."`
}

// TicketMapping maps a conversation onto a helpdesk ticket.
type TicketMapping struct {
	Subject      string            `yaml:"subject" desc:"Expression for the ticket subject."`
	Description  string            `yaml:"description" desc:"Expression for the ticket description."`
	Tags         []string          `yaml:"tags" desc:"Expressions, one per tag."`
	Priority     string            `yaml:"priority" desc:"Expression for the ticket priority."`
	Type         string            `yaml:"type" desc:"Expression for the ticket type."`
	Group        string            `yaml:"group" desc:"Expression for the ticket group."`
	Brand        string            `yaml:"brand" desc:"Expression for the ticket brand."`
	Form         string            `yaml:"form" desc:"Expression for the ticket form."`
	CustomFields map[string]string `yaml:"custom_fields" desc:"Custom ticket fields: field id to expression."`
}

// RoutingRule changes ticket fields when its condition holds.
type RoutingRule struct {
	Name     string            `yaml:"name" required:"true" desc:"Rule name, unique; shown in logs and notes."`
	When     string            `yaml:"when" desc:"Condition expression; empty matches every ticket."`
	Set      map[string]string `yaml:"set" desc:"Ticket fields to set: field to expression."`
	AddTags  []string          `yaml:"add_tags" desc:"Tag expressions to add."`
	Continue bool              `yaml:"continue" desc:"Keep evaluating later rules after this one matched."`
}

// VaultConfig configures the connection to HashiCorp Vault.
type VaultConfig struct {
	Address         string    `yaml:"address" desc:"Vault address, such as https://vault:8200; required when a vault:// reference is used."`
	Namespace       string    `yaml:"namespace" desc:"Vault Enterprise namespace."`
	CAFile          string    `yaml:"ca_file" desc:"PEM file of the CA that signed Vault's certificate."`
	ClientCert      string    `yaml:"client_cert" desc:"PEM client certificate for mutual TLS (with client_key)."`
	ClientKey       string    `yaml:"client_key" desc:"PEM client key for mutual TLS (with client_cert)."`
	TLSServerName   string    `yaml:"tls_server_name" desc:"Server name expected in Vault's certificate."`
	WaitAtStart     bool      `yaml:"wait_at_start" desc:"Wait for Vault to become reachable at start instead of failing."`
	RefreshInterval Duration  `yaml:"refresh_interval" default:"5m" desc:"How often secrets are read again from Vault."`
	Auth            VaultAuth `yaml:"auth" desc:"How the bridge logs in to Vault."`
}

// VaultAuth configures Vault authentication.
type VaultAuth struct {
	Method          string `yaml:"method" enum:"token,approle,kubernetes" desc:"Auth method."`
	Token           Secret `yaml:"token" desc:"Vault token (method token)."`
	RoleID          Secret `yaml:"role_id" desc:"AppRole role id (method approle)."`
	SecretID        Secret `yaml:"secret_id" desc:"AppRole secret id (method approle)."`
	SecretIDWrapped bool   `yaml:"secret_id_wrapped" desc:"secret_id is a response-wrapping token to unwrap (method approle)."`
	Role            string `yaml:"role" desc:"Vault role to log in as (method kubernetes)."`
	JWTFile         string `yaml:"jwt_file" desc:"Service account token file (method kubernetes); empty uses the pod's token."`
	Mount           string `yaml:"mount" desc:"Auth mount path; empty uses the method name."`
}
