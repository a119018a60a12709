package bridge_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/deskbridge/deskbridge/bridge"
	"github.com/deskbridge/deskbridge/config"
	"github.com/deskbridge/deskbridge/mapping"
	"github.com/deskbridge/deskbridge/store"
)

// withMapping compiles a mapping section (YAML under "mapping:") and the
// outside-window template, and gives it to the engine.
func withMapping(t *testing.T, src string, template config.TemplateConfig) rigOption {
	t.Helper()
	cfg := config.Defaults()
	cfg.OutsideWindow.Template = template
	if err := yaml.Unmarshal([]byte(src), &cfg.Mapping); err != nil {
		t.Fatal(err)
	}
	mp, err := mapping.Compile(cfg, mapping.CompileOptions{})
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return withEngine(func(o *bridge.Options) { o.Mapper = mp })
}

func TestMappingSetsTicketFieldsAndRoutes(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.SQLite, withMapping(t, `
ticket:
  subject: "'[' + number.label + '] ' + contact.name"
  tags: ["'lang_es'"]
  custom_fields:
    "360001": "message.type"
routing:
  - name: refunds
    when: "lower(message.text).contains('reembolso')"
    set: {priority: "'high'", group: "'42'"}
    add_tags: ["'billing'"]
  - name: everything
    add_tags: ["'never'"]
`, config.TemplateConfig{}))
	r.say(ana, "Ana", "Quiero un REEMBOLSO")
	r.settle()
	tk := r.tickets()[0]
	if tk.Subject != "[Spain support] Ana" || tk.Priority != "high" || tk.GroupID != 42 {
		t.Errorf("subject %q priority %q group %d", tk.Subject, tk.Priority, tk.GroupID)
	}
	for _, tag := range []string{"whatsapp", "lang_es", "billing"} {
		if !slices.Contains(tk.Tags, tag) {
			t.Errorf("tags %v lack %s", tk.Tags, tag)
		}
	}
	if slices.Contains(tk.Tags, "never") {
		t.Errorf("tags %v: the first matching rule must stop routing", tk.Tags)
	}
	if len(tk.CustomFields) != 1 || tk.CustomFields[0].ID != 360001 || tk.CustomFields[0].Value != "text" {
		t.Errorf("custom fields = %+v", tk.CustomFields)
	}
}

func TestRefusedMappedFieldsStillOpenTheTicket(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.SQLite, withMapping(t, `
ticket:
  priority: "'whenever'"
`, config.TemplateConfig{}))
	r.say(ana, "Ana", "hola")
	r.settle()
	tks := r.tickets()
	if len(tks) != 1 || publicBodies(tks[0])[0] != "hola" || tks[0].Priority != "" {
		t.Fatalf("tickets = %+v", tks)
	}
	n := notes(tks[0])
	if len(n) != 1 || !strings.Contains(n[0], "whenever") {
		t.Fatalf("notes = %q, want one naming the refused priority", n)
	}
}

func TestTemplateParamsFromTheMapping(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.SQLite,
		withMapping(t, ``, config.TemplateConfig{Name: "reengage", Language: "en_US", Params: []string{"upper(ticket.requester_name)"}}),
		withEngine(func(o *bridge.Options) {
			o.OutsideWindow = "template"
			o.Template = bridge.Template{Name: "reengage", Language: "en_US"}
		}))
	r.say(ana, "Ana", "hola")
	r.settle()
	r.clock.Advance(30 * time.Hour)
	r.reply(r.tickets()[0].ID, "late")
	r.settle()
	th := r.thread(ana)
	if len(th) != 1 || th[0].Type != "template" {
		t.Fatalf("thread = %+v", th)
	}
	var req struct {
		Template struct {
			Components []struct {
				Parameters []struct{ Text string } `json:"parameters"`
			} `json:"components"`
		} `json:"template"`
	}
	if err := json.Unmarshal(th[0].Request, &req); err != nil {
		t.Fatal(err)
	}
	if len(req.Template.Components) != 1 || len(req.Template.Components[0].Parameters) != 1 ||
		req.Template.Components[0].Parameters[0].Text != "ANA" {
		t.Fatalf("template request = %s", th[0].Request)
	}
}

func TestMappingSetsContactFields(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.SQLite, withMapping(t, `
contact:
  name: "upper(contact.name)"
  fields:
    spanish_mobile: "contact.phone.startsWith('+346')"
    first_message: "message.text"
`, config.TemplateConfig{}))
	r.say(ana, "Ana", "hola")
	r.settle()
	for _, u := range r.zd.Users() {
		if u.Role != "end-user" {
			continue
		}
		if u.Name != "ANA" || u.UserFields["spanish_mobile"] != true || u.UserFields["first_message"] != "hola" {
			t.Fatalf("user = %+v", u)
		}
		return
	}
	t.Fatal("no end user created")
}

func TestTemplateParamsSeeTheTicket(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.SQLite,
		withMapping(t, ``, config.TemplateConfig{Name: "reengage", Language: "en_US", Params: []string{"ticket.subject + ' #' + ticket.id"}}),
		withEngine(func(o *bridge.Options) {
			o.OutsideWindow = "template"
			o.Template = bridge.Template{Name: "reengage", Language: "en_US"}
		}))
	r.say(ana, "Ana", "hola")
	r.settle()
	tk := r.tickets()[0]
	r.clock.Advance(30 * time.Hour)
	r.reply(tk.ID, "late")
	r.settle()
	th := r.thread(ana)
	want := fmt.Sprintf(`"text":"WhatsApp: Ana #%d"`, tk.ID)
	if len(th) != 1 || !strings.Contains(string(th[0].Request), want) {
		t.Fatalf("thread = %+v, want a parameter %s", th, want)
	}
}
