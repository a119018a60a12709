package zendesk

import (
	"context"
	"net/http"
	"testing"
	"time"
)

func TestTicketCreateValidation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	req := b.createUser(t, map[string]any{"name": "Ana"})
	comment := map[string]any{"body": "Hi"}
	tests := []struct {
		name       string
		ticket     map[string]any
		wantDetail string
	}{
		{"no comment", map[string]any{"requester_id": req}, "description"},
		{"blank comment", map[string]any{"requester_id": req, "comment": map[string]any{"body": "  "}}, "description"},
		{"no requester", map[string]any{"comment": comment}, "requester_id"},
		{"unknown requester", map[string]any{"requester_id": 999, "comment": comment}, "requester_id"},
		{"empty requester object", map[string]any{"requester": map[string]any{}, "comment": comment}, "requester"},
		{"bad priority", map[string]any{"requester_id": req, "comment": comment, "priority": "asap"}, "priority"},
		{"bad type", map[string]any{"requester_id": req, "comment": comment, "type": "bug"}, "type"},
		{"bad status", map[string]any{"requester_id": req, "comment": comment, "status": "done"}, "status"},
		{"closed status", map[string]any{"requester_id": req, "comment": comment, "status": "closed"}, "status"},
		{"unknown author", map[string]any{"requester_id": req, "comment": map[string]any{"body": "x", "author_id": 999}}, "author_id"},
		{"follow-up of unknown ticket", map[string]any{"requester_id": req, "comment": comment, "via_followup_source_id": 999}, "via_followup_source_id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b.do(t, http.MethodPost, "/api/v2/tickets.json", map[string]any{"ticket": tc.ticket}).
				wantError(t, http.StatusUnprocessableEntity, "RecordInvalid", tc.wantDetail)
		})
	}
}

func TestTicketCreate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	req := b.createUser(t, map[string]any{"name": "Ana", "phone": "+34600111222"})
	r := b.do(t, http.MethodPost, "/api/v2/tickets.json", map[string]any{"ticket": map[string]any{
		"subject": "WhatsApp: Ana", "requester_id": req, "priority": "high", "type": "question",
		"tags": []string{"WhatsApp", "whatsapp", "vip client"}, "brand_id": 11, "group_id": 22, "ticket_form_id": 33,
		"custom_fields": []any{map[string]any{"id": 44, "value": "+34600111222"}}, "external_id": "conv-1",
		"comment": map[string]any{"body": "Hola <b>\nline 2", "author_id": req},
	}}).want(t, http.StatusCreated)
	tk := r.body["ticket"]
	id := num(tk, "id")
	if r.header.Get("Location") != b.srv.URL+"/api/v2/tickets/"+itoa(id)+".json" {
		t.Fatalf("Location = %q", r.header.Get("Location"))
	}
	checks := map[string]string{"status": "new", "priority": "high", "type": "question", "subject": "WhatsApp: Ana",
		"description": "Hola <b>\nline 2", "is_public": "true", "via": "", "brand_id": "11", "group_id": "22",
		"ticket_form_id": "33", "external_id": "conv-1", "submitter_id": itoa(b.fake.APIUserID()), "requester_id": itoa(req)}
	for k, want := range checks {
		if k == "via" {
			continue
		}
		if got := str(tk, k); got != want {
			t.Errorf("ticket.%s = %q, want %q", k, got, want)
		}
	}
	if str(tk, "via", "channel") != "api" || str(tk, "tags", 0) != "whatsapp" || str(tk, "tags", 1) != "vip" ||
		str(tk, "tags", 2) != "client" || len(list(tk, "tags")) != 3 || num(tk, "custom_fields", 0, "id") != 44 {
		t.Fatalf("ticket = %s", r.raw)
	}
	ev := r.body["audit"]
	if str(ev, "events", 0, "type") != "Comment" || num(ev, "events", 0, "author_id") != req ||
		str(ev, "events", 0, "public") != "true" || str(ev, "events", 0, "html_body") !=
		`<div class="zd-comment" dir="auto"><p dir="auto">Hola &lt;b&gt;<br>line 2</p></div>` {
		t.Fatalf("audit = %v", ev)
	}
	b.do(t, http.MethodGet, "/api/v2/tickets/"+itoa(id), nil).want(t, http.StatusOK)
}

