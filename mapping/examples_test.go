package mapping_test

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Europe/Madrid for the helper examples, on any machine

	"github.com/deskbridge/deskbridge/config"
	"github.com/deskbridge/deskbridge/mapping"
)

// examplesDir holds the worked examples of docs/mapping.md.
const examplesDir = "../examples/mapping"

// docsPath is the integrators' guide whose examples these tests check.
const docsPath = "../docs/mapping.md"

// Numbers of the example configurations.
var (
	usStore = mapping.Number{PhoneNumberID: "106540352242922", Display: "15550783881", Label: "US store"}
	esStore = mapping.Number{PhoneNumberID: "109876543210987", Display: "34910000000", Label: "ES store"}
)

// inbound returns the variables of a first text message from a new
// contact to the US store, changed by mods.
func inbound(name, waID, text string, mods ...func(*mapping.Vars)) mapping.Vars {
	at := time.Date(2025, 7, 2, 8, 2, 0, 0, time.UTC)
	v := mapping.Vars{
		Contact: mapping.Contact{Name: name, WAID: waID, Phone: "+" + waID, FirstSeen: at, IsNew: true,
			Aliases: []string{"wa:" + waID, "+" + waID}},
		Message:      mapping.Message{ID: "wamid.X", Type: "text", Text: text, Timestamp: at},
		Number:       usStore,
		Conversation: mapping.Conversation{WindowOpen: true, MessageCount: 1},
	}
	for _, m := range mods {
		m(&v)
	}
	return v
}

// reply returns the variables of an agent reply outside the window on a
// ticket of the contact of v.
func reply(v mapping.Vars, ticket *mapping.Ticket, body string) mapping.Vars {
	return mapping.Vars{
		Contact:      mapping.Contact{Name: v.Contact.Name, WAID: v.Contact.WAID, Phone: v.Contact.Phone},
		Number:       v.Number,
		Conversation: mapping.Conversation{TicketID: ticket.ID},
		Ticket:       ticket,
		Comment:      &mapping.Comment{ID: "9001", Body: body},
	}
}

// exampleCase is one evaluation of an example configuration and what
// docs/mapping.md promises for it.
type exampleCase struct {
	name    string
	vars    mapping.Vars
	ticket  *mapping.TicketFields  // nil: not checked
	contact *mapping.ContactFields // nil: the defaults (profile name, no external id, no fields)
	params  []string               // nil: no template parameters configured
}

var (
	marta  = inbound("Marta García", "34600111222", "Hola, quiero un REEMBOLSO del pedido 4411: llegó roto")
	javier = inbound("Javier Ruiz", "34699887766", "Buenas, ¿cuándo llega mi pedido 5120?")
)

