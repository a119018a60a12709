package whatsapp

import (
	"os"
	"reflect"
	"testing"
)

// TestStoredRoundTrip checks that every event of every sample payload reads
// back from its stored form unchanged.
func TestStoredRoundTrip(t *testing.T) {
	t.Parallel()
	n := 0
	for _, path := range payloadFiles(t) {
		body, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		evs, err := ParseNotification(body)
		if err != nil {
			continue // not a webhook body
		}
		for i := range evs {
			n++
			want := evs[i]
			b, err := want.Stored()
			if err != nil {
				t.Fatalf("%s #%d: Stored: %v", path, i, err)
			}
			got, err := ParseStored(b)
			if err != nil {
				t.Fatalf("%s #%d: ParseStored(%s): %v", path, i, b, err)
			}
			if got.Kind != want.Kind || got.Key != want.Key || got.WABAID != want.WABAID ||
				got.Field != want.Field || got.PhoneNumberID != want.PhoneNumberID ||
				got.DisplayPhoneNumber != want.DisplayPhoneNumber || got.ContactKey != want.ContactKey ||
				got.WAID != want.WAID || got.UserID != want.UserID || !got.Timestamp.Equal(want.Timestamp) {
				t.Errorf("%s #%d: header differs: got %s/%s key %s, want %s/%s key %s", path, i, got.Kind, got.Field, got.Key, want.Kind, want.Field, want.Key)
			}
			if !reflect.DeepEqual(got.Message, want.Message) || !reflect.DeepEqual(got.Status, want.Status) ||
				!reflect.DeepEqual(got.Error, want.Error) {
				t.Errorf("%s #%d: content differs after a round trip", path, i)
			}
		}
	}
	if n == 0 {
		t.Fatal("no events round-tripped")
	}
}

func TestParseStoredRejectsSeveralItems(t *testing.T) {
	t.Parallel()
	body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messages":[{"id":"a","type":"text"},{"id":"b","type":"text"}]}}]}]}`)
	if _, err := ParseStored(body); err == nil {
		t.Fatal("ParseStored accepted two items")
	}
}
