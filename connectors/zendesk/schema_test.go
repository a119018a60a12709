package zendesk

import (
	"reflect"
	"strings"
	"testing"

	"github.com/deskbridge/deskbridge/connectors"
)

// emptySchema answers every schema list but those in skip with one empty
// page.
func emptySchema(b *testBundle, skip ...string) {
	lists := map[string]string{
		"/api/v2/ticket_fields": `{"ticket_fields":[],"meta":{"has_more":false},"links":{"next":null}}`,
		"/api/v2/user_fields":   `{"user_fields":[],"meta":{"has_more":false},"links":{"next":null}}`,
		"/api/v2/groups":        `{"groups":[],"meta":{"has_more":false},"links":{"next":null}}`,
		"/api/v2/brands":        `{"brands":[],"meta":{"has_more":false},"links":{"next":null}}`,
		"/api/v2/ticket_forms":  `{"ticket_forms":[],"next_page":null,"previous_page":null,"count":0}`,
	}
	for path, body := range lists {
		skipped := false
		for _, s := range skip {
			skipped = skipped || s == path
		}
		if !skipped {
			b.on("GET", path, ok(body))
		}
	}
}

func TestSchemaPaging(t *testing.T) {
	t.Parallel()
	first := q("page[size]", "100")
	tests := []struct {
		name    string
		path    string
		replies []reply // answers of path, in turn
		// wants are the requests to path.
		wants []want
		check func(t *testing.T, s *connectors.Schema)
	}{
		{
			name: "links.next",
			path: "/api/v2/groups",
			replies: []reply{
				ok(`{"groups":[{"id":1,"name":"A"}],"meta":{"has_more":true,"after_cursor":"c1"},
					"links":{"next":"` + testBase + `/api/v2/groups?page%5Bafter%5D=c1&page%5Bsize%5D=100"}}`),
				ok(`{"groups":[{"id":2,"name":"B","deleted":true}],"meta":{"has_more":false},"links":{"next":null}}`),
			},
			wants: []want{{"GET", "/api/v2/groups", first, ""}, {"GET", "/api/v2/groups", q("page[after]", "c1", "page[size]", "100"), ""}},
			check: func(t *testing.T, s *connectors.Schema) {
				want := []connectors.NamedID{{ID: "1", Name: "A", Active: true}, {ID: "2", Name: "B"}}
				if len(s.Groups) != 2 || s.Groups[0] != want[0] || s.Groups[1] != want[1] {
					t.Errorf("groups = %+v, want %+v", s.Groups, want)
				}
			},
		},
		{
			name: "after cursor without a link",
			path: "/api/v2/brands",
			replies: []reply{
				ok(`{"brands":[{"id":1,"name":"A","active":true}],"meta":{"has_more":true,"after_cursor":"xyz"},"links":{}}`),
				ok(`{"brands":[{"id":2,"name":"B","active":false},{"id":3,"name":"C","is_deleted":true}],"meta":{"has_more":false}}`),
			},
			wants: []want{{"GET", "/api/v2/brands", first, ""}, {"GET", "/api/v2/brands", q("page[size]", "100", "page[after]", "xyz"), ""}},
			check: func(t *testing.T, s *connectors.Schema) {
				if len(s.Brands) != 3 || !s.Brands[0].Active || s.Brands[1].Active || s.Brands[2].Active {
					t.Errorf("brands = %+v", s.Brands)
				}
			},
		},
		{
			name: "offset answer to a cursor request",
			path: "/api/v2/user_fields",
			replies: []reply{
				ok(`{"user_fields":[{"id":7,"key":"plan","title":"Plan","type":"dropdown","active":true,
					"custom_field_options":[{"id":1,"name":"Pro","value":"pro"}]}],
					"next_page":"` + testBase + `/api/v2/user_fields.json?page=2","count":2}`),
				ok(`{"user_fields":[{"id":"8","key":"vip","title":"VIP","type":"checkbox","system":"false"}],"next_page":null,"count":2}`),
			},
			wants: []want{{"GET", "/api/v2/user_fields", first, ""}, {"GET", "/api/v2/user_fields.json", q("page", "2"), ""}},
			check: func(t *testing.T, s *connectors.Schema) {
				if len(s.UserFields) != 2 || s.UserFields[0].Key != "plan" || len(s.UserFields[0].Options) != 1 ||
					s.UserFields[0].Options[0] != "pro" || s.UserFields[1].ID != "8" || !s.UserFields[1].Active {
					t.Errorf("user fields = %+v", s.UserFields)
				}
			},
		},
		{
			name: "ticket fields: system and custom",
			path: "/api/v2/ticket_fields",
			replies: []reply{ok(`{"ticket_fields":[
				{"id":34,"type":"priority","title":"Priority","active":true,"removable":false,
				 "system_field_options":[{"name":"Low","value":"low"},{"name":"Urgent","value":"urgent"}]},
				{"id":360001,"type":"tagger","title":"Tier","active":false,"removable":true,
				 "custom_field_options":[{"id":1,"name":"Gold","value":"tier_gold"}]}],
				"meta":{"has_more":false},"links":{"next":null}}`)},
			wants: []want{{"GET", "/api/v2/ticket_fields", first, ""}},
			check: func(t *testing.T, s *connectors.Schema) {
				p, tier := s.TicketFields[0], s.TicketFields[1]
				if !p.System || !p.Active || len(p.Options) != 2 || p.Options[1] != "urgent" ||
					tier.System || tier.Active || len(tier.Options) != 1 || tier.Options[0] != "tier_gold" {
					t.Errorf("ticket fields = %+v", s.TicketFields)
				}
			},
		},
		{
			name:    "ticket forms: one unpaginated request",
			path:    "/api/v2/ticket_forms",
			replies: []reply{ok(`{"ticket_forms":[{"id":5,"name":"Default","active":true},{"id":6,"name":"Old","active":false}],"next_page":null,"count":2}`)},
			wants:   []want{{"GET", "/api/v2/ticket_forms", nil, ""}},
			check: func(t *testing.T, s *connectors.Schema) {
				if len(s.Forms) != 2 || !s.Forms[0].Active || s.Forms[1].Active {
					t.Errorf("forms = %+v", s.Forms)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, nil)
			emptySchema(b, tc.path)
			b.on("GET", tc.path, tc.replies...)
			b.on("GET", tc.path+".json", tc.replies[len(tc.replies)-1]) // an offset next_page keeps .json
			s, err := b.client.Schema(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			var got []captured
			for _, r := range b.rec.all() {
				if strings.TrimSuffix(r.Path, ".json") == tc.path {
					got = append(got, r)
				}
			}
			if len(got) != len(tc.wants) {
				t.Fatalf("%d requests to %s, want %d", len(got), tc.path, len(tc.wants))
			}
			for i, w := range tc.wants {
				if got[i].Path != w.path || !reflect.DeepEqual(got[i].Query, w.query) && (len(got[i].Query) != 0 || w.query != nil) {
					t.Errorf("request %d = %s?%s, want %s?%s", i, got[i].Path, got[i].Query.Encode(), w.path, w.query.Encode())
				}
				if h := got[i].Header.Get("Authorization"); h != basicAuth {
					t.Errorf("request %d Authorization = %q", i, h)
				}
			}
			tc.check(t, s)
		})
	}
}

func TestSchemaErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		path     string
		reply    reply
		wantKind connectors.Kind
		wantOp   string
	}{
		{"rejected credentials", "/api/v2/ticket_fields", reply{status: 401, body: `{"error":"Couldn't authenticate you"}`},
			connectors.Auth, "list_ticket_fields"},
		{"forbidden brands", "/api/v2/brands", reply{status: 403, body: `{"error":"Forbidden","description":"You do not have access"}`},
			connectors.Auth, "list_brands"},
		{"no list in the body", "/api/v2/groups", ok(`{"meta":{"has_more":false}}`), connectors.Retryable, "list_groups"},
		{"list of the wrong shape", "/api/v2/user_fields", ok(`{"user_fields":{"id":1}}`), connectors.Retryable, "list_user_fields"},
		{"next page on another host", "/api/v2/groups", ok(`{"groups":[],"meta":{"has_more":true},
			"links":{"next":"https://evil.example/api/v2/groups?page%5Bafter%5D=x"}}`), connectors.Permanent, "list_groups"},
		{"endless pages", "/api/v2/ticket_forms", ok(`{"ticket_forms":[],"next_page":"` + testBase + `/api/v2/ticket_forms"}`),
			connectors.Permanent, "list_ticket_forms"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, nil)
			emptySchema(b, tc.path)
			b.on("GET", tc.path, tc.reply)
			_, err := b.client.Schema(t.Context())
			ce := asError(t, err)
			if ce.Kind != tc.wantKind || ce.Op != tc.wantOp {
				t.Errorf("error %v: kind %s op %s, want %s %s", err, ce.Kind, ce.Op, tc.wantKind, tc.wantOp)
			}
		})
	}
}
