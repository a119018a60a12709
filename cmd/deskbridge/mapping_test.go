package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/deskbridge/deskbridge/mapping"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/mapping/*.golden and the command output in docs/mapping.md from the current output")

const (
	// sharedWhatsAppPayloads holds Meta's sample payloads, shared with the
	// rest of the repository.
	sharedWhatsAppPayloads = "../../../shared/payloads/whatsapp"
	// mappingTestdata holds the golden files, payloads, tickets and
	// configurations of mapping test.
	mappingTestdata = "testdata/mapping"
	// routingExample is the keyword routing example configuration.
	routingExample = "../../examples/mapping/routing.yaml"
	// repoRoot is the repository root, relative to this package.
	repoRoot = "../../"
)

// ownPayload is the path of one of this package's payloads.
func ownPayload(name string) string {
	return filepath.Join(mappingTestdata, "payloads", name+".json")
}

// ownTicket is the path of one of this package's Zendesk tickets.
func ownTicket(name string) string {
	return filepath.Join(mappingTestdata, "tickets", name+".json")
}

// transcript runs deskbridge with args and returns what a terminal shows:
// the command line, the exit status, stdout, then stderr with each line
// marked.
func transcript(t *testing.T, args ...string) string {
	t.Helper()
	code, stdout, stderr := runCmd(t, args...)
	checkNoPanic(t, stdout+stderr)
	var b strings.Builder
	shown := make([]string, len(args))
	for i, a := range args {
		shown[i] = a
		if a == "" || strings.ContainsAny(a, " \t\n\"'\\") {
			shown[i] = strconv.Quote(a)
		}
	}
	fmt.Fprintf(&b, "$ deskbridge %s\nexit status %d\n", strings.Join(shown, " "), code)
	b.WriteString(stdout)
	for l := range strings.Lines(stderr) {
		b.WriteString("stderr: " + l)
	}
	return b.String()
}

// checkGolden compares got with the golden file name under
// testdata/mapping, or rewrites it with -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join(mappingTestdata, name+".golden")
	if *updateGolden {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/deskbridge -run TestMappingTest -update)", err)
	}
	if got != string(want) {
		t.Errorf("%s mismatch (run go test ./cmd/deskbridge -run TestMappingTest -update after checking the change)\n--- got\n%s--- want\n%s", path, got, want)
	}
}

// sharedPayloads returns every .json file under sharedWhatsAppPayloads by
// golden name (folder__file), or skips the test when the folder is absent.
func sharedPayloads(t *testing.T) map[string]string {
	t.Helper()
	if _, err := os.Stat(sharedWhatsAppPayloads); err != nil {
		t.Skipf("sample payload folder %s not found (%v); golden tests over Meta's samples skipped", sharedWhatsAppPayloads, err)
	}
	files := map[string]string{}
	err := filepath.WalkDir(sharedWhatsAppPayloads, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
			return err
		}
		rel, err := filepath.Rel(sharedWhatsAppPayloads, path)
		if err != nil {
			return err
		}
		name := strings.ReplaceAll(strings.TrimSuffix(rel, ".json"), string(filepath.Separator), "__")
		files[name] = path
		return nil
	})
	if err != nil {
		t.Fatalf("walking %s: %v", sharedWhatsAppPayloads, err)
	}
	if len(files) == 0 {
		t.Fatalf("no .json file under %s", sharedWhatsAppPayloads)
	}
	return files
}

