package zendesk_test

import (
	"slices"
	"strconv"
	"testing"

	"github.com/deskbridge/deskbridge/connectors"
	sbzendesk "github.com/deskbridge/deskbridge/sandbox/zendesk"
)

// TestSchemaAgainstFake reads an account whose lists span several pages
// of 100 and checks that every record arrives, converted.
func TestSchemaAgainstFake(t *testing.T) {
	t.Parallel()
	fb := startFake(t)
	f := fb.fake
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.AddTicketField(sbzendesk.TicketField{ID: 360001, Title: "VIP", Type: "checkbox"}))
	must(f.AddTicketField(sbzendesk.TicketField{ID: 360002, Title: "Tier", Type: "tagger",
		Options: []sbzendesk.FieldOption{{Name: "Gold", Value: "tier_gold"}, {Name: "Silver", Value: "tier_silver"}}}))
	must(f.AddTicketField(sbzendesk.TicketField{ID: 360003, Title: "Old", Inactive: true}))
	for i := range 200 { // 7 system + 3 + 200 custom fields: 3 pages
		must(f.AddTicketField(sbzendesk.TicketField{Title: "f" + strconv.Itoa(i)}))
	}
	for i := range 150 {
		must(f.AddGroup(sbzendesk.Group{Name: "group " + strconv.Itoa(i)}))
		must(f.AddUserField(sbzendesk.UserField{Key: "k" + strconv.Itoa(i), Title: "K"}))
	}
	must(f.AddUserField(sbzendesk.UserField{ID: 77, Key: "plan", Title: "Plan", Type: "dropdown",
		Options: []sbzendesk.FieldOption{{Name: "Pro", Value: "pro"}}}))
	for i := range 120 {
		must(f.AddBrand(sbzendesk.Brand{Name: "brand" + strconv.Itoa(i)}))
	}
	must(f.AddBrand(sbzendesk.Brand{ID: 9, Name: "Zeta", Inactive: true}))
	must(f.AddTicketForm(sbzendesk.TicketForm{ID: 5, Name: "WhatsApp", Inactive: true}))

	s, err := fb.client.Schema(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		what      string
		got, want int
		path      string
		wantCalls int
	}{
		{"ticket fields", len(s.TicketFields), 210, "/api/v2/ticket_fields", 3},
		{"user fields", len(s.UserFields), 151, "/api/v2/user_fields", 2},
		{"groups", len(s.Groups), 151, "/api/v2/groups", 2},
		{"brands", len(s.Brands), 122, "/api/v2/brands", 2},
		{"forms", len(s.Forms), 2, "/api/v2/ticket_forms", 1},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s: %d, want %d", tc.what, tc.got, tc.want)
		}
		if n := fb.calls.count(tc.path); n != tc.wantCalls {
			t.Errorf("%s: %d requests, want %d (one per page)", tc.what, n, tc.wantCalls)
		}
	}
	find := func(fs []connectors.Field, id string) connectors.Field {
		t.Helper()
		i := slices.IndexFunc(fs, func(f connectors.Field) bool { return f.ID == id })
		if i < 0 {
			t.Fatalf("no field %s", id)
		}
		return fs[i]
	}
	fields := []struct {
		got  connectors.Field
		want connectors.Field
	}{
		{find(s.TicketFields, "360001"), connectors.Field{ID: "360001", Title: "VIP", Type: "checkbox", Active: true}},
		{find(s.TicketFields, "360002"), connectors.Field{ID: "360002", Title: "Tier", Type: "tagger", Active: true,
			Options: []string{"tier_gold", "tier_silver"}}},
		{find(s.TicketFields, "360003"), connectors.Field{ID: "360003", Title: "Old", Type: "text"}},
		{find(s.TicketFields, strconv.FormatInt(sbzendesk.BuiltinPriorityFieldID, 10)), connectors.Field{
			ID: strconv.FormatInt(sbzendesk.BuiltinPriorityFieldID, 10), Title: "Priority", Type: "priority", Active: true,
			System: true, Options: []string{"low", "normal", "high", "urgent"}}},
		{find(s.UserFields, "77"), connectors.Field{ID: "77", Key: "plan", Title: "Plan", Type: "dropdown", Active: true,
			Options: []string{"pro"}}},
	}
	for _, tc := range fields {
		if !fieldEqual(tc.got, tc.want) {
			t.Errorf("field = %+v, want %+v", tc.got, tc.want)
		}
	}
	named := []struct {
		list []connectors.NamedID
		want connectors.NamedID
	}{
		{s.Groups, connectors.NamedID{ID: strconv.FormatInt(sbzendesk.BuiltinGroupID, 10), Name: "Support", Active: true}},
		{s.Brands, connectors.NamedID{ID: "9", Name: "Zeta"}},
		{s.Brands, connectors.NamedID{ID: strconv.FormatInt(sbzendesk.BuiltinBrandID, 10), Name: "Sandbox", Active: true}},
		{s.Forms, connectors.NamedID{ID: "5", Name: "WhatsApp"}},
	}
	for _, tc := range named {
		if !slices.Contains(tc.list, tc.want) {
			t.Errorf("%+v not listed", tc.want)
		}
	}
}

// TestSchemaRevoked: rejected credentials are an Auth error.
func TestSchemaRevoked(t *testing.T) {
	t.Parallel()
	fb := startFake(t)
	fb.fake.RevokeAuth(true)
	_, err := fb.client.Schema(t.Context())
	if k := connectors.KindOf(err); k != connectors.Auth {
		t.Fatalf("error %v has kind %q, want auth", err, k)
	}
}

func fieldEqual(a, b connectors.Field) bool {
	return a.ID == b.ID && a.Key == b.Key && a.Title == b.Title && a.Type == b.Type && a.Active == b.Active &&
		a.System == b.System && slices.Equal(a.Options, b.Options)
}
