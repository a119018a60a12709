package whatsapp

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// payloadDir holds Meta's sample payloads, shared with the rest of the repo.
const payloadDir = "../../../shared/payloads/whatsapp"

// payloadFiles returns every .json file under payloadDir, or skips the test
// when the folder is absent.
func payloadFiles(tb testing.TB) []string {
	tb.Helper()
	if _, err := os.Stat(payloadDir); err != nil {
		tb.Skipf("payload folder %s not found (%v); sample-payload tests skipped", payloadDir, err)
	}
	var files []string
	err := filepath.WalkDir(payloadDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(path, ".json") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("walking %s: %v", payloadDir, err)
	}
	return files
}

// fileChecks holds the specific assertions for known sample files, by base
// name. Each receives the events of a file that must parse.
var fileChecks = map[string]func(t *testing.T, evs []Event){
	"text_message.json": func(t *testing.T, evs []Event) {
		ev := single(t, evs, KindMessage)
		if ev.Key != "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=" || ev.ContactKey != testWAID ||
			ev.WAID != testWAID || ev.UserID != "" || ev.WABAID != testWABA || ev.PhoneNumberID != testPhoneID ||
			ev.DisplayPhoneNumber != testDisplay || ev.Timestamp.Unix() != 1749416383 {
			t.Errorf("event = %+v", ev)
		}
		if ev.Message.Text == nil || ev.Message.Text.Body != "Does it come in another color?" || ev.Message.Contact.Name != "Sheena Nelson" {
			t.Errorf("message = %+v", ev.Message)
		}
	},
	"image_message.json": func(t *testing.T, evs []Event) {
		m := single(t, evs, KindMessage).Message
		if m.Image == nil || m.Image.ID != "1003383421387256" || m.Image.Caption != "Taj Mahal" ||
			!strings.HasPrefix(m.Image.URL, "https://lookaside.fbsbx.com/") {
			t.Errorf("image = %+v", m.Image)
		}
	},
	"status_failed_131049.json": func(t *testing.T, evs []Event) {
		ev := single(t, evs, KindStatus)
		s := ev.Status
		if ev.Key != "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI0QUQ2MjA4NEYyRkExNjMyREUA/failed" || ev.ContactKey != testWAID ||
			s.Status != "failed" || ev.Timestamp.Unix() != 1751142888 {
			t.Errorf("event = %+v", ev)
		}
		if len(s.Errors) != 1 || s.Errors[0].Code != 131049 ||
			s.Errors[0].Details != "In order to maintain a healthy ecosystem engagement, the message failed to be delivered." ||
			s.Errors[0].Href != "/documentation/business-messaging/whatsapp/support/error-codes" {
			t.Errorf("errors = %+v", s.Errors)
		}
	},
	"status_sent_marketing.json": func(t *testing.T, evs []Event) {
		s := single(t, evs, KindStatus).Status
		if s.Pricing == nil || *s.Pricing != (Pricing{Billable: true, PricingModel: "PMP", Type: "regular", Category: "marketing"}) {
			t.Errorf("pricing = %+v", s.Pricing)
		}
		if c := s.Conversation; c == nil || c.ID != "72b14d6bd5407799e66f64d1b338e567" || c.OriginType != "marketing" ||
			c.ExpirationTimestamp.Unix() != 1750116480 {
			t.Errorf("conversation = %+v", c)
		}
	},
	"template_status_approved.json": func(t *testing.T, evs []Event) {
		ev := single(t, evs, KindOther)
		if ev.Field != "message_template_status_update" || ev.Timestamp.Unix() != 1751247548 || ev.ContactKey != "" ||
			!strings.HasPrefix(ev.Key, "sha256:") || !strings.Contains(string(ev.Raw), `"message_template_id": 1689556908129832`) {
			t.Errorf("event = %+v raw=%s", ev, ev.Raw)
		}
	},
	"template_status_rejected_invalid_format.json": func(t *testing.T, evs []Event) {
		ev := single(t, evs, KindOther)
		if ev.Field != "message_template_status_update" || ev.Timestamp.Unix() != 1751247548 || !strings.Contains(string(ev.Raw), "INVALID_FORMAT") {
			t.Errorf("event = %+v", ev)
		}
	},
	"phone_number_quality_update_throughput_upgrade.json": func(t *testing.T, evs []Event) {
		ev := single(t, evs, KindOther)
		if ev.Field != "phone_number_quality_update" || ev.Timestamp.Unix() != 1748454394 || ev.DisplayPhoneNumber != testDisplay {
			t.Errorf("event = %+v", ev)
		}
	},
	"post_whatsapp_webhooks__req__button_message.json": func(t *testing.T, evs []Event) {
		m := single(t, evs, KindMessage).Message
		if m.Button == nil || m.Button.Payload != "Unsubscribe" || m.Context == nil || m.Context.From != testDisplay {
			t.Errorf("message = %+v", m)
		}
	},
	"post_whatsapp_webhooks__req__contact_sharing_message.json": func(t *testing.T, evs []Event) {
		m := single(t, evs, KindMessage).Message
		if len(m.Contacts) != 1 || m.Contacts[0].Name.FormattedName != "Lucía Gómez" || m.Contacts[0].Org.Company != "Google" ||
			len(m.Contacts[0].Phones) != 1 || m.Contacts[0].Phones[0].WAID != "19835552319" {
			t.Errorf("contacts = %+v", m.Contacts)
		}
	},
	"post_whatsapp_webhooks__req__group_create_message.json":      groupCheck("group_lifecycle_update"),
	"post_whatsapp_webhooks__req__group_remove_participants.json": groupCheck("group_participants_update"),
	"post_whatsapp_webhooks__req__group_settings_update.json":     groupCheck("group_settings_update"),
	"post_whatsapp_webhooks__req__image_message.json": func(t *testing.T, evs []Event) {
		m := single(t, evs, KindMessage).Message
		if m.Image == nil || m.Image.MimeType != "image/jpeg" || m.Image.URL != "" {
			t.Errorf("image = %+v", m.Image)
		}
	},
	"post_whatsapp_webhooks__req__interactive_button_reply_message.json": func(t *testing.T, evs []Event) {
		m := single(t, evs, KindMessage).Message
		if m.Interactive == nil || m.Interactive.ButtonReply == nil || m.Interactive.ButtonReply.ID != "cancel-button" {
			t.Errorf("interactive = %+v", m.Interactive)
		}
	},
	"post_whatsapp_webhooks__req__interactive_list_reply_message.json": func(t *testing.T, evs []Event) {
		m := single(t, evs, KindMessage).Message
		if m.Interactive == nil || m.Interactive.ListReply == nil || m.Interactive.ListReply.Description != "Next Day to 2 Days" {
			t.Errorf("interactive = %+v", m.Interactive)
		}
	},
	"post_whatsapp_webhooks__req__location_message.json": func(t *testing.T, evs []Event) {
		l := single(t, evs, KindMessage).Message.Location
		if l == nil || l.Latitude != 37.44221496582 || l.Longitude != -122.16165924072 || l.Name != "Philz Coffee" ||
			l.Address != "101 Forest Ave, Palo Alto, CA 94301" || l.URL != "https://philzcoffee.com/" {
			t.Errorf("location = %+v", l)
		}
	},
	"post_whatsapp_webhooks__req__order_message.json": func(t *testing.T, evs []Event) {
		o := single(t, evs, KindMessage).Message.Order
		if o == nil || o.CatalogID != "194836987003835" || len(o.ProductItems) != 2 ||
			o.ProductItems[0] != (ProductItem{ProductRetailerID: "di9ozbzfi4", Quantity: 2, ItemPrice: 30, Currency: "USD"}) ||
			o.ProductItems[1] != (ProductItem{ProductRetailerID: "nqryix03ez", Quantity: 1, ItemPrice: 25, Currency: "USD"}) {
			t.Errorf("order = %+v", o)
		}
	},
	"post_whatsapp_webhooks__req__reaction_message.json": func(t *testing.T, evs []Event) {
		r := single(t, evs, KindMessage).Message.Reaction
		if r == nil || r.Emoji != "👍" || r.MessageID != "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI0RTJEOTc2ODVERUY5RDlGNkYA" || r.Removed() {
			t.Errorf("reaction = %+v", r)
		}
	},
	"post_whatsapp_webhooks__req__system_message.json": func(t *testing.T, evs []Event) {
		ev := single(t, evs, KindMessage)
		s := ev.Message.System
		if s == nil || s.Type != "user_changed_number" || s.WAID != "12195555358" || ev.ContactKey != testWAID {
			t.Errorf("event = %+v system = %+v", ev, s)
		}
	},
	"post_whatsapp_webhooks__req__text_message.json": func(t *testing.T, evs []Event) {
		ev := single(t, evs, KindMessage)
		if ev.ContactKey != testWAID || ev.WABAID != "419561257915477" || ev.Message.Text.Body != "Does it come in another color?" {
			t.Errorf("event = %+v", ev)
		}
	},
	"post_whatsapp_webhooks__req__text_message_from_click_to_whatsapp_ad.json": func(t *testing.T, evs []Event) {
		r := single(t, evs, KindMessage).Message.Referral
		if r == nil || r.SourceType != "ad" || r.SourceID != "120226305854810726" || r.MediaType != "image" ||
			!strings.HasPrefix(r.CtwaClid, "Aff-") || r.WelcomeMessage != "Hi there! Let us know how we can help!" {
			t.Errorf("referral = %+v", r)
		}
	},
	"post_whatsapp_webhooks__req__text_message_with_context_product_inquiry.json": func(t *testing.T, evs []Event) {
		c := single(t, evs, KindMessage).Message.Context
		if c == nil || c.ReferredProduct == nil || c.ReferredProduct.ProductRetailerID != "di9ozbzfi4" {
			t.Errorf("context = %+v", c)
		}
	},
	"post_whatsapp_webhooks__req__unsupported_message.json": func(t *testing.T, evs []Event) {
		m := single(t, evs, KindMessage).Message
		if m.Type != TypeUnsupported || len(m.Errors) != 1 || m.Errors[0].Code != 131051 ||
			m.Errors[0].Details != "Message type is currently not supported." {
			t.Errorf("message = %+v", m)
		}
	},
	"error_response_130429.json": nil, // a Graph API error body, not a webhook
}

