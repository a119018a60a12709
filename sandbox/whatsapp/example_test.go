package whatsapp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	wasandbox "github.com/deskbridge/deskbridge/sandbox/whatsapp"
)

// The fake enforces the customer service window: a text to a customer who
// never wrote is refused with 131047; after an inbound message it is sent.
func Example() {
	fake := wasandbox.New(wasandbox.Options{
		AccessToken: "token",
		AppSecret:   "secret",
		Numbers: []wasandbox.Number{{PhoneNumberID: "106540352242922", WABAID: "102290129340398",
			DisplayPhoneNumber: "+1 555-078-3881"}},
		Templates: wasandbox.DefaultTemplates(),
	})
	srv := httptest.NewServer(fake)
	defer srv.Close()
	defer fake.Close()
	fake.SetBaseURL(srv.URL)

	send := func() {
		body := `{"messaging_product":"whatsapp","to":"+34600111222","type":"text","text":{"body":"Hello"}}`
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v23.0/106540352242922/messages", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer token")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		defer resp.Body.Close()
		var out struct {
			Error struct {
				Code int `json:"code"`
			} `json:"error"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&out)
		fmt.Println(resp.StatusCode, out.Error.Code)
	}

	send()
	// No callback URL is set here, so the webhook is queued and dropped; the
	// service window opens all the same.
	_, _, _ = fake.Inbound(context.Background(), wasandbox.InboundParams{From: "+34600111222", Name: "Ana", Text: "Hola", Async: true})
	send()
	fmt.Println(len(fake.Outbound("+34600111222")))
	// Output:
	// 400 131047
	// 200 0
	// 1
}
