package zendesk

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// payloadDir holds real Zendesk bodies, relative to this package directory.
const payloadDir = "../../../shared/payloads/zendesk"

// loadPayload reads a recorded body, skipping the test when the shared
// payloads are absent.
func loadPayload(t *testing.T, name string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(payloadDir, name))
	if err != nil {
		t.Skipf("recorded payload %s is not available (%v); this test needs the shared payloads", name, err)
	}
	var v map[string]any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

// jsonKind names the JSON type of v ("" for null).
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return ""
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	return fmt.Sprintf("%T", v)
}

// sameShape reports every key of want missing from got, and every value
// whose JSON type differs where both are set; objects are compared down to
// depth levels, arrays by their first elements.
func sameShape(want, got any, path string, depth int, skip []string) []string {
	var out []string
	wm, ok1 := want.(map[string]any)
	gm, ok2 := got.(map[string]any)
	if !ok1 || !ok2 {
		return nil
	}
	for k, wv := range wm {
		p := path + "." + k
		if slices.Contains(skip, k) {
			continue
		}
		gv, ok := gm[k]
		if !ok {
			out = append(out, "missing "+p)
			continue
		}
		if jsonKind(wv) != "" && jsonKind(gv) != "" && jsonKind(wv) != jsonKind(gv) {
			out = append(out, fmt.Sprintf("%s is %s, recorded %s", p, jsonKind(gv), jsonKind(wv)))
			continue
		}
		if depth > 0 {
			if wa, ok := wv.([]any); ok {
				if ga, ok := gv.([]any); ok && len(wa) > 0 && len(ga) > 0 {
					wv, gv = wa[0], ga[0]
				}
			}
			out = append(out, sameShape(wv, gv, p, depth-1, skip)...)
		}
	}
	return out
}

func TestBodiesHaveTheRecordedShapes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ana := b.createUser(t, map[string]any{"name": "Ana", "email": "ana@acme.test", "phone": "+34600111222"})
	up := b.uploadFile(t, "?filename=crash.png", "image/png", []byte("png")).want(t, http.StatusCreated)
	tk := b.createTicket(t, ana, map[string]any{"comment": map[string]any{"body": "Hello",
		"uploads": []string{str(up.body, "upload", "token")}}})
	if err := b.fake.SetTicketStatus(context.Background(), tk, "solved"); err != nil {
		t.Fatal(err)
	}
	hook := b.createWebhook(t, "Example Webhook", map[string]any{"authentication": map[string]any{"type": "basic_auth",
		"add_position": "header", "data": map[string]any{"username": "u", "password": "p"}}})
	trig := b.do(t, http.MethodPost, "/api/v2/triggers", map[string]any{"trigger": replyTrigger(hook, "{}")}).want(t, http.StatusCreated)
	upload := b.uploadFile(t, "?filename=crash.png", "image/png", []byte("png")).want(t, http.StatusCreated)
	get := func(path string) map[string]any {
		return b.do(t, http.MethodGet, path, nil).want(t, http.StatusOK).body
	}
	tests := []struct {
		name    string
		payload string
		got     map[string]any
		depth   int
		skip    []string
	}{
		// custom_status_id exists only with custom ticket statuses.
		{"ticket", "go-zendesk__GET_ticket.json", get("/api/v2/tickets/" + itoa(tk)), 3, []string{"custom_status_id"}},
		{"user", "go-zendesk__GET_user.json", get("/api/v2/users/" + itoa(ana)), 1, nil},
		{"search users", "go-zendesk__GET_search_user.json", get("/api/v2/search?query=type:user+ana"), 2,
			[]string{"photo", "user_fields"}}, // custom user fields are the recording account's own
		{"comments", "go-zendesk__GET_ticket_comments.json", get("/api/v2/tickets/" + itoa(tk) + "/comments?page[size]=1"), 2, nil},
		{"comments (spec example)", "oas-examples/TicketCommentsResponseExample.json", get("/api/v2/tickets/" + itoa(tk) + "/comments"), 3,
			[]string{"latitude", "longitude", "location"}},
		// location is Zendesk's geolocation of the client's IP address.
		{"audits", "go-zendesk__GET_ticket_audits.json", get("/api/v2/tickets/" + itoa(tk) + "/audits"), 4, []string{"location"}},
		{"audits (spec example)", "oas-examples/TicketAuditsForTicketResponseExample.json", get("/api/v2/tickets/" + itoa(tk) + "/audits.json"), 4,
			[]string{"location"}},
		// height and width are only known for images Zendesk has processed.
		{"upload", "oas-examples/AttachmentUploadResponseExample.json", upload.body, 3, []string{"height", "width"}},
		{"identities", "oas-examples/UserIdentitiesResponseExample.json", get("/api/v2/users/" + itoa(ana) + "/identities"), 2, nil},
		{"webhook", "go-zendesk__GET_webhook.json", get("/api/v2/webhooks/" + hook), 2, nil},
		{"trigger", "go-zendesk__GET_trigger.json", map[string]any{"trigger": trig.body["trigger"]}, 2, nil},
		{"triggers page", "amp-labs__read_triggers-1-first-page.json", get("/api/v2/triggers?page[size]=1"), 1, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, d := range sameShape(loadPayload(t, tc.payload), tc.got, "", tc.depth, tc.skip) {
				t.Error(d)
			}
		})
	}
}

func TestErrorBodiesMatchTheRecordedOnes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		name    string
		payload string
		got     result
		exact   bool
	}{
		{"unknown endpoint", "amp-labs__resource-not-found.json", b.do(t, http.MethodGet, "/api/v2/brandz", nil), true},
		{"missing parameter", "amp-labs__missing-parameter.json", b.do(t, http.MethodPost, "/api/v2/users", map[string]any{}), false},
		{"record invalid", "amp-labs__record-validation.json",
			b.do(t, http.MethodPost, "/api/v2/users", map[string]any{"user": map[string]any{"name": "", "email": "bad"}}), false},
		{"duplicate", "amp-labs__duplicate-error.json",
			func() result {
				b.createUser(t, map[string]any{"name": "A", "external_id": "x1"})
				return b.do(t, http.MethodPost, "/api/v2/users", map[string]any{"user": map[string]any{"name": "B", "external_id": "x1"}})
			}(), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			want := loadPayload(t, tc.payload)
			if tc.exact {
				w, _ := json.Marshal(want)
				g, _ := json.Marshal(tc.got.body)
				if string(w) != string(g) {
					t.Fatalf("body = %s, recorded %s", g, w)
				}
				return
			}
			if str(tc.got.body, "error") != str(want, "error") {
				t.Fatalf("error = %s, recorded %v", tc.got.raw, want["error"])
			}
			// details keys differ by resource; compare one entry's shape.
			if wd, ok := want["details"].(map[string]any); ok {
				gd, _ := tc.got.body["details"].(map[string]any)
				var wEntry, gEntry any
				for _, v := range wd {
					wEntry = v
				}
				for _, v := range gd {
					gEntry = v
				}
				for _, d := range sameShape(map[string]any{"d": wEntry}, map[string]any{"d": gEntry}, "details", 2, nil) {
					t.Error(d)
				}
			}
			for _, d := range sameShape(want, tc.got.body, "", 0, []string{"details"}) {
				t.Error(d)
			}
		})
	}
}
