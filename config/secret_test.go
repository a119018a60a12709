package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestParseSecretRef(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		want SecretRef
		str  string // SecretRef.String()
	}{
		{"env://WA_APP_SECRET", SecretRef{Scheme: SchemeEnv, Name: "WA_APP_SECRET"}, "env://WA_APP_SECRET"},
		{"env://_x1", SecretRef{Scheme: SchemeEnv, Name: "_x1"}, "env://_x1"},
		{"env://WA?default=sandbox", SecretRef{Scheme: SchemeEnv, Name: "WA", Default: "sandbox", HasDefault: true},
			"env://WA?default=[redacted]"},
		{"env://WA?default=a=b&c d", SecretRef{Scheme: SchemeEnv, Name: "WA", Default: "a=b&c d", HasDefault: true},
			"env://WA?default=[redacted]"},
		{"env://WA?default=", SecretRef{Scheme: SchemeEnv, Name: "WA", HasDefault: true}, "env://WA?default=[redacted]"},
		{"ENV://WA", SecretRef{Scheme: SchemeEnv, Name: "WA"}, "env://WA"},
		{"file:///run/secrets/token", SecretRef{Scheme: SchemeFile, Path: "/run/secrets/token"}, "file:///run/secrets/token"},
		{"vault://secret/deskbridge/meta#app_secret",
			SecretRef{Scheme: SchemeVault, Mount: "secret", Path: "deskbridge/meta", Key: "app_secret", KV: 2},
			"vault://secret/deskbridge/meta#app_secret"},
		{"vault://secret/deskbridge/meta?version=3#app_secret",
			SecretRef{Scheme: SchemeVault, Mount: "secret", Path: "deskbridge/meta", Key: "app_secret", KV: 2, Version: 3},
			"vault://secret/deskbridge/meta?version=3#app_secret"},
		{"vault://secret/deskbridge/meta#app_secret?version=3",
			SecretRef{Scheme: SchemeVault, Mount: "secret", Path: "deskbridge/meta", Key: "app_secret", KV: 2, Version: 3},
			"vault://secret/deskbridge/meta?version=3#app_secret"},
		{"vault://kv/team/app?kv=1#token", SecretRef{Scheme: SchemeVault, Mount: "kv", Path: "team/app", Key: "token", KV: 1},
			"vault://kv/team/app?kv=1#token"},
		{"vault://kv/app?kv=2&version=7#k", SecretRef{Scheme: SchemeVault, Mount: "kv", Path: "app", Key: "k", KV: 2, Version: 7},
			"vault://kv/app?version=7#k"},
		{"hunter2", SecretRef{Scheme: SchemeLiteral}, "[redacted]"},
		{"pa:ss/w0rd", SecretRef{Scheme: SchemeLiteral}, "[redacted]"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseSecretRef(tc.in)
			if err != nil {
				t.Fatalf("ParseSecretRef: %v", err)
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
			if got.String() != tc.str {
				t.Errorf("String() = %q, want %q", got.String(), tc.str)
			}
		})
	}
}

