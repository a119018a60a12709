package whatsapp

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/deskbridge/deskbridge/telemetry"
)

// TemplateLister lists the templates of one WABA; *Client implements it.
// When the lister also has a WABAID() string method, the cache keys its
// store with that id.
type TemplateLister interface {
	ListTemplates(ctx context.Context) ([]Template, error)
}

// TemplateStore keeps the last template list of a WABA across restarts
// (the service backs it with its database). Load returns nil and no error
// when nothing was saved yet. Implementations must be safe for concurrent
// use; the cache calls them with its own lock held.
type TemplateStore interface {
	Load(ctx context.Context, wabaID string) ([]Template, error)
	Save(ctx context.Context, wabaID string, ts []Template) error
}

// DefaultTemplateRefresh is how long a TemplateCache trusts its list.
const DefaultTemplateRefresh = time.Hour

// missRefreshInterval is the shortest time between two refreshes caused by
// a template that is not in the list (a template approved a moment ago).
const missRefreshInterval = time.Minute

// TemplateCache holds the templates of one WABA so that sends can be
// checked locally without spending the WABA's 200 calls per hour. It loads
// the stored list on first use, refreshes from the API when the list is
// older than refreshEvery (or was marked stale by a status webhook, or a
// template is missing), and keeps serving the last list when a refresh
// fails. It is safe for concurrent use.
type TemplateCache struct {
	lister TemplateLister
	store  TemplateStore
	wabaID string
	every  time.Duration
	now    func() time.Time
	log    *slog.Logger

	mu        sync.Mutex
	loaded    bool                // the store was read
	byKey     map[string]Template // name + "\x00" + language
	fetched   time.Time           // when the list was last fetched or loaded
	lastTry   time.Time           // last refresh attempt
	lastFail  time.Time           // last failed refresh (zero after a success)
	stale     bool                // a status webhook changed something
	hasListed bool                // the list came from the API or a non-empty store
}

// NewTemplateCache returns a cache over lister (normally the *Client of a
// number of the WABA) and store (nil: in memory only). refreshEvery ≤ 0
// means DefaultTemplateRefresh; now nil means time.Now.
func NewTemplateCache(lister TemplateLister, store TemplateStore, refreshEvery time.Duration, now func() time.Time) *TemplateCache {
	if store == nil {
		store = NewMemoryTemplateStore()
	}
	if refreshEvery <= 0 {
		refreshEvery = DefaultTemplateRefresh
	}
	if now == nil {
		now = time.Now
	}
	c := &TemplateCache{lister: lister, store: store, every: refreshEvery, now: now,
		log: telemetry.DiscardLogger(), byKey: map[string]Template{}}
	if w, ok := lister.(interface{ WABAID() string }); ok {
		c.wabaID = w.WABAID()
	}
	return c
}

// WithLogger sets the logger that reports refresh failures served from the
// last list, and returns c.
func (c *TemplateCache) WithLogger(l *slog.Logger) *TemplateCache {
	if l != nil {
		c.log = l.With("component", "template_cache")
	}
	return c
}

func templateKey(name, lang string) string { return name + "\x00" + NormalizeLanguage(lang) }

// Get returns the template name in language lang. ok is false when the WABA
// has no such template (after a refresh, at most once a minute for missing
// templates). An error means no list could be obtained at all.
func (c *TemplateCache) Get(ctx context.Context, name, lang string) (t Template, ok bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.ensure(ctx); err != nil {
		return Template{}, false, err
	}
	t, ok = c.byKey[templateKey(name, lang)]
	if !ok && c.now().Sub(c.lastTry) >= missRefreshInterval {
		if err := c.refresh(ctx); err != nil {
			c.log.WarnContext(ctx, "template refresh failed; using the last list", "template", name, "error", err)
		}
		t, ok = c.byKey[templateKey(name, lang)]
	}
	return t, ok, nil
}

// All returns every template, sorted by name and language.
func (c *TemplateCache) All(ctx context.Context) ([]Template, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.ensure(ctx); err != nil {
		return nil, err
	}
	return c.list(), nil
}

// Refresh fetches the list from the API now and saves it to the store.
func (c *TemplateCache) Refresh(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.load(ctx); err != nil {
		return err
	}
	return c.refresh(ctx)
}

