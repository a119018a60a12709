package secrets

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/deskbridge/deskbridge/config"
	"github.com/deskbridge/deskbridge/telemetry"
)

// ErrVaultUnreachable wraps failures to reach Vault (network, sealed,
// unavailable): the last good value of a secret is kept meanwhile.
var ErrVaultUnreachable = errors.New("vault unreachable")

// ErrVaultDenied wraps Vault refusing a login or a read (403): a token or
// policy problem, not a passing one.
var ErrVaultDenied = errors.New("vault denied access")

// Vault reads vault:// secrets with the Vault HTTP API: it logs in with the
// configured method (token, AppRole, Kubernetes), reads KV v2 (or v1)
// secrets, keeps each value for the refresh interval, and keeps the last
// good value when Vault cannot be reached. It is safe for concurrent use.
type Vault struct {
	cfg    config.VaultConfig
	base   *Resolver // reads the env:// and file:// references of the auth settings
	client *vault.Client
	log    *slog.Logger
	now    func() time.Time

	mu    sync.Mutex
	cache map[string]cached // by reference
	login time.Time

	// Metrics, when set, counts reads and shows ages and the token TTL;
	// Paths names each reference by the configuration key path(s) that
	// use it, for the age metric and for readiness.
	Metrics *telemetry.Metrics
	Paths   map[string]string
}

type cached struct {
	ref      config.SecretRef
	value    []byte
	read     time.Time
	stale    bool      // Invalidate asked for a new read
	rejected time.Time // a vendor refused this value (zero: not refused)
}

// NewVault returns a client for cfg. Address, namespace and TLS settings
// not in cfg come from the standard VAULT_* environment variables (read by
// the Vault API). base resolves the env:// and file:// references of the
// auth settings.
func NewVault(cfg config.VaultConfig, base *Resolver, log *slog.Logger) (*Vault, error) {
	if log == nil {
		log = telemetry.DiscardLogger()
	}
	vc := vault.DefaultConfig()
	if vc.Error != nil {
		return nil, fmt.Errorf("secrets: vault: %w", vc.Error)
	}
	if cfg.Address != "" {
		vc.Address = cfg.Address
	}
	if cfg.CAFile != "" || cfg.ClientCert != "" || cfg.TLSServerName != "" {
		if err := vc.ConfigureTLS(&vault.TLSConfig{CACert: cfg.CAFile, ClientCert: cfg.ClientCert, ClientKey: cfg.ClientKey,
			TLSServerName: cfg.TLSServerName}); err != nil {
			return nil, fmt.Errorf("secrets: vault TLS: %w", err)
		}
	}
	vc.MaxRetries = 1
	vc.Timeout = 15 * time.Second
	c, err := vault.NewClient(vc)
	if err != nil {
		return nil, fmt.Errorf("secrets: vault: %w", err)
	}
	if cfg.Namespace != "" {
		c.SetNamespace(cfg.Namespace)
	}
	c.ClearToken() // the token comes from the auth method only
	return &Vault{cfg: cfg, base: base, client: c, log: log.With("component", "vault"), now: time.Now,
		cache: map[string]cached{}}, nil
}

