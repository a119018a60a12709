package whatsapp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	wa "github.com/deskbridge/deskbridge/connectors/whatsapp"
)

// ErrDelivery reports that a webhook could not be POSTed (no callback URL, or
// a transport error). With a callback URL set, the webhook stays queued for
// retry.
var ErrDelivery = errors.New("whatsapp sandbox: webhook not delivered")

// WebhookOptions control how the fake emits webhooks.
type WebhookOptions struct {
	// StatusesEnabled emits sent → delivered → read (or failed) for every
	// accepted send.
	StatusesEnabled bool
	// StatusDelay is the real-time pause before each status (0: at once).
	StatusDelay time.Duration
	// Duplicate delivers every webhook twice, as Meta's retries can.
	Duplicate bool
	// OutOfOrder holds each status webhook back until the next one has been
	// queued (Flush releases a held one).
	OutOfOrder bool
	// FailNext, when not 0, makes the next accepted send end in a "failed"
	// status carrying this error code (after "sent"). It is used once.
	FailNext int
	// WindowFailureAsync accepts a non-template send outside the service
	// window and reports 131047 in a "failed" status instead of answering 400.
	WindowFailureAsync bool
	// MaxAttempts bounds the POSTs of one webhook (first try included).
	MaxAttempts int
	// RetryBackoff is the wait before the first retry; it doubles each time.
	RetryBackoff time.Duration
}

// DefaultWebhookOptions returns the options a new Server starts with:
// statuses on, no delay, 6 attempts, 1 s first backoff.
func DefaultWebhookOptions() WebhookOptions {
	return WebhookOptions{StatusesEnabled: true, MaxAttempts: 6, RetryBackoff: time.Second}
}

// Delivery is the record of one webhook the fake sent or tried to send.
type Delivery struct {
	Seq        uint64          `json:"seq"`
	Kind       string          `json:"kind"` // message, status, template_status
	Attempts   int             `json:"attempts"`
	LastStatus int             `json:"last_status"` // HTTP status of the last attempt; 0 = none
	Delivered  bool            `json:"delivered"`
	Error      string          `json:"error,omitempty"`
	Body       json.RawMessage `json:"body"`
}

// delivery is one queued POST.
type delivery struct {
	rec       *Delivery
	body      []byte
	notBefore time.Time
}

const maxRecords = 500

// emitter queues, signs, POSTs and retries webhooks in a single worker.
type emitter struct {
	log    *slog.Logger
	client *http.Client
	secret []byte
	stop   chan struct{}
	done   chan struct{}
	wake   chan struct{}
	once   sync.Once

	mu        sync.Mutex
	callback  string
	opts      WebhookOptions
	queue     []*delivery
	held      []*delivery
	inflight  int
	scheduled int
	gen       uint64
	closed    bool
	changed   chan struct{}
	records   []*Delivery
	seq       uint64
}

func newEmitter(log *slog.Logger, client *http.Client, secret []byte, callback string, o WebhookOptions) *emitter {
	e := &emitter{
		log: log, client: client, secret: secret, callback: callback, opts: o,
		stop: make(chan struct{}), done: make(chan struct{}), wake: make(chan struct{}, 1),
		changed: make(chan struct{}),
	}
	go e.run()
	return e
}

func (e *emitter) setCallback(u string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.callback = u
}

func (e *emitter) options() WebhookOptions {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.opts
}

func (e *emitter) setOptions(o WebhookOptions) {
	e.mu.Lock()
	e.opts = o
	var release []*delivery
	if !o.OutOfOrder {
		release, e.held = e.held, nil
	}
	e.queue = append(e.queue, release...)
	e.notifyLocked()
	e.mu.Unlock()
}

// takeFailNext returns and clears FailNext.
func (e *emitter) takeFailNext() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.opts.FailNext
	e.opts.FailNext = 0
	return c
}

