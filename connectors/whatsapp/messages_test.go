package whatsapp

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

const (
	testWABA       = "102290129340398"
	testPhoneID    = "106540352242922"
	testDisplay    = "15550783881"
	testWAID       = "16505551234"
	testBSUID      = "US.13491208655302741918"
	testParentUID  = "US.ENT.11815799212886844830"
	sheenaContacts = `[{"profile":{"name":"Sheena Nelson"},"wa_id":"16505551234"}]`
)

// notification wraps change objects in a one-entry body.
func notification(changes ...string) []byte {
	return []byte(`{"object":"whatsapp_business_account","entry":[{"id":"` + testWABA +
		`","changes":[` + strings.Join(changes, ",") + `]}]}`)
}

// messagesChange is a "messages" change with the given value.
func messagesChange(value string) string {
	return `{"field":"messages","value":` + value + `}`
}

// messagesValue builds a messages value; key is "messages" or "statuses",
// contacts may be "" to leave the block out.
func messagesValue(contacts, key string, items ...string) string {
	v := `{"messaging_product":"whatsapp","metadata":{"display_phone_number":"` + testDisplay +
		`","phone_number_id":"` + testPhoneID + `"}`
	if contacts != "" {
		v += `,"contacts":` + contacts
	}
	return v + `,"` + key + `":[` + strings.Join(items, ",") + `]}`
}

// oneEvent parses body and requires exactly one event.
func oneEvent(t *testing.T, body []byte) Event {
	t.Helper()
	evs, err := ParseNotification(body)
	if err != nil {
		t.Fatalf("ParseNotification: %v", err)
	}
	if len(evs) != 1 {
		t.Fatalf("got %d events, want 1: %+v", len(evs), evs)
	}
	return evs[0]
}

// inboundMessage parses one message item sent by Sheena and checks the
// common fields.
func inboundMessage(t *testing.T, item string) *Message {
	t.Helper()
	ev := oneEvent(t, notification(messagesChange(messagesValue(sheenaContacts, "messages", item))))
	if ev.Kind != KindMessage || ev.Message == nil {
		t.Fatalf("kind = %q, message = %v; want message", ev.Kind, ev.Message)
	}
	if ev.ContactKey != testWAID || ev.WAID != testWAID || ev.PhoneNumberID != testPhoneID ||
		ev.WABAID != testWABA || ev.DisplayPhoneNumber != testDisplay || ev.Field != FieldMessages {
		t.Fatalf("envelope fields: %+v", ev)
	}
	if ev.Key != ev.Message.ID || ev.Key == "" {
		t.Fatalf("key = %q, id = %q", ev.Key, ev.Message.ID)
	}
	if !bytes.Equal(ev.Raw, []byte(item)) {
		t.Fatalf("raw not preserved:\n got %s\nwant %s", ev.Raw, item)
	}
	if ev.Message.Contact == nil || ev.Message.Contact.Name != "Sheena Nelson" {
		t.Fatalf("contact = %+v", ev.Message.Contact)
	}
	return ev.Message
}

func msg(typ, payload string) string {
	return `{"from":"16505551234","id":"wamid.` + typ + `","timestamp":"1749416383","type":"` + typ + `"` + payload + `}`
}