// Login authenticates with the configured method: token (auth.token, else
// VAULT_TOKEN), approle (role_id and secret_id, the secret_id optionally a
// response-wrapping token) or kubernetes (the service account JWT and
// role). The token is kept by the client; Run renews it.
func (v *Vault) Login(ctx context.Context) error {
	a := v.cfg.Auth
	method := a.Method
	if method == "" {
		method = "token"
	}
	mount := strings.Trim(a.Mount, "/")
	if mount == "" {
		mount = method
	}
	switch method {
	case "token":
		tok := ""
		if a.Token != "" {
			b, err := v.base.Resolve(ctx, a.Token)
			if err != nil {
				return fmt.Errorf("vault.auth.token: %w", err)
			}
			tok = string(b)
		} else if t, ok := v.base.lookupEnv("VAULT_TOKEN"); ok && t != "" {
			tok = t
		}
		if tok == "" {
			return errors.New("vault.auth.token: no token (set vault.auth.token or VAULT_TOKEN)")
		}
		v.client.SetToken(tok)
		if _, err := v.client.Auth().Token().LookupSelfWithContext(ctx); err != nil {
			return v.failed("log in with the token", err)
		}
	case "approle":
		roleID, err := v.base.Resolve(ctx, a.RoleID)
		if err != nil {
			return fmt.Errorf("vault.auth.role_id: %w", err)
		}
		secretID, err := v.base.Resolve(ctx, a.SecretID)
		if err != nil {
			return fmt.Errorf("vault.auth.secret_id: %w", err)
		}
		sid := string(secretID)
		if a.SecretIDWrapped {
			w, err := v.client.Logical().UnwrapWithContext(ctx, sid)
			if err != nil {
				return v.failed("unwrap the secret_id", err)
			}
			s, _ := w.Data["secret_id"].(string)
			if s == "" {
				return errors.New("vault.auth.secret_id: the wrapped response holds no secret_id")
			}
			sid = s
		}
		if err := v.loginWith(ctx, "auth/"+mount+"/login", map[string]any{"role_id": string(roleID), "secret_id": sid}); err != nil {
			return err
		}
	case "kubernetes":
		path := a.JWTFile
		if path == "" {
			path = "/var/run/secrets/kubernetes.io/serviceaccount/token"
		}
		jwt, err := v.base.readFile(path)
		if err != nil {
			return fmt.Errorf("vault.auth.jwt_file: %s", fileReason(err))
		}
		if err := v.loginWith(ctx, "auth/"+mount+"/login", map[string]any{"role": a.Role, "jwt": strings.TrimSpace(string(jwt))}); err != nil {
			return err
		}
	default:
		return fmt.Errorf("vault.auth.method: %q is not supported", method)
	}
	v.mu.Lock()
	v.login = v.now()
	v.mu.Unlock()
	v.log.InfoContext(ctx, "logged in to Vault", "method", method)
	return nil
}

func (v *Vault) loginWith(ctx context.Context, path string, body map[string]any) error {
	s, err := v.client.Logical().WriteWithContext(ctx, path, body)
	if err != nil {
		return v.failed("log in", err)
	}
	if s == nil || s.Auth == nil || s.Auth.ClientToken == "" {
		return fmt.Errorf("vault: %s: the answer carries no token", path)
	}
	v.client.SetToken(s.Auth.ClientToken)
	return nil
}

// failed words a Vault error: unreachable (network, 5xx, sealed) or
// denied (403), never with a token or a value.
func (v *Vault) failed(what string, err error) error {
	var re *vault.ResponseError
	if errors.As(err, &re) {
		msg := strings.Join(re.Errors, "; ")
		switch {
		case re.StatusCode == http.StatusForbidden:
			return fmt.Errorf("vault: %s: %w: %s", what, ErrVaultDenied, msg)
		case re.StatusCode >= 500:
			return fmt.Errorf("vault: %s: %w: HTTP %d: %s", what, ErrVaultUnreachable, re.StatusCode, msg)
		}
		return fmt.Errorf("vault: %s: HTTP %d: %s", what, re.StatusCode, msg)
	}
	return fmt.Errorf("vault: %s: %w: %v", what, ErrVaultUnreachable, err)
}

// Read returns the value of a vault:// reference: from the cache when it
// was read less than vault.refresh_interval ago, else from Vault. When
// Vault cannot be reached, a value read before is returned (and logged);
// a refused or missing secret is an error.
func (v *Vault) Read(ctx context.Context, ref config.SecretRef) ([]byte, error) {
	key := ref.String()
	v.mu.Lock()
	c, ok := v.cache[key]
	v.mu.Unlock()
	refresh := v.refreshInterval()
	if ok && !c.stale && v.now().Sub(c.read) < refresh {
		return c.value, nil
	}
	val, err := v.read(ctx, ref)
	v.countRead(err)
	if err != nil {
		if ok && errors.Is(err, ErrVaultUnreachable) {
			v.log.WarnContext(ctx, "vault unreachable; the last value read is kept", "ref", key, slog.Any("error", err))
			return c.value, nil
		}
		return nil, err
	}
	v.mu.Lock()
	next := cached{ref: ref, value: val, read: v.now()}
	if ok && string(c.value) == string(val) {
		next.rejected = c.rejected // the same value: still refused
	}
	v.cache[key] = next
	v.mu.Unlock()
	return val, nil
}

