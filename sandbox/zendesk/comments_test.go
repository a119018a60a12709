package zendesk

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"
)

// put updates a ticket.
func (b *testBundle) put(t *testing.T, id int64, tk map[string]any) result {
	t.Helper()
	return b.do(t, http.MethodPut, "/api/v2/tickets/"+itoa(id)+".json", map[string]any{"ticket": tk})
}

func TestPublicFlagInheritance(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		firstPublic any    // nil: omitted
		updates     []any  // comment.public of each update; nil: omitted
		want        []bool // public of every comment
	}{
		{"omitted everywhere: public", nil, []any{nil, nil}, []bool{true, true, true}},
		{"private first, then omitted: private", false, []any{nil, nil}, []bool{false, false, false}},
		{"follows the previous comment", false, []any{true, nil, false, nil}, []bool{false, true, true, false, false}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			req := b.createUser(t, map[string]any{"name": "Ana"})
			first := map[string]any{"body": "first"}
			if tc.firstPublic != nil {
				first["public"] = tc.firstPublic
			}
			id := b.createTicket(t, req, map[string]any{"comment": first})
			for i, p := range tc.updates {
				c := map[string]any{"body": "update " + strconv.Itoa(i)}
				if p != nil {
					c["public"] = p
				}
				r := b.put(t, id, map[string]any{"comment": c}).want(t, http.StatusOK)
				if got := str(r.body, "audit", "events", 0, "public"); got != strconv.FormatBool(tc.want[i+1]) {
					t.Fatalf("update %d: audit public = %s", i, got)
				}
			}
			d, _ := b.fake.TicketDump(id)
			for i, c := range d.Comments {
				if c.Public != tc.want[i] {
					t.Fatalf("comment %d public = %v, want %v", i, c.Public, tc.want[i])
				}
			}
		})
	}
}

func TestTicketUpdate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	req := b.createUser(t, map[string]any{"name": "Ana"})
	id := b.createTicket(t, req, nil)
	r := b.put(t, id, map[string]any{"comment": map[string]any{"body": "from Ana", "author_id": req, "public": true},
		"status": "pending", "priority": "urgent", "additional_tags": []string{"Extra"}, "custom_fields": []any{map[string]any{"id": 1, "value": "v"}}}).
		want(t, http.StatusOK)
	a := r.body["audit"]
	if num(a, "ticket_id") != id || num(a, "author_id") != apiUserID || str(a, "via", "channel") != "api" {
		t.Fatalf("audit = %s", r.raw)
	}
	ev := list(a, "events")
	if str(ev[0], "type") != "Comment" || str(ev[0], "body") != "from Ana" || num(ev[0], "author_id") != req ||
		num(ev[0], "audit_id") != num(a, "id") || num(ev[0], "id") == 0 {
		t.Fatalf("comment event = %v", ev[0])
	}
	changes := map[string]string{}
	for _, e := range ev[1:] {
		changes[str(e, "field_name")] = str(e, "value") + "<-" + str(e, "previous_value")
	}
	if changes["status"] != "pending<-new" || changes["priority"] != "urgent<-" {
		t.Fatalf("changes = %v", changes)
	}
	if str(r.body, "ticket", "tags", 0) != "extra" || str(r.body, "ticket", "status") != "pending" {
		t.Fatalf("ticket = %s", r.raw)
	}
	// The requester's public reply reopens a pending ticket.
	r = b.put(t, id, map[string]any{"comment": map[string]any{"body": "me again", "author_id": req}}).want(t, http.StatusOK)
	if str(r.body, "ticket", "status") != "open" {
		t.Fatalf("status after the requester's reply = %s", str(r.body, "ticket", "status"))
	}
	tests := []struct {
		name       string
		id         int64
		ticket     map[string]any
		wantStatus int
		wantDetail string
	}{
		{"unknown ticket", 999, map[string]any{"status": "open"}, 404, ""},
		{"bad status", id, map[string]any{"status": "done"}, 422, "status"},
		{"blank comment", id, map[string]any{"comment": map[string]any{"body": ""}}, 422, "comment"},
		{"unknown author", id, map[string]any{"comment": map[string]any{"body": "x", "author_id": 1}}, 422, "author_id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := b.put(t, tc.id, tc.ticket)
			if tc.wantStatus == 404 {
				r.wantError(t, 404, "RecordNotFound", "")
				return
			}
			r.wantError(t, tc.wantStatus, "RecordInvalid", tc.wantDetail)
		})
	}
}

func TestClosedTicketRefusesUpdates(t *testing.T) {
	t.Parallel()
	b := setup(t)
	req := b.createUser(t, map[string]any{"name": "Ana"})
	id := b.createTicket(t, req, nil)
	if err := b.fake.SetTicketStatus(context.Background(), id, "closed"); err != nil {
		t.Fatal(err)
	}
	for _, tk := range []map[string]any{
		{"comment": map[string]any{"body": "hello?"}},
		{"status": "open"},
		{"tags": []string{"x"}},
	} {
		r := b.put(t, id, tk).want(t, http.StatusUnprocessableEntity)
		want := `{"error":"RecordInvalid","description":"Record validation errors","details":{"status":[{"description":"Status: closed prevents ticket update"}]}}`
		if string(r.raw) != want {
			t.Fatalf("body = %s\nwant   %s", r.raw, want)
		}
	}
	if _, err := b.fake.AgentReply(context.Background(), ReplyParams{TicketID: id, Body: "x"}); err == nil {
		t.Fatal("agent reply on a closed ticket succeeded")
	}
}