func TestParseMessageTypes(t *testing.T) {
	tests := []struct {
		name  string
		item  string
		check func(t *testing.T, m *Message)
	}{
		{"text", msg("text", `,"text":{"body":"Hi \u00e9 \ud83d\ude00"}`), func(t *testing.T, m *Message) {
			if m.Type != TypeText || m.Text == nil || m.Text.Body != "Hi é 😀" {
				t.Errorf("text = %+v", m.Text)
			}
			if !m.Timestamp.Equal(time.Unix(1749416383, 0)) {
				t.Errorf("timestamp = %v", m.Timestamp)
			}
		}},
		{"image", msg("image", `,"image":{"caption":"Taj Mahal","mime_type":"image/jpeg","sha256":"SfIn=","id":"1003383421387256","url":"https://lookaside.fbsbx.com/x"}`), func(t *testing.T, m *Message) {
			want := Media{ID: "1003383421387256", MimeType: "image/jpeg", SHA256: "SfIn=", Caption: "Taj Mahal", URL: "https://lookaside.fbsbx.com/x"}
			if m.Image == nil || *m.Image != want {
				t.Errorf("image = %+v", m.Image)
			}
		}},
		{"video", msg("video", `,"context":{"forwarded":true},"video":{"caption":"c","mime_type":"video/mp4","sha256":"Jh=","id":"765"}`), func(t *testing.T, m *Message) {
			if m.Video == nil || m.Video.ID != "765" || m.Video.Caption != "c" || m.Video.MimeType != "video/mp4" {
				t.Errorf("video = %+v", m.Video)
			}
			if m.Context == nil || !m.Context.Forwarded || m.Context.FrequentlyForwarded {
				t.Errorf("context = %+v", m.Context)
			}
		}},
		{"document", msg("document", `,"document":{"caption":"c","filename":"f.pdf","mime_type":"application/pdf","sha256":"g=","id":"42"}`), func(t *testing.T, m *Message) {
			if m.Document == nil || m.Document.Filename != "f.pdf" || m.Document.ID != "42" {
				t.Errorf("document = %+v", m.Document)
			}
		}},
		{"voice", msg("audio", `,"audio":{"mime_type":"audio/ogg; codecs=opus","sha256":"m=","id":"7","voice":true}`), func(t *testing.T, m *Message) {
			if m.Audio == nil || !m.Audio.Voice || m.Audio.MimeType != "audio/ogg; codecs=opus" {
				t.Errorf("audio = %+v", m.Audio)
			}
		}},
		{"audio file", msg("audio", `,"context":{"frequently_forwarded":true},"audio":{"mime_type":"audio/mpeg","id":"8","voice":false}`), func(t *testing.T, m *Message) {
			if m.Audio == nil || m.Audio.Voice || m.Audio.ID != "8" {
				t.Errorf("audio = %+v", m.Audio)
			}
			if m.Context == nil || !m.Context.FrequentlyForwarded {
				t.Errorf("context = %+v", m.Context)
			}
		}},
		{"sticker", msg("sticker", `,"sticker":{"mime_type":"image/webp","sha256":"H=","id":"9","animated":true}`), func(t *testing.T, m *Message) {
			if m.Sticker == nil || !m.Sticker.Animated || m.Sticker.MimeType != "image/webp" {
				t.Errorf("sticker = %+v", m.Sticker)
			}
		}},
		{"location numbers", msg("location", `,"location":{"latitude":37.44221496582,"longitude":-122.16165924072,"name":"Philz","address":"101 Forest Ave","url":"https://philz.example"}`), func(t *testing.T, m *Message) {
			want := Location{Latitude: 37.44221496582, Longitude: -122.16165924072, Name: "Philz", Address: "101 Forest Ave", URL: "https://philz.example"}
			if m.Location == nil || *m.Location != want {
				t.Errorf("location = %+v", m.Location)
			}
		}},
		{"location strings", msg("location", `,"location":{"latitude":"12.25089","longitude":"-43.5"}`), func(t *testing.T, m *Message) {
			if m.Location == nil || m.Location.Latitude != 12.25089 || m.Location.Longitude != -43.5 {
				t.Errorf("location = %+v", m.Location)
			}
		}},
		{"contacts", msg("contacts", `,"contacts":[{"name":{"formatted_name":"Lucía Gómez","first_name":"Lucía","last_name":"Gómez","middle_name":"M","prefix":"Dr","suffix":"Jr"},`+
			`"phones":[{"phone":"+1 (983) 555-2319","wa_id":"19835552319","type":"MOBILE"},{"phone":"+1 555","type":"HOME"}],`+
			`"emails":[{"email":"l@example.com","type":"WORK"}],`+
			`"addresses":[{"street":"1 Main St","city":"Menlo Park","state":"CA","zip":"94025","country":"United States","country_code":"us","type":"HOME"}],`+
			`"org":{"company":"Google","department":"Eng","title":"SWE"},"urls":[{"url":"https://example.com","type":"WORK"}],"birthday":"1990-01-02"}]`), func(t *testing.T, m *Message) {
			if len(m.Contacts) != 1 {
				t.Fatalf("contacts = %+v", m.Contacts)
			}
			c := m.Contacts[0]
			if c.Name != (ContactName{FormattedName: "Lucía Gómez", FirstName: "Lucía", LastName: "Gómez", MiddleName: "M", Prefix: "Dr", Suffix: "Jr"}) {
				t.Errorf("name = %+v", c.Name)
			}
			if len(c.Phones) != 2 || c.Phones[0] != (ContactPhone{Phone: "+1 (983) 555-2319", WAID: "19835552319", Type: "MOBILE"}) || c.Phones[1].WAID != "" {
				t.Errorf("phones = %+v", c.Phones)
			}
			if len(c.Emails) != 1 || c.Emails[0] != (ContactEmail{Email: "l@example.com", Type: "WORK"}) {
				t.Errorf("emails = %+v", c.Emails)
			}
			if len(c.Addresses) != 1 || c.Addresses[0] != (ContactAddress{Street: "1 Main St", City: "Menlo Park", State: "CA", Zip: "94025", Country: "United States", CountryCode: "us", Type: "HOME"}) {
				t.Errorf("addresses = %+v", c.Addresses)
			}
			if c.Org != (ContactOrg{Company: "Google", Department: "Eng", Title: "SWE"}) || c.Birthday != "1990-01-02" {
				t.Errorf("org = %+v birthday = %q", c.Org, c.Birthday)
			}
			if len(c.URLs) != 1 || c.URLs[0] != (ContactURL{URL: "https://example.com", Type: "WORK"}) {
				t.Errorf("urls = %+v", c.URLs)
			}
		}},
		{"button_reply", msg("interactive", `,"context":{"from":"15550783881","id":"wamid.ctx"},"interactive":{"type":"button_reply","button_reply":{"id":"cancel-button","title":"Cancel"}}`), func(t *testing.T, m *Message) {
			in := m.Interactive
			if in == nil || in.Type != "button_reply" || in.ButtonReply == nil || *in.ButtonReply != (ReplyOption{ID: "cancel-button", Title: "Cancel"}) || in.ListReply != nil {
				t.Errorf("interactive = %+v", in)
			}
			if m.Context == nil || m.Context.ID != "wamid.ctx" || m.Context.From != "15550783881" {
				t.Errorf("context = %+v", m.Context)
			}
		}},
		{"list_reply", msg("interactive", `,"interactive":{"type":"list_reply","list_reply":{"id":"priority_express","title":"Priority","description":"Next Day"}}`), func(t *testing.T, m *Message) {
			in := m.Interactive
			if in == nil || in.ListReply == nil || *in.ListReply != (ReplyOption{ID: "priority_express", Title: "Priority", Description: "Next Day"}) {
				t.Errorf("interactive = %+v", in)
			}
		}},
		{"nfm_reply", msg("interactive", `,"interactive":{"type":"nfm_reply","nfm_reply":{"response_json":"{\"flow_token\":\"AQA.\",\"rating\":\"4\"}","body":"Sent","name":"flow"}}`), func(t *testing.T, m *Message) {
			in := m.Interactive
			if in == nil || in.NFMReply == nil || in.NFMReply.Name != "flow" || in.NFMReply.Body != "Sent" {
				t.Fatalf("interactive = %+v", in)
			}
			var resp map[string]string
			if err := json.Unmarshal([]byte(in.NFMReply.ResponseJSON), &resp); err != nil || resp["flow_token"] != "AQA." {
				t.Errorf("response_json = %q (%v)", in.NFMReply.ResponseJSON, err)
			}
		}},
		{"button", msg("button", `,"context":{"from":"15550783881","id":"wamid.tpl"},"button":{"payload":"Unsubscribe","text":"Stop"}`), func(t *testing.T, m *Message) {
			if m.Button == nil || *m.Button != (Button{Payload: "Unsubscribe", Text: "Stop"}) {
				t.Errorf("button = %+v", m.Button)
			}
		}},
		{"reaction", msg("reaction", `,"reaction":{"message_id":"wamid.orig","emoji":"\ud83d\ude2e"}`), func(t *testing.T, m *Message) {
			if m.Reaction == nil || m.Reaction.MessageID != "wamid.orig" || m.Reaction.Emoji != "😮" || m.Reaction.Removed() {
				t.Errorf("reaction = %+v", m.Reaction)
			}
		}},
		{"reaction removed (empty emoji)", msg("reaction", `,"reaction":{"message_id":"wamid.orig","emoji":""}`), func(t *testing.T, m *Message) {
			if m.Reaction == nil || m.Reaction.MessageID != "wamid.orig" || !m.Reaction.Removed() {
				t.Errorf("reaction = %+v", m.Reaction)
			}
		}},
		{"reaction removed (no emoji)", msg("reaction", `,"reaction":{"message_id":"wamid.orig"}`), func(t *testing.T, m *Message) {
			if m.Reaction == nil || !m.Reaction.Removed() {
				t.Errorf("reaction = %+v", m.Reaction)
			}
		}},
		{"order", msg("order", `,"order":{"catalog_id":"194836987003835","text":"pls","product_items":[{"product_retailer_id":"di9","quantity":2,"item_price":30.5,"currency":"USD"},{"product_retailer_id":"nqr","quantity":"3","item_price":"25","currency":"EUR"}]}`), func(t *testing.T, m *Message) {
			o := m.Order
			if o == nil || o.CatalogID != "194836987003835" || o.Text != "pls" || len(o.ProductItems) != 2 {
				t.Fatalf("order = %+v", o)
			}
			if o.ProductItems[0] != (ProductItem{ProductRetailerID: "di9", Quantity: 2, ItemPrice: 30.5, Currency: "USD"}) ||
				o.ProductItems[1] != (ProductItem{ProductRetailerID: "nqr", Quantity: 3, ItemPrice: 25, Currency: "EUR"}) {
				t.Errorf("items = %+v", o.ProductItems)
			}
		}},
		{"unsupported", msg("unsupported", `,"errors":[{"code":131051,"title":"Message type unknown","message":"Message type unknown","error_data":{"details":"Message type is currently not supported."}}],"unsupported":{"type":"poll_creation"}`), func(t *testing.T, m *Message) {
			if m.Unsupported == nil || m.Unsupported.Type != "poll_creation" {
				t.Errorf("unsupported = %+v", m.Unsupported)
			}
			if len(m.Errors) != 1 || m.Errors[0] != (Error{Code: 131051, Title: "Message type unknown", Message: "Message type unknown", Details: "Message type is currently not supported."}) {
				t.Errorf("errors = %+v", m.Errors)
			}
		}},
		{"unknown (legacy)", msg("unknown", `,"errors":[{"code":"131051","title":"Unsupported message type"}]`), func(t *testing.T, m *Message) {
			if m.Type != TypeUnknown || len(m.Errors) != 1 || m.Errors[0].Code != 131051 {
				t.Errorf("message = %+v", m)
			}
		}},
		{"revoke", msg("revoke", `,"revoke":{"original_message_id":"wamid.gone"}`), func(t *testing.T, m *Message) {
			if m.Revoke == nil || m.Revoke.OriginalMessageID != "wamid.gone" {
				t.Errorf("revoke = %+v", m.Revoke)
			}
		}},
		{"edit text", msg("edit", `,"edit":{"original_message_id":"wamid.zz","message":{"type":"text","text":{"body":"Text was edited"}}}`), func(t *testing.T, m *Message) {
			e := m.Edit
			if e == nil || e.OriginalMessageID != "wamid.zz" || e.Message == nil || e.Message.Type != TypeText ||
				e.Message.Text == nil || e.Message.Text.Body != "Text was edited" {
				t.Errorf("edit = %+v", e)
			}
		}},
		{"edit caption", msg("edit", `,"edit":{"original_message_id":"wamid.zz","message":{"type":"image","image":{"caption":"new","id":"65"}}}`), func(t *testing.T, m *Message) {
			e := m.Edit
			if e == nil || e.Message == nil || e.Message.Image == nil || e.Message.Image.Caption != "new" {
				t.Errorf("edit = %+v", e)
			}
		}},
		{"referral", msg("text", `,"text":{"body":"info?"},"referral":{"source_url":"https://fb.me/x","source_id":"1202","source_type":"ad","body":"Summer","headline":"Chat","media_type":"video","video_url":"https://v","thumbnail_url":"https://t","image_url":"https://i","ctwa_clid":"Aff","welcome_message":{"text":"Hi there"}}`), func(t *testing.T, m *Message) {
			want := Referral{SourceURL: "https://fb.me/x", SourceID: "1202", SourceType: "ad", Body: "Summer", Headline: "Chat", MediaType: "video",
				ImageURL: "https://i", VideoURL: "https://v", ThumbnailURL: "https://t", CtwaClid: "Aff", WelcomeMessage: "Hi there"}
			if m.Referral == nil || *m.Referral != want {
				t.Errorf("referral = %+v", m.Referral)
			}
		}},
		{"product enquiry", msg("text", `,"text":{"body":"available?"},"context":{"from":"15550783881","id":"wamid.p","referred_product":{"catalog_id":"1948","product_retailer_id":"di9"}}`), func(t *testing.T, m *Message) {
			if m.Context == nil || m.Context.ReferredProduct == nil || *m.Context.ReferredProduct != (ReferredProduct{CatalogID: "1948", ProductRetailerID: "di9"}) {
				t.Errorf("context = %+v", m.Context)
			}
		}},
		{"identity changed", msg("system", `,"identity":{"acknowledged":true,"created_timestamp":"1697044706","hash":"xyz"},"system":{"body":"User identity changed","type":"customer_identity_changed","customer":"16505551234"}`), func(t *testing.T, m *Message) {
			if m.System == nil || m.System.Type != "customer_identity_changed" || m.System.Customer != testWAID {
				t.Errorf("system = %+v", m.System)
			}
			if m.Identity == nil || !m.Identity.Acknowledged || m.Identity.Hash != "xyz" || m.Identity.CreatedTimestamp.Unix() != 1697044706 {
				t.Errorf("identity = %+v", m.Identity)
			}
		}},
		{"unknown type and fields", msg("call_log", `,"call_log":{"duration":12,"nested":{"a":[1,2]}},"brand_new_field":{"x":true}`), func(t *testing.T, m *Message) {
			if m.Type != "call_log" || m.Text != nil {
				t.Errorf("message = %+v", m)
			}
		}},
		{"unknown fields in a known type", msg("text", `,"text":{"body":"b","future":1},"from_logical_id":"95000398405635"`), func(t *testing.T, m *Message) {
			if m.Text == nil || m.Text.Body != "b" {
				t.Errorf("text = %+v", m.Text)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.check(t, inboundMessage(t, tc.item))
		})
	}
}

func TestParseSystemMessages(t *testing.T) {
	// user_changed_number: no contacts block; ContactKey is the old number.
	ev := oneEvent(t, notification(messagesChange(messagesValue("", "messages",
		`{"from":"16505551234","id":"wamid.sys1","timestamp":"1750269342","system":{"body":"User A changed from 16505551234 to 12195555358","wa_id":"12195555358","type":"user_changed_number"},"type":"system"}`))))
	if ev.Kind != KindMessage || ev.ContactKey != testWAID || ev.Message.Contact != nil {
		t.Fatalf("event = %+v", ev)
	}
	if s := ev.Message.System; s == nil || s.Type != "user_changed_number" || s.WAID != "12195555358" {
		t.Fatalf("system = %+v", s)
	}

	// user_changed_user_id: neither from nor contacts; ContactKey is the
	// previous BSUID, which is the one the contact is stored under.
	ev = oneEvent(t, notification(messagesChange(messagesValue("", "messages",
		`{"id":"wamid.sys2","timestamp":"1753851315","system":{"body":"User changed from CO.1 to MX.2","user_id":"MX.2","previous_user_id":"CO.1","type":"user_changed_user_id"},"type":"system"}`))))
	if ev.ContactKey != "CO.1" || ev.UserID != "CO.1" || ev.WAID != "" {
		t.Fatalf("event = %+v", ev)
	}
	if s := ev.Message.System; s.UserID != "MX.2" || s.PreviousUserID != "CO.1" {
		t.Fatalf("system = %+v", s)
	}
}

func TestParseBSUID(t *testing.T) {
	tests := []struct {
		name                          string
		contacts, item                string
		wantKey, wantWAID, wantUserID string
		wantContact                   *Contact
	}{
		{
			name:     "BSUID only, no from and no wa_id",
			contacts: `[{"profile":{"name":"Ana","username":"ana.b"},"user_id":"US.13491208655302741918","parent_user_id":"US.ENT.11815799212886844830"}]`,
			item:     `{"from_user_id":"US.13491208655302741918","id":"wamid.b1","timestamp":"1779372805","type":"text","text":{"body":"Hey"}}`,
			wantKey:  testBSUID, wantUserID: testBSUID,
			wantContact: &Contact{Name: "Ana", Username: "ana.b", UserID: testBSUID, ParentUserID: testParentUID},
		},
		{
			name:    "BSUID in message, no contacts",
			item:    `{"from_user_id":"US.13491208655302741918","id":"wamid.b2","timestamp":"1779372805","type":"text","text":{"body":"Hey"}}`,
			wantKey: testBSUID, wantUserID: testBSUID,
		},
		{
			name:     "phone and BSUID everywhere",
			contacts: `[{"profile":{"name":"Krish"},"wa_id":"919810218674","user_id":"IN.1410018717833190","country_code":"IN","identity_key_hash":"ikh"}]`,
			item:     `{"from":"919810218674","from_user_id":"IN.1410018717833190","id":"wamid.b3","timestamp":"1779372805","text":{"body":"Hey"},"from_logical_id":"95000398405635","type":"text"}`,
			wantKey:  "IN.1410018717833190", wantWAID: "919810218674", wantUserID: "IN.1410018717833190",
			wantContact: &Contact{Name: "Krish", WAID: "919810218674", UserID: "IN.1410018717833190", CountryCode: "IN", IdentityKeyHash: "ikh"},
		},
		{
			name:     "BSUID only in contacts",
			contacts: `[{"profile":{"name":"Test"},"wa_id":"972987654321","user_id":"US.13491208655302741918","parent_user_id":"US.ENT.11815799212886844830"}]`,
			item:     `{"from":"972987654321","id":"wamid.b4","timestamp":"1697043223","type":"revoke","revoke":{"original_message_id":"wamid.o"}}`,
			wantKey:  testBSUID, wantWAID: "972987654321", wantUserID: testBSUID,
			wantContact: &Contact{Name: "Test", WAID: "972987654321", UserID: testBSUID, ParentUserID: testParentUID},
		},
		{
			name:     "matching contact among several",
			contacts: `[{"profile":{"name":"A"},"wa_id":"111"},{"profile":{"name":"B"},"wa_id":"222","user_id":"BR.2"}]`,
			item:     `{"from":"222","id":"wamid.b5","timestamp":"1","type":"text","text":{"body":"x"}}`,
			wantKey:  "BR.2", wantWAID: "222", wantUserID: "BR.2",
			wantContact: &Contact{Name: "B", WAID: "222", UserID: "BR.2"},
		},
		{
			name:     "only contact names someone else",
			contacts: `[{"profile":{"name":"A"},"wa_id":"111","user_id":"BR.1"}]`,
			item:     `{"from":"222","id":"wamid.b6","timestamp":"1","type":"text","text":{"body":"x"}}`,
			wantKey:  "222", wantWAID: "222",
		},
		{
			name:     "numeric ids",
			contacts: `[{"profile":{"name":"N"},"wa_id":16505551234}]`,
			item:     `{"from":16505551234,"id":"wamid.b7","timestamp":1749416383,"type":"text","text":{"body":"x"}}`,
			wantKey:  testWAID, wantWAID: testWAID,
			wantContact: &Contact{Name: "N", WAID: testWAID},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev := oneEvent(t, notification(messagesChange(messagesValue(tc.contacts, "messages", tc.item))))
			if ev.Kind != KindMessage || ev.ContactKey != tc.wantKey || ev.WAID != tc.wantWAID || ev.UserID != tc.wantUserID {
				t.Fatalf("kind=%q key=%q waid=%q userid=%q; want key=%q waid=%q userid=%q",
					ev.Kind, ev.ContactKey, ev.WAID, ev.UserID, tc.wantKey, tc.wantWAID, tc.wantUserID)
			}
			got := ev.Message.Contact
			if (got == nil) != (tc.wantContact == nil) || (got != nil && *got != *tc.wantContact) {
				t.Fatalf("contact = %+v, want %+v", got, tc.wantContact)
			}
			if ev.Timestamp.IsZero() || ev.Key != ev.Message.ID {
				t.Fatalf("timestamp=%v key=%q", ev.Timestamp, ev.Key)
			}
		})
	}
}