// Rejected records that a vendor refused the current value of ref (and
// reading it again from Vault gave the same value): /readyz reports it
// until Vault has a new value or one refresh interval has passed.
func (v *Vault) Rejected(ref config.SecretRef) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if c, ok := v.cache[ref.String()]; ok {
		c.rejected = v.now()
		v.cache[ref.String()] = c
	}
}

// refreshInterval is vault.refresh_interval, 5 minutes when unset.
func (v *Vault) refreshInterval() time.Duration {
	if d := v.cfg.RefreshInterval.Duration(); d > 0 {
		return d
	}
	return 5 * time.Minute
}

// refreshAll reads every secret read so far again, so values used only at
// start (or rarely) stay fresh and a rotation is picked up within one
// interval. A failure keeps the last good value.
func (v *Vault) refreshAll(ctx context.Context) {
	v.mu.Lock()
	refs := make([]config.SecretRef, 0, len(v.cache))
	for _, c := range v.cache {
		refs = append(refs, c.ref)
	}
	v.mu.Unlock()
	for _, ref := range refs {
		v.Invalidate(ref)
		if _, err := v.Read(ctx, ref); err != nil && ctx.Err() == nil {
			v.log.WarnContext(ctx, "vault secret not refreshed", "ref", v.name(ref), slog.Any("error", err))
		}
	}
}

// name is a reference's configuration key path, for logs and metrics.
func (v *Vault) name(ref config.SecretRef) string {
	if p, ok := v.Paths[ref.String()]; ok {
		return p
	}
	return ref.String()
}

func (v *Vault) countRead(err error) {
	if v.Metrics == nil {
		return
	}
	result := "ok"
	switch {
	case err == nil:
	case errors.Is(err, ErrVaultUnreachable):
		result = "unreachable"
	case errors.Is(err, ErrVaultDenied):
		result = "denied"
	default:
		result = "error"
	}
	v.Metrics.SecretRefresh.WithLabelValues(result).Inc()
}

// Check reports whether every secret read from Vault is usable: its last
// good read is no older than three refresh intervals (Vault has been
// unreachable for longer than that: the value may have been rotated or
// revoked meanwhile). It also updates the age metric. /readyz calls it.
func (v *Vault) Check(context.Context) error {
	refresh := v.refreshInterval()
	v.mu.Lock()
	defer v.mu.Unlock()
	var stale, rejected []string
	for _, c := range v.cache {
		age := v.now().Sub(c.read)
		name := v.name(c.ref)
		if v.Metrics != nil {
			v.Metrics.SecretAge.WithLabelValues(name).Set(age.Seconds())
		}
		if age > 3*refresh {
			stale = append(stale, name)
		}
		if !c.rejected.IsZero() && v.now().Sub(c.rejected) < refresh {
			rejected = append(rejected, name)
		}
	}
	var problems []string
	if len(stale) > 0 {
		slices.Sort(stale)
		problems = append(problems, fmt.Sprintf("secrets not refreshed for over %s: %s", 3*refresh, strings.Join(stale, ", ")))
	}
	if len(rejected) > 0 {
		slices.Sort(rejected)
		problems = append(problems, "secrets rejected by the vendor, and Vault has no new value: "+strings.Join(rejected, ", "))
	}
	if len(problems) > 0 {
		return errors.New("vault: " + strings.Join(problems, "; "))
	}
	return nil
}

// Invalidate makes the next Read of ref go to Vault (a vendor rejected the
// value: it may have been rotated).
func (v *Vault) Invalidate(ref config.SecretRef) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if c, ok := v.cache[ref.String()]; ok {
		c.stale = true
		v.cache[ref.String()] = c
	}
}

