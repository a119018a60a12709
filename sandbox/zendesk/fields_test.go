package zendesk

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// listAll reads every page of a list through links.next (cursor) or
// next_page (offset) and returns the items and the number of pages.
func (b *testBundle) listAll(t *testing.T, path, root string) (items []any, pages int) {
	t.Helper()
	for next := path; next != ""; pages++ {
		if pages > 50 {
			t.Fatalf("%s: more than 50 pages", path)
		}
		r := b.do(t, http.MethodGet, next, nil).want(t, http.StatusOK)
		items = append(items, list(r.body, root)...)
		link := str(r.body, "links", "next")
		if link == "" {
			link = str(r.body, "next_page")
		}
		next = strings.TrimPrefix(link, b.srv.URL)
	}
	return items, pages
}

// names returns the given member of each item.
func names(items []any, member string) []string {
	var out []string
	for _, it := range items {
		out = append(out, str(it, member))
	}
	return out
}

func TestSchemaBuiltins(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		path, root, member string
		want               []string
	}{
		{"/api/v2/ticket_fields", "ticket_fields", "type",
			[]string{"subject", "description", "status", "tickettype", "priority", "group", "assignee"}},
		{"/api/v2/user_fields.json", "user_fields", "key", nil},
		{"/api/v2/groups", "groups", "name", []string{"Support"}},
		{"/api/v2/brands", "brands", "name", []string{"Sandbox"}},
		{"/api/v2/ticket_forms", "ticket_forms", "name", []string{"Default Ticket Form"}},
	}
	for _, tc := range tests {
		t.Run(tc.root, func(t *testing.T) {
			items, _ := b.listAll(t, tc.path, tc.root)
			if got := names(items, tc.member); !slices.Equal(got, tc.want) {
				t.Errorf("%s = %q, want %q", tc.member, got, tc.want)
			}
		})
	}
	r := b.do(t, http.MethodGet, "/api/v2/ticket_fields", nil).want(t, http.StatusOK)
	prio := list(r.body, "ticket_fields")[4]
	if num(prio, "id") != BuiltinPriorityFieldID || str(prio, "removable") != "false" ||
		str(prio, "system_field_options", 3, "value") != "urgent" {
		t.Errorf("priority field = %v", prio)
	}
	if g := b.do(t, http.MethodGet, "/api/v2/groups", nil); num(g.body, "groups", 0, "id") != BuiltinGroupID ||
		str(g.body, "groups", 0, "default") != "true" {
		t.Errorf("groups = %s", g.raw)
	}
}

func TestSchemaOptionsAndReset(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *Options) {
		o.TicketFields = []TicketField{
			{ID: 360001, Title: "WhatsApp number"},
			{Title: "Tier", Type: "tagger", Options: []FieldOption{{Name: "Gold", Value: "tier_gold"}, {Name: "Silver", Value: "tier_silver"}}},
			{Title: "bad", Type: "nonsense"}, // skipped
		}
		o.UserFields = []UserField{{Key: "wa_name", Title: "WhatsApp name"}}
		o.Groups = []Group{{ID: 42, Name: "Billing"}}
		o.Brands = []Brand{{Name: "Acme Shop"}, {Name: "Old", Inactive: true}}
		o.TicketForms = []TicketForm{{Name: "WhatsApp", TicketFieldIDs: []int64{360001}}}
	})
	check := func(t *testing.T) {
		t.Helper()
		fields, _ := b.listAll(t, "/api/v2/ticket_fields", "ticket_fields")
		if len(fields) != 9 || num(fields[7], "id") != 360001 || str(fields[8], "custom_field_options", 1, "value") != "tier_silver" ||
			str(fields[8], "removable") != "true" {
			t.Fatalf("ticket fields = %v", fields)
		}
		if u, _ := b.listAll(t, "/api/v2/user_fields", "user_fields"); len(u) != 1 || str(u[0], "key") != "wa_name" {
			t.Errorf("user fields = %v", u)
		}
		if g, _ := b.listAll(t, "/api/v2/groups", "groups"); len(g) != 2 || num(g[1], "id") != 42 {
			t.Errorf("groups = %v", g)
		}
		// Brands are sorted by name.
		if br, _ := b.listAll(t, "/api/v2/brands", "brands"); !slices.Equal(names(br, "name"), []string{"Acme Shop", "Old", "Sandbox"}) ||
			str(br[0], "subdomain") != "acmeshop" || str(br[1], "active") != "false" {
			t.Errorf("brands = %v", br)
		}
		if f, _ := b.listAll(t, "/api/v2/ticket_forms?active=true", "ticket_forms"); len(f) != 2 ||
			num(f[1], "ticket_field_ids", 0) != 360001 {
			t.Errorf("forms = %v", f)
		}
	}
	check(t)
	if _, err := b.fake.AddGroup(Group{Name: "Later"}); err != nil {
		t.Fatal(err)
	}
	b.fake.Reset()
	check(t) // Later is gone; Options are back
}

