package zendesk

import (
	"bytes"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"

	"github.com/deskbridge/deskbridge/connectors"
)

var (
	ana     = connectors.ContactRef{Vendor: "zendesk", Account: "acme", ID: "7", ExternalID: extID}
	ticket4 = connectors.TicketRef{Vendor: "zendesk", Account: "acme", ID: "4"}
	photo   = connectors.Attachment{Filename: "photo.jpg", ContentType: "image/jpeg", Data: []byte{0xff, 0xd8, 0xff, 0xe0, 1, 2}}
	invoice = connectors.Attachment{Filename: "invoice.pdf", ContentType: "application/pdf", Data: []byte("%PDF-1.4\n...")}
)

// checkUpload checks an upload request: filename query, Content-Type and
// the raw bytes.
func checkUpload(t *testing.T, got captured, a connectors.Attachment) {
	t.Helper()
	if got.Method != "POST" || got.Path != "/api/v2/uploads.json" || !reflect.DeepEqual(got.Query, q("filename", a.Filename)) {
		t.Errorf("upload = %s %s?%s", got.Method, got.Path, got.Query.Encode())
	}
	if ct := got.Header.Get("Content-Type"); ct != a.ContentType {
		t.Errorf("upload Content-Type = %q, want %q", ct, a.ContentType)
	}
	if !bytes.Equal(got.Body, a.Data) {
		t.Errorf("upload body = %q, want the raw file", got.Body)
	}
}

func TestCreateTicket(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *Config) { c.BrandID, c.GroupID, c.FormID = 1, 2, 3 })
	tokens := 0
	b.mock.RegisterResponder("POST", testBase+"/api/v2/uploads.json", func(req *http.Request) (*http.Response, error) {
		b.rec.record(req)
		tokens++
		return httpmock.NewStringResponse(201, `{"upload":{"token":"tok`+string(rune('0'+tokens))+`"}}`), nil
	})
	b.on("POST", "/api/v2/tickets.json", reply{status: 201, body: payload(t, "go-zendesk__POST_ticket.json")})
	res, err := b.client.CreateTicket(t.Context(), &connectors.CreateTicketParams{
		Requester: ana, Subject: "WhatsApp: Ana", Body: "hello", Attachments: []connectors.Attachment{photo, invoice},
		Tags: []string{"whatsapp", "deskbridge"}, CustomFields: map[string]any{"360001": "+34600111222", "25": true},
		Priority: "high", Type: "question", GroupID: "20", FollowUpOf: "99", IdempotencyKey: "wamid.HBgL",
	})
	if err != nil {
		t.Fatalf("CreateTicket: %v", err)
	}
	wantRef := connectors.TicketRef{Vendor: "zendesk", Account: "acme", ID: "4"}
	if res.Ticket != wantRef || res.Comment != (connectors.CommentRef{Ticket: wantRef, ID: "653915434312"}) {
		t.Errorf("result = %+v", res)
	}
	reqs := b.rec.all()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 2 uploads and the ticket", len(reqs))
	}
	checkUpload(t, reqs[0], photo)
	checkUpload(t, reqs[1], invoice)
	tk := reqs[2]
	if tk.Method != "POST" || tk.Path != "/api/v2/tickets.json" || tk.Header.Get("Idempotency-Key") != "wamid.HBgL" {
		t.Errorf("create = %s %s, Idempotency-Key %q", tk.Method, tk.Path, tk.Header.Get("Idempotency-Key"))
	}
	jsonEqual(t, tk.Body, []byte(`{"ticket":{"requester_id":7,"submitter_id":7,"subject":"WhatsApp: Ana",
		"comment":{"body":"hello","public":true,"author_id":7,"uploads":["tok1","tok2"]},
		"tags":["whatsapp","deskbridge"],"custom_fields":[{"id":25,"value":true},{"id":360001,"value":"+34600111222"}],
		"priority":"high","type":"question","brand_id":1,"group_id":20,"ticket_form_id":3,"via_followup_source_id":99,
		"metadata":{"deskbridge_key":"wamid.HBgL"}}}`))
}

