package zendesk

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// replyBody is a trigger body with the placeholders a bridge uses.
const replyBody = `{
  "ticket_id": "{{ticket.id}}",
  "status": "{{ticket.status}}",
  "via": "{{ticket.via}}",
  "requester_id": "{{ticket.requester.id}}",
  "requester_external_id": "{{ticket.requester.external_id}}",
  "requester_phone": "{{ticket.requester.phone}}",
  "comment_id": "{{ticket.latest_public_comment.id}}",
  "message": "{{ticket.latest_public_comment}}",
  "value": "{{ ticket.latest_public_comment.value }}",
  "latest_comment_id": "{{ticket.latest_comment.id}}",
  "author": "{{ticket.latest_public_comment.author.name}}",
  "current_user_id": "{{current_user.id}}",
  "current_user_role": "{{current_user.role}}",
  "updated_at": "{{ticket.updated_at_with_timestamp}}",
  "unknown": "{{ticket.no_such_thing}}",
  "attachments": [{% for attachment in ticket.latest_public_comment.attachments %}
    {"filename": "{{attachment.filename}}", "url": "{{attachment.url}}"}{% if forloop.last == false %},{% endif %}{% endfor %}
  ]
}`

// triggerBundle is a fake with a requester, a ticket, a webhook and the
// bridge's reply trigger.
type triggerBundle struct {
	*testBundle
	requester, ticket int64
	hookID, secret    string
}

func setupTrigger(t *testing.T) *triggerBundle {
	t.Helper()
	b := setup(t)
	tb := &triggerBundle{testBundle: b}
	tb.requester = b.createUser(t, map[string]any{"name": "Ana", "phone": "+34600111222", "external_id": "whatsapp:+34600111222"})
	tb.hookID = b.createWebhook(t, "Deskbridge", nil)
	b.do(t, http.MethodPost, "/api/v2/triggers", map[string]any{"trigger": replyTrigger(tb.hookID, replyBody)}).want(t, http.StatusCreated)
	tb.ticket = b.createTicket(t, tb.requester, map[string]any{"comment": map[string]any{"body": "Hola", "author_id": tb.requester}})
	r := b.do(t, http.MethodGet, "/api/v2/webhooks/"+tb.hookID+"/signing_secret", nil).want(t, http.StatusOK)
	tb.secret = str(r.body, "signing_secret", "secret")
	return tb
}

// verify checks Zendesk's signature the way a receiver must.
func verify(secret string, h http.Header, body []byte) bool {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(h.Get("X-Zendesk-Webhook-Signature-Timestamp")))
	m.Write(body)
	want := base64.StdEncoding.EncodeToString(m.Sum(nil))
	return hmac.Equal([]byte(want), []byte(h.Get("X-Zendesk-Webhook-Signature")))
}

