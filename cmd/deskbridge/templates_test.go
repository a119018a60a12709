package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	sbwhatsapp "github.com/deskbridge/deskbridge/sandbox/whatsapp"
)

// templateListPath is the template list path of the example's WABA.
const templateListPath = "/v23.0/" + exampleWABAID + "/message_templates"

// templates runs deskbridge templates with the fixture's configuration.
func (f *waFixture) templates(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return runCmd(t, append(append([]string{"templates"}, args...), "--config", f.config)...)
}

// syncTemplates runs templates sync and checks that it succeeded.
func (f *waFixture) syncTemplates(t *testing.T) {
	t.Helper()
	code, stdout, stderr := f.templates(t, "sync")
	if code != 0 {
		t.Fatalf("templates sync: exit code = %d, want 0; stderr: %s", code, stderr)
	}
	if want := "WABA " + exampleWABAID + ": 4 templates synced\n"; stdout != want {
		t.Errorf("templates sync: stdout = %q, want %q", stdout, want)
	}
	if stderr != "" {
		t.Errorf("templates sync: stderr = %q, want empty", stderr)
	}
}

func TestTemplatesSyncAndList(t *testing.T) {
	t.Parallel()
	f := newWAFixture(t, fixtureOptions{})

	code, stdout, stderr := f.templates(t, "list")
	if code != 0 || stderr != "" {
		t.Fatalf("templates list before sync: exit code %d, stderr %q; want 0 and nothing", code, stderr)
	}
	checkContains(t, "templates list before sync", stdout, "no templates cached", "deskbridge templates sync")
	// Listing reads the store only.
	if n := len(f.api.all()); n != 0 {
		t.Errorf("templates list called the Cloud API %d times, want 0", n)
	}
	code, stdout, _ = f.templates(t, "list", "--json")
	if code != 0 || strings.TrimSpace(stdout) != "[]" {
		t.Errorf("templates list --json before sync: exit code %d, stdout %q; want 0 and []", code, stdout)
	}

	f.syncTemplates(t)
	if n := f.api.count(http.MethodGet, templateListPath); n != 1 {
		t.Errorf("templates sync fetched the list %d times, want 1", n)
	}

	code, stdout, stderr = f.templates(t, "list")
	if code != 0 || stderr != "" {
		t.Fatalf("templates list: exit code %d, stderr %q; want 0 and nothing", code, stderr)
	}
	lines := nonEmptyLines(stdout)
	if len(lines) != 5 {
		t.Fatalf("templates list printed %d lines, want a header and 4 templates:\n%s", len(lines), stdout)
	}
	if got := strings.Fields(lines[0]); strings.Join(got, " ") != "WABA NAME LANGUAGE STATUS CATEGORY PARAMETERS" {
		t.Errorf("header = %q", lines[0])
	}
	want := [][2]string{ // name, then the other columns after WABA
		{"hello_world", "en_US APPROVED UTILITY -"},
		{"order_update", "en_US APPROVED UTILITY header:image body:{{1}},{{2}},{{3}} button[0]:quick_reply"},
		{"reengage", "en_US APPROVED UTILITY body:{{1}}"},
		{"welcome_named", "es_ES APPROVED MARKETING body:{{first_name}}"},
	}
	for i, w := range want {
		fields := strings.Fields(lines[i+1])
		if len(fields) < 6 || fields[0] != exampleWABAID || fields[1] != w[0] || strings.Join(fields[2:], " ") != w[1] {
			t.Errorf("row %d = %q, want %s %s %s", i+1, lines[i+1], exampleWABAID, w[0], w[1])
		}
	}

	code, stdout, stderr = f.templates(t, "list", "--json")
	if code != 0 || stderr != "" {
		t.Fatalf("templates list --json: exit code %d, stderr %q", code, stderr)
	}
	var rows []struct {
		WABAID, Name, Language, Status, Category, Parameters string
	}
	if err := json.Unmarshal([]byte(stdout), &rows); err != nil {
		t.Fatalf("templates list --json is not JSON: %v\n%s", err, stdout)
	}
	if len(rows) != 4 {
		t.Fatalf("templates list --json has %d rows, want 4", len(rows))
	}
	var raw []map[string]any
	_ = json.Unmarshal([]byte(stdout), &raw)
	for _, key := range []string{"waba_id", "name", "language", "status", "category", "parameters"} {
		if _, ok := raw[0][key]; !ok {
			t.Errorf("templates list --json row lacks %q: %v", key, raw[0])
		}
	}
	if r := rows[1]; r.Name != "order_update" || r.Status != "APPROVED" || r.Category != "UTILITY" ||
		r.Parameters != "header:image body:{{1}},{{2}},{{3}} button[0]:quick_reply" {
		t.Errorf("order_update row = %+v", r)
	}

	// --number selects the business account of a configured number only.
	if code, _, stderr := f.templates(t, "list", "--number", "999000111"); code != 1 || !strings.Contains(stderr, "number 999000111") {
		t.Errorf("templates list --number 999000111: exit code %d, stderr %q; want 1 naming the number", code, stderr)
	}
}

