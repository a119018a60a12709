package whatsapp

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/deskbridge/deskbridge/connectors"
)

// fullDateTime is the date_time parameter of Meta's template examples.
var fullDateTime = TemplateParam{Type: ParamDateTime, DateTime: &DateTime{FallbackValue: "February 25, 1977",
	DayOfWeek: 5, Year: 1977, Month: 2, DayOfMonth: 25, Hour: 15, Minute: 33, Calendar: "GREGORIAN"}}

// exampleBody is the body parameters of Meta's template examples.
var exampleBody = []TemplateParam{TextParam("text-string"), CurrencyParam("$100.99", "USD", 100990), fullDateTime}

// sendCase builds a message and names the Meta example it must equal.
type sendCase struct {
	name    string
	req     string            // request example (post_phone_number_id_messages__req__<req>.json)
	resp    string            // response example (…__resp200__<resp>.json)
	subst   map[string]string // placeholders of the example → the values the test sends
	add     map[string]any    // top-level keys the example omits but we always send
	build   func() *SendParams
	op      string
	wantRes SendResult
}

// exampleResult is the answer of most examples.
var exampleResult = SendResult{MessageID: "wamid.gBGGSFcCNEOPAgkO_KJ55r4w_ww", WAID: "48XXXXXXXXX", Input: "48XXXXXXXXX"}

// templateLang is how our template object spells the language of Meta's
// examples: their code is a placeholder, and we always send the policy,
// which the OpenAPI LanguageObject requires.
var templateLang = map[string]string{`"code": "language-and-locale-code"`: `"code": "en_US", "policy": "deterministic"`}

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{"{{Recipient-Phone-Number}}": testTo}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

