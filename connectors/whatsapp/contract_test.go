package whatsapp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/jarcoal/httpmock"
)

// specPath is Meta's OpenAPI description of the Business Messaging API.
const specPath = "../../../shared/specs/meta/meta-business-messaging-api_v23.0.yaml"

// Operations the client calls, by spec path. Paths that differ only in the
// name of their single id parameter ({Phone-Number-ID}, {Media-ID}, …)
// cannot share a router, so each group gets its own.
var contractGroups = map[string][]string{
	"messages":  {"/{Version}/{Phone-Number-ID}/messages", "/{Version}/{Phone-Number-ID}/media"},
	"phone":     {"/{Version}/{Phone-Number-ID}"},
	"media":     {"/{Version}/{Media-ID}"},
	"templates": {"/{Version}/{WABA-ID}/message_templates"},
}

// contractSpec is the loaded spec and a router per group.
type contractSpec struct {
	doc     *openapi3.T
	routers map[string]routers.Router
}

var loadContract = sync.OnceValues(func() (*contractSpec, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(specPath)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", specPath, err)
	}
	patchSpec(doc)
	cs := &contractSpec{doc: doc, routers: map[string]routers.Router{}}
	for group, paths := range contractGroups {
		d := *doc
		d.Paths = openapi3.NewPaths()
		for _, p := range paths {
			item := doc.Paths.Value(p)
			if item == nil {
				return nil, fmt.Errorf("spec has no path %s", p)
			}
			d.Paths.Set(p, item)
		}
		d.Servers = openapi3.Servers{{URL: apiBase}}
		// The spec's own examples are not all valid against its schemas,
		// and components carries a non-standard "parameterGroups" key.
		r, err := legacy.NewRouter(&d, openapi3.DisableExamplesValidation(), openapi3.AllowExtraSiblingFields("parameterGroups"))
		if err != nil {
			return nil, fmt.Errorf("router for %s: %w", group, err)
		}
		cs.routers[group] = r
	}
	return cs, nil
})

// patchSpec corrects defects of the v23.0 file that make requests Meta
// documents (and its own examples) fail validation. Each patch is narrow;
// nothing else of the spec is relaxed.
//
//  1. Every message schema is allOf [BaseMessageProperties, {…,
//     additionalProperties: false}]. In JSON Schema additionalProperties does
//     not see the sibling's properties, so messaging_product, to, context…
//     are rejected: the base properties are copied into the strict member
//     (which keeps it strict). biz_opaque_callback_data, documented for
//     sends (≤512 characters) but only declared for calls, is added too.
//  2. TemplateComponent.index and ButtonComponent.index have the pattern
//     ^[2-6, 11-14]$, which refuses index "0" used by the spec's own
//     examples: replaced with ^[0-9]$ (button positions 0–9).
//  3. The multipart upload schema lacks the "type" field Meta's media docs
//     list; kin-openapi refuses undeclared parts.
//  4. DELETE /{Media-ID} requires a Content-Type header although it has no
//     body: the parameter is dropped from that operation.
func patchSpec(doc *openapi3.T) {
	schemas := doc.Components.Schemas
	base := schemas["BaseMessageProperties"].Value
	for _, ref := range schemas {
		s := ref.Value
		if len(s.AllOf) != 2 || s.AllOf[0].Ref != "#/components/schemas/BaseMessageProperties" {
			continue
		}
		strict := s.AllOf[1].Value
		if strict.AdditionalProperties.Has == nil || *strict.AdditionalProperties.Has {
			continue
		}
		for name, p := range base.Properties {
			if _, own := strict.Properties[name]; !own {
				strict.Properties[name] = p
			}
		}
		strict.Properties["biz_opaque_callback_data"] = openapi3.NewStringSchema().WithMaxLength(512).NewRef()
	}
	for _, name := range []string{"TemplateComponent", "ButtonComponent"} {
		s := schemas[name].Value
		if name == "ButtonComponent" {
			s = s.AllOf[1].Value
		}
		s.Properties["index"].Value.Pattern = "^[0-9]$"
	}
	upload := doc.Paths.Value("/{Version}/{Phone-Number-ID}/media").Post.RequestBody.Value.Content.Get("multipart/form-data")
	upload.Schema.Value.Properties["type"] = openapi3.NewStringSchema().NewRef()
	del := doc.Paths.Value("/{Version}/{Media-ID}").Delete
	params := openapi3.Parameters{}
	for _, p := range del.Parameters {
		if p.Value.In != openapi3.ParameterInHeader || p.Value.Name != "Content-Type" {
			params = append(params, p)
		}
	}
	del.Parameters = params
}

