// Package whatsapp is a stateful fake of Meta's WhatsApp Cloud API (Graph
// API v23.0 paths and bodies), used by the `deskbridge sandbox` command and by
// end-to-end tests. Importers alias it (e.g. wasandbox), since
// connectors/whatsapp has the same name.
//
// A [Server] is an http.Handler; run it on httptest.NewServer or any
// listener, then call SetBaseURL with its external URL and SetCallback with
// the bridge's webhook URL:
//
//	fake := wasandbox.New(wasandbox.Options{
//		AccessToken: "token", AppSecret: "secret",
//		Numbers:   []wasandbox.Number{{PhoneNumberID: "106540352242922", WABAID: "102290129340398", DisplayPhoneNumber: "+1 555-078-3881"}},
//		Templates: wasandbox.DefaultTemplates(),
//	})
//	srv := httptest.NewServer(fake)
//	fake.SetBaseURL(srv.URL)
//	fake.SetCallback(bridgeURL + "/webhooks/whatsapp")
//	defer fake.Close()
//
// Cloud API surface (all need "Authorization: Bearer <AccessToken>"):
//
//	POST   /{v}/{phone-number-id}/messages      send (every type) and mark-as-read
//	POST   /{v}/{phone-number-id}/media         multipart upload
//	GET    /{v}/{media-id}                      media URL (expires after 5 minutes)
//	DELETE /{v}/{media-id}
//	GET    /{v}/{waba-id}/message_templates     cursor paging, ?name= ?status= ?language= ?fields=
//	GET    /{v}/{phone-number-id}?fields=…      the phone-number node
//	GET    /_media/{id}?expires=…&sig=…         download (token needed; 404 once expired)
//
// Errors use Meta's body {"error":{"message":"(#code) title","type",
// "code","error_data":{"messaging_product","details"},"fbtrace_id"}} with HTTP
// 400 for every request error, including throughput (130429) and pair rate
// (131056), which the Cloud API reports as 400 rather than 429; 401 for the
// token. Send validation follows one rule: a required parameter that is
// missing is 131008, a value that breaks a rule is 131009, a wrong JSON type
// or an unknown enum value is 100. Unknown ids answer the Graph API's
// "Unsupported … request" (400, GraphMethodException, code 100, subcode 33).
//
// State: a service window per (number, customer) opened by inbound
// messages; a template registry per WABA; a token bucket per number and a
// sliding pair window per (number, recipient); media; the outbound log with
// read marks. Time comes from a fake clock (real time plus an offset moved
// by AdvanceClock/SetClock, or Options.Now plus the offset).
//
// Webhooks are signed with the app secret over the exact bytes sent, which
// are Meta's serialisation (non-ASCII escaped as \uXXXX). They go through a
// single queue with retry and exponential backoff for any answer other than
// 200; WebhookOptions add delays, duplicates, out-of-order statuses and
// scripted failures. Flush waits for the queue to drain.
//
// The control API under /_sandbox/ (no token) mirrors the Go methods; see
// control.go for its routes.
package whatsapp