func TestSendTemplate(t *testing.T) {
	t.Parallel()
	f := newWAFixture(t, fixtureOptions{})
	const to = "+34600999888" // never wrote: templates only
	f.syncTemplates(t)

	// A missing parameter is caught from the cache.
	code, stdout, stderr := f.send(t, "--to", to, "--template", "reengage", "--lang", "en_US")
	if code != 1 {
		t.Errorf("exit code = %d, want 1", code)
	}
	checkOneLineError(t, stdout, stderr)
	checkContains(t, "stderr", stderr, "refused before sending", `"reengage"`, "body expects 1 parameter, got 0")
	if n := f.sends(); n != 0 {
		t.Fatalf("the fake received %d send requests, want 0", n)
	}

	wamid := f.sendOK(t, "--to", to, "--template", "reengage", "--lang", "en_US", "--param", "Ana")
	got := f.fake.Outbound(to)
	if len(got) != 1 || got[0].ID != wamid || got[0].Type != "template" {
		t.Fatalf("fake.Outbound(%s) = %+v, want one template message %s", to, got, wamid)
	}
	var req struct {
		Template struct {
			Name     string `json:"name"`
			Language struct {
				Code string `json:"code"`
			} `json:"language"`
			Components []struct {
				Type       string `json:"type"`
				Parameters []struct {
					Type          string `json:"type"`
					Text          string `json:"text"`
					ParameterName string `json:"parameter_name"`
				} `json:"parameters"`
			} `json:"components"`
		} `json:"template"`
	}
	if err := json.Unmarshal(got[0].Request, &req); err != nil {
		t.Fatal(err)
	}
	tpl := req.Template
	if tpl.Name != "reengage" || tpl.Language.Code != "en_US" || len(tpl.Components) != 1 ||
		tpl.Components[0].Type != "body" || len(tpl.Components[0].Parameters) != 1 ||
		tpl.Components[0].Parameters[0].Type != "text" || tpl.Components[0].Parameters[0].Text != "Ana" {
		t.Errorf("outbound template = %s, want reengage en_US with body text parameter Ana", got[0].Request)
	}

	// A NAMED template.
	wamid = f.sendOK(t, "--to", to, "--template", "welcome_named", "--lang", "es_ES", "--named-param", "first_name=Ana")
	got = f.fake.Outbound(to)
	if len(got) != 2 || got[1].ID != wamid {
		t.Fatalf("fake.Outbound(%s) = %d messages, want the second one %s", to, len(got), wamid)
	}
	if err := json.Unmarshal(got[1].Request, &req); err != nil {
		t.Fatal(err)
	}
	if c := req.Template.Components; len(c) != 1 || len(c[0].Parameters) != 1 ||
		c[0].Parameters[0].ParameterName != "first_name" || c[0].Parameters[0].Text != "Ana" {
		t.Errorf("outbound template = %s, want parameter first_name=Ana", got[1].Request)
	}

	// A named parameter with another name is refused locally.
	code, stdout, stderr = f.send(t, "--to", to, "--template", "welcome_named", "--lang", "es_ES", "--named-param", "name=Ana")
	if code != 1 {
		t.Errorf("wrong named parameter: exit code = %d, want 1", code)
	}
	checkOneLineError(t, stdout, stderr)
	checkContains(t, "stderr", stderr, "refused before sending", "welcome_named")

	// The image header of order_update needs a media parameter the command
	// cannot give: refused locally too.
	code, stdout, stderr = f.send(t, "--to", to, "--template", "order_update", "--lang", "en_US",
		"--param", "Ana", "--param", "$10", "--param", "May 1")
	if code != 1 {
		t.Errorf("order_update: exit code = %d, want 1", code)
	}
	checkOneLineError(t, stdout, stderr)
	checkContains(t, "stderr", stderr, "refused before sending", "header expects an image parameter")
	if n := f.sends(); n != 2 {
		t.Errorf("the fake received %d send requests, want 2", n)
	}
}