func groupCheck(field string) func(t *testing.T, evs []Event) {
	return func(t *testing.T, evs []Event) {
		ev := single(t, evs, KindOther)
		if ev.Field != field || ev.PhoneNumberID != testPhoneID || !strings.Contains(string(ev.Raw), `"group_id"`) {
			t.Errorf("event = %+v", ev)
		}
	}
}

// single requires exactly one event of the given kind.
func single(t *testing.T, evs []Event, kind EventKind) Event {
	t.Helper()
	if len(evs) != 1 || evs[0].Kind != kind {
		t.Fatalf("got %d events (%+v), want one %s", len(evs), evs, kind)
	}
	return evs[0]
}

func TestParsePayloadFiles(t *testing.T) {
	files := payloadFiles(t)
	seen := map[string]bool{}
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(strings.TrimPrefix(path, payloadDir+"/"), func(t *testing.T) {
			body, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var probe struct{ Object string }
			isWebhook := json.Unmarshal(body, &probe) == nil && probe.Object == ObjectWhatsAppBusinessAccount
			evs, err := ParseNotification(body)
			if !isWebhook {
				if !errors.Is(err, ErrNotWhatsApp) && !errors.Is(err, ErrMalformed) {
					t.Fatalf("got %d events, err %v; want ErrNotWhatsApp or ErrMalformed", len(evs), err)
				}
				if evs != nil {
					t.Fatalf("events returned with an error: %+v", evs)
				}
				seen[name] = true
				return
			}
			if err != nil || len(evs) == 0 {
				t.Fatalf("got %d events, err %v", len(evs), err)
			}
			for _, ev := range evs {
				checkEventInvariants(t, ev)
			}
			if check, ok := fileChecks[name]; ok && check != nil {
				check(t, evs)
			}
			seen[name] = true
		})
	}
	for name := range fileChecks {
		if !seen[name] {
			t.Errorf("known sample %s not found under %s", name, payloadDir)
		}
	}
}

