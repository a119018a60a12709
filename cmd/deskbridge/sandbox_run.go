package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/deskbridge/deskbridge/config"
	"github.com/deskbridge/deskbridge/connectors"
	sbwhatsapp "github.com/deskbridge/deskbridge/sandbox/whatsapp"
	sbzendesk "github.com/deskbridge/deskbridge/sandbox/zendesk"
	"github.com/deskbridge/deskbridge/secrets"
	"github.com/deskbridge/deskbridge/telemetry"
)

// The sandbox's fixed identities: one business number, one Zendesk helpdesk.
const (
	sandboxHelpdesk      = "sandbox"
	sandboxPhoneNumberID = "106540352242922"
	sandboxWABAID        = "102290129340398"
	sandboxDisplayPhone  = "+1 555-078-3881"
	sandboxZendeskEmail  = "bridge@example.com"
	sandboxConfigFile    = "deskbridge.yaml"
	sandboxStoreFile     = "deskbridge.db"
	sandboxExampleFrom   = "+34600111222"
)

// The sandbox's default listen addresses, each changed by its flag.
const (
	defaultSandboxPublicAddr   = "127.0.0.1:8080"
	defaultSandboxInternalAddr = "127.0.0.1:9090"
	defaultSandboxWhatsAppAddr = "127.0.0.1:8089"
	defaultSandboxZendeskAddr  = "127.0.0.1:8090"
)

// sandboxRunOptions are the flags of `deskbridge sandbox`.
type sandboxRunOptions struct {
	publicAddr, internalAddr, whatsappAddr, zendeskAddr string
	dir                                                 string // "": a temporary directory
	keep                                                bool   // keep the temporary directory on exit
	statePath                                           string // the state file say/reply/show read
	logLevel                                            string
	readyTimeout                                        time.Duration
}

// sandboxRunLong is the help of `deskbridge sandbox`.
const sandboxRunLong = `Run the whole sandbox on loopback, in one process: a fake of the WhatsApp
Cloud API, a fake of the Zendesk Support API and the bridge itself, wired
together. The store is SQLite in a temporary directory (removed on exit unless
--keep or --dir), and every secret is generated at random for the run and
kept in a 0600 file there. The Zendesk fake gets the webhook and trigger that
send agent replies to the bridge, as ` + "`deskbridge helpdesk setup`" + ` would create them.

While it runs, act from another terminal:

  deskbridge sandbox say --from +34600111222 --name Ana "Hola"   a customer writes
  deskbridge sandbox reply 1 "Hi Ana"                            an agent answers ticket 1
  deskbridge sandbox show                                        tickets and WhatsApp threads

Stop it with Ctrl-C.`

// addSandboxRunFlags registers the flags of `deskbridge sandbox` on cmd.
func addSandboxRunFlags(cmd *cobra.Command, o *sandboxRunOptions) {
	f := cmd.Flags()
	f.StringVar(&o.publicAddr, "public-addr", defaultSandboxPublicAddr, "the bridge's public listener (webhooks)")
	f.StringVar(&o.internalAddr, "internal-addr", defaultSandboxInternalAddr, "the bridge's internal listener (metrics, probes)")
	f.StringVar(&o.whatsappAddr, "whatsapp-addr", defaultSandboxWhatsAppAddr, "the WhatsApp Cloud API fake")
	f.StringVar(&o.zendeskAddr, "zendesk-addr", defaultSandboxZendeskAddr, "the Zendesk fake")
	f.StringVar(&o.dir, "dir", "", "directory for the store, secrets and configuration (created if missing, kept on exit; default: a temporary directory)")
	f.BoolVar(&o.keep, "keep", false, "keep the temporary directory on exit")
	f.StringVar(&o.statePath, "state", defaultSandboxStatePath(), "state file that tells say, reply and show where the sandbox runs")
	f.StringVar(&o.logLevel, "log-level", "info", "log level of the bridge and the fakes: debug, info, warn or error")
	o.readyTimeout = time.Minute
}

