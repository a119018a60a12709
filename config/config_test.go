package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// writeFile writes a config file into a temporary directory.
func writeFile(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "deskbridge.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// problemLines returns the "path: reason" lines of a *ValidationError.
func problemLines(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error is %T, not *ValidationError: %v", err, err)
	}
	if got := strings.Join(linesOf(ve), "\n"); got != ve.Error() {
		t.Fatalf("Error() = %q, want the problem lines %q", ve.Error(), got)
	}
	return linesOf(ve)
}

func linesOf(ve *ValidationError) []string {
	var lines []string
	for _, p := range ve.Problems {
		lines = append(lines, p.String())
	}
	return lines
}

func equalLines(t *testing.T, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("problems:\n  got:  %q\n  want: %q", got, want)
	}
}

const validYAML = `
store: { url: "sqlite://test.db" }
whatsapp:
  app_secret: env://WA_APP_SECRET
  verify_token: env://WA_VERIFY_TOKEN
  numbers:
    - phone_number_id: "1001"
      waba_id: "2001"
      access_token: env://WA_TOKEN
      helpdesk: support
mapping:
  routing:
    - name: vip
      when: "true"
helpdesks: # last, so that tests can append entries
  support:
    kind: zendesk
    base_url: https://acme.zendesk.com
    email: bot@acme.com
    api_token: env://ZD_TOKEN
`

// validConfig returns a valid configuration with defaults applied.
func validConfig(t *testing.T) *Config {
	t.Helper()
	c, err := LoadEnviron(writeFile(t, validYAML), nil)
	if err != nil {
		t.Fatalf("valid config: %v", err)
	}
	return c
}

func TestLoadExamples(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"../examples/minimal.yaml", "testdata/design.yaml", "testdata/full.yaml"} {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			c, err := LoadEnviron(path, nil)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if err := c.Validate(); err != nil {
				t.Fatalf("Validate after Load: %v", err)
			}
		})
	}
}

func TestLoadMinimal(t *testing.T) {
	t.Parallel()
	c, err := LoadEnviron("../examples/minimal.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"store kind", c.StoreKind(), "sqlite"},
		{"sqlite path", c.SQLitePath(), "deskbridge.db"},
		{"log format", c.Log.Format, "text"},
		{"log level default", c.Log.Level, "info"},
		{"api base url", c.WhatsApp.APIBaseURL, "http://127.0.0.1:8089"},
		{"api version default", c.WhatsApp.APIVersion, "v23.0"},
		{"numbers", len(c.WhatsApp.Numbers), 1},
		{"phone number id", c.WhatsApp.Numbers[0].PhoneNumberID, "106540352242922"},
		{"waba id", c.WhatsApp.Numbers[0].WABAID, "102290129340398"},
		{"app secret", string(c.WhatsApp.AppSecret), "env://WA_APP_SECRET?default=sandbox-app-secret"},
		{"helpdesks", len(c.Helpdesks), 0},
		{"vault", c.Vault.Address, ""},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s = %v, want %v", ck.name, ck.got, ck.want)
		}
	}
}

func TestLoadFull(t *testing.T) {
	t.Parallel()
	c, err := LoadEnviron("testdata/full.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.StoreKind() != "postgres" || c.SQLitePath() != "" {
		t.Errorf("StoreKind = %q, SQLitePath = %q", c.StoreKind(), c.SQLitePath())
	}
	if *c.Threading.ReopenSolved {
		t.Error("reopen_solved: false was replaced by the default")
	}
	if c.Queue.PollInterval.Duration() != 500*time.Millisecond || c.Threading.Window.Duration() != 12*time.Hour {
		t.Errorf("durations: %v %v", c.Queue.PollInterval, c.Threading.Window)
	}
	if c.Helpdesks["sales-eu"].Kind != "hubspot" || c.Mapping.Ticket.CustomFields["360004"] != "number.label" {
		t.Errorf("maps not decoded: %+v", c.Helpdesks)
	}
	if !c.Mapping.Routing[0].Continue || c.WhatsApp.Numbers[1].Coexistence != true {
		t.Error("bools not decoded")
	}
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "deskbridge.yaml")
	cases := []struct {
		name, path, want string
	}{
		{"empty path", "", "config: no configuration file given"},
		{"missing file", missing, "config: open " + missing + ": no such file or directory"},
		{"syntax", writeFile(t, "store: {url: x\n"), "did not find expected ',' or '}'"},
		{"two documents", writeFile(t, "store: {}\n---\nlog: {}\n"), "line 2: more than one YAML document"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := LoadEnviron(tc.path, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
			var ve *ValidationError
			if errors.As(err, &ve) {
				t.Errorf("got a *ValidationError for a file error")
			}
		})
	}
	if _, err := LoadEnviron(missing, nil); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file error does not wrap fs.ErrNotExist: %v", err)
	}
}