func TestCreateTicketMinimal(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.on("POST", "/api/v2/tickets.json", reply{status: 201, body: `{"ticket":{"id":5}}`})
	res, err := b.client.CreateTicket(t.Context(), &connectors.CreateTicketParams{Requester: ana, Body: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Ticket.ID != "5" || res.Comment.ID != "" {
		t.Errorf("result = %+v, want ticket 5 and no comment id (no audit)", res)
	}
	checkRequests(t, b, basicAuth, want{method: "POST", path: "/api/v2/tickets.json",
		body: `{"ticket":{"requester_id":7,"submitter_id":7,"comment":{"body":"hi","public":true,"author_id":7}}}`})
	if h := b.rec.all()[0].Header; h.Get("Idempotency-Key") != "" {
		t.Errorf("Idempotency-Key sent without a key: %q", h.Get("Idempotency-Key"))
	}
}

func TestCreateTicketFilesOnly(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.on("POST", "/api/v2/uploads.json", reply{status: 201, body: `{"upload":{"token":"t"}}`})
	b.on("POST", "/api/v2/tickets.json", reply{status: 201, body: `{"ticket":{"id":5}}`})
	if _, err := b.client.CreateTicket(t.Context(), &connectors.CreateTicketParams{Requester: ana,
		Attachments: []connectors.Attachment{photo}}); err != nil {
		t.Fatal(err)
	}
	reqs := b.rec.all()
	jsonEqual(t, reqs[1].Body, []byte(`{"ticket":{"requester_id":7,"submitter_id":7,
		"comment":{"body":"📎 photo.jpg","public":true,"author_id":7,"uploads":["t"]}}}`))
}

// TestCreateTicketRetry: with a key, a 503 is retried at once with the
// same body and key; without, a POST is not retried. A retried call reuses
// the upload tokens of the same files.
func TestCreateTicketRetry(t *testing.T) {
	t.Parallel()
	t.Run("with key", func(t *testing.T) {
		t.Parallel()
		b := setup(t, nil)
		b.on("POST", "/api/v2/uploads.json", reply{status: 201, body: `{"upload":{"token":"t1"}}`})
		b.on("POST", "/api/v2/tickets.json", reply{status: 503, body: `{"error":"unavailable"}`},
			reply{status: 201, body: `{"ticket":{"id":6}}`})
		p := &connectors.CreateTicketParams{Requester: ana, Body: "hi", Attachments: []connectors.Attachment{photo}, IdempotencyKey: "k1"}
		res, err := b.client.CreateTicket(t.Context(), p)
		if err != nil || res.Ticket.ID != "6" {
			t.Fatalf("CreateTicket = %+v, %v", res, err)
		}
		reqs := b.rec.all()
		if len(reqs) != 3 || !bytes.Equal(reqs[1].Body, reqs[2].Body) || reqs[2].Header.Get("Idempotency-Key") != "k1" {
			t.Fatalf("requests = %+v, want one upload and the same create twice", reqs)
		}
		// A later retry of the job (same key, same files) sends the same body.
		if _, err := b.client.CreateTicket(t.Context(), p); err != nil {
			t.Fatal(err)
		}
		reqs = b.rec.all()
		if len(reqs) != 4 || reqs[3].Path != "/api/v2/tickets.json" || !bytes.Equal(reqs[3].Body, reqs[1].Body) {
			t.Errorf("retry = %d requests, last %s %s: want no new upload, same body", len(reqs), reqs[len(reqs)-1].Path, reqs[len(reqs)-1].Body)
		}
	})
	t.Run("without key", func(t *testing.T) {
		t.Parallel()
		b := setup(t, nil)
		b.on("POST", "/api/v2/tickets.json", reply{status: 503, body: `{"error":"unavailable"}`})
		_, err := b.client.CreateTicket(t.Context(), &connectors.CreateTicketParams{Requester: ana, Body: "hi"})
		if ce := asError(t, err); ce.Kind != connectors.Retryable || ce.Code != "unavailable" {
			t.Errorf("503 = %v, want Retryable unavailable", err)
		}
		if n := len(b.rec.all()); n != 1 {
			t.Errorf("%d attempts, want 1 (a POST without a key is not retried)", n)
		}
	})
}

func TestCreateTicketInvalid(t *testing.T) {
	t.Parallel()
	big := connectors.Attachment{Filename: "video.mp4", ContentType: "video/mp4", Data: make([]byte, 1025)}
	tests := []struct {
		name string
		p    connectors.CreateTicketParams
		msg  string
	}{
		{"no requester", connectors.CreateTicketParams{Body: "x"}, "requester id"},
		{"requester not digits", connectors.CreateTicketParams{Requester: connectors.ContactRef{ID: "7/../8"}, Body: "x"}, "requester id"},
		{"empty body", connectors.CreateTicketParams{Requester: ana, Body: "  "}, "body is empty"},
		{"priority", connectors.CreateTicketParams{Requester: ana, Body: "x", Priority: "asap"}, "priority"},
		{"type", connectors.CreateTicketParams{Requester: ana, Body: "x", Type: "bug"}, "type"},
		{"custom field key", connectors.CreateTicketParams{Requester: ana, Body: "x", CustomFields: map[string]any{"color": 1}}, "custom field id"},
		{"brand", connectors.CreateTicketParams{Requester: ana, Body: "x", BrandID: "b"}, "brand id"},
		{"follow-up", connectors.CreateTicketParams{Requester: ana, Body: "x", FollowUpOf: "-1"}, "follow-up"},
		{"too big", connectors.CreateTicketParams{Requester: ana, Body: "x", Attachments: []connectors.Attachment{photo, big}}, `"video.mp4" is 1025 bytes`},
		{"empty file", connectors.CreateTicketParams{Requester: ana, Body: "x", Attachments: []connectors.Attachment{{Filename: "a.txt"}}}, "empty"},
		{"no file name", connectors.CreateTicketParams{Requester: ana, Body: "x", Attachments: []connectors.Attachment{{Data: []byte("a")}}}, "no file name"},
		{"path in name", connectors.CreateTicketParams{Requester: ana, Body: "x", Attachments: []connectors.Attachment{{Filename: "../a", Data: []byte("a")}}}, "path"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, func(c *Config) { c.MaxAttachmentBytes = 1024 })
			_, err := b.client.CreateTicket(t.Context(), &tc.p)
			ce := asError(t, err)
			if ce.Kind != connectors.Permanent || !strings.Contains(ce.Message, tc.msg) {
				t.Errorf("error = %v, want Permanent about %q", err, tc.msg)
			}
			checkRequests(t, b, "")
		})
	}
}