// notifyLocked wakes Flush waiters and the worker. e.mu is held.
func (e *emitter) notifyLocked() {
	close(e.changed)
	e.changed = make(chan struct{})
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// newRecordLocked starts a Delivery record. e.mu is held.
func (e *emitter) newRecordLocked(kind string, body []byte) *Delivery {
	e.seq++
	r := &Delivery{Seq: e.seq, Kind: kind, Body: json.RawMessage(body)}
	e.records = append(e.records, r)
	if len(e.records) > maxRecords {
		e.records = e.records[len(e.records)-maxRecords:]
	}
	return r
}

// enqueue queues body for delivery, applying Duplicate and OutOfOrder.
func (e *emitter) enqueue(kind string, body []byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return
	}
	items := []*delivery{{rec: e.newRecordLocked(kind, body), body: body}}
	if e.opts.Duplicate {
		items = append(items, &delivery{rec: e.newRecordLocked(kind, body), body: body})
	}
	if kind == "status" && e.opts.OutOfOrder {
		if e.held == nil {
			e.held = items
			e.notifyLocked()
			return
		}
		items = append(items, e.held...)
		e.held = nil
	}
	e.queue = append(e.queue, items...)
	e.notifyLocked()
}

// schedule runs fn after d (real time) unless the emitter is closed or reset
// meanwhile. Flush waits for scheduled functions.
func (e *emitter) schedule(d time.Duration, fn func()) {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return
	}
	e.scheduled++
	gen := e.gen
	e.mu.Unlock()
	time.AfterFunc(d, func() {
		e.mu.Lock()
		live := !e.closed && e.gen == gen
		e.mu.Unlock()
		if live {
			fn()
		}
		e.mu.Lock()
		e.scheduled--
		e.notifyLocked()
		e.mu.Unlock()
	})
}

// deliverNow POSTs body at once and returns the receiver's HTTP status. A
// failed attempt is queued for retry; Duplicate queues a second copy.
func (e *emitter) deliverNow(ctx context.Context, kind string, body []byte) (int, error) {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return 0, fmt.Errorf("%w: emitter closed", ErrDelivery)
	}
	d := &delivery{rec: e.newRecordLocked(kind, body), body: body}
	cb := e.callback
	e.inflight++
	e.mu.Unlock()

	status, err := e.post(ctx, cb, body)

	e.mu.Lock()
	e.inflight--
	e.finishLocked(d, status, err, cb != "")
	if e.opts.Duplicate && !e.closed {
		e.queue = append(e.queue, &delivery{rec: e.newRecordLocked(kind, body), body: body})
	}
	e.notifyLocked()
	e.mu.Unlock()
	if err != nil {
		return status, fmt.Errorf("%w: %w", ErrDelivery, err)
	}
	return status, nil
}

// finishLocked records an attempt and queues a retry when one is due. e.mu is held.
func (e *emitter) finishLocked(d *delivery, status int, err error, retryable bool) {
	d.rec.Attempts++
	d.rec.LastStatus = status
	d.rec.Delivered = err == nil && status == http.StatusOK
	switch {
	case err != nil:
		d.rec.Error = err.Error()
	case status != http.StatusOK:
		d.rec.Error = fmt.Sprintf("receiver answered %d", status)
	default:
		d.rec.Error = ""
	}
	if d.rec.Delivered || !retryable || e.closed || d.rec.Attempts >= max(1, e.opts.MaxAttempts) {
		if !d.rec.Delivered {
			e.log.Warn("webhook not delivered", slog.Uint64("seq", d.rec.Seq),
				slog.Int("attempts", d.rec.Attempts), slog.Int("status", status), slog.Any("error", err))
		}
		return
	}
	wait := e.opts.RetryBackoff << (d.rec.Attempts - 1)
	d.notBefore = time.Now().Add(min(wait, time.Minute))
	e.queue = append(e.queue, d)
}

