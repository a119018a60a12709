package zendesk_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	zdsandbox "github.com/deskbridge/deskbridge/sandbox/zendesk"
)

// client calls the fake with the API token and decodes JSON answers.
type client struct {
	base, auth string
}

func (c client) call(method, path, body string) (int, map[string]any) {
	req, _ := http.NewRequest(method, c.base+path, strings.NewReader(body))
	req.Header.Set("Authorization", c.auth)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// idOf returns the id of the object under key as JSON text.
func idOf(m map[string]any, key string) string {
	obj, _ := m[key].(map[string]any)
	id, _ := obj["id"].(float64)
	return fmt.Sprintf("%.0f", id)
}

// create_or_update finds a WhatsApp customer by its deterministic external
// id; a closed ticket refuses new comments and takes a follow-up instead.
func Example() {
	fake := zdsandbox.New(zdsandbox.Options{Email: "bot@acme.test", APIToken: "token"})
	srv := httptest.NewServer(fake)
	defer srv.Close()
	defer fake.Close()
	fake.SetBaseURL(srv.URL)
	c := client{base: srv.URL, auth: "Basic " + base64.StdEncoding.EncodeToString([]byte("bot@acme.test/token:token"))}

	user := `{"user":{"name":"Ana","phone":"+34600111222","external_id":"whatsapp:+34600111222"}}`
	status, u := c.call("POST", "/api/v2/users/create_or_update.json", user)
	fmt.Println("first upsert:", status)
	status, _ = c.call("POST", "/api/v2/users/create_or_update.json", user)
	fmt.Println("second upsert:", status)

	id := idOf(u, "user")
	status, tk := c.call("POST", "/api/v2/tickets.json",
		`{"ticket":{"requester_id":`+id+`,"comment":{"body":"Hola","author_id":`+id+`}}}`)
	ticketID := tk["ticket"].(map[string]any)["id"].(float64)
	fmt.Println("ticket:", status, ticketID)

	_ = fake.SetTicketStatus(context.Background(), int64(ticketID), "closed")
	status, e := c.call("PUT", fmt.Sprintf("/api/v2/tickets/%.0f.json", ticketID), `{"ticket":{"comment":{"body":"again"}}}`)
	fmt.Println("comment on closed:", status, e["error"])
	status, _ = c.call("POST", "/api/v2/tickets.json",
		fmt.Sprintf(`{"ticket":{"via_followup_source_id":%.0f,"comment":{"body":"again","author_id":%s}}}`, ticketID, id))
	fmt.Println("follow-up:", status)
	// Output:
	// first upsert: 201
	// second upsert: 200
	// ticket: 201 1
	// comment on closed: 422 RecordInvalid
	// follow-up: 201
}

// An agent's public reply in the agent UI fires the trigger, which sends a
// signed request to the webhook.
func ExampleServer_AgentReply() {
	got := make(chan string, 1)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- r.Header.Get(zdsandbox.SignatureTimestampHeader) + " " + r.Header.Get(zdsandbox.SignatureHeader) + " " + string(body)
	}))
	defer receiver.Close()

	fake := zdsandbox.New(zdsandbox.Options{OAuthToken: "oauth",
		Now: func() time.Time { return time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC) }})
	srv := httptest.NewServer(fake)
	defer srv.Close()
	defer fake.Close()
	c := client{base: srv.URL, auth: "Bearer oauth"}

	_, u := c.call("POST", "/api/v2/users.json", `{"user":{"name":"Ana"}}`)
	id := idOf(u, "user")
	_, w := c.call("POST", "/api/v2/webhooks", `{"webhook":{"name":"bridge","endpoint":"`+receiver.URL+
		`","http_method":"POST","request_format":"json","status":"active","subscriptions":["conditional_ticket_events"]}}`)
	hook := w["webhook"].(map[string]any)["id"].(string)
	_, _ = c.call("POST", "/api/v2/triggers", `{"trigger":{"title":"agent replies","conditions":{"all":[
		{"field":"comment_is_public","operator":"is","value":"true"},
		{"field":"current_via_id","operator":"is_not","value":"5"}]},
		"actions":[{"field":"notification_webhook","value":["`+hook+`","{\"ticket\":\"{{ticket.id}}\",\"text\":\"{{ticket.latest_public_comment}}\"}"]}]}}`)
	_, _ = c.call("POST", "/api/v2/tickets", `{"ticket":{"requester_id":`+id+`,"comment":{"body":"Hola","author_id":`+id+`}}}`)

	_, _ = fake.AgentReply(context.Background(), zdsandbox.ReplyParams{TicketID: 1, Body: `Hi "Ana"`})
	_ = fake.Flush(context.Background())
	parts := strings.SplitN(<-got, " ", 3)
	ok := zdsandbox.Sign(fake.WebhookSecret(hook), parts[0], []byte(parts[2])) == parts[1]
	fmt.Println(parts[0], ok, parts[2])
	// Output: 2026-03-02T10:00:00Z true {"ticket":"1","text":"Hi \"Ana\""}
}