// exampleCases are the evaluations of each examples/mapping/*.yaml, by
// file name.
var exampleCases = map[string][]exampleCase{
	"routing.yaml": {
		{
			name: "reembolso in a text goes to billing",
			vars: marta,
			ticket: &mapping.TicketFields{Subject: "WhatsApp: Marta García", Priority: "high", Group: "360004077472",
				Tags: []string{"whatsapp", "refund"}, Rules: []string{"refund"}},
		},
		{
			name: "refund in a caption goes to billing",
			vars: inbound("Tom Baker", "447911123456", "Refund please: the box arrived crushed", func(v *mapping.Vars) {
				v.Message.Type, v.Message.Caption, v.Message.MediaType = "image", v.Message.Text, "image/jpeg"
			}),
			ticket: &mapping.TicketFields{Subject: "WhatsApp: Tom Baker", Priority: "high", Group: "360004077472",
				Tags: []string{"whatsapp", "refund"}, Rules: []string{"refund"}},
		},
		{
			name: "anything else goes to support",
			vars: javier,
			ticket: &mapping.TicketFields{Subject: "WhatsApp: Javier Ruiz", Group: "360004077471",
				Tags: []string{"whatsapp"}, Rules: []string{"support"}},
		},
		{
			name: "no name: masked number in the default subject",
			vars: inbound("", "34699887766", "REFUND"),
			ticket: &mapping.TicketFields{Subject: "WhatsApp: ***7766", Priority: "high", Group: "360004077472",
				Tags: []string{"whatsapp", "refund"}, Rules: []string{"refund"}},
		},
	},
	"brand.yaml": {
		{
			name: "US store",
			vars: javier,
			ticket: &mapping.TicketFields{Subject: "WhatsApp: Javier Ruiz", Brand: "360002256672",
				Tags: []string{"whatsapp", "store_us_store"}},
		},
		{
			name: "ES store",
			vars: inbound("Javier Ruiz", "34699887766", "hola", func(v *mapping.Vars) { v.Number = esStore }),
			ticket: &mapping.TicketFields{Subject: "WhatsApp: Javier Ruiz", Brand: "360002256673",
				Tags: []string{"whatsapp", "store_es_store"}},
		},
		{
			name: "a number without a label keeps the helpdesk's brand",
			vars: inbound("Javier Ruiz", "34699887766", "hola", func(v *mapping.Vars) {
				v.Number = mapping.Number{PhoneNumberID: "1"}
			}),
			ticket: &mapping.TicketFields{Subject: "WhatsApp: Javier Ruiz", Tags: []string{"whatsapp"}},
		},
	},
	"campaign.yaml": {
		{
			name: "ad with a headline",
			vars: inbound("Lucía Méndez", "5215512345678", "Hola, ¿tienen envío a Monterrey?", func(v *mapping.Vars) {
				v.Message.Referral = &mapping.Referral{SourceID: "120231234567890123", SourceType: "ad", Headline: "¡Rebajas de verano!"}
			}),
			ticket: &mapping.TicketFields{Subject: "WhatsApp: Lucía Méndez",
				Tags:         []string{"whatsapp", "ctwa", "campaign_rebajas_de_verano"},
				CustomFields: map[string]any{"360011112222": "120231234567890123"}, Rules: []string{"ad-campaign"}},
		},
		{
			name: "post without a headline: its id",
			vars: inbound("Lucía Méndez", "5215512345678", "info", func(v *mapping.Vars) {
				v.Message.Referral = &mapping.Referral{SourceID: "987654321", SourceType: "post"}
			}),
			ticket: &mapping.TicketFields{Subject: "WhatsApp: Lucía Méndez",
				Tags:         []string{"whatsapp", "ctwa", "campaign_987654321"},
				CustomFields: map[string]any{"360011112222": "987654321"}, Rules: []string{"ad-campaign"}},
		},
		{
			name:   "no ad: no tag, no field",
			vars:   javier,
			ticket: &mapping.TicketFields{Subject: "WhatsApp: Javier Ruiz", Tags: []string{"whatsapp"}},
		},
	},
	"vip.yaml": {
		{
			name:    "VIP prefix +34600",
			vars:    marta,
			contact: &mapping.ContactFields{Name: "Marta García", Fields: map[string]any{"vip": true}},
			ticket: &mapping.TicketFields{Subject: "WhatsApp: Marta García", Priority: "urgent",
				Tags: []string{"whatsapp", "vip"}, CustomFields: map[string]any{"360012345678": true}, Rules: []string{"vip"}},
		},
		{
			name:    "VIP prefix +4420",
			vars:    inbound("Tom Baker", "442079460000", "hello"),
			contact: &mapping.ContactFields{Name: "Tom Baker", Fields: map[string]any{"vip": true}},
			ticket: &mapping.TicketFields{Subject: "WhatsApp: Tom Baker", Priority: "urgent",
				Tags: []string{"whatsapp", "vip"}, CustomFields: map[string]any{"360012345678": true}, Rules: []string{"vip"}},
		},
		{
			name:    "not VIP: false in both fields, no rule",
			vars:    javier,
			contact: &mapping.ContactFields{Name: "Javier Ruiz", Fields: map[string]any{"vip": false}},
			ticket: &mapping.TicketFields{Subject: "WhatsApp: Javier Ruiz", Tags: []string{"whatsapp"},
				CustomFields: map[string]any{"360012345678": false}},
		},
	},
	"template.yaml": {
		{
			name: "requester, ticket id and the reply on one line",
			vars: reply(marta, &mapping.Ticket{ID: "4411", Status: "pending", RequesterName: "Marta García López"},
				"Hola Marta:\n\nel reembolso está  aprobado.\tLo verás en 3-5 días.\n"),
			params: []string{"Marta García López", "4411", "Hola Marta: el reembolso está aprobado. Lo verás en 3-5 días."},
		},
		{
			name:   "no requester name: the contact's; empty reply: the fixed text",
			vars:   reply(marta, &mapping.Ticket{ID: "4411"}, " \n "),
			params: []string{"Marta García", "4411", "Tienes una respuesta nueva."},
		},
		{
			name:   "no name at all",
			vars:   reply(inbound("", "34699887766", ""), &mapping.Ticket{ID: "7"}, "ok"),
			params: []string{"cliente", "7", "ok"},
		},
	},
}