// checkEventInvariants asserts what must hold for every event.
func checkEventInvariants(t testing.TB, ev Event) {
	t.Helper()
	if ev.Key == "" {
		t.Errorf("empty key: %+v", ev)
	}
	ok := false
	switch ev.Kind {
	case KindMessage:
		ok = ev.Message != nil && ev.Status == nil && ev.Error == nil
	case KindStatus:
		ok = ev.Status != nil && ev.Message == nil && ev.Error == nil
	case KindError:
		ok = ev.Error != nil && ev.Message == nil && ev.Status == nil
	case KindOther:
		ok = ev.Message == nil && ev.Status == nil && ev.Error == nil
	}
	if !ok {
		t.Errorf("kind %q inconsistent with payload pointers: %+v", ev.Kind, ev)
	}
	if len(ev.Raw) > 0 && !json.Valid(ev.Raw) {
		t.Errorf("raw is not valid JSON: %q", ev.Raw)
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    error
		wantMsg string
	}{
		{"empty", ``, ErrMalformed, "whatsapp: malformed notification: invalid JSON"},
		{"truncated", `{"object":"whatsapp_business_account","entry":[`, ErrMalformed, ""},
		{"trailing garbage", `{"object":"whatsapp_business_account"} x`, ErrMalformed, ""},
		{"null", `null`, ErrMalformed, "whatsapp: malformed notification: body is not a JSON object"},
		{"array", `[{"object":"whatsapp_business_account"}]`, ErrMalformed, ""},
		{"string", `"whatsapp_business_account"`, ErrMalformed, ""},
		{"page object", `{"object":"page","entry":[]}`, ErrNotWhatsApp, `whatsapp: not a whatsapp_business_account notification (object="page")`},
		{"instagram with bad entry", `{"object":"instagram","entry":5}`, ErrNotWhatsApp, `whatsapp: not a whatsapp_business_account notification (object="instagram")`},
		{"no object", `{"entry":[]}`, ErrNotWhatsApp, "whatsapp: not a whatsapp_business_account notification (no object field)"},
		{"graph error body", `{"error":{"code":130429}}`, ErrNotWhatsApp, ""},
		{"numeric object", `{"object":5}`, ErrNotWhatsApp, `(object="5")`},
		{"entry not an array", `{"object":"whatsapp_business_account","entry":{}}`, ErrMalformed, `whatsapp: malformed notification: unexpected JSON object at "entry"`},
		{"entry item not an object", `{"object":"whatsapp_business_account","entry":[1]}`, ErrMalformed, ""},
		{"changes not an array", `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":"x"}]}`, ErrMalformed, `"entry.changes"`},
		{"change not an object", `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[true]}]}`, ErrMalformed, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := ParseNotification([]byte(tc.body))
			if !errors.Is(err, tc.want) || evs != nil {
				t.Fatalf("got %v (%d events), want %v", err, len(evs), tc.want)
			}
			if tc.wantMsg != "" && !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("message %q does not contain %q", err, tc.wantMsg)
			}
		})
	}
}