func TestPerTicketUpdateLimit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	req := b.createUser(t, map[string]any{"name": "Ana"})
	id := b.createTicket(t, req, nil)
	other := b.createTicket(t, req, nil)
	for i := range ticketUpdateLimit {
		b.put(t, id, map[string]any{"comment": map[string]any{"body": "m" + strconv.Itoa(i), "author_id": req}}).want(t, http.StatusOK)
		if i == 0 {
			b.fake.AdvanceClock(4 * time.Minute) // the first update leaves the window first
		}
	}
	r := b.put(t, id, map[string]any{"comment": map[string]any{"body": "one too many"}}).want(t, http.StatusTooManyRequests)
	if str(r.body, "error") != "TooManyRequests" || r.header.Get("Retry-After") != "360" {
		t.Fatalf("answer = %s Retry-After %q", r.raw, r.header.Get("Retry-After"))
	}
	b.put(t, other, map[string]any{"comment": map[string]any{"body": "other ticket"}}).want(t, http.StatusOK)
	if _, err := b.fake.AgentReply(context.Background(), ReplyParams{TicketID: id, Body: "agents are not limited here"}); err != nil {
		t.Fatal(err)
	}
	b.fake.AdvanceClock(6 * time.Minute)
	b.put(t, id, map[string]any{"comment": map[string]any{"body": "room for one"}}).want(t, http.StatusOK)
	b.put(t, id, map[string]any{"comment": map[string]any{"body": "full again"}}).want(t, http.StatusTooManyRequests)
	d, _ := b.fake.TicketDump(id)
	if len(d.Comments) != 1+ticketUpdateLimit+1+1 {
		t.Fatalf("%d comments", len(d.Comments))
	}
}

func TestCommentList(t *testing.T) {
	t.Parallel()
	b := setup(t)
	req := b.createUser(t, map[string]any{"name": "Ana"})
	id := b.createTicket(t, req, map[string]any{"comment": map[string]any{"body": "c0"}})
	for i := 1; i < 5; i++ {
		b.fake.AdvanceClock(time.Second)
		b.put(t, id, map[string]any{"comment": map[string]any{"body": "c" + strconv.Itoa(i), "public": i != 2}}).want(t, http.StatusOK)
	}
	path := "/api/v2/tickets/" + itoa(id) + "/comments.json"
	bodies := func(r result) string {
		s := ""
		for _, c := range list(r.body, "comments") {
			s += str(c, "body")
		}
		return s
	}
	// Cursor pagination, following links.next.
	var seen string
	next := path + "?page[size]=2"
	pages := 0
	for next != "" {
		r := b.do(t, http.MethodGet, next, nil).want(t, http.StatusOK)
		seen += bodies(r)
		pages++
		more := r.body["meta"].(map[string]any)["has_more"] == true
		next = ""
		if more {
			u, err := url.Parse(str(r.body, "links", "next"))
			if err != nil || str(r.body, "meta", "after_cursor") == "" {
				t.Fatalf("links = %s", r.raw)
			}
			next = u.RequestURI()
		}
	}
	if seen != "c0c1c2c3c4" || pages != 3 {
		t.Fatalf("cursor pages: %q in %d pages", seen, pages)
	}
	tests := []struct {
		name  string
		query string
		want  string
	}{
		{"offset, default", "", "c0c1c2c3c4"},
		{"offset page 2", "?per_page=2&page=2", "c2c3"},
		{"offset desc", "?sort_order=desc", "c4c3c2c1c0"},
		{"cursor desc", "?page[size]=3&sort=-created_at", "c4c3c2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := b.do(t, http.MethodGet, path+tc.query, nil).want(t, http.StatusOK)
			if got := bodies(r); got != tc.want {
				t.Fatalf("comments = %q, want %q", got, tc.want)
			}
		})
	}
	r := b.do(t, http.MethodGet, path, nil)
	c2 := list(r.body, "comments")[2]
	if str(c2, "public") != "false" || str(c2, "type") != "Comment" || str(c2, "via", "channel") != "api" ||
		str(c2, "created_at") != "2026-03-02T10:00:02Z" {
		t.Fatalf("comment = %v", c2)
	}
	for _, q := range []string{"?page[size]=101", "?page[after]=x&page[before]=y", "?page[after]=bm9wZQ"} {
		b.do(t, http.MethodGet, path+q, nil).wantError(t, 400, "InvalidPaginationParameter", "")
	}
	b.do(t, http.MethodGet, "/api/v2/tickets/999/comments", nil).wantError(t, 404, "RecordNotFound", "")
}