var sendCases = []sendCase{
	{name: "text", req: "send_text_message", resp: "send_text_message", op: "send_text",
		build: func() *SendParams { return TextMessage(testTo, "text-message-content") }, wantRes: exampleResult},
	{name: "text with preview", req: "send_text_message_with_preview_url", resp: "send_text_message", op: "send_text",
		add: map[string]any{"type": "text", "recipient_type": "individual"},
		build: func() *SendParams {
			p := TextMessage("+1 (650) 555-1234", "Please visit https://youtu.be/hpltvTEiRrY.")
			p.Text.PreviewURL = true
			return p
		}, wantRes: exampleResult},
	{name: "reply to text", req: "send_reply_to_text_message", resp: "send_reply_to_text_message", op: "send_text",
		build: func() *SendParams {
			return TextMessage(testTo, "<TEXT_MSG_CONTENT>").WithReplyTo("<MSGID_OF_PREV_MSG>")
		}, wantRes: exampleResult},
	{name: "template text", req: "send_message_template_text", resp: "send_message_template_text", op: "send_template",
		subst: templateLang,
		build: func() *SendParams {
			return TemplateMessage(testTo, &TemplateParams{Name: "template-name", Language: "en-US", Body: exampleBody})
		}, wantRes: exampleResult},
	{name: "template media", req: "send_message_template_media", resp: "send_message_template_media", op: "send_template",
		subst: merge(templateLang, map[string]string{"http(s)://the-image-url": "https://example.com/header.jpg"}),
		build: func() *SendParams {
			return TemplateMessage(testTo, &TemplateParams{Name: "template-name", Language: "en_US",
				Header: new(ImageParam(MediaParams{Link: "https://example.com/header.jpg"})), Body: exampleBody})
		}, wantRes: exampleResult},
	{name: "template quick replies", req: "send_message_template_interactive", resp: "send_interactive_message_template",
		op:    "send_template",
		subst: merge(templateLang, map[string]string{"http(s)://the-image-url": "https://example.com/header.jpg"}),
		build: func() *SendParams {
			return TemplateMessage(testTo, &TemplateParams{Name: "template-name", Language: "en_US",
				Header: new(ImageParam(MediaParams{Link: "https://example.com/header.jpg"})), Body: exampleBody,
				Buttons: []ButtonParam{QuickReplyParam(0, "aGlzIHRoaXMgaXMgY29v"), QuickReplyParam(1, "9rwnB8RbYmPF5t2Mn09x4h")}})
		}},
	{name: "reply buttons", req: "send_reply_button", resp: "send_reply_button", op: "send_buttons",
		build: func() *SendParams {
			return ButtonsMessage(testTo, &ButtonsParams{Body: "<BUTTON_TEXT>", Buttons: []ReplyButton{
				{ID: "<UNIQUE_BUTTON_ID_1>", Title: "<BUTTON_TITLE_1>"}, {ID: "<UNIQUE_BUTTON_ID_2>", Title: "<BUTTON_TITLE_2>"}}})
		}, wantRes: SendResult{MessageID: "wamid.ID", WAID: "WHATSAPP_ID", Input: "PHONE_NUMBER"}},
	{name: "list", req: "send_list_message", resp: "send_list_message", op: "send_list",
		build: func() *SendParams {
			return ListMessage(testTo, &ListParams{Header: "<HEADER_TEXT>", Body: "<BODY_TEXT>", Footer: "<FOOTER_TEXT>",
				Button: "<BUTTON_TEXT>", Sections: []ListSection{
					{Title: "<LIST_SECTION_1_TITLE>", Rows: []ListRow{
						{ID: "<LIST_SECTION_1_ROW_1_ID>", Title: "<SECTION_1_ROW_1_TITLE>", Description: "<SECTION_1_ROW_1_DESC>"},
						{ID: "<LIST_SECTION_1_ROW_2_ID>", Title: "<SECTION_1_ROW_2_TITLE>", Description: "<SECTION_1_ROW_2_DESC>"}}},
					{Title: "<LIST_SECTION_2_TITLE>", Rows: []ListRow{
						{ID: "<LIST_SECTION_2_ROW_1_ID>", Title: "<SECTION_2_ROW_1_TITLE>", Description: "<SECTION_2_ROW_1_DESC>"},
						{ID: "<LIST_SECTION_2_ROW_2_ID>", Title: "<SECTION_2_ROW_2_TITLE>", Description: "<SECTION_2_ROW_2_DESC>"}}}}})
		}, wantRes: SendResult{MessageID: "wamid.ID", WAID: "<WHATSAPP_ID>", Input: "15555551234"}},
	{name: "reaction", req: "send_reply_with_reaction_message", resp: "send_reply_with_reaction_message", op: "send_reaction",
		build:   func() *SendParams { return ReactionMessage(testTo, "wamid.HBgLM...", "😀") },
		wantRes: SendResult{MessageID: "wamid.HBgLM...", WAID: "<WHATSAPP_ID>", Input: "<PHONE_NUMBER>"}},
	{name: "image by id", req: "send_image_message_by_id", resp: "send_image_message_by_id", op: "send_image",
		subst: map[string]string{"<IMAGE_OBJECT_ID>": "1003383421387256"},
		build: func() *SendParams { return ImageMessage(testTo, MediaParams{ID: "1003383421387256"}) }},
	{name: "image by url", req: "send_image_message_by_url", resp: "send_image_message_by_url", op: "send_image",
		subst: map[string]string{"http(s)://image-url": "https://example.com/a.jpg"},
		build: func() *SendParams { return ImageMessage(testTo, MediaParams{Link: "https://example.com/a.jpg"}) }},
	{name: "reply with image", req: "send_reply_to_image_message_by_id", resp: "send_reply_to_image_message_by_id",
		op: "send_image", subst: map[string]string{"<IMAGE_OBJECT_ID>": "1003383421387256"},
		build: func() *SendParams {
			return ImageMessage(testTo, MediaParams{ID: "1003383421387256"}).WithReplyTo("<MSGID_OF_PREV_MSG>")
		}},
	{name: "video by id", req: "send_video_message_by_id", resp: "send_video_message_by_id", op: "send_video",
		subst: map[string]string{"<VIDEO_OBJECT_ID>": "555"},
		build: func() *SendParams {
			return VideoMessage(testTo, MediaParams{ID: "555", Caption: "<VIDEO_CAPTION_TEXT>"})
		}},
	{name: "reply with video", req: "send_reply_to_video_message_by_id", resp: "send_reply_to_video_message_by_id",
		op: "send_video", subst: map[string]string{"<VIDEO_OBJECT_ID>": "555"},
		build: func() *SendParams {
			return VideoMessage(testTo, MediaParams{ID: "555", Caption: "<VIDEO_CAPTION_TEXT>"}).
				WithReplyTo("<MSGID_OF_MSG_YOU_ARE_REPLYING_TO>")
		}},
	{name: "audio by id", req: "send_audio_message_by_id", resp: "send_audio_message_by_id", op: "send_audio",
		subst: map[string]string{"<AUDIO_OBJECT_ID>": "777"},
		build: func() *SendParams { return AudioMessage(testTo, MediaParams{ID: "777"}) }},
	{name: "audio by url", req: "send_audio_message_by_url", resp: "send_audio_message_by_url", op: "send_audio",
		subst: map[string]string{"<http(s)://audio-url>": "https://example.com/a.ogg"},
		build: func() *SendParams { return AudioMessage(testTo, MediaParams{Link: "https://example.com/a.ogg"}) }},
	{name: "document by id", req: "send_document_message_by_id", resp: "send_document_message_by_id", op: "send_document",
		subst: map[string]string{"<DOCUMENT_OBJECT_ID>": "888"},
		build: func() *SendParams {
			return DocumentMessage(testTo, MediaParams{ID: "888", Caption: "<DOCUMENT_CAPTION_TO_SEND>",
				Filename: "<DOCUMENT_FILENAME>"})
		}},
	{name: "document by url", req: "send_document_message_by_url", resp: "send_document_message_by_url", op: "send_document",
		subst: map[string]string{"<http(s)://document-url>": "https://example.com/a.pdf"},
		build: func() *SendParams {
			return DocumentMessage(testTo, MediaParams{Link: "https://example.com/a.pdf", Caption: "<DOCUMENT-CAPTION-TEXT>"})
		}},
	{name: "sticker by id", req: "send_sticker_message_by_id", resp: "send_sticker_message_by_id", op: "send_sticker",
		subst: map[string]string{"<MEDIA_OBJECT_ID>": "999"},
		build: func() *SendParams { return StickerMessage(testTo, MediaParams{ID: "999"}) }},
	{name: "sticker by url", req: "send_sticker_message_by_url", resp: "send_sticker_message_by_url", op: "send_sticker",
		subst: map[string]string{"<http(s)://sticker-url>": "https://example.com/s.webp"},
		build: func() *SendParams { return StickerMessage(testTo, MediaParams{Link: "https://example.com/s.webp"}) }},
}

