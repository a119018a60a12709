package mapping

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/deskbridge/deskbridge/config"
)

var (
	tFirstSeen = time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
	tMessage   = time.Date(2026, 3, 2, 23, 5, 0, 0, time.UTC)
	tActivity  = time.Date(2026, 3, 2, 22, 0, 0, 0, time.UTC)
	tComment   = time.Date(2026, 3, 3, 8, 15, 0, 0, time.UTC)
)

// fullVars sets every variable.
func fullVars() *Vars {
	return &Vars{
		Contact: Contact{
			Name: "Ana Pérez", WAID: "34600111222", UserID: "ES.123", Phone: "+34600111222", Country: "ES",
			Aliases: []string{"+34600111222", "ES.123"}, FirstSeen: tFirstSeen, IsNew: true,
		},
		Message: Message{
			ID: "wamid.A", Type: "image", Text: "Quiero un REEMBOLSO", Caption: "Quiero un REEMBOLSO", Timestamp: tMessage,
			Referral: &Referral{
				SourceURL: "https://fb.me/ad1", SourceID: "120200", SourceType: "ad",
				Headline: "Summer Sale 2026!", Body: "50% off", CtwaClid: "clid-9",
			},
			Context:   &MessageContext{ID: "wamid.prev", Forwarded: true},
			MediaType: "image/jpeg", MediaSize: 2048,
		},
		Number:       Number{PhoneNumberID: "1065", Display: "+1 555 0100", Label: "Acme ES"},
		Conversation: Conversation{TicketID: "42", LastActivity: tActivity, WindowOpen: true, MessageCount: 3},
		Ticket: &Ticket{
			ID: "42", Subject: "Hola", Status: "open", Priority: "high", Type: "question",
			Group: "billing", Brand: "acme", Form: "f1", Tags: []string{"whatsapp", "vip"},
			CustomFields: map[string]any{"360001": "gold", "vip": true, "score": 7}, RequesterName: "Ana",
		},
		Comment: &Comment{ID: "c1", Body: "Your refund is ready", AuthorName: "Bob", CreatedAt: tComment},
	}
}

// evalOne compiles src with no type requirement and evaluates it on v.
func evalOne(t *testing.T, opts CompileOptions, src string, v *Vars) (any, error) {
	t.Helper()
	c, err := newCompiler(opts)
	if err != nil {
		t.Fatal(err)
	}
	ast, iss := c.env.Compile(src)
	if iss.Err() != nil {
		t.Fatalf("compile %s: %v", src, iss.Err())
	}
	prg, err := c.env.Program(ast, c.prgOpts...)
	if err != nil {
		t.Fatalf("program %s: %v", src, err)
	}
	out, _, err := prg.Eval(newActivation(v, nil))
	if err != nil {
		return nil, err
	}
	return out.Value(), nil
}

func TestVariables(t *testing.T) {
	tests := []struct {
		expr string
		want any
	}{
		{`contact.name`, "Ana Pérez"},
		{`contact.wa_id`, "34600111222"},
		{`contact.user_id`, "ES.123"},
		{`contact.phone`, "+34600111222"},
		{`contact.country`, "ES"},
		{`contact.aliases.join(",")`, "+34600111222,ES.123"},
		{`contact.first_seen == timestamp("2026-03-01T09:30:00Z")`, true},
		{`contact.is_new`, true},
		{`message.id`, "wamid.A"},
		{`message.type`, "image"},
		{`message.text`, "Quiero un REEMBOLSO"},
		{`message.caption`, "Quiero un REEMBOLSO"},
		{`message.timestamp.getHours()`, int64(23)},
		{`message.referral.source_url`, "https://fb.me/ad1"},
		{`message.referral.source_id`, "120200"},
		{`message.referral.source_type`, "ad"},
		{`message.referral.headline`, "Summer Sale 2026!"},
		{`message.referral.body`, "50% off"},
		{`message.referral.ctwa_clid`, "clid-9"},
		{`has(message.referral)`, true},
		{`message.context.id`, "wamid.prev"},
		{`message.context.forwarded`, true},
		{`message.media_type`, "image/jpeg"},
		{`message.media_size`, int64(2048)},
		{`number.phone_number_id`, "1065"},
		{`number.display`, "+1 555 0100"},
		{`number.label`, "Acme ES"},
		{`conversation.ticket_id`, "42"},
		{`conversation.last_activity < message.timestamp`, true},
		{`conversation.window_open`, true},
		{`conversation.message_count`, int64(3)},
		{`ticket.id`, "42"},
		{`ticket.subject`, "Hola"},
		{`ticket.status`, "open"},
		{`ticket.priority`, "high"},
		{`ticket.type`, "question"},
		{`ticket.group + "/" + ticket.brand + "/" + ticket.form`, "billing/acme/f1"},
		{`"vip" in ticket.tags`, true},
		{`ticket.custom_fields["360001"]`, "gold"},
		{`ticket.custom_fields["vip"] == true`, true},
		{`ticket.custom_fields["score"] > 5`, true},
		{`ticket.custom_fields[?"missing"].orValue("none")`, "none"},
		{`ticket.requester_name`, "Ana"},
		{`comment.id`, "c1"},
		{`comment.body`, "Your refund is ready"},
		{`comment.author_name`, "Bob"},
		{`format_time(comment.created_at, "rfc3339")`, "2026-03-03T08:15:00Z"},
	}
	v := fullVars()
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			got, err := evalOne(t, CompileOptions{}, tt.expr, v)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestVariablesUnset(t *testing.T) {
	tests := []struct {
		expr string
		want any
	}{
		{`contact.name`, ""},
		{`contact.aliases.size()`, int64(0)},
		{`contact.first_seen == timestamp(0)`, true},
		{`has(message.referral)`, false},
		{`message.referral.source_id`, ""},
		{`has(message.context)`, false},
		{`message.context.forwarded`, false},
		{`message.media_size`, int64(0)},
		{`ticket.id`, ""},
		{`ticket.custom_fields.size()`, int64(0)},
		{`comment.body`, ""},
		{`format_time(conversation.last_activity, "date")`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			for _, v := range []*Vars{nil, {}} {
				got, err := evalOne(t, CompileOptions{}, tt.expr, v)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("vars %v: got %#v, want %#v", v, got, tt.want)
				}
			}
		})
	}
}

