package mapping

import (
	"reflect"
	"sync"
	"testing"

	"github.com/deskbridge/deskbridge/config"
)

// assertTicket compares ticket fields, showing both sides on a difference.
func assertTicket(t *testing.T, got, want *TicketFields) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ticket fields:\n got %+v\nwant %+v", got, want)
	}
}

func TestDefaults(t *testing.T) {
	tests := []struct {
		name        string
		contact     Contact
		wantSubject string
		wantName    string
	}{
		{"name", Contact{Name: " Ana ", Phone: "+34600111222"}, "WhatsApp: Ana", "Ana"},
		{"masked phone", Contact{Phone: "+34600111222", WAID: "34600111999"}, "WhatsApp: ***1222", ""},
		{"masked wa_id", Contact{WAID: "34600111999"}, "WhatsApp: ***1999", ""},
		{"masked BSUID", Contact{UserID: "US.13491208655302741918"}, "WhatsApp: ***1918", ""},
		{"nothing known", Contact{}, "WhatsApp: ", ""},
	}
	configs := []struct {
		name string
		cfg  *config.Config
	}{{"nil config", nil}, {"empty config", &config.Config{}}}
	for _, c := range configs {
		m := mustCompile(t, c.cfg, CompileOptions{})
		for _, tt := range tests {
			t.Run(c.name+"/"+tt.name, func(t *testing.T) {
				v := &Vars{Contact: tt.contact}
				got, err := m.Ticket(v)
				if err != nil {
					t.Fatal(err)
				}
				assertTicket(t, got, &TicketFields{Subject: tt.wantSubject, Tags: []string{"whatsapp"}})
				c, err := m.Contact(v)
				if err != nil {
					t.Fatal(err)
				}
				if want := (&ContactFields{Name: tt.wantName}); !reflect.DeepEqual(c, want) {
					t.Errorf("contact: got %+v, want %+v", c, want)
				}
				p, err := m.TemplateParams(v)
				if p != nil || err != nil {
					t.Errorf("TemplateParams = %v, %v; want nil, nil", p, err)
				}
			})
		}
	}
}