func TestTicketCreateAuthorsAndRequesterObject(t *testing.T) {
	t.Parallel()
	b := setup(t)
	req := b.createUser(t, map[string]any{"name": "Ana"})
	agent, err := b.fake.CreateAgent(AgentParams{Name: "Zoe"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		ticket     map[string]any
		wantAuthor int64
		wantPublic bool
	}{
		{"default: the API user, public", map[string]any{"requester_id": req, "comment": map[string]any{"body": "x"}}, apiUserID, true},
		{"submitter", map[string]any{"requester_id": req, "submitter_id": agent.ID, "comment": map[string]any{"body": "x"}}, agent.ID, true},
		{"author beats submitter", map[string]any{"requester_id": req, "submitter_id": agent.ID,
			"comment": map[string]any{"body": "x", "author_id": req}}, req, true},
		{"private first comment", map[string]any{"requester_id": req, "comment": map[string]any{"body": "x", "public": false}}, apiUserID, false},
		{"html only", map[string]any{"requester_id": req, "comment": map[string]any{"html_body": "<p>Hi <b>there</b></p>"}}, apiUserID, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := b.do(t, http.MethodPost, "/api/v2/tickets", map[string]any{"ticket": tc.ticket}).want(t, http.StatusCreated)
			d, err := b.fake.TicketDump(num(r.body, "ticket", "id"))
			if err != nil {
				t.Fatal(err)
			}
			c := d.Comments[0]
			if c.AuthorID != tc.wantAuthor || c.Public != tc.wantPublic || c.Body == "" {
				t.Fatalf("first comment = %+v", c)
			}
			if str(r.body, "ticket", "is_public") != map[bool]string{true: "true", false: "false"}[tc.wantPublic] {
				t.Fatalf("is_public = %v", str(r.body, "ticket", "is_public"))
			}
		})
	}
	r := b.do(t, http.MethodPost, "/api/v2/tickets", map[string]any{"ticket": map[string]any{
		"requester": map[string]any{"name": "New Person", "email": "new@acme.test"}, "comment": map[string]any{"body": "x"}}}).
		want(t, http.StatusCreated)
	u := b.do(t, http.MethodGet, "/api/v2/users/"+str(r.body, "ticket", "requester_id"), nil).want(t, http.StatusOK)
	if str(u.body, "user", "email") != "new@acme.test" || str(u.body, "user", "role") != "end-user" {
		t.Fatalf("requester = %s", u.raw)
	}
	again := b.do(t, http.MethodPost, "/api/v2/tickets", map[string]any{"ticket": map[string]any{
		"requester": map[string]any{"name": "Same", "email": "NEW@acme.test"}, "comment": map[string]any{"body": "x"}}})
	if str(again.body, "ticket", "requester_id") != str(r.body, "ticket", "requester_id") {
		t.Fatalf("requester object with a known email made another user")
	}
}

func TestFollowUp(t *testing.T) {
	t.Parallel()
	b := setup(t)
	req := b.createUser(t, map[string]any{"name": "Ana"})
	src := b.createTicket(t, req, map[string]any{"tags": []string{"whatsapp", "vip"}})
	body := func(extra map[string]any) map[string]any {
		tk := map[string]any{"via_followup_source_id": src, "comment": map[string]any{"body": "again"}}
		for k, v := range extra {
			tk[k] = v
		}
		return map[string]any{"ticket": tk}
	}
	for _, status := range []string{"new", "solved"} {
		if status != "new" {
			if err := b.fake.SetTicketStatus(context.Background(), src, status); err != nil {
				t.Fatal(err)
			}
		}
		b.do(t, http.MethodPost, "/api/v2/tickets", body(nil)).wantError(t, 422, "RecordInvalid", "via_followup_source_id")
	}
	if err := b.fake.SetTicketStatus(context.Background(), src, "closed"); err != nil {
		t.Fatal(err)
	}
	r := b.do(t, http.MethodPost, "/api/v2/tickets", body(nil)).want(t, http.StatusCreated)
	f := r.body["ticket"]
	if num(f, "requester_id") != req || str(f, "tags", 0) != "whatsapp" || str(f, "tags", 1) != "vip" ||
		str(f, "via", "source", "rel") != "follow_up" || num(f, "via", "source", "from", "ticket_id") != src {
		t.Fatalf("follow-up = %s", r.raw)
	}
	own := b.do(t, http.MethodPost, "/api/v2/tickets", body(map[string]any{"tags": []string{"other"}, "requester_id": req})).
		want(t, http.StatusCreated)
	if len(list(own.body, "ticket", "tags")) != 1 || str(own.body, "ticket", "tags", 0) != "other" {
		t.Fatalf("tags given are not kept: %s", own.raw)
	}
	s := b.do(t, http.MethodGet, "/api/v2/tickets/"+itoa(src), nil)
	ids := list(s.body, "ticket", "followup_ids")
	if len(ids) != 2 || int64(ids[0].(float64)) != num(f, "id") {
		t.Fatalf("followup_ids = %v", ids)
	}
}