func TestHelpers(t *testing.T) {
	madrid := time.FixedZone("CET", 3600)
	tests := []struct {
		expr string
		zone *time.Location
		want any
	}{
		{`lower("ÁRBOL Ñu")`, nil, "árbol ñu"},
		{`upper("árbol ñu")`, nil, "ÁRBOL ÑU"},
		{`trim("  hola \n")`, nil, "hola"},
		{`"  hola ".trim()`, nil, "hola"},
		{`lower(message.text).contains("reembolso")`, nil, true},
		{`message.text.contains("reembolso")`, nil, false},
		{`message.text.matches("(?i)reembolso|refund")`, nil, true},
		{`number.display.matches("^\\+1 ")`, nil, true},
		{`first_non_empty(["", "  ", " b ", "c"])`, nil, "b"},
		{`first_non_empty([])`, nil, ""},
		{`first_non_empty("", "b")`, nil, "b"},
		{`first_non_empty("", " ", "c")`, nil, "c"},
		{`first_non_empty("", "", "", "d")`, nil, "d"},
		{`first_non_empty("", "", "", "")`, nil, ""},
		{`first_non_empty(comment.body, contact.name)`, nil, "Ana Pérez"},
		{`format_time(message.timestamp, "date")`, nil, "2026-03-02"},
		{`format_time(message.timestamp, "time")`, nil, "23:05"},
		{`format_time(message.timestamp, "datetime")`, nil, "2026-03-02 23:05"},
		{`format_time(message.timestamp, "rfc3339")`, nil, "2026-03-02T23:05:00Z"},
		{`format_time(message.timestamp, "date")`, madrid, "2026-03-03"},
		{`format_time(message.timestamp, "datetime")`, madrid, "2026-03-03 00:05"},
		{`format_time(message.timestamp, "rfc3339")`, madrid, "2026-03-03T00:05:00+01:00"},
		{`format_time(message.timestamp, "02/01/2006 15:04 MST")`, madrid, "03/03/2026 00:05 CET"},
		{`format_time(timestamp(0), "date")`, nil, ""},
		{`mask_phone(contact.phone)`, nil, "***1222"},
		{`mask_phone("12")`, nil, "**"},
		{`mask_phone("")`, nil, ""},
		{`slug(message.referral.headline)`, nil, "summer_sale_2026"},
		{`slug("  Año  Nuevo -- ")`, nil, "año_nuevo"},
		{`slug("!!!")`, nil, ""},
		{`"a,b".split(",")`, nil, []string{"a", "b"}},
		{`"a-b".replace("-", "_")`, nil, "a_b"},
		{`message.text.lowerAscii()`, nil, "quiero un reembolso"},
	}
	v := fullVars()
	v.Comment = nil
	for _, tt := range tests {
		name := tt.expr
		if tt.zone != nil {
			name += " in " + tt.zone.String()
		}
		t.Run(name, func(t *testing.T) {
			got, err := evalOne(t, CompileOptions{TimeZone: tt.zone}, tt.expr, v)
			if err != nil {
				t.Fatal(err)
			}
			if want, ok := tt.want.([]string); ok {
				got = toStrings(t, got)
				tt.want = want
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

// toStrings converts a CEL list value to []string.
func toStrings(t *testing.T, v any) []string {
	t.Helper()
	switch l := v.(type) {
	case []string:
		return l
	case []any:
		out := make([]string, len(l))
		for i, x := range l {
			out[i] = x.(string)
		}
		return out
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice {
		t.Fatalf("not a list: %T", v)
	}
	out := make([]string, rv.Len())
	for i := range out {
		out[i] = rv.Index(i).Interface().(string)
	}
	return out
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  config.Config
		want string
	}{
		{
			name: "undefined field",
			cfg:  config.Config{Mapping: config.MappingConfig{Ticket: config.TicketMapping{Subject: `"WhatsApp: " + contact.nmae`}}},
			want: `mapping.ticket.subject: undefined field 'nmae' (1:23)`,
		},
		{
			name: "undeclared variable in a tag",
			cfg:  config.Config{Mapping: config.MappingConfig{Ticket: config.TicketMapping{Tags: []string{`"ok"`, `contcat.name`}}}},
			want: `mapping.ticket.tags[1]: undeclared reference to 'contcat' (did you mean 'contact'?) (1:1)`,
		},
		{
			name: "syntax error in a custom field",
			cfg:  config.Config{Mapping: config.MappingConfig{Ticket: config.TicketMapping{CustomFields: map[string]string{"360001": `1 +`}}}},
			want: `mapping.ticket.custom_fields.360001: Syntax error: mismatched input '<EOF>' expecting {'[', '{', '(', '.', '-', '!', 'true', 'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER} (1:4)`,
		},
		{
			name: "position on a later line, in characters",
			cfg:  config.Config{Mapping: config.MappingConfig{Ticket: config.TicketMapping{Description: "\"🙂\" +\n  contact.nmae"}}},
			want: `mapping.ticket.description: undefined field 'nmae' (2:10)`,
		},
		{
			name: "unquoted string",
			cfg:  config.Config{Mapping: config.MappingConfig{Routing: []config.RoutingRule{{Name: "a"}, {Name: "b"}, {Name: "c", Set: map[string]string{"priority": `high`}}}}},
			want: `mapping.routing[2].set.priority: undeclared reference to 'high' (1:1)`,
		},
		{
			name: "when of type string",
			cfg:  config.Config{Mapping: config.MappingConfig{Routing: []config.RoutingRule{{Name: "a"}, {Name: "b"}, {Name: "c", When: `  message.text`}}}},
			want: `mapping.routing[2].when: expression has type string, want bool (1:3)`,
		},
		{
			name: "subject of type int",
			cfg:  config.Config{Mapping: config.MappingConfig{Ticket: config.TicketMapping{Subject: `1 + 2`}}},
			want: `mapping.ticket.subject: expression has type int, want string or null (1:1)`,
		},
		{
			name: "time in a string field",
			cfg:  config.Config{Mapping: config.MappingConfig{Ticket: config.TicketMapping{Type: `message.timestamp`}}},
			want: `mapping.ticket.type: expression has type timestamp (use format_time), want string or null (1:1)`,
		},
		{
			name: "tag of type int",
			cfg:  config.Config{Mapping: config.MappingConfig{Routing: []config.RoutingRule{{Name: "a", AddTags: []string{`conversation.message_count`}}}}},
			want: `mapping.routing[0].add_tags[0]: expression has type int, want string, list(string) or null (1:1)`,
		},
		{
			name: "tag list of ints",
			cfg:  config.Config{Mapping: config.MappingConfig{Ticket: config.TicketMapping{Tags: []string{`[1, 2]`}}}},
			want: `mapping.ticket.tags[0]: expression has type list(int), want string, list(string) or null (1:1)`,
		},
		{
			name: "template parameter on an unknown field",
			cfg:  config.Config{OutsideWindow: config.OutsideWindowConfig{Template: config.TemplateConfig{Params: []string{`ticket.nope`}}}},
			want: `outside_window.template.params[0]: undefined field 'nope' (1:7)`,
		},
		{
			name: "contact field of object type",
			cfg:  config.Config{Mapping: config.MappingConfig{Contact: config.ContactMapping{Fields: map[string]string{"vip": `contact`}}}},
			want: `mapping.contact.fields.vip: expression has type mapping.Contact, want string, int, double, bool or null (1:1)`,
		},
		{
			name: "odd map key is quoted",
			cfg:  config.Config{Mapping: config.MappingConfig{Contact: config.ContactMapping{Fields: map[string]string{"a.b": `[]`}}}},
			want: `mapping.contact.fields["a.b"]: expression has type list(dyn), want string, int, double, bool or null (1:1)`,
		},
		{
			name: "unknown routing field",
			cfg:  config.Config{Mapping: config.MappingConfig{Routing: []config.RoutingRule{{Name: "a", Set: map[string]string{"assignee": `"bob"`}}}}},
			want: `mapping.routing[0].set.assignee: unknown field "assignee"; want subject, description, priority, type, group, brand, form or custom_fields.<id>`,
		},
		{
			name: "routing custom field needs an id",
			cfg:  config.Config{Mapping: config.MappingConfig{Routing: []config.RoutingRule{{Name: "a", Set: map[string]string{"custom_fields.": `"x"`}}}}},
			want: `mapping.routing[0].set["custom_fields."]: unknown field "custom_fields."; want subject, description, priority, type, group, brand, form or custom_fields.<id>`,
		},
		{
			name: "routing custom field of list type",
			cfg:  config.Config{Mapping: config.MappingConfig{Routing: []config.RoutingRule{{Name: "a", Set: map[string]string{"custom_fields.360001": `["x"]`}}}}},
			want: `mapping.routing[0].set["custom_fields.360001"]: expression has type list(string), want string, int, double, bool or null (1:1)`,
		},
		{
			name: "empty tag",
			cfg:  config.Config{Mapping: config.MappingConfig{Ticket: config.TicketMapping{Tags: []string{" "}}}},
			want: `mapping.ticket.tags[0]: empty expression`,
		},
		{
			name: "invalid regex",
			cfg:  config.Config{Mapping: config.MappingConfig{Routing: []config.RoutingRule{{Name: "a", When: `message.text.matches("(")`}}}},
			want: "mapping.routing[0].when: error parsing regexp: missing closing ): `(` (1:1)",
		},
		{
			name: "every problem at once, in configuration order",
			cfg: config.Config{
				Mapping: config.MappingConfig{
					Contact: config.ContactMapping{Name: `contact.nmae`},
					Ticket:  config.TicketMapping{Subject: `1`, Tags: []string{`2`}},
					Routing: []config.RoutingRule{{Name: "a", When: `"x"`, Set: map[string]string{"brand": `3`, "zzz": `""`}}},
				},
				OutsideWindow: config.OutsideWindowConfig{Template: config.TemplateConfig{Params: []string{`4`}}},
			},
			want: strings.Join([]string{
				`mapping.contact.name: undefined field 'nmae' (1:8)`,
				`mapping.ticket.subject: expression has type int, want string or null (1:1)`,
				`mapping.ticket.tags[0]: expression has type int, want string, list(string) or null (1:1)`,
				`mapping.routing[0].when: expression has type string, want bool (1:1)`,
				`mapping.routing[0].set.brand: expression has type int, want string or null (1:1)`,
				`mapping.routing[0].set.zzz: unknown field "zzz"; want subject, description, priority, type, group, brand, form or custom_fields.<id>`,
				`outside_window.template.params[0]: expression has type int, want string or null (1:1)`,
			}, "\n"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Compile(&tt.cfg, CompileOptions{})
			var ce *CompileError
			if !errors.As(err, &ce) {
				t.Fatalf("Compile = %v, %v; want a *CompileError", m, err)
			}
			if m != nil {
				t.Error("Compile returned a Mapper with an error")
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("error:\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestCompileAcceptsDynAndNull(t *testing.T) {
	cfg := &config.Config{Mapping: config.MappingConfig{
		Contact: config.ContactMapping{Fields: map[string]string{"vip": `ticket.custom_fields[?"vip"].orValue(false)`, "n": `null`}},
		Ticket: config.TicketMapping{
			Subject: `null`,
			Tags:    []string{`ticket.custom_fields[?"tag"].orValue("")`, `[]`, `null`, `true ? ["a"] : []`},
			CustomFields: map[string]string{
				"s": `"x"`, "i": `1`, "d": `1.5`, "b": `true`, "n": `null`, "dyn": `ticket.custom_fields["score"]`,
			},
		},
		Routing: []config.RoutingRule{{Name: "dyn", When: `ticket.custom_fields[?"vip"].orValue(false)`}},
	}}
	if _, err := Compile(cfg, CompileOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestOutputType(t *testing.T) {
	t.Parallel()
	cfg := config.Defaults()
	cfg.Mapping.Ticket.CustomFields = map[string]string{"360002": "contact.phone.startsWith('+34')", "360003": "contact.name"}
	cfg.Mapping.Routing = []config.RoutingRule{{Name: "r", Set: map[string]string{"custom_fields.360004": "message.media_size"}}}
	m, err := Compile(cfg, CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"mapping.ticket.custom_fields.360002":            "bool",
		"mapping.ticket.custom_fields.360003":            "string",
		`mapping.routing[0].set["custom_fields.360004"]`: "int",
	} {
		if got, ok := m.OutputType(path); !ok || got != want {
			t.Errorf("OutputType(%s) = %q %v, want %q", path, got, ok, want)
		}
	}
	if _, ok := m.OutputType("mapping.ticket.nothing"); ok {
		t.Error("an unknown path has no type")
	}
}
