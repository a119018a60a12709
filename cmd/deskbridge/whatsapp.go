package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/deskbridge/deskbridge/bridge"
	"github.com/deskbridge/deskbridge/config"
	"github.com/deskbridge/deskbridge/connectors"
	"github.com/deskbridge/deskbridge/connectors/whatsapp"
	"github.com/deskbridge/deskbridge/secrets"
	"github.com/deskbridge/deskbridge/store"
	"github.com/deskbridge/deskbridge/telemetry"
)

// waEnv is what the WhatsApp operator commands share: the configuration,
// the store (for the template cache) and a client per number.
type waEnv struct {
	cfg *config.Config
	st  *store.Store
	res *secrets.Resolver
	log io.Writer
}

func openWAEnv(cmd *cobra.Command) (*waEnv, error) {
	cfg, _, err := loadConfig(cmd)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
	defer cancel()
	st, err := store.Open(ctx, cfg.Store.URL, store.Options{MaxOpenConns: cfg.Store.MaxOpenConns})
	if err != nil {
		return nil, err
	}
	return &waEnv{cfg: cfg, st: st, res: secrets.New(nil, nil), log: cmd.ErrOrStderr()}, nil
}

func (e *waEnv) Close() { e.st.Close() }

// number returns the configured number with that phone_number_id, or the
// only one when id is empty.
func (e *waEnv) number(id string) (config.Number, error) {
	nums := e.cfg.WhatsApp.Numbers
	if id == "" {
		if len(nums) == 1 {
			return nums[0], nil
		}
		ids := make([]string, len(nums))
		for i, n := range nums {
			ids[i] = n.PhoneNumberID
		}
		return config.Number{}, fmt.Errorf("several numbers are configured (%s): pass --number", strings.Join(ids, ", "))
	}
	for _, n := range nums {
		if n.PhoneNumberID == id {
			return n, nil
		}
	}
	return config.Number{}, fmt.Errorf("number %s is not in whatsapp.numbers of the configuration", id)
}

// client builds the Cloud API client of a number, with its template cache
// backed by the store.
func (e *waEnv) client(n config.Number) (*whatsapp.Client, *whatsapp.TemplateCache, error) {
	log, err := telemetry.NewLogger(e.log, "warn", "text")
	if err != nil {
		return nil, nil, err
	}
	return newWhatsAppClient(e.cfg, n, e.res, e.st, log, nil)
}

// newWhatsAppClient builds the Cloud API client of a configured number and
// the template cache of its business account, backed by the store. The
// access token is resolved on every request, so a rotated value is used
// without a restart.
func newWhatsAppClient(cfg *config.Config, n config.Number, res *secrets.Resolver, st *store.Store,
	log *slog.Logger, metrics *connectors.Metrics) (*whatsapp.Client, *whatsapp.TemplateCache, error) {
	if n.AccessToken == "" {
		return nil, nil, fmt.Errorf("whatsapp.numbers[%s].access_token is not set", n.PhoneNumberID)
	}
	if ref, err := n.AccessToken.Ref(); err == nil && ref.Scheme == config.SchemeVault && !res.HasVault() {
		return nil, nil, fmt.Errorf("%s: vault:// references are read by serve only; use env:// or file:// for this command", n.AccessToken)
	}
	token := func(ctx context.Context) (string, error) {
		b, err := res.Resolve(ctx, n.AccessToken)
		return string(b), err
	}
	wcfg := whatsapp.Config{
		OnAuthFailure: refreshOnAuthFailure(res, n.AccessToken),
		APIBaseURL:    cfg.WhatsApp.APIBaseURL,
		APIVersion:    cfg.WhatsApp.APIVersion,
		PhoneNumberID: n.PhoneNumberID,
		WABAID:        n.WABAID,
		Token:         token,
		Metrics:       metrics,
		Logger:        log,
	}
	lister, err := whatsapp.NewClient(wcfg)
	if err != nil {
		return nil, nil, err
	}
	refresh := cfg.WhatsApp.TemplateRefresh.Duration()
	if refresh <= 0 {
		refresh = whatsapp.DefaultTemplateRefresh
	}
	cache := whatsapp.NewTemplateCache(lister, bridge.NewTemplateStore(st), refresh, nil).WithLogger(log)
	wcfg.Templates = cache
	c, err := whatsapp.NewClient(wcfg)
	if err != nil {
		return nil, nil, err
	}
	return c, cache, nil
}

// apiError is a failed Cloud API call of the command named what ("send",
// "templates sync"), printed with its kind, Meta's code and what to do.
func apiError(what string, err error) error {
	var ce *connectors.Error
	if !errors.As(err, &ce) {
		return err
	}
	if ce.Code == "" && ce.Status == 0 && ce.Kind == connectors.Permanent {
		// Refused locally: nothing reached Meta.
		if what == "send" {
			return &userError{oneLine("deskbridge: refused before sending: " + ce.Message)}
		}
		return &userError{oneLine("deskbridge: " + what + " refused: " + ce.Message)}
	}
	msg := fmt.Sprintf("deskbridge: %s failed: %s", what, ce.Kind)
	if ce.Code != "" {
		msg += " (code " + ce.Code + ")"
	}
	cause := ""
	if ce.Err != nil {
		cause = ce.Err.Error()
	}
	if detail := strings.TrimSpace(strings.Join(nonEmpty(ce.Message, ce.Details, cause), ": ")); detail != "" {
		msg += ": " + detail
	}
	if ce.Kind == connectors.Retryable && ce.Code == "" {
		msg += " — try again later"
	} else if hint := whatsapp.Hint(err); hint != "" {
		msg += " — " + hint
	}
	return &userError{oneLine(msg)}
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// numbersFor returns the number with that id, or every configured number
// with a distinct WABA when id is empty.
func (e *waEnv) numbersFor(id string) ([]config.Number, error) {
	if id != "" {
		n, err := e.number(id)
		if err != nil {
			return nil, err
		}
		return []config.Number{n}, nil
	}
	seen := map[string]bool{}
	var out []config.Number
	for _, n := range e.cfg.WhatsApp.Numbers {
		if n.WABAID != "" && !seen[n.WABAID] {
			seen[n.WABAID] = true
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no whatsapp.numbers entry has a waba_id: templates live on the business account")
	}
	return out, nil
}

func (e *waEnv) templateStore() *bridge.TemplateStore { return bridge.NewTemplateStore(e.st) }

// refreshOnAuthFailure is the OnAuthFailure of a connector whose credential
// is s: a vault:// value is read again from Vault (it may have been
// rotated) and the request retried once; other references are read afresh
// on every request already, so nothing is retried.
func refreshOnAuthFailure(res *secrets.Resolver, s config.Secret) func(context.Context) bool {
	ref, err := s.Ref()
	if err != nil || ref.Scheme != config.SchemeVault || !res.HasVault() {
		return nil
	}
	return func(ctx context.Context) bool {
		before, _ := res.Resolve(ctx, s)
		res.Invalidate(s)
		after, err := res.Resolve(ctx, s)
		changed := err == nil && string(after) != string(before)
		if !changed {
			res.Rejected(s) // /readyz says so until Vault has a new value
		}
		return changed
	}
}
