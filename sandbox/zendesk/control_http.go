package zendesk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Control API (no credentials; JSON in and out; errors are {"error": "…"}
// with 400 invalid, 404 not found, 409 ticket closed):
//
//	POST /_sandbox/agents                 AgentParams → User
//	POST /_sandbox/reply                  ReplyParams → {"comment_id"}
//	POST /_sandbox/tickets/{id}/status    {"status"} → TicketDump
//	GET  /_sandbox/tickets/{id}           TicketDump
//	GET  /_sandbox/tickets                {"tickets":[TicketDump…]}
//	GET  /_sandbox/users                  {"users":[User…]}
//	GET|POST /_sandbox/clock              {"advance":"10m"} or {"set":"RFC3339"} → {"now"}
//	GET|POST /_sandbox/limits             {"requests_per_minute","search_lag","plain_429","exhaust"}; absent fields unchanged
//	POST /_sandbox/auth                   {"revoked":true|false}
//	GET  /_sandbox/webhooks/deliveries    {"deliveries":[Delivery…]}
//	POST /_sandbox/flush                  waits (up to 30 s) for queued webhook requests
//	POST /_sandbox/reset

// limitsWire is the JSON form of Limits; absent fields are left unchanged.
type limitsWire struct {
	RequestsPerMinute *int    `json:"requests_per_minute,omitempty"`
	SearchLag         *string `json:"search_lag,omitempty"`
	Plain429          *bool   `json:"plain_429,omitempty"`
	Exhaust           bool    `json:"exhaust,omitempty"`
}

func writeControlError(w http.ResponseWriter, err error) {
	status := http.StatusBadRequest
	switch {
	case errors.Is(err, ErrNotFound):
		status = http.StatusNotFound
	case errors.Is(err, ErrTicketClosed):
		status = http.StatusConflict
	}
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

// decodeControl reads a JSON control request strictly (unknown fields fail).
func decodeControl(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 128<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: request body: %v", ErrInvalid, err)
	}
	return nil
}

// serveControl routes /_sandbox/….
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	s.baseFor(r)
	segs := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/_sandbox"), "/"), "/")
	route := r.Method + " " + segs[0]
	if len(segs) > 1 {
		route += "/" + strings.Join(segs[1:], "/")
	}
	var id int64
	if len(segs) >= 2 && segs[0] == "tickets" {
		var ok bool
		if id, ok = parseID(segs[1]); !ok {
			writeControlError(w, fmt.Errorf("%w: ticket id %q", ErrNotFound, segs[1]))
			return
		}
		route = r.Method + " tickets/{id}"
		if len(segs) == 3 {
			route += "/" + segs[2]
		}
	}
	switch route {
	case "POST agents":
		var p AgentParams
		err := decodeControl(r, &p)
		var u User
		if err == nil {
			u, err = s.CreateAgent(p)
		}
		if err != nil {
			writeControlError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, u)
	case "POST reply":
		var p ReplyParams
		err := decodeControl(r, &p)
		var cid int64
		if err == nil {
			cid, err = s.AgentReply(r.Context(), p)
		}
		if err != nil {
			writeControlError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]int64{"comment_id": cid})
	case "POST tickets/{id}/status":
		var p struct {
			Status string `json:"status"`
		}
		err := decodeControl(r, &p)
		if err == nil {
			err = s.SetTicketStatus(r.Context(), id, p.Status)
		}
		s.writeDump(w, id, err)
	case "GET tickets/{id}":
		s.writeDump(w, id, nil)
	case "GET tickets":
		writeJSON(w, http.StatusOK, map[string]any{"tickets": s.Tickets()})
	case "GET users":
		writeJSON(w, http.StatusOK, map[string]any{"users": s.Users()})
	case "GET clock", "POST clock":
		s.ctlClock(w, r)
	case "GET limits", "POST limits":
		s.ctlLimits(w, r)
	case "POST auth":
		var p struct {
			Revoked bool `json:"revoked"`
		}
		if err := decodeControl(r, &p); err != nil {
			writeControlError(w, err)
			return
		}
		s.RevokeAuth(p.Revoked)
		writeJSON(w, http.StatusOK, p)
	case "GET webhooks/deliveries":
		writeJSON(w, http.StatusOK, map[string]any{"deliveries": s.Deliveries()})
	case "POST flush":
		ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
		defer cancel()
		if err := s.Flush(ctx); err != nil {
			writeJSON(w, http.StatusGatewayTimeout, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	case "POST reset":
		s.Reset()
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no control route " + r.Method + " " + r.URL.Path})
	}
}

// writeDump answers a ticket dump, or err.
func (s *Server) writeDump(w http.ResponseWriter, id int64, err error) {
	var d TicketDump
	if err == nil {
		d, err = s.TicketDump(id)
	}
	if err != nil {
		writeControlError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

func (s *Server) ctlClock(w http.ResponseWriter, r *http.Request) {
	var p struct {
		Advance string `json:"advance"`
		Set     string `json:"set"`
	}
	if r.Method == http.MethodPost {
		if err := decodeControl(r, &p); err != nil {
			writeControlError(w, err)
			return
		}
	}
	now := s.Now()
	switch {
	case p.Advance != "" && p.Set != "":
		writeControlError(w, fmt.Errorf("%w: give advance or set, not both", ErrInvalid))
		return
	case p.Advance != "":
		d, err := time.ParseDuration(p.Advance)
		if err != nil {
			writeControlError(w, fmt.Errorf("%w: advance: %v", ErrInvalid, err))
			return
		}
		now = s.AdvanceClock(d)
	case p.Set != "":
		t, err := time.Parse(time.RFC3339, p.Set)
		if err != nil {
			writeControlError(w, fmt.Errorf("%w: set: %v", ErrInvalid, err))
			return
		}
		now = s.SetClock(t)
	}
	writeJSON(w, http.StatusOK, map[string]string{"now": now.UTC().Format(time.RFC3339Nano)})
}

func (s *Server) ctlLimits(w http.ResponseWriter, r *http.Request) {
	l := s.Limits()
	if r.Method == http.MethodPost {
		var p limitsWire
		if err := decodeControl(r, &p); err != nil {
			writeControlError(w, err)
			return
		}
		if p.RequestsPerMinute != nil {
			l.RequestsPerMinute = *p.RequestsPerMinute
		}
		if p.Plain429 != nil {
			l.Plain429 = *p.Plain429
		}
		if p.SearchLag != nil {
			d, err := time.ParseDuration(*p.SearchLag)
			if err != nil || d < 0 {
				writeControlError(w, fmt.Errorf("%w: search_lag: %q is not a duration like \"30s\"", ErrInvalid, *p.SearchLag))
				return
			}
			l.SearchLag = d
		}
		l = s.SetLimits(l)
		if p.Exhaust {
			s.ExhaustRateLimit()
		}
	}
	lag := l.SearchLag.String()
	writeJSON(w, http.StatusOK, limitsWire{RequestsPerMinute: &l.RequestsPerMinute, SearchLag: &lag, Plain429: &l.Plain429})
}