// loadExample loads and compiles one example configuration.
func loadExample(t *testing.T, file string) (*config.Config, *mapping.Mapper) {
	t.Helper()
	cfg, err := config.Load(filepath.Join(examplesDir, file), nil)
	if err != nil {
		t.Fatalf("config.Load: %v", err)
	}
	m, err := mapping.Compile(cfg, mapping.CompileOptions{})
	if err != nil {
		t.Fatalf("mapping.Compile: %v", err)
	}
	return cfg, m
}

// TestExamples loads every example configuration, compiles its mapping and
// evaluates it on the cases docs/mapping.md describes.
func TestExamples(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join(examplesDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 5 {
		t.Fatalf("%s has %d examples, want 5", examplesDir, len(files))
	}
	for _, path := range files {
		file := filepath.Base(path)
		if len(exampleCases[file]) == 0 {
			t.Errorf("%s has no test case: add it to exampleCases", path)
		}
	}
	for file, cases := range exampleCases {
		t.Run(strings.TrimSuffix(file, ".yaml"), func(t *testing.T) {
			t.Parallel()
			_, m := loadExample(t, file)
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					v := tc.vars
					tf, err := m.Ticket(&v)
					if err != nil {
						t.Errorf("Ticket: %v", err)
					}
					if tc.ticket != nil && !reflect.DeepEqual(tf, tc.ticket) {
						t.Errorf("Ticket\n got  %+v\n want %+v", tf, tc.ticket)
					}
					cf, err := m.Contact(&v)
					if err != nil {
						t.Errorf("Contact: %v", err)
					}
					wantContact := tc.contact
					if wantContact == nil {
						wantContact = &mapping.ContactFields{Name: v.Contact.Name}
					}
					if !reflect.DeepEqual(cf, wantContact) {
						t.Errorf("Contact\n got  %+v\n want %+v", cf, wantContact)
					}
					params, err := m.TemplateParams(&v)
					if err != nil {
						t.Errorf("TemplateParams: %v", err)
					}
					if !slices.Equal(params, tc.params) {
						t.Errorf("TemplateParams = %q, want %q", params, tc.params)
					}
				})
			}
		})
	}
}

// TestExampleTemplatePolicy checks the outside-window settings the
// template example documents.
func TestExampleTemplatePolicy(t *testing.T) {
	t.Parallel()
	cfg, _ := loadExample(t, "template.yaml")
	ow := cfg.OutsideWindow
	if ow.Policy != "template" || ow.Template.Name != "ticket_reply_waiting" || ow.Template.Language != "es" || len(ow.Template.Params) != 3 {
		t.Errorf("outside_window = %+v", ow)
	}
}

