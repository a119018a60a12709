package whatsapp

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Control API (no token; JSON in and out):
//
//	POST /_sandbox/inbound            InboundParams → {"id","webhook_status","webhook_error"?}
//	GET  /_sandbox/outbound?to=&phone_number_id=  → {"messages":[…],"read_marks":[…]}
//	GET|POST /_sandbox/clock          {"advance":"25h"} or {"set":"RFC3339"} → {"now"}
//	GET|POST /_sandbox/limits         {"phone_number_id","throughput_mps","pair_limit","pair_window","messaging_limit","quality_rating"}
//	GET|POST /_sandbox/templates      Template → the stored template; GET lists all
//	POST /_sandbox/templates/status   TemplateStatusParams → the template (and a webhook)
//	GET|POST /_sandbox/options        webhook options (fields given are changed)
//	POST /_sandbox/callback           {"url"}
//	GET  /_sandbox/webhooks           the last deliveries
//	POST /_sandbox/reset

// controlError is the control API's error body.
type controlError struct {
	Error string `json:"error"`
}

func writeControlError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, controlError{Error: err.Error()})
}

// decodeControl reads a JSON control request strictly (unknown fields fail).
func decodeControl(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("request body: %w", err)
	}
	return nil
}

// limitsWire is the JSON form of Limits.
type limitsWire struct {
	PhoneNumberID  string `json:"phone_number_id,omitempty"`
	ThroughputMPS  int    `json:"throughput_mps,omitempty"`
	PairLimit      int    `json:"pair_limit,omitempty"`
	PairWindow     string `json:"pair_window,omitempty"`
	MessagingLimit string `json:"messaging_limit,omitempty"`
	QualityRating  string `json:"quality_rating,omitempty"`
}

// optionsWire is the JSON form of WebhookOptions; absent fields are unchanged.
type optionsWire struct {
	StatusesEnabled    *bool   `json:"statuses_enabled,omitempty"`
	StatusDelay        *string `json:"status_delay,omitempty"`
	Duplicate          *bool   `json:"duplicate,omitempty"`
	OutOfOrder         *bool   `json:"out_of_order,omitempty"`
	FailNext           *int    `json:"fail_next,omitempty"`
	WindowFailureAsync *bool   `json:"window_failure_async,omitempty"`
	MaxAttempts        *int    `json:"max_attempts,omitempty"`
	RetryBackoff       *string `json:"retry_backoff,omitempty"`
}

func optionsToWire(o WebhookOptions) optionsWire {
	d, b := o.StatusDelay.String(), o.RetryBackoff.String()
	return optionsWire{&o.StatusesEnabled, &d, &o.Duplicate, &o.OutOfOrder, &o.FailNext,
		&o.WindowFailureAsync, &o.MaxAttempts, &b}
}

// apply changes o by the fields present in w.
func (w optionsWire) apply(o WebhookOptions) (WebhookOptions, error) {
	set := func(dst *bool, src *bool) {
		if src != nil {
			*dst = *src
		}
	}
	set(&o.StatusesEnabled, w.StatusesEnabled)
	set(&o.Duplicate, w.Duplicate)
	set(&o.OutOfOrder, w.OutOfOrder)
	set(&o.WindowFailureAsync, w.WindowFailureAsync)
	if w.FailNext != nil {
		o.FailNext = *w.FailNext
	}
	if w.MaxAttempts != nil {
		o.MaxAttempts = *w.MaxAttempts
	}
	for _, d := range []struct {
		src *string
		dst *time.Duration
		key string
	}{{w.StatusDelay, &o.StatusDelay, "status_delay"}, {w.RetryBackoff, &o.RetryBackoff, "retry_backoff"}} {
		if d.src == nil {
			continue
		}
		v, err := time.ParseDuration(*d.src)
		if err != nil || v < 0 {
			return o, fmt.Errorf("%s: %q is not a duration like \"2s\"", d.key, *d.src)
		}
		*d.dst = v
	}
	return o, nil
}