// malformedRefs are references ParseSecretRef refuses, with its reason.
var malformedRefs = []struct{ in, want string }{
	{"", "empty secret reference"},
	{"env://", "env reference needs a variable name: env://NAME"},
	{"env://?default=x", "env reference needs a variable name: env://NAME"},
	{"env://1ABC", "env reference has an invalid variable name (letters, digits and _ only)"},
	{"env://A-B", "env reference has an invalid variable name (letters, digits and _ only)"},
	{"env://A?fallback=x", "env reference accepts only ?default=VALUE"},
	{"file://", "file reference needs an absolute path: file:///abs/path"},
	{"file://relative/token", "file reference needs an absolute path: file:///abs/path"},
	{"vault://secret/x", "vault reference needs a #key: vault://mount/path#key"},
	{"vault://secret/x#", "vault reference needs a #key: vault://mount/path#key"},
	{"vault://secret#k", "vault reference needs a secret path after the mount: vault://mount/path#key"},
	{"vault://secret/#k", "vault reference needs a secret path after the mount: vault://mount/path#key"},
	{"vault:///x#k", "vault reference needs a mount: vault://mount/path#key"},
	{"vault://secret/a//b#k", "vault reference has an empty, . or .. path segment"},
	{"vault://secret/../b#k", "vault reference has an empty, . or .. path segment"},
	{"vault://secret/x?version=0#k", "vault reference version must be a positive integer"},
	{"vault://secret/x?version=two#k", "vault reference version must be a positive integer"},
	{"vault://secret/x?kv=3#k", "vault reference kv must be 1 or 2"},
	{"vault://secret/x?kv=1&version=2#k", "vault reference version needs KV v2 (kv=2)"},
	{"vault://secret/x?version=1&version=2#k", "vault reference repeats a parameter"},
	{"vault://secret/x?engine=kv#k", "vault reference has an unknown parameter (known: kv, version)"},
	{"vault://secret/x?kv=1#k?version=2", "vault reference has two queries"},
	{"vault://secret/x?%zz#k", "vault reference has a malformed query"},
	{"https://vault/secret", "unsupported secret scheme; use env://, file:// or vault://"},
}

func TestParseSecretRefMalformed(t *testing.T) {
	t.Parallel()
	for _, tc := range malformedRefs {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			_, err := ParseSecretRef(tc.in)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	// Errors never quote the input, which may be a mistyped secret.
	for _, in := range []string{"env://?default=TOPSECRET", "env://A?TOPSECRET", "vault://s/x?TOPSECRET=1#k",
		"vault://s/x?TOPSECRET", "TOPSECRET://x", "file://TOPSECRET", "env://TOP-SECRET"} {
		if _, err := ParseSecretRef(in); err == nil || strings.Contains(err.Error(), "SECRET") {
			t.Errorf("ParseSecretRef(%q) = %v", in, err)
		}
	}
}

// Literal secrets are refused unless insecure_literal_secrets, and malformed
// references are named by key path.
func TestLiteralSecrets(t *testing.T) {
	t.Parallel()
	const refused = "literal secret not allowed; use env://, file:// or vault:// (or set insecure_literal_secrets: true)"
	base := "whatsapp:\n  verify_token: env://V\n"
	number := "  numbers: [{phone_number_id: '1'}]\n"
	cases := []struct {
		name, yaml string
		want       []string
	}{
		{"refused", base + number + "  app_secret: hunter2\n", []string{"whatsapp.app_secret: " + refused}},
		{"allowed", base + number + "  app_secret: hunter2\ninsecure_literal_secrets: true\n", nil},
		{"refused in a number", base + "  app_secret: env://A\n  numbers: [{phone_number_id: '1', access_token: tok}]\n",
			[]string{"whatsapp.numbers[0].access_token: " + refused}},
		{"refused in a map entry",
			base + number + "  app_secret: env://A\nhelpdesks: {hd: {kind: hubspot, base_url: 'https://x', oauth_token: tok}}\n",
			[]string{"whatsapp.numbers[0].helpdesk: required: name one of helpdesks (hd)", "helpdesks.hd.oauth_token: " + refused}},
		{"malformed named by key", base + number + "  app_secret: vault://secret/x\n",
			[]string{"whatsapp.app_secret: invalid secret reference: vault reference needs a #key: vault://mount/path#key"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := LoadEnviron(writeFile(t, tc.yaml), nil)
			equalLines(t, problemLines(t, err), tc.want)
		})
	}
}

// leaks lists the secret values a test config holds; none may appear in any
// printed, logged or marshalled form.
var leaks = []string{"hunter2", "dev-default", "pgpass", "admin-literal"}

func leakyConfig(t *testing.T) *Config {
	t.Helper()
	c := validConfig(t)
	c.InsecureLiteralSecrets = true
	c.WhatsApp.AppSecret = "hunter2"
	c.WhatsApp.VerifyToken = "env://WA_VERIFY_TOKEN?default=dev-default"
	c.Server.AdminToken = "admin-literal"
	c.Store.URL = "postgres://bridge:pgpass@db/deskbridge?password=pgpass&sslmode=disable"
	return c
}

func assertNoLeak(t *testing.T, what, out string) {
	t.Helper()
	for _, l := range leaks {
		if strings.Contains(out, l) {
			t.Errorf("%s leaks %q:\n%s", what, l, out)
		}
	}
}

func TestSecretFormatting(t *testing.T) {
	t.Parallel()
	lit := Secret("hunter2")
	def := Secret("env://WA?default=dev-default")
	ref := Secret("vault://secret/x#k")
	cases := []struct {
		format string
		arg    any
		want   string
	}{
		{"%v", lit, "[redacted]"},
		{"%+v", lit, "[redacted]"},
		{"%#v", lit, `config.Secret("[redacted]")`},
		{"%s", lit, "[redacted]"},
		{"%q", lit, `"[redacted]"`},
		{"%12s|", lit, "  [redacted]|"},
		{"%x", lit, fmt.Sprintf("%x", "[redacted]")},
		{"%d", lit, "%!d(string=[redacted])"},
		{"%v", def, "env://WA?default=[redacted]"},
		{"%#v", def, `config.Secret("env://WA?default=[redacted]")`},
		{"%s", ref, "vault://secret/x#k"},
		{"%v", Secret(""), ""},
		{"%v", Secret("vault://broken"), "[redacted]"},
		{"%v", &lit, "[redacted]"},
	}
	for _, tc := range cases {
		if got := fmt.Sprintf(tc.format, tc.arg); got != tc.want {
			t.Errorf("Sprintf(%q, %s) = %q, want %q", tc.format, tc.arg, got, tc.want)
		}
	}
	if got := lit.String() + fmt.Sprint(lit) + fmt.Sprintln(lit); strings.Contains(got, "hunter2") {
		t.Errorf("Sprint leaks: %q", got)
	}
	if lit.GoString() != `config.Secret("[redacted]")` {
		t.Errorf("GoString = %q", lit.GoString())
	}

	// Whole structs, through every verb.
	c := leakyConfig(t)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		assertNoLeak(t, "Sprintf("+verb+", cfg.WhatsApp)", fmt.Sprintf(verb, c.WhatsApp))
		assertNoLeak(t, "Sprintf("+verb+", cfg.Server)", fmt.Sprintf(verb, c.Server))
		assertNoLeak(t, "Sprintf("+verb+", redacted cfg)", fmt.Sprintf(verb, *c.Redacted()))
	}
}