func TestAgentPublicReplyFiresSignedWebhook(t *testing.T) {
	t.Parallel()
	tb := setupTrigger(t)
	ctx := context.Background()
	agent, err := tb.fake.CreateAgent(AgentParams{Name: "Zoe Agent"})
	if err != nil {
		t.Fatal(err)
	}
	tb.fake.AdvanceClock(time.Minute)
	cid, err := tb.fake.AgentReply(ctx, ReplyParams{TicketID: tb.ticket, AgentID: agent.ID, Body: "Hi \"Ana\"\nsee file",
		Attachments: []ReplyAttachment{{FileName: "a b.pdf", ContentType: "application/pdf", Data: []byte("%PDF")},
			{FileName: "c.png", ContentType: "image/png", Data: []byte("png")}}})
	if err != nil {
		t.Fatal(err)
	}
	tb.flush(t)
	got := tb.hook.all()
	if len(got) != 1 {
		t.Fatalf("%d webhook requests, want 1", len(got))
	}
	req := got[0]
	if !verify(tb.secret, req.header, req.body) {
		t.Fatalf("signature does not verify: %v", req.header)
	}
	if ts := req.header.Get("X-Zendesk-Webhook-Signature-Timestamp"); ts != "2026-03-02T10:01:00Z" {
		t.Fatalf("timestamp = %q", ts)
	}
	if req.header.Get("X-Zendesk-Webhook-Id") != tb.hookID || req.method != http.MethodPost ||
		req.header.Get("Content-Type") != "application/json" {
		t.Fatalf("request = %s %v", req.method, req.header)
	}
	var body struct {
		TicketID, Status, Via, RequesterID, RequesterExternalID, RequesterPhone, CommentID, Message, Value,
		LatestCommentID, Author, CurrentUserID, CurrentUserRole, UpdatedAt, Unknown string
		Attachments []struct{ Filename, URL string }
	}
	dec := json.NewDecoder(strings.NewReader(strings.NewReplacer("ticket_id", "TicketID", "requester_id", "RequesterID",
		"requester_external_id", "RequesterExternalID", "requester_phone", "RequesterPhone", "comment_id", "CommentID",
		"latest_comment_id", "LatestCommentID", "current_user_id", "CurrentUserID", "current_user_role", "CurrentUserRole",
		"updated_at", "UpdatedAt").Replace(string(req.body))))
	if err := dec.Decode(&body); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, req.body)
	}
	want := map[string]string{"TicketID": itoa(tb.ticket), "Status": "Open", "Via": "Web Service",
		"RequesterID": itoa(tb.requester), "RequesterExternalID": "whatsapp:+34600111222", "RequesterPhone": "+34600111222",
		"CommentID": itoa(cid), "LatestCommentID": itoa(cid), "Message": "Hi \"Ana\"\nsee file", "Value": "Hi \"Ana\"\nsee file",
		"Author": "Zoe Agent", "CurrentUserID": itoa(agent.ID), "CurrentUserRole": "agent", "UpdatedAt": "2026-03-02T10:01:00Z"}
	gotMap := map[string]string{"TicketID": body.TicketID, "Status": body.Status, "Via": body.Via, "RequesterID": body.RequesterID,
		"RequesterExternalID": body.RequesterExternalID, "RequesterPhone": body.RequesterPhone, "CommentID": body.CommentID,
		"LatestCommentID": body.LatestCommentID, "Message": body.Message, "Value": body.Value, "Author": body.Author,
		"CurrentUserID": body.CurrentUserID, "CurrentUserRole": body.CurrentUserRole, "UpdatedAt": body.UpdatedAt}
	for k, v := range want {
		if gotMap[k] != v {
			t.Errorf("%s = %q, want %q", k, gotMap[k], v)
		}
	}
	if body.Unknown != "" || len(body.Attachments) != 2 || body.Attachments[0].Filename != "a b.pdf" {
		t.Fatalf("body = %s", req.body)
	}
	dl := tb.get(t, body.Attachments[0].URL, true).want(t, http.StatusOK)
	if string(dl.raw) != "%PDF" {
		t.Fatalf("attachment = %q", dl.raw)
	}
	d := tb.fake.Deliveries()
	if len(d) != 1 || !d[0].Delivered || d[0].TicketID != tb.ticket || d[0].Attempts != 1 || d[0].Body != string(req.body) {
		t.Fatalf("deliveries = %+v", d)
	}
}

func TestTriggerDoesNotFire(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		write func(t *testing.T, tb *triggerBundle)
	}{
		{"api write via 5 (customer message)", func(t *testing.T, tb *triggerBundle) {
			tb.put(t, tb.ticket, map[string]any{"comment": map[string]any{"body": "more", "author_id": tb.requester, "public": true}}).
				want(t, http.StatusOK)
		}},
		{"api write via 5 (agent-authored)", func(t *testing.T, tb *triggerBundle) {
			tb.put(t, tb.ticket, map[string]any{"comment": map[string]any{"body": "bridge note", "public": true}}).want(t, http.StatusOK)
		}},
		{"agent note", func(t *testing.T, tb *triggerBundle) {
			if _, err := tb.fake.AgentReply(context.Background(), ReplyParams{TicketID: tb.ticket, Body: "internal", Public: new(false)}); err != nil {
				t.Fatal(err)
			}
		}},
		{"status change without comment", func(t *testing.T, tb *triggerBundle) {
			if err := tb.fake.SetTicketStatus(context.Background(), tb.ticket, "pending"); err != nil {
				t.Fatal(err)
			}
		}},
		{"inactive webhook", func(t *testing.T, tb *triggerBundle) {
			tb.do(t, http.MethodPatch, "/api/v2/webhooks/"+tb.hookID, map[string]any{"webhook": map[string]any{"status": "inactive"}}).
				want(t, http.StatusNoContent)
			if _, err := tb.fake.AgentReply(context.Background(), ReplyParams{TicketID: tb.ticket, Body: "hello"}); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tb := setupTrigger(t)
			tc.write(t, tb)
			tb.flush(t)
			if n := len(tb.hook.all()); n != 0 {
				t.Fatalf("%d webhook requests, want 0", n)
			}
		})
	}
}

func TestWebhookRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		fail          int
		wantAttempts  int
		wantDelivered bool
	}{
		{"delivered after two failures", 2, 3, true},
		{"given up after max attempts", 5, 3, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tb := setupTrigger(t)
			tb.hook.failNext(tc.fail)
			if _, err := tb.fake.AgentReply(context.Background(), ReplyParams{TicketID: tb.ticket, Body: "hi"}); err != nil {
				t.Fatal(err)
			}
			tb.flush(t)
			d := tb.fake.Deliveries()
			if len(d) != 1 || d[0].Attempts != tc.wantAttempts || d[0].Delivered != tc.wantDelivered {
				t.Fatalf("deliveries = %+v", d)
			}
			for _, req := range tb.hook.all() {
				if !verify(tb.secret, req.header, req.body) {
					t.Fatal("a retry is not signed")
				}
			}
		})
	}
}