func TestParseStatuses(t *testing.T) {
	tests := []struct {
		name                    string
		item                    string
		wantKey, wantContactKey string
		wantWAID, wantUserID    string
		check                   func(t *testing.T, s *Status)
	}{
		{
			name:    "BSUID only",
			item:    `{"id":"wamid.s1","status":"delivered","timestamp":"1750030073","recipient_user_id":"US.13491208655302741918"}`,
			wantKey: "wamid.s1/delivered", wantContactKey: testBSUID, wantUserID: testBSUID,
		},
		{
			name:    "phone and BSUID",
			item:    `{"id":"wamid.s2","status":"read","timestamp":1750030073,"recipient_id":"16505551234","recipient_user_id":"US.13491208655302741918","recipient_parent_user_id":"US.ENT.1","biz_opaque_callback_data":"ticket-42"}`,
			wantKey: "wamid.s2/read", wantContactKey: testBSUID, wantWAID: testWAID, wantUserID: testBSUID,
			check: func(t *testing.T, s *Status) {
				if s.BizOpaqueCallbackData != "ticket-42" || s.RecipientParentUserID != "US.ENT.1" || s.Timestamp.Unix() != 1750030073 {
					t.Errorf("status = %+v", s)
				}
			},
		},
		{
			name: "group with participant",
			item: `{"id":"wamid.s3","status":"played","timestamp":"1","recipient_id":"Y2FwaV9ncm91cDo","recipient_type":"group","recipient_participant_id":"16505551234",` +
				`"recipient_participant_user_id":"US.9","recipient_participant_parent_user_id":"US.ENT.9","recipient_identity_key_hash":"h"}`,
			wantKey: "wamid.s3/played", wantContactKey: "Y2FwaV9ncm91cDo", wantWAID: "Y2FwaV9ncm91cDo",
			check: func(t *testing.T, s *Status) {
				if s.RecipientType != "group" || s.RecipientParticipantID != testWAID || s.RecipientParticipantUserID != "US.9" ||
					s.RecipientParticipantParentUserID != "US.ENT.9" || s.RecipientIdentityKeyHash != "h" {
					t.Errorf("status = %+v", s)
				}
			},
		},
		{
			name:    "failed with errors",
			item:    `{"id":"wamid.s4","status":"failed","timestamp":"1689380458","recipient_id":"16505551234","errors":[{"code":130472,"title":"User's number is part of an experiment","message":"m","error_data":{"details":"d"},"href":"https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"}]}`,
			wantKey: "wamid.s4/failed", wantContactKey: testWAID, wantWAID: testWAID,
			check: func(t *testing.T, s *Status) {
				want := Error{Code: 130472, Title: "User's number is part of an experiment", Message: "m", Details: "d", Href: "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"}
				if len(s.Errors) != 1 || s.Errors[0] != want {
					t.Errorf("errors = %+v", s.Errors)
				}
			},
		},
		{
			name:    "sent with conversation and pricing",
			item:    `{"id":"wamid.s5","status":"sent","timestamp":"1698266945","recipient_id":"972987654321","conversation":{"id":"7270","expiration_timestamp":"1698339900","origin":{"type":"service"}},"pricing":{"billable":true,"pricing_model":"CBP","category":"service","type":"regular"}}`,
			wantKey: "wamid.s5/sent", wantContactKey: "972987654321", wantWAID: "972987654321",
			check: func(t *testing.T, s *Status) {
				if c := s.Conversation; c == nil || c.ID != "7270" || c.OriginType != "service" || c.ExpirationTimestamp.Unix() != 1698339900 {
					t.Errorf("conversation = %+v", c)
				}
				if p := s.Pricing; p == nil || *p != (Pricing{Billable: true, PricingModel: "CBP", Type: "regular", Category: "service"}) {
					t.Errorf("pricing = %+v", p)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev := oneEvent(t, notification(messagesChange(messagesValue("", "statuses", tc.item))))
			if ev.Kind != KindStatus || ev.Status == nil {
				t.Fatalf("event = %+v", ev)
			}
			if ev.Key != tc.wantKey || ev.ContactKey != tc.wantContactKey || ev.WAID != tc.wantWAID || ev.UserID != tc.wantUserID {
				t.Fatalf("key=%q contact=%q waid=%q userid=%q", ev.Key, ev.ContactKey, ev.WAID, ev.UserID)
			}
			if !bytes.Equal(ev.Raw, []byte(tc.item)) || ev.PhoneNumberID != testPhoneID {
				t.Fatalf("raw=%s phone=%q", ev.Raw, ev.PhoneNumberID)
			}
			if tc.check != nil {
				tc.check(t, ev.Status)
			}
		})
	}
}
