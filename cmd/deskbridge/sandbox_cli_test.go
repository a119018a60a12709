package main

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sbwhatsapp "github.com/deskbridge/deskbridge/sandbox/whatsapp"
)

// noSandboxMsg is what say, reply and show print when nothing answers.
const noSandboxMsg = "deskbridge: no sandbox is running; start one with `deskbridge sandbox`\n"

// defaultPortsAnswer reports whether something listens on the sandbox's
// default fake ports (a sandbox the developer runs, for example).
func defaultPortsAnswer() bool {
	for _, a := range []string{defaultSandboxWhatsAppAddr, defaultSandboxZendeskAddr} {
		if c, err := net.DialTimeout("tcp", a, 500*time.Millisecond); err == nil {
			c.Close()
			return true
		}
	}
	return false
}

func TestSandboxClientsWithoutSandbox(t *testing.T) {
	t.Parallel()
	// A state file left by a sandbox that was killed: nothing answers on
	// its addresses (port 1 is never served in tests).
	stale := filepath.Join(t.TempDir(), "state.json")
	const dead = "http://127.0.0.1:1"
	if err := writeSandboxState(stale, sandboxState{Instance: "gone", PublicURL: dead, InternalURL: dead,
		WhatsAppURL: dead, ZendeskURL: dead, PhoneNumberID: sandboxPhoneNumberID}); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "state.json")
	for _, tc := range []struct {
		name  string
		state string
		args  []string
	}{
		{"say, stale state", stale, []string{"say", "--from", "+34600111222", "hola"}},
		{"reply, stale state", stale, []string{"reply", "1", "hello"}},
		{"show, stale state", stale, []string{"show"}},
		{"show --json, stale state", stale, []string{"show", "--json"}},
		{"say, no state file", missing, []string{"say", "hola"}},
		{"reply, no state file", missing, []string{"reply", "1", "hello"}},
		{"show, no state file", missing, []string{"show"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.state == missing && defaultPortsAnswer() {
				t.Skip("something listens on the default sandbox ports")
			}
			args := append([]string{"sandbox", tc.args[0], "--state", tc.state}, tc.args[1:]...)
			code, stdout, stderr := runCmd(t, args...)
			if code != 1 || stderr != noSandboxMsg {
				t.Errorf("exit code %d, stderr %q; want 1 and %q", code, stderr, noSandboxMsg)
			}
			checkOneLineError(t, stdout, stderr)
		})
	}
}

