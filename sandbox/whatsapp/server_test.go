package whatsapp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"
)

func TestAuthVersionAndRouting(t *testing.T) {
	t.Parallel()
	b := setup(t)
	pn := "/" + testVersion + "/" + testPN
	tests := []struct {
		name       string
		method     string
		path       string
		token      string
		wantStatus int
		wantCode   int
		wantText   string
	}{
		{"missing token", http.MethodGet, pn, "", 401, 104, "access token is required"},
		{"wrong token", http.MethodGet, pn, "nope", 401, 190, "Invalid OAuth access token"},
		{"token in query", http.MethodGet, pn + "?access_token=" + testToken, "", 200, 0, ""},
		{"other version", http.MethodGet, "/v22.0/" + testPN, testToken, 400, 100, "Invalid version"},
		{"malformed version", http.MethodGet, "/latest/" + testPN, testToken, 400, 100, "Invalid version"},
		{"unknown phone number", http.MethodGet, "/" + testVersion + "/999", testToken, 400, 100, "Object with ID '999' does not exist"},
		{"unknown number on messages", http.MethodPost, "/" + testVersion + "/999/messages", testToken, 400, 100, "Unsupported post request"},
		{"unknown number on media", http.MethodPost, "/" + testVersion + "/999/media", testToken, 400, 100, "Unsupported post request"},
		{"unknown waba", http.MethodGet, "/" + testVersion + "/999/message_templates", testToken, 400, 100, "Unsupported get request"},
		{"unknown edge", http.MethodGet, pn + "/calls", testToken, 400, 2500, "Unknown path components"},
		{"wrong method on messages", http.MethodGet, pn + "/messages", testToken, 400, 100, "Unsupported get request"},
		{"post on node", http.MethodPost, pn, testToken, 400, 100, "Unsupported post request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			status, body := b.doToken(t, tc.method, tc.path, nil, tc.token)
			if tc.wantCode == 0 {
				if status != tc.wantStatus {
					t.Fatalf("status = %d, want %d: %v", status, tc.wantStatus, body)
				}
				return
			}
			wantError(t, status, body, tc.wantStatus, tc.wantCode, tc.wantText)
		})
	}
}

func TestUnauthorizedCarriesSubcodeAndHeader(t *testing.T) {
	t.Parallel()
	b := setup(t)
	req, _ := http.NewRequest(http.MethodGet, b.srv.URL+"/"+testVersion+"/"+testPN, nil)
	req.Header.Set("Authorization", "Bearer wrong")
	resp, err := b.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("status %d, WWW-Authenticate %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	_, body := b.doToken(t, http.MethodGet, "/"+testVersion+"/"+testPN, nil, "wrong")
	e := body["error"].(map[string]any)
	if e["type"] != "OAuthException" || e["error_subcode"] != float64(463) {
		t.Fatalf("error = %v", e)
	}
}

func TestPhoneNumberNode(t *testing.T) {
	t.Parallel()
	b := setup(t)
	path := "/" + testVersion + "/" + testPN
	tests := []struct {
		name   string
		query  string
		want   map[string]any
		absent []string
	}{
		{"default fields", "", map[string]any{
			"id": testPN, "display_phone_number": "+1 555-078-3881",
			"verified_name": DefaultVerifiedName, "quality_rating": "GREEN",
		}, []string{"throughput", "whatsapp_business_manager_messaging_limit"}},
		{"requested fields", "?fields=whatsapp_business_manager_messaging_limit,throughput", map[string]any{
			"id": testPN, "whatsapp_business_manager_messaging_limit": "TIER_250",
			"throughput": map[string]any{"level": "STANDARD"},
		}, []string{"display_phone_number", "quality_rating"}},
		{"status fields", "?fields=name_status,code_verification_status", map[string]any{
			"name_status": "APPROVED", "code_verification_status": "VERIFIED",
		}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			status, body := b.do(t, http.MethodGet, path+tc.query, nil)
			if status != http.StatusOK {
				t.Fatalf("status %d: %v", status, body)
			}
			for k, v := range tc.want {
				if got := body[k]; !jsonEqual(got, v) {
					t.Errorf("%s = %v, want %v", k, got, v)
				}
			}
			for _, k := range tc.absent {
				if _, ok := body[k]; ok {
					t.Errorf("%s present, want absent", k)
				}
			}
		})
	}
	t.Run("unknown field", func(t *testing.T) {
		t.Parallel()
		status, body := b.do(t, http.MethodGet, path+"?fields=foo", nil)
		wantError(t, status, body, 400, 100, "nonexisting field (foo)")
	})
}

