package bridge

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/deskbridge/deskbridge/connectors/whatsapp"
	"github.com/deskbridge/deskbridge/telemetry"
)

// TemplateCaches holds the template cache of each WhatsApp business
// account the bridge serves. The engine feeds it the
// message_template_status_update events; Run refreshes every cache on a
// schedule.
type TemplateCaches struct {
	mu     sync.Mutex
	byWABA map[string]*whatsapp.TemplateCache
	log    *slog.Logger
}

// NewTemplateCaches returns an empty set (nil logger: discard).
func NewTemplateCaches(log *slog.Logger) *TemplateCaches {
	if log == nil {
		log = telemetry.DiscardLogger()
	}
	return &TemplateCaches{byWABA: map[string]*whatsapp.TemplateCache{}, log: log.With("component", "templates")}
}

// Add registers the cache of a business account (the first one wins when
// several numbers share the account).
func (t *TemplateCaches) Add(wabaID string, c *whatsapp.TemplateCache) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.byWABA[wabaID]; !ok {
		t.byWABA[wabaID] = c
	}
}

// Get returns the cache of a business account.
func (t *TemplateCaches) Get(wabaID string) (*whatsapp.TemplateCache, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c, ok := t.byWABA[wabaID]
	return c, ok
}

// HandleStatusUpdate applies a message_template_status_update event of a
// business account to its cache. An account the bridge has no cache for
// is ignored.
func (t *TemplateCaches) HandleStatusUpdate(ctx context.Context, wabaID string, raw []byte) error {
	c, ok := t.Get(wabaID)
	if !ok {
		return nil
	}
	u, err := whatsapp.ParseTemplateStatusUpdate(raw)
	if err != nil {
		return err
	}
	t.log.InfoContext(ctx, "template status changed", "waba_id", wabaID, "template", u.Name,
		"language", u.Language, "event", u.Event, "reason", u.Reason)
	return c.HandleStatusUpdate(ctx, u.Name, u.Language, u.Event)
}

// RefreshAll refreshes every cache from the API; failures are logged and
// the last list is kept.
func (t *TemplateCaches) RefreshAll(ctx context.Context) {
	t.mu.Lock()
	caches := make(map[string]*whatsapp.TemplateCache, len(t.byWABA))
	for k, v := range t.byWABA {
		caches[k] = v
	}
	t.mu.Unlock()
	for waba, c := range caches {
		if err := c.Refresh(ctx); err != nil && ctx.Err() == nil {
			t.log.WarnContext(ctx, "template refresh failed; keeping the last list", "waba_id", waba, slog.Any("error", err))
		}
	}
}

// Run refreshes every cache each interval until ctx ends.
func (t *TemplateCaches) Run(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = whatsapp.DefaultTemplateRefresh
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			t.RefreshAll(ctx)
		}
	}
}