// HandleStatusUpdate applies a message_template_status_update webhook
// (event APPROVED, REJECTED, PAUSED, DISABLED, DELETED, …): the cached
// status changes at once (DELETED removes the template), the change is
// saved, and the list is marked stale so the next Get refreshes it from
// the API. A template the cache does not know yet is picked up by that
// refresh.
func (c *TemplateCache) HandleStatusUpdate(ctx context.Context, name, language, event string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.load(ctx); err != nil {
		return err
	}
	c.stale = true
	k := templateKey(name, language)
	t, ok := c.byKey[k]
	if !ok {
		return nil
	}
	if event == "DELETED" {
		delete(c.byKey, k)
	} else {
		t.Status = event
		c.byKey[k] = t
	}
	if err := c.store.Save(ctx, c.wabaID, c.list()); err != nil {
		return fmt.Errorf("whatsapp: save templates of WABA %s: %w", c.wabaID, err)
	}
	return nil
}

// load reads the store once. Stored templates count as fresh when loaded:
// the store does not keep their age, and status webhooks and misses
// refresh earlier.
func (c *TemplateCache) load(ctx context.Context) error {
	if c.loaded {
		return nil
	}
	ts, err := c.store.Load(ctx, c.wabaID)
	if err != nil {
		return fmt.Errorf("whatsapp: load templates of WABA %s: %w", c.wabaID, err)
	}
	c.set(ts)
	c.loaded, c.fetched, c.hasListed = true, c.now(), len(ts) > 0
	return nil
}

// ensure loads the store and refreshes when needed. A failed refresh is an
// error only when there is no list to serve.
func (c *TemplateCache) ensure(ctx context.Context) error {
	if err := c.load(ctx); err != nil {
		return err
	}
	if c.hasListed && !c.stale && c.now().Sub(c.fetched) < c.every {
		return nil
	}
	if c.hasListed && !c.lastFail.IsZero() && c.now().Sub(c.lastFail) < missRefreshInterval {
		return nil // the API failed a moment ago: serve the last list
	}
	if err := c.refresh(ctx); err != nil {
		if !c.hasListed {
			return err
		}
		c.log.WarnContext(ctx, "template refresh failed; using the last list", "error", err)
	}
	return nil
}

// refresh fetches the list and saves it. The memory copy is replaced even
// when saving fails.
func (c *TemplateCache) refresh(ctx context.Context) error {
	c.lastTry = c.now()
	ts, err := c.lister.ListTemplates(ctx)
	if err != nil {
		c.lastFail = c.lastTry
		return fmt.Errorf("whatsapp: refresh templates: %w", err)
	}
	c.set(ts)
	c.fetched, c.stale, c.hasListed, c.lastFail = c.now(), false, true, time.Time{}
	if err := c.store.Save(ctx, c.wabaID, c.list()); err != nil {
		return fmt.Errorf("whatsapp: save templates of WABA %s: %w", c.wabaID, err)
	}
	return nil
}

func (c *TemplateCache) set(ts []Template) {
	c.byKey = make(map[string]Template, len(ts))
	for _, t := range ts {
		t.Language = NormalizeLanguage(t.Language)
		c.byKey[templateKey(t.Name, t.Language)] = t
	}
}

func (c *TemplateCache) list() []Template {
	out := make([]Template, 0, len(c.byKey))
	for _, t := range c.byKey {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b Template) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Language, b.Language))
	})
	return out
}

// MemoryTemplateStore is a TemplateStore in memory, for tests and for
// running without a database.
type MemoryTemplateStore struct {
	mu sync.Mutex
	m  map[string][]Template
}

// NewMemoryTemplateStore returns an empty store.
func NewMemoryTemplateStore() *MemoryTemplateStore {
	return &MemoryTemplateStore{m: map[string][]Template{}}
}

// Load implements TemplateStore.
func (s *MemoryTemplateStore) Load(_ context.Context, wabaID string) ([]Template, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.m[wabaID]), nil
}

// Save implements TemplateStore.
func (s *MemoryTemplateStore) Save(_ context.Context, wabaID string, ts []Template) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[wabaID] = slices.Clone(ts)
	return nil
}
