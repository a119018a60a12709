package secrets_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deskbridge/deskbridge/config"
	"github.com/deskbridge/deskbridge/secrets"
)

// fakeVault answers the few Vault API paths the bridge uses.
type fakeVault struct {
	mu      sync.Mutex
	tokens  map[string]bool
	sealed  bool
	kv2     map[string][]map[string]any // path → versions (1-based)
	kv1     map[string]map[string]any
	reads   int
	logins  int
	rawBody map[string]string // path → body served as is
}

func newFakeVault() *fakeVault {
	return &fakeVault{tokens: map[string]bool{"root": true}, kv2: map[string][]map[string]any{},
		kv1: map[string]map[string]any{}, rawBody: map[string]string{}}
}

func (f *fakeVault) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fail := func(code int, msg string) {
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(map[string]any{"errors": []string{msg}})
	}
	if f.sealed {
		fail(http.StatusServiceUnavailable, "Vault is sealed")
		return
	}
	p := strings.TrimPrefix(r.URL.Path, "/v1/")
	if p == "auth/kubernetes/login" {
		var in map[string]string
		_ = json.NewDecoder(r.Body).Decode(&in)
		if in["role"] != "deskbridge" || in["jwt"] != "sa-jwt" {
			fail(http.StatusForbidden, "permission denied")
			return
		}
		f.tokens["k8s-token"] = true
		_ = json.NewEncoder(w).Encode(map[string]any{"auth": map[string]any{"client_token": "k8s-token", "renewable": true, "lease_duration": 3600}})
		return
	}
	if p == "auth/approle/login" {
		var in map[string]string
		_ = json.NewDecoder(r.Body).Decode(&in)
		if in["role_id"] != "role" || in["secret_id"] != "sid" {
			fail(http.StatusBadRequest, "invalid role or secret ID")
			return
		}
		f.tokens["approle-token"] = true
		f.logins++
		_ = json.NewEncoder(w).Encode(map[string]any{"auth": map[string]any{"client_token": "approle-token", "renewable": true, "lease_duration": 3600}})
		return
	}
	if !f.tokens[r.Header.Get("X-Vault-Token")] {
		fail(http.StatusForbidden, "permission denied")
		return
	}
	if body, ok := f.rawBody[p]; ok {
		_, _ = w.Write([]byte(body))
		return
	}
	switch {
	case p == "auth/token/lookup-self":
		ttl := 0
		if r.Header.Get("X-Vault-Token") == "approle-token" {
			ttl = 3600
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"ttl": ttl, "renewable": false}})
	case strings.HasPrefix(p, "secret/data/"):
		f.reads++
		versions := f.kv2[strings.TrimPrefix(p, "secret/data/")]
		n := len(versions)
		if v := r.URL.Query().Get("version"); v != "" {
			var pin int
			_, _ = fmtSscan(v, &pin)
			n = pin
		}
		if n == 0 || n > len(versions) {
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"errors":[]}`))
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"data": versions[n-1],
			"metadata": map[string]any{"version": n, "created_time": time.Now().Format(time.RFC3339)}}})
	case strings.HasPrefix(p, "kv1/"):
		d, ok := f.kv1[strings.TrimPrefix(p, "kv1/")]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"errors":[]}`))
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"data": d})
	default:
		fail(http.StatusNotFound, "no handler for route")
	}
}

func fmtSscan(s string, v *int) (int, error) {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, errors.New("not a number")
		}
		n = n*10 + int(c-'0')
	}
	*v = n
	return 1, nil
}

func startVault(t *testing.T) (*fakeVault, string) {
	t.Helper()
	f := newFakeVault()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv.URL
}