func TestSecretLoggingAndMarshalling(t *testing.T) {
	t.Parallel()
	c := leakyConfig(t)
	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewJSONHandler(&buf, nil), slog.NewTextHandler(&buf, nil)} {
		log := slog.New(h)
		log.Info("secret", "app_secret", c.WhatsApp.AppSecret, slog.Any("verify_token", c.WhatsApp.VerifyToken))
		log.Info("whatsapp", "whatsapp", c.WhatsApp, "server", c.Server)
	}
	assertNoLeak(t, "slog", buf.String())
	if !strings.Contains(buf.String(), `"app_secret":"[redacted]"`) || !strings.Contains(buf.String(), "app_secret=[redacted]") {
		t.Errorf("slog output lacks the redacted value:\n%s", buf.String())
	}

	// store.url is a plain string: Redacted, not marshalling, hides its password.
	j, err := json.Marshal(map[string]any{"whatsapp": c.WhatsApp, "server": c.Server, "redacted": c.Redacted()})
	if err != nil {
		t.Fatal(err)
	}
	assertNoLeak(t, "json.Marshal", string(j))
	y, err := yaml.Marshal(c.WhatsApp)
	if err != nil {
		t.Fatal(err)
	}
	assertNoLeak(t, "yaml.Marshal", string(y))
}

