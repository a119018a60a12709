package whatsapp

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// withCustomer opens the test customer's service window on testPN.
func withCustomer(t *testing.T, b *testBundle) string {
	t.Helper()
	return b.inbound(t, InboundParams{From: customer, Name: "Ana", Text: "hola"})
}

func TestSendValidation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	inboundID := withCustomer(t, b)
	long := strings.Repeat("a", 4097)
	btn := func(id, title string) map[string]any {
		return map[string]any{"type": "reply", "reply": map[string]any{"id": id, "title": title}}
	}
	interactive := func(action map[string]any, typ string) map[string]any {
		return map[string]any{"messaging_product": "whatsapp", "to": customer, "type": "interactive",
			"interactive": map[string]any{"type": typ, "body": map[string]any{"text": "Pick one"}, "action": action}}
	}
	rowSeq := 0
	rows := func(n int) []any {
		var out []any
		for range n {
			rowSeq++
			out = append(out, map[string]any{"id": "r" + strconv.Itoa(rowSeq), "title": "Row"})
		}
		return out
	}
	tests := []struct {
		name     string
		body     any
		wantCode int
		wantText string
	}{
		{"not json", "nope", 100, "JSON object"},
		{"missing messaging_product", map[string]any{"to": customer, "text": map[string]any{"body": "x"}}, 131008, "messaging_product is required"},
		{"wrong messaging_product", map[string]any{"messaging_product": "sms", "to": customer}, 100, "messaging_product"},
		{"unknown type", map[string]any{"messaging_product": "whatsapp", "to": customer, "type": "poll"}, 100, "unsupported message type"},
		{"to wrong JSON type", map[string]any{"messaging_product": "whatsapp", "to": 34600111222, "type": "text"}, 100, "to: expected string"},
		{"missing to", map[string]any{"messaging_product": "whatsapp", "type": "text", "text": map[string]any{"body": "x"}}, 131008, "to is required"},
		{"invalid to", text("+34abc", "x"), 131009, "not a valid phone number"},
		{"missing text object", map[string]any{"messaging_product": "whatsapp", "to": customer, "type": "text"}, 131008, "text object is required"},
		{"empty text body", text(customer, ""), 131008, "text.body is required"},
		{"text body too long", text(customer, long), 131009, "longer than 4096"},
		{"bad recipient_type", map[string]any{"messaging_product": "whatsapp", "recipient_type": "broadcast", "to": customer, "text": map[string]any{"body": "x"}}, 100, "recipient_type"},
		{"media without id or link", map[string]any{"messaging_product": "whatsapp", "to": customer, "type": "image", "image": map[string]any{"caption": "c"}}, 131008, "one of id or link"},
		{"media with id and link", map[string]any{"messaging_product": "whatsapp", "to": customer, "type": "image", "image": map[string]any{"id": "1", "link": "https://x.test/a.jpg"}}, 131009, "only one of id and link"},
		{"media unknown id", map[string]any{"messaging_product": "whatsapp", "to": customer, "type": "document", "document": map[string]any{"id": "12345"}}, 131009, "document.id: media 12345 does not exist"},
		{"media bad link", map[string]any{"messaging_product": "whatsapp", "to": customer, "type": "video", "video": map[string]any{"link": "ftp://x.test/a.mp4"}}, 131009, "not an http(s) URL"},
		{"buttons: none", interactive(map[string]any{"buttons": []any{}}, "button"), 131009, "1 to 3 buttons"},
		{"buttons: four", interactive(map[string]any{"buttons": []any{btn("a", "A"), btn("b", "B"), btn("c", "C"), btn("d", "D")}}, "button"), 131009, "1 to 3 buttons"},
		{"buttons: long title", interactive(map[string]any{"buttons": []any{btn("a", strings.Repeat("t", 21))}}, "button"), 131009, "longer than 20"},
		{"buttons: duplicate title", interactive(map[string]any{"buttons": []any{btn("a", "Same"), btn("b", "Same")}}, "button"), 131009, "not unique"},
		{"buttons: long id", interactive(map[string]any{"buttons": []any{btn(strings.Repeat("i", 257), "A")}}, "button"), 131009, "reply.id is longer than 256"},
		{"buttons: missing", interactive(map[string]any{}, "button"), 131008, "action.buttons is required"},
		{"list: long label", interactive(map[string]any{"button": strings.Repeat("l", 21), "sections": []any{map[string]any{"rows": rows(1)}}}, "list"), 131009, "action.button is longer than 20"},
		{"list: eleven rows", interactive(map[string]any{"button": "Choose", "sections": []any{map[string]any{"title": "A", "rows": rows(6)}, map[string]any{"title": "B", "rows": rows(5)}}}, "list"), 131009, "1 to 10 rows"},
		{"list: eleven sections", interactive(map[string]any{"button": "Choose", "sections": func() []any {
			var s []any
			for range 11 {
				s = append(s, map[string]any{"title": "S", "rows": rows(1)})
			}
			return s
		}()}, "list"), 131009, "1 to 10 sections"},
		{"interactive unknown type", interactive(map[string]any{}, "carousel"), 100, "interactive.type"},
		{"reaction without message_id", map[string]any{"messaging_product": "whatsapp", "to": customer, "type": "reaction", "reaction": map[string]any{"emoji": "👍"}}, 131008, "reaction.message_id is required"},
		{"location without longitude", map[string]any{"messaging_product": "whatsapp", "to": customer, "type": "location", "location": map[string]any{"latitude": 40.4}}, 131008, "location.longitude is required"},
		{"contacts without name", map[string]any{"messaging_product": "whatsapp", "to": customer, "type": "contacts", "contacts": []any{map[string]any{}}}, 131008, "formatted_name is required"},
		{"template to a BSUID", map[string]any{"messaging_product": "whatsapp", "recipient": "US.13491208655302741918", "type": "template", "template": map[string]any{"name": "reengage"}}, 131062, "phone number"},
		{"mark read: unknown message", map[string]any{"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.nope"}, 100, "message_id"},
		{"mark read: missing id", map[string]any{"messaging_product": "whatsapp", "status": "read"}, 131008, "message_id is required"},
		{"mark read: wrong status", map[string]any{"messaging_product": "whatsapp", "status": "delivered", "message_id": inboundID}, 100, "status must be"},
		{"mark read: bad typing", map[string]any{"messaging_product": "whatsapp", "status": "read", "message_id": inboundID, "typing_indicator": map[string]any{"type": "audio"}}, 131009, "typing_indicator.type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			status, body := b.send(t, tc.body)
			wantError(t, status, body, http.StatusBadRequest, tc.wantCode, tc.wantText)
		})
	}
	if got := b.fake.Outbound(""); len(got) != 0 {
		t.Errorf("rejected sends were recorded: %v", got)
	}
}

