package server

import (
	"crypto/subtle"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/deskbridge/deskbridge/connectors/whatsapp"
)

const sourceWhatsApp = "whatsapp"

type whatsappHandler struct{ s *Server }

// verify answers Meta's subscription handshake: hub.mode=subscribe and the
// right hub.verify_token get hub.challenge back as text; anything else 403.
func (h *whatsappHandler) verify(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	code := http.StatusForbidden
	defer func() { h.s.opts.Metrics.WebhookRequests.WithLabelValues(sourceWhatsApp, strconv.Itoa(code)).Inc() }()
	want, err := h.s.opts.VerifyToken(r.Context())
	if err != nil {
		h.s.log.ErrorContext(r.Context(), "verify token unavailable", slog.Any("error", err))
		code = http.StatusServiceUnavailable
		http.Error(w, "verify token unavailable", code)
		return
	}
	got := q.Get("hub.verify_token")
	if q.Get("hub.mode") != "subscribe" || len(want) == 0 ||
		subtle.ConstantTimeCompare([]byte(got), want) != 1 {
		h.s.log.WarnContext(r.Context(), "webhook verification refused", "mode", q.Get("hub.mode"))
		http.Error(w, "verification failed", code)
		return
	}
	code = http.StatusOK
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, q.Get("hub.challenge"))
}

// receive stores a signed notification's events and answers 200 only after
// the commit.
func (h *whatsappHandler) receive(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ctx := r.Context()
	code := http.StatusOK
	defer func() {
		m := h.s.opts.Metrics
		m.WebhookRequests.WithLabelValues(sourceWhatsApp, strconv.Itoa(code)).Inc()
		m.WebhookAckSeconds.WithLabelValues(sourceWhatsApp).Observe(time.Since(start).Seconds())
	}()
	fail := func(c int, msg string) {
		code = c
		http.Error(w, msg, c)
	}

	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.s.opts.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			fail(http.StatusRequestEntityTooLarge, "body larger than "+strconv.FormatInt(tooBig.Limit, 10)+" bytes")
			return
		}
		fail(http.StatusBadRequest, "could not read body")
		return
	}
	secret, err := h.s.opts.WhatsAppSecret(ctx)
	if err != nil {
		h.s.log.ErrorContext(ctx, "app secret unavailable", slog.Any("error", err))
		fail(http.StatusServiceUnavailable, "app secret unavailable")
		return
	}
	if err := whatsapp.VerifySignature(body, r.Header.Get("X-Hub-Signature-256"), secret); err != nil {
		h.s.log.WarnContext(ctx, "webhook signature rejected", slog.Any("error", err), "bytes", len(body))
		fail(http.StatusUnauthorized, "invalid signature")
		return
	}
	events, err := whatsapp.ParseNotification(body)
	if err != nil {
		h.s.log.WarnContext(ctx, "webhook body rejected", slog.Any("error", err))
		fail(http.StatusBadRequest, err.Error())
		return
	}
	dups, err := h.s.opts.Acceptor.AcceptWhatsApp(ctx, events)
	if err != nil {
		// Not durable: Meta will deliver it again.
		h.s.log.ErrorContext(ctx, "webhook not stored", slog.Any("error", err), "events", len(events))
		fail(http.StatusServiceUnavailable, "not stored, retry later")
		return
	}
	for i, ev := range events {
		result := "stored"
		if i < len(dups) && dups[i] {
			result = "duplicate"
		}
		h.s.opts.Metrics.WebhookEvents.WithLabelValues(sourceWhatsApp, string(ev.Kind), result).Inc()
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "EVENT_RECEIVED")
}
