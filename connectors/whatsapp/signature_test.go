package whatsapp

import (
	"bytes"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
)

func TestSign(t *testing.T) {
	// RFC 4231-style known vector: HMAC-SHA256("key", "The quick brown fox…").
	got := Sign([]byte("The quick brown fox jumps over the lazy dog"), []byte("key"))
	want := "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
	if got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
	if !regexp.MustCompile(`^sha256=[0-9a-f]{64}$`).MatchString(Sign(nil, []byte("s"))) {
		t.Fatalf("Sign of an empty body has the wrong format")
	}
}

func TestVerifySignature(t *testing.T) {
	secret := []byte("app-secret-0123456789")
	body := notification(messagesChange(messagesValue(sheenaContacts, "messages",
		`{"from":"16505551234","id":"wamid.x","timestamp":"1749416383","type":"text","text":{"body":"hello"}}`)))
	good := Sign(body, secret)
	hexPart := strings.TrimPrefix(good, "sha256=")

	tests := []struct {
		name   string
		body   []byte
		header string
		secret []byte
		want   error
	}{
		{"good", body, good, secret, nil},
		{"uppercase hex", body, "sha256=" + strings.ToUpper(hexPart), secret, nil},
		{"surrounding spaces", body, " " + good + " ", secret, nil},
		{"missing header", body, "", secret, ErrSignatureMissing},
		{"blank header", body, "   ", secret, ErrSignatureMissing},
		{"no prefix", body, hexPart, secret, ErrSignatureMalformed},
		{"sha1 prefix", body, "sha1=" + hexPart[:40], secret, ErrSignatureMalformed},
		{"uppercase prefix", body, "SHA256=" + hexPart, secret, ErrSignatureMalformed},
		{"bad hex", body, "sha256=" + strings.Repeat("zz", 32), secret, ErrSignatureMalformed},
		{"short", body, good[:len(good)-2], secret, ErrSignatureMalformed},
		{"odd length", body, good[:len(good)-1], secret, ErrSignatureMalformed},
		{"long", body, good + "00", secret, ErrSignatureMalformed},
		{"prefix only", body, "sha256=", secret, ErrSignatureMalformed},
		{"wrong secret", body, Sign(body, []byte("other-secret")), secret, ErrSignatureMismatch},
		{"tampered body", append(bytes.Clone(body), ' '), good, secret, ErrSignatureMismatch},
		{"one digit off", body, good[:len(good)-1] + flipHex(good[len(good)-1]), secret, ErrSignatureMismatch},
		{"no app secret", body, good, nil, ErrNoAppSecret},
		{"empty app secret", body, good, []byte{}, ErrNoAppSecret},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := VerifySignature(tc.body, tc.header, tc.secret); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("VerifySignature = %v, want %v", err, tc.want)
			}
		})
	}
}

func flipHex(c byte) string {
	if c == '0' {
		return "1"
	}
	return "0"
}

// TestVerifySignatureEscapedUnicode checks the gotcha from Meta's docs: the
// signature covers the body as sent, with non-ASCII escaped as \uXXXX, so
// the same JSON decoded and re-encoded no longer verifies.
func TestVerifySignatureEscapedUnicode(t *testing.T) {
	secret := []byte("s3cret")
	body := notification(messagesChange(messagesValue(`[{"profile":{"name":"Luc\u00eda G\u00f3mez"},"wa_id":"16505551234"}]`, "messages",
		`{"from":"16505551234","id":"wamid.u","timestamp":"1","type":"text","text":{"body":"Caf\u00e9 \ud83d\udc4d \u00fcber"}}`)))
	if !bytes.Contains(body, []byte(`Caf\u00e9`)) {
		t.Fatal("test body should contain a literal \\u escape")
	}
	header := Sign(body, secret)
	if err := VerifySignature(body, header, secret); err != nil {
		t.Fatalf("raw body: %v", err)
	}

	var decoded any
	if err := json.Unmarshal(body, &decoded); err != nil {
		t.Fatal(err)
	}
	reencoded, err := json.Marshal(decoded)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(reencoded, []byte("Café")) {
		t.Fatalf("re-encoded body should hold the decoded characters: %s", reencoded)
	}
	if err := VerifySignature(reencoded, header, secret); !errors.Is(err, ErrSignatureMismatch) {
		t.Fatalf("re-encoded body: got %v, want ErrSignatureMismatch", err)
	}

	// And the parsed text is the decoded one.
	evs, err := ParseNotification(body)
	if err != nil || len(evs) != 1 || evs[0].Message.Text.Body != "Café 👍 über" || evs[0].Message.Contact.Name != "Lucía Gómez" {
		t.Fatalf("parse: %v %+v", err, evs)
	}
}
