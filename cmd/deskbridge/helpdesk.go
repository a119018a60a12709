package main

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/deskbridge/deskbridge/config"
	"github.com/deskbridge/deskbridge/connectors"
	"github.com/deskbridge/deskbridge/connectors/zendesk"
	"github.com/deskbridge/deskbridge/secrets"
	"github.com/deskbridge/deskbridge/telemetry"
)

func newHelpdeskCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "helpdesk",
		Short: "Set up the configured helpdesks",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	var name string
	var dryRun bool
	setup := &cobra.Command{
		Use:   "setup",
		Short: "Create or update the helpdesk's webhook and trigger that send agent replies to the bridge",
		Long: `Create or update, idempotently, what makes the helpdesk call the bridge when
an agent posts a public reply: for Zendesk a webhook whose endpoint is
server.public_url + /webhooks/zendesk and a trigger that calls it (excluding
the bridge's own API writes). --dry-run prints what would change. A second
run changes nothing.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, _, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			if name == "" {
				return fmt.Errorf("pass --helpdesk NAME (one of: %s)", strings.Join(helpdeskNames(cfg), ", "))
			}
			h, ok := cfg.Helpdesks[name]
			if !ok {
				return fmt.Errorf("helpdesk %q is not configured (configured: %s)", name, strings.Join(helpdeskNames(cfg), ", "))
			}
			if cfg.Server.PublicURL == "" {
				return fmt.Errorf("server.public_url is not set: the helpdesk needs the bridge's public URL to call")
			}
			log, err := telemetry.NewLogger(cmd.ErrOrStderr(), "warn", "text")
			if err != nil {
				return err
			}
			hd, err := newHelpdesk(cfg, name, secrets.New(nil, nil), log, nil)
			if err != nil {
				return err
			}
			inst, ok := hd.(connectors.WebhookInstaller)
			if !ok {
				return fmt.Errorf("helpdesk %q (%s): setup is not supported for this kind yet", name, h.Kind)
			}
			endpoint := strings.TrimSuffix(cfg.Server.PublicURL, "/") + "/webhooks/" + h.Kind
			res, err := inst.EnsureWebhook(cmd.Context(), &connectors.EnsureWebhookParams{Endpoint: endpoint, Name: "deskbridge", DryRun: dryRun})
			if err != nil {
				return apiError("helpdesk setup", err)
			}
			out := cmd.OutOrStdout()
			verb := "changed"
			if dryRun {
				verb = "would change"
			}
			if len(res.Actions) == 0 {
				fmt.Fprintf(out, "%s: nothing to change; the webhook to %s and its trigger are in place\n", name, endpoint)
			} else {
				fmt.Fprintf(out, "%s: %s %d thing(s):\n", name, verb, len(res.Actions))
				for _, a := range res.Actions {
					fmt.Fprintf(out, "  - %s\n", a)
				}
			}
			if res.SigningSecret != "" {
				printSigningSecret(cmd.Context(), cmd, name, h, res.SigningSecret)
			}
			return nil
		},
	}
	setup.Flags().StringVar(&name, "helpdesk", "", "name of the helpdesk in the configuration")
	setup.Flags().BoolVar(&dryRun, "dry-run", false, "print what would change and change nothing")
	cmd.AddCommand(setup)
	return cmd
}

// printSigningSecret tells the operator where the webhook's signing secret
// must go, printing it only when the configuration does not hold it yet.
func printSigningSecret(ctx context.Context, cmd *cobra.Command, name string, h config.Helpdesk, secret string) {
	out := cmd.OutOrStdout()
	if h.WebhookSecret != "" {
		if b, err := secrets.New(nil, nil).Resolve(ctx, h.WebhookSecret); err == nil && string(b) == secret {
			fmt.Fprintf(out, "helpdesks.%s.webhook_secret (%s) matches the webhook's signing secret\n", name, h.WebhookSecret)
			return
		}
	}
	fmt.Fprintf(out, "store this signing secret as helpdesks.%s.webhook_secret (for example in Vault or a file:// secret):\n%s\n", name, secret)
}

func helpdeskNames(cfg *config.Config) []string {
	var names []string
	for n := range cfg.Helpdesks {
		names = append(names, n)
	}
	if len(names) == 0 {
		return []string{"none"}
	}
	slices.Sort(names)
	return names
}

// newHelpdesk builds the connector of a configured helpdesk. Secrets are
// resolved on every request, so a rotated value is used without a restart.
func newHelpdesk(cfg *config.Config, name string, res *secrets.Resolver, log *slog.Logger, metrics *connectors.Metrics,
	opts ...func(*zendesk.Config)) (connectors.Helpdesk, error) {
	h := cfg.Helpdesks[name]
	secret := func(s config.Secret) zendesk.TokenFunc {
		if s == "" {
			return nil
		}
		return func(ctx context.Context) (string, error) {
			b, err := res.Resolve(ctx, s)
			return string(b), err
		}
	}
	for _, s := range []config.Secret{h.APIToken, h.OAuthToken} {
		if ref, err := s.Ref(); err == nil && ref.Scheme == config.SchemeVault && !res.HasVault() {
			return nil, fmt.Errorf("helpdesks.%s: %s: vault:// references are read by serve only; use env:// or file:// for this command", name, s)
		}
	}
	switch h.Kind {
	case "zendesk":
		ids := make([]int64, 3)
		for i, v := range []string{h.BrandID, h.GroupID, h.TicketFormID} {
			if v == "" {
				continue
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("helpdesks.%s: %q is not a Zendesk id", name, v)
			}
			ids[i] = n
		}
		zc := zendesk.Config{
			Name: name, BaseURL: h.BaseURL, Email: h.Email,
			APIToken: secret(h.APIToken), OAuthToken: secret(h.OAuthToken),
			RequestsPerMinute: h.RequestsPerMinute,
			OnAuthFailure:     refreshOnAuthFailure(res, cmp.Or(h.APIToken, h.OAuthToken)),
			BrandID:           ids[0], GroupID: ids[1], FormID: ids[2],
			Metrics: metrics, Logger: log,
		}
		for _, o := range opts {
			o(&zc)
		}
		c, err := zendesk.New(zc)
		if err != nil {
			return nil, fmt.Errorf("helpdesks.%s: %w", name, err)
		}
		return c, nil
	default:
		return nil, fmt.Errorf("helpdesks.%s: kind %s is not supported by this version", name, h.Kind)
	}
}