// runSandbox runs the fakes and the bridge until ctx ends, then stops the
// bridge first and the fakes after it.
func runSandbox(ctx context.Context, cmd *cobra.Command, o sandboxRunOptions) (err error) {
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	log, err := telemetry.NewLogger(stderr, o.logLevel, "text")
	if err != nil {
		return &userError{"deskbridge: --log-level: " + err.Error()}
	}
	addrs := []struct{ flag, addr string }{
		{"public-addr", o.publicAddr}, {"internal-addr", o.internalAddr},
		{"whatsapp-addr", o.whatsappAddr}, {"zendesk-addr", o.zendeskAddr},
	}
	lns := make([]net.Listener, len(addrs))
	defer func() {
		for _, ln := range lns {
			if ln != nil {
				_ = ln.Close()
			}
		}
	}()
	for i, a := range addrs {
		if lns[i], err = listenSandbox(a.flag, a.addr); err != nil {
			return err
		}
	}
	publicAddr, internalAddr := lns[0].Addr().String(), lns[1].Addr().String()
	publicURL, internalURL := "http://"+publicAddr, "http://"+internalAddr
	waURL, zdURL := "http://"+lns[2].Addr().String(), "http://"+lns[3].Addr().String()

	dir, cleanupDir, err := sandboxDir(o)
	if err != nil {
		return err
	}
	defer cleanupDir()
	sec, err := writeSandboxSecrets(dir)
	if err != nil {
		return err
	}

	// The fakes.
	wa := sbwhatsapp.New(sbwhatsapp.Options{
		APIVersion:  config.Defaults().WhatsApp.APIVersion,
		AccessToken: sec.values["whatsapp-access-token"],
		AppSecret:   sec.values["whatsapp-app-secret"],
		CallbackURL: publicURL + "/webhooks/whatsapp",
		Numbers: []sbwhatsapp.Number{{PhoneNumberID: sandboxPhoneNumberID, WABAID: sandboxWABAID,
			DisplayPhoneNumber: sandboxDisplayPhone}},
		Templates: sbwhatsapp.DefaultTemplates(),
		BaseURL:   waURL,
		Logger:    log.With("component", "sandbox-whatsapp"),
	})
	zd := sbzendesk.New(sbzendesk.Options{Email: sandboxZendeskEmail, APIToken: sec.values["zendesk-api-token"],
		BaseURL: zdURL, Logger: log.With("component", "sandbox-zendesk")})
	fakes := []*fakeServer{
		{name: "WhatsApp fake", h: wa, flush: wa.Flush, close: wa.Close},
		{name: "Zendesk fake", h: zd, flush: zd.Flush, close: zd.Close},
	}
	fakeErr := make(chan error, len(fakes))
	for i, f := range fakes {
		f.start(lns[2+i], fakeErr)
		lns[2+i] = nil // owned by the fake's server now
	}
	defer stopFakes(context.WithoutCancel(ctx), fakes)

	// The configuration, with the webhook secret the Zendesk fake signs with.
	cfg := sandboxConfig(dir, publicAddr, internalAddr, publicURL, waURL, zdURL, o.logLevel, sec.refs)
	hd, err := newHelpdesk(cfg, sandboxHelpdesk, secrets.New(nil, nil), log, nil)
	if err != nil {
		return err
	}
	inst, ok := hd.(connectors.WebhookInstaller)
	if !ok {
		return errors.New("sandbox: the Zendesk connector cannot install webhooks")
	}
	setupCtx, cancelSetup := context.WithTimeout(ctx, 30*time.Second)
	res, err := inst.EnsureWebhook(setupCtx, &connectors.EnsureWebhookParams{
		Endpoint: publicURL + "/webhooks/zendesk", Name: "deskbridge"})
	cancelSetup()
	if err != nil && ctx.Err() != nil {
		return nil // interrupted while starting
	}
	if err != nil {
		return apiError("sandbox: Zendesk webhook setup", err)
	}
	if res.SigningSecret == "" {
		return errors.New("sandbox: the Zendesk fake returned no webhook signing secret")
	}
	ref, err := writeSecretFile(dir, "zendesk-webhook-secret", res.SigningSecret)
	if err != nil {
		return err
	}
	h := cfg.Helpdesks[sandboxHelpdesk]
	h.WebhookSecret = ref
	cfg.Helpdesks[sandboxHelpdesk] = h
	cfgPath := filepath.Join(dir, sandboxConfigFile)
	if cfg, err = writeSandboxConfig(cfgPath, cfg); err != nil {
		return err
	}

	// The bridge. Its listeners were only held to check the ports.
	_ = lns[0].Close()
	_ = lns[1].Close()
	lns[0], lns[1] = nil, nil
	bridge := startBridge(context.WithoutCancel(ctx), cfg, cfgPath, stderr)
	defer func() {
		if serr := bridge.stop(); err == nil {
			err = serr
		}
	}()
	ready, err := waitReady(ctx, internalURL+"/readyz", o.readyTimeout, bridge.done)
	if err != nil {
		return err
	}
	if !ready {
		if ctx.Err() != nil {
			return nil // interrupted while starting
		}
		if err := bridge.stop(); err != nil {
			return err
		}
		return errors.New("sandbox: the bridge stopped while starting")
	}
	st := sandboxState{
		PID: os.Getpid(), Instance: rand.Text(), StartedAt: time.Now().UTC(), Dir: dir, Config: cfgPath,
		PublicURL: publicURL, InternalURL: internalURL, WhatsAppURL: waURL, ZendeskURL: zdURL,
		PhoneNumberID: sandboxPhoneNumberID, Helpdesk: sandboxHelpdesk,
	}
	if err := writeSandboxState(o.statePath, st); err != nil {
		return err
	}
	defer removeSandboxState(o.statePath, st.Instance)
	printNextSteps(stdout, o, st, o.dir == "" && !o.keep)

	select {
	case <-ctx.Done():
		return nil
	case <-bridge.done:
		if bridge.err == nil {
			return errors.New("sandbox: the bridge stopped")
		}
		return bridge.err
	case err := <-fakeErr:
		return fmt.Errorf("sandbox: %w", err)
	}
}