// loggedIn returns a Vault client of cfg, logged in, resolving through
// base.
func loggedIn(t *testing.T, cfg config.VaultConfig, base *secrets.Resolver) *secrets.Vault {
	t.Helper()
	v, err := secrets.NewVault(cfg, base, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Login(context.Background()); err != nil {
		t.Fatalf("login: %v", err)
	}
	return v
}

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestVaultLoginAndRead(t *testing.T) {
	t.Parallel()
	f, addr := startVault(t)
	f.kv2["deskbridge/meta"] = []map[string]any{{"token": "v1"}, {"token": "v2", "app_secret": "s"}}
	f.kv1["legacy"] = map[string]any{"token": "old"}
	f.rawBody["secret/data/broken"] = `{"data":"not an object"}`
	tests := []struct {
		name    string
		auth    config.VaultAuth
		env     map[string]string
		ref     string
		want    string
		wantErr string
	}{
		{"token from env, latest version", config.VaultAuth{}, map[string]string{"VAULT_TOKEN": "root"}, "vault://secret/deskbridge/meta#token", "v2", ""},
		{"version pinned", config.VaultAuth{}, map[string]string{"VAULT_TOKEN": "root"}, "vault://secret/deskbridge/meta?version=1#token", "v1", ""},
		{"kv v1", config.VaultAuth{}, map[string]string{"VAULT_TOKEN": "root"}, "vault://kv1/legacy?kv=1#token", "old", ""},
		{"approle", config.VaultAuth{Method: "approle", RoleID: "env://R", SecretID: "env://S"}, map[string]string{"R": "role", "S": "sid"}, "vault://secret/deskbridge/meta#app_secret", "s", ""},
		{"kubernetes", config.VaultAuth{Method: "kubernetes", Role: "deskbridge", JWTFile: "/var/run/sa/token"}, nil, "vault://secret/deskbridge/meta#token", "v2", ""},
		{"missing key", config.VaultAuth{}, map[string]string{"VAULT_TOKEN": "root"}, "vault://secret/deskbridge/meta#nope", "", `no key "nope"`},
		{"missing secret", config.VaultAuth{}, map[string]string{"VAULT_TOKEN": "root"}, "vault://secret/deskbridge/none#token", "", "no such secret"},
		{"missing version", config.VaultAuth{}, map[string]string{"VAULT_TOKEN": "root"}, "vault://secret/deskbridge/meta?version=9#token", "", "no such secret"},
		{"malformed answer", config.VaultAuth{}, map[string]string{"VAULT_TOKEN": "root"}, "vault://secret/broken#token", "", "vault"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			base := secrets.New(env(tc.env), func(path string) ([]byte, error) {
				if path == "/var/run/sa/token" {
					return []byte("sa-jwt\n"), nil
				}
				return nil, os.ErrNotExist
			})
			v, err := secrets.NewVault(config.VaultConfig{Address: addr, Auth: tc.auth}, base, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := v.Login(context.Background()); err != nil {
				t.Fatalf("login: %v", err)
			}
			got, err := base.WithVault(v).Resolve(context.Background(), config.Secret(tc.ref))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "v2") || strings.Contains(err.Error(), "root") {
					t.Errorf("error leaks a value: %v", err)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Fatalf("got %q %v, want %q", got, err, tc.want)
			}
		})
	}
}

func TestVaultLoginFailures(t *testing.T) {
	t.Parallel()
	f, addr := startVault(t)
	tests := []struct {
		name    string
		auth    config.VaultAuth
		env     map[string]string
		sealed  bool
		wantErr error
		text    string
	}{
		{"expired or unknown token", config.VaultAuth{}, map[string]string{"VAULT_TOKEN": "expired"}, false, secrets.ErrVaultDenied, "permission denied"},
		{"no token", config.VaultAuth{}, nil, false, nil, "no token"},
		{"sealed", config.VaultAuth{}, map[string]string{"VAULT_TOKEN": "root"}, true, secrets.ErrVaultUnreachable, "sealed"},
		{"bad approle", config.VaultAuth{Method: "approle", RoleID: "env://R", SecretID: "env://S"}, map[string]string{"R": "role", "S": "wrong"}, false, nil, "invalid role"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.mu.Lock()
			f.sealed = tc.sealed
			f.mu.Unlock()
			defer func() { f.mu.Lock(); f.sealed = false; f.mu.Unlock() }()
			v, err := secrets.NewVault(config.VaultConfig{Address: addr, Auth: tc.auth}, secrets.New(env(tc.env), nil), nil)
			if err != nil {
				t.Fatal(err)
			}
			err = v.Login(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.text) || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) {
				t.Fatalf("err = %v, want %q (%v)", err, tc.text, tc.wantErr)
			}
		})
	}
	if _, err := secrets.NewVault(config.VaultConfig{Address: "http://127.0.0.1:1", Auth: config.VaultAuth{}}, secrets.New(env(map[string]string{"VAULT_TOKEN": "root"}), nil), nil); err != nil {
		t.Fatal(err)
	}
}