func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	b := setup(t)
	req := b.createUser(t, map[string]any{"name": "Ana"})
	post := func(key string, body string) result {
		return b.doWith(t, http.MethodPost, "/api/v2/tickets.json", body, func(r *http.Request) {
			r.Header.Set("Idempotency-Key", key)
		})
	}
	body := `{"ticket":{"requester_id":` + itoa(req) + `,"comment":{"body":"Hola"}}}`
	same := `{ "ticket": { "comment": {"body":"Hola"}, "requester_id": ` + itoa(req) + ` } }`
	first := post("k1", body).want(t, http.StatusCreated)
	if first.header.Get("x-idempotency-lookup") != "miss" {
		t.Fatalf("first lookup header = %q", first.header.Get("x-idempotency-lookup"))
	}
	tests := []struct {
		name       string
		key, body  string
		advance    time.Duration
		wantStatus int
		wantLookup string
		wantSameID bool
	}{
		{"same key, same body", "k1", body, 0, 201, "hit", true},
		{"same key, same JSON other spacing", "k1", same, 0, 201, "hit", true},
		{"same key, other body", "k1", `{"ticket":{"requester_id":` + itoa(req) + `,"comment":{"body":"Adios"}}}`, 0, 400, "", false},
		{"other key", "k2", body, 0, 201, "miss", false},
		{"same key after 2 hours", "k1", body, 2 * time.Hour, 201, "miss", false},
	}
	for _, tc := range tests { // in order: the last one moves the clock
		t.Run(tc.name, func(t *testing.T) {
			b.fake.AdvanceClock(tc.advance)
			r := post(tc.key, tc.body)
			if tc.wantStatus == 400 {
				r.wantError(t, 400, "IdempotentRequestError", "")
				if str(r.body, "description") != "Request parameters don't match the given idempotency key" {
					t.Fatalf("body = %s", r.raw)
				}
				return
			}
			r.want(t, tc.wantStatus)
			if r.header.Get("x-idempotency-lookup") != tc.wantLookup {
				t.Fatalf("lookup = %q, want %q", r.header.Get("x-idempotency-lookup"), tc.wantLookup)
			}
			if same := num(r.body, "ticket", "id") == num(first.body, "ticket", "id"); same != tc.wantSameID {
				t.Fatalf("same ticket = %v, want %v", same, tc.wantSameID)
			}
		})
	}
	if n := len(b.fake.Tickets()); n != 3 {
		t.Fatalf("%d tickets, want 3", n)
	}
}

func TestAutoClose(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *Options) { o.AutoCloseAfter = 96 * time.Hour })
	req := b.createUser(t, map[string]any{"name": "Ana"})
	id := b.createTicket(t, req, nil)
	if err := b.fake.SetTicketStatus(context.Background(), id, "solved"); err != nil {
		t.Fatal(err)
	}
	b.fake.AdvanceClock(95 * time.Hour)
	if r := b.do(t, http.MethodGet, "/api/v2/tickets/"+itoa(id), nil); str(r.body, "ticket", "status") != "solved" {
		t.Fatalf("closed too early: %s", r.raw)
	}
	b.fake.AdvanceClock(time.Hour)
	if r := b.do(t, http.MethodGet, "/api/v2/tickets/"+itoa(id), nil); str(r.body, "ticket", "status") != "closed" {
		t.Fatalf("not closed: %s", r.raw)
	}
}

func TestTicketListByExternalID(t *testing.T) {
	t.Parallel()
	b := setup(t)
	req := b.createUser(t, map[string]any{"name": "Ana"})
	b.createTicket(t, req, map[string]any{"external_id": "conv-1"})
	b.createTicket(t, req, map[string]any{"external_id": "conv-2"})
	b.createTicket(t, req, map[string]any{"external_id": "conv-1"})
	r := b.do(t, http.MethodGet, "/api/v2/tickets.json?external_id=conv-1", nil).want(t, http.StatusOK)
	if num(r.body, "count") != 2 || len(list(r.body, "tickets")) != 2 {
		t.Fatalf("tickets = %s", r.raw)
	}
}
