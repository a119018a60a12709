package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

// HelpdeskAcceptor verifies, parses and stores a helpdesk's webhook (an
// agent's reply). It returns the HTTP status to answer (200 only after
// the event is durable, or when it is deliberately ignored, such as the
// bridge's own writes echoing back), the event kind and the result for
// deskbridge_webhook_events_total ("stored", "duplicate", "ignored"), and
// an error to log when the status is not 200.
type HelpdeskAcceptor interface {
	AcceptHelpdesk(ctx context.Context, vendor string, header http.Header, body []byte) (status int, kind, result string, err error)
}

// helpdeskHandler serves POST /webhooks/{vendor}.
func (s *Server) helpdeskHandler(vendor string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ctx := r.Context()
		code := http.StatusOK
		defer func() {
			m := s.opts.Metrics
			m.WebhookRequests.WithLabelValues(vendor, strconv.Itoa(code)).Inc()
			m.WebhookAckSeconds.WithLabelValues(vendor).Observe(time.Since(start).Seconds())
		}()
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				code = http.StatusRequestEntityTooLarge
			} else {
				code = http.StatusBadRequest
			}
			http.Error(w, http.StatusText(code), code)
			return
		}
		status, kind, result, err := s.opts.Helpdesk.AcceptHelpdesk(ctx, vendor, r.Header, body)
		code = status
		if status != http.StatusOK {
			level := slog.LevelWarn
			if status >= 500 {
				level = slog.LevelError
			}
			s.log.Log(ctx, level, "helpdesk webhook refused", "vendor", vendor, "status", status, slog.Any("error", err))
			msg := http.StatusText(status)
			if err != nil && status < 500 {
				msg = err.Error()
			}
			http.Error(w, msg, status)
			return
		}
		if kind != "" {
			s.opts.Metrics.WebhookEvents.WithLabelValues(vendor, kind, result).Inc()
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok")
	}
}
