// Package server is deskbridge's HTTP surface. The public listener takes
// webhooks only; the internal listener serves /metrics, /livez and /readyz
// and is meant for the cluster network, not the internet.
//
// A webhook is answered 200 only after its events are durable: the handler
// verifies the signature over the raw body, parses it, and hands the events
// to an Acceptor that stores them and enqueues their work in one
// transaction. No vendor is called inside a webhook request.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/deskbridge/deskbridge/connectors/whatsapp"
	"github.com/deskbridge/deskbridge/telemetry"
)

// Acceptor stores webhook events durably and enqueues their work; it
// returns only after the commit, with duplicates[i] true when events[i]
// had been stored before (a re-delivery).
type Acceptor interface {
	AcceptWhatsApp(ctx context.Context, events []whatsapp.Event) (duplicates []bool, err error)
}

// SecretFunc returns the current value of a secret. It is called per
// request, so a rotated secret is picked up without a restart.
type SecretFunc func(ctx context.Context) ([]byte, error)

// ReadyFunc reports whether the service can do its work; nil means ready.
type ReadyFunc func(ctx context.Context) error

// Options configure a Server.
type Options struct {
	PublicAddr     string        // e.g. ":8080"
	InternalAddr   string        // e.g. "127.0.0.1:9090"
	MaxBodyBytes   int64         // larger webhook bodies get 413 (3 MB)
	ReadTimeout    time.Duration // whole-request read limit
	WriteTimeout   time.Duration
	WhatsAppSecret SecretFunc // app secret for X-Hub-Signature-256
	VerifyToken    SecretFunc // hub.verify_token of the GET handshake
	Acceptor       Acceptor
	// Helpdesk accepts helpdesk webhooks on /webhooks/zendesk; nil: the
	// route is not served.
	Helpdesk HelpdeskAcceptor
	Ready    ReadyFunc
	Metrics  *telemetry.Metrics
	Logger   *slog.Logger
}

// Server runs the public and internal listeners.
type Server struct {
	opts     Options
	log      *slog.Logger
	public   *http.Server
	internal *http.Server

	mu         sync.Mutex
	publicLn   net.Listener
	internalLn net.Listener
}

// New builds a server; Listen and Serve start it.
func New(opts Options) (*Server, error) {
	if opts.Acceptor == nil || opts.WhatsAppSecret == nil || opts.VerifyToken == nil || opts.Metrics == nil {
		return nil, errors.New("server: Acceptor, WhatsAppSecret, VerifyToken and Metrics are required")
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 3 << 20
	}
	if opts.ReadTimeout <= 0 {
		opts.ReadTimeout = 10 * time.Second
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 10 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = telemetry.DiscardLogger()
	}
	if opts.Ready == nil {
		opts.Ready = func(context.Context) error { return nil }
	}
	s := &Server{opts: opts, log: opts.Logger.With("component", "server")}

	pub := http.NewServeMux()
	wa := &whatsappHandler{s: s}
	pub.HandleFunc("GET /webhooks/whatsapp", wa.verify)
	pub.HandleFunc("POST /webhooks/whatsapp", wa.receive)
	if opts.Helpdesk != nil {
		pub.HandleFunc("POST /webhooks/zendesk", s.helpdeskHandler("zendesk"))
	}
	s.public = &http.Server{
		Handler:           pub,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       opts.ReadTimeout,
		WriteTimeout:      opts.WriteTimeout,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}

	in := http.NewServeMux()
	in.Handle("GET /metrics", promhttp.HandlerFor(opts.Metrics.Registry, promhttp.HandlerOpts{
		// A collector that cannot read the store must not hide the rest.
		ErrorHandling: promhttp.ContinueOnError,
		ErrorLog:      slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}))
	in.HandleFunc("GET /livez", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	in.HandleFunc("GET /readyz", s.readyz)
	s.internal = &http.Server{
		Handler:           in,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       opts.ReadTimeout,
		WriteTimeout:      opts.WriteTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	return s, nil
}

// PublicHandler returns the public listener's handler (tests and benchmarks
// drive it directly).
func (s *Server) PublicHandler() http.Handler { return s.public.Handler }

// InternalHandler returns the internal listener's handler.
func (s *Server) InternalHandler() http.Handler { return s.internal.Handler }

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := s.opts.Ready(ctx); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = fmt.Fprintf(w, "not ready: %v\n", err)
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}

// Listen opens both listeners, so a port conflict is reported before any
// work starts.
func (s *Server) Listen() error {
	pub, err := net.Listen("tcp", s.opts.PublicAddr)
	if err != nil {
		return fmt.Errorf("server: public listener %s: %w", s.opts.PublicAddr, err)
	}
	in, err := net.Listen("tcp", s.opts.InternalAddr)
	if err != nil {
		_ = pub.Close()
		return fmt.Errorf("server: internal listener %s: %w", s.opts.InternalAddr, err)
	}
	s.mu.Lock()
	s.publicLn, s.internalLn = pub, in
	s.mu.Unlock()
	return nil
}

// PublicAddr is the bound public address (after Listen).
func (s *Server) PublicAddr() string { return s.publicLn.Addr().String() }

// InternalAddr is the bound internal address (after Listen).
func (s *Server) InternalAddr() string { return s.internalLn.Addr().String() }

// Serve serves both listeners until ctx is done, then shuts down
// gracefully: it stops accepting connections and waits for in-flight
// requests until shutdownCtx ends.
func (s *Server) Serve(ctx context.Context, shutdownTimeout time.Duration) error {
	errc := make(chan error, 2)
	go func() { errc <- s.public.Serve(s.publicLn) }()
	go func() { errc <- s.internal.Serve(s.internalLn) }()
	s.log.InfoContext(ctx, "listening", "public_addr", s.PublicAddr(), "internal_addr", s.InternalAddr())

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	perr := s.public.Shutdown(sctx)
	ierr := s.internal.Shutdown(sctx)
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("server: %w", serveErr)
	}
	if err := errors.Join(perr, ierr); err != nil {
		return fmt.Errorf("server: shutdown: %w", err)
	}
	return nil
}
