package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestConfigValidateExample(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := runCmd(t, "config", "validate", "--config", examplePath)
	if code != 0 {
		t.Fatalf("exit code = %d, want 0; stderr:\n%s", code, stderr)
	}
	if want := examplePath + ": valid\n"; stdout != want {
		t.Errorf("stdout = %q, want %q", stdout, want)
	}
	if stderr != "" {
		t.Errorf("stderr = %q, want empty", stderr)
	}
}

// problemsConfig has one problem of each kind: an unknown key (a typo of
// store), a bad duration, a literal secret without insecure_literal_secrets
// and a helpdesk kind outside the enum.
const problemsConfig = `stroe:
  url: "sqlite://x.db"
server:
  shutdown_timeout: soon
whatsapp:
  app_secret: "plain-secret-value"
  verify_token: "env://WA_VERIFY_TOKEN"
  numbers:
    - phone_number_id: "123"
      helpdesk: support
helpdesks:
  support:
    kind: jira
    base_url: "https://acme.example"
    api_token: "env://SUPPORT_TOKEN"
`

func TestConfigValidateReportsEveryProblem(t *testing.T) {
	t.Parallel()
	p := writeFile(t, "problems.yaml", problemsConfig)
	code, stdout, stderr := runCmd(t, "config", "validate", "--config", p)
	if code != 1 {
		t.Errorf("exit code = %d, want 1", code)
	}
	if stdout != "" {
		t.Errorf("stdout = %q, want empty", stdout)
	}
	checkNoPanic(t, stderr)
	if strings.Contains(stderr, "plain-secret-value") {
		t.Errorf("stderr shows the literal secret:\n%s", stderr)
	}

	// Each problem is one line that starts with its key path.
	wantPrefixes := []string{
		"stroe: unknown key",
		`server.shutdown_timeout: invalid duration "soon"`,
		"whatsapp.app_secret: literal secret not allowed",
		"helpdesks.support.kind: must be one of zendesk, freshdesk, hubspot",
	}
	lines := nonEmptyLines(stderr)
	if len(lines) != 1+len(wantPrefixes) {
		t.Errorf("stderr has %d lines, want a header and %d problems:\n%s", len(lines), len(wantPrefixes), stderr)
	}
	if len(lines) > 0 {
		header := fmt.Sprintf("deskbridge: invalid configuration %s (%d problems):", p, len(wantPrefixes))
		if lines[0] != header {
			t.Errorf("first line = %q, want %q", lines[0], header)
		}
	}
	for _, want := range wantPrefixes {
		found := false
		for _, l := range lines {
			if strings.HasPrefix(l, want) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("no stderr line starts with %q:\n%s", want, stderr)
		}
	}
	// The typo gets a suggestion.
	if !strings.Contains(stderr, "did you mean store?") {
		t.Errorf("stderr does not suggest store for stroe:\n%s", stderr)
	}
}

// TestConfigValidateEnvOverride cannot be parallel: it sets DESKBRIDGE_*
// variables.
func TestConfigValidateEnvOverride(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		wantCode int
		want     []string // lines (prefixes) expected on stderr, or stdout when valid
	}{
		{
			name:     "invalid duration",
			env:      map[string]string{"DESKBRIDGE_SERVER_SHUTDOWN_TIMEOUT": "soon"},
			wantCode: 1,
			want:     []string{`server.shutdown_timeout: invalid duration "soon"`},
		},
		{
			name:     "invalid enum",
			env:      map[string]string{"DESKBRIDGE_LOG_LEVEL": "loud"},
			wantCode: 1,
			want:     []string{"log.level: must be one of debug, info, warn, error"},
		},
		{
			name:     "variable naming no key",
			env:      map[string]string{"DESKBRIDGE_STROE_URL": "sqlite://x.db"},
			wantCode: 1,
			want:     []string{"DESKBRIDGE_STROE_URL: "},
		},
		{
			name: "two invalid variables",
			env: map[string]string{
				"DESKBRIDGE_SERVER_SHUTDOWN_TIMEOUT": "soon",
				"DESKBRIDGE_QUEUE_WORKERS":           "-1",
			},
			wantCode: 1,
			want: []string{
				`server.shutdown_timeout: invalid duration "soon"`,
				"queue.workers: must be at least 1",
			},
		},
		{
			name:     "valid override",
			env:      map[string]string{"DESKBRIDGE_SERVER_SHUTDOWN_TIMEOUT": "30s"},
			wantCode: 0,
			want:     []string{examplePath + ": valid"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			code, stdout, stderr := runCmd(t, "config", "validate", "--config", examplePath)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d; stderr:\n%s", code, tt.wantCode, stderr)
			}
			checkNoPanic(t, stdout+stderr)
			out := stderr
			if tt.wantCode == 0 {
				out = stdout
			}
			lines := nonEmptyLines(out)
			for _, want := range tt.want {
				found := false
				for _, l := range lines {
					if strings.HasPrefix(l, want) {
						found = true
					}
				}
				if !found {
					t.Errorf("no line starts with %q:\n%s", want, out)
				}
			}
			if tt.wantCode != 0 {
				if got, want := len(lines), 1+len(tt.want); got != want {
					t.Errorf("stderr has %d lines, want %d:\n%s", got, want, stderr)
				}
				// A value that does not parse names the variable it came
				// from (a parsed value that breaks a rule, such as log.level
				// outside its enum, is reported by key path only).
				for _, k := range []string{"DESKBRIDGE_SERVER_SHUTDOWN_TIMEOUT"} {
					if _, set := tt.env[k]; set && !strings.Contains(stderr, "(from "+k+")") {
						t.Errorf("stderr does not name the variable %s:\n%s", k, stderr)
					}
				}
			}
		})
	}
}