func TestSendUnknownTemplate(t *testing.T) {
	t.Parallel()
	f := newWAFixture(t, fixtureOptions{})
	f.syncTemplates(t)
	before := f.api.count(http.MethodGet, templateListPath)
	code, stdout, stderr := f.send(t, "--to", "+34600999888", "--template", "no_such_template", "--lang", "en_US")
	if code != 1 {
		t.Errorf("exit code = %d, want 1", code)
	}
	checkOneLineError(t, stdout, stderr)
	checkContains(t, "stderr", stderr, "refused before sending", `"no_such_template"`, "not found", "templates sync")
	// The miss refreshed the cache once before giving up.
	if n := f.api.count(http.MethodGet, templateListPath) - before; n != 1 {
		t.Errorf("the send fetched the template list %d times, want 1 (a refresh on the miss)", n)
	}
	if n := f.sends(); n != 0 {
		t.Errorf("the fake received %d send requests, want 0", n)
	}

	// Without a sync first, the empty cache is filled on first use.
	g := newWAFixture(t, fixtureOptions{})
	g.sendOK(t, "--to", "+34600999888", "--template", "hello_world", "--lang", "en_US")
	if n := g.api.count(http.MethodGet, templateListPath); n != 1 {
		t.Errorf("a send with an empty cache fetched the list %d times, want 1", n)
	}
}

func TestSendPausedTemplate(t *testing.T) {
	t.Parallel()
	f := newWAFixture(t, fixtureOptions{})
	f.syncTemplates(t)
	if _, err := f.fake.SetTemplateStatus(sbwhatsapp.TemplateStatusParams{Name: "reengage", Language: "en_US", Status: "PAUSED"}); err != nil {
		t.Fatal(err)
	}
	f.syncTemplates(t)
	code, stdout, stderr := f.templates(t, "list")
	if code != 0 || !strings.Contains(stdout, "PAUSED") {
		t.Errorf("templates list after the pause: exit code %d, stdout:\n%s\nstderr: %s\nwant reengage PAUSED", code, stdout, stderr)
	}
	code, stdout, stderr = f.send(t, "--to", "+34600999888", "--template", "reengage", "--lang", "en_US", "--param", "Ana")
	if code != 1 {
		t.Errorf("exit code = %d, want 1", code)
	}
	checkOneLineError(t, stdout, stderr)
	checkContains(t, "stderr", stderr, "refused before sending", `"reengage"`, "PAUSED", "only APPROVED")
	if n := f.sends(); n != 0 {
		t.Errorf("the fake received %d send requests, want 0", n)
	}
}