func TestSetLimitsShowsOnNode(t *testing.T) {
	t.Parallel()
	b := setup(t)
	if _, err := b.fake.SetLimits(Limits{PhoneNumberID: testPN, ThroughputMPS: 1000,
		MessagingLimit: "TIER_2K", QualityRating: "YELLOW"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.fake.SetLimits(Limits{PhoneNumberID: "nope"}); err == nil {
		t.Error("SetLimits accepted an unknown number")
	}
	_, body := b.do(t, http.MethodGet, "/"+testVersion+"/"+testPN+
		"?fields=quality_rating,whatsapp_business_manager_messaging_limit,throughput", nil)
	if body["quality_rating"] != "YELLOW" || body["whatsapp_business_manager_messaging_limit"] != "TIER_2K" ||
		str(body, "throughput", "level") != "HIGH" {
		t.Fatalf("node = %v", body)
	}
}

func TestCountryCode(t *testing.T) {
	t.Parallel()
	tests := []struct{ digits, want string }{
		{"15550783881", "1"}, {"34910000000", "34"}, {"5511999998888", "55"},
		{"351912345678", "351"}, {"79161234567", "7"}, {"4915112345678", "49"},
	}
	for _, tc := range tests {
		if got := countryCode(tc.digits); got != tc.want {
			t.Errorf("countryCode(%s) = %s, want %s", tc.digits, got, tc.want)
		}
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Error("New without numbers did not panic")
		}
	}()
	New(Options{})
}

// jsonEqual compares decoded JSON values shallowly for maps of strings.
func jsonEqual(a, b any) bool {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok != bok {
		return false
	}
	if !aok {
		return a == b
	}
	if len(am) != len(bm) {
		return false
	}
	for k, v := range am {
		if !jsonEqual(v, bm[k]) {
			return false
		}
	}
	return true
}

// TestConcurrentUse drives every part of the fake at once; run with -race.
// The workers report problems on a channel: t.Fatal belongs to the test goroutine.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	b := setup(t)
	uploadType, upload := uploadForm{fileType: "image/png", filename: "a.png", data: pngBytes}.encode(t)
	call := func(method, path, contentType string, body []byte) (int, error) {
		req, err := http.NewRequest(method, b.srv.URL+path, bytes.NewReader(body))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Authorization", "Bearer "+testToken)
		req.Header.Set("Content-Type", contentType)
		resp, err := b.srv.Client().Do(req)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode, nil
	}
	const workers = 8
	var wg sync.WaitGroup
	errs := make(chan string, workers*8)
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			to := fmt.Sprintf("+3460011%04d", i)
			id, _, err := b.fake.Inbound(context.Background(), InboundParams{From: to, Text: "hi", Async: i%2 == 0})
			if err != nil {
				errs <- "inbound: " + err.Error()
				return
			}
			msgs := "/" + testVersion + "/" + testPN + "/messages"
			for range 3 {
				body, _ := json.Marshal(text(to, "reply"))
				if st, err := call(http.MethodPost, msgs, "application/json", body); st != 200 {
					errs <- fmt.Sprintf("send: %d %v", st, err)
				}
			}
			read, _ := json.Marshal(map[string]any{"messaging_product": "whatsapp", "status": "read", "message_id": id})
			if st, err := call(http.MethodPost, msgs, "application/json", read); st != 200 {
				errs <- fmt.Sprintf("mark read: %d %v", st, err)
			}
			if st, err := call(http.MethodPost, "/"+testVersion+"/"+testPN+"/media", uploadType, upload); st != 200 {
				errs <- fmt.Sprintf("upload: %d %v", st, err)
			}
			if st, err := call(http.MethodGet, "/"+testVersion+"/"+testWABA+"/message_templates", "", nil); st != 200 {
				errs <- fmt.Sprintf("template list: %d %v", st, err)
			}
			o := b.fake.WebhookOptions()
			o.Duplicate = i%3 == 0
			b.fake.SetWebhookOptions(o)
			b.fake.Outbound(to)
			b.fake.Deliveries()
			b.fake.AdvanceClock(time.Millisecond)
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	b.flush(t)
	if n := len(b.fake.Outbound("")); n != workers*3 {
		t.Errorf("%d outbound messages, want %d", n, workers*3)
	}
	if n := len(b.fake.ReadMarks("")); n != workers {
		t.Errorf("%d read marks, want %d", n, workers)
	}
	b.recv.all(t) // every webhook verified and parsed
}