func TestAppendMessage(t *testing.T) {
	t.Parallel()
	const audit = `{"ticket":{"id":4,"status":"open"},"audit":{"id":1,"events":[{"id":2,"type":"Change"},{"id":777,"type":"Comment"}]}}`
	tests := []struct {
		name string
		p    connectors.AppendParams
		body string
		id   string
		resp string
	}{
		{name: "public by the customer", p: connectors.AppendParams{Ticket: ticket4, Author: ana, Body: "more"},
			body: `{"ticket":{"comment":{"body":"more","public":true,"author_id":7}}}`, id: "777", resp: audit},
		{name: "reopen", p: connectors.AppendParams{Ticket: ticket4, Author: ana, Body: "again", Reopen: true},
			body: `{"ticket":{"comment":{"body":"again","public":true,"author_id":7},"status":"open"}}`, id: "777", resp: audit},
		{name: "key in the audit metadata", p: connectors.AppendParams{Ticket: ticket4, Author: ana, Body: "k", IdempotencyKey: "wamid.HBgL"},
			body: `{"ticket":{"comment":{"body":"k","public":true,"author_id":7},"metadata":{"deskbridge_key":"wamid.HBgL"}}}`, id: "777", resp: audit},
		{name: "no audit in the answer", p: connectors.AppendParams{Ticket: ticket4, Author: ana, Body: "x"},
			body: `{"ticket":{"comment":{"body":"x","public":true,"author_id":7}}}`, id: "", resp: payload(t, "go-zendesk__PUT_ticket.json")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, nil)
			b.on("PUT", "/api/v2/tickets/4.json", ok(tc.resp))
			ref, err := b.client.AppendMessage(t.Context(), &tc.p)
			if err != nil {
				t.Fatal(err)
			}
			if ref != (connectors.CommentRef{Ticket: ticket4, ID: tc.id}) {
				t.Errorf("ref = %+v, want comment %q", ref, tc.id)
			}
			checkRequests(t, b, basicAuth, want{method: "PUT", path: "/api/v2/tickets/4.json", body: tc.body})
		})
	}
}