func TestTicketFields(t *testing.T) {
	tests := []struct {
		name string
		tm   config.TicketMapping
		want *TicketFields
	}{
		{
			name: "every field",
			tm: config.TicketMapping{
				Subject:     `"[" + number.label + "] " + first_non_empty(contact.name, mask_phone(contact.phone))`,
				Description: `message.text + "\n" + format_time(message.timestamp, "datetime")`,
				Priority:    `conversation.message_count > 2 ? "high" : "normal"`,
				Type:        `message.type == "order" ? "task" : "question"`,
				Group:       `"360000111"`,
				Brand:       `number.label == "Acme ES" ? "acme-es" : ""`,
				Form:        `"900"`,
				CustomFields: map[string]string{
					"360001":   `contact.country`,
					"cf_count": `conversation.message_count`,
					"score":    `1.5`,
					"vip":      `"vip" in ticket.tags`,
					"empty":    `""`,
					"null":     `null`,
				},
			},
			want: &TicketFields{
				Subject: "[Acme ES] Ana Pérez", Description: "Quiero un REEMBOLSO\n2026-03-02 23:05",
				Priority: "high", Type: "question", Group: "360000111", Brand: "acme-es", Form: "900",
				Tags:         []string{"whatsapp"},
				CustomFields: map[string]any{"360001": "ES", "cf_count": int64(3), "score": 1.5, "vip": true},
			},
		},
		{
			name: "empty subject falls back to the default",
			tm:   config.TicketMapping{Subject: `contact.is_new ? "" : "returning"`},
			want: &TicketFields{Subject: "WhatsApp: Ana Pérez", Tags: []string{"whatsapp"}},
		},
		{
			name: "null subject falls back to the default",
			tm:   config.TicketMapping{Subject: `null`},
			want: &TicketFields{Subject: "WhatsApp: Ana Pérez", Tags: []string{"whatsapp"}},
		},
		{
			name: "tags are added to whatsapp, trimmed and de-duplicated",
			tm: config.TicketMapping{Tags: []string{
				`"vip"`, `"whatsapp"`, `" vip "`, `""`, `null`,
				`["lang_" + lower(contact.country), "vip"]`,
				`has(message.referral) ? ["ad", "campaign_" + message.referral.source_id] : []`,
			}},
			want: &TicketFields{
				Subject: "WhatsApp: Ana Pérez",
				Tags:    []string{"whatsapp", "vip", "lang_es", "ad", "campaign_120200"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustCompile(t, ticketCfg(tt.tm), CompileOptions{})
			got, err := m.Ticket(fullVars())
			if err != nil {
				t.Fatal(err)
			}
			assertTicket(t, got, tt.want)
		})
	}
}

func TestRouting(t *testing.T) {
	refund := config.RoutingRule{
		Name: "refunds", When: `lower(message.text).contains("reembolso")`,
		Set: map[string]string{"group": `"billing"`, "priority": `"high"`}, AddTags: []string{`"refund"`},
	}
	brand := config.RoutingRule{
		Name: "brand by number", When: `number.label == "Acme ES"`,
		Set: map[string]string{"brand": `"acme-es"`}, Continue: true,
	}
	campaign := config.RoutingRule{
		Name: "ad campaign", When: `has(message.referral)`,
		AddTags: []string{`"campaign_" + slug(message.referral.headline)`}, Continue: true,
	}
	fallback := config.RoutingRule{Name: "fallback", Set: map[string]string{"group": `"general"`}}
	tests := []struct {
		name  string
		tm    config.TicketMapping
		rules []config.RoutingRule
		edit  func(*Vars)
		want  *TicketFields
	}{
		{
			name:  "keyword routing",
			rules: []config.RoutingRule{refund, fallback},
			want: &TicketFields{
				Group: "billing", Priority: "high", Tags: []string{"whatsapp", "refund"},
				Rules: []string{"refunds"},
			},
		},
		{
			name:  "keyword absent: the empty when of the fallback matches",
			rules: []config.RoutingRule{refund, fallback},
			edit:  func(v *Vars) { v.Message.Text = "hola" },
			want:  &TicketFields{Group: "general", Tags: []string{"whatsapp"}, Rules: []string{"fallback"}},
		},
		{
			name:  "first match wins",
			rules: []config.RoutingRule{fallback, refund},
			want:  &TicketFields{Group: "general", Tags: []string{"whatsapp"}, Rules: []string{"fallback"}},
		},
		{
			name:  "continue goes on to later rules",
			rules: []config.RoutingRule{brand, campaign, refund, fallback},
			want: &TicketFields{
				Brand: "acme-es", Group: "billing", Priority: "high",
				Tags:  []string{"whatsapp", "campaign_summer_sale_2026", "refund"},
				Rules: []string{"brand by number", "ad campaign", "refunds"},
			},
		},
		{
			name:  "number label to brand",
			rules: []config.RoutingRule{brand},
			edit:  func(v *Vars) { v.Number.Label = "Acme MX" },
			want:  &TicketFields{Tags: []string{"whatsapp"}},
		},
		{
			name:  "referral to campaign tag",
			rules: []config.RoutingRule{campaign},
			want:  &TicketFields{Tags: []string{"whatsapp", "campaign_summer_sale_2026"}, Rules: []string{"ad campaign"}},
		},
		{
			name:  "no referral, no campaign tag",
			rules: []config.RoutingRule{campaign},
			edit:  func(v *Vars) { v.Message.Referral = nil },
			want:  &TicketFields{Tags: []string{"whatsapp"}},
		},
		{
			name: "set overrides mapped fields; null and empty leave them",
			tm: config.TicketMapping{
				Priority: `"low"`, Group: `"support"`, Brand: `"acme"`,
				Tags: []string{`"refund"`}, CustomFields: map[string]string{"360001": `"bronze"`, "360002": `1`},
			},
			rules: []config.RoutingRule{{Name: "vip", Set: map[string]string{
				"priority": `"urgent"`, "group": `""`, "brand": `null`, "subject": `"VIP: " + ticket.subject`,
				"custom_fields.360001": `"gold"`, "custom_fields.360003": `ticket.priority == "low"`,
				"custom_fields.360002": `null`,
			}, AddTags: []string{`["vip", "refund"]`}}},
			want: &TicketFields{
				Subject: "VIP: WhatsApp: Ana Pérez", Priority: "urgent", Group: "support", Brand: "acme",
				Tags:         []string{"whatsapp", "refund", "vip"},
				CustomFields: map[string]any{"360001": "gold", "360002": int64(1), "360003": true},
				Rules:        []string{"vip"},
			},
		},
		{
			name: "rules see the fields set by earlier rules",
			rules: []config.RoutingRule{
				{Name: "billing", When: `message.text.matches("(?i)reembolso")`, Set: map[string]string{"group": `"billing"`}, Continue: true},
				{Name: "billing vip", When: `ticket.group == "billing" && "refund" in ticket.tags`, Set: map[string]string{"priority": `"urgent"`}},
				{Name: "billing", When: `ticket.group == "billing"`, Set: map[string]string{"priority": `"high"`}},
			},
			tm: config.TicketMapping{Tags: []string{`"refund"`}},
			want: &TicketFields{
				Group: "billing", Priority: "urgent", Tags: []string{"whatsapp", "refund"},
				Rules: []string{"billing", "billing vip"},
			},
		},
		{
			name:  "no rule matches",
			rules: []config.RoutingRule{{Name: "never", When: `false`, Set: map[string]string{"group": `"x"`}}},
			want:  &TicketFields{Tags: []string{"whatsapp"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &config.Config{Mapping: config.MappingConfig{Ticket: tt.tm, Routing: tt.rules}}
			m := mustCompile(t, cfg, CompileOptions{})
			v := fullVars()
			v.Ticket = nil // a new ticket
			if tt.edit != nil {
				tt.edit(v)
			}
			got, err := m.Ticket(v)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want.Subject == "" {
				tt.want.Subject = "WhatsApp: Ana Pérez"
			}
			assertTicket(t, got, tt.want)
		})
	}
}

func TestContact(t *testing.T) {
	tests := []struct {
		name string
		cm   config.ContactMapping
		edit func(*Vars)
		want *ContactFields
	}{
		{
			name: "every field",
			cm: config.ContactMapping{
				Name:       `upper(contact.name)`,
				ExternalID: `"wa:" + first_non_empty(contact.user_id, contact.phone)`,
				Fields:     map[string]string{"country": `contact.country`, "new": `contact.is_new`, "msgs": `conversation.message_count`, "none": `null`},
			},
			want: &ContactFields{
				Name: "ANA PÉREZ", ExternalID: "wa:ES.123",
				Fields: map[string]any{"country": "ES", "new": true, "msgs": int64(3)},
			},
		},
		{
			name: "empty name falls back to the profile name",
			cm:   config.ContactMapping{Name: `contact.is_new ? "" : "x"`},
			want: &ContactFields{Name: "Ana Pérez"},
		},
		{
			name: "no profile name",
			cm:   config.ContactMapping{Name: `contact.name`},
			edit: func(v *Vars) { v.Contact.Name = "" },
			want: &ContactFields{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustCompile(t, &config.Config{Mapping: config.MappingConfig{Contact: tt.cm}}, CompileOptions{})
			v := fullVars()
			if tt.edit != nil {
				tt.edit(v)
			}
			got, err := m.Contact(v)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestTemplateParams(t *testing.T) {
	tests := []struct {
		name    string
		params  []string
		edit    func(*Vars)
		want    []string
		wantErr string
	}{
		{
			name: "from the ticket and the comment",
			params: []string{
				`first_non_empty(ticket.requester_name, contact.name, "customer")`,
				`ticket.id`, `comment.author_name`, `comment.body`, `format_time(comment.created_at, "date")`,
			},
			want: []string{"Ana", "42", "Bob", "Your refund is ready", "2026-03-03"},
		},
		{
			name:   "no ticket or comment",
			params: []string{`first_non_empty(ticket.requester_name, contact.name, "customer")`, `"#" + ticket.id`},
			edit:   func(v *Vars) { v.Ticket, v.Comment, v.Contact.Name = nil, nil, "" },
			want:   []string{"customer", "#"},
		},
		{
			name:    "an empty parameter is an error",
			params:  []string{`comment.body`, `comment.author_name`},
			edit:    func(v *Vars) { v.Comment.AuthorName = " " },
			want:    []string{"Your refund is ready", ""},
			wantErr: "outside_window.template.params[1]: evaluated to an empty string; WhatsApp refuses empty template parameters",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &config.Config{OutsideWindow: config.OutsideWindowConfig{Template: config.TemplateConfig{Params: tt.params}}}
			m := mustCompile(t, cfg, CompileOptions{})
			v := fullVars()
			if tt.edit != nil {
				tt.edit(v)
			}
			got, err := m.TemplateParams(v)
			if gotErr := errString(err); gotErr != tt.wantErr {
				t.Errorf("error: got %q, want %q", gotErr, tt.wantErr)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestMapperConcurrent(t *testing.T) {
	cfg := benchConfig()
	m := mustCompile(t, cfg, CompileOptions{})
	want, err := m.Ticket(fullVars())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				got, err := m.Ticket(fullVars())
				if err != nil || !reflect.DeepEqual(got, want) {
					t.Errorf("concurrent Ticket = %+v, %v", got, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// benchConfig is a realistic mapping: a few fields, tags and three rules.
func benchConfig() *config.Config {
	return &config.Config{
		Mapping: config.MappingConfig{
			Contact: config.ContactMapping{Fields: map[string]string{"country": `contact.country`}},
			Ticket: config.TicketMapping{
				Subject:      `"[" + number.label + "] " + first_non_empty(contact.name, mask_phone(contact.phone))`,
				Description:  `message.text`,
				Tags:         []string{`"lang_" + lower(contact.country)`, `contact.is_new ? "new_customer" : ""`},
				CustomFields: map[string]string{"360001": `number.phone_number_id`, "360002": `conversation.message_count`},
			},
			Routing: []config.RoutingRule{
				{Name: "brand", When: `number.label == "Acme ES"`, Set: map[string]string{"brand": `"acme-es"`}, Continue: true},
				{Name: "campaign", When: `has(message.referral)`, AddTags: []string{`"campaign_" + slug(message.referral.headline)`}, Continue: true},
				{Name: "refunds", When: `message.text.matches("(?i)reembolso|refund|devoluci[oó]n")`, Set: map[string]string{"group": `"billing"`, "priority": `"high"`}},
				{Name: "fallback", Set: map[string]string{"group": `"general"`}},
			},
		},
		OutsideWindow: config.OutsideWindowConfig{Template: config.TemplateConfig{Params: []string{`first_non_empty(ticket.requester_name, "customer")`, `ticket.id`}}},
	}
}

func BenchmarkTicket(b *testing.B) {
	m := mustCompile(b, benchConfig(), CompileOptions{})
	v := fullVars()
	v.Ticket = nil
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Ticket(v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCompile(b *testing.B) {
	cfg := benchConfig()
	b.ReportAllocs()
	for b.Loop() {
		mustCompile(b, cfg, CompileOptions{})
	}
}