func TestParseTolerance(t *testing.T) {
	textItem := `{"from":"16505551234","id":"wamid.ok","timestamp":"1749416383","type":"text","text":{"body":"hi"}}`
	tests := []struct {
		name  string
		body  []byte
		kinds []EventKind
		check func(t *testing.T, evs []Event)
	}{
		{"empty entry list", []byte(`{"object":"whatsapp_business_account","entry":[]}`), nil, nil},
		{"entry without changes", []byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","time":1}]}`), nil, nil},
		{"odd items kept as other", notification(messagesChange(messagesValue(sheenaContacts, "messages", `"str"`, `null`, `42`, textItem))),
			[]EventKind{KindOther, KindOther, KindOther, KindMessage}, func(t *testing.T, evs []Event) {
				if string(evs[0].Raw) != `"str"` || string(evs[1].Raw) != `null` || evs[0].Key == evs[1].Key {
					t.Errorf("raws %s %s keys %s %s", evs[0].Raw, evs[1].Raw, evs[0].Key, evs[1].Key)
				}
			}},
		{"messages not an array", notification(messagesChange(`{"metadata":{"phone_number_id":"1"},"messages":{"id":"x"},"statuses":[{"id":"wamid.s","status":"sent","recipient_id":"1"}]}`)),
			[]EventKind{KindStatus, KindOther}, func(t *testing.T, evs []Event) {
				if !strings.Contains(string(evs[1].Raw), `"messages":{"id":"x"}`) || evs[1].PhoneNumberID != "1" {
					t.Errorf("other = %+v", evs[1])
				}
			}},
		{"value not an object", notification(messagesChange(`"oops"`)), []EventKind{KindOther}, nil},
		{"value missing", notification(`{"field":"messages"}`), []EventKind{KindOther}, func(t *testing.T, evs []Event) {
			if evs[0].Raw != nil || evs[0].Key == "" {
				t.Errorf("event = %+v", evs[0])
			}
		}},
		{"empty messages", notification(messagesChange(messagesValue("", "messages"))), []EventKind{KindOther}, nil},
		{"groups in a messages value", notification(messagesChange(`{"metadata":{"phone_number_id":"106540352242922"},"groups":[{"group_id":"g","type":"group_create"}]}`)),
			[]EventKind{KindOther}, func(t *testing.T, evs []Event) {
				if evs[0].PhoneNumberID != testPhoneID || evs[0].Field != FieldMessages {
					t.Errorf("event = %+v", evs[0])
				}
			}},
		{"wrong types everywhere", []byte(`{"object":"whatsapp_business_account","entry":[{"id":102290129340398,"time":"1751247548","changes":[{"field":"messages","value":` +
			`{"metadata":7,"contacts":"x","messages":[{"from":16505551234,"id":"wamid.n","timestamp":1749416383,"type":"text","text":"not an object","context":[1],"errors":{"code":1}}]}}]}]}`),
			[]EventKind{KindMessage}, func(t *testing.T, evs []Event) {
				ev := evs[0]
				if ev.WABAID != testWABA || ev.ContactKey != testWAID || ev.Timestamp.Unix() != 1749416383 || ev.PhoneNumberID != "" {
					t.Errorf("event = %+v", ev)
				}
			}},
		{"timestamp fallback to entry time", []byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","time":1700000000,"changes":[{"field":"messages","value":` +
			`{"messages":[{"from":"1","id":"wamid.t","type":"text"}],"errors":[{"code":130429,"title":"Rate limit hit"}]}}]}]}`),
			[]EventKind{KindMessage, KindError}, func(t *testing.T, evs []Event) {
				if evs[0].Timestamp.Unix() != 1700000000 || evs[1].Timestamp.Unix() != 1700000000 {
					t.Errorf("timestamps %v %v", evs[0].Timestamp, evs[1].Timestamp)
				}
			}},
		{"message without id", notification(messagesChange(messagesValue("", "messages", `{"from":"1","type":"text"}`))), []EventKind{KindMessage}, func(t *testing.T, evs []Event) {
			if !strings.HasPrefix(evs[0].Key, "sha256:") {
				t.Errorf("key = %q", evs[0].Key)
			}
		}},
		{"deep edit nesting", notification(messagesChange(messagesValue("", "messages", `{"id":"wamid.e","type":"edit","edit":`+strings.Repeat(`{"message":{"type":"edit","edit":`, 50)+`{}`+strings.Repeat(`}}`, 50)+`}`))),
			[]EventKind{KindMessage}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := ParseNotification(tc.body)
			if err != nil {
				t.Fatalf("ParseNotification: %v", err)
			}
			if len(evs) != len(tc.kinds) {
				t.Fatalf("got %d events %+v, want kinds %v", len(evs), evs, tc.kinds)
			}
			for i, ev := range evs {
				if ev.Kind != tc.kinds[i] {
					t.Fatalf("event %d kind %q, want %q", i, ev.Kind, tc.kinds[i])
				}
				checkEventInvariants(t, ev)
			}
			if tc.check != nil {
				tc.check(t, evs)
			}
		})
	}
}