func TestLoadDecodeProblems(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		yaml string
		want []string
	}{
		{"unknown root key", "stroe: {url: x}\n", []string{"stroe: unknown key (line 1); did you mean store?"}},
		{"unknown nested key", "server:\n  publc_addr: x\n", []string{"server.publc_addr: unknown key (line 2); did you mean public_addr?"}},
		{"unknown key far from any", "server:\n  color: red\n", []string{"server.color: unknown key (line 2)"}},
		{"unknown key in list element", "whatsapp:\n  numbers:\n    - phone_number_id: '1'\n      lable: x\n",
			[]string{"whatsapp.numbers[0].lable: unknown key (line 4); did you mean label?"}},
		{"unknown key in map entry", "helpdesks:\n  support:\n    kind: zendesk\n    token: x\n",
			[]string{"helpdesks.support.token: unknown key (line 4)"}},
		{"duplicate key", "log:\n  level: info\n  level: debug\n", []string{"log.level: duplicate key (line 3)"}},
		{"bad duration", "threading:\n  window: soon\n",
			[]string{`threading.window: invalid duration "soon"; use a Go duration such as 30s, 5m or 24h (line 2)`}},
		{"bad int", "queue:\n  workers: many\n", []string{"queue.workers: must be an integer (line 2)"}},
		{"bad bool", "vault:\n  wait_at_start: perhaps\n", []string{"vault.wait_at_start: must be true or false (line 2)"}},
		{"section not a mapping", "server: 8080\n", []string{"server: must be a mapping (line 1)"}},
		{"list not a list", "mapping:\n  ticket:\n    tags: whatsapp\n", []string{"mapping.ticket.tags: must be a list (line 3)"}},
		{"map not a mapping", "helpdesks: [a]\n", []string{"helpdesks: must be a mapping (line 1)"}},
		{"string given a mapping", "log:\n  level: {a: b}\n", []string{"log.level: must be a string (line 2)"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// The snippet alone also lacks the required whatsapp keys; those
			// problems are reported too and ignored here.
			_, err := LoadEnviron(writeFile(t, tc.yaml), nil)
			got := problemLines(t, err)
			for _, w := range tc.want {
				if !slices.Contains(got, w) {
					t.Errorf("problems %q do not include %q", got, w)
				}
			}
		})
	}
}

