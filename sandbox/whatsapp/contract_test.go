package whatsapp

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// specFile is Meta's spec, relative to this package directory.
const specFile = "../../../shared/specs/meta/meta-business-messaging-api_v23.0.yaml"

// loadSpec loads the spec and applies the narrow fixes documented in fixSpec.
func loadSpec(t *testing.T) *openapi3.T {
	t.Helper()
	if _, err := os.Stat(specFile); err != nil {
		t.Skipf("Meta's OpenAPI spec is not at %s (%v); the contract test needs the shared specs", specFile, err)
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(specFile)
	if err != nil {
		t.Fatalf("load spec: %v", err)
	}
	fixSpec(t, doc)
	return doc
}

// fixSpec removes two defects of the spec that no correct request can pass.
// Nothing else is changed. (A third, LanguageObject requiring "policy" although
// Meta's own examples omit it, is met by sending policy "deterministic".)
func fixSpec(t *testing.T, doc *openapi3.T) {
	t.Helper()
	schemas := doc.Components.Schemas
	// 1. Every message type is allOf[BaseMessageProperties, {additionalProperties:
	// false, properties: {type, <type>}}]. In JSON Schema additionalProperties
	// only sees the properties of its own subschema, so messaging_product, to,
	// recipient_type and context are "additional" there and every message
	// fails. Drop additionalProperties from that second subschema only.
	for _, name := range []string{"TextMessage", "AudioMessage", "VideoMessage", "DocumentMessage", "ImageMessage",
		"LocationMessage", "StickerMessage", "ReactionMessage", "InteractiveMessage", "ContactsMessage"} {
		ref := schemas[name]
		if ref == nil || len(ref.Value.AllOf) != 2 {
			t.Fatalf("spec changed: %s is not allOf of two schemas", name)
		}
		ref.Value.AllOf[1].Value.AdditionalProperties = openapi3.AdditionalProperties{}
	}
	// 2. The button index pattern is ^[2-6, 11-14]$, a character class that
	// rejects "0", the first button (Meta's own examples use index "0").
	for _, name := range []string{"TemplateComponent", "ButtonComponent"} {
		s := schemas[name].Value
		if len(s.AllOf) == 2 {
			s = s.AllOf[1].Value
		}
		if p := s.Properties["index"]; p != nil {
			p.Value.Pattern = `^[0-9]$`
		}
	}
}

// contractCase is one request whose request and answer are checked.
type contractCase struct {
	name     string
	specPath string // the spec's path template
	method   string
	path     string // the request path (and query)
	body     any    // JSON body, or a prebuilt *uploadForm
	// bodySchema validates the request body against this component schema
	// instead of the operation's (see mark as read).
	bodySchema string
	wantStatus int
}

func TestContract(t *testing.T) {
	t.Parallel()
	doc := loadSpec(t)
	b := setup(t)
	inID := withCustomer(t, b)
	media := uploadMedia(t, b, "image/jpeg", "a.jpg", jpegBytes)
	doomed := uploadMedia(t, b, "application/pdf", "a.pdf", pdfBytes)
	v := "/" + testVersion
	msgs := v + "/" + testPN + "/messages"
	const msgPath = "/{Version}/{Phone-Number-ID}/messages"
	withLang := func(m map[string]any) map[string]any {
		m["template"].(map[string]any)["language"].(map[string]any)["policy"] = "deterministic"
		return m
	}
	orderBody := comp("body", textParam("Ana"), currencyParam, dateParam)
	cases := []contractCase{
		{name: "text", specPath: msgPath, method: "POST", path: msgs, body: text(customer, "Hello"), wantStatus: 200},
		{name: "reply to text", specPath: msgPath, method: "POST", path: msgs, body: func() any {
			m := text(customer, "Re")
			m["context"] = map[string]any{"message_id": inID}
			return m
		}(), wantStatus: 200},
		{name: "image by id", specPath: msgPath, method: "POST", path: msgs, body: map[string]any{"messaging_product": "whatsapp",
			"recipient_type": "individual", "to": customer, "type": "image", "image": map[string]any{"id": media}}, wantStatus: 200},
		{name: "document by link", specPath: msgPath, method: "POST", path: msgs, body: map[string]any{"messaging_product": "whatsapp",
			"recipient_type": "individual", "to": customer, "type": "document", "document": map[string]any{"link": "https://x.test/a.pdf"}}, wantStatus: 200},
		{name: "audio by id", specPath: msgPath, method: "POST", path: msgs, body: map[string]any{"messaging_product": "whatsapp",
			"recipient_type": "individual", "to": customer, "type": "audio", "audio": map[string]any{"id": media}}, wantStatus: 200},
		{name: "sticker by link", specPath: msgPath, method: "POST", path: msgs, body: map[string]any{"messaging_product": "whatsapp",
			"recipient_type": "individual", "to": customer, "type": "sticker", "sticker": map[string]any{"link": "https://x.test/s.webp"}}, wantStatus: 200},
		{name: "template positional", specPath: msgPath, method: "POST", path: msgs,
			body: withLang(tpl("reengage", "en_US", comp("body", textParam("Ana")))), wantStatus: 200},
		{name: "template media, currency, date, quick reply", specPath: msgPath, method: "POST", path: msgs,
			body: withLang(tpl("order_update", "en_US", comp("header", imageParam), orderBody, quickReply)), wantStatus: 200},
		{name: "template named", specPath: msgPath, method: "POST", path: msgs,
			body: withLang(tpl("welcome_named", "es_ES", comp("body", named("first_name", "Ana")))), wantStatus: 200},
		{name: "interactive buttons", specPath: msgPath, method: "POST", path: msgs, body: map[string]any{"messaging_product": "whatsapp",
			"recipient_type": "individual", "to": customer, "type": "interactive", "interactive": map[string]any{
				"type": "button", "body": map[string]any{"text": "Pick"},
				"action": map[string]any{"buttons": []any{map[string]any{"type": "reply", "reply": map[string]any{"id": "y", "title": "Yes"}}}}}}, wantStatus: 200},
		{name: "interactive list", specPath: msgPath, method: "POST", path: msgs, body: map[string]any{"messaging_product": "whatsapp",
			"recipient_type": "individual", "to": customer, "type": "interactive", "interactive": map[string]any{
				"type": "list", "body": map[string]any{"text": "Pick"},
				"action": map[string]any{"button": "Options", "sections": []any{map[string]any{"title": "A",
					"rows": []any{map[string]any{"id": "a1", "title": "One", "description": "d"}}}}}}}, wantStatus: 200},
		{name: "reaction", specPath: msgPath, method: "POST", path: msgs, body: map[string]any{"messaging_product": "whatsapp",
			"recipient_type": "individual", "to": customer, "type": "reaction", "reaction": map[string]any{"message_id": inID, "emoji": "👍"}}, wantStatus: 200},
		{name: "location", specPath: msgPath, method: "POST", path: msgs, body: map[string]any{"messaging_product": "whatsapp",
			"recipient_type": "individual", "to": customer, "type": "location", "location": map[string]any{"latitude": "40.41", "longitude": "-3.70", "name": "Sol"}}, wantStatus: 200},
		// The operation's request body is the Message oneOf, which has no
		// variant for mark-as-read (no to, no type); the spec describes that
		// body as MarkMessageRequestPayload, so it is checked against that.
		{name: "mark as read with typing indicator", specPath: msgPath, method: "POST", path: msgs, bodySchema: "MarkMessageRequestPayload",
			body: map[string]any{"messaging_product": "whatsapp", "status": "read", "message_id": inID, "typing_indicator": map[string]any{"type": "text"}}, wantStatus: 200},
		{name: "error: window closed", specPath: msgPath, method: "POST", path: msgs, body: text("+447700900123", "x"), wantStatus: 400},
		{name: "error: unknown template", specPath: msgPath, method: "POST", path: msgs, body: withLang(tpl("nope", "en_US")), wantStatus: 400},
		{name: "media upload", specPath: "/{Version}/{Phone-Number-ID}/media", method: "POST", path: v + "/" + testPN + "/media",
			body: &uploadForm{fileType: "image/png", filename: "a.png", data: pngBytes}, wantStatus: 200},
		{name: "media get", specPath: "/{Version}/{Media-ID}", method: "GET", path: v + "/" + media + "?phone_number_id=" + testPN, wantStatus: 200},
		{name: "media delete", specPath: "/{Version}/{Media-ID}", method: "DELETE", path: v + "/" + doomed, wantStatus: 200},
		{name: "error: media get unknown", specPath: "/{Version}/{Media-ID}", method: "GET", path: v + "/" + doomed, wantStatus: 400},
		{name: "templates list", specPath: "/{Version}/{WABA-ID}/message_templates", method: "GET", path: v + "/" + testWABA + "/message_templates?limit=2", wantStatus: 200},
		{name: "templates by name", specPath: "/{Version}/{WABA-ID}/message_templates", method: "GET", path: v + "/" + testWABA + "/message_templates?name=order_update", wantStatus: 200},
		{name: "phone number", specPath: "/{Version}/{Phone-Number-ID}", method: "GET", path: v + "/" + testPN, wantStatus: 200},
		{name: "phone number fields", specPath: "/{Version}/{Phone-Number-ID}", method: "GET",
			path: v + "/" + testPN + "?fields=name_status,code_verification_status,whatsapp_business_manager_messaging_limit,throughput", wantStatus: 200},
		{name: "error: bad token", specPath: "/{Version}/{Phone-Number-ID}", method: "GET", path: v + "/" + testPN + "?access_token=x", wantStatus: 401},
	}
	for _, tc := range cases { // in order: media delete precedes its failed get
		t.Run(tc.name, func(t *testing.T) { checkContract(t, doc, b, tc) })
	}
}

// checkContract sends tc to the fake and validates the request and the answer.
func checkContract(t *testing.T, doc *openapi3.T, b *testBundle, tc contractCase) {
	t.Helper()
	ctx := context.Background()
	pathItem := doc.Paths.Value(tc.specPath)
	if pathItem == nil {
		t.Fatalf("spec has no path %s", tc.specPath)
	}
	op := pathItem.GetOperation(tc.method)
	if op == nil {
		t.Fatalf("spec has no %s %s", tc.method, tc.specPath)
	}
	var body []byte
	contentType := "application/json"
	switch v := tc.body.(type) {
	case nil:
	case *uploadForm:
		contentType, body = v.encode(t)
	default:
		body, _ = json.Marshal(v)
	}
	newReq := func() *http.Request {
		req, err := http.NewRequestWithContext(ctx, tc.method, b.srv.URL+tc.path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(tc.path, "access_token=") {
			req.Header.Set("Authorization", "Bearer "+testToken)
		} else {
			req.Header.Set("Authorization", "Bearer x")
		}
		req.Header.Set("User-Agent", "deskbridge-contract/1.0.0")
		if body != nil || tc.method == http.MethodDelete {
			req.Header.Set("Content-Type", contentType)
		}
		return req
	}
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, ExcludeRequestBody: tc.bodySchema != ""}
	in := &openapi3filter.RequestValidationInput{
		Request:    newReq(),
		PathParams: pathParams(tc.specPath, strings.SplitN(tc.path, "?", 2)[0]),
		Route:      &routers.Route{Spec: doc, Path: tc.specPath, PathItem: pathItem, Method: tc.method, Operation: op},
		Options:    opts,
	}
	if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
		t.Errorf("request does not match the spec: %v", err)
	}
	if tc.bodySchema != "" {
		validateAgainst(t, doc, tc.bodySchema, body, "request")
	}

	resp, err := b.srv.Client().Do(newReq())
	if err != nil {
		t.Fatal(err)
	}
	respBody, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != tc.wantStatus {
		t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.wantStatus, respBody)
	}
	if resp.StatusCode != http.StatusOK {
		// Error answers are not listed on these operations; they are checked
		// against the spec's GraphAPIError schema.
		validateAgainst(t, doc, "GraphAPIError", respBody, "error answer")
		return
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Body: io.NopCloser(bytes.NewReader(respBody)), Options: opts,
	}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		t.Errorf("answer does not match the spec: %v\n%s", err, respBody)
	}
}

// validateAgainst checks a JSON document against a component schema.
func validateAgainst(t *testing.T, doc *openapi3.T, schema string, data []byte, what string) {
	t.Helper()
	ref := doc.Components.Schemas[schema]
	if ref == nil {
		t.Fatalf("spec has no schema %s", schema)
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("%s is not JSON: %v", what, err)
	}
	if err := ref.Value.VisitJSON(v); err != nil {
		t.Errorf("%s does not match %s: %v\n%s", what, schema, err, data)
	}
}

// pathParams matches a path template such as /{Version}/{Media-ID} against a path.
func pathParams(template, path string) map[string]string {
	out := map[string]string{}
	ts := strings.Split(strings.Trim(template, "/"), "/")
	ps := strings.Split(strings.Trim(path, "/"), "/")
	for i, seg := range ts {
		if i < len(ps) && strings.HasPrefix(seg, "{") {
			out[strings.Trim(seg, "{}")] = ps[i]
		}
	}
	return out
}