func TestParseValueErrors(t *testing.T) {
	body := notification(messagesChange(`{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},` +
		`"errors":[{"code":130429,"title":"Rate limit hit","message":"(#130429) Rate limit hit","error_data":{"details":"Cloud API message throughput has been reached."},"href":"/docs/errors"},` +
		`{"code":131000,"title":"Something went wrong"}]}`))
	evs, err := ParseNotification(body)
	if err != nil || len(evs) != 2 {
		t.Fatalf("got %d events, err %v", len(evs), err)
	}
	want := Error{Code: 130429, Title: "Rate limit hit", Message: "(#130429) Rate limit hit", Details: "Cloud API message throughput has been reached.", Href: "/docs/errors"}
	if evs[0].Kind != KindError || *evs[0].Error != want || evs[0].ContactKey != "" || evs[0].PhoneNumberID != testPhoneID {
		t.Fatalf("event 0 = %+v (%+v)", evs[0], evs[0].Error)
	}
	if evs[1].Error.Code != 131000 || evs[0].Key == evs[1].Key || !strings.HasPrefix(evs[1].Key, "sha256:") || len(evs[1].Key) != len("sha256:")+64 {
		t.Fatalf("event 1 = %+v", evs[1])
	}
	again, _ := ParseNotification(body)
	if again[0].Key != evs[0].Key || again[1].Key != evs[1].Key {
		t.Fatalf("keys not stable across deliveries")
	}
	// The same error under another WABA is a different event.
	other, _ := ParseNotification([]byte(strings.Replace(string(body), testWABA, "999", 1)))
	if other[0].Key == evs[0].Key {
		t.Fatalf("key ignores the entry id")
	}
}

