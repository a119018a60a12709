package mapping

import (
	"slices"
	"strings"
	"testing"

	"github.com/deskbridge/deskbridge/connectors/whatsapp"
)

func TestNormalizePhone(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
		wantErr        bool
	}{
		{name: "e164", in: "+34600111222", want: "+34600111222"},
		{name: "spaces and dashes", in: "+55 11 98765-4321", want: "+5511987654321"},
		{name: "dots and parentheses", in: "+1 (650) 555.1234", want: "+16505551234"},
		{name: "leading 00", in: "0034 600 111 222", want: "+34600111222"},
		{name: "wa_id digits", in: "16505551234", want: "+16505551234"},
		{name: "surrounding space", in: "  +52 1 55 1234 5678 ", want: "+5215512345678"},
		{name: "8 digits", in: "+12345678", want: "+12345678"},
		{name: "15 digits", in: "+123456789012345", want: "+123456789012345"},
		{name: "empty", in: "", wantErr: true},
		{name: "too short", in: "+1234567", wantErr: true},
		{name: "too long", in: "+1234567890123456", wantErr: true},
		{name: "letters", in: "+34 600 ABC 222", wantErr: true},
		{name: "bsuid", in: "US.13491208655302741918", wantErr: true},
		{name: "country code 0", in: "+0123456789", wantErr: true},
		{name: "plus only", in: "+", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := NormalizePhone(tc.in)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("NormalizePhone(%q) = %q, want error", tc.in, got)
				}
				if len(tc.in) > 4 && strings.Contains(err.Error(), tc.in) {
					t.Errorf("error %q reveals the full input", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("NormalizePhone(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestNormalizePhone_errorMasksInput(t *testing.T) {
	t.Parallel()
	_, err := NormalizePhone("+34 600 1X1 2229")
	if err == nil || !strings.Contains(err.Error(), "***2229") {
		t.Fatalf("err = %v, want it to name the input as ***2229", err)
	}
}

func TestPhoneVariants(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{name: "brazil mobile with 9th digit", in: "+5511987654321", want: []string{"+5511987654321", "+551187654321"}},
		{name: "brazil mobile without 9th digit", in: "+551187654321", want: []string{"+551187654321", "+5511987654321"}},
		{name: "brazil mobile starting 6", in: "+552161234567", want: []string{"+552161234567", "+5521961234567"}},
		{name: "brazil landline", in: "+551134567890", want: []string{"+551134567890"}},
		{name: "brazil 9 then landline digit", in: "+5511934567890", want: []string{"+5511934567890"}},
		{name: "brazil too short", in: "+55119876543", want: []string{"+55119876543"}},
		{name: "mexico with 1", in: "+5215512345678", want: []string{"+5215512345678", "+525512345678"}},
		{name: "mexico without 1", in: "+525512345678", want: []string{"+525512345678", "+5215512345678"}},
		{name: "mexico short", in: "+52551234567", want: []string{"+52551234567"}},
		{name: "spain", in: "+34600111222", want: []string{"+34600111222"}},
		{name: "us", in: "+16505551234", want: []string{"+16505551234"}},
		{name: "not e164", in: "5511987654321", want: []string{"5511987654321"}},
		{name: "empty", in: "", want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := PhoneVariants(tc.in); !slices.Equal(got, tc.want) {
				t.Fatalf("PhoneVariants(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestPhoneVariants_roundTrip(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"+55 11 98765-4321", "+55 11 8765-4321", "+52 1 55 1234 5678", "+52 55 1234 5678"} {
		p, err := NormalizePhone(in)
		if err != nil {
			t.Fatal(err)
		}
		v := PhoneVariants(p)
		if len(v) != 2 {
			t.Fatalf("%s: variants %q, want 2", in, v)
		}
		if back := PhoneVariants(v[1]); !slices.Equal(back, []string{v[1], v[0]}) {
			t.Errorf("%s: variants of %s = %q, want %q", in, v[1], back, []string{v[1], v[0]})
		}
	}
}

func TestContactKey(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, userID, waID, want string }{
		{"bsuid wins", "US.13491208655302741918", "16505551234", "US.13491208655302741918"},
		{"wa_id normalized", "", "16505551234", "+16505551234"},
		{"odd wa_id kept", "", "abc", "abc"},
		{"none", " ", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := ContactKey(tc.userID, tc.waID); got != tc.want {
				t.Fatalf("ContactKey(%q, %q) = %q, want %q", tc.userID, tc.waID, got, tc.want)
			}
		})
	}
}

func TestExternalID(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, phone, bsuid, want string }{
		{"phone", "+34600111222", "US.1", "whatsapp:+34600111222"},
		{"phone normalized", "34 600 111 222", "", "whatsapp:+34600111222"},
		{"bsuid only", "", "US.13491208655302741918", "whatsapp:bsuid:US.13491208655302741918"},
		{"nothing", "", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := ExternalID(tc.phone, tc.bsuid); got != tc.want {
				t.Fatalf("ExternalID(%q, %q) = %q, want %q", tc.phone, tc.bsuid, got, tc.want)
			}
		})
	}
}

func TestAliases(t *testing.T) {
	t.Parallel()
	var a Aliases
	a.AddContact(&whatsapp.Contact{WAID: "5511987654321", UserID: "BR.111"})
	a.AddContact(nil)
	if err := a.AddPhone("not a phone"); err == nil {
		t.Error("AddPhone(bad) = nil, want error")
	}
	tests := []struct {
		key  string
		want bool
	}{
		{"BR.111", true},
		{"5511987654321", true},
		{"+55 11 98765-4321", true},
		{"+55 11 8765-4321", true},
		{"551187654321", true},
		{"+5511987654322", false},
		{"BR.222", false},
		{"", false},
	}
	for _, tc := range tests {
		if got := a.Contains(tc.key); got != tc.want {
			t.Errorf("Contains(%q) = %v, want %v", tc.key, got, tc.want)
		}
	}
	if !slices.Equal(a.Phones, []string{"+5511987654321", "+551187654321"}) {
		t.Errorf("Phones = %q", a.Phones)
	}
}

func TestAliases_ApplySystem(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		sys       *whatsapp.System
		applied   bool
		contains  []string
		wantWAIDs []string
		wantBSUID []string
	}{
		{
			name:      "changed number",
			sys:       &whatsapp.System{Type: "user_changed_number", WAID: "5215512345678"},
			applied:   true,
			contains:  []string{"16505551234", "5215512345678", "+52 55 1234 5678", "US.1"},
			wantWAIDs: []string{"16505551234", "5215512345678"},
			wantBSUID: []string{"US.1"},
		},
		{
			name:      "changed number, older new_wa_id",
			sys:       &whatsapp.System{Type: "user_changed_number", NewWAID: "34600111222"},
			applied:   true,
			contains:  []string{"+34600111222", "+16505551234"},
			wantWAIDs: []string{"16505551234", "34600111222"},
			wantBSUID: []string{"US.1"},
		},
		{
			name:      "changed user id",
			sys:       &whatsapp.System{Type: "user_changed_user_id", UserID: "US.2", PreviousUserID: "US.1"},
			applied:   true,
			contains:  []string{"US.1", "US.2", "16505551234"},
			wantWAIDs: []string{"16505551234"},
			wantBSUID: []string{"US.1", "US.2"},
		},
		{
			name:      "other system",
			sys:       &whatsapp.System{Type: "customer_identity_changed"},
			wantWAIDs: []string{"16505551234"},
			wantBSUID: []string{"US.1"},
		},
		{name: "nil", wantWAIDs: []string{"16505551234"}, wantBSUID: []string{"US.1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var a Aliases
			a.AddWAID("16505551234")
			a.AddBSUID("US.1")
			if got := a.ApplySystem(tc.sys); got != tc.applied {
				t.Errorf("ApplySystem = %v, want %v", got, tc.applied)
			}
			for _, k := range tc.contains {
				if !a.Contains(k) {
					t.Errorf("Contains(%q) = false after ApplySystem", k)
				}
			}
			if !slices.Equal(a.WAIDs, tc.wantWAIDs) || !slices.Equal(a.BSUIDs, tc.wantBSUID) {
				t.Errorf("WAIDs %q BSUIDs %q, want %q %q", a.WAIDs, a.BSUIDs, tc.wantWAIDs, tc.wantBSUID)
			}
		})
	}
}
