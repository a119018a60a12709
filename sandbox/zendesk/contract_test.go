package zendesk

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// specFile is Zendesk's Support API spec, relative to this package directory.
const specFile = "../../../shared/specs/zendesk/support-oas.yaml"

// loadSpec loads the spec and applies the narrow fixes documented in fixSpec.
func loadSpec(t *testing.T) *openapi3.T {
	t.Helper()
	if _, err := os.Stat(specFile); err != nil {
		t.Skipf("Zendesk's OpenAPI spec is not at %s (%v); the contract test needs the shared specs", specFile, err)
	}
	doc, err := openapi3.NewLoader().LoadFromFile(specFile)
	if err != nil {
		t.Fatalf("load spec: %v", err)
	}
	fixSpec(t, doc)
	return doc
}

// fixSpec works around defects of the spec that real Zendesk answers and
// requests cannot pass. Nothing else is changed.
func fixSpec(t *testing.T, doc *openapi3.T) {
	t.Helper()
	schemas := doc.Components.Schemas
	prop := func(schema, name string) *openapi3.Schema {
		s := schemas[schema]
		if s == nil || s.Value.Properties[name] == nil {
			t.Fatalf("spec changed: %s.%s is gone", schema, name)
		}
		return s.Value.Properties[name].Value
	}
	// 1. Properties that Zendesk answers as null when unset (see
	// payloads/zendesk/go-zendesk__GET_ticket.json, __GET_user.json and
	// __GET_trigger.json) are declared without nullable: true.
	nullable := map[string][]string{
		"TicketObject": {"external_id", "type", "subject", "raw_subject", "priority", "assignee_id", "organization_id",
			"group_id", "ticket_form_id", "brand_id", "problem_id", "forum_topic_id", "recipient", "satisfaction_rating"},
		"UserForAdmin":  {"email", "alias", "details", "notes", "signature", "default_group_id", "last_login_at"},
		"TriggerObject": {"description"},
	}
	for schema, names := range nullable {
		for _, n := range names {
			prop(schema, n).Nullable = true
		}
	}
	// 2. TicketUpdateInput.custom_fields (also used by create) points at
	// CustomFieldObject, the ticket-field *definition* (requires key, type
	// and title), instead of the {id, value} pairs tickets take and return.
	// Use TicketObject's own custom_fields items.
	prop("TicketUpdateInput", "custom_fields").Items = prop("TicketObject", "custom_fields").Items
	// 3. GET /api/v2/groups declares the required path parameter user_id
	// (of /api/v2/users/{user_id}/groups), which its path does not have.
	groups := doc.Paths.Value("/api/v2/groups")
	if groups == nil || groups.Get == nil {
		t.Fatal("spec changed: GET /api/v2/groups is gone")
	}
	var params openapi3.Parameters
	for _, p := range groups.Get.Parameters {
		if p.Value == nil || p.Value.In != openapi3.ParameterInPath {
			params = append(params, p)
		}
	}
	if len(params) == len(groups.Get.Parameters) {
		t.Fatal("spec changed: GET /api/v2/groups no longer declares a path parameter; drop fix 3")
	}
	groups.Get.Parameters = params
}

// contractCase is one request whose request and answer are checked.
type contractCase struct {
	name        string
	specPath    string // the spec's path template
	method      string
	path        string // the request path and query
	body        any    // JSON body, or []byte sent as is
	contentType string // default application/json
	wantStatus  int
	skip        string // reason to skip
}