// TestMappingTestSharedPayloads previews every sample payload with the
// default mapping (examples/minimal.yaml has no mapping section) and with
// the keyword routing example. Payloads that are not webhooks (API
// requests and responses) must give a one-line error.
func TestMappingTestSharedPayloads(t *testing.T) {
	t.Parallel()
	files := sharedPayloads(t)
	for name, path := range files {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var b strings.Builder
			for i, cfg := range []string{examplePath, routingExample} {
				if i > 0 {
					b.WriteString("\n")
				}
				b.WriteString(transcript(t, "mapping", "test", "--config", cfg, "--payload", path))
			}
			got := b.String()
			if strings.Contains(got, "exit status 1") {
				// Only unreadable payloads fail, with one line.
				if strings.Count(got, "stderr: ") != 2 || strings.Contains(got, "event 1 of") {
					t.Errorf("a failing run must print one error line and nothing else:\n%s", got)
				}
			}
			checkGolden(t, "shared__"+name, got)
		})
	}
}

// TestMappingTestOwnPayloads previews this package's payloads (a
// Click-to-WhatsApp referral, a "reembolso" text, an image with a caption,
// a message to a second number with a status) with the default mapping,
// the routing example, and the routing example as JSON with --vars.
func TestMappingTestOwnPayloads(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(ownPayload("*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 4 {
		t.Fatalf("want at least 4 payloads in %s, have %d", filepath.Dir(ownPayload("x")), len(files))
	}
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			runs := [][]string{
				{"mapping", "test", "--config", examplePath, "--payload", path},
				{"mapping", "test", "--config", routingExample, "--payload", path},
				{"mapping", "test", "--config", routingExample, "--payload", path, "--json", "--vars"},
			}
			var b strings.Builder
			for i, args := range runs {
				if i > 0 {
					b.WriteString("\n")
				}
				b.WriteString(transcript(t, args...))
			}
			checkGolden(t, "own__"+name, b.String())
		})
	}
}

// exampleRuns are the worked examples of docs/mapping.md: each example
// configuration with a payload it is meant for.
var exampleRuns = []struct {
	name string
	args []string
}{
	{"routing", []string{"--config", routingExample, "--payload", ownPayload("reembolso_text")}},
	{"routing_caption", []string{"--config", routingExample, "--payload", ownPayload("image_caption")}},
	{"brand", []string{"--config", "../../examples/mapping/brand.yaml", "--payload", ownPayload("es_store")}},
	{"campaign", []string{"--config", "../../examples/mapping/campaign.yaml", "--payload", ownPayload("ctwa_referral")}},
	{"vip", []string{"--config", "../../examples/mapping/vip.yaml", "--payload", ownPayload("reembolso_text")}},
	{"template", []string{"--config", "../../examples/mapping/template.yaml", "--payload", ownPayload("reembolso_text"),
		"--ticket", ownTicket("ticket_4411"), "--comment", "Hola Marta:\n\nel reembolso está aprobado.\tLo verás en 3-5 días."}},
	{"template_json", []string{"--config", "../../examples/mapping/template.yaml", "--payload", ownPayload("reembolso_text"),
		"--ticket", ownTicket("ticket_4411"), "--json"}},
	{"template_note_only", []string{"--config", routingExample, "--payload", ownPayload("reembolso_text"),
		"--ticket", ownTicket("ticket_4411"), "--comment", "Hola"}},
}

// TestMappingTestExamples previews each worked example on a payload that
// matches it.
func TestMappingTestExamples(t *testing.T) {
	t.Parallel()
	for _, tc := range exampleRuns {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := transcript(t, append([]string{"mapping", "test"}, tc.args...)...)
			if !strings.Contains(got, "exit status 0\n") {
				t.Errorf("example run failed:\n%s", got)
			}
			checkGolden(t, "example__"+tc.name, got)
		})
	}
}