// serveControl routes /_sandbox/….
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	route := r.Method + " " + r.URL.Path
	switch route {
	case "POST /_sandbox/inbound":
		s.ctlInbound(w, r)
	case "GET /_sandbox/outbound":
		q := r.URL.Query()
		pn, to := q.Get("phone_number_id"), q.Get("to")
		msgs, reads := s.outboundFor(pn, to), s.readMarksFor(pn, to)
		if msgs == nil {
			msgs = []OutboundMessage{}
		}
		if reads == nil {
			reads = []ReadMark{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"messages": msgs, "read_marks": reads})
	case "GET /_sandbox/clock", "POST /_sandbox/clock":
		s.ctlClock(w, r)
	case "GET /_sandbox/limits", "POST /_sandbox/limits":
		s.ctlLimits(w, r)
	case "GET /_sandbox/templates":
		list := s.Templates(r.URL.Query().Get("waba_id"))
		if list == nil {
			list = []Template{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"data": list})
	case "POST /_sandbox/templates":
		var t Template
		if err := decodeControl(r, &t); err != nil {
			writeControlError(w, http.StatusBadRequest, err)
			return
		}
		stored, err := s.PutTemplate(t)
		if err != nil {
			writeControlError(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, http.StatusOK, stored)
	case "POST /_sandbox/templates/status":
		var p TemplateStatusParams
		if err := decodeControl(r, &p); err != nil {
			writeControlError(w, http.StatusBadRequest, err)
			return
		}
		t, err := s.SetTemplateStatus(p)
		if err != nil {
			writeControlError(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, http.StatusOK, t)
	case "GET /_sandbox/options", "POST /_sandbox/options":
		s.ctlOptions(w, r)
	case "POST /_sandbox/callback":
		var p struct {
			URL string `json:"url"`
		}
		if err := decodeControl(r, &p); err != nil {
			writeControlError(w, http.StatusBadRequest, err)
			return
		}
		s.SetCallback(p.URL)
		writeJSON(w, http.StatusOK, p)
	case "GET /_sandbox/webhooks":
		writeJSON(w, http.StatusOK, map[string]any{"deliveries": s.Deliveries()})
	case "POST /_sandbox/reset":
		s.Reset()
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	default:
		writeControlError(w, http.StatusNotFound, fmt.Errorf("no control route %s", route))
	}
}

func (s *Server) ctlInbound(w http.ResponseWriter, r *http.Request) {
	var p InboundParams
	if err := decodeControl(r, &p); err != nil {
		writeControlError(w, http.StatusBadRequest, err)
		return
	}
	id, status, err := s.Inbound(r.Context(), p)
	if errors.Is(err, ErrInvalidInbound) {
		writeControlError(w, http.StatusBadRequest, err)
		return
	}
	out := map[string]any{"id": id, "webhook_status": status}
	if err != nil {
		out["webhook_error"] = err.Error()
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) ctlClock(w http.ResponseWriter, r *http.Request) {
	var p struct {
		Advance string `json:"advance"`
		Set     string `json:"set"`
	}
	if r.Method == http.MethodPost {
		if err := decodeControl(r, &p); err != nil {
			writeControlError(w, http.StatusBadRequest, err)
			return
		}
	}
	now := s.Now()
	switch {
	case p.Advance != "" && p.Set != "":
		writeControlError(w, http.StatusBadRequest, errors.New("give advance or set, not both"))
		return
	case p.Advance != "":
		d, err := time.ParseDuration(p.Advance)
		if err != nil {
			writeControlError(w, http.StatusBadRequest, fmt.Errorf("advance: %w", err))
			return
		}
		now = s.AdvanceClock(d)
	case p.Set != "":
		t, err := time.Parse(time.RFC3339, p.Set)
		if err != nil {
			writeControlError(w, http.StatusBadRequest, fmt.Errorf("set: %w", err))
			return
		}
		now = s.SetClock(t)
	}
	writeJSON(w, http.StatusOK, map[string]string{"now": now.UTC().Format(time.RFC3339Nano)})
}

func (s *Server) ctlLimits(w http.ResponseWriter, r *http.Request) {
	var p limitsWire
	var l Limits
	var err error
	if r.Method == http.MethodPost {
		if err := decodeControl(r, &p); err != nil {
			writeControlError(w, http.StatusBadRequest, err)
			return
		}
		var win time.Duration
		if p.PairWindow != "" {
			if win, err = time.ParseDuration(p.PairWindow); err != nil || win <= 0 {
				writeControlError(w, http.StatusBadRequest, fmt.Errorf("pair_window: %q is not a duration like \"6s\"", p.PairWindow))
				return
			}
		}
		l, err = s.SetLimits(Limits{PhoneNumberID: p.PhoneNumberID, ThroughputMPS: p.ThroughputMPS,
			PairLimit: p.PairLimit, PairWindow: win, MessagingLimit: p.MessagingLimit, QualityRating: p.QualityRating})
	} else {
		l, err = s.Limits(r.URL.Query().Get("phone_number_id"))
	}
	if err != nil {
		writeControlError(w, http.StatusBadRequest, err)
		return
	}
	writeJSON(w, http.StatusOK, limitsWire{PhoneNumberID: l.PhoneNumberID, ThroughputMPS: l.ThroughputMPS,
		PairLimit: l.PairLimit, PairWindow: l.PairWindow.String(), MessagingLimit: l.MessagingLimit,
		QualityRating: l.QualityRating})
}

func (s *Server) ctlOptions(w http.ResponseWriter, r *http.Request) {
	o := s.WebhookOptions()
	if r.Method == http.MethodPost {
		var p optionsWire
		if err := decodeControl(r, &p); err != nil {
			writeControlError(w, http.StatusBadRequest, err)
			return
		}
		var err error
		if o, err = p.apply(o); err != nil {
			writeControlError(w, http.StatusBadRequest, err)
			return
		}
		s.SetWebhookOptions(o)
	}
	writeJSON(w, http.StatusOK, optionsToWire(o))
}
