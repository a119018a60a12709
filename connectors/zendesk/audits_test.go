package zendesk

import (
	"strings"
	"testing"

	"github.com/deskbridge/deskbridge/connectors"
)

// TestFindWriteAnswers reads the recorded audits answer and the other
// shapes Zendesk documents for the list: offset pages (next_page), cursor
// pages (links.next, or only meta.after_cursor) and custom metadata
// written by other integrations.
func TestFindWriteAnswers(t *testing.T) {
	t.Parallel()
	recorded := payload(t, "go-zendesk__GET_ticket_audits.json")
	tagged := strings.Replace(recorded, `"custom": {
        }`, `"custom": {"deskbridge_key": "wamid.HBgL", "time_spent": "4m"}`, 1)
	if tagged == recorded {
		t.Fatal("the recorded payload changed: no empty custom metadata to tag")
	}
	const path = "/api/v2/tickets/666/audits.json"
	page := func(events, custom string) string {
		return `{"id":1,"events":[` + events + `],"metadata":{"system":{},"custom":` + custom + `}}`
	}
	tests := []struct {
		name    string
		pages   []reply // answered in turn
		key     string
		found   bool
		id      string
		queries []string // the query of each request, encoded
		errMsg  string   // a Permanent error about this, "" for none
	}{
		{name: "recorded answer, key absent", pages: []reply{ok(recorded)}, key: "wamid.HBgL",
			queries: []string{"page%5Bsize%5D=100"}},
		{name: "recorded answer, key present", pages: []reply{ok(tagged)}, key: "wamid.HBgL", found: true, id: "2127301148",
			queries: []string{"page%5Bsize%5D=100"}},
		{name: "another key", pages: []reply{ok(tagged)}, key: "wamid.other", queries: []string{"page%5Bsize%5D=100"}},
		{name: "offset pages", key: "k", found: true, id: "9",
			pages: []reply{ok(`{"audits":[` + page(`{"id":8,"type":"Comment"}`, `{}`) + `],"next_page":"` + testBase + path + `?page=2","count":2}`),
				ok(`{"audits":[` + page(`{"id":2,"type":"Change"},{"id":9,"type":"Comment"}`, `{"deskbridge_key":"k"}`) + `],"next_page":null,"count":2}`)},
			queries: []string{"page%5Bsize%5D=100", "page=2"}},
		{name: "cursor pages by link", key: "k",
			pages: []reply{ok(`{"audits":[],"meta":{"has_more":true,"after_cursor":"c1"},"links":{"next":"` + testBase + path + `?page%5Bafter%5D=c1&page%5Bsize%5D=100"}}`),
				ok(`{"audits":[],"meta":{"has_more":false},"links":{}}`)},
			queries: []string{"page%5Bsize%5D=100", "page%5Bafter%5D=c1&page%5Bsize%5D=100"}},
		{name: "cursor pages by after_cursor", key: "k",
			pages:   []reply{ok(`{"audits":[],"meta":{"has_more":true,"after_cursor":"c1"}}`), ok(`{"audits":[],"meta":{"has_more":false}}`)},
			queries: []string{"page%5Bsize%5D=100", "page%5Bafter%5D=c1&page%5Bsize%5D=100"}},
		{name: "key found, no comment event", pages: []reply{ok(`{"audits":[` + page(`{"id":2,"type":"Change"}`, `{"deskbridge_key":"k"}`) + `]}`)},
			key: "k", found: true, id: "", queries: []string{"page%5Bsize%5D=100"}},
		{name: "custom metadata of other shapes", key: "k",
			pages: []reply{ok(`{"audits":[` + page(`{"id":3,"type":"Comment"}`, `"text"`) + `,` + page(`{"id":4,"type":"Comment"}`, `{"deskbridge_key":7}`) +
				`,` + page(`{"id":5,"type":"Comment"}`, `null`) + `,` + page(`{"id":6,"type":"Comment"}`, `{"deskbridge_key":"k"}`) + `]}`)},
			found: true, id: "6", queries: []string{"page%5Bsize%5D=100"}},
		{name: "next page on another host", key: "k",
			pages:   []reply{ok(`{"audits":[],"next_page":"https://evil.test/api/v2/tickets/666/audits.json?page=2"}`)},
			queries: []string{"page%5Bsize%5D=100"}, errMsg: "is not on"},
		{name: "404", key: "k", pages: []reply{{status: 404, body: `{"error":"RecordNotFound","description":"Not found"}`}},
			queries: []string{"page%5Bsize%5D=100"}, errMsg: "ticket 666 not found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, nil)
			b.on("GET", path, tc.pages...)
			ref, found, err := b.client.FindWrite(t.Context(), connectors.TicketRef{ID: "666"}, tc.key)
			if tc.errMsg != "" {
				if ce := asError(t, err); ce.Kind != connectors.Permanent || !strings.Contains(ce.Message, tc.errMsg) || found {
					t.Errorf("FindWrite = %v, %v; want Permanent about %q", found, err, tc.errMsg)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			want := connectors.CommentRef{}
			if tc.found {
				want = connectors.CommentRef{Ticket: connectors.TicketRef{Vendor: "zendesk", Account: "acme", ID: "666"}, ID: tc.id}
			}
			if found != tc.found || ref != want {
				t.Errorf("FindWrite = %+v, %v; want %+v, %v", ref, found, want, tc.found)
			}
			got := b.rec.all()
			if len(got) != len(tc.queries) {
				t.Fatalf("%d requests, want %d", len(got), len(tc.queries))
			}
			for i, g := range got {
				if g.Method != "GET" || g.Path != path || g.Query.Encode() != tc.queries[i] || g.Header.Get("Authorization") != basicAuth {
					t.Errorf("request %d = %s %s?%s", i, g.Method, g.Path, g.Query.Encode())
				}
			}
		})
	}
}