// TestMappingTestEvalErrors checks that failing expressions are listed with
// their key paths, exit status 1, and that everything else is printed.
func TestMappingTestEvalErrors(t *testing.T) {
	t.Parallel()
	cfg := filepath.Join(mappingTestdata, "eval_errors.yaml")
	base := []string{"mapping", "test", "--config", cfg, "--payload", ownPayload("reembolso_text"), "--ticket", ownTicket("ticket_4411")}
	wantPaths := []string{
		"mapping.contact.fields.tier: division by zero",
		"mapping.ticket.subject: index out of bounds: 1",
		"mapping.ticket.custom_fields.360099990000: no such key: origin",
		"mapping.routing[0].when: " + mapping.ErrCostLimit.Error(),
		"outside_window.template.params[1]: evaluated to an empty string",
	}
	tests := []struct {
		name string
		json bool
	}{{"text", false}, {"json", true}}
	var all strings.Builder
	for _, tc := range tests {
		args := slices.Clone(base)
		if tc.json {
			args = append(args, "--json")
		}
		code, stdout, stderr := runCmd(t, args...)
		if code != 1 {
			t.Errorf("%s: exit code = %d, want 1", tc.name, code)
		}
		if want := "deskbridge: mapping test: 5 expressions failed to evaluate (key paths above)\n"; stderr != want {
			t.Errorf("%s: stderr = %q, want %q", tc.name, stderr, want)
		}
		if tc.json {
			var p preview
			if err := json.Unmarshal([]byte(stdout), &p); err != nil {
				t.Fatalf("json: %v\n%s", err, stdout)
			}
			if p.Errors != 5 || len(p.Events) != 1 || len(p.Events[0].Errors) != 5 {
				t.Fatalf("json: errors = %d, events = %+v", p.Errors, p.Events)
			}
			ep := p.Events[0]
			for i, e := range ep.Errors {
				if got := e.Path + ": " + e.Error; !strings.HasPrefix(got, wantPaths[i]) {
					t.Errorf("json: error %d = %q, want prefix %q", i, got, wantPaths[i])
				}
			}
			// The rest is still computed: the default subject, the rule
			// after the failing one, the first template parameter.
			if ep.Ticket.Subject != "WhatsApp: Marta García" || ep.Ticket.Priority != "normal" ||
				!slices.Equal(ep.Ticket.Routing.Matched, []string{"fallback"}) || ep.Template.Params[0] != "4411" {
				t.Errorf("json: ticket = %+v, template = %+v", ep.Ticket, ep.Template)
			}
		} else {
			for _, w := range wantPaths {
				if !strings.Contains(stdout, "    "+w) {
					t.Errorf("text: stdout lacks %q:\n%s", w, stdout)
				}
			}
			for _, re := range []string{`(?m)^    subject +"WhatsApp: Marta García"$`, `(?m)^    routing +matched: fallback \(of 2 rules\)$`,
				`(?m)^    params\[0\] +"4411"$`, `(?m)^    params\[1\] +\(failed, see errors\)$`} {
				if !regexp.MustCompile(re).MatchString(stdout) {
					t.Errorf("text: stdout does not match %s:\n%s", re, stdout)
				}
			}
		}
		all.WriteString(transcript(t, args...))
		all.WriteString("\n")
	}
	checkGolden(t, "eval_errors", strings.TrimSuffix(all.String(), "\n"))
}

// TestMappingTestCompileErrors checks that a mapping that does not compile
// is refused before any payload is read, with every problem's key path and
// position.
func TestMappingTestCompileErrors(t *testing.T) {
	t.Parallel()
	cfg := filepath.Join(mappingTestdata, "broken.yaml")
	got := transcript(t, "mapping", "test", "--config", cfg, "--payload", ownPayload("reembolso_text")) + "\n" +
		transcript(t, "config", "validate", "--config", cfg)
	for _, w := range []string{
		"stderr: mapping.ticket.subject: undefined field 'nmae' (1:23)",
		"stderr: mapping.ticket.priority: expression has type bool, want string or null (1:1)",
		"stderr: mapping.routing[0].set.priorty: unknown field \"priorty\"",
	} {
		if strings.Count(got, w) != 2 {
			t.Errorf("want %q from both commands:\n%s", w, got)
		}
	}
	checkGolden(t, "compile_errors", got)
}

