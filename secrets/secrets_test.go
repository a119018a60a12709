package secrets

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deskbridge/deskbridge/config"
)

// fakeEnv and fakeFiles back a Resolver in tests.
var (
	fakeEnv = map[string]string{
		"WA_APP_SECRET": "app-secret-value",
		"EMPTY":         "",
	}
	fakeFiles = map[string]string{
		"/run/secrets/token":   "file-secret-value\n",
		"/run/secrets/crlf":    "crlf-secret-value\r\n",
		"/run/secrets/two":     "two-newlines-value\n\n",
		"/run/secrets/none":    "no-newline-value",
		"/run/secrets/empty":   "\n",
		"/run/secrets/private": "",
	}
)

func newFake() *Resolver {
	return New(
		func(k string) (string, bool) { v, ok := fakeEnv[k]; return v, ok },
		func(p string) ([]byte, error) {
			if p == "/run/secrets/private" {
				return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrPermission}
			}
			v, ok := fakeFiles[p]
			if !ok {
				return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
			}
			return []byte(v), nil
		},
	)
}

func TestResolve(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		secret  config.Secret
		want    string
		wantErr string
		is      error
	}{
		{"env set", "env://WA_APP_SECRET", "app-secret-value", "", nil},
		{"env set wins over default", "env://WA_APP_SECRET?default=dev-value", "app-secret-value", "", nil},
		{"env unset uses default", "env://UNSET?default=dev-value", "dev-value", "", nil},
		{"env unset", "env://WA_VERIFY", "", "secrets: env://WA_VERIFY: environment variable not set", ErrNotSet},
		{"env empty", "env://EMPTY", "", "secrets: env://EMPTY: environment variable is empty", ErrEmpty},
		{"env empty default", "env://UNSET?default=", "", "secrets: env://UNSET?default=[redacted]: environment variable is empty", ErrEmpty},
		{"file", "file:///run/secrets/token", "file-secret-value", "", nil},
		{"file crlf", "file:///run/secrets/crlf", "crlf-secret-value", "", nil},
		{"file trims one newline only", "file:///run/secrets/two", "two-newlines-value\n", "", nil},
		{"file without newline", "file:///run/secrets/none", "no-newline-value", "", nil},
		{"file missing", "file:///run/secrets/missing", "", "secrets: file:///run/secrets/missing: file does not exist", fs.ErrNotExist},
		{"file unreadable", "file:///run/secrets/private", "", "secrets: file:///run/secrets/private: permission denied reading the file", fs.ErrPermission},
		{"file empty", "file:///run/secrets/empty", "", "secrets: file:///run/secrets/empty: file is empty", ErrEmpty},
		{"vault", "vault://secret/x#k", "", "secrets: vault://secret/x#k: Vault references are not supported without a vault section", ErrVaultUnsupported},
		{"literal", "literal-value", "literal-value", "", nil},
		{"malformed", "vault://secret/x", "", "secrets: [redacted]: invalid secret reference: vault reference needs a #key: vault://mount/path#key", nil},
		{"empty", "", "", `secrets: "": no secret reference given`, ErrEmpty},
	}
	r := newFake()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := r.Resolve(context.Background(), tc.secret)
			if tc.wantErr == "" {
				if err != nil || string(got) != tc.want {
					t.Fatalf("Resolve = %q, %v; want %q", got, err, tc.want)
				}
				return
			}
			if err == nil || err.Error() != tc.wantErr {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			if got != nil {
				t.Errorf("value %q returned with an error", got)
			}
			var se *Error
			if !errors.As(err, &se) {
				t.Errorf("error is %T, not *Error", err)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error does not wrap %v", tc.is)
			}
			for _, v := range []string{"value", "dev-"} {
				if strings.Contains(err.Error(), v) {
					t.Errorf("error shows a value: %v", err)
				}
			}
		})
	}
}

func TestResolveCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := newFake().Resolve(ctx, "env://WA_APP_SECRET"); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	c := &config.Config{WhatsApp: config.WhatsAppConfig{AppSecret: "env://WA_APP_SECRET"}}
	if err := newFake().CheckAll(ctx, c); !errors.Is(err, context.Canceled) {
		t.Errorf("CheckAll err = %v, want context.Canceled", err)
	}
}

// Not parallel: uses the process environment.
func TestResolveDefaultsToOS(t *testing.T) {
	t.Setenv("DESKBRIDGE_TEST_SECRET", "from-os-env")
	path := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(path, []byte("from-os-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := New(nil, nil)
	for s, want := range map[config.Secret]string{
		"env://DESKBRIDGE_TEST_SECRET":  "from-os-env",
		config.Secret("file://" + path): "from-os-file",
	} {
		got, err := r.Resolve(context.Background(), s)
		if err != nil || string(got) != want {
			t.Errorf("Resolve(%s) = %q, %v; want %q", s, got, err, want)
		}
	}
}

func TestCheckAll(t *testing.T) {
	t.Parallel()
	c := &config.Config{
		Server: config.ServerConfig{AdminToken: "file:///run/secrets/missing"},
		WhatsApp: config.WhatsAppConfig{
			AppSecret:   "env://WA_APP_SECRET",
			VerifyToken: "env://WA_VERIFY_TOKEN",
			Numbers: []config.Number{
				{PhoneNumberID: "1", AccessToken: "file:///run/secrets/token"},
				{PhoneNumberID: "2", AccessToken: "vault://secret/meta#token"},
			},
		},
		Helpdesks: map[string]config.Helpdesk{
			"support": {APIToken: "env://ZD_TOKEN?default=dev", WebhookSecret: "env://ZD_HOOK"},
		},
	}
	err := newFake().CheckAll(context.Background(), c)
	var ce *CheckError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v (%T), want *CheckError", err, err)
	}
	want := strings.Join([]string{
		"server.admin_token: file:///run/secrets/missing: file does not exist",
		"whatsapp.verify_token: env://WA_VERIFY_TOKEN: environment variable not set",
		"whatsapp.numbers[1].access_token: vault://secret/meta#token: Vault references are not supported without a vault section",
		"helpdesks.support.webhook_secret: env://ZD_HOOK: environment variable not set",
	}, "\n")
	if err.Error() != want {
		t.Errorf("CheckAll:\n%s\nwant:\n%s", err, want)
	}
	if !errors.Is(err, ErrVaultUnsupported) || !errors.Is(err, ErrNotSet) || !errors.Is(err, fs.ErrNotExist) {
		t.Error("CheckError does not unwrap to its causes")
	}
	if len(ce.Failures) != 4 || ce.Failures[0].Path != "server.admin_token" {
		t.Errorf("failures = %+v", ce.Failures)
	}

	ok := &config.Config{WhatsApp: config.WhatsAppConfig{AppSecret: "env://WA_APP_SECRET", VerifyToken: "literal"}}
	if err := newFake().CheckAll(context.Background(), ok); err != nil {
		t.Errorf("CheckAll of resolvable secrets: %v", err)
	}
}

// The minimal example resolves with no environment at all, thanks to its
// env defaults.
func TestCheckAllMinimalExample(t *testing.T) {
	t.Parallel()
	c, err := config.LoadEnviron("../examples/minimal.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	r := New(func(string) (string, bool) { return "", false }, func(string) ([]byte, error) { return nil, fs.ErrNotExist })
	if err := r.CheckAll(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	v, err := r.Resolve(context.Background(), c.WhatsApp.AppSecret)
	if err != nil || string(v) != "sandbox-app-secret" {
		t.Errorf("app_secret = %q, %v", v, err)
	}
}
