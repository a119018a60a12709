package zendesk_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"slices"
	"strconv"
	"testing"

	"github.com/deskbridge/deskbridge/connectors"
	"github.com/deskbridge/deskbridge/connectors/zendesk"
)

func TestSetTags(t *testing.T) {
	t.Parallel()
	fb := startFake(t)
	ana := fb.customer(t, "+34600111222")
	tk := fb.ticket(t, ana, "wamid.0")
	id, _ := strconv.ParseInt(tk.Ticket.ID, 10, 64)
	tags := func() []string {
		d, err := fb.fake.TicketDump(id)
		if err != nil {
			t.Fatal(err)
		}
		return d.Tags
	}
	steps := []struct {
		add, remove []string
		has, hasnt  string
	}{
		{[]string{"whatsapp_sent"}, []string{"whatsapp_read"}, "whatsapp_sent", "whatsapp_read"},
		{[]string{"whatsapp_read"}, []string{"whatsapp_sent"}, "whatsapp_read", "whatsapp_sent"},
	}
	for i, s := range steps {
		if err := fb.client.SetTags(t.Context(), &connectors.TagParams{Ticket: tk.Ticket, Add: s.add, Remove: s.remove}); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got := tags(); !slices.Contains(got, s.has) || slices.Contains(got, s.hasnt) {
			t.Errorf("step %d: tags %v, want %s and not %s", i, got, s.has, s.hasnt)
		}
	}
	if err := fb.client.SetTags(t.Context(), &connectors.TagParams{Ticket: tk.Ticket}); connectors.KindOf(err) != connectors.Permanent {
		t.Errorf("no tags: %v, want a Permanent error", err)
	}
}

// Tags are bulk work: with the budget in use they are skipped, no request.
func TestSetTagsYieldsWhenTheBudgetIsTight(t *testing.T) {
	t.Parallel()
	fb := startFake(t)
	ana := fb.customer(t, "+34600111222")
	tk := fb.ticket(t, ana, "wamid.0")
	srv := httptest.NewServer(fb.fake)
	t.Cleanup(srv.Close)
	calls := &countingTransport{paths: map[string]int{}}
	// One request a minute: the first tag update takes the budget.
	slow, err := zendesk.New(zendesk.Config{Name: "support", BaseURL: srv.URL, Email: "bridge@acme.test",
		APIToken:          func(context.Context) (string, error) { return "zd-token", nil },
		RequestsPerMinute: 1, Transport: calls})
	if err != nil {
		t.Fatal(err)
	}
	path := "/api/v2/tickets/" + tk.Ticket.ID + ".json"
	if err := slow.SetTags(t.Context(), &connectors.TagParams{Ticket: tk.Ticket, Add: []string{"whatsapp_sent"}}); err != nil {
		t.Fatal(err)
	}
	err = slow.SetTags(t.Context(), &connectors.TagParams{Ticket: tk.Ticket, Add: []string{"whatsapp_read"}})
	var ce *connectors.Error
	if !errors.As(err, &ce) || ce.Kind != connectors.RateLimited || ce.Code != zendesk.CodeBudgetTight {
		t.Fatalf("err = %v, want RateLimited %s", err, zendesk.CodeBudgetTight)
	}
	if n := calls.count(path); n != 1 {
		t.Errorf("%d requests, want the first update only", n)
	}
}