// TestMappingTestUsageErrors checks the one-line errors of bad flags and
// unreadable files: nothing on stdout, exit status 1.
func TestMappingTestUsageErrors(t *testing.T) {
	t.Parallel()
	notJSON := writeFile(t, "not.json", "this is not JSON")
	array := writeFile(t, "array.json", `[{"object":"whatsapp_business_account"}]`)
	other := writeFile(t, "other.json", `{"object":"page","entry":[]}`)
	badEnvelope := writeFile(t, "envelope.json", `{"object":"whatsapp_business_account","entry":{"id":"1"}}`)
	noTicket := writeFile(t, "noticket.json", `{"users":[]}`)
	ticketNoID := writeFile(t, "noid.json", `{"ticket":{"subject":"x"}}`)
	payload := ownPayload("reembolso_text")
	tests := []struct {
		name string
		args []string
		want string // stderr, after "deskbridge: "
	}{
		{"no payload flag", []string{"--config", examplePath}, `required flag(s) "payload" not set`},
		{"no config", []string{"--payload", payload}, "no configuration file: pass --config FILE or set DESKBRIDGE_CONFIG"},
		{"missing payload", []string{"--config", examplePath, "--payload", "testdata/mapping/nope.json"}, "payload: open testdata/mapping/nope.json: no such file or directory"},
		{"payload not JSON", []string{"--config", examplePath, "--payload", notJSON}, "payload " + notJSON + ": whatsapp: malformed notification: invalid JSON"},
		{"payload array", []string{"--config", examplePath, "--payload", array}, "payload " + array + ": whatsapp: malformed notification: body is not a JSON object"},
		{"payload not WhatsApp", []string{"--config", examplePath, "--payload", other}, "payload " + other + `: whatsapp: not a whatsapp_business_account notification (object="page")`},
		{"payload bad envelope", []string{"--config", examplePath, "--payload", badEnvelope}, "payload " + badEnvelope + ": whatsapp: malformed notification"},
		{"comment without ticket", []string{"--config", examplePath, "--payload", payload, "--comment", "hi"}, "mapping test: --comment needs --ticket"},
		{"missing ticket", []string{"--config", examplePath, "--payload", payload, "--ticket", "testdata/mapping/nope.json"}, "ticket: open testdata/mapping/nope.json: no such file or directory"},
		{"ticket not JSON", []string{"--config", examplePath, "--payload", payload, "--ticket", notJSON}, "ticket " + notJSON + ": not a Zendesk ticket: invalid character"},
		{"ticket envelope missing", []string{"--config", examplePath, "--payload", payload, "--ticket", noTicket}, "ticket " + noTicket + `: no "ticket" object: expected the body of GET /api/v2/tickets/{id}`},
		{"ticket without id", []string{"--config", examplePath, "--payload", payload, "--ticket", ticketNoID}, "ticket " + ticketNoID + ": the ticket has no id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runCmd(t, append([]string{"mapping", "test"}, tc.args...)...)
			if code != 1 {
				t.Errorf("exit code = %d, want 1", code)
			}
			checkOneLineError(t, stdout, stderr)
			if !strings.HasPrefix(stderr, "deskbridge: "+tc.want) {
				t.Errorf("stderr = %q, want prefix %q", stderr, "deskbridge: "+tc.want)
			}
		})
	}
}

// TestMappingTestOffline checks that mapping test neither opens the store
// nor needs the helpdesk or WhatsApp: the configured SQLite file is never
// created and the URLs point nowhere.
func TestMappingTestOffline(t *testing.T) {
	t.Parallel()
	url, dbPath := sqliteURL(t)
	cfg := writeFile(t, "deskbridge.yaml", exampleConfig(t, url,
		`api_base_url: "http://127.0.0.1:8089"`, `api_base_url: "http://192.0.2.1:1"`))
	code, stdout, stderr := runCmd(t, "mapping", "test", "--config", cfg, "--payload", ownPayload("es_store"),
		"--ticket", ownTicket("ticket_4411"))
	if code != 0 {
		t.Fatalf("exit code = %d; stderr:\n%s", code, stderr)
	}
	if !strings.Contains(stdout, "event 2 of 2: status \"read\": "+notAMessage+"\n") {
		t.Errorf("the status is not listed as not a message:\n%s", stdout)
	}
	if _, err := os.Stat(dbPath); !os.IsNotExist(err) {
		t.Errorf("the store %s was opened (stat: %v)", dbPath, err)
	}
}

