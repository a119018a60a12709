package mapping

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/deskbridge/deskbridge/config"
)

// mustCompile compiles cfg or fails the test.
func mustCompile(t testing.TB, cfg *config.Config, opts CompileOptions) *Mapper {
	t.Helper()
	m, err := Compile(cfg, opts)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return m
}

// ticketCfg is a configuration with only a ticket mapping.
func ticketCfg(tm config.TicketMapping) *config.Config {
	return &config.Config{Mapping: config.MappingConfig{Ticket: tm}}
}

// runaway is a well-typed expression that iterates 10^6 times.
var runaway = func() string {
	list := "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]"
	e := "a"
	for _, v := range []string{"f", "e", "d", "c", "b", "a"} {
		e = list + ".map(" + v + ", " + e + ")"
	}
	return e + ".size() > 0"
}()

func TestEvalErrors(t *testing.T) {
	tests := []struct {
		name    string
		cfg     *config.Config
		want    string
		partial *TicketFields // what Ticket still returns
	}{
		{
			name:    "subject evaluating to int",
			cfg:     ticketCfg(config.TicketMapping{Subject: `ticket.custom_fields["score"]`}),
			want:    "mapping.ticket.subject: evaluated to int, want string or null",
			partial: &TicketFields{Subject: "WhatsApp: Ana Pérez", Tags: []string{"whatsapp"}},
		},
		{
			name: "when evaluating to string",
			cfg: &config.Config{Mapping: config.MappingConfig{
				Ticket: config.TicketMapping{CustomFields: map[string]string{"k": `"gold"`}},
				Routing: []config.RoutingRule{
					{Name: "bad", When: `ticket.custom_fields["k"]`, Set: map[string]string{"priority": `"high"`}},
					{Name: "next"},
				},
			}},
			want: "mapping.routing[0].when: evaluated to string, want bool",
			partial: &TicketFields{
				Subject: "WhatsApp: Ana Pérez", Tags: []string{"whatsapp"},
				CustomFields: map[string]any{"k": "gold"}, Rules: []string{"next"},
			},
		},
		{
			name:    "missing map key",
			cfg:     ticketCfg(config.TicketMapping{Priority: `ticket.custom_fields["nope"]`, Group: `"g"`}),
			want:    "mapping.ticket.priority: no such key: nope",
			partial: &TicketFields{Subject: "WhatsApp: Ana Pérez", Group: "g", Tags: []string{"whatsapp"}},
		},
		{
			name:    "tag list with a non-string",
			cfg:     ticketCfg(config.TicketMapping{Tags: []string{`[ticket.custom_fields["vip"]]`, `"x"`}}),
			want:    "mapping.ticket.tags[0]: evaluated to list, want string, list(string) or null",
			partial: &TicketFields{Subject: "WhatsApp: Ana Pérez", Tags: []string{"whatsapp", "x"}},
		},
		{
			name:    "custom field of list type",
			cfg:     ticketCfg(config.TicketMapping{CustomFields: map[string]string{"1": `dyn(ticket.tags)`, "2": `"ok"`}}),
			want:    "mapping.ticket.custom_fields.1: evaluated to list, want string, int, double, bool or null",
			partial: &TicketFields{Subject: "WhatsApp: Ana Pérez", Tags: []string{"whatsapp"}, CustomFields: map[string]any{"2": "ok"}},
		},
		{
			name: "every failure is reported",
			cfg: ticketCfg(config.TicketMapping{
				Subject: `ticket.custom_fields["score"]`, Brand: `ticket.custom_fields["vip"]`,
			}),
			want: "mapping.ticket.subject: evaluated to int, want string or null\n" +
				"mapping.ticket.brand: evaluated to bool, want string or null",
			partial: &TicketFields{Subject: "WhatsApp: Ana Pérez", Tags: []string{"whatsapp"}},
		},
	}
	v := fullVars()
	v.Ticket.CustomFields = map[string]any{"360001": "gold", "vip": true, "score": 7}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustCompile(t, tt.cfg, CompileOptions{})
			got, err := m.Ticket(v)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("error:\n got %v\nwant %s", err, tt.want)
			}
			var ee *EvalError
			if !errors.As(err, &ee) {
				t.Errorf("%T is not an *EvalError", err)
			}
			assertTicket(t, got, tt.partial)
		})
	}
}

func TestCostLimit(t *testing.T) {
	long := &Vars{Message: Message{Text: strings.Repeat("hola que tal ", 315)}} // 4,095 characters
	tests := []struct {
		name  string
		cfg   *config.Config
		limit uint64
		v     *Vars
		want  string // "" for success
	}{
		{
			name: "runaway comprehension in when",
			cfg:  &config.Config{Mapping: config.MappingConfig{Routing: []config.RoutingRule{{Name: "loop", When: runaway}}}},
			want: "mapping.routing[0].when: cost limit exceeded",
		},
		{
			name: "runaway in a template parameter",
			cfg: &config.Config{OutsideWindow: config.OutsideWindowConfig{Template: config.TemplateConfig{
				Params: []string{`string(` + runaway + `)`},
			}}},
			want: "outside_window.template.params[0]: cost limit exceeded",
		},
		{
			name:  "a low limit stops a long string",
			cfg:   ticketCfg(config.TicketMapping{Subject: `lower(message.text).contains("reembolso") ? "x" : "y"`}),
			limit: 100,
			v:     long,
			want:  "mapping.ticket.subject: cost limit exceeded",
		},
		{
			name: "the default allows several regexes over the longest message",
			cfg: &config.Config{Mapping: config.MappingConfig{Routing: []config.RoutingRule{{
				Name: "keywords",
				When: `message.text.matches("(?i)reembolso") || message.text.matches("(?i)refund") || message.text.matches("(?i)devoluci[oó]n") ||
					message.text.matches("(?i)factura") || message.text.matches("(?i)invoice") || lower(message.text).contains("cobro")`,
			}}}},
			v: long,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustCompile(t, tt.cfg, CompileOptions{CostLimit: tt.limit})
			v := tt.v
			if v == nil {
				v = fullVars()
			}
			start := time.Now()
			var err error
			if len(tt.cfg.OutsideWindow.Template.Params) > 0 {
				_, err = m.TemplateParams(v)
			} else {
				_, err = m.Ticket(v)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("evaluation took %v", d)
			}
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || err.Error() != tt.want {
				t.Fatalf("error:\n got %v\nwant %s", err, tt.want)
			}
			if !errors.Is(err, ErrCostLimit) {
				t.Errorf("%v does not wrap ErrCostLimit", err)
			}
		})
	}
}