// TestSendMatchesMetaExamples builds each message with the builders and
// compares the request with Meta's example body (placeholders replaced by
// the values sent), then decodes Meta's example answer.
func TestSendMatchesMetaExamples(t *testing.T) {
	t.Parallel()
	for _, tc := range sendCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			want := string(example(t, "post_phone_number_id_messages__req__"+tc.req+".json"))
			for k, v := range merge(tc.subst) {
				want = strings.ReplaceAll(want, k, v)
			}
			if len(tc.add) > 0 {
				want = addKeys(t, want, tc.add)
			}
			resp := example(t, "post_phone_number_id_messages__resp200__"+tc.resp+".json")
			b := setup(t, nil)
			b.mock.RegisterResponder(http.MethodPost, apiPrefix+"/"+testPhoneID+"/messages", b.rec.respond(200, string(resp)))

			res, err := b.client.Send(t.Context(), tc.build())
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			r := b.rec.only(t)
			if r.Method != http.MethodPost || r.URL != apiPrefix+"/"+testPhoneID+"/messages" {
				t.Errorf("request line = %s %s", r.Method, r.URL)
			}
			if r.Header.Get("Authorization") != "Bearer tok-1" || r.Header.Get("Content-Type") != "application/json" {
				t.Errorf("headers = %v", r.Header)
			}
			jsonEqual(t, r.Body, []byte(want))
			if tc.wantRes.MessageID == "" {
				tc.wantRes = exampleResult
			}
			if *res != tc.wantRes {
				t.Errorf("result = %+v, want %+v", *res, tc.wantRes)
			}
			if ops := b.mock.GetCallCountInfo(); ops["POST "+apiPrefix+"/"+testPhoneID+"/messages"] != 1 {
				t.Errorf("calls = %v", ops)
			}
		})
	}
}

func TestSendOpNames(t *testing.T) {
	t.Parallel()
	for _, tc := range sendCases {
		if got := tc.build().op(); got != tc.op {
			t.Errorf("%s: op = %q, want %q", tc.name, got, tc.op)
		}
	}
}