// listenSandbox listens on a loopback addr given by --flag; a busy port is
// one line naming the flag to change.
func listenSandbox(flag, addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, &userError{fmt.Sprintf("deskbridge: --%s %q: must be host:port, such as 127.0.0.1:8080", flag, addr)}
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, &userError{fmt.Sprintf("deskbridge: --%s %q: the sandbox listens on loopback only", flag, addr)}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		cause := err.Error()
		var se *os.SyscallError
		if errors.As(err, &se) {
			cause = se.Err.Error()
		}
		return nil, &userError{fmt.Sprintf("deskbridge: sandbox: cannot listen on %s (%s); pass --%s HOST:PORT to use another address", addr, cause, flag)}
	}
	return ln, nil
}

// sandboxDir returns the directory of the run and the function that
// removes it on exit when it is a temporary one without --keep.
func sandboxDir(o sandboxRunOptions) (string, func(), error) {
	if o.dir != "" {
		dir, err := filepath.Abs(o.dir)
		if err != nil {
			return "", nil, err
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", nil, &userError{"deskbridge: --dir: " + err.Error()}
		}
		if _, err := os.Stat(filepath.Join(dir, sandboxStoreFile)); err == nil {
			return "", nil, &userError{fmt.Sprintf("deskbridge: --dir %s already holds a store from an earlier run; the fakes start empty, so remove %s or pass another --dir",
				dir, sandboxStoreFile)}
		}
		return dir, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "deskbridge-sandbox-run-*")
	if err != nil {
		return "", nil, err
	}
	if o.keep {
		return dir, func() {}, nil
	}
	return dir, func() { _ = os.RemoveAll(dir) }, nil
}

// sandboxSecrets are the secrets generated for one run: their values, for
// the fakes, and their file:// references, for the bridge.
type sandboxSecrets struct {
	values map[string]string
	refs   map[string]config.Secret
}

