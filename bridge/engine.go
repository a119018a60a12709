package bridge

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/deskbridge/deskbridge/connectors"
	"github.com/deskbridge/deskbridge/connectors/whatsapp"
	"github.com/deskbridge/deskbridge/connectors/zendesk"
	"github.com/deskbridge/deskbridge/mapping"
	"github.com/deskbridge/deskbridge/queue"
	"github.com/deskbridge/deskbridge/ratelimit"
	"github.com/deskbridge/deskbridge/store"
	"github.com/deskbridge/deskbridge/telemetry"
)

// DefaultOptOutKeywords are the messages that opt a customer out when
// opt_out.keywords is empty.
var DefaultOptOutKeywords = []string{"STOP", "BAJA", "PARAR", "SAIR"}

// OptInKeyword is the message that opts a customer back in.
const OptInKeyword = "START"

// Number is a WhatsApp business number the engine serves.
type Number struct {
	PhoneNumberID string
	WABAID        string
	// Display is the number as people read it, for notes ("" when unknown).
	Display string
	// Label is the configured name of the number (number.label in mappings).
	Label string
	// Helpdesk is the name of the helpdesk its conversations go to.
	Helpdesk string
	// ThroughputMPS is the number's send rate (0: 80 messages per second).
	ThroughputMPS int
	// Client calls the Cloud API for this number; nil when the number has
	// no access token (messages are still relayed, without media, and
	// nothing can be sent).
	Client *whatsapp.Client
}

// Template is the approved template sent outside the service window; its
// body parameters come from the mapping (outside_window.template.params).
type Template struct {
	Name     string
	Language string
}

// Options configure an Engine. Zero fields take the defaults noted.
type Options struct {
	Store     *store.Store
	Numbers   []Number
	Helpdesks map[string]connectors.Helpdesk // by configured name
	Templates *TemplateCaches                // nil: none
	// Governor paces WhatsApp sends (throughput, pair rate, messaging
	// limit); nil sends as fast as the queue goes.
	Governor *ratelimit.WhatsApp
	// MessagingLimit is the unique customers business-initiated messages
	// may reach in 24 hours per portfolio (0: no limit kept).
	MessagingLimit int
	// MessagingLimitFixed keeps MessagingLimit as configured: webhooks
	// reporting a new tier do not change it.
	MessagingLimitFixed bool
	// TierRecheck is the longest a reply held by the messaging limit
	// sleeps before looking again (1m).
	TierRecheck time.Duration
	// Mapper computes contact and ticket fields, routing and template
	// parameters (nil: the defaults of an empty mapping section).
	Mapper *mapping.Mapper

	Window       time.Duration  // threading window (24h)
	ReopenSolved bool           // reopen a solved ticket inside the window
	CoalesceMax  int            // texts joined into one comment when behind (20; 1 = off)
	TimeZone     *time.Location // times in comments and notes (UTC)

	// OutsideWindow is "template" or "note" ("note_only" and "" mean note).
	OutsideWindow string
	Template      Template
	// OptOutKeywords opt a customer out (DefaultOptOutKeywords when empty).
	OptOutKeywords []string

	// ReadBackWait is how long a send whose answer was lost waits for its
	// status webhook before it is sent again (1m).
	ReadBackWait time.Duration
	// StatusTagPrefix, when set, makes the latest delivery status of a
	// reply a ticket tag (prefix + status), replacing the previous one.
	StatusTagPrefix string
	// TicketMaxAge is how long a ticket's status read from the helpdesk is
	// trusted before it is read again (1m).
	TicketMaxAge time.Duration

	Logger  *slog.Logger
	Metrics *telemetry.Metrics // nil: not counted
	Now     func() time.Time   // time.Now
}

// Engine handles inbox events for the queue's workers: customer messages
// become helpdesk comments (inbound), agent replies become WhatsApp messages
// (outbound), delivery statuses update sent messages, and account events
// update the template caches. Every vendor write is recorded before and
// after it is made (store effects), so it happens once even across crashes.
type Engine struct {
	opt       Options
	log       *slog.Logger
	st        *store.Store
	numbers   map[string]*Number
	templates *TemplateCaches
	optOut    map[string]bool
	mapper    *mapping.Mapper
	tierLimit atomic.Int64
	mps       map[string]*atomic.Int64 // throughput per number (0: default)
}

// SetMessagingLimit changes the messaging limit kept from now on (for
// example when it was read from the number, or a business_capability_update
// raised it); 0 keeps none.
func (e *Engine) SetMessagingLimit(n int) { e.tierLimit.Store(int64(max(n, 0))) }

