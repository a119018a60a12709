package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/deskbridge/deskbridge/config"
	sbwhatsapp "github.com/deskbridge/deskbridge/sandbox/whatsapp"
	sbzendesk "github.com/deskbridge/deskbridge/sandbox/zendesk"
	"github.com/deskbridge/deskbridge/secrets"
	"github.com/deskbridge/deskbridge/telemetry"
)

func newSandboxCmd() *cobra.Command {
	var o sandboxRunOptions
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "Run the bridge with fakes of WhatsApp and Zendesk on loopback, or one fake alone",
		Long:  sandboxRunLong,
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return runSandbox(cmd.Context(), cmd, o) },
	}
	addSandboxRunFlags(cmd, &o)
	cmd.AddCommand(newSandboxWhatsAppCmd(), newSandboxZendeskCmd(),
		newSandboxSayCmd(), newSandboxReplyCmd(), newSandboxShowCmd())
	return cmd
}

// sandboxWhatsAppOptions are the fake's settings; with --config they come
// from the configuration (numbers, secrets, API URL, webhook URL).
type sandboxWhatsAppOptions struct {
	addr, callback, token, appSecret, version string
	numbers                                   []sbwhatsapp.Number
}

func newSandboxWhatsAppCmd() *cobra.Command {
	var flags sandboxWhatsAppOptions
	cmd := &cobra.Command{
		Use:   "whatsapp",
		Short: "Run a fake WhatsApp Cloud API that sends signed webhooks to the bridge",
		Long: `Run a stateful fake of the WhatsApp Cloud API on loopback.

With --config it serves the configured numbers, accepts their access token,
signs webhooks with the configured app secret and sends them to the bridge's
public listener; it listens on the host:port of whatsapp.api_base_url. Act as
a customer through its control API, for example:

  curl -s -X POST http://127.0.0.1:8089/_sandbox/inbound \
       -d '{"from":"+34600111222","name":"Ana","text":"Hola"}'
  curl -s 'http://127.0.0.1:8089/_sandbox/outbound?to=%2B34600111222'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, err := sandboxOptionsFrom(cmd, flags)
			if err != nil {
				return err
			}
			return runSandboxWhatsApp(cmd.Context(), cmd, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&flags.addr, "addr", "", "listen address (default: host:port of whatsapp.api_base_url, else 127.0.0.1:8089)")
	f.StringVar(&flags.callback, "callback", "", "webhook URL (default: the bridge's public listener /webhooks/whatsapp)")
	f.StringVar(&flags.token, "token", "", "access token to accept (default: the first number's access_token, else sandbox-access-token)")
	f.StringVar(&flags.appSecret, "app-secret", "", "app secret that signs webhooks (default: whatsapp.app_secret, else sandbox-app-secret)")
	return cmd
}

// sandboxOptionsFrom fills the options from the flags, then the
// configuration when one is given, then the sandbox defaults.
func sandboxOptionsFrom(cmd *cobra.Command, o sandboxWhatsAppOptions) (sandboxWhatsAppOptions, error) {
	path, _ := configPath(cmd)
	o.version = config.Defaults().WhatsApp.APIVersion
	if path != "" {
		cfg, _, err := loadConfig(cmd)
		if err != nil {
			return o, err
		}
		res := secrets.New(nil, nil)
		ctx := cmd.Context()
		if o.appSecret == "" {
			b, err := res.Resolve(ctx, cfg.WhatsApp.AppSecret)
			if err != nil {
				return o, fmt.Errorf("whatsapp.app_secret: %w", err)
			}
			o.appSecret = string(b)
		}
		if o.token == "" && len(cfg.WhatsApp.Numbers) > 0 && cfg.WhatsApp.Numbers[0].AccessToken != "" {
			b, err := res.Resolve(ctx, cfg.WhatsApp.Numbers[0].AccessToken)
			if err != nil {
				return o, fmt.Errorf("whatsapp.numbers[0].access_token: %w", err)
			}
			o.token = string(b)
		}
		if o.addr == "" {
			if u, err := url.Parse(cfg.WhatsApp.APIBaseURL); err == nil && u.Scheme == "http" && u.Port() != "" {
				o.addr = u.Host
			}
		}
		if o.callback == "" {
			host, port, err := net.SplitHostPort(cfg.Server.PublicAddr)
			if err == nil {
				if host == "" || host == "0.0.0.0" || host == "::" {
					host = "127.0.0.1"
				}
				o.callback = "http://" + net.JoinHostPort(host, port) + "/webhooks/whatsapp"
			}
		}
		o.version = cfg.WhatsApp.APIVersion
		for _, n := range cfg.WhatsApp.Numbers {
			o.numbers = append(o.numbers, sbwhatsapp.Number{PhoneNumberID: n.PhoneNumberID, WABAID: n.WABAID,
				DisplayPhoneNumber: n.DisplayPhoneNumber, ThroughputMPS: n.ThroughputMPS})
		}
	}
	if o.addr == "" {
		o.addr = "127.0.0.1:8089"
	}
	if o.callback == "" {
		o.callback = "http://127.0.0.1:8080/webhooks/whatsapp"
	}
	if o.token == "" {
		o.token = "sandbox-access-token"
	}
	if o.appSecret == "" {
		o.appSecret = "sandbox-app-secret"
	}
	if len(o.numbers) == 0 {
		o.numbers = []sbwhatsapp.Number{{PhoneNumberID: "106540352242922", WABAID: "102290129340398"}}
	}
	for i := range o.numbers {
		if o.numbers[i].DisplayPhoneNumber == "" {
			o.numbers[i].DisplayPhoneNumber = "+1 555-078-3881"
		}
	}
	if host, _, err := net.SplitHostPort(o.addr); err != nil {
		return o, fmt.Errorf("--addr %q: %w", o.addr, err)
	} else if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return o, fmt.Errorf("--addr %q: the sandbox listens on loopback only", o.addr)
	}
	return o, nil
}

func runSandboxWhatsApp(ctx context.Context, cmd *cobra.Command, o sandboxWhatsAppOptions) error {
	log, err := telemetry.NewLogger(cmd.ErrOrStderr(), "info", "text")
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return &userError{"deskbridge: sandbox: " + err.Error()}
	}
	base := "http://" + ln.Addr().String()
	fake := sbwhatsapp.New(sbwhatsapp.Options{
		APIVersion:  o.version,
		AccessToken: o.token,
		AppSecret:   o.appSecret,
		CallbackURL: o.callback,
		Numbers:     o.numbers,
		Templates:   sbwhatsapp.DefaultTemplates(),
		BaseURL:     base,
		Logger:      log.With("component", "sandbox-whatsapp"),
	})
	defer fake.Close()
	ids := make([]string, len(o.numbers))
	for i, n := range o.numbers {
		ids[i] = n.PhoneNumberID
	}
	fmt.Fprintf(cmd.OutOrStdout(), "WhatsApp sandbox: Cloud API %s/%s (numbers %s), webhooks to %s, control API %s/_sandbox/\n",
		base, o.version, strings.Join(ids, ", "), o.callback, base)
	return serveUntilDone(ctx, ln, fake, fake.Flush)
}

func newSandboxZendeskCmd() *cobra.Command {
	var addr, email, token, helpdesk string
	cmd := &cobra.Command{
		Use:   "zendesk",
		Short: "Run a fake Zendesk Support API (users, tickets, uploads, webhooks, triggers)",
		Long: `Run a stateful fake of the Zendesk Support API on loopback.

With --config and --helpdesk it listens on the helpdesk's base_url and accepts
its email and API token. Act as an agent through its control API, e.g.:

  curl -s -X POST http://127.0.0.1:8090/_sandbox/reply \
       -d '{"ticket_id":1,"body":"Hello from support","public":true}'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if path, _ := configPath(cmd); path != "" {
				cfg, _, err := loadConfig(cmd)
				if err != nil {
					return err
				}
				if helpdesk == "" {
					return fmt.Errorf("with --config, pass --helpdesk NAME (one of: %s)", strings.Join(helpdeskNames(cfg), ", "))
				}
				h, ok := cfg.Helpdesks[helpdesk]
				if !ok || h.Kind != "zendesk" {
					return fmt.Errorf("helpdesk %q is not a configured zendesk helpdesk", helpdesk)
				}
				if u, err := url.Parse(h.BaseURL); err == nil && u.Scheme == "http" && u.Port() != "" && addr == "" {
					addr = u.Host
				}
				if email == "" {
					email = h.Email
				}
				if token == "" && h.APIToken != "" {
					b, err := secrets.New(nil, nil).Resolve(cmd.Context(), h.APIToken)
					if err != nil {
						return fmt.Errorf("helpdesks.%s.api_token: %w", helpdesk, err)
					}
					token = string(b)
				}
			}
			if addr == "" {
				addr = "127.0.0.1:8090"
			}
			if email == "" {
				email = "bridge@example.com"
			}
			if token == "" {
				token = "sandbox-zendesk-token"
			}
			if host, _, err := net.SplitHostPort(addr); err != nil {
				return fmt.Errorf("--addr %q: %w", addr, err)
			} else if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
				return fmt.Errorf("--addr %q: the sandbox listens on loopback only", addr)
			}
			log, err := telemetry.NewLogger(cmd.ErrOrStderr(), "info", "text")
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return &userError{"deskbridge: sandbox: " + err.Error()}
			}
			base := "http://" + ln.Addr().String()
			fake := sbzendesk.New(sbzendesk.Options{Email: email, APIToken: token, BaseURL: base,
				Logger: log.With("component", "sandbox-zendesk")})
			defer fake.Close()
			fmt.Fprintf(cmd.OutOrStdout(), "Zendesk sandbox: API %s (email %s), control API %s/_sandbox/\n", base, email, base)
			return serveUntilDone(cmd.Context(), ln, fake, fake.Flush)
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "addr", "", "listen address (default: host:port of the helpdesk's base_url, else 127.0.0.1:8090)")
	f.StringVar(&email, "email", "", "API identity email (default: the helpdesk's email)")
	f.StringVar(&token, "token", "", "API token to accept (default: the helpdesk's api_token)")
	f.StringVar(&helpdesk, "helpdesk", "", "helpdesk name in the configuration")
	return cmd
}

// serveUntilDone serves h on ln until ctx ends, then flushes and shuts down.
func serveUntilDone(ctx context.Context, ln net.Listener, h http.Handler, flush func(context.Context) error) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = flush(sctx)
	return srv.Shutdown(sctx)
}