// The last good value is kept while Vault is unreachable; a rotated value
// is read after Invalidate without waiting for the refresh interval.
func TestVaultCacheAndRotation(t *testing.T) {
	t.Parallel()
	f, addr := startVault(t)
	f.kv2["zd"] = []map[string]any{{"token": "one"}}
	base := secrets.New(env(map[string]string{"VAULT_TOKEN": "root"}), nil)
	v := loggedIn(t, config.VaultConfig{Address: addr}, base)
	base.WithVault(v)
	ref := config.Secret("vault://secret/zd#token")
	read := func() string {
		t.Helper()
		b, err := base.Resolve(context.Background(), ref)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	first, second := read(), read()
	if first != "one" || second != "one" || f.reads != 1 {
		t.Fatalf("read %q then %q with %d reads of Vault, want one read cached", first, second, f.reads)
	}
	f.mu.Lock()
	f.kv2["zd"] = append(f.kv2["zd"], map[string]any{"token": "two"})
	f.mu.Unlock()
	if read() != "one" {
		t.Fatal("a cached value was read again before the refresh interval")
	}
	base.Invalidate(ref)
	if got := read(); got != "two" {
		t.Fatalf("after Invalidate: %q, want the rotated value", got)
	}
	f.mu.Lock()
	f.sealed = true
	f.mu.Unlock()
	base.Invalidate(ref)
	if got := read(); got != "two" {
		t.Fatalf("while sealed: %q, want the last good value", got)
	}
}

// Readiness tells the truth: while Vault cannot be reached, the last good
// value is served, and once it is older than three refresh intervals the
// bridge reports not ready, naming the configuration key.
func TestVaultCheck(t *testing.T) {
	t.Parallel()
	f, addr := startVault(t)
	f.kv2["meta"] = []map[string]any{{"token": "one"}}
	base := secrets.New(env(map[string]string{"VAULT_TOKEN": "root"}), nil)
	interval, err := config.ParseDuration("20ms")
	if err != nil {
		t.Fatal(err)
	}
	v := loggedIn(t, config.VaultConfig{Address: addr, RefreshInterval: interval}, base)
	v.Paths = map[string]string{"vault://secret/meta#token": "whatsapp.numbers[0].access_token"}
	base.WithVault(v)
	ref := config.Secret("vault://secret/meta#token")
	if _, err := base.Resolve(context.Background(), ref); err != nil {
		t.Fatal(err)
	}
	if err := v.Check(context.Background()); err != nil {
		t.Fatalf("fresh: %v", err)
	}
	f.mu.Lock()
	f.sealed = true
	f.mu.Unlock()
	time.Sleep(80 * time.Millisecond)
	if b, err := base.Resolve(context.Background(), ref); err != nil || string(b) != "one" {
		t.Fatalf("sealed: %q %v, want the last good value", b, err)
	}
	if err := v.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "whatsapp.numbers[0].access_token") {
		t.Fatalf("stale: %v, want not ready naming the key", err)
	}
	f.mu.Lock()
	f.sealed = false
	f.mu.Unlock()
	if _, err := base.Resolve(context.Background(), ref); err != nil {
		t.Fatal(err)
	}
	if err := v.Check(context.Background()); err != nil {
		t.Fatalf("after Vault came back: %v", err)
	}
}

// Secrets used only at start stay fresh (they are read again every
// interval), and a revoked token leads to a new log-in.
func TestVaultRunRefreshesAndLogsInAgain(t *testing.T) {
	t.Parallel()
	f, addr := startVault(t)
	f.kv2["meta"] = []map[string]any{{"token": "one"}}
	base := secrets.New(env(map[string]string{"R": "role", "S": "sid"}), nil)
	interval, err := config.ParseDuration("30ms")
	if err != nil {
		t.Fatal(err)
	}
	v, err := secrets.NewVault(config.VaultConfig{Address: addr, RefreshInterval: interval,
		Auth: config.VaultAuth{Method: "approle", RoleID: "env://R", SecretID: "env://S"}}, base, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Login(context.Background()); err != nil {
		t.Fatal(err)
	}
	base.WithVault(v)
	if _, err := base.Resolve(context.Background(), config.Secret("vault://secret/meta#token")); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	delete(f.tokens, "approle-token") // revoked
	f.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go v.Run(ctx)
	deadline := time.Now().Add(10 * time.Second)
	for {
		f.mu.Lock()
		logins, reads := f.logins, f.reads
		f.mu.Unlock()
		if logins >= 2 && reads >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("logins %d, reads %d: want a new log-in and background refreshes", logins, reads)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(60 * time.Millisecond)
	if err := v.Check(context.Background()); err != nil {
		t.Errorf("a secret read only once is kept fresh in the background: %v", err)
	}
}

// A value the vendor refuses, with no new one in Vault, makes the bridge
// not ready, naming the key; a new value in Vault clears it.
func TestVaultRejectedValue(t *testing.T) {
	t.Parallel()
	f, addr := startVault(t)
	f.kv2["zd"] = []map[string]any{{"token": "old"}}
	base := secrets.New(env(map[string]string{"VAULT_TOKEN": "root"}), nil)
	v := loggedIn(t, config.VaultConfig{Address: addr}, base)
	v.Paths = map[string]string{"vault://secret/zd#token": "helpdesks.support.api_token"}
	base.WithVault(v)
	ref := config.Secret("vault://secret/zd#token")
	if _, err := base.Resolve(context.Background(), ref); err != nil {
		t.Fatal(err)
	}
	base.Rejected(ref)
	if err := v.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "rejected by the vendor") ||
		!strings.Contains(err.Error(), "helpdesks.support.api_token") {
		t.Fatalf("check = %v, want not ready naming the key", err)
	}
	f.mu.Lock()
	f.kv2["zd"] = append(f.kv2["zd"], map[string]any{"token": "new"})
	f.mu.Unlock()
	base.Invalidate(ref)
	if b, _ := base.Resolve(context.Background(), ref); string(b) != "new" {
		t.Fatalf("read %q", b)
	}
	if err := v.Check(context.Background()); err != nil {
		t.Errorf("after a new value: %v", err)
	}
}