// TestMappingTestJSON decodes the JSON preview of a refund message with
// the routing example.
func TestMappingTestJSON(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := runCmd(t, "mapping", "test", "--config", routingExample, "--payload", ownPayload("es_store"), "--json")
	if code != 0 {
		t.Fatalf("exit code = %d; stderr:\n%s", code, stderr)
	}
	var p preview
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if dec.More() {
		t.Errorf("more than one JSON document:\n%s", stdout)
	}
	if len(p.Events) != 2 || p.Errors != 0 {
		t.Fatalf("events = %d, errors = %d", len(p.Events), p.Errors)
	}
	msg, st := p.Events[0], p.Events[1]
	if st.Kind != "status" || st.Skipped != notAMessage || st.Contact != nil || st.Ticket != nil {
		t.Errorf("status event = %+v", st)
	}
	if msg.Kind != "message" || msg.Type != "text" || msg.Number == nil || msg.Number.Configured ||
		msg.Number.PhoneNumberID != "109876543210987" || len(msg.Notes) != 1 {
		t.Errorf("message event = %+v, number %+v", msg, msg.Number)
	}
	c := msg.Contact
	if !c.IsNew || c.Name != "Javier Ruiz" || c.ExternalID != "whatsapp:+34699887766" || c.ExternalIDFrom != "default" {
		t.Errorf("contact = %+v", c)
	}
	tk := msg.Ticket
	if tk.Subject != "WhatsApp: Javier Ruiz" || tk.Group != "360004077471" || tk.Priority != "" ||
		!slices.Equal(tk.Tags, []string{"whatsapp"}) || !slices.Equal(tk.Routing.Matched, []string{"support"}) || tk.Routing.Rules != 2 {
		t.Errorf("ticket = %+v", tk)
	}
}

// TestMappingTestTicketFile reads Zendesk tickets into the ticket variable.
func TestMappingTestTicketFile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		body    string
		contact string // the contact's name, the requester's fallback
		want    mapping.Ticket
		wantErr string
	}{
		{
			name: "envelope with users",
			body: `{"ticket":{"id":4411,"subject":"S","status":"open","priority":"high","type":"task","group_id":11,"brand_id":12,
				"ticket_form_id":13,"requester_id":21,"tags":["a","b"],"custom_fields":[{"id":31,"value":true},{"id":32,"value":null},
				{"id":33,"value":"x"},{"id":34,"value":7},{"id":35,"value":1.5},{"id":36,"value":["p","q"]}]},
				"users":[{"id":20,"name":"Agent"},{"id":21,"name":" Marta "}]}`,
			contact: "Marta WhatsApp",
			want: mapping.Ticket{ID: "4411", Subject: "S", Status: "open", Priority: "high", Type: "task", Group: "11", Brand: "12",
				Form: "13", Tags: []string{"a", "b"}, RequesterName: "Marta",
				CustomFields: map[string]any{"31": true, "33": "x", "34": int64(7), "35": 1.5, "36": []any{"p", "q"}}},
		},
		{
			name:    "nulls and no users",
			body:    `{"ticket":{"id":2,"type":null,"priority":null,"group_id":null,"tags":[],"custom_fields":[]}}`,
			contact: "Sheena Nelson",
			want:    mapping.Ticket{ID: "2", Tags: []string{}, RequesterName: "Sheena Nelson"},
		},
		{
			name: "bare ticket",
			body: `{"id":"9","status":"pending"}`,
			want: mapping.Ticket{ID: "9", Status: "pending"},
		},
		{name: "no ticket", body: `{"tickets":[]}`, wantErr: `no "ticket" object`},
		{name: "no id", body: `{"ticket":{"status":"new"}}`, wantErr: "the ticket has no id"},
		{name: "not JSON", body: `ticket`, wantErr: "not a Zendesk ticket"},
		{name: "not an object", body: `[1]`, wantErr: "not a Zendesk ticket"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			zt, err := parseZendeskTicket([]byte(tc.body))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := zt.vars(tc.contact)
			gotJSON, _ := json.Marshal(got)
			wantJSON, _ := json.Marshal(&tc.want)
			if !bytes.Equal(gotJSON, wantJSON) {
				t.Errorf("ticket vars\n got  %s\n want %s", gotJSON, wantJSON)
			}
			if tc.want.CustomFields != nil {
				for k, v := range tc.want.CustomFields {
					if fmt.Sprintf("%T", got.CustomFields[k]) != fmt.Sprintf("%T", v) {
						t.Errorf("custom field %s: %T, want %T", k, got.CustomFields[k], v)
					}
				}
			}
		})
	}
}

