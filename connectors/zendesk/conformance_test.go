package zendesk_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/deskbridge/deskbridge/connectors"
	"github.com/deskbridge/deskbridge/connectors/connectortest"
	sbzendesk "github.com/deskbridge/deskbridge/sandbox/zendesk"
)

// backdoor acts on the Zendesk fake for the conformance suite.
type backdoor struct{ fake *sbzendesk.Server }

func (b backdoor) Comments(_ context.Context, ticketID string) ([]connectortest.Comment, error) {
	id, err := strconv.ParseInt(ticketID, 10, 64)
	if err != nil {
		return nil, err
	}
	d, err := b.fake.TicketDump(id)
	if err != nil {
		return nil, err
	}
	out := make([]connectortest.Comment, 0, len(d.Comments))
	for _, c := range d.Comments {
		cm := connectortest.Comment{ID: strconv.FormatInt(c.ID, 10), AuthorID: strconv.FormatInt(c.AuthorID, 10), Body: c.Body, Public: c.Public}
		for _, a := range c.Attachments {
			cm.Attachments = append(cm.Attachments, connectors.Attachment{Filename: a.FileName, ContentType: a.ContentType, Data: a.Data})
		}
		out = append(out, cm)
	}
	return out, nil
}

func (b backdoor) SetTicketStatus(ctx context.Context, ticketID string, s connectors.TicketStatus) error {
	id, err := strconv.ParseInt(ticketID, 10, 64)
	if err != nil {
		return err
	}
	return b.fake.SetTicketStatus(ctx, id, string(s))
}

func (b backdoor) RevokeCredentials(context.Context) error { b.fake.RevokeAuth(true); return nil }

func (b backdoor) ExhaustRateLimit(context.Context) error { b.fake.ExhaustRateLimit(); return nil }

// TestConformance runs the helpdesk conformance suite against the fake.
func TestConformance(t *testing.T) {
	t.Parallel()
	connectortest.Run(t, connectortest.Features{FollowUps: true, Reopen: true, TicketUpdateLimit: 30, WriteFinder: true},
		func(t *testing.T) connectortest.Subject {
			fb := startFake(t)
			return connectortest.Subject{Helpdesk: fb.client, Backdoor: backdoor{fb.fake}}
		})
}