// post signs and POSTs body to cb.
func (e *emitter) post(ctx context.Context, cb string, body []byte) (int, error) {
	if cb == "" {
		return 0, errors.New("no callback URL set")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cb, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(wa.SignatureHeader, wa.Sign(body, e.secret))
	req.Header.Set("User-Agent", "facebookexternalua")
	resp, err := e.client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// run is the worker: it POSTs queued webhooks one at a time, oldest ready first.
func (e *emitter) run() {
	defer close(e.done)
	for {
		d, cb, ok := e.next()
		if !ok {
			return
		}
		ctx, cancel := context.WithCancel(context.Background())
		stopped := make(chan struct{})
		go func() {
			select {
			case <-e.stop:
				cancel()
			case <-stopped:
			}
		}()
		status, err := e.post(ctx, cb, d.body)
		close(stopped)
		cancel()
		e.mu.Lock()
		e.inflight--
		e.finishLocked(d, status, err, cb != "")
		e.notifyLocked()
		e.mu.Unlock()
	}
}

// next waits for a ready delivery and marks it in flight.
func (e *emitter) next() (*delivery, string, bool) {
	for {
		e.mu.Lock()
		if e.closed {
			e.mu.Unlock()
			return nil, "", false
		}
		now := time.Now()
		var wait time.Duration = -1
		for i, d := range e.queue {
			if !d.notBefore.After(now) {
				e.queue = append(e.queue[:i], e.queue[i+1:]...)
				e.inflight++
				cb := e.callback
				e.mu.Unlock()
				return d, cb, true
			}
			if w := d.notBefore.Sub(now); wait < 0 || w < wait {
				wait = w
			}
		}
		e.mu.Unlock()
		var timer *time.Timer
		var fire <-chan time.Time
		if wait >= 0 {
			timer = time.NewTimer(wait)
			fire = timer.C
		}
		select {
		case <-e.stop:
		case <-e.wake:
		case <-fire:
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

// flush waits until no webhook is queued, held, scheduled or in flight.
// A held (out-of-order) status is released once nothing else is pending.
func (e *emitter) flush(ctx context.Context) error {
	for {
		e.mu.Lock()
		idle := len(e.queue) == 0 && e.inflight == 0 && e.scheduled == 0
		if idle && len(e.held) > 0 {
			// Nothing else will come to overtake the held status.
			e.queue = append(e.queue, e.held...)
			e.held = nil
			e.notifyLocked()
			idle = false
		}
		ch := e.changed
		e.mu.Unlock()
		if idle {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

func (e *emitter) deliveries() []Delivery {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Delivery, len(e.records))
	for i, r := range e.records {
		out[i] = *r
	}
	return out
}

func (e *emitter) reset(o WebhookOptions) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.queue, e.held, e.records = nil, nil, nil
	e.opts = o
	e.gen++
	e.notifyLocked()
}

func (e *emitter) close() {
	e.once.Do(func() {
		e.mu.Lock()
		e.closed = true
		e.queue, e.held = nil, nil
		e.notifyLocked()
		e.mu.Unlock()
		close(e.stop)
		<-e.done
	})
}

// WebhookOptions returns the webhook options in force.
func (s *Server) WebhookOptions() WebhookOptions { return s.em.options() }

// SetWebhookOptions replaces the webhook options. Turning OutOfOrder off
// releases a held status.
func (s *Server) SetWebhookOptions(o WebhookOptions) { s.em.setOptions(o) }

// Flush waits until every queued, held, scheduled and in-flight webhook has
// been delivered or given up, or ctx ends.
func (s *Server) Flush(ctx context.Context) error { return s.em.flush(ctx) }

// Deliveries returns the records of the last webhooks (up to 500), oldest first.
func (s *Server) Deliveries() []Delivery { return s.em.deliveries() }

// VerifyCallback performs Meta's subscription handshake against the callback
// URL: GET ?hub.mode=subscribe&hub.challenge=…&hub.verify_token=verifyToken,
// which must be answered 200 with the challenge as the body.
func (s *Server) VerifyCallback(ctx context.Context, verifyToken string) error {
	s.em.mu.Lock()
	cb := s.em.callback
	s.em.mu.Unlock()
	if cb == "" {
		return fmt.Errorf("%w: no callback URL set", ErrDelivery)
	}
	u, err := url.Parse(cb)
	if err != nil {
		return fmt.Errorf("whatsapp sandbox: callback URL: %w", err)
	}
	challenge := strconv.FormatInt(time.Now().UnixNano()%1_000_000_000+1_000_000_000, 10)
	q := u.Query()
	q.Set("hub.mode", "subscribe")
	q.Set("hub.challenge", challenge)
	q.Set("hub.verify_token", verifyToken)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fmt.Errorf("whatsapp sandbox: verify callback: %w", err)
	}
	resp, err := s.opts.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("whatsapp sandbox: verify callback: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK || string(bytes.TrimSpace(b)) != challenge {
		return fmt.Errorf("whatsapp sandbox: verify callback: answered %d %q, want 200 %q", resp.StatusCode, b, challenge)
	}
	return nil
}