// NewEngine returns an engine. With no store it only reads events back
// (an unreadable payload is dead-lettered) and applies template status
// changes.
func NewEngine(opt Options) *Engine {
	if opt.Logger == nil {
		opt.Logger = telemetry.DiscardLogger()
	}
	if opt.Templates == nil {
		opt.Templates = NewTemplateCaches(opt.Logger)
	}
	if opt.Window <= 0 {
		opt.Window = 24 * time.Hour
	}
	if opt.CoalesceMax <= 0 {
		opt.CoalesceMax = 20
	}
	if opt.TimeZone == nil {
		opt.TimeZone = time.UTC
	}
	if opt.ReadBackWait <= 0 {
		opt.ReadBackWait = time.Minute
	}
	if opt.TierRecheck <= 0 {
		opt.TierRecheck = time.Minute
	}
	if opt.TicketMaxAge <= 0 {
		opt.TicketMaxAge = time.Minute
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if len(opt.OptOutKeywords) == 0 {
		opt.OptOutKeywords = DefaultOptOutKeywords
	}
	if opt.Mapper == nil {
		opt.Mapper = defaultMapper()
	}
	e := &Engine{opt: opt, log: opt.Logger.With("component", "engine"), st: opt.Store,
		numbers: map[string]*Number{}, templates: opt.Templates, optOut: map[string]bool{}, mapper: opt.Mapper}
	e.mps = map[string]*atomic.Int64{}
	for i := range opt.Numbers {
		n := opt.Numbers[i]
		e.numbers[n.PhoneNumberID] = &n
		e.mps[n.PhoneNumberID] = new(atomic.Int64)
		e.mps[n.PhoneNumberID].Store(int64(n.ThroughputMPS))
	}
	e.SetMessagingLimit(opt.MessagingLimit)
	for _, k := range opt.OptOutKeywords {
		e.optOut[strings.ToUpper(strings.TrimSpace(k))] = true
	}
	return e
}

// Handle implements queue.Handler.
func (e *Engine) Handle(ctx context.Context, ev *store.Event) error {
	_, err := e.HandleBatch(ctx, []*store.Event{ev})
	return err
}

// HandleBatch implements queue.BatchHandler: evs are one conversation's
// due pending events in order. Consecutive customer texts may be written as
// one comment (coalescing); everything else is handled one event at a time.
func (e *Engine) HandleBatch(ctx context.Context, evs []*store.Event) (int, error) {
	ev := evs[0]
	switch ev.Source {
	case SourceWhatsApp:
	case SourceZendesk:
		reply, err := zendesk.ParseReplyEvent(ev.Payload)
		if err != nil {
			return 0, queue.Permanent(fmt.Errorf("bridge: event %d: %w", ev.ID, err))
		}
		if err := e.handleReply(ctx, ev, reply); err != nil {
			return 0, fmt.Errorf("bridge: agent reply %s/%s: %w", reply.TicketID, reply.CommentID, err)
		}
		return 1, nil
	default:
		return 0, queue.Permanent(fmt.Errorf("bridge: event %d: unknown source %q", ev.ID, ev.Source))
	}
	wev, err := whatsapp.ParseStored(ev.Payload)
	if err != nil {
		return 0, queue.Permanent(fmt.Errorf("bridge: event %d: %w", ev.ID, err))
	}
	switch {
	case wev.Message != nil:
		n, err := e.handleMessages(ctx, evs, wev)
		if err != nil {
			return 0, fmt.Errorf("bridge: message %s: %w", mapping.ShortID(wev.Message.ID), err)
		}
		return n, nil
	case wev.Status != nil:
		if err := e.handleStatus(ctx, wev); err != nil {
			return 0, fmt.Errorf("bridge: status %s of %s: %w", wev.Status.Status, mapping.ShortID(wev.Status.ID), err)
		}
		return 1, nil
	case wev.Kind == whatsapp.KindOther:
		if err := e.handleOther(ctx, ev, wev); err != nil {
			return 0, err
		}
		return 1, nil
	}
	if wev.Error != nil {
		e.log.WarnContext(ctx, "WhatsApp reported an error", "event_id", ev.ID, "phone_number_id", wev.PhoneNumberID,
			"code", wev.Error.Code, "title", wev.Error.Title, "message", wev.Error.Message)
	}
	return 1, nil
}

// handleOther applies account-level events: template status changes and
// users' marketing preferences.
func (e *Engine) handleOther(ctx context.Context, ev *store.Event, wev *whatsapp.Event) error {
	switch wev.Field {
	case "message_template_status_update":
		if _, err := whatsapp.ParseTemplateStatusUpdate(wev.Raw); err != nil {
			return queue.Permanent(fmt.Errorf("bridge: event %d: %w", ev.ID, err))
		}
		if err := e.templates.HandleStatusUpdate(ctx, wev.WABAID, wev.Raw); err != nil {
			return fmt.Errorf("bridge: event %d: %w", ev.ID, err)
		}
	case "phone_number_quality_update", "business_capability_update":
		e.applyLimits(ctx, wev)
	case "user_preferences":
		if err := e.handlePreferences(ctx, wev); err != nil {
			return fmt.Errorf("bridge: event %d: %w", ev.ID, err)
		}
	default:
		e.log.DebugContext(ctx, "account event", "event_id", ev.ID, "field", wev.Field)
	}
	return nil
}

// Numbers returns the numbers the engine serves.
func (e *Engine) Numbers() []Number { return e.opt.Numbers }

// ready reports whether the engine can relay (it has a store); without
// one it only reads events back.
func (e *Engine) ready() bool { return e.st != nil }

// helpdesk returns the helpdesk of a number.
func (e *Engine) helpdesk(n *Number) (connectors.Helpdesk, error) {
	hd, ok := e.opt.Helpdesks[n.Helpdesk]
	if !ok {
		return nil, queue.Permanent(fmt.Errorf("number %s: no helpdesk named %q is configured", n.PhoneNumberID, n.Helpdesk))
	}
	return hd, nil
}

func (e *Engine) count(f func(m *telemetry.Metrics)) {
	if e.opt.Metrics != nil {
		f(e.opt.Metrics)
	}
}

// helpdeskTarget is the effects target of writes to a helpdesk.
func helpdeskTarget(name string) string { return "helpdesk:" + name }

// whatsappTarget is the effects target of sends from a number.
func whatsappTarget(phoneNumberID string) string { return "whatsapp:" + phoneNumberID }