func TestSendAccepted(t *testing.T) {
	t.Parallel()
	b := setup(t)
	inboundID := withCustomer(t, b)
	b.inbound(t, InboundParams{From: "+15551234567", Text: "hi"})
	b.inbound(t, InboundParams{From: "+447700900123", UserID: "GB.99887766554433", Text: "hi"})
	b.inbound(t, InboundParams{UserID: "US.13491208655302741918", Text: "username user"})
	media := uploadMedia(t, b, "image/jpeg", "a.jpg", jpegBytes)
	tests := []struct {
		name      string
		body      map[string]any
		wantInput string
		wantWAID  string
		wantUser  string
		wantTo    string
	}{
		{"text with plus", text(customer, "Hello Ana"), customer, "34600111222", "", customer},
		{"text formatted", text("+34 600-111-222", "Hello"), "+34 600-111-222", "34600111222", "", customer},
		{"to without plus gets the business country code", text("5551234567", "Hi"), "5551234567", "15551234567", "", "+15551234567"},
		{"to without plus already with the code", text("15551234567", "Hi"), "15551234567", "15551234567", "", "+15551234567"},
		{"type defaults to text", map[string]any{"messaging_product": "whatsapp", "to": customer, "text": map[string]any{"body": "x"}}, customer, "34600111222", "", customer},
		{"reply with context", func() map[string]any {
			m := text(customer, "Re")
			m["context"] = map[string]any{"message_id": inboundID}
			return m
		}(), customer, "34600111222", "", customer},
		{"image by id", map[string]any{"messaging_product": "whatsapp", "to": customer, "type": "image", "image": map[string]any{"id": media, "caption": "c"}}, customer, "34600111222", "", customer},
		{"document by link", map[string]any{"messaging_product": "whatsapp", "to": customer, "type": "document", "document": map[string]any{"link": "https://x.test/a.pdf", "filename": "a.pdf"}}, customer, "34600111222", "", customer},
		{"sticker by link", map[string]any{"messaging_product": "whatsapp", "to": customer, "type": "sticker", "sticker": map[string]any{"link": "https://x.test/s.webp"}}, customer, "34600111222", "", customer},
		{"reply buttons", map[string]any{"messaging_product": "whatsapp", "to": customer, "type": "interactive", "interactive": map[string]any{
			"type": "button", "body": map[string]any{"text": "Pick"},
			"action": map[string]any{"buttons": []any{
				map[string]any{"type": "reply", "reply": map[string]any{"id": "yes", "title": "Yes"}},
				map[string]any{"type": "reply", "reply": map[string]any{"id": "no", "title": "No"}},
			}}}}, customer, "34600111222", "", customer},
		{"list", map[string]any{"messaging_product": "whatsapp", "to": customer, "type": "interactive", "interactive": map[string]any{
			"type": "list", "body": map[string]any{"text": "Pick"}, "footer": map[string]any{"text": "f"},
			"action": map[string]any{"button": "Options", "sections": []any{
				map[string]any{"title": "A", "rows": []any{map[string]any{"id": "a1", "title": "One", "description": "d"}}},
				map[string]any{"title": "B", "rows": []any{map[string]any{"id": "b1", "title": "Two"}}},
			}}}}, customer, "34600111222", "", customer},
		{"reaction", map[string]any{"messaging_product": "whatsapp", "to": customer, "type": "reaction", "reaction": map[string]any{"message_id": inboundID, "emoji": "👍"}}, customer, "34600111222", "", customer},
		{"location with string coordinates", map[string]any{"messaging_product": "whatsapp", "to": customer, "type": "location", "location": map[string]any{"latitude": "40.41", "longitude": "-3.70", "name": "Sol"}}, customer, "34600111222", "", customer},
		{"contacts", map[string]any{"messaging_product": "whatsapp", "to": customer, "type": "contacts", "contacts": []any{map[string]any{"name": map[string]any{"formatted_name": "Bob"}}}}, customer, "34600111222", "", customer},
		{"recipient BSUID with a known phone", map[string]any{"messaging_product": "whatsapp", "recipient": "GB.99887766554433", "type": "text", "text": map[string]any{"body": "x"}}, "GB.99887766554433", "447700900123", "GB.99887766554433", "+447700900123"},
		{"recipient BSUID only", map[string]any{"messaging_product": "whatsapp", "recipient": "US.13491208655302741918", "type": "text", "text": map[string]any{"body": "x"}}, "US.13491208655302741918", "", "US.13491208655302741918", "US.13491208655302741918"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.body["biz_opaque_callback_data"] = "case:" + tc.name
			status, body := b.send(t, tc.body)
			if status != http.StatusOK {
				t.Fatalf("status %d: %v", status, body)
			}
			if body["messaging_product"] != "whatsapp" {
				t.Errorf("messaging_product = %v", body["messaging_product"])
			}
			if got := str(body, "contacts", 0, "input"); got != tc.wantInput {
				t.Errorf("contacts[0].input = %q, want %q", got, tc.wantInput)
			}
			if got := str(body, "contacts", 0, "wa_id"); got != tc.wantWAID {
				t.Errorf("contacts[0].wa_id = %q, want %q", got, tc.wantWAID)
			}
			if got := str(body, "contacts", 0, "user_id"); got != tc.wantUser {
				t.Errorf("contacts[0].user_id = %q, want %q", got, tc.wantUser)
			}
			id := str(body, "messages", 0, "id")
			if !strings.HasPrefix(id, "wamid.") {
				t.Fatalf("messages[0].id = %q", id)
			}
			var rec *OutboundMessage
			for _, m := range b.fake.Outbound(tc.wantTo) {
				if m.ID == id {
					rec = &m
				}
			}
			if rec == nil {
				t.Fatalf("Outbound(%q) has no %s", tc.wantTo, id)
			}
			var sent map[string]any
			if err := json.Unmarshal(rec.Request, &sent); err != nil || sent["biz_opaque_callback_data"] != "case:"+tc.name {
				t.Errorf("recorded request = %s (%v)", rec.Request, err)
			}
			if rec.BizOpaqueCallbackData != "case:"+tc.name || rec.Time != testBase {
				t.Errorf("record = %+v", rec)
			}
		})
	}
}

