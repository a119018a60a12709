package zendesk

import (
	"context"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// auditIDs returns the ids of the audits of a list answer.
func auditIDs(body map[string]any) []int64 {
	var ids []int64
	for _, a := range list(body, "audits") {
		ids = append(ids, num(a, "id"))
	}
	return ids
}

func TestAuditsRecordEveryWrite(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	ana := b.createUser(t, map[string]any{"name": "Ana"})
	created := b.do(t, http.MethodPost, "/api/v2/tickets", map[string]any{"ticket": map[string]any{
		"subject": "Help", "requester_id": ana, "metadata": map[string]any{"deskbridge_key": "wamid.0"},
		"comment": map[string]any{"body": "Hello", "author_id": ana}}}).want(t, http.StatusCreated)
	tk := num(created.body, "ticket", "id")
	keyed := b.put(t, tk, map[string]any{"metadata": map[string]any{"deskbridge_key": "wamid.1", "n": 2},
		"comment": map[string]any{"body": "more", "author_id": ana}}).want(t, http.StatusOK)
	plain := b.put(t, tk, map[string]any{"comment": map[string]any{"body": "note", "public": false}}).want(t, http.StatusOK)
	reply, err := b.fake.AgentReply(ctx, ReplyParams{TicketID: tk, Body: "hi Ana"})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.fake.SetTicketStatus(ctx, tk, "solved"); err != nil {
		t.Fatal(err)
	}
	d, _ := b.fake.TicketDump(tk)
	got := b.do(t, http.MethodGet, "/api/v2/tickets/"+itoa(tk)+"/audits.json", nil).want(t, http.StatusOK)
	audits := list(got.body, "audits")
	if len(audits) != 5 || num(got.body, "count") != 5 || got.body["next_page"] != nil {
		t.Fatalf("audits = %s, want 5 on one page", got.raw)
	}
	tests := []struct {
		name       string
		answered   any // the audit of the write's answer, nil when none
		custom     map[string]any
		author     int64
		channel    string
		commentID  int64 // 0: no Comment event
		body       string
		public     bool
		changeLast string // field_name of the last event, "" when none is expected
	}{
		{"create with metadata", created.body["audit"], map[string]any{"deskbridge_key": "wamid.0"}, apiUserID, "api",
			d.Comments[0].ID, "Hello", true, "status"},
		{"update with metadata", keyed.body["audit"], map[string]any{"deskbridge_key": "wamid.1", "n": float64(2)}, apiUserID, "api",
			d.Comments[1].ID, "more", true, ""},
		{"update without metadata", plain.body["audit"], map[string]any{}, apiUserID, "api", d.Comments[2].ID, "note", false, ""},
		{"agent reply", nil, map[string]any{}, defaultAgentID, "web", reply, "hi Ana", true, "status"},
		{"status change", nil, map[string]any{}, defaultAgentID, "web", 0, "", false, "status"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := audits[i]
			if tc.answered != nil && !reflect.DeepEqual(a, tc.answered) {
				t.Errorf("listed audit = %v\nanswered audit = %v", a, tc.answered)
			}
			if num(a, "ticket_id") != tk || num(a, "author_id") != tc.author || str(a, "via", "channel") != tc.channel ||
				str(a, "created_at") != stamp(testBase) {
				t.Errorf("audit = %v", a)
			}
			if custom, _ := dig(a, "metadata", "custom").(map[string]any); !reflect.DeepEqual(custom, tc.custom) {
				t.Errorf("metadata.custom = %v, want %v", custom, tc.custom)
			}
			if _, ok := dig(a, "metadata", "system").(map[string]any); !ok {
				t.Errorf("metadata.system is missing: %v", a)
			}
			events := list(a, "events")
			if tc.commentID != 0 {
				ev := events[0]
				if str(ev, "type") != "Comment" || num(ev, "id") != tc.commentID || str(ev, "body") != tc.body ||
					dig(ev, "public") != tc.public || num(ev, "audit_id") != num(a, "id") || dig(ev, "attachments") == nil {
					t.Errorf("comment event = %v, want comment %d %q public=%v", ev, tc.commentID, tc.body, tc.public)
				}
			} else if len(events) > 0 && str(events[0], "type") == "Comment" {
				t.Errorf("unexpected comment event %v", events[0])
			}
			if tc.changeLast != "" && (len(events) == 0 || str(events[len(events)-1], "field_name") != tc.changeLast) {
				t.Errorf("events = %v, want the last about %s", events, tc.changeLast)
			}
		})
	}
}