func TestSandboxClientArgs(t *testing.T) {
	t.Parallel()
	state := filepath.Join(t.TempDir(), "state.json")
	big := filepath.Join(t.TempDir(), "big.bin")
	if err := os.WriteFile(big, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(big, maxSandboxFile+1); err != nil {
		t.Fatal(err)
	}
	empty := writeFile(t, "empty.txt", "")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"say without text", []string{"say", "--from", "+34600111222"}, "say needs the message TEXT"},
		{"say image and document", []string{"say", "--image", "a.png", "--document", "b.pdf", "x"}, "give --image or --document, not both"},
		{"say missing image", []string{"say", "--image", "/nonexistent/deskbridge.png"}, "--image: stat /nonexistent/deskbridge.png"},
		{"say file too large", []string{"say", "--document", big}, "the sandbox takes files up to 32 MiB"},
		{"say empty file", []string{"say", "--image", empty}, "the file is empty"},
		{"reply without ticket", []string{"reply"}, "requires at least 1 arg"},
		{"reply bad ticket", []string{"reply", "one", "hello"}, `TICKET "one" must be a ticket id`},
		{"reply without text", []string{"reply", "1"}, "reply needs the TEXT"},
		{"reply missing attachment", []string{"reply", "1", "--attach", "/nonexistent/x.pdf", "hi"}, "--attach: stat /nonexistent/x.pdf"},
		{"show with argument", []string{"show", "all"}, `unknown command "all"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"sandbox", tc.args[0], "--state", state}, tc.args[1:]...)
			code, stdout, stderr := runCmd(t, args...)
			if code != 1 {
				t.Errorf("exit code = %d, want 1", code)
			}
			checkOneLineError(t, stdout, stderr)
			checkContains(t, "stderr", stderr, tc.want)
		})
	}
}

func TestSandboxStateFile(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "sub", "state.json")
	st := sandboxState{Instance: "one", WhatsAppURL: "http://127.0.0.1:1", ZendeskURL: "http://127.0.0.1:2", PhoneNumberID: "42"}
	if err := writeSandboxState(p, st); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
	if got := findSandbox(p).st; got.WhatsAppURL != st.WhatsAppURL || got.ZendeskURL != st.ZendeskURL || got.PhoneNumberID != "42" {
		t.Errorf("findSandbox = %+v, want the state file's addresses", got)
	}
	// Another run's instance does not remove it; its own does.
	removeSandboxState(p, "two")
	if _, err := os.Stat(p); err != nil {
		t.Errorf("another instance removed the state file: %v", err)
	}
	removeSandboxState(p, "one")
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Errorf("state file still there (stat: %v)", err)
	}
	// Without a state file the clients look at the default ports.
	if got := findSandbox(p).st; got.WhatsAppURL != "http://"+defaultSandboxWhatsAppAddr || got.ZendeskURL != "http://"+defaultSandboxZendeskAddr {
		t.Errorf("findSandbox without a state file = %+v, want the default addresses", got)
	}
}

func TestMessageText(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		typ, obj   string
		text, file string
	}{
		{"text", `{"body":"hola"}`, "hola", ""},
		{"image", `{"caption":"receipt","mime_type":"image/jpeg","id":"1"}`, "receipt", "image/jpeg"},
		{"document", `{"filename":"order.pdf","mime_type":"application/pdf"}`, "", "order.pdf"},
		{"image", `{"link":"https://example.com/a.png"}`, "", "https://example.com/a.png"},
		{"reaction", `{"message_id":"wamid.X","emoji":"👍"}`, "👍", ""},
		{"button", `{"payload":"p","text":"Talk to support"}`, "Talk to support", ""},
		{"interactive", `{"type":"button_reply","button_reply":{"id":"1","title":"Yes"}}`, "Yes", ""},
		{"interactive", `{"type":"list_reply","list_reply":{"id":"1","title":"Blue"}}`, "Blue", ""},
		{"interactive", `{"type":"button","body":{"text":"Pick one"}}`, "Pick one", ""},
		{"template", `{"name":"reengage","language":{"code":"en_US"}}`, "template reengage (en_US)", ""},
		{"location", `{"latitude":1,"longitude":2,"name":"Shop","address":"Main St"}`, "Shop Main St", ""},
		{"text", ``, "", ""},
		{"text", `not json`, "", ""},
		{"unsupported", `{"type":"poll"}`, "", ""},
	} {
		text, file := messageText(tc.typ, json.RawMessage(tc.obj))
		if text != tc.text || file != tc.file {
			t.Errorf("messageText(%s, %s) = %q, %q; want %q, %q", tc.typ, tc.obj, text, file, tc.text, tc.file)
		}
	}
}

func TestConversationsView(t *testing.T) {
	t.Parallel()
	in := func(wamid, from, name, ts, text string) json.RawMessage {
		b, _ := json.Marshal(map[string]any{"entry": []any{map[string]any{"changes": []any{map[string]any{"value": map[string]any{
			"metadata": map[string]any{"phone_number_id": "106"},
			"contacts": []any{map[string]any{"profile": map[string]any{"name": name}, "wa_id": from}},
			"messages": []any{map[string]any{"id": wamid, "from": from, "timestamp": ts, "type": "text", "text": map[string]any{"body": text}}},
		}}}}}})
		return b
	}
	hooks := []sbwhatsapp.Delivery{
		{Kind: "message", Delivered: true, LastStatus: 200, Body: in("wamid.1", "34600111222", "Ana", "1767225600", "hola")},
		{Kind: "message", Delivered: true, LastStatus: 200, Body: in("wamid.1", "34600111222", "Ana", "1767225600", "hola")}, // duplicate
		{Kind: "status", Body: json.RawMessage(`{}`)},
		{Kind: "message", LastStatus: 503, Body: in("wamid.2", "34600111222", defaultProfileName, "1767225700", "¿hay alguien?")},
		{Kind: "message", Error: "gave up", LastStatus: 500, Body: in("wamid.3", "4915112345678", "Jo", "1767225500", "hallo")},
	}
	out := []sbwhatsapp.OutboundMessage{{ID: "wamid.9", PhoneNumberID: "106", To: "+34600111222", Type: "text",
		Request: json.RawMessage(`{"type":"text","text":{"body":"Hola Ana"}}`), Time: time.Unix(1767225650, 0), Status: "read"}}
	got := conversationsView(hooks, out)
	if len(got) != 2 {
		t.Fatalf("%d conversations, want 2: %+v", len(got), got)
	}
	if c := got[0]; c.Customer != "+4915112345678" || c.Name != "Jo" || len(c.Messages) != 1 || c.Messages[0].Status != "failed" {
		t.Errorf("first conversation = %+v, want Jo's failed message first (oldest)", c)
	}
	c := got[1]
	if c.Customer != "+34600111222" || c.Name != "Ana" || c.PhoneNumberID != "106" {
		t.Errorf("second conversation = %+v, want Ana's (the default profile name does not replace hers)", c)
	}
	var ids, statuses []string
	for _, m := range c.Messages {
		ids, statuses = append(ids, m.Direction+":"+m.ID+":"+m.Text), append(statuses, m.Status)
	}
	if want := "in:wamid.1:hola out:wamid.9:Hola Ana in:wamid.2:¿hay alguien?"; strings.Join(ids, " ") != want {
		t.Errorf("messages = %v, want %s (in time order, duplicates dropped)", ids, want)
	}
	if want := "delivered read retrying"; strings.Join(statuses, " ") != want {
		t.Errorf("statuses = %v, want %s", statuses, want)
	}
}