// printConfig holds literal secrets (allowed by insecure_literal_secrets),
// an env reference with a default and a store URL with passwords.
const printConfig = `insecure_literal_secrets: true
store:
  url: "postgres://deskuser:pa55word-xyz@db.example:5432/desk?sslmode=disable&password=qp-secret-xyz"
whatsapp:
  app_secret: "s3cr3t-value"
  verify_token: "env://WA_VERIFY_TOKEN?default=tok-default-xyz"
  numbers:
    - phone_number_id: "106540352242922"
      access_token: "file:///run/secrets/wa_token"
      helpdesk: support
helpdesks:
  support:
    kind: zendesk
    base_url: "https://acme.zendesk.com"
    email: "bot@acme.com"
    api_token: "hd-literal-token-xyz"
`

// printSecrets are the values config print must never show.
var printSecrets = []string{"pa55word-xyz", "qp-secret-xyz", "s3cr3t-value", "tok-default-xyz", "hd-literal-token-xyz"}

// printed runs config print on the file at p and decodes its YAML.
func printed(t *testing.T, p string) (string, map[string]any) {
	t.Helper()
	code, stdout, stderr := runCmd(t, "config", "print", "--config", p)
	if code != 0 {
		t.Fatalf("exit code = %d, want 0; stderr:\n%s", code, stderr)
	}
	if stderr != "" {
		t.Errorf("stderr = %q, want empty", stderr)
	}
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("config print output is not YAML: %v\n%s", err, stdout)
	}
	return stdout, doc
}

// lookup returns the value at a dotted path of a decoded YAML document.
func lookup(t *testing.T, doc map[string]any, path string) any {
	t.Helper()
	var cur any = doc
	for key := range strings.SplitSeq(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			t.Fatalf("%s: %v is not a mapping", path, cur)
		}
		if cur, ok = m[key]; !ok {
			t.Fatalf("%s: key %s missing", path, key)
		}
	}
	return cur
}

func TestConfigPrintRedactsSecrets(t *testing.T) {
	t.Parallel()
	p := writeFile(t, "print.yaml", printConfig)
	stdout, doc := printed(t, p)
	for _, s := range printSecrets {
		if strings.Contains(stdout, s) {
			t.Errorf("config print shows the secret %q:\n%s", s, stdout)
		}
	}
	if !strings.Contains(stdout, "[redacted]") {
		t.Errorf("config print has no [redacted]:\n%s", stdout)
	}
	tests := []struct {
		path string
		want any
	}{
		{"store.url", "postgres://deskuser:[redacted]@db.example:5432/desk?sslmode=disable&password=[redacted]"},
		{"whatsapp.app_secret", "[redacted]"},
		{"whatsapp.verify_token", "env://WA_VERIFY_TOKEN?default=[redacted]"},
		{"helpdesks.support.api_token", "[redacted]"},
		{"insecure_literal_secrets", true},
		// Defaults are filled in.
		{"server.shutdown_timeout", "15s"},
		{"server.public_addr", ":8080"},
		{"server.internal_addr", "127.0.0.1:9090"},
		{"log.level", "info"},
		{"log.format", "json"},
		{"queue.workers", 8},
		{"queue.poll_interval", "200ms"},
		{"threading.window", "24h"},
		{"threading.reopen_solved", true},
		{"outside_window.policy", "note_only"},
		{"whatsapp.api_version", "v23.0"},
	}
	for _, tt := range tests {
		if got := lookup(t, doc, tt.path); got != tt.want {
			t.Errorf("%s = %#v, want %#v", tt.path, got, tt.want)
		}
	}
	// References without a default are shown as written.
	numbers, ok := lookup(t, doc, "whatsapp.numbers").([]any)
	if !ok || len(numbers) != 1 {
		t.Fatalf("whatsapp.numbers = %#v, want one number", lookup(t, doc, "whatsapp.numbers"))
	}
	n, _ := numbers[0].(map[string]any)
	if got, want := n["access_token"], "file:///run/secrets/wa_token"; got != want {
		t.Errorf("whatsapp.numbers[0].access_token = %#v, want %q", got, want)
	}
	if got, want := n["phone_number_id"], "106540352242922"; got != want {
		t.Errorf("whatsapp.numbers[0].phone_number_id = %#v, want the string %q", got, want)
	}
}