func TestContract(t *testing.T) {
	t.Parallel()
	doc := loadSpec(t)
	b := setup(t)
	ana := b.createUser(t, map[string]any{"name": "Ana", "email": "ana@acme.test", "phone": "+34600111222",
		"external_id": "whatsapp:+34600111222"})
	tk := b.createTicket(t, ana, map[string]any{"tags": []string{"whatsapp"}})
	closed := b.createTicket(t, ana, nil)
	if err := b.fake.SetTicketStatus(context.Background(), closed, "closed"); err != nil {
		t.Fatal(err)
	}
	up := b.uploadFile(t, "?filename=a.png", "image/png", []byte("png")).want(t, http.StatusCreated)
	doomed := b.uploadFile(t, "?filename=b.png", "image/png", []byte("png")).want(t, http.StatusCreated)
	hook := b.createWebhook(t, "Deskbridge", nil)
	trig := b.do(t, http.MethodPost, "/api/v2/triggers", map[string]any{"trigger": replyTrigger(hook, "{}")}).want(t, http.StatusCreated)
	trigID := itoa(num(trig.body, "trigger", "id"))
	for i := range 3 {
		b.put(t, tk, map[string]any{"comment": map[string]any{"body": "c" + itoa(int64(i))}}).want(t, http.StatusOK)
	}
	// Custom schema records of every kind, so their shapes are checked too.
	for _, err := range []error{
		second(b.fake.AddTicketField(TicketField{ID: 360001, Title: "WhatsApp number"})),
		second(b.fake.AddTicketField(TicketField{Title: "Tier", Type: "tagger", Options: []FieldOption{{Name: "Gold", Value: "tier_gold"}}})),
		second(b.fake.AddTicketField(TicketField{Title: "Code", Type: "regexp", Inactive: true})),
		second(b.fake.AddUserField(UserField{Key: "plan", Title: "Plan", Type: "dropdown", Options: []FieldOption{{Name: "Pro", Value: "pro"}}})),
		second(b.fake.AddGroup(Group{Name: "Billing"})),
		second(b.fake.AddBrand(Brand{Name: "Shop", Inactive: true})),
		second(b.fake.AddTicketForm(TicketForm{Name: "WhatsApp", TicketFieldIDs: []int64{360001}})),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	anaPath, tkPath := "/api/v2/users/"+itoa(ana), "/api/v2/tickets/"+itoa(tk)
	q := url.QueryEscape
	noWebhooks := "support-oas.yaml has no /api/v2/webhooks paths (the Webhooks API is published separately); " +
		"webhook bodies are checked in webhooks_test.go"
	cases := []contractCase{
		{name: "user create", specPath: "/api/v2/users", method: "POST", path: "/api/v2/users.json", wantStatus: 201,
			body: map[string]any{"user": map[string]any{"name": "Bea", "phone": "+34600333444", "external_id": "whatsapp:+34600333444",
				"identities": []any{map[string]any{"type": "phone_number", "value": "+34600333445"}}, "skip_verify_email": true}}},
		{name: "user show", specPath: "/api/v2/users/{user_id}", method: "GET", path: anaPath, wantStatus: 200},
		{name: "user show unknown", specPath: "/api/v2/users/{user_id}", method: "GET", path: "/api/v2/users/1", wantStatus: 404},
		{name: "show_many ids", specPath: "/api/v2/users/show_many", method: "GET", path: "/api/v2/users/show_many?ids=" + itoa(ana) + ",1", wantStatus: 200},
		{name: "show_many external_ids", specPath: "/api/v2/users/show_many", method: "GET",
			path: "/api/v2/users/show_many?external_ids=" + q("whatsapp:+34600111222"), wantStatus: 200},
		{name: "users search phone", specPath: "/api/v2/users/search", method: "GET", path: "/api/v2/users/search?query=" + q("phone:+34600111222"), wantStatus: 200},
		{name: "users search external_id", specPath: "/api/v2/users/search", method: "GET",
			path: "/api/v2/users/search?external_id=" + q("whatsapp:+34600111222"), wantStatus: 200},
		{name: "create_or_update existing", specPath: "/api/v2/users/create_or_update", method: "POST", path: "/api/v2/users/create_or_update",
			body: map[string]any{"user": map[string]any{"name": "Ana L", "external_id": "WHATSAPP:+34600111222"}}, wantStatus: 200},
		{name: "create_or_update new", specPath: "/api/v2/users/create_or_update", method: "POST", path: "/api/v2/users/create_or_update",
			body: map[string]any{"user": map[string]any{"name": "Cris", "external_id": "whatsapp:+34600555666", "phone": "+34600555666"}}, wantStatus: 201},
		{name: "user update", specPath: "/api/v2/users/{user_id}", method: "PUT", path: anaPath + ".json",
			body: map[string]any{"user": map[string]any{"name": "Ana Lopez", "user_fields": map[string]any{"wa_name": "Ana"}}}, wantStatus: 200},
		{name: "identities", specPath: "/api/v2/users/{user_id}/identities", method: "GET", path: anaPath + "/identities", wantStatus: 200},
		{name: "identities by type", specPath: "/api/v2/users/{user_id}/identities", method: "GET", path: anaPath + "/identities?type[]=phone_number", wantStatus: 200},
		{name: "identity create", specPath: "/api/v2/users/{user_id}/identities", method: "POST", path: anaPath + "/identities",
			body: map[string]any{"identity": map[string]any{"type": "phone_number", "value": "+34 600 777 888"}}, wantStatus: 201},
		{name: "search users", specPath: "/api/v2/search", method: "GET", path: "/api/v2/search?query=" + q("type:user phone:+34600111222"), wantStatus: 200},
		{name: "ticket create", specPath: "/api/v2/tickets", method: "POST", path: "/api/v2/tickets.json", wantStatus: 201,
			body: map[string]any{"ticket": map[string]any{"subject": "WhatsApp: Ana", "requester_id": ana, "priority": "normal",
				"type": "question", "tags": []string{"whatsapp"}, "external_id": "conv-1", "brand_id": 1, "group_id": 2,
				"custom_fields": []any{map[string]any{"id": 360001, "value": "+34600111222"}},
				"comment":       map[string]any{"body": "Hola", "author_id": ana, "public": true, "uploads": []string{str(up.body, "upload", "token")}}}}},
		{name: "ticket create follow-up", specPath: "/api/v2/tickets", method: "POST", path: "/api/v2/tickets", wantStatus: 201,
			body: map[string]any{"ticket": map[string]any{"via_followup_source_id": closed, "comment": map[string]any{"body": "again", "author_id": ana}}}},
		{name: "ticket show", specPath: "/api/v2/tickets/{ticket_id}", method: "GET", path: tkPath + ".json", wantStatus: 200},
		{name: "ticket update", specPath: "/api/v2/tickets/{ticket_id}", method: "PUT", path: tkPath, wantStatus: 200,
			body: map[string]any{"ticket": map[string]any{"status": "pending", "priority": "high", "assignee_id": defaultAgentID,
				"comment": map[string]any{"body": "note", "public": false}}}},
		{name: "ticket update closed", specPath: "/api/v2/tickets/{ticket_id}", method: "PUT", path: "/api/v2/tickets/" + itoa(closed),
			body: map[string]any{"ticket": map[string]any{"comment": map[string]any{"body": "x", "author_id": ana}}}, wantStatus: 422},
		{name: "comments offset", specPath: "/api/v2/tickets/{ticket_id}/comments", method: "GET", path: tkPath + "/comments", wantStatus: 200},
		{name: "comments cursor", specPath: "/api/v2/tickets/{ticket_id}/comments", method: "GET",
			path: tkPath + "/comments.json?page[size]=2&sort=-created_at", wantStatus: 200},
		{name: "ticket update with metadata", specPath: "/api/v2/tickets/{ticket_id}", method: "PUT", path: tkPath + ".json", wantStatus: 200,
			body: map[string]any{"ticket": map[string]any{"metadata": map[string]any{"deskbridge_key": "wamid.HBgL"},
				"comment": map[string]any{"body": "with a key", "author_id": ana, "public": true}}}},
		{name: "audits offset", specPath: "/api/v2/tickets/{ticket_id}/audits", method: "GET", path: tkPath + "/audits.json", wantStatus: 200},
		{name: "audits offset page 2", specPath: "/api/v2/tickets/{ticket_id}/audits", method: "GET",
			path: tkPath + "/audits?page=2&per_page=2", wantStatus: 200},
		{name: "audits cursor", specPath: "/api/v2/tickets/{ticket_id}/audits", method: "GET",
			path: tkPath + "/audits?page[size]=2", wantStatus: 200},
		{name: "audits unknown ticket", specPath: "/api/v2/tickets/{ticket_id}/audits", method: "GET",
			path: "/api/v2/tickets/999999/audits", wantStatus: 404},
		{name: "upload", specPath: "/api/v2/uploads", method: "POST", path: "/api/v2/uploads.json?filename=c.pdf",
			body: []byte("%PDF-1.4"), contentType: "application/pdf", wantStatus: 201},
		{name: "upload delete", specPath: "/api/v2/uploads/{token}", method: "DELETE",
			path: "/api/v2/uploads/" + str(doomed.body, "upload", "token"), wantStatus: 204},
		{name: "triggers list", specPath: "/api/v2/triggers", method: "GET", path: "/api/v2/triggers?active=true&sort_by=position", wantStatus: 200},
		{name: "trigger create", specPath: "/api/v2/triggers", method: "POST", path: "/api/v2/triggers.json",
			body: map[string]any{"trigger": replyTrigger(hook, `{"ticket_id":"{{ticket.id}}"}`)}, wantStatus: 201},
		{name: "trigger update", specPath: "/api/v2/triggers/{trigger_id}", method: "PUT", path: "/api/v2/triggers/" + trigID,
			body: map[string]any{"trigger": replyTrigger(hook, `{"id":"{{ticket.id}}","c":"{{ticket.latest_public_comment.id}}"}`)}, wantStatus: 200},
		{name: "trigger show", specPath: "/api/v2/triggers/{trigger_id}", method: "GET", path: "/api/v2/triggers/" + trigID, wantStatus: 200},
		{name: "ticket fields", specPath: "/api/v2/ticket_fields", method: "GET", path: "/api/v2/ticket_fields.json", wantStatus: 200},
		{name: "ticket fields cursor", specPath: "/api/v2/ticket_fields", method: "GET", path: "/api/v2/ticket_fields?page[size]=100", wantStatus: 200},
		{name: "ticket fields cursor page 2", specPath: "/api/v2/ticket_fields", method: "GET",
			path: "/api/v2/ticket_fields?page[size]=5&page[after]=" + encodeCursor(itoa(BuiltinPriorityFieldID)), wantStatus: 200},
		{name: "user fields", specPath: "/api/v2/user_fields", method: "GET", path: "/api/v2/user_fields", wantStatus: 200},
		{name: "user fields cursor", specPath: "/api/v2/user_fields", method: "GET", path: "/api/v2/user_fields?page[size]=100", wantStatus: 200},
		{name: "groups", specPath: "/api/v2/groups", method: "GET", path: "/api/v2/groups.json", wantStatus: 200},
		{name: "groups cursor", specPath: "/api/v2/groups", method: "GET", path: "/api/v2/groups?page[size]=1", wantStatus: 200},
		{name: "brands", specPath: "/api/v2/brands", method: "GET", path: "/api/v2/brands", wantStatus: 200},
		{name: "brands cursor", specPath: "/api/v2/brands", method: "GET", path: "/api/v2/brands?page[size]=100", wantStatus: 200},
		{name: "ticket forms", specPath: "/api/v2/ticket_forms", method: "GET", path: "/api/v2/ticket_forms.json", wantStatus: 200},
		{name: "ticket forms active", specPath: "/api/v2/ticket_forms", method: "GET", path: "/api/v2/ticket_forms?active=true", wantStatus: 200},
		{name: "webhooks list", skip: noWebhooks},
		{name: "webhook create", skip: noWebhooks},
		{name: "webhook show", skip: noWebhooks},
		{name: "webhook signing secret", skip: noWebhooks},
	}
	for _, tc := range cases { // in order: later cases see earlier writes
		t.Run(tc.name, func(t *testing.T) {
			if tc.skip != "" {
				t.Skip(tc.skip)
			}
			checkContract(t, doc, b, tc)
		})
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
	switch v := tc.body.(type) {
	case nil:
	case []byte:
		body = v
	default:
		body, _ = json.Marshal(v)
	}
	contentType := tc.contentType
	if contentType == "" {
		contentType = "application/json"
	}
	newReq := func() *http.Request {
		req, err := http.NewRequestWithContext(ctx, tc.method, b.srv.URL+tc.path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", basicAuth)
		if body != nil {
			req.Header.Set("Content-Type", contentType)
		}
		return req
	}
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}
	if contentType != "application/json" {
		opts.ExcludeRequestBody = true // raw uploads: the spec declares no request body
	}
	in := &openapi3filter.RequestValidationInput{
		Request:    newReq(),
		PathParams: pathParams(tc.specPath, strings.TrimSuffix(strings.SplitN(tc.path, "?", 2)[0], ".json")),
		Route:      &routers.Route{Spec: doc, Path: tc.specPath, PathItem: pathItem, Method: tc.method, Operation: op},
		Options:    opts,
	}
	if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
		t.Errorf("request does not match the spec: %v", err)
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
	if op.Responses.Status(resp.StatusCode) == nil {
		// Zendesk's spec lists no error answers; their bodies are checked
		// against the recorded error payloads in payloads_test.go.
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

// pathParams matches a path template such as /api/v2/users/{user_id}
// against a path.
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

// second returns the error of a (value, error) pair.
func second[T any](_ T, err error) error { return err }