func TestParseBatchOrder(t *testing.T) {
	body := []byte(`{"object":"whatsapp_business_account","entry":[` +
		`{"id":"W1","changes":[` +
		messagesChange(messagesValue(`[{"profile":{"name":"A"},"wa_id":"111"},{"profile":{"name":"B"},"wa_id":"222"}]`, "messages",
			`{"from":"111","id":"wamid.m1","timestamp":"10","type":"text","text":{"body":"1"}}`,
			`{"from":"222","id":"wamid.m2","timestamp":"11","type":"image","image":{"id":"5"}}`)) + `,` +
		`{"field":"message_template_status_update","value":{"event":"APPROVED","message_template_id":1}},` +
		messagesChange(messagesValue("", "statuses",
			`{"id":"wamid.o1","status":"sent","timestamp":"12","recipient_id":"111"}`,
			`{"id":"wamid.o1","status":"delivered","timestamp":"13","recipient_id":"111"}`)) + `]},` +
		`{"id":"W2","time":1751247548,"changes":[` +
		`{"field":"phone_number_quality_update","value":{"display_phone_number":"15550783881","event":"FLAGGED"}},` +
		messagesChange(`{"metadata":{"phone_number_id":"P2"},"errors":[{"code":1}]}`) + `,` +
		messagesChange(messagesValue("", "messages", `{"from_user_id":"US.1","id":"wamid.m3","timestamp":"14","type":"reaction","reaction":{"message_id":"wamid.o1"}}`)) +
		`]}]}`)
	evs, err := ParseNotification(body)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		kind       EventKind
		key, waba  string
		contactKey string
	}
	want := []row{
		{KindMessage, "wamid.m1", "W1", "111"},
		{KindMessage, "wamid.m2", "W1", "222"},
		{KindOther, "", "W1", ""},
		{KindStatus, "wamid.o1/sent", "W1", "111"},
		{KindStatus, "wamid.o1/delivered", "W1", "111"},
		{KindOther, "", "W2", ""},
		{KindError, "", "W2", ""},
		{KindMessage, "wamid.m3", "W2", "US.1"},
	}
	if len(evs) != len(want) {
		t.Fatalf("got %d events, want %d", len(evs), len(want))
	}
	for i, w := range want {
		ev := evs[i]
		if ev.Kind != w.kind || ev.WABAID != w.waba || ev.ContactKey != w.contactKey || (w.key != "" && ev.Key != w.key) {
			t.Errorf("event %d = {%s %s %s %s}, want %+v", i, ev.Kind, ev.Key, ev.WABAID, ev.ContactKey, w)
		}
		checkEventInvariants(t, ev)
	}
	if evs[1].Message.Contact == nil || evs[1].Message.Contact.Name != "B" {
		t.Errorf("contact of m2 = %+v", evs[1].Message.Contact)
	}
	if evs[5].DisplayPhoneNumber != testDisplay || evs[5].Timestamp.Unix() != 1751247548 || evs[6].PhoneNumberID != "P2" {
		t.Errorf("account-level events: %+v / %+v", evs[5], evs[6])
	}
	if !evs[7].Message.Reaction.Removed() {
		t.Errorf("reaction without emoji should be a removal")
	}
}