func TestServiceWindow(t *testing.T) {
	t.Parallel()
	b := setup(t)
	status, body := b.send(t, text(customer, "first contact"))
	wantError(t, status, body, 400, 131047, "more than 24 hours have passed since the customer last replied")
	if e := body["error"].(map[string]any); e["message"] != "(#131047) Re-engagement message" {
		t.Errorf("message = %v", e["message"])
	}

	b.inbound(t, InboundParams{From: customer, Text: "hi", Timestamp: testBase.Add(-23 * time.Hour).Unix()})
	if status, body := b.send(t, text(customer, "inside")); status != 200 {
		t.Fatalf("inside the window: %d %v", status, body)
	}
	b.fake.AdvanceClock(90 * time.Minute)
	status, body = b.send(t, text(customer, "outside"))
	wantError(t, status, body, 400, 131047, "24 hours")
	status, body = b.send(t, map[string]any{"messaging_product": "whatsapp", "to": customer, "type": "template",
		"template": map[string]any{"name": "reengage", "language": map[string]any{"code": "en_US"},
			"components": []any{map[string]any{"type": "body", "parameters": []any{map[string]any{"type": "text", "text": "Ana"}}}}}})
	if status != 200 || str(body, "messages", 0, "message_status") != "accepted" {
		t.Fatalf("template outside the window: %d %v", status, body)
	}
	// The window is per business number.
	b.inbound(t, InboundParams{PhoneNumberID: testPN2, From: customer, Text: "hola"})
	status, body = b.do(t, http.MethodPost, "/"+testVersion+"/"+testPN+"/messages", text(customer, "still closed"))
	wantError(t, status, body, 400, 131047, "24 hours")
	if status, body := b.do(t, http.MethodPost, "/"+testVersion+"/"+testPN2+"/messages", text(customer, "open")); status != 200 {
		t.Fatalf("other number: %d %v", status, body)
	}
}