// writeSandboxSecrets generates the run's secrets and writes each to a 0600
// file in dir.
func writeSandboxSecrets(dir string) (sandboxSecrets, error) {
	s := sandboxSecrets{values: map[string]string{}, refs: map[string]config.Secret{}}
	for _, name := range []string{"whatsapp-app-secret", "whatsapp-verify-token", "whatsapp-access-token", "zendesk-api-token"} {
		v := rand.Text()
		ref, err := writeSecretFile(dir, name, v)
		if err != nil {
			return s, err
		}
		s.values[name], s.refs[name] = v, ref
	}
	return s, nil
}

// writeSecretFile writes value to dir/name with mode 0600 and returns its
// file:// reference.
func writeSecretFile(dir, name, value string) (config.Secret, error) {
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(value+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("sandbox: secret file: %w", err)
	}
	if err := os.Chmod(p, 0o600); err != nil { // an existing file keeps its mode otherwise
		return "", fmt.Errorf("sandbox: secret file: %w", err)
	}
	return config.Secret("file://" + filepath.ToSlash(p)), nil
}

// sandboxConfig is the bridge's configuration for the run: SQLite in dir,
// the WhatsApp fake's number served by the Zendesk fake's helpdesk.
func sandboxConfig(dir, publicAddr, internalAddr, publicURL, waURL, zdURL, logLevel string, refs map[string]config.Secret) *config.Config {
	c := &config.Config{
		Store: config.StoreConfig{URL: "sqlite://" + filepath.ToSlash(filepath.Join(dir, sandboxStoreFile))},
		Server: config.ServerConfig{PublicAddr: publicAddr, InternalAddr: internalAddr, PublicURL: publicURL,
			ShutdownTimeout: config.Duration(5 * time.Second)},
		Log: config.LogConfig{Level: logLevel, Format: "text"},
		WhatsApp: config.WhatsAppConfig{
			APIBaseURL:  waURL,
			AppSecret:   refs["whatsapp-app-secret"],
			VerifyToken: refs["whatsapp-verify-token"],
			Numbers: []config.Number{{PhoneNumberID: sandboxPhoneNumberID, WABAID: sandboxWABAID,
				DisplayPhoneNumber: sandboxDisplayPhone, Label: "sandbox",
				AccessToken: refs["whatsapp-access-token"], Helpdesk: sandboxHelpdesk}},
		},
		Helpdesks: map[string]config.Helpdesk{sandboxHelpdesk: {Kind: "zendesk", BaseURL: zdURL,
			Email: sandboxZendeskEmail, APIToken: refs["zendesk-api-token"]}},
	}
	return c.WithDefaults()
}

// writeSandboxConfig writes cfg to path (0600), so that `status --config`
// and `send --config` work against the run, and loads it back as serve
// would, without DESKBRIDGE_* overrides from the environment.
func writeSandboxConfig(path string, cfg *config.Config) (*config.Config, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("sandbox: configuration: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	fmt.Fprintln(f, "# Written by `deskbridge sandbox` for this run; secrets are file:// references.")
	werr := cfg.WriteYAML(f)
	if err := errors.Join(werr, f.Close()); err != nil {
		return nil, fmt.Errorf("sandbox: %s: %w", path, err)
	}
	loaded, err := config.LoadEnviron(path, nil)
	if err != nil {
		return nil, fmt.Errorf("sandbox: configuration: %w", err)
	}
	return loaded, nil
}

// fakeServer is one fake served over HTTP.
type fakeServer struct {
	name  string
	h     http.Handler
	flush func(context.Context) error
	close func()
	srv   *http.Server
}

// start serves the fake on ln; a failure is sent to errc.
func (f *fakeServer) start(ln net.Listener, errc chan<- error) {
	f.srv = &http.Server{Handler: f.h, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := f.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("%s: %w", f.name, err)
		}
	}()
}