func TestSchemaPagination(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for i := range 5 {
		if _, err := b.fake.AddTicketField(TicketField{Title: "f" + itoa(int64(i))}); err != nil {
			t.Fatal(err)
		}
		if _, err := b.fake.AddGroup(Group{Name: "g" + itoa(int64(i))}); err != nil {
			t.Fatal(err)
		}
		if _, err := b.fake.AddUserField(UserField{Key: "k" + itoa(int64(i)), Title: "k"}); err != nil {
			t.Fatal(err)
		}
		if _, err := b.fake.AddBrand(Brand{Name: "b" + itoa(int64(i))}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		path, root string
		items      int
		pages      int
	}{
		{"/api/v2/ticket_fields?page[size]=5", "ticket_fields", 12, 3},
		{"/api/v2/ticket_fields", "ticket_fields", 12, 1}, // not paginated
		{"/api/v2/groups?page[size]=2", "groups", 6, 3},
		{"/api/v2/groups?per_page=4", "groups", 6, 2},
		{"/api/v2/user_fields?page[size]=2", "user_fields", 5, 3},
		{"/api/v2/brands?page[size]=4", "brands", 6, 2},
		{"/api/v2/brands?page=1&per_page=5", "brands", 6, 2},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			items, pages := b.listAll(t, tc.path, tc.root)
			ids := map[int64]bool{}
			for _, it := range items {
				ids[num(it, "id")] = true
			}
			if len(items) != tc.items || len(ids) != tc.items || pages != tc.pages {
				t.Errorf("%d items (%d distinct) in %d pages, want %d in %d", len(items), len(ids), pages, tc.items, tc.pages)
			}
		})
	}
	// Cursor pages of ticket fields are in id order.
	items, _ := b.listAll(t, "/api/v2/ticket_fields?page[size]=3", "ticket_fields")
	if !slices.IsSortedFunc(items, func(a, c any) int { return int(num(a, "id") - num(c, "id")) }) {
		t.Errorf("cursor pages not in id order: %v", names(items, "id"))
	}
}

func TestSchemaAddErrors(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		name string
		add  func() error
	}{
		{"field without title", func() error { _, err := b.fake.AddTicketField(TicketField{}); return err }},
		{"field of unknown type", func() error { _, err := b.fake.AddTicketField(TicketField{Title: "x", Type: "subject"}); return err }},
		{"tagger without options", func() error { _, err := b.fake.AddTicketField(TicketField{Title: "x", Type: "tagger"}); return err }},
		{"text with options", func() error {
			_, err := b.fake.AddTicketField(TicketField{Title: "x", Options: []FieldOption{{Name: "a", Value: "a"}}})
			return err
		}},
		{"duplicate option", func() error {
			_, err := b.fake.AddTicketField(TicketField{Title: "x", Type: "multiselect",
				Options: []FieldOption{{Name: "a", Value: "a"}, {Name: "b", Value: "a"}}})
			return err
		}},
		{"taken field id", func() error {
			_, err := b.fake.AddTicketField(TicketField{ID: BuiltinPriorityFieldID, Title: "x"})
			return err
		}},
		{"user field without key", func() error { _, err := b.fake.AddUserField(UserField{Title: "x"}); return err }},
		{"user field tagger", func() error {
			_, err := b.fake.AddUserField(UserField{Key: "x", Title: "x", Type: "tagger"})
			return err
		}},
		{"group without name", func() error { _, err := b.fake.AddGroup(Group{}); return err }},
		{"taken group id", func() error { _, err := b.fake.AddGroup(Group{ID: BuiltinGroupID, Name: "x"}); return err }},
		{"taken subdomain", func() error { _, err := b.fake.AddBrand(Brand{Name: "Sandbox"}); return err }},
		{"form with unknown field", func() error {
			_, err := b.fake.AddTicketForm(TicketForm{Name: "x", TicketFieldIDs: []int64{1}})
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.add(); !errors.Is(err, ErrInvalid) {
				t.Errorf("error = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestSchemaControlAPI(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		route      string
		body       map[string]any
		wantStatus int
	}{
		{"ticket_fields", map[string]any{"title": "VIP", "type": "checkbox"}, http.StatusOK},
		{"ticket_fields", map[string]any{"title": "Tier", "type": "tagger", "options": []any{map[string]any{"name": "Gold", "value": "gold"}}}, http.StatusOK},
		{"ticket_fields", map[string]any{"title": "x", "bogus": 1}, http.StatusBadRequest},
		{"user_fields", map[string]any{"key": "vip", "title": "VIP", "type": "checkbox"}, http.StatusOK},
		{"groups", map[string]any{"id": 42, "name": "Billing"}, http.StatusOK},
		{"groups", map[string]any{"id": 42, "name": "Again"}, http.StatusBadRequest},
		{"brands", map[string]any{"name": "Shop", "inactive": true}, http.StatusOK},
		{"ticket_forms", map[string]any{"name": "WhatsApp"}, http.StatusOK},
	}
	for _, tc := range tests {
		r := b.ctl(t, http.MethodPost, tc.route, tc.body).want(t, tc.wantStatus)
		if tc.wantStatus == http.StatusOK && num(r.body, "id") == 0 {
			t.Errorf("POST %s: no id in %s", tc.route, r.raw)
		}
	}
	b.ctl(t, http.MethodGet, "groups", nil).want(t, http.StatusNotFound)
	if g, _ := b.listAll(t, "/api/v2/groups", "groups"); !slices.Equal(names(g, "name"), []string{"Support", "Billing"}) {
		t.Errorf("groups = %v", g)
	}
	f, _ := b.listAll(t, "/api/v2/ticket_fields", "ticket_fields")
	if last := f[len(f)-1]; str(last, "title") != "Tier" || str(last, "custom_field_options", 0, "value") != "gold" {
		t.Errorf("last field = %v", last)
	}
	// The API needs credentials; the control routes do not.
	b.doWith(t, http.MethodGet, "/api/v2/groups", nil, func(r *http.Request) { r.Header.Del("Authorization") }).
		want(t, http.StatusUnauthorized)
	b.do(t, http.MethodPost, "/api/v2/groups", map[string]any{"group": map[string]any{"name": "x"}}).want(t, http.StatusNotFound)
}
