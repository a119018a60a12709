package mapping

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/deskbridge/deskbridge/connectors/whatsapp"
)

// firstMessage parses testdata/name.json and returns its first message.
func firstMessage(t *testing.T, name string) *whatsapp.Message {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	events, err := whatsapp.ParseNotification(body)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range events {
		if ev.Kind == whatsapp.KindMessage {
			return ev.Message
		}
	}
	t.Fatalf("%s: no message", name)
	return nil
}

func TestMessageVars(t *testing.T) {
	ts := time.Unix(1763900000, 0).UTC()
	tests := []struct {
		name string
		msg  func(t *testing.T) *whatsapp.Message
		want Message
	}{
		{
			name: "nil",
			msg:  func(*testing.T) *whatsapp.Message { return nil },
			want: Message{},
		},
		{
			name: "text from an ad",
			msg: func(t *testing.T) *whatsapp.Message {
				return firstMessage(t, "oas_text_message_from_click_to_whatsapp_ad")
			},
			want: Message{
				ID: "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUQ0N0VFMDA2MTQ0RkJFNkNDNAA=", Type: "text",
				Text: "Hello! Can I get more info on this?", Timestamp: time.Unix(1750275992, 0).UTC(),
				Referral: &Referral{
					SourceURL: "https://fb.me/3cr4Wqqkv", SourceID: "120226305854810726", SourceType: "ad",
					Headline: "Chat with us", Body: "Summer Succulents are here!",
					CtwaClid: "Aff-n8ZTODiE79d22KtAwQKj9e_mIEOOj27vDVwFjN80dp4_0NiNhEgpGo0AHemvuSoifXaytfTzcchptiErTKCqTrJ5nW1h7IHYeYymGb5K5J5iTROpBhWAGaIAeUzHL50",
				},
			},
		},
		{
			name: "forwarded reply",
			msg:  func(t *testing.T) *whatsapp.Message { return firstMessage(t, "text_reply_forwarded") },
			want: Message{
				ID: "wamid.TESTTEXT", Type: "text", Text: "Still waiting for this", Timestamp: ts,
				Context: &MessageContext{ID: "wamid.ORIGINAL1", Forwarded: true},
			},
		},
		{
			name: "edited image",
			msg:  func(t *testing.T) *whatsapp.Message { return firstMessage(t, "edit_image") },
			want: Message{
				ID: "wamid.TESTEDIT", Type: "edit", Text: "[edited] New caption", Caption: "New caption",
				Timestamp: ts, MediaType: "image/png",
			},
		},
		{
			name: "image without caption, frequently forwarded",
			msg: func(*testing.T) *whatsapp.Message {
				return &whatsapp.Message{
					ID: "w1", Type: whatsapp.TypeImage, Image: &whatsapp.Media{ID: "9", MimeType: "image/jpeg"},
					Context: &whatsapp.Context{FrequentlyForwarded: true},
				}
			},
			want: Message{ID: "w1", Type: "image", Text: "[image]", MediaType: "image/jpeg", Context: &MessageContext{Forwarded: true}},
		},
		{
			name: "document with caption",
			msg: func(*testing.T) *whatsapp.Message {
				return &whatsapp.Message{
					ID: "w2", Type: whatsapp.TypeDocument,
					Document: &whatsapp.Media{MimeType: "application/pdf", Caption: " factura ", Filename: "f.pdf"},
				}
			},
			want: Message{ID: "w2", Type: "document", Text: "factura", Caption: "factura", MediaType: "application/pdf"},
		},
		{
			name: "button reply",
			msg: func(*testing.T) *whatsapp.Message {
				return &whatsapp.Message{
					ID: "w3", Type: whatsapp.TypeInteractive,
					Interactive: &whatsapp.Interactive{Type: "button_reply", ButtonReply: &whatsapp.ReplyOption{ID: "b1", Title: "Reembolso"}},
				}
			},
			want: Message{ID: "w3", Type: "interactive", Text: "Reembolso"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := MessageVars(tt.msg(t))
			got.Timestamp = got.Timestamp.UTC()
			if tt.want.Timestamp.IsZero() {
				tt.want.Timestamp = got.Timestamp
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestContactVars(t *testing.T) {
	tests := []struct {
		name string
		c    *whatsapp.Contact
		want Contact
	}{
		{"nil", nil, Contact{}},
		{
			"phone user",
			&whatsapp.Contact{Name: " Ana ", WAID: "5511987654321", UserID: "BR.1", CountryCode: "BR"},
			Contact{Name: "Ana", WAID: "5511987654321", UserID: "BR.1", Phone: "+5511987654321", Country: "BR"},
		},
		{
			"username user without a phone",
			&whatsapp.Contact{Name: "Bo", UserID: "US.2"},
			Contact{Name: "Bo", UserID: "US.2"},
		},
		{
			"invalid wa_id",
			&whatsapp.Contact{WAID: "12"},
			Contact{WAID: "12"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ContactVars(tt.c); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