// contract returns the spec, skipping the test when the file is absent.
func contract(t *testing.T) *contractSpec {
	t.Helper()
	if _, err := os.Stat(specPath); errors.Is(err, os.ErrNotExist) {
		t.Skipf("Meta spec %s not found; contract test skipped", specPath)
	}
	cs, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// validator validates every request it answers against a router and keeps
// the problems, to be asserted after the call (never t.Fatal in a
// responder).
type validator struct {
	router routers.Router
	mu     sync.Mutex
	probs  []string
	seen   int
}

func (v *validator) respond(status int, body string, skipBody bool) httpmock.Responder {
	return func(r *http.Request) (*http.Response, error) {
		var raw []byte
		if r.Body != nil {
			raw, _ = io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(raw))
		}
		err := v.validate(r, skipBody)
		v.mu.Lock()
		v.seen++
		if err != nil {
			v.probs = append(v.probs, fmt.Sprintf("%s %s %s: %v", r.Method, r.URL, raw, err))
		}
		v.mu.Unlock()
		resp := httpmock.NewStringResponse(status, body)
		resp.Header.Set("Content-Type", "application/json")
		return resp, nil
	}
}

func (v *validator) validate(r *http.Request, skipBody bool) error {
	route, params, err := v.router.FindRoute(r)
	if err != nil {
		return fmt.Errorf("no route: %w", err)
	}
	return openapi3filter.ValidateRequest(r.Context(), &openapi3filter.RequestValidationInput{
		Request: r, PathParams: params, Route: route,
		Options: &openapi3filter.Options{MultiError: true, ExcludeRequestBody: skipBody, AuthenticationFunc: bearer},
	})
}

// bearer checks the bearerAuth scheme: an Authorization: Bearer header.
func bearer(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	h := in.RequestValidationInput.Request.Header.Get("Authorization")
	if in.SecurityScheme.Type != "http" || !strings.EqualFold(in.SecurityScheme.Scheme, "bearer") ||
		!strings.HasPrefix(h, "Bearer ") || len(h) <= len("Bearer ") {
		return fmt.Errorf("authorization %q does not satisfy scheme %s", h, in.SecuritySchemeName)
	}
	return nil
}

func (v *validator) check(t *testing.T, want int) {
	t.Helper()
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.seen != want {
		t.Errorf("validated %d requests, want %d", v.seen, want)
	}
	for _, p := range v.probs {
		t.Errorf("request does not match Meta's spec: %s", p)
	}
}

const sendAnswer = `{"messaging_product":"whatsapp","contacts":[{"input":"+16505551234","wa_id":"16505551234"}],
	"messages":[{"id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJCOTY3NDc0NDFDRUI3NTA0Q0UA"}]}`

// TestContractSend validates the requests of every message type against
// the sendMessage operation of Meta's spec.
func TestContractSend(t *testing.T) {
	t.Parallel()
	cs := contract(t)
	var cases []*SendParams
	for _, tc := range sendCases {
		cases = append(cases, tc.build())
	}
	cases = append(cases,
		TextMessage(testTo, "with callback").WithCallbackData("bridge-msg-1"),
		TemplateMessage(testTo, &TemplateParams{Name: "order_update", Language: "en_US",
			Header:  new(DocumentParam(MediaParams{ID: "42", Filename: "invoice.pdf"})),
			Body:    []TemplateParam{TextParam("Ana").Named("first_name"), CurrencyParam("$1", "USD", 1000).Named("total")},
			Buttons: []ButtonParam{URLButtonParam(1, "order/42"), QuickReplyParam(0, "stop")}}),
		ButtonsMessage(testTo, &ButtonsParams{Header: &InteractiveHeader{Text: "Hi"}, Body: "Pick", Footer: "f",
			Buttons: []ReplyButton{{ID: "a", Title: "A"}, {ID: "b", Title: "B"}, {ID: "c", Title: "C"}}}),
	)
	for i, p := range cases {
		t.Run(fmt.Sprintf("%d_%s", i, p.op()), func(t *testing.T) {
			t.Parallel()
			v := &validator{router: cs.routers["messages"]}
			b := setup(t, nil)
			b.mock.RegisterResponder(http.MethodPost, apiPrefix+"/"+testPhoneID+"/messages", v.respond(200, sendAnswer, false))
			if _, err := b.client.Send(t.Context(), p); err != nil {
				t.Fatalf("Send: %v", err)
			}
			v.check(t, 1)
		})
	}
}

