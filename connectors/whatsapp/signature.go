package whatsapp

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
)

// SignatureHeader is the HTTP header in which Meta sends the webhook signature.
const SignatureHeader = "X-Hub-Signature-256"

// signaturePrefix starts every X-Hub-Signature-256 value.
const signaturePrefix = "sha256="

// Errors returned by [VerifySignature]. All of them mean the request must be
// rejected; ErrNoAppSecret is a server configuration problem rather than a bad
// request.
var (
	// ErrSignatureMissing means the X-Hub-Signature-256 header is empty or absent.
	ErrSignatureMissing = errors.New("whatsapp: missing X-Hub-Signature-256 header")
	// ErrSignatureMalformed means the header is not "sha256=" followed by 64 hex digits.
	ErrSignatureMalformed = errors.New("whatsapp: malformed X-Hub-Signature-256 header")
	// ErrSignatureMismatch means the HMAC of the body does not match the header.
	ErrSignatureMismatch = errors.New("whatsapp: X-Hub-Signature-256 does not match the body")
	// ErrNoAppSecret means no app secret was configured, so nothing can be verified.
	ErrNoAppSecret = errors.New("whatsapp: no app secret configured")
)

// VerifySignature checks header, the value of the X-Hub-Signature-256 header
// ("sha256=" followed by the hex HMAC-SHA256 of the body keyed with the app
// secret), against body. body must be the raw request bytes exactly as
// received: Meta signs its own serialisation (non-ASCII escaped as \uXXXX), so
// a decoded and re-encoded body does not verify. Hex digits may be upper or
// lower case; the comparison is constant-time.
func VerifySignature(body []byte, header string, appSecret []byte) error {
	if len(appSecret) == 0 {
		return ErrNoAppSecret
	}
	header = strings.TrimSpace(header)
	if header == "" {
		return ErrSignatureMissing
	}
	hexSig, ok := strings.CutPrefix(header, signaturePrefix)
	if !ok {
		return ErrSignatureMalformed
	}
	if len(hexSig) != hex.EncodedLen(sha256.Size) {
		return ErrSignatureMalformed
	}
	var got [sha256.Size]byte
	if _, err := hex.Decode(got[:], []byte(hexSig)); err != nil {
		return ErrSignatureMalformed
	}
	mac := hmac.New(sha256.New, appSecret)
	mac.Write(body)
	var want [sha256.Size]byte
	if !hmac.Equal(mac.Sum(want[:0]), got[:]) {
		return ErrSignatureMismatch
	}
	return nil
}

// Sign returns the X-Hub-Signature-256 header value Meta would send for body
// with the given app secret: "sha256=" followed by 64 lowercase hex digits.
func Sign(body, appSecret []byte) string {
	mac := hmac.New(sha256.New, appSecret)
	mac.Write(body)
	var sum [sha256.Size]byte
	return signaturePrefix + hex.EncodeToString(mac.Sum(sum[:0]))
}