func TestRedacted(t *testing.T) {
	t.Parallel()
	c := leakyConfig(t)
	r := c.Redacted()
	checks := []struct{ name, got, want string }{
		{"literal", string(r.WhatsApp.AppSecret), "[redacted]"},
		{"env default", string(r.WhatsApp.VerifyToken), "env://WA_VERIFY_TOKEN?default=[redacted]"},
		{"admin literal", string(r.Server.AdminToken), "[redacted]"},
		{"env ref kept", string(r.WhatsApp.Numbers[0].AccessToken), "env://WA_TOKEN"},
		{"map secret kept", string(r.Helpdesks["support"].APIToken), "env://ZD_TOKEN"},
		{"store password", r.Store.URL, "postgres://bridge:[redacted]@db/deskbridge?password=[redacted]&sslmode=disable"},
		{"original untouched", string(c.WhatsApp.AppSecret), "hunter2"},
		{"original url untouched", c.Store.URL, "postgres://bridge:pgpass@db/deskbridge?password=pgpass&sslmode=disable"},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s = %q, want %q", ck.name, ck.got, ck.want)
		}
	}
	if !reflect.DeepEqual(c.Redacted().Redacted(), c.Redacted()) {
		t.Error("Redacted is not idempotent")
	}

	var buf bytes.Buffer
	if err := c.WriteYAML(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	assertNoLeak(t, "WriteYAML", out)
	for _, want := range []string{"app_secret: '[redacted]'", "verify_token: env://WA_VERIFY_TOKEN?default=[redacted]",
		"url: postgres://bridge:[redacted]@db/deskbridge?password=[redacted]&sslmode=disable", "shutdown_timeout: 15s", "window: 24h"} {
		if !strings.Contains(out, want) {
			t.Errorf("WriteYAML output lacks %q:\n%s", want, out)
		}
	}
	// The printed configuration loads back (but for the redacted password,
	// which is no valid URL user info).
	back, err := LoadEnviron(writeFile(t, out), []string{"DESKBRIDGE_STORE_URL=postgres://db/x"})
	if err != nil {
		t.Fatalf("WriteYAML output does not load: %v\n%s", err, out)
	}
	back.Store.URL = r.Store.URL
	var again bytes.Buffer
	if err := back.WriteYAML(&again); err != nil {
		t.Fatal(err)
	}
	if again.String() != out {
		t.Errorf("round trip differs:\n%s\nthen:\n%s", out, again.String())
	}
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"postgres://user:pw@host/db":              "postgres://user:[redacted]@host/db",
		"postgres://user:p%40ss@host:5432/db?x=1": "postgres://user:[redacted]@host:5432/db?x=1",
		"postgres://user@host/db":                 "postgres://user@host/db",
		"postgres://host/db?user=u&PASSWORD=pw#f": "postgres://host/db?user=u&PASSWORD=[redacted]#f",
		"postgresql://u:pw@h":                     "postgresql://u:[redacted]@h",
		"sqlite://deskbridge.db":                  "sqlite://deskbridge.db",
		"not a url":                               "not a url",
	} {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSecrets(t *testing.T) {
	t.Parallel()
	c, err := LoadEnviron("testdata/full.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range c.Secrets() {
		got = append(got, s.Path+"="+string(s.Secret))
	}
	equalLines(t, got, []string{
		"server.admin_token=file:///run/secrets/admin_token",
		"whatsapp.app_secret=vault://secret/deskbridge/meta?version=3#app_secret",
		"whatsapp.verify_token=env://WA_VERIFY_TOKEN",
		"whatsapp.numbers[0].access_token=vault://secret/deskbridge/meta#token",
		"whatsapp.numbers[1].access_token=vault://kv1/deskbridge/meta?kv=1#token",
		"helpdesks.sales-eu.oauth_token=env://HUBSPOT_TOKEN",
		"helpdesks.support.api_token=env://ZENDESK_TOKEN",
		"helpdesks.support.webhook_secret=env://ZENDESK_WEBHOOK_SECRET",
		"vault.auth.role_id=env://VAULT_ROLE_ID",
		"vault.auth.secret_id=file:///run/secrets/vault_secret_id",
	})
}
