package secrets_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/deskbridge/deskbridge/config"
	"github.com/deskbridge/deskbridge/connectors"
	"github.com/deskbridge/deskbridge/secrets"
)

// Environment variables of the real-Vault tests (.ci/run sets them when it
// could start `vault server -dev`).
const (
	envVaultAddr  = "DESKBRIDGE_TEST_VAULT_ADDR"
	envVaultToken = "DESKBRIDGE_TEST_VAULT_TOKEN"
)

// realVault returns an admin client of the Vault server the tests run
// against, or skips.
func realVault(t *testing.T) (*vault.Client, string, string) {
	t.Helper()
	addr, token := os.Getenv(envVaultAddr), os.Getenv(envVaultToken)
	if addr == "" || token == "" {
		t.Skipf("real Vault: set %s and %s (.ci/run starts a dev server) to run this test", envVaultAddr, envVaultToken)
	}
	cfg := vault.DefaultConfig()
	cfg.Address = addr
	c, err := vault.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(token)
	return c, addr, token
}

func TestRealVaultTokenKVv2AndRotation(t *testing.T) {
	admin, addr, token := realVault(t)
	ctx := context.Background()
	path := fmt.Sprintf("deskbridge-test/%d", time.Now().UnixNano())
	kv := admin.KVv2("secret")
	if _, err := kv.Put(ctx, path, map[string]any{"token": "first"}); err != nil {
		t.Fatalf("write: %v", err)
	}
	base := secrets.New(env(map[string]string{"VAULT_TOKEN": token}), nil)
	v, err := secrets.NewVault(config.VaultConfig{Address: addr}, base, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Login(ctx); err != nil {
		t.Fatalf("token login: %v", err)
	}
	base.WithVault(v)
	latest := config.Secret("vault://secret/" + path + "#token")
	pinned := config.Secret("vault://secret/" + path + "?version=1#token")
	read := func(s config.Secret) string {
		t.Helper()
		b, err := base.Resolve(ctx, s)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		return string(b)
	}
	if got := read(latest); got != "first" {
		t.Fatalf("latest = %q", got)
	}
	// Rotation: a new version is written; a vendor rejects the old value
	// (Invalidate); the next read has the new one, without a restart.
	if _, err := kv.Put(ctx, path, map[string]any{"token": "second"}); err != nil {
		t.Fatal(err)
	}
	if got := read(latest); got != "first" {
		t.Fatalf("before the refresh: %q, want the cached first value", got)
	}
	base.Invalidate(latest)
	if got := read(latest); got != "second" {
		t.Fatalf("after the rotation: %q, want second", got)
	}
	if got := read(pinned); got != "first" {
		t.Fatalf("version 1 = %q, want first", got)
	}
}

func TestRealVaultAppRoleAndRenewal(t *testing.T) {
	admin, addr, _ := realVault(t)
	ctx := context.Background()
	mount := fmt.Sprintf("approle-%d", time.Now().UnixNano())
	if err := admin.Sys().EnableAuthWithOptionsWithContext(ctx, mount, &vault.EnableAuthOptions{Type: "approle"}); err != nil {
		t.Fatalf("enable approle: %v", err)
	}
	t.Cleanup(func() { _ = admin.Sys().DisableAuth(mount) })
	policy := fmt.Sprintf("deskbridge-%d", time.Now().UnixNano())
	if err := admin.Sys().PutPolicyWithContext(ctx, policy, `path "secret/data/deskbridge-test/*" { capabilities = ["read"] }`); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Logical().WriteWithContext(ctx, "auth/"+mount+"/role/bridge", map[string]any{
		"token_policies": policy, "token_ttl": "4s", "token_max_ttl": "1h"}); err != nil {
		t.Fatal(err)
	}
	rid, err := admin.Logical().ReadWithContext(ctx, "auth/"+mount+"/role/bridge/role-id")
	if err != nil {
		t.Fatal(err)
	}
	sid, err := admin.Logical().WriteWithContext(ctx, "auth/"+mount+"/role/bridge/secret-id", nil)
	if err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("deskbridge-test/approle-%d", time.Now().UnixNano())
	if _, err := admin.KVv2("secret").Put(ctx, path, map[string]any{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	base := secrets.New(env(map[string]string{"R": rid.Data["role_id"].(string), "S": sid.Data["secret_id"].(string)}), nil)
	v, err := secrets.NewVault(config.VaultConfig{Address: addr,
		Auth: config.VaultAuth{Method: "approle", Mount: mount, RoleID: "env://R", SecretID: "env://S"}}, base, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Login(ctx); err != nil {
		t.Fatalf("approle login: %v", err)
	}
	base.WithVault(v)
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go v.Run(runCtx) // renews the 4-second token
	ref := config.Secret("vault://secret/" + path + "#k")
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		base.Invalidate(ref) // a read from Vault each time, with the current token
		if b, err := base.Resolve(ctx, ref); err != nil || string(b) != "v" {
			t.Fatalf("read at %s: %q %v (the token was not renewed)", time.Until(deadline), b, err)
		}
		time.Sleep(time.Second)
	}
}

// The rotation the way it happens in production: a new token is written
// to Vault and the vendor starts refusing the old one; the connector's next
// request is refused (401), the value is read again from Vault, and the
// request is made once more with the new token, without a restart.
func TestRealVaultRotationOnVendor401(t *testing.T) {
	admin, addr, token := realVault(t)
	ctx := context.Background()
	path := fmt.Sprintf("deskbridge-test/rotate-%d", time.Now().UnixNano())
	kv := admin.KVv2("secret")
	if _, err := kv.Put(ctx, path, map[string]any{"token": "old-token"}); err != nil {
		t.Fatal(err)
	}
	var accepted atomic.Value
	accepted.Store("old-token")
	var calls atomic.Int32
	vendor := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.Header.Get("Authorization") != "Bearer "+accepted.Load().(string) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(vendor.Close)

	base := secrets.New(env(map[string]string{"VAULT_TOKEN": token}), nil)
	v, err := secrets.NewVault(config.VaultConfig{Address: addr}, base, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Login(ctx); err != nil {
		t.Fatal(err)
	}
	base.WithVault(v)
	ref := config.Secret("vault://secret/" + path + "#token")
	client, err := connectors.NewClient(connectors.ClientConfig{Vendor: "acme", Account: "a", BaseURL: vendor.URL,
		Auth: func(ctx context.Context, r *http.Request) error {
			b, err := base.Resolve(ctx, ref)
			if err != nil {
				return err
			}
			r.Header.Set("Authorization", "Bearer "+string(b))
			return nil
		},
		OnAuthFailure: func(ctx context.Context) bool {
			before, _ := base.Resolve(ctx, ref)
			base.Invalidate(ref)
			after, err := base.Resolve(ctx, ref)
			return err == nil && string(after) != string(before)
		}})
	if err != nil {
		t.Fatal(err)
	}
	call := func() error {
		_, err := client.Do(ctx, "probe", &connectors.Request{Method: http.MethodGet, Path: "/"})
		return err
	}
	if err := call(); err != nil {
		t.Fatalf("with the first token: %v", err)
	}
	if _, err := kv.Put(ctx, path, map[string]any{"token": "new-token"}); err != nil {
		t.Fatal(err)
	}
	accepted.Store("new-token") // the vendor now refuses the old token
	before := calls.Load()
	if err := call(); err != nil {
		t.Fatalf("after the rotation: %v, want the request retried with the new token", err)
	}
	if n := calls.Load() - before; n != 2 {
		t.Errorf("%d requests after the rotation, want 2 (refused, then retried)", n)
	}
}
