package zendesk_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/deskbridge/deskbridge/connectors/zendesk"
)

// Example_webhook shows the webhook flow: verify the signature, parse the
// body, drop the bridge's own writes.
func Example_webhook() {
	secret := []byte("webhook signing secret")
	body := []byte(`{"event":"agent_public_reply","ticket_id":"35436","comment_id":"1274",` +
		`"author_id":"235324","author_role":"Agent","public":true}`)
	timestamp := "2026-11-24T10:00:00Z"

	// What Zendesk sends in X-Zendesk-Webhook-Signature.
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(timestamp))
	mac.Write(body)
	signature := base64.StdEncoding.EncodeToString(mac.Sum(nil))

	now := time.Date(2026, 11, 24, 10, 0, 30, 0, time.UTC)
	if err := zendesk.VerifySignature(body, signature, timestamp, secret, now); err != nil {
		fmt.Println("refused:", err)
		return
	}
	ev, err := zendesk.ParseReplyEvent(body)
	if err != nil {
		fmt.Println("malformed:", err)
		return
	}
	if zendesk.IsFromBridge(ev, "5") {
		fmt.Println("ignored: the bridge's own write")
		return
	}
	fmt.Printf("agent reply on ticket %s, comment %s\n", ev.TicketID, ev.CommentID)
	// Output: agent reply on ticket 35436, comment 1274
}