// read fetches one secret.
func (v *Vault) read(ctx context.Context, ref config.SecretRef) ([]byte, error) {
	var data map[string]any
	if ref.KV == 1 {
		s, err := v.client.KVv1(ref.Mount).Get(ctx, ref.Path)
		if err != nil {
			return nil, v.readFailed(err)
		}
		data = s.Data
	} else {
		var s *vault.KVSecret
		var err error
		if ref.Version > 0 {
			s, err = v.client.KVv2(ref.Mount).GetVersion(ctx, ref.Path, ref.Version)
		} else {
			s, err = v.client.KVv2(ref.Mount).Get(ctx, ref.Path)
		}
		if err != nil {
			return nil, v.readFailed(err)
		}
		data = s.Data
	}
	raw, ok := data[ref.Key]
	if !ok {
		return nil, fmt.Errorf("vault: the secret has no key %q", ref.Key)
	}
	s, ok := raw.(string)
	if !ok {
		return nil, fmt.Errorf("vault: key %q is not a string", ref.Key)
	}
	if s == "" {
		return nil, fmt.Errorf("vault: key %q: %w", ref.Key, ErrEmpty)
	}
	return []byte(s), nil
}

func (v *Vault) readFailed(err error) error {
	if errors.Is(err, vault.ErrSecretNotFound) {
		return errors.New("vault: no such secret (or no such version)")
	}
	return v.failed("read", err)
}

// Run keeps the login alive until ctx ends: it renews the auth token
// before it expires (api.LifetimeWatcher) and logs in again when renewal is
// no longer possible. Tokens that do not expire need nothing.
func (v *Vault) Run(ctx context.Context) {
	go v.refreshLoop(ctx)
	for ctx.Err() == nil {
		s, err := v.client.Auth().Token().LookupSelfWithContext(ctx)
		if err != nil {
			err = v.failed("look up the token", err)
			if errors.Is(err, ErrVaultDenied) {
				// Revoked or expired: log in again.
				if lerr := v.Login(ctx); lerr != nil {
					v.log.ErrorContext(ctx, "vault login failed; retrying", slog.Any("error", lerr))
					sleep(ctx, 30*time.Second)
				}
				continue
			}
			v.log.WarnContext(ctx, "vault token lookup failed; retrying", slog.Any("error", err))
			sleep(ctx, 30*time.Second)
			continue
		}
		ttl, _ := s.TokenTTL()
		renewable, _ := s.TokenIsRenewable()
		if v.Metrics != nil {
			v.Metrics.VaultTokenTTL.Set(ttl.Seconds())
		}
		if ttl <= 0 {
			return // a root or periodic-less token without expiry
		}
		if !renewable {
			sleep(ctx, ttl*2/3)
		} else if err := v.watch(ctx, s); err != nil {
			v.log.WarnContext(ctx, "vault token renewal stopped", slog.Any("error", err))
		}
		if ctx.Err() != nil {
			return
		}
		if err := v.Login(ctx); err != nil {
			v.log.ErrorContext(ctx, "vault login failed; retrying", slog.Any("error", err))
			sleep(ctx, 30*time.Second)
		}
	}
}

// refreshLoop reads every secret again each refresh interval until ctx
// ends.
func (v *Vault) refreshLoop(ctx context.Context) {
	refresh := v.refreshInterval()
	t := time.NewTicker(refresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			v.refreshAll(ctx)
		}
	}
}

// watch renews the token until it can no longer be renewed.
func (v *Vault) watch(ctx context.Context, s *vault.Secret) error {
	auth := &vault.Secret{Auth: &vault.SecretAuth{ClientToken: v.client.Token(), Renewable: true}}
	if ttl, err := s.TokenTTL(); err == nil {
		auth.Auth.LeaseDuration = int(ttl.Seconds())
	}
	w, err := v.client.NewLifetimeWatcher(&vault.LifetimeWatcherInput{Secret: auth})
	if err != nil {
		return err
	}
	go w.Start()
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-w.DoneCh():
			return err
		case r := <-w.RenewCh():
			v.log.DebugContext(ctx, "vault token renewed", "at", r.RenewedAt)
			if v.Metrics != nil && r.Secret != nil && r.Secret.Auth != nil {
				v.Metrics.VaultTokenTTL.Set(float64(r.Secret.Auth.LeaseDuration))
			}
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