// TestExamplesInDocs checks that each example's mapping, as quoted in
// docs/mapping.md, is the one in its file: every expression line of the
// docs' YAML blocks under "Worked examples" appears in some example file.
func TestExamplesInDocs(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile(docsPath)
	if err != nil {
		t.Fatal(err)
	}
	_, worked, ok := strings.Cut(string(doc), "## Worked examples")
	if !ok {
		t.Fatal(`docs/mapping.md has no "## Worked examples" section`)
	}
	files, err := filepath.Glob(filepath.Join(examplesDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all.Write(b)
	}
	examples := all.String()
	blocks := 0
	for _, block := range strings.Split(worked, "```yaml\n")[1:] {
		block, _, _ = strings.Cut(block, "```")
		blocks++
		for l := range strings.Lines(block) {
			l = strings.TrimSpace(l)
			if i := strings.Index(l, " # "); i >= 0 {
				l = strings.TrimSpace(l[:i])
			}
			if l == "" || strings.HasPrefix(l, "#") {
				continue
			}
			if !strings.Contains(examples, l) {
				t.Errorf("docs/mapping.md shows %q, which no example in %s has", l, examplesDir)
			}
		}
	}
	if blocks < 5 {
		t.Errorf("docs/mapping.md shows %d example blocks, want 5", blocks)
	}
}

// TestDocsHelperExamples evaluates the examples of the helper tables of
// docs/mapping.md and compares them with the results shown there.
func TestDocsHelperExamples(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile(docsPath)
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ expr, result string }
	var rows []row
	for _, marker := range []string{"<!-- helper examples", "<!-- standard examples"} {
		_, table, ok := strings.Cut(string(doc), marker)
		if !ok {
			t.Fatalf("docs/mapping.md lacks %q", marker)
		}
		table, _, _ = strings.Cut(table, "<!-- end of")
		for l := range strings.Lines(table) {
			cells := splitRow(l)
			if len(cells) < 3 {
				continue
			}
			e, r := cells[len(cells)-2], cells[len(cells)-1]
			if !strings.HasPrefix(e, "`") || !strings.HasPrefix(r, "`") {
				continue // header, separator
			}
			rows = append(rows, row{strings.Trim(e, "`"), strings.Trim(r, "`")})
		}
	}
	if len(rows) < 15 {
		t.Fatalf("found %d examples in the helper tables, want at least 15", len(rows))
	}
	zone, err := time.LoadLocation("Europe/Madrid")
	if err != nil {
		t.Fatal(err)
	}
	v := &mapping.Vars{
		Contact: mapping.Contact{Name: "Marta García", WAID: "34600111222", Phone: "+34600111222"},
		Message: mapping.Message{Timestamp: time.Date(2025, 7, 2, 8, 2, 0, 0, time.UTC)},
	}
	for _, r := range rows {
		t.Run(r.expr, func(t *testing.T) {
			t.Parallel()
			cfg := &config.Config{}
			// A contact's external id is a string expression that may be "".
			cfg.Mapping.Contact.ExternalID = "string(" + r.expr + ")"
			m, err := mapping.Compile(cfg, mapping.CompileOptions{TimeZone: zone})
			if err != nil {
				t.Fatal(err)
			}
			cf, err := m.Contact(v)
			if err != nil {
				t.Fatal(err)
			}
			want := r.result
			if strings.HasPrefix(want, `"`) {
				if want, err = strconv.Unquote(want); err != nil {
					t.Fatalf("result %s: %v", r.result, err)
				}
			}
			if cf.ExternalID != want {
				t.Errorf("%s = %q, docs say %s", r.expr, cf.ExternalID, r.result)
			}
		})
	}
}

// splitRow splits a Markdown table row into trimmed cells; \| is a | inside
// a cell.
func splitRow(l string) []string {
	l = strings.TrimSpace(l)
	if !strings.HasPrefix(l, "|") {
		return nil
	}
	const bar = "\x00"
	l = strings.ReplaceAll(l, `\|`, bar)
	parts := strings.Split(strings.Trim(l, "|"), "|")
	for i, p := range parts {
		parts[i] = strings.ReplaceAll(strings.TrimSpace(p), bar, "|")
	}
	return parts
}
