package whatsapp_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/jarcoal/httpmock"

	"github.com/deskbridge/deskbridge/connectors"
	"github.com/deskbridge/deskbridge/connectors/whatsapp"
)

// A client per business number; sends are checked locally first, and a
// failure's kind tells the queue what to do.
func ExampleClient_Send() {
	mock := httpmock.NewMockTransport() // stands in for Meta
	mock.RegisterResponder(http.MethodPost, "https://graph.facebook.com/v23.0/106540352242922/messages",
		httpmock.NewStringResponder(200, `{"messaging_product":"whatsapp",
			"contacts":[{"input":"+34600111222","wa_id":"34600111222"}],"messages":[{"id":"wamid.HBgL"}]}`))

	client, err := whatsapp.NewClient(whatsapp.Config{
		PhoneNumberID: "106540352242922",
		Token:         func(context.Context) (string, error) { return "system-user-token", nil },
		Transport:     mock,
	})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()

	res, err := client.Send(ctx, whatsapp.TextMessage("+34 600 111 222", "Your order has shipped.").
		WithCallbackData("deskbridge-msg-42"))
	fmt.Println(res.MessageID, err)

	_, err = client.Send(ctx, whatsapp.TextMessage("34600111222", "no plus"))
	var ce *connectors.Error
	if errors.As(err, &ce) {
		fmt.Println(ce.Kind, "-", whatsapp.Hint(err))
	}
	// Output:
	// wamid.HBgL <nil>
	// permanent - message refused before sending: to: "*******1222" must start with + and the country code (without it Meta prepends the business number's country code)
}