func TestFlexTypes(t *testing.T) {
	var s struct {
		S1, S2, S3, S4, S5 flexString
		T1, T2, T3, T4, T5 flexTime
		T6                 flexTime
		F1, F2, F3         flexFloat
		I1, I2, I3         flexInt
		B1, B2, B3, B4     flexBool
	}
	in := `{"S1":"a\"b","S2":12,"S3":true,"S4":{"x":1},"S5":null,` +
		`"T1":"1749416383","T2":1751247548,"T3":"x","T4":1.7e9,"T5":1e20,"T6":"-5",` +
		`"F1":"1.5","F2":-2,"F3":"NaN",` +
		`"I1":"3","I2":2.0,"I3":"1e400",` +
		`"B1":true,"B2":"true","B3":1,"B4":"no"}`
	if err := json.Unmarshal([]byte(in), &s); err != nil {
		t.Fatal(err)
	}
	if s.S1 != `a"b` || s.S2 != "12" || s.S3 != "true" || s.S4 != "" || s.S5 != "" {
		t.Errorf("strings: %+v", s)
	}
	if s.T1.Time() != time.Unix(1749416383, 0).UTC() || s.T2 != 1751247548 || !s.T3.Time().IsZero() || s.T4 != 1700000000 || s.T5 != 0 || s.T6 != 0 {
		t.Errorf("times: %v %v %v %v", s.T1, s.T2, s.T3, s.T4)
	}
	if s.F1 != 1.5 || s.F2 != -2 || s.F3 != 0 || s.I1 != 3 || s.I2 != 2 || s.I3 != 0 {
		t.Errorf("numbers: %v %v %v %v %v %v", s.F1, s.F2, s.F3, s.I1, s.I2, s.I3)
	}
	if !s.B1 || !s.B2 || !s.B3 || s.B4 {
		t.Errorf("bools: %v %v %v %v", s.B1, s.B2, s.B3, s.B4)
	}
}