func TestAuditListPagination(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ana := b.createUser(t, map[string]any{"name": "Ana"})
	tk := b.createTicket(t, ana, nil)
	for i := range 4 {
		b.put(t, tk, map[string]any{"comment": map[string]any{"body": "c" + itoa(int64(i))}}).want(t, http.StatusOK)
	}
	base := "/api/v2/tickets/" + itoa(tk) + "/audits"
	all := auditIDs(b.do(t, http.MethodGet, base, nil).want(t, http.StatusOK).body)
	if len(all) != 5 {
		t.Fatalf("%d audits, want 5", len(all))
	}
	// follow reads every page from first, by next_page or links.next.
	follow := func(t *testing.T, first string) ([]int64, int) {
		var ids []int64
		pages := 0
		for next := b.srv.URL + first; next != ""; pages++ {
			u, err := url.Parse(next)
			if err != nil || pages > 10 {
				t.Fatalf("next page %q (%d pages)", next, pages)
			}
			r := b.do(t, http.MethodGet, u.RequestURI(), nil).want(t, http.StatusOK)
			ids = append(ids, auditIDs(r.body)...)
			next = str(r.body, "next_page")
			if _, cursor := r.body["meta"]; cursor {
				next = ""
				if dig(r.body, "meta", "has_more") == true {
					next = str(r.body, "links", "next")
				}
			}
		}
		return ids, pages
	}
	tests := []struct {
		name      string
		first     string
		wantPages int
	}{
		{"offset", base + ".json?per_page=2", 3},
		{"offset, one page", base, 1},
		{"cursor", base + ".json?page[size]=2", 3},
		{"cursor, exact pages", base + "?page[size]=5", 1},
		{"cursor, one per page", base + "?page[size]=1", 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ids, pages := follow(t, tc.first)
			if !reflect.DeepEqual(ids, all) || pages != tc.wantPages {
				t.Errorf("ids = %v in %d pages, want %v in %d", ids, pages, all, tc.wantPages)
			}
		})
	}
}

func TestAuditListErrors(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ana := b.createUser(t, map[string]any{"name": "Ana"})
	tk := b.createTicket(t, ana, nil)
	tests := []struct {
		name       string
		method     string
		path       string
		body       any
		wantStatus int
		wantErr    string
		detail     string
	}{
		{"unknown ticket", http.MethodGet, "/api/v2/tickets/999/audits.json", nil, 404, "RecordNotFound", ""},
		{"ticket id not a number", http.MethodGet, "/api/v2/tickets/abc/audits", nil, 404, "RecordNotFound", ""},
		{"page size too big", http.MethodGet, "/api/v2/tickets/" + itoa(tk) + "/audits?page[size]=101", nil, 400, "InvalidPaginationParameter", ""},
		{"unknown cursor", http.MethodGet, "/api/v2/tickets/" + itoa(tk) + "/audits?page[after]=eHl6", nil, 400, "InvalidPaginationParameter", ""},
		{"POST", http.MethodPost, "/api/v2/tickets/" + itoa(tk) + "/audits", map[string]any{}, 404, "InvalidEndpoint", ""},
		{"metadata not an object", http.MethodPut, "/api/v2/tickets/" + itoa(tk) + ".json",
			map[string]any{"ticket": map[string]any{"metadata": "k", "comment": map[string]any{"body": "x"}}}, 422, "RecordInvalid", "metadata"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := b.do(t, tc.method, tc.path, tc.body)
			r.wantError(t, tc.wantStatus, tc.wantErr, tc.detail)
			if tc.wantStatus == 404 && !strings.Contains(str(r.body, "description"), "Not found") {
				t.Errorf("404 body = %s", r.raw)
			}
		})
	}
}