func TestTriggerConditions(t *testing.T) {
	t.Parallel()
	cond := func(field, op string, value any) map[string]any {
		return map[string]any{"field": field, "operator": op, "value": value}
	}
	tests := []struct {
		name   string
		all    []any
		anyc   []any
		action func(t *testing.T, tb *triggerBundle)
		want   int
	}{
		{"create by api", []any{cond("update_type", "is", "Create"), cond("current_via_id", "is", 5), cond("role", "is", "admin")}, nil,
			func(t *testing.T, tb *triggerBundle) { tb.createTicket(t, tb.requester, nil) }, 1},
		{"status changed to solved", []any{cond("status", "value", "solved")}, nil,
			func(t *testing.T, tb *triggerBundle) {
				_ = tb.fake.SetTicketStatus(context.Background(), tb.ticket, "solved")
			}, 1},
		{"any of two", nil, []any{cond("priority", "is", "urgent"), cond("current_tags", "includes", "vip whatsapp")},
			func(t *testing.T, tb *triggerBundle) {
				tb.put(t, tb.ticket, map[string]any{"additional_tags": []string{"vip"}}).want(t, http.StatusOK)
			}, 1},
		{"role is not agent", []any{cond("role", "is_not", "agent"), cond("comment_is_public", "is", "false")}, nil,
			func(t *testing.T, tb *triggerBundle) {
				tb.put(t, tb.ticket, map[string]any{"comment": map[string]any{"body": "note", "public": false}}).want(t, http.StatusOK)
			}, 1},
		{"status less than solved", []any{cond("status", "less_than", "solved"), cond("update_type", "is", "Change")}, nil,
			func(t *testing.T, tb *triggerBundle) {
				_ = tb.fake.SetTicketStatus(context.Background(), tb.ticket, "solved")
			}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			tb := &triggerBundle{testBundle: b}
			tb.requester = b.createUser(t, map[string]any{"name": "Ana"})
			tb.ticket = b.createTicket(t, tb.requester, nil)
			tb.hookID = b.createWebhook(t, "h", map[string]any{"authentication": map[string]any{"type": "basic_auth",
				"data": map[string]any{"username": "u", "password": "p"}}})
			tr := map[string]any{"title": "t", "conditions": map[string]any{"all": tc.all, "any": tc.anyc},
				"actions": []any{map[string]any{"field": "notification_webhook", "value": []any{tb.hookID, `{"id":{{ticket.id}}}`}}}}
			b.do(t, http.MethodPost, "/api/v2/triggers", map[string]any{"trigger": tr}).want(t, http.StatusCreated)
			tc.action(t, tb)
			tb.flush(t)
			got := tb.hook.all()
			if len(got) != tc.want {
				t.Fatalf("%d webhook requests, want %d", len(got), tc.want)
			}
			if tc.want > 0 {
				if u, p, ok := (&http.Request{Header: got[0].header}).BasicAuth(); !ok || u != "u" || p != "p" {
					t.Fatalf("webhook authentication not sent: %v", got[0].header)
				}
			}
		})
	}
}

func TestRenderTemplate(t *testing.T) {
	t.Parallel()
	sc := func() *scope {
		return &scope{vars: map[string]string{"a": `x"y`, "n": "3", "empty": ""},
			lists:  map[string][]map[string]string{"l": {{"v": "1"}, {"v": "2"}}, "none": nil},
			escape: func(s string) string { return s }, unknown: map[string]bool{}}
	}
	tests := []struct {
		name, src, want string
		json            bool
	}{
		{"plain", "a={{a}} n={{ n }}", `a=x"y n=3`, false},
		{"json escaped", `{"a":"{{a}}"}`, `{"a":"x\"y"}`, true},
		{"filter ignored", "{{ n | upcase }}", "3", false},
		{"loop with separator", "[{% for i in l %}{{i.v}}{% if forloop.last == false %},{% endif %}{% endfor %}]", "[1,2]", false},
		{"unless last", "{% for i in l %}{{i.v}}{% unless forloop.last %};{% endunless %}{% endfor %}", "1;2", false},
		{"empty loop", "[{% for i in none %}x{% endfor %}]", "[]", false},
		{"if else", "{% if empty %}yes{% else %}no{% endif %}", "no", false},
		{"if equals string", `{% if n == "3" %}three{% endif %}`, "three", false},
		{"unknown", "[{{nope}}]", "[]", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := sc()
			if tc.json {
				s.escape = jsonEscape
			}
			if got := renderTemplate(tc.src, s); got != tc.want {
				t.Fatalf("render = %q, want %q", got, tc.want)
			}
		})
	}
}