// TestConfigPrintEnvOverride cannot be parallel: it sets DESKBRIDGE_*
// variables.
func TestConfigPrintEnvOverride(t *testing.T) {
	t.Setenv("DESKBRIDGE_LOG_LEVEL", "debug")
	t.Setenv("DESKBRIDGE_SERVER_SHUTDOWN_TIMEOUT", "45s")
	t.Setenv("DESKBRIDGE_WHATSAPP_APP_SECRET", "env-literal-secret-xyz")
	p := writeFile(t, "print.yaml", printConfig)
	stdout, doc := printed(t, p)
	for _, s := range append(printSecrets, "env-literal-secret-xyz") {
		if strings.Contains(stdout, s) {
			t.Errorf("config print shows the secret %q:\n%s", s, stdout)
		}
	}
	for path, want := range map[string]any{
		"log.level":               "debug",
		"server.shutdown_timeout": "45s",
		"whatsapp.app_secret":     "[redacted]",
		"log.format":              "json",
	} {
		if got := lookup(t, doc, path); got != want {
			t.Errorf("%s = %#v, want %#v", path, got, want)
		}
	}
}

func TestConfigPrintInvalid(t *testing.T) {
	t.Parallel()
	p := writeFile(t, "problems.yaml", problemsConfig)
	code, stdout, stderr := runCmd(t, "config", "print", "--config", p)
	if code != 1 {
		t.Errorf("exit code = %d, want 1", code)
	}
	if stdout != "" {
		t.Errorf("stdout = %q, want nothing printed for an invalid configuration", stdout)
	}
	if !strings.Contains(stderr, "helpdesks.support.kind: must be one of") {
		t.Errorf("stderr does not list the problems:\n%s", stderr)
	}
}

func TestConfigSchema(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := runCmd(t, "config", "schema")
	if code != 0 {
		t.Fatalf("exit code = %d, want 0; stderr:\n%s", code, stderr)
	}
	if stderr != "" {
		t.Errorf("stderr = %q, want empty", stderr)
	}
	if !json.Valid([]byte(stdout)) {
		t.Fatalf("config schema output is not valid JSON:\n%s", stdout)
	}
	var schema struct {
		Schema     string                     `json:"$schema"`
		Type       string                     `json:"type"`
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal([]byte(stdout), &schema); err != nil {
		t.Fatal(err)
	}
	if schema.Schema == "" {
		t.Error(`schema has no "$schema"`)
	}
	for _, key := range []string{"store", "server", "log", "queue", "whatsapp", "helpdesks", "vault", "insecure_literal_secrets"} {
		if _, ok := schema.Properties[key]; !ok {
			t.Errorf("schema properties lack %q", key)
		}
	}
}

func TestConfigSchemaIgnoresConfig(t *testing.T) {
	t.Parallel()
	// schema describes the file format and needs no configuration: a
	// broken --config does not matter.
	p := writeFile(t, "problems.yaml", problemsConfig)
	code, stdout, stderr := runCmd(t, "config", "schema", "--config", p)
	if code != 0 {
		t.Fatalf("exit code = %d, want 0; stderr:\n%s", code, stderr)
	}
	if !json.Valid([]byte(stdout)) {
		t.Error("config schema output is not valid JSON")
	}
}

func TestConfigValidateCompilesMapping(t *testing.T) {
	t.Parallel()
	p := writeFile(t, "deskbridge.yaml", `whatsapp:
  app_secret: "env://A?default=x"
  verify_token: "env://B?default=y"
  numbers: [{phone_number_id: "1"}]
mapping:
  ticket:
    subject: "contact.nmae + 1"
    tags: ["lower(message.text)", "1"]
  routing:
    - name: billing
      when: "message.text"
`)
	code, stdout, stderr := runCmd(t, "config", "validate", "--config", p)
	if code != 1 || stdout != "" {
		t.Fatalf("exit %d, stdout %q", code, stdout)
	}
	for _, want := range []string{
		"(3 problems):",
		"mapping.ticket.subject: undefined field 'nmae' (1:8)",
		"mapping.ticket.tags[1]: expression has type int, want string, list(string) or null (1:1)",
		"mapping.routing[0].when: expression has type string, want bool",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}