func TestAppendMessageWithFiles(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.on("POST", "/api/v2/uploads.json", reply{status: 201, body: payload(t, "go-zendesk__POST_upload.json")})
	b.on("PUT", "/api/v2/tickets/4.json", ok(`{"ticket":{"id":4}}`))
	if _, err := b.client.AppendMessage(t.Context(), &connectors.AppendParams{Ticket: ticket4, Author: ana, Body: "see",
		Attachments: []connectors.Attachment{invoice}}); err != nil {
		t.Fatal(err)
	}
	reqs := b.rec.all()
	checkUpload(t, reqs[0], invoice)
	jsonEqual(t, reqs[1].Body, []byte(`{"ticket":{"comment":{"body":"see","public":true,"author_id":7,"uploads":["6bk3gql82em5nmf"]}}}`))
}

func TestAddNote(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		p    connectors.NoteParams
		body string
	}{
		{"internal, by the API identity", connectors.NoteParams{Ticket: ticket4, Body: "WhatsApp: not delivered (131026)"},
			`{"ticket":{"comment":{"body":"WhatsApp: not delivered (131026)","public":false}}}`},
		{"key in the audit metadata", connectors.NoteParams{Ticket: ticket4, Body: "n", IdempotencyKey: "note:wamid.1"},
			`{"ticket":{"comment":{"body":"n","public":false},"metadata":{"deskbridge_key":"note:wamid.1"}}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, nil)
			b.on("PUT", "/api/v2/tickets/4.json", ok(`{"ticket":{"id":4},"audit":{"events":[{"id":88,"type":"Comment"}]}}`))
			ref, err := b.client.AddNote(t.Context(), &tc.p)
			if err != nil || ref.ID != "88" {
				t.Fatalf("AddNote = %+v, %v", ref, err)
			}
			checkRequests(t, b, basicAuth, want{method: "PUT", path: "/api/v2/tickets/4.json", body: tc.body})
		})
	}
}

const closedBody = `{"error":"RecordInvalid","description":"Record validation errors",
	"details":{"status":[{"description":"Status: closed prevents ticket update"}]}}`

func TestClosedTicket(t *testing.T) {
	t.Parallel()
	isClosed := func(t *testing.T, err error) {
		t.Helper()
		ce := asError(t, err)
		if ce.Kind != connectors.Conflict || ce.Code != connectors.CodeTicketClosed {
			t.Fatalf("error = %v, want Conflict %s", err, connectors.CodeTicketClosed)
		}
	}
	t.Run("refused by Zendesk, then known", func(t *testing.T) {
		t.Parallel()
		b := setup(t, nil)
		b.on("PUT", "/api/v2/tickets/4.json", reply{status: 422, body: closedBody})
		_, err := b.client.AppendMessage(t.Context(), &connectors.AppendParams{Ticket: ticket4, Author: ana, Body: "x"})
		isClosed(t, err)
		if ce := asError(t, err); ce.Status != 422 || !strings.Contains(ce.Details, "closed prevents") {
			t.Errorf("closed error lost the answer: %+v", ce)
		}
		_, err = b.client.AddNote(t.Context(), &connectors.NoteParams{Ticket: ticket4, Body: "n"})
		isClosed(t, err)
		if n := len(b.rec.all()); n != 1 {
			t.Errorf("%d requests, want 1: a known closed ticket is not written to", n)
		}
	})
	t.Run("read closed by Ticket", func(t *testing.T) {
		t.Parallel()
		b := setup(t, nil)
		b.on("GET", "/api/v2/tickets/4.json", ok(`{"ticket":{"id":4,"status":"closed","requester_id":7}}`))
		if st, err := b.client.Ticket(t.Context(), ticket4); err != nil || st.Status != connectors.TicketClosed {
			t.Fatalf("Ticket = %+v, %v", st, err)
		}
		_, err := b.client.AppendMessage(t.Context(), &connectors.AppendParams{Ticket: ticket4, Author: ana, Body: "x"})
		isClosed(t, err)
		checkRequests(t, b, basicAuth, want{method: "GET", path: "/api/v2/tickets/4.json"})
	})
	t.Run("status refusal on reopen confirmed by reading the ticket", func(t *testing.T) {
		t.Parallel()
		b := setup(t, nil)
		b.on("PUT", "/api/v2/tickets/4.json", reply{status: 422, body: `{"error":"RecordInvalid","description":"Record validation errors",
			"details":{"status":[{"description":"Status: invalid transition","error":"InvalidValue"}]}}`})
		b.on("GET", "/api/v2/tickets/4.json", ok(`{"ticket":{"id":4,"status":"closed"}}`))
		_, err := b.client.AppendMessage(t.Context(), &connectors.AppendParams{Ticket: ticket4, Author: ana, Body: "x", Reopen: true})
		isClosed(t, err)
	})
	t.Run("status refusal of an open ticket stays permanent", func(t *testing.T) {
		t.Parallel()
		b := setup(t, nil)
		b.on("PUT", "/api/v2/tickets/4.json", reply{status: 422, body: `{"error":"RecordInvalid","description":"Record validation errors",
			"details":{"status":[{"description":"Status: invalid transition","error":"InvalidValue"}]}}`})
		b.on("GET", "/api/v2/tickets/4.json", ok(`{"ticket":{"id":4,"status":"hold"}}`))
		_, err := b.client.AppendMessage(t.Context(), &connectors.AppendParams{Ticket: ticket4, Author: ana, Body: "x", Reopen: true})
		if ce := asError(t, err); ce.Kind != connectors.Permanent || ce.Code != "RecordInvalid" {
			t.Errorf("error = %v, want Permanent RecordInvalid", err)
		}
	})
	t.Run("other validation errors are permanent", func(t *testing.T) {
		t.Parallel()
		b := setup(t, nil)
		b.on("PUT", "/api/v2/tickets/4.json", reply{status: 422, body: `{"error":"RecordInvalid","description":"Record validation errors",
			"details":{"base":[{"description":"Comments: maximum of 5000 reached","error":"InvalidValue"}]}}`})
		_, err := b.client.AppendMessage(t.Context(), &connectors.AppendParams{Ticket: ticket4, Author: ana, Body: "x"})
		if ce := asError(t, err); ce.Kind != connectors.Permanent || !strings.Contains(ce.Details, "5000") {
			t.Errorf("error = %v, want Permanent with the details", err)
		}
	})
}

func TestTicketState(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.on("GET", "/api/v2/tickets/2.json", ok(payload(t, "go-zendesk__GET_ticket.json")))
	st, err := b.client.Ticket(t.Context(), connectors.TicketRef{ID: "2"})
	if err != nil {
		t.Fatal(err)
	}
	want := connectors.TicketState{Ticket: connectors.TicketRef{Vendor: "zendesk", Account: "acme", ID: "2"},
		Status: connectors.TicketSolved, RequesterID: "377922500012", UpdatedAt: time.Date(2019, 6, 5, 1, 13, 24, 0, time.UTC),
		Subject: "Mail to create fixture ticket for testing", Tags: []string{},
		GroupID: "360004077472", BrandID: "360002256672", FormID: "360000389592"}
	if !reflect.DeepEqual(*st, want) {
		t.Errorf("state = %+v\nwant    %+v", *st, want)
	}
	checkRequests(t, b, basicAuth, want2("GET", "/api/v2/tickets/2.json"))
	b.rec = &recorder{}
	b.on("GET", "/api/v2/tickets/3.json", ok(`{"ticket":{"id":3,"status":"open","updated_at":"yesterday","requester_id":"7"}}`))
	if st, err := b.client.Ticket(t.Context(), connectors.TicketRef{ID: "3"}); err != nil || !st.UpdatedAt.IsZero() || st.RequesterID != "7" {
		t.Errorf("unreadable timestamp = %+v, %v; want a zero time, not a failure", st, err)
	}
	if _, err := b.client.Ticket(t.Context(), connectors.TicketRef{ID: "2.json?x"}); connectors.KindOf(err) != connectors.Permanent {
		t.Errorf("bad id = %v, want Permanent", err)
	}
}

func want2(method, path string) want { return want{method: method, path: path} }

func TestComment(t *testing.T) {
	t.Parallel()
	page := want{method: "GET", path: "/api/v2/tickets/4/comments.json", query: q("page[size]", "100", "sort", "-created_at")}
	tests := []struct {
		name  string
		id    string
		pages []string // answers in turn
		reqs  []want
		err   bool
	}{
		{name: "first page", id: "1274", pages: []string{payload(t, "oas-examples/TicketCommentsResponseExample.json")}, reqs: []want{page}},
		{name: "next link", id: "1274", pages: []string{
			`{"comments":[{"id":3}],"meta":{"has_more":true,"after_cursor":"xxx"},"links":{"next":"` + testBase + `/api/v2/tickets/4/comments.json?page%5Bafter%5D=xxx&page%5Bsize%5D=100&sort=-created_at"}}`,
			payload(t, "oas-examples/TicketCommentsResponseExample.json")},
			reqs: []want{page, {method: "GET", path: "/api/v2/tickets/4/comments.json", query: q("page[after]", "xxx", "page[size]", "100", "sort", "-created_at")}}},
		{name: "after cursor only", id: "1274", pages: []string{payload(t, "go-zendesk__GET_ticket_comments.json"),
			payload(t, "oas-examples/TicketCommentsResponseExample.json")},
			reqs: []want{page, {method: "GET", path: "/api/v2/tickets/4/comments.json", query: q("page[after]", "xxx", "page[size]", "100", "sort", "-created_at")}}},
		{name: "not found", id: "5", pages: []string{`{"comments":[{"id":3}],"meta":{"has_more":false}}`}, reqs: []want{page}, err: true},
		{name: "next link to another host", id: "5", pages: []string{`{"comments":[],"meta":{"has_more":true},"links":{"next":"https://evil.test/x"}}`},
			reqs: []want{page}, err: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, nil)
			var replies []reply
			for _, p := range tc.pages {
				replies = append(replies, ok(p))
			}
			b.on("GET", "/api/v2/tickets/4/comments.json", replies...)
			got, err := b.client.Comment(t.Context(), ticket4, tc.id)
			checkRequests(t, b, basicAuth, tc.reqs...)
			if tc.err {
				if ce := asError(t, err); ce.Kind != connectors.Permanent {
					t.Errorf("error = %v, want Permanent", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := &connectors.Comment{Ref: connectors.CommentRef{Ticket: ticket4, ID: "1274"}, AuthorID: "123123",
				Body: "Thanks for your help!", Public: true, CreatedAt: time.Date(2009, 7, 20, 22, 55, 29, 0, time.UTC),
				Attachments: []connectors.RemoteAttachment{{ID: "498483", Filename: "crash.log", ContentType: "text/plain",
					Size: 2532, URL: "https://company.zendesk.com/attachments/crash.log"}}}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("comment = %+v\nwant      %+v", got, want)
			}
		})
	}
}

func TestDownloadAttachment(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		url      string
		routes   func(b *testBundle)
		wantAuth []string // Authorization of each request, in order
	}{
		{name: "account host gets credentials", url: testBase + "/attachments/token/abc/?name=a.pdf",
			routes: func(b *testBundle) {
				b.on("GET", testBase+"/attachments/token/abc/", reply{status: 200, body: "PDF"})
			}, wantAuth: []string{basicAuth}},
		{name: "other host gets none", url: "https://files.example.net/a.pdf",
			routes:   func(b *testBundle) { b.on("GET", "https://files.example.net/a.pdf", reply{status: 200, body: "PDF"}) },
			wantAuth: []string{""}},
		{name: "look-alike host gets none", url: "https://acme.zendesk.com.evil.test/a.pdf",
			routes: func(b *testBundle) {
				b.on("GET", "https://acme.zendesk.com.evil.test/a.pdf", reply{status: 200, body: "PDF"})
			},
			wantAuth: []string{""}},
		{name: "redirect to another host drops them", url: testBase + "/attachments/token/abc/?name=a.pdf",
			routes: func(b *testBundle) {
				b.on("GET", testBase+"/attachments/token/abc/", reply{status: 302, header: []string{"Location", "https://cdn.zdusercontent.test/a.pdf"}})
				b.on("GET", "https://cdn.zdusercontent.test/a.pdf", reply{status: 200, body: "PDF"})
			}, wantAuth: []string{basicAuth, ""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, nil)
			tc.routes(b)
			data, err := b.client.DownloadAttachment(t.Context(), connectors.RemoteAttachment{URL: tc.url})
			if err != nil || string(data) != "PDF" {
				t.Fatalf("DownloadAttachment = %q, %v", data, err)
			}
			reqs := b.rec.all()
			if len(reqs) != len(tc.wantAuth) {
				t.Fatalf("%d requests, want %d", len(reqs), len(tc.wantAuth))
			}
			for i, r := range reqs {
				if got := r.Header.Get("Authorization"); got != tc.wantAuth[i] {
					t.Errorf("request %d to %s: Authorization %q, want %q", i, r.Host, got, tc.wantAuth[i])
				}
			}
		})
	}
	t.Run("invalid URL", func(t *testing.T) {
		t.Parallel()
		b := setup(t, nil)
		for _, u := range []string{"", "/attachments/x", "file:///etc/passwd"} {
			if _, err := b.client.DownloadAttachment(t.Context(), connectors.RemoteAttachment{URL: u}); connectors.KindOf(err) != connectors.Permanent {
				t.Errorf("%q: %v, want Permanent", u, err)
			}
		}
	})
	t.Run("larger than the limit", func(t *testing.T) {
		t.Parallel()
		b := setup(t, func(c *Config) { c.MaxAttachmentBytes = 2 })
		b.on("GET", "https://files.example.net/a.pdf", reply{status: 200, body: "PDF"})
		if _, err := b.client.DownloadAttachment(t.Context(), connectors.RemoteAttachment{URL: "https://files.example.net/a.pdf"}); connectors.KindOf(err) != connectors.Permanent {
			t.Errorf("oversized download = %v, want Permanent", err)
		}
	})
}
