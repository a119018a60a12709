package bridge

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/deskbridge/deskbridge/connectors/whatsapp"
	"github.com/deskbridge/deskbridge/connectors/zendesk"
	"github.com/deskbridge/deskbridge/queue"
	"github.com/deskbridge/deskbridge/store"
	"github.com/deskbridge/deskbridge/telemetry"
)

// Engine handles inbox events for the queue's workers. With no helpdesk
// wired yet it reads each stored event back, so a payload it cannot read is
// dead-lettered rather than retried forever, applies template status
// changes to the template caches, logs the event and marks it done.
type Engine struct {
	log       *slog.Logger
	templates *TemplateCaches
}

// NewEngine returns an engine that logs to log (nil: discard) and updates
// templates (nil: no caches) on template status events.
func NewEngine(log *slog.Logger, templates *TemplateCaches) *Engine {
	if log == nil {
		log = telemetry.DiscardLogger()
	}
	if templates == nil {
		templates = NewTemplateCaches(log)
	}
	return &Engine{log: log.With("component", "engine"), templates: templates}
}

// Handle implements queue.Handler.
func (e *Engine) Handle(ctx context.Context, ev *store.Event) error {
	switch ev.Source {
	case SourceWhatsApp:
	case SourceZendesk:
		reply, err := zendesk.ParseReplyEvent(ev.Payload)
		if err != nil {
			return queue.Permanent(fmt.Errorf("bridge: event %d: %w", ev.ID, err))
		}
		e.log.DebugContext(ctx, "agent reply handled", "event_id", ev.ID, "ticket_id", reply.TicketID, "comment_id", reply.CommentID)
		return nil
	default:
		return queue.Permanent(fmt.Errorf("bridge: event %d: unknown source %q", ev.ID, ev.Source))
	}
	wev, err := whatsapp.ParseStored(ev.Payload)
	if err != nil {
		return queue.Permanent(fmt.Errorf("bridge: event %d: %w", ev.ID, err))
	}
	attrs := []any{"event_id", ev.ID, "kind", string(wev.Kind), "phone_number_id", wev.PhoneNumberID,
		"contact_key", wev.ContactKey}
	switch {
	case wev.Message != nil:
		attrs = append(attrs, "message_type", wev.Message.Type)
	case wev.Status != nil:
		attrs = append(attrs, "status", wev.Status.Status)
	case wev.Kind == whatsapp.KindOther:
		attrs = append(attrs, "field", wev.Field)
		if wev.Field == "message_template_status_update" {
			if _, err := whatsapp.ParseTemplateStatusUpdate(wev.Raw); err != nil {
				return queue.Permanent(fmt.Errorf("bridge: event %d: %w", ev.ID, err))
			}
			if err := e.templates.HandleStatusUpdate(ctx, wev.WABAID, wev.Raw); err != nil {
				return fmt.Errorf("bridge: event %d: %w", ev.ID, err)
			}
		}
	}
	e.log.DebugContext(ctx, "event handled", attrs...)
	return nil
}