// TestContractMarkRead validates the read receipt. Its body is not one of
// the Message schema's types (the spec models it only as an example), so
// the body is compared with that example and the rest of the request is
// validated.
func TestContractMarkRead(t *testing.T) {
	t.Parallel()
	cs := contract(t)
	v := &validator{router: cs.routers["messages"]}
	b := setup(t, nil)
	var mu sync.Mutex
	var body []byte
	inner := v.respond(200, `{"success":true}`, true)
	b.mock.RegisterResponder(http.MethodPost, apiPrefix+"/"+testPhoneID+"/messages", func(r *http.Request) (*http.Response, error) {
		raw, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(raw))
		mu.Lock()
		body = raw
		mu.Unlock()
		return inner(r)
	})
	const wamid = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUYzMjEzNDM2RTZGQ0MzMDJBRgA="
	if err := b.client.MarkRead(t.Context(), wamid, true); err != nil {
		t.Fatal(err)
	}
	v.check(t, 1)
	op := cs.doc.Paths.Value("/{Version}/{Phone-Number-ID}/messages").Post
	ex := op.RequestBody.Value.Content.Get("application/json").Examples["Send typing indicator and read receipt"]
	if ex == nil || ex.Value == nil {
		t.Fatal("the spec has no read-receipt example")
	}
	want, _ := jsonMarshalAny(ex.Value.Value)
	mu.Lock()
	defer mu.Unlock()
	jsonEqual(t, body, want)
}

// TestContractValidatorRejects makes sure the patched spec still refuses
// what Meta refuses, so the passing tests above mean something.
func TestContractValidatorRejects(t *testing.T) {
	t.Parallel()
	cs := contract(t)
	tests := map[string]string{
		"unknown property": `{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505551234","type":"text",
			"text":{"body":"hi"},"colour":"red"}`,
		"missing to": `{"messaging_product":"whatsapp","recipient_type":"individual","type":"text","text":{"body":"hi"}}`,
		"four buttons": `{"messaging_product":"whatsapp","recipient_type":"individual","to":"+1","type":"interactive",
			"interactive":{"type":"button","body":{"text":"b"},"action":{"buttons":[
			{"type":"reply","reply":{"id":"1","title":"1"}},{"type":"reply","reply":{"id":"2","title":"2"}},
			{"type":"reply","reply":{"id":"3","title":"3"}},{"type":"reply","reply":{"id":"4","title":"4"}}]}}}`,
		"button title too long": `{"messaging_product":"whatsapp","recipient_type":"individual","to":"+1","type":"interactive",
			"interactive":{"type":"button","body":{"text":"b"},"action":{"buttons":[
			{"type":"reply","reply":{"id":"1","title":"123456789012345678901"}}]}}}`,
		"button index 12": `{"messaging_product":"whatsapp","recipient_type":"individual","to":"+1","type":"template",
			"template":{"name":"t","language":{"policy":"deterministic","code":"en"},"components":[
			{"type":"button","sub_type":"quick_reply","index":"12","parameters":[{"type":"payload","payload":"p"}]}]}}`,
		"callback data too long": `{"messaging_product":"whatsapp","recipient_type":"individual","to":"+1","type":"text",
			"text":{"body":"hi"},"biz_opaque_callback_data":"` + strings.Repeat("x", 513) + `"}`,
	}
	for name, body := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			v := &validator{router: cs.routers["messages"]}
			req, _ := http.NewRequest(http.MethodPost, apiPrefix+"/"+testPhoneID+"/messages", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer tok")
			if err := v.validate(req, false); err == nil {
				t.Errorf("the spec accepted %s", body)
			}
		})
	}
}

func TestContractMedia(t *testing.T) {
	t.Parallel()
	cs := contract(t)
	b := setup(t, nil)
	up := &validator{router: cs.routers["messages"]}
	get := &validator{router: cs.routers["media"]}
	b.mock.RegisterResponder(http.MethodPost, apiPrefix+"/"+testPhoneID+"/media", up.respond(200, `{"id":"4490709327384033"}`, false))
	b.mock.RegisterResponder(http.MethodGet, apiPrefix+"/4490709327384033", get.respond(200,
		`{"messaging_product":"whatsapp","url":"https://lookaside.test/x","mime_type":"image/jpeg","sha256":"h","file_size":"3","id":"4490709327384033"}`, false))
	b.mock.RegisterResponder(http.MethodDelete, apiPrefix+"/4490709327384033", get.respond(200, `{"success":true}`, false))
	id, err := b.client.Upload(t.Context(), "a.jpg", "image/jpeg", []byte("jpg"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.client.MediaURL(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	if err := b.client.DeleteMedia(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	up.check(t, 1)
	get.check(t, 2)
}

func TestContractGraphReads(t *testing.T) {
	t.Parallel()
	cs := contract(t)
	b := setup(t, nil)
	phone := &validator{router: cs.routers["phone"]}
	tpls := &validator{router: cs.routers["templates"]}
	b.mock.RegisterResponder(http.MethodGet, apiPrefix+"/"+testPhoneID, phone.respond(200, `{"id":"1"}`, false))
	b.mock.RegisterResponder(http.MethodGet, apiPrefix+"/"+testWABA+"/message_templates", tpls.respond(200, `{"data":[]}`, false))
	if _, err := b.client.PhoneNumberInfo(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := b.client.ListTemplates(t.Context()); err != nil {
		t.Fatal(err)
	}
	phone.check(t, 1)
	tpls.check(t, 1)
}

func jsonMarshalAny(v any) ([]byte, error) { return json.Marshal(v) }