func TestSendExtras(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		p    *SendParams
		want string
	}{
		{"callback data and bsuid", TextMessage("", "hi").WithRecipient(testBSUID).WithCallbackData("msg-42"),
			`{"messaging_product":"whatsapp","recipient_type":"individual","recipient":"` + testBSUID + `","type":"text",
			  "text":{"body":"hi","preview_url":false},"biz_opaque_callback_data":"msg-42"}`},
		{"named template with url button and document header", TemplateMessage("+34 600 111 222", &TemplateParams{
			Name: "order_update", Language: "es", Header: new(DocumentParam(MediaParams{ID: "42", Filename: "invoice.pdf"})),
			Body:    []TemplateParam{TextParam("Ana").Named("first_name"), DateTimeParam("1 May").Named("day")},
			Buttons: []ButtonParam{URLButtonParam(1, "order/42")}}),
			`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+34600111222","type":"template",
			  "template":{"name":"order_update","language":{"policy":"deterministic","code":"es"},"components":[
			    {"type":"header","parameters":[{"type":"document","document":{"id":"42","filename":"invoice.pdf"}}]},
			    {"type":"body","parameters":[{"type":"text","parameter_name":"first_name","text":"Ana"},
			      {"type":"date_time","parameter_name":"day","date_time":{"fallback_value":"1 May"}}]},
			    {"type":"button","sub_type":"url","index":"1","parameters":[{"type":"text","text":"order/42"}]}]}}`},
		{"buttons with image header and footer", ButtonsMessage(testTo, &ButtonsParams{
			Header: &InteractiveHeader{Image: &MediaParams{ID: "5"}}, Body: "Pick", Footer: "thanks",
			Buttons: []ReplyButton{{ID: "y", Title: "Yes"}}}),
			`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505551234","type":"interactive",
			  "interactive":{"type":"button","header":{"type":"image","image":{"id":"5"}},"body":{"text":"Pick"},
			  "footer":{"text":"thanks"},"action":{"buttons":[{"type":"reply","reply":{"id":"y","title":"Yes"}}]}}}`},
		{"remove reaction", ReactionMessage(testTo, "wamid.A", ""),
			`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505551234","type":"reaction",
			  "reaction":{"message_id":"wamid.A","emoji":""}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, nil)
			b.mock.RegisterResponder(http.MethodPost, apiPrefix+"/"+testPhoneID+"/messages",
				b.rec.respond(200, `{"messaging_product":"whatsapp","contacts":[{"input":"x","wa_id":"34600111222"}],
					"messages":[{"id":"wamid.NEW","message_status":"accepted"}]}`))
			res, err := b.client.Send(t.Context(), tc.p)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			jsonEqual(t, b.rec.only(t).Body, []byte(tc.want))
			if res.MessageID != "wamid.NEW" || res.MessageStatus != "accepted" || res.WAID != "34600111222" {
				t.Errorf("result = %+v", *res)
			}
		})
	}
}

func TestMarkRead(t *testing.T) {
	t.Parallel()
	const wamid = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUYzMjEzNDM2RTZGQ0MzMDJBRgA="
	for _, typing := range []bool{true, false} {
		t.Run(map[bool]string{true: "with typing", false: "read only"}[typing], func(t *testing.T) {
			t.Parallel()
			want := `{"messaging_product":"whatsapp","status":"read","message_id":"` + wamid + `"}`
			resp := `{"success":true}`
			if typing {
				want = string(example(t, "post_phone_number_id_messages__req__send_typing_indicator_and_read_receipt.json"))
				resp = string(example(t, "post_phone_number_id_messages__resp200__send_typing_indicator_and_read_receipt.json"))
			}
			b := setup(t, nil)
			b.mock.RegisterResponder(http.MethodPost, apiPrefix+"/"+testPhoneID+"/messages", b.rec.respond(200, resp))
			if err := b.client.MarkRead(t.Context(), wamid, typing); err != nil {
				t.Fatal(err)
			}
			jsonEqual(t, b.rec.only(t).Body, []byte(want))
		})
	}
	t.Run("success false", func(t *testing.T) {
		t.Parallel()
		b := setup(t, nil)
		b.mock.RegisterResponder(http.MethodPost, apiPrefix+"/"+testPhoneID+"/messages", b.rec.respond(200, `{"success":false}`))
		err := b.client.MarkRead(t.Context(), wamid, false)
		if ce := asConnErr(t, err); ce.Kind != connectors.Retryable || ce.Op != "mark_read" {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestSendRefusesInvalidInput checks that every limit is enforced locally:
// a Permanent error naming the field, and no request.
func TestSendRefusesInvalidInput(t *testing.T) {
	t.Parallel()
	long := func(n int) string { return strings.Repeat("é", n) }
	btns := func(bs ...ReplyButton) *SendParams {
		return ButtonsMessage(testTo, &ButtonsParams{Body: "Pick", Buttons: bs})
	}
	rows := func(n int) []ListRow {
		var rs []ListRow
		for i := range n {
			rs = append(rs, ListRow{ID: "r" + string(rune('a'+i)), Title: "Row"})
		}
		return rs
	}
	list := func(mut func(*ListParams)) *SendParams {
		l := &ListParams{Body: "Choose", Button: "Options", Sections: []ListSection{{Rows: rows(2)}}}
		mut(l)
		return ListMessage(testTo, l)
	}
	var sections []ListSection
	for i := range 11 {
		sections = append(sections, ListSection{Title: "S" + string(rune('a'+i)), Rows: []ListRow{{ID: "x" + string(rune('a'+i)), Title: "t"}}})
	}
	tests := []struct {
		name string
		p    *SendParams
		want string
	}{
		{"nil", nil, "no message"},
		{"no content", &SendParams{To: testTo}, "exactly one of"},
		{"two contents", &SendParams{To: testTo, Text: &TextParams{Body: "a"}, Reaction: &ReactionParams{MessageID: "w"}}, "exactly one of"},
		{"no recipient", &SendParams{Text: &TextParams{Body: "a"}}, "to: a recipient"},
		{"to without plus", TextMessage("16505551234", "hi"), "must start with +"},
		{"to with letters", TextMessage("+1650CALLNOW", "hi"), "only digits"},
		{"to too short", TextMessage("+1234567", "hi"), "8 to 15"},
		{"to too long", TextMessage("+1234567890123456", "hi"), "8 to 15"},
		{"to and recipient", TextMessage(testTo, "hi").WithCallbackData("x").withRecipientToo(testBSUID), "not both"},
		{"bad bsuid", TextMessage("", "hi").WithRecipient("16505551234"), "recipient"},
		{"template to bsuid", TemplateMessage("", &TemplateParams{Name: "a", Language: "en"}).WithRecipient(testBSUID), "templates need a phone number"},
		{"empty text", TextMessage(testTo, ""), "text.body: is required"},
		{"blank text", TextMessage(testTo, "  \n"), "text.body: is blank"},
		{"text too long", TextMessage(testTo, long(4097)), "text.body: is 4097 characters long, at most 4096"},
		{"callback too long", TextMessage(testTo, "hi").WithCallbackData(long(513)), "biz_opaque_callback_data"},
		{"media without id or link", ImageMessage(testTo, MediaParams{}), "image: set id"},
		{"media with both", ImageMessage(testTo, MediaParams{ID: "1", Link: "https://x/y"}), "not both"},
		{"media relative link", ImageMessage(testTo, MediaParams{Link: "/y.jpg"}), "image.link"},
		{"media bad id", ImageMessage(testTo, MediaParams{ID: "../x"}), "image.id"},
		{"audio caption", AudioMessage(testTo, MediaParams{ID: "1", Caption: "c"}), "cannot carry a caption"},
		{"sticker caption", StickerMessage(testTo, MediaParams{ID: "1", Caption: "c"}), "cannot carry a caption"},
		{"image filename", ImageMessage(testTo, MediaParams{ID: "1", Filename: "a.jpg"}), "only documents"},
		{"caption too long", ImageMessage(testTo, MediaParams{ID: "1", Caption: long(1025)}), "image.caption"},
		{"no buttons", btns(), "0 buttons"},
		{"four buttons", btns(ReplyButton{"a", "A"}, ReplyButton{"b", "B"}, ReplyButton{"c", "C"}, ReplyButton{"d", "D"}), "4 buttons; 1 to 3"},
		{"button title too long", btns(ReplyButton{"a", long(21)}), "buttons[0].title: is 21 characters long, at most 20"},
		{"button title empty", btns(ReplyButton{"a", ""}), "buttons[0].title: is required"},
		{"button titles not unique", btns(ReplyButton{"a", "Yes"}, ReplyButton{"b", "Yes"}), "titles must be unique"},
		{"button id too long", btns(ReplyButton{strings.Repeat("x", 257), "A"}), "buttons[0].id: is 257"},
		{"button id spaces", btns(ReplyButton{" a", "A"}), "leading or trailing"},
		{"button ids not unique", btns(ReplyButton{"a", "A"}, ReplyButton{"a", "B"}), "ids must be unique"},
		{"buttons body missing", ButtonsMessage(testTo, &ButtonsParams{Buttons: []ReplyButton{{"a", "A"}}}), "interactive.body.text: is required"},
		{"buttons body too long", ButtonsMessage(testTo, &ButtonsParams{Body: long(1025), Buttons: []ReplyButton{{"a", "A"}}}), "interactive.body.text"},
		{"buttons footer too long", ButtonsMessage(testTo, &ButtonsParams{Body: "b", Footer: long(61), Buttons: []ReplyButton{{"a", "A"}}}), "interactive.footer.text"},
		{"buttons two headers", ButtonsMessage(testTo, &ButtonsParams{Body: "b", Header: &InteractiveHeader{Text: "t", Image: &MediaParams{ID: "1"}},
			Buttons: []ReplyButton{{"a", "A"}}}), "interactive.header"},
		{"list label too long", list(func(l *ListParams) { l.Button = long(21) }), "interactive.action.button: is 21"},
		{"list label missing", list(func(l *ListParams) { l.Button = "" }), "interactive.action.button: is required"},
		{"list body too long", list(func(l *ListParams) { l.Body = long(1025) }), "interactive.body.text: is 1025"},
		{"list footer too long", list(func(l *ListParams) { l.Footer = long(61) }), "interactive.footer.text: is 61"},
		{"list header too long", list(func(l *ListParams) { l.Header = long(61) }), "interactive.header.text"},
		{"list 11 sections", list(func(l *ListParams) { l.Sections = sections }), "11 sections; 1 to 10"},
		{"list no sections", list(func(l *ListParams) { l.Sections = nil }), "0 sections"},
		{"list 11 rows", list(func(l *ListParams) {
			l.Sections = []ListSection{{Title: "a", Rows: rows(6)}, {Title: "b", Rows: rows(5)}}
			for i := range l.Sections[1].Rows {
				l.Sections[1].Rows[i].ID = "b" + l.Sections[1].Rows[i].ID
			}
		}), "11 rows in all; at most 10"},
		{"list section title missing", list(func(l *ListParams) {
			l.Sections = []ListSection{{Rows: rows(1)}, {Title: "b", Rows: []ListRow{{ID: "z", Title: "z"}}}}
		}), "sections[0].title: is required"},
		{"list empty section", list(func(l *ListParams) { l.Sections = []ListSection{{Title: "a"}} }), "rows: at least one"},
		{"list row title too long", list(func(l *ListParams) { l.Sections[0].Rows[0].Title = long(25) }), "rows[0].title: is 25"},
		{"list row description too long", list(func(l *ListParams) { l.Sections[0].Rows[0].Description = long(73) }), "rows[0].description"},
		{"list row id too long", list(func(l *ListParams) { l.Sections[0].Rows[0].ID = long(201) }), "rows[0].id: is 201"},
		{"list row ids not unique", list(func(l *ListParams) { l.Sections[0].Rows[1].ID = l.Sections[0].Rows[0].ID }), "row ids must be unique"},
		{"reaction without message", ReactionMessage(testTo, "", "👍"), "reaction.message_id: is required"},
		{"reaction not an emoji", ReactionMessage(testTo, "wamid.A", "this is a sentence"), "reaction.emoji"},
		{"reply to too long", TextMessage(testTo, "hi").WithReplyTo(strings.Repeat("w", 513)), "context.message_id"},
		{"template no name", TemplateMessage(testTo, &TemplateParams{Language: "en"}), "template.name: is required"},
		{"template bad language", TemplateMessage(testTo, &TemplateParams{Name: "a", Language: "english (US)"}), "template.language"},
		{"template bad param type", TemplateMessage(testTo, &TemplateParams{Name: "a", Language: "en", Body: []TemplateParam{{Type: "emoji"}}}), "body.parameters[0].type"},
		{"template media in body", TemplateMessage(testTo, &TemplateParams{Name: "a", Language: "en", Body: []TemplateParam{ImageParam(MediaParams{ID: "1"})}}), "go in the header"},
		{"template currency in header", TemplateMessage(testTo, &TemplateParams{Name: "a", Language: "en", Header: new(CurrencyParam("1", "USD", 1))}), "header parameter is text"},
		{"template bad currency", TemplateMessage(testTo, &TemplateParams{Name: "a", Language: "en", Body: []TemplateParam{CurrencyParam("$1", "usd", 1000)}}), "ISO 4217"},
		{"template empty date", TemplateMessage(testTo, &TemplateParams{Name: "a", Language: "en", Body: []TemplateParam{DateTimeParam("")}}), "fallback_value: is required"},
		{"template header text too long", TemplateMessage(testTo, &TemplateParams{Name: "a", Language: "en", Header: new(TextParam(long(61)))}), "header.parameters[0].text: is 61"},
		{"template bad param name", TemplateMessage(testTo, &TemplateParams{Name: "a", Language: "en", Body: []TemplateParam{TextParam("x").Named("First Name")}}), "parameter_name"},
		{"template button index", TemplateMessage(testTo, &TemplateParams{Name: "a", Language: "en", Buttons: []ButtonParam{QuickReplyParam(10, "p")}}), "numbered 0 to 9"},
		{"template button twice", TemplateMessage(testTo, &TemplateParams{Name: "a", Language: "en", Buttons: []ButtonParam{QuickReplyParam(0, "p"), URLButtonParam(0, "x")}}), "given twice"},
		{"template empty payload", TemplateMessage(testTo, &TemplateParams{Name: "a", Language: "en", Buttons: []ButtonParam{QuickReplyParam(0, "")}}), "payload: is required"},
		{"template bad sub_type", TemplateMessage(testTo, &TemplateParams{Name: "a", Language: "en", Buttons: []ButtonParam{{SubType: "flow", Index: 0}}}), "sub_type"},
		{"template header caption", TemplateMessage(testTo, &TemplateParams{Name: "a", Language: "en", Header: new(ImageParam(MediaParams{ID: "1", Caption: "c"}))}), "no caption"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, nil)
			b.mock.RegisterResponder(http.MethodPost, apiPrefix+"/"+testPhoneID+"/messages", b.rec.respond(200, `{}`))
			_, err := b.client.Send(t.Context(), tc.p)
			ce := asConnErr(t, err)
			if ce.Kind != connectors.Permanent || ce.Code != "" || ce.Status != 0 || !strings.Contains(ce.Message, tc.want) {
				t.Errorf("err = %v (kind %s), want a Permanent error containing %q", err, ce.Kind, tc.want)
			}
			if n := b.mock.GetTotalCallCount(); n != 0 {
				t.Errorf("%d requests were made", n)
			}
		})
	}
}

// withRecipientToo sets a BSUID while keeping To, to test the conflict.
func (p *SendParams) withRecipientToo(bsuid string) *SendParams { p.Recipient = bsuid; return p }

func TestNormalizePhone(t *testing.T) {
	t.Parallel()
	if _, err := NormalizePhone("16505551234"); err == nil || strings.Contains(err.Error(), "16505551234") ||
		!strings.Contains(err.Error(), "1234") {
		t.Errorf("error %v must show the number masked", err)
	}
	tests := map[string]string{
		"+34 600 111 222":     "+34600111222",
		"+1 (650) 555-1234":   "+16505551234",
		" +5511987654321 ":    "+5511987654321",
		"+44\u00a07700900123": "+447700900123",
	}
	for in, want := range tests {
		got, err := NormalizePhone(in)
		if err != nil || got != want {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "34600111222", "0034600111222", "+", "+12-34", "+1234567890123456", "++34600111222"} {
		if got, err := NormalizePhone(bad); err == nil {
			t.Errorf("NormalizePhone(%q) = %q, want an error", bad, got)
		}
	}
}

func TestCheckTextCountsCharacters(t *testing.T) {
	t.Parallel()
	s := strings.Repeat("😀", 20) // 20 characters, 80 bytes
	if utf8.RuneCountInString(s) != 20 || checkText(s, 1, 20) != nil {
		t.Fatalf("20 emoji must fit a 20-character limit")
	}
	if checkText(string([]byte{0xff}), 1, 20) == nil {
		t.Fatalf("invalid UTF-8 must be refused")
	}
}

// addKeys adds top-level keys to a JSON object.
func addKeys(t *testing.T, doc string, add map[string]any) string {
	t.Helper()
	m := map[string]any{}
	if err := json.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range add {
		m[k] = v
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}
