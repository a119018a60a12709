package zendesk

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// Webhook request headers, as Zendesk sends them.
const (
	SignatureHeader          = "X-Zendesk-Webhook-Signature"
	SignatureTimestampHeader = "X-Zendesk-Webhook-Signature-Timestamp"
	WebhookIDHeader          = "X-Zendesk-Webhook-Id"
	InvocationIDHeader       = "X-Zendesk-Webhook-Invocation-Id"
)

// Sign returns Zendesk's webhook signature: base64(HMAC-SHA256(secret,
// timestamp + body)).
func Sign(secret, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Delivery is the record of one webhook request the fake sent or tried to
// send because a trigger fired.
type Delivery struct {
	Seq        uint64 `json:"seq"`             // order of creation
	WebhookID  string `json:"webhook_id"`      // the webhook sent to
	TriggerID  int64  `json:"trigger_id"`      // the trigger that fired
	TicketID   int64  `json:"ticket_id"`       // the ticket it fired for
	Method     string `json:"method"`          // the webhook's http_method
	URL        string `json:"url"`             // the webhook's endpoint
	Body       string `json:"body"`            // the rendered body, as sent
	Timestamp  string `json:"timestamp"`       // signature timestamp of the last attempt
	Signature  string `json:"signature"`       // signature of the last attempt
	Attempts   int    `json:"attempts"`        // requests made so far
	LastStatus int    `json:"last_status"`     // HTTP status of the last attempt; 0 = none
	Delivered  bool   `json:"delivered"`       // a 2xx answer was received
	Error      string `json:"error,omitempty"` // why the last attempt failed
}

// outgoing is one queued webhook request.
type outgoing struct {
	rec       *Delivery
	secret    string
	header    http.Header
	body      []byte
	notBefore time.Time
	gen       uint64
}

const maxRecords = 500

// emitter queues, signs, sends and retries webhook requests in one worker,
// in order.
type emitter struct {
	log         *slog.Logger
	client      *http.Client
	maxAttempts int
	backoff     time.Duration
	now         func() time.Time
	stop        chan struct{}
	done        chan struct{}
	wake        chan struct{}
	once        sync.Once

	mu       sync.Mutex
	queue    []*outgoing
	inflight int
	closed   bool
	gen      uint64
	changed  chan struct{}
	records  []*Delivery
	seq      uint64
}

func newEmitter(log *slog.Logger, client *http.Client, maxAttempts int, backoff time.Duration, now func() time.Time) *emitter {
	e := &emitter{log: log, client: client, maxAttempts: maxAttempts, backoff: backoff, now: now,
		stop: make(chan struct{}), done: make(chan struct{}), wake: make(chan struct{}, 1), changed: make(chan struct{})}
	go e.run()
	return e
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

// enqueue queues a request; rec describes it (Seq is assigned here).
func (e *emitter) enqueue(rec *Delivery, secret string, header http.Header, body []byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return
	}
	e.seq++
	rec.Seq = e.seq
	e.records = append(e.records, rec)
	if len(e.records) > maxRecords {
		e.records = e.records[len(e.records)-maxRecords:]
	}
	e.queue = append(e.queue, &outgoing{rec: rec, secret: secret, header: header, body: body, gen: e.gen})
	e.notifyLocked()
}

// run is the worker: it sends queued requests one at a time, oldest ready first.
func (e *emitter) run() {
	defer close(e.done)
	for {
		o, ok := e.next()
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
		ts := stamp(e.now())
		sig := Sign(o.secret, ts, o.body)
		status, err := e.send(ctx, o, ts, sig)
		close(stopped)
		cancel()
		e.mu.Lock()
		e.inflight--
		e.finishLocked(o, ts, sig, status, err)
		e.notifyLocked()
		e.mu.Unlock()
	}
}

// finishLocked records an attempt and queues a retry when one is due.
func (e *emitter) finishLocked(o *outgoing, ts, sig string, status int, err error) {
	r := o.rec
	r.Attempts++
	r.Timestamp, r.Signature, r.LastStatus = ts, sig, status
	r.Delivered = err == nil && status >= 200 && status < 300
	switch {
	case err != nil:
		r.Error = err.Error()
	case !r.Delivered:
		r.Error = fmt.Sprintf("endpoint answered %d", status)
	default:
		r.Error = ""
	}
	if r.Delivered || e.closed || o.gen != e.gen || r.Attempts >= e.maxAttempts {
		if !r.Delivered {
			e.log.Warn("webhook not delivered", slog.Uint64("seq", r.Seq), slog.String("webhook_id", r.WebhookID),
				slog.Int("attempts", r.Attempts), slog.Int("status", status), slog.Any("error", err))
		}
		return
	}
	wait := e.backoff << (r.Attempts - 1)
	o.notBefore = time.Now().Add(min(wait, 30*time.Second))
	e.queue = append(e.queue, o)
}

// send signs and sends one attempt.
func (e *emitter) send(ctx context.Context, o *outgoing, ts, sig string) (int, error) {
	var body io.Reader
	if len(o.body) > 0 {
		body = bytes.NewReader(o.body)
	}
	req, err := http.NewRequestWithContext(ctx, o.rec.Method, o.rec.URL, body)
	if err != nil {
		return 0, err
	}
	for k, vs := range o.header {
		req.Header[k] = vs
	}
	req.Header.Set(SignatureHeader, sig)
	req.Header.Set(SignatureTimestampHeader, ts)
	req.Header.Set(WebhookIDHeader, o.rec.WebhookID)
	req.Header.Set(InvocationIDHeader, fmt.Sprintf("%d", o.rec.Seq))
	req.Header.Set("User-Agent", "Zendesk Webhook")
	resp, err := e.client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// next waits for a ready request and marks it in flight.
func (e *emitter) next() (*outgoing, bool) {
	for {
		e.mu.Lock()
		if e.closed {
			e.mu.Unlock()
			return nil, false
		}
		now := time.Now()
		wait := time.Duration(-1)
		for i, o := range e.queue {
			if !o.notBefore.After(now) {
				e.queue = append(e.queue[:i], e.queue[i+1:]...)
				e.inflight++
				e.mu.Unlock()
				return o, true
			}
			if w := o.notBefore.Sub(now); wait < 0 || w < wait {
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

// flush waits until nothing is queued or in flight.
func (e *emitter) flush(ctx context.Context) error {
	for {
		e.mu.Lock()
		idle := len(e.queue) == 0 && e.inflight == 0
		closed := e.closed
		ch := e.changed
		e.mu.Unlock()
		if idle || closed {
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

func (e *emitter) reset() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.queue, e.records = nil, nil
	e.gen++
	e.notifyLocked()
}

func (e *emitter) close() {
	e.once.Do(func() {
		e.mu.Lock()
		e.closed = true
		e.queue = nil
		e.notifyLocked()
		e.mu.Unlock()
		close(e.stop)
		<-e.done
	})
}

// Flush waits until every queued and in-flight webhook request has been
// delivered or given up, or ctx ends.
func (s *Server) Flush(ctx context.Context) error { return s.em.flush(ctx) }

// Deliveries returns the records of the last webhook requests (up to 500),
// oldest first.
func (s *Server) Deliveries() []Delivery { return s.em.deliveries() }