func TestLoadMergeKeysAndAliases(t *testing.T) {
	t.Parallel()
	c, err := LoadEnviron(writeFile(t, `
whatsapp:
  app_secret: &s env://WA_APP_SECRET
  verify_token: *s
  numbers: [{phone_number_id: "1", helpdesk: b}]
helpdesks:
  a: &hd {kind: freshdesk, base_url: "https://a.freshdesk.com", api_token: env://FD}
  b:
    <<: *hd
    base_url: "https://b.freshdesk.com"
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.WhatsApp.VerifyToken != "env://WA_APP_SECRET" || c.Helpdesks["b"].Kind != "freshdesk" || c.Helpdesks["b"].BaseURL != "https://b.freshdesk.com" {
		t.Errorf("aliases/merge not applied: %+v %+v", c.WhatsApp, c.Helpdesks)
	}
}

func TestDecodeProblemsReportedWithValidation(t *testing.T) {
	t.Parallel()
	_, err := LoadEnviron(writeFile(t, "stroe: {}\nlog: {level: loud}\nthreading: {window: soon}\n"), nil)
	equalLines(t, problemLines(t, err), []string{
		"log.level: must be one of debug, info, warn, error",
		"whatsapp.app_secret: required",
		"whatsapp.verify_token: required",
		"whatsapp.numbers: at least one is required",
		`threading.window: invalid duration "soon"; use a Go duration such as 30s, 5m or 24h (line 3)`,
		"stroe: unknown key (line 1); did you mean store?",
	})
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	c := Defaults()
	ok := map[string]bool{
		"store.url":                   c.Store.URL == "sqlite://deskbridge.db",
		"server.public_addr":          c.Server.PublicAddr == ":8080",
		"server.internal_addr":        c.Server.InternalAddr == "127.0.0.1:9090",
		"server.shutdown_timeout":     c.Server.ShutdownTimeout.Duration() == 15*time.Second,
		"server.max_body_bytes":       c.Server.MaxBodyBytes == 3145728,
		"server.read_timeout":         c.Server.ReadTimeout.Duration() == 10*time.Second,
		"server.write_timeout":        c.Server.WriteTimeout.Duration() == 10*time.Second,
		"log.level":                   c.Log.Level == "info",
		"log.format":                  c.Log.Format == "json",
		"queue.workers":               c.Queue.Workers == 8,
		"queue.max_attempts":          c.Queue.MaxAttempts == 10,
		"queue.lease_ttl":             c.Queue.LeaseTTL.Duration() == 30*time.Second,
		"queue.job_timeout":           c.Queue.JobTimeout.Duration() == time.Minute,
		"queue.rescue_after":          c.Queue.RescueAfter.Duration() == 2*time.Minute,
		"queue.poll_interval":         c.Queue.PollInterval.Duration() == 200*time.Millisecond,
		"queue.reconcile_interval":    c.Queue.ReconcileInterval.Duration() == 30*time.Second,
		"queue.reconcile_after":       c.Queue.ReconcileAfter.Duration() == 2*time.Minute,
		"queue.retry_base":            c.Queue.RetryBase.Duration() == time.Second,
		"queue.retry_max":             c.Queue.RetryMax.Duration() == 10*time.Minute,
		"queue.max_events_per_job":    c.Queue.MaxEventsPerJob == 100,
		"whatsapp.api_base_url":       c.WhatsApp.APIBaseURL == "https://graph.facebook.com",
		"whatsapp.api_version":        c.WhatsApp.APIVersion == "v23.0",
		"threading.window":            c.Threading.Window.Duration() == 24*time.Hour,
		"threading.reopen_solved":     c.Threading.ReopenSolved != nil && *c.Threading.ReopenSolved,
		"outside_window.policy":       c.OutsideWindow.Policy == "note_only",
		"vault.refresh_interval":      c.Vault.RefreshInterval.Duration() == 5*time.Minute,
		"store.max_open_conns (none)": c.Store.MaxOpenConns == 0,
	}
	for key, good := range ok {
		if !good {
			t.Errorf("default of %s is wrong", key)
		}
	}

	// WithDefaults copies; explicit values and false pointers survive.
	no := false
	orig := &Config{Threading: ThreadingConfig{ReopenSolved: &no}, Queue: QueueConfig{Workers: 2},
		WhatsApp: WhatsAppConfig{Numbers: []Number{{PhoneNumberID: "1"}}}}
	d := orig.WithDefaults()
	if *d.Threading.ReopenSolved || d.Queue.Workers != 2 || d.Queue.MaxAttempts != 10 {
		t.Errorf("WithDefaults overrode explicit values: %+v %+v", d.Threading, d.Queue)
	}
	if orig.Queue.MaxAttempts != 0 || orig.Server.PublicAddr != "" {
		t.Error("WithDefaults modified its receiver")
	}
	d.WhatsApp.Numbers[0].PhoneNumberID = "2"
	if orig.WhatsApp.Numbers[0].PhoneNumberID != "1" {
		t.Error("WithDefaults shares lists with its receiver")
	}
}

func TestStoreKind(t *testing.T) {
	t.Parallel()
	cases := []struct{ url, kind, path string }{
		{"sqlite://deskbridge.db", "sqlite", "deskbridge.db"},
		{"sqlite:///var/lib/deskbridge/d.db", "sqlite", "/var/lib/deskbridge/d.db"},
		{"sqlite://d.db?_pragma=busy_timeout(5000)", "sqlite", "d.db"},
		{"postgres://u:p@db/deskbridge", "postgres", ""},
		{"postgresql://db/deskbridge", "postgres", ""},
		{"mysql://db", "", ""},
		{"", "", ""},
	}
	for _, tc := range cases {
		c := &Config{Store: StoreConfig{URL: tc.url}}
		if c.StoreKind() != tc.kind || c.SQLitePath() != tc.path {
			t.Errorf("%q: StoreKind = %q, SQLitePath = %q; want %q, %q", tc.url, c.StoreKind(), c.SQLitePath(), tc.kind, tc.path)
		}
	}
}

func TestDuration(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want string
	}{{"24h", "24h"}, {"1h30m", "1h30m"}, {"90s", "1m30s"}, {"1m", "1m"}, {"250ms", "250ms"}, {"0s", "0s"}} {
		d, err := ParseDuration(tc.in)
		if err != nil || d.String() != tc.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %s", tc.in, d, err, tc.want)
		}
		b, err := d.MarshalJSON()
		var back Duration
		if err != nil || back.UnmarshalJSON(b) != nil || back != d {
			t.Errorf("JSON round trip of %s: %s, %v", tc.in, b, back)
		}
	}
	var d Duration
	if err := d.UnmarshalJSON([]byte(`"soon"`)); err == nil {
		t.Error("UnmarshalJSON accepted soon")
	}
	if err := d.UnmarshalJSON([]byte(`5`)); err == nil {
		t.Error("UnmarshalJSON accepted a number")
	}
}

func TestPathOrder(t *testing.T) {
	t.Parallel()
	ordered := []string{
		"store.url",
		"server.public_addr",
		"whatsapp.numbers[2].phone_number_id",
		"whatsapp.numbers[10].phone_number_id",
		"helpdesks.a",
		"helpdesks.a.kind",
		"helpdesks.a.base_url",
		"helpdesks.b.kind",
		`mapping.ticket.custom_fields["a.b"]`,
		"vault.auth.method",
		"insecure_literal_secrets",
		"DESKBRIDGE_STROE_URL",
	}
	for i := 1; i < len(ordered); i++ {
		if comparePaths(ordered[i-1], ordered[i]) >= 0 {
			t.Errorf("%s should sort before %s", ordered[i-1], ordered[i])
		}
	}
	if got := splitPath(`a.b[0]["c.d"].e`); !reflect.DeepEqual(got, []string{"a", "b", "0", "c.d", "e"}) {
		t.Errorf("splitPath = %q", got)
	}
}