// TestMappingTestSharedTicket reads the Zendesk sample ticket when the
// shared payloads are present.
func TestMappingTestSharedTicket(t *testing.T) {
	t.Parallel()
	path := "../../../shared/payloads/zendesk/go-zendesk__GET_ticket.json"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("Zendesk sample ticket not found (%v)", err)
	}
	zt, err := parseZendeskTicket(b)
	if err != nil {
		t.Fatal(err)
	}
	got := zt.vars("Sheena Nelson")
	if got.ID != "2" || got.Status != "solved" || got.Group != "360004077472" || got.Brand != "360002256672" ||
		got.Form != "360000389592" || got.RequesterName != "Sheena Nelson" || got.Subject != "Mail to create fixture ticket for testing" {
		t.Errorf("ticket = %+v", got)
	}
}

// TestMappingTestDocs runs every "$ deskbridge …" command shown in
// docs/mapping.md from the repository root and compares its output with
// the text under it; -update rewrites that text.
func TestMappingTestDocs(t *testing.T) {
	t.Parallel()
	docPath := filepath.Join(repoRoot, "docs", "mapping.md")
	doc, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(doc), "\n")
	var out strings.Builder
	commands := 0
	inText := false
	for i := 0; i < len(lines); {
		l := lines[i]
		switch {
		case !inText && strings.TrimSpace(l) == "```text":
			inText = true
		case inText && strings.TrimSpace(l) == "```":
			inText = false
		case inText && strings.HasPrefix(l, "$ deskbridge "):
			cmdLine := l
			for strings.HasSuffix(strings.TrimRight(cmdLine, "\n"), "\\") && i+1 < len(lines) {
				i++
				cmdLine += lines[i]
			}
			out.WriteString(cmdLine)
			i++
			start := i
			for i < len(lines) && !strings.HasPrefix(lines[i], "$ ") && strings.TrimSpace(lines[i]) != "```" {
				i++
			}
			want := strings.Join(lines[start:i], "")
			got := docCommandOutput(t, cmdLine)
			commands++
			if got != want {
				if !*updateGolden {
					t.Errorf("docs/mapping.md: output of\n%s differs (run go test ./cmd/deskbridge -run TestMappingTest -update after checking the change)\n--- got\n%s--- want\n%s", cmdLine, got, want)
				}
			}
			out.WriteString(got)
			continue
		}
		out.WriteString(l)
		i++
	}
	checkDocsYAML(t, string(doc), "## Errors", filepath.Join(mappingTestdata, "broken.yaml"), filepath.Join(mappingTestdata, "eval_errors.yaml"))
	if commands < 6 {
		t.Errorf("docs/mapping.md shows %d deskbridge commands, want at least 6", commands)
	}
	if *updateGolden && out.String() != string(doc) {
		if err := os.WriteFile(docPath, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// checkDocsYAML checks that every line of the YAML blocks of the docs'
// section that starts with heading comes from one of files (comments
// aside), so the configuration shown is the one whose output is shown.
func checkDocsYAML(t *testing.T, doc, heading string, files ...string) {
	t.Helper()
	_, section, ok := strings.Cut(doc, "\n"+heading+"\n")
	if !ok {
		t.Fatalf("docs/mapping.md has no %q section", heading)
	}
	if i := strings.Index(section, "\n## "); i >= 0 {
		section = section[:i]
	}
	var all strings.Builder
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all.Write(b)
	}
	blocks := strings.Split(section, "```yaml\n")[1:]
	if len(blocks) == 0 {
		t.Errorf("docs/mapping.md section %q has no YAML block", heading)
	}
	for _, block := range blocks {
		block, _, _ = strings.Cut(block, "```")
		for l := range strings.Lines(block) {
			l = strings.TrimRight(l, "\n")
			if strings.TrimSpace(l) == "" {
				continue
			}
			if !strings.Contains(all.String(), l) {
				t.Errorf("docs/mapping.md (%s) shows %q, which is not in %s", heading, l, strings.Join(files, " or "))
			}
		}
	}
}

// docCommandOutput runs a "$ deskbridge …" line of the docs as if from the
// repository root and returns stdout then stderr, paths as written.
func docCommandOutput(t *testing.T, cmdLine string) string {
	t.Helper()
	line := strings.ReplaceAll(strings.TrimPrefix(cmdLine, "$ deskbridge "), "\\\n", " ")
	args, err := splitArgs(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("%s: %v", cmdLine, err)
	}
	var rewritten []string
	for i, a := range args {
		if i == 0 || !strings.HasPrefix(args[i-1], "--") || strings.HasPrefix(a, "-") {
			continue // only the values of flags are files
		}
		if _, err := os.Stat(filepath.Join(repoRoot, a)); err == nil {
			args[i] = repoRoot + a
			rewritten = append(rewritten, a)
		}
	}
	_, stdout, stderr := runCmd(t, args...)
	got := stdout + stderr
	for _, a := range rewritten {
		got = strings.ReplaceAll(got, repoRoot+a, a)
	}
	return got
}

// splitArgs splits a command line on spaces, honouring "…" and '…' quotes.
func splitArgs(s string) ([]string, error) {
	var args []string
	var cur strings.Builder
	inArg := false
	var quote rune
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '"' || r == '\'':
			quote, inArg = r, true
		case r == ' ' || r == '\t' || r == '\n':
			if inArg {
				args = append(args, cur.String())
				cur.Reset()
				inArg = false
			}
		default:
			cur.WriteRune(r)
			inArg = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote", quote)
	}
	if inArg {
		args = append(args, cur.String())
	}
	return args, nil
}

// TestMappingTestGoldenFiles checks that every golden file belongs to a
// test, so a renamed payload does not leave a stale one behind.
func TestMappingTestGoldenFiles(t *testing.T) {
	t.Parallel()
	shared := sharedPayloads(t)
	want := map[string]bool{"eval_errors": true, "compile_errors": true}
	for name := range shared {
		want["shared__"+name] = true
	}
	own, err := filepath.Glob(ownPayload("*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range own {
		want["own__"+strings.TrimSuffix(filepath.Base(p), ".json")] = true
	}
	for _, r := range exampleRuns {
		want["example__"+r.name] = true
	}
	have, err := filepath.Glob(filepath.Join(mappingTestdata, "*.golden"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range have {
		name := strings.TrimSuffix(filepath.Base(p), ".golden")
		if !want[name] {
			t.Errorf("%s belongs to no test; delete it", p)
		}
	}
}
