package bridge

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/deskbridge/deskbridge/connectors/zendesk"
	"github.com/deskbridge/deskbridge/store"
)

// SourceZendesk is the inbox source of Zendesk webhook events.
const SourceZendesk = "zendesk"

// KindAgentReply is the inbox kind of an agent's public reply.
const KindAgentReply = "agent_reply"

// ZendeskAccount is a configured Zendesk helpdesk whose webhooks the bridge
// accepts.
type ZendeskAccount struct {
	// Name is the helpdesk's name in the configuration.
	Name string
	// Secret returns the webhook signing secret (resolved per call, so a
	// rotated secret is used at once).
	Secret func(ctx context.Context) ([]byte, error)
	// APIUserID returns the id of the bridge's API identity, to recognise
	// its own writes; an error means unknown (the trigger still excludes
	// API writes).
	APIUserID func(ctx context.Context) (string, error)
}

// HelpdeskInbox accepts helpdesk webhooks: it verifies the signature
// against each configured account, parses the body, drops the bridge's own
// writes echoing back, and stores the reply in the inbox (unique on the
// comment id) with its work, like a WhatsApp webhook. It implements the
// server's HelpdeskAcceptor.
type HelpdeskInbox struct {
	in       *Inbox
	accounts []ZendeskAccount
	now      func() time.Time

	mu      sync.Mutex
	apiUser map[string]string // account → API user id, once known
}

// NewHelpdeskInbox returns a HelpdeskInbox storing through in.
func NewHelpdeskInbox(in *Inbox, accounts []ZendeskAccount) *HelpdeskInbox {
	return &HelpdeskInbox{in: in, accounts: accounts, now: time.Now, apiUser: map[string]string{}}
}

// WithClock makes the inbox check signature timestamps against now instead
// of time.Now (for the sandbox's movable clock). It returns h.
func (h *HelpdeskInbox) WithClock(now func() time.Time) *HelpdeskInbox {
	h.now = now
	return h
}

// AcceptHelpdesk implements server.HelpdeskAcceptor.
func (h *HelpdeskInbox) AcceptHelpdesk(ctx context.Context, vendor string, header http.Header, body []byte) (int, string, string, error) {
	if vendor != SourceZendesk {
		return http.StatusNotFound, "", "", fmt.Errorf("bridge: no %s helpdesk is configured", vendor)
	}
	acct, err := h.verify(ctx, header, body)
	if errors.Is(err, errSecretUnavailable) {
		return http.StatusServiceUnavailable, "", "", err // Zendesk retries
	}
	if err != nil {
		return http.StatusUnauthorized, "", "", err
	}
	ev, err := zendesk.ParseReplyEvent(body)
	if err != nil {
		return http.StatusBadRequest, "", "", err
	}
	if (ev.Event != "" && ev.Event != zendesk.EventAgentPublicReply) || !ev.Public {
		// Signed by the account, but not a public agent reply (a hand-made
		// trigger): acknowledged so it is not retried, and not relayed.
		return http.StatusOK, KindAgentReply, "ignored", nil
	}
	if zendesk.IsFromBridge(ev, h.apiUserID(ctx, acct)) {
		return http.StatusOK, KindAgentReply, "ignored", nil
	}
	key := acct.Name + ":" + ev.TicketID + ":" + ev.CommentID
	if ev.CommentID == "" {
		// Without a comment id, the update time names the reply.
		key = acct.Name + ":" + ev.TicketID + ":at:" + ev.UpdatedAt.UTC().Format(time.RFC3339)
	}
	dups, err := h.in.accept(ctx, []store.NewEvent{{
		Source:       SourceZendesk,
		Kind:         KindAgentReply,
		Key:          key,
		Conversation: store.ConversationKey{Source: SourceZendesk, Account: acct.Name, Contact: "ticket:" + ev.TicketID},
		OccurredAt:   ev.UpdatedAt,
		Payload:      body,
	}})
	if err != nil {
		return http.StatusServiceUnavailable, "", "", err
	}
	if dups[0] {
		return http.StatusOK, KindAgentReply, "duplicate", nil
	}
	return http.StatusOK, KindAgentReply, "stored", nil
}

// errSecretUnavailable marks a webhook that could not be checked because no
// signing secret could be read: a temporary failure, answered 503.
var errSecretUnavailable = errors.New("webhook secret unavailable")

// verify finds the account whose signing secret signed the body.
func (h *HelpdeskInbox) verify(ctx context.Context, header http.Header, body []byte) (ZendeskAccount, error) {
	sig := header.Get("X-Zendesk-Webhook-Signature")
	ts := header.Get("X-Zendesk-Webhook-Signature-Timestamp")
	err := zendesk.ErrNoSecret
	read := 0
	for _, a := range h.accounts {
		secret, serr := a.Secret(ctx)
		if serr != nil {
			err = fmt.Errorf("bridge: helpdesk %s: %w: %w", a.Name, errSecretUnavailable, serr)
			continue
		}
		read++
		verr := zendesk.VerifySignature(body, sig, ts, secret, h.now())
		if verr == nil {
			return a, nil
		}
		if !errors.Is(err, zendesk.ErrStaleTimestamp) {
			err = verr // keep the most telling failure
		}
	}
	if read > 0 && errors.Is(err, errSecretUnavailable) {
		// Another account's secret was read and did not match.
		err = zendesk.ErrSignatureMismatch
	}
	return ZendeskAccount{}, err
}

func (h *HelpdeskInbox) apiUserID(ctx context.Context, a ZendeskAccount) string {
	h.mu.Lock()
	id, ok := h.apiUser[a.Name]
	h.mu.Unlock()
	if ok || a.APIUserID == nil {
		return id
	}
	id, err := a.APIUserID(ctx)
	if err != nil {
		return ""
	}
	h.mu.Lock()
	h.apiUser[a.Name] = id
	h.mu.Unlock()
	return id
}