// stopFakes delivers what the fakes still have queued (briefly: the bridge
// is already stopped), then shuts their servers down.
func stopFakes(ctx context.Context, fakes []*fakeServer) {
	flushCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	for _, f := range fakes {
		_ = f.flush(flushCtx)
	}
	for _, f := range fakes {
		f.close()
	}
	sctx, scancel := context.WithTimeout(ctx, 5*time.Second)
	defer scancel()
	for _, f := range fakes {
		if f.srv != nil {
			_ = f.srv.Shutdown(sctx)
		}
	}
}

// bridgeRun is serve running in a goroutine.
type bridgeRun struct {
	cancel context.CancelFunc
	done   chan struct{} // closed when serve has returned
	err    error         // serve's answer, set before done is closed
}

// startBridge runs serve with cfg until stop is called.
func startBridge(ctx context.Context, cfg *config.Config, path string, logOut io.Writer) *bridgeRun {
	ctx, cancel := context.WithCancel(ctx)
	b := &bridgeRun{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(b.done)
		b.err = serve(ctx, cfg, path, logOut)
	}()
	return b
}

// stop stops serve (the listeners drain, the workers stop, the store
// closes) and returns its error.
func (b *bridgeRun) stop() error {
	b.cancel()
	<-b.done
	return b.err
}

// waitReady polls url until it answers 200 (true), ctx ends (false), serve
// returns or timeout passes (an error).
func waitReady(ctx context.Context, url string, timeout time.Duration, served <-chan struct{}) (bool, error) {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	last := "no answer"
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return false, err
		}
		if resp, err := client.Do(req); err == nil {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true, nil
			}
			last = fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(b)))
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			return false, fmt.Errorf("sandbox: the bridge is not ready after %s: %s", timeout, last)
		}
		select {
		case <-ctx.Done():
			return false, nil
		case <-served:
			return false, nil // stop returns serve's error
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// printNextSteps tells the user what to do once everything is up.
func printNextSteps(w io.Writer, o sandboxRunOptions, st sandboxState, removed bool) {
	prog := sandboxProgram()
	state := ""
	if o.statePath != defaultSandboxStatePath() {
		state = " --state " + shellQuote(o.statePath)
	}
	files := "kept on exit"
	if removed {
		files = "removed on exit"
	}
	fmt.Fprintf(w, `deskbridge sandbox is running
  bridge     %s/webhooks/{whatsapp,zendesk}, metrics and probes on %s
  WhatsApp   %s (fake Cloud API, number %s)
  Zendesk    %s (fake Support API, helpdesk %q)
  files      %s (store, secrets, %s; %s)

Next, in another terminal:
`, st.PublicURL, st.InternalURL, st.WhatsAppURL, st.PhoneNumberID, st.ZendeskURL, st.Helpdesk,
		st.Dir, sandboxConfigFile, files)
	steps := [][2]string{
		{prog + " sandbox say" + state + " --from " + sandboxExampleFrom + ` --name Ana "Hola, where is my order?"`, "write as a customer"},
		{prog + " sandbox show" + state, "tickets and WhatsApp threads"},
		{prog + " sandbox reply" + state + ` 1 "Hi Ana, your order ships today."`, "answer ticket 1 as an agent"},
		{prog + " sandbox reply" + state + ` 1 --note "Checked the warehouse"`, "add an internal note"},
		{prog + " status --config " + shellQuote(st.Config), "the bridge's event counts"},
		{"curl -s " + st.InternalURL + "/metrics | grep deskbridge_webhook", "the webhook metrics"},
	}
	width := 0
	for _, s := range steps {
		width = max(width, len(s[0]))
	}
	for _, s := range steps {
		fmt.Fprintf(w, "  %-*s  # %s\n", width, s[0], s[1])
	}
	fmt.Fprintln(w, "Stop with Ctrl-C.")
}

// sandboxProgram is how the user runs this binary: `go run ./cmd/deskbridge`
// when it was built by go run (or go test), else the name it was run as.
func sandboxProgram() string {
	exe, _ := os.Executable()
	if strings.Contains(filepath.ToSlash(exe), "/go-build") || len(os.Args) == 0 {
		return "go run ./cmd/deskbridge"
	}
	return os.Args[0]
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`*?[]{}()<>|&;#~!") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
