package zendesk

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// sign signs body as Zendesk does.
func sign(secret, timestamp, body string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp + body))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func TestVerifySignature(t *testing.T) {
	t.Parallel()
	const (
		secret = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="
		body   = `{"event":"agent_public_reply","ticket_id":"35436"}`
		ts     = "2026-11-24T10:00:00Z"
	)
	now := time.Date(2026, 11, 24, 10, 2, 0, 0, time.UTC)
	unix := "1795514400" // 2026-11-24T10:00:00Z
	tests := []struct {
		name      string
		body      string
		signature string
		timestamp string
		secret    string
		want      error
	}{
		{name: "good", body: body, signature: sign(secret, ts, body), timestamp: ts, secret: secret},
		{name: "good, unix timestamp", body: body, signature: sign(secret, unix, body), timestamp: unix, secret: secret},
		{name: "good, empty body", body: "", signature: sign(secret, ts, ""), timestamp: ts, secret: secret},
		{name: "missing signature", body: body, timestamp: ts, secret: secret, want: ErrMissingSignature},
		{name: "missing timestamp", body: body, signature: sign(secret, ts, body), secret: secret, want: ErrMissingSignature},
		{name: "bad base64", body: body, signature: "not*base64!", timestamp: ts, secret: secret, want: ErrBadSignatureEncoding},
		{name: "hex instead of base64", body: body, signature: strings.Repeat("ab", 32), timestamp: ts, secret: secret, want: ErrSignatureMismatch},
		{name: "wrong secret", body: body, signature: sign("other", ts, body), timestamp: ts, secret: secret, want: ErrSignatureMismatch},
		{name: "tampered body", body: body + " ", signature: sign(secret, ts, body), timestamp: ts, secret: secret, want: ErrSignatureMismatch},
		{name: "timestamp not signed", body: body, signature: sign(secret, "", body), timestamp: ts, secret: secret, want: ErrSignatureMismatch},
		{name: "bad timestamp", body: body, signature: sign(secret, "yesterday", body), timestamp: "yesterday", secret: secret, want: ErrBadTimestamp},
		{name: "too old", body: body, signature: sign(secret, "2026-11-24T09:56:59Z", body), timestamp: "2026-11-24T09:56:59Z", secret: secret, want: ErrStaleTimestamp},
		{name: "too far in the future", body: body, signature: sign(secret, "2026-11-24T10:07:01Z", body), timestamp: "2026-11-24T10:07:01Z", secret: secret, want: ErrStaleTimestamp},
		{name: "edge of the window", body: body, signature: sign(secret, "2026-11-24T09:57:00Z", body), timestamp: "2026-11-24T09:57:00Z", secret: secret},
		{name: "no secret", body: body, signature: sign(secret, ts, body), timestamp: ts, want: ErrNoSecret},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := VerifySignature([]byte(tc.body), tc.signature, tc.timestamp, []byte(tc.secret), now)
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Errorf("VerifySignature = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestBodyTemplate(t *testing.T) {
	t.Parallel()
	var m map[string]any
	if err := json.Unmarshal([]byte(BodyTemplate()), &m); err != nil {
		t.Fatalf("BodyTemplate is not JSON: %v", err)
	}
	for _, k := range []string{"event", "ticket_id", "comment_id", "author_id", "author_role", "public", "via",
		"requester_external_id", "requester_phone", "updated_at"} {
		if _, ok := m[k]; !ok {
			t.Errorf("BodyTemplate lacks %q", k)
		}
	}
	// Rendered as Zendesk would, it parses.
	rendered := strings.NewReplacer("{{ticket.id}}", "35436", "{{ticket.latest_public_comment.id}}", "1274",
		"{{current_user.id}}", "235324", "{{current_user.role}}", "Agent", "{{ticket.via}}", "Web Form",
		"{{ticket.requester.id}}", "20978392", "{{ticket.requester.external_id}}", extID,
		"{{ticket.requester.phone}}", phone1, "{{ticket.updated_at_with_timestamp}}", "2026-11-24T10:00Z").Replace(BodyTemplate())
	ev, err := ParseReplyEvent([]byte(rendered))
	if err != nil {
		t.Fatal(err)
	}
	want := &ReplyEvent{Event: EventAgentPublicReply, TicketID: "35436", CommentID: "1274", AuthorID: "235324",
		AuthorRole: "Agent", Public: true, Via: "Web Form", RequesterID: "20978392", RequesterExternalID: extID,
		RequesterPhone: phone1, UpdatedAt: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)}
	if !reflect.DeepEqual(ev, want) {
		t.Errorf("event = %+v\nwant    %+v", ev, want)
	}
}

func TestParseReplyEvent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		want *ReplyEvent
		err  bool
	}{
		{name: "numbers and booleans", body: `{"event":"agent_public_reply","ticket_id":35436,"comment_id":1274,"author_id":235324,
			"author_role":"Admin","public":"true","comment_body":"Hello \"there\"\nbye","updated_at":"2026-11-24T10:00:05Z","extra":{"x":1}}`,
			want: &ReplyEvent{Event: EventAgentPublicReply, TicketID: "35436", CommentID: "1274", AuthorID: "235324", AuthorRole: "Admin",
				Public: true, CommentBody: "Hello \"there\"\nbye", UpdatedAt: time.Date(2026, 11, 24, 10, 0, 5, 0, time.UTC)}},
		{name: "unrendered placeholders read as empty", body: `{"ticket_id":" 12 ","comment_id":"{{ticket.latest_public_comment.id}}",
			"requester_external_id":"","requester_phone":null,"public":false,"updated_at":"soon"}`,
			want: &ReplyEvent{TicketID: "12"}},
		{name: "not JSON", body: `{"ticket_id":"1","comment_body":"say "hi""}`, err: true},
		{name: "no ticket id", body: `{"event":"agent_public_reply"}`, err: true},
		{name: "ticket id not digits", body: `{"ticket_id":"12/../13"}`, err: true},
		{name: "comment id not digits", body: `{"ticket_id":"12","comment_id":"x"}`, err: true},
		{name: "public not a boolean", body: `{"ticket_id":"12","public":"maybe"}`, err: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ev, err := ParseReplyEvent([]byte(tc.body))
			if tc.err {
				if !errors.Is(err, ErrMalformedEvent) {
					t.Errorf("ParseReplyEvent = %+v, %v; want ErrMalformedEvent", ev, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(ev, tc.want) {
				t.Errorf("event = %+v\nwant    %+v", ev, tc.want)
			}
		})
	}
}

func TestIsFromBridge(t *testing.T) {
	t.Parallel()
	tests := []struct {
		role, author, api string
		want              bool
	}{
		{"Agent", "235324", "5", false},
		{"Admin", "235324", "5", false},
		{"agent", "", "", false},
		{"End-user", "7", "5", true},
		{"end-user", "7", "", true},
		{"end_user", "7", "5", true},
		{"End user", "7", "5", true},
		{"Admin", "5", "5", true}, // a note written by the API identity
		{"", "5", "5", true},
		{"", "", "5", false},
		{"", "", "", false},
	}
	for _, tc := range tests {
		ev := &ReplyEvent{TicketID: "1", AuthorRole: tc.role, AuthorID: tc.author}
		if got := IsFromBridge(ev, tc.api); got != tc.want {
			t.Errorf("IsFromBridge(role %q, author %q, api %q) = %v, want %v", tc.role, tc.author, tc.api, got, tc.want)
		}
	}
	if IsFromBridge(nil, "5") {
		t.Error("nil event is from the bridge")
	}
}