func TestMarkRead(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id := withCustomer(t, b)
	for _, typing := range []bool{false, true} {
		req := map[string]any{"messaging_product": "whatsapp", "status": "read", "message_id": id}
		if typing {
			req["typing_indicator"] = map[string]any{"type": "text"}
		}
		status, body := b.send(t, req)
		if status != 200 || body["success"] != true {
			t.Fatalf("mark read: %d %v", status, body)
		}
	}
	marks := b.fake.ReadMarks(customer)
	if len(marks) != 2 || marks[0].MessageID != id || marks[0].TypingIndicator != "" || marks[1].TypingIndicator != "text" ||
		marks[0].From != customer || marks[0].PhoneNumberID != testPN {
		t.Fatalf("read marks = %+v", marks)
	}
	// A message received by another number cannot be marked through this one.
	other := b.inbound(t, InboundParams{PhoneNumberID: testPN2, From: customer, Text: "x"})
	status, body := b.send(t, map[string]any{"messaging_product": "whatsapp", "status": "read", "message_id": other})
	wantError(t, status, body, 400, 100, "not a message received by this phone number")
}

func TestThroughputAndPairRate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	withCustomer(t, b)
	b.inbound(t, InboundParams{From: "+34600999888", Text: "hi"})
	if _, err := b.fake.SetLimits(Limits{PhoneNumberID: testPN, ThroughputMPS: 3, PairLimit: 2, PairWindow: 6 * time.Second}); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		advance  time.Duration
		to       string
		wantCode int // 0 = accepted
	}{
		{0, customer, 0},
		{0, customer, 0},
		{0, customer, 131056},       // third to the same customer inside 6 s
		{0, "+34600999888", 0},      // another recipient: third message this second
		{0, "+34600999888", 130429}, // fourth this second: throughput
		{time.Second, "+34600999888", 0},
		{time.Second, customer, 131056}, // 2 s after the pair burst
		{5 * time.Second, customer, 0},  // the window has moved on
	}
	for i, st := range steps {
		b.fake.AdvanceClock(st.advance)
		status, body := b.send(t, text(st.to, "x"))
		if st.wantCode == 0 {
			if status != 200 {
				t.Fatalf("step %d: %d %v", i, status, body)
			}
			continue
		}
		wantError(t, status, body, 400, st.wantCode, map[int]string{
			130429: "throughput has been reached", 131056: "same phone number"}[st.wantCode])
	}
}

func TestNormalizeTo(t *testing.T) {
	t.Parallel()
	tests := []struct {
		to, cc, want string
		ok           bool
	}{
		{"+34600111222", "1", "+34600111222", true},
		{"34600111222", "1", "+134600111222", true}, // Meta prepends the business country code
		{"600111222", "34", "+34600111222", true},
		{"34600111222", "34", "+34600111222", true},
		{"+1 (555) 078-3881", "34", "+15550783881", true},
		{"+34abc", "34", "", false},
		{"123", "34", "", false},
		{"+0034600111222", "34", "", false},
	}
	for _, tc := range tests {
		got, ok := normalizeTo(tc.to, tc.cc)
		if got != tc.want || ok != tc.ok {
			t.Errorf("normalizeTo(%q, %q) = %q, %v; want %q, %v", tc.to, tc.cc, got, ok, tc.want, tc.ok)
		}
	}
}
