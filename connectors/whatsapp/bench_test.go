package whatsapp

import (
	"fmt"
	"strings"
	"testing"
)

// benchBody is a realistic "messages" notification with n text messages from
// n different users (BSUID and phone), as Meta batches them.
func benchBody(n int) []byte {
	contacts := make([]string, n)
	items := make([]string, n)
	for i := range n {
		waID := fmt.Sprintf("1650555%04d", i)
		uid := fmt.Sprintf("US.1349120865530274%04d", i)
		contacts[i] = `{"profile":{"name":"Sheena Nelson ` + fmt.Sprint(i) + `"},"wa_id":"` + waID + `","user_id":"` + uid + `"}`
		items[i] = `{"context":{"from":"15550783881","id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3MEM2RUJFNkI0RENGQTVDRjUA"},` +
			`"from":"` + waID + `","from_user_id":"` + uid + `","id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAz` + fmt.Sprintf("%04d", i) + `",` +
			`"timestamp":"1749416383","type":"text","text":{"body":"Does it come in another color? Caf\u00e9 \ud83d\udc4d"}}`
	}
	return notification(messagesChange(messagesValue("["+strings.Join(contacts, ",")+"]", "messages", items...)))
}

func BenchmarkVerifyAndParse(b *testing.B) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	for _, n := range []int{1, 50} {
		body := benchBody(n)
		header := Sign(body, secret)
		b.Run(fmt.Sprintf("messages=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if err := VerifySignature(body, header, secret); err != nil {
					b.Fatal(err)
				}
				evs, err := ParseNotification(body)
				if err != nil || len(evs) != n {
					b.Fatalf("%d events, %v", len(evs), err)
				}
			}
		})
	}
}
