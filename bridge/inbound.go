package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/deskbridge/deskbridge/connectors"
	"github.com/deskbridge/deskbridge/connectors/whatsapp"
	"github.com/deskbridge/deskbridge/mapping"
	"github.com/deskbridge/deskbridge/queue"
	"github.com/deskbridge/deskbridge/store"
	"github.com/deskbridge/deskbridge/telemetry"
)

// coalesceMaxChars bounds a coalesced comment, well within every
// helpdesk's comment size limit (Zendesk: 64 KB).
const coalesceMaxChars = 30000

// inMsg is a stored customer message and its parsed event.
type inMsg struct {
	ev *store.Event
	w  *whatsapp.Event
}

func (m inMsg) msg() *whatsapp.Message { return m.w.Message }

// at is the message's WhatsApp timestamp, else when it was received.
func (m inMsg) at() time.Time {
	if t := m.w.Timestamp; !t.IsZero() {
		return t
	}
	return m.ev.ReceivedAt
}

// inbound is the state of one inbound write while it is planned and made.
type inbound struct {
	n       *Number
	hd      connectors.Helpdesk
	target  string
	chat    *store.Chat
	batch   []inMsg
	key     string // the write's key: the batch name, the head wamid at first
	amb     []connectors.ContactRef
	matched connectors.Match
}

// handleMessages relays the head message, and the customer texts right
// after it when the conversation is behind, as one helpdesk comment. It
// returns how many events it handled.
func (e *Engine) handleMessages(ctx context.Context, evs []*store.Event, head *whatsapp.Event) (int, error) {
	if !e.ready() {
		return 1, nil
	}
	n, ok := e.numbers[head.PhoneNumberID]
	if !ok {
		e.log.WarnContext(ctx, "message for a number that is not configured; not relayed",
			"phone_number_id", head.PhoneNumberID, "event_id", evs[0].ID)
		return 1, nil
	}
	if n.Helpdesk == "" {
		e.log.DebugContext(ctx, "message not relayed: the number has no helpdesk", "phone_number_id", n.PhoneNumberID)
		return 1, nil
	}
	hd, err := e.helpdesk(n)
	if err != nil {
		return 0, err
	}
	in := &inbound{n: n, hd: hd, target: helpdeskTarget(n.Helpdesk), batch: []inMsg{{evs[0], head}}, key: evs[0].Key}
	if in.chat, err = e.loadChat(ctx, n, head); err != nil {
		return 0, err
	}
	if head.Message.Type == whatsapp.TypeSystem {
		return handled(1, e.handleSystem(ctx, in))
	}
	eff, err := e.st.Effect(ctx, SourceWhatsApp, evs[0].Key, in.target)
	if err != nil {
		return 0, err
	}
	switch {
	case eff != nil && eff.State == store.EffectDone:
		// Written before (a replay, or a crash right after the write).
		return handled(1, e.finishInbound(ctx, in, eff.Ref, false))
	case eff != nil && eff.Batch != "":
		// An earlier attempt may have written: find out before writing again.
		in.key = eff.Batch
		if in.batch, err = e.pendingBatch(ctx, evs, in.target, eff.Batch); err != nil {
			return 0, err
		}
		done, err := e.readBack(ctx, in, eff.Ref)
		if done || err != nil {
			return handled(len(in.batch), err)
		}
		if _, ok := hd.(connectors.WriteFinder); ok && eff.Ref != "" {
			// The helpdesk shows the append was not made: what has queued
			// since may join it. (A creation keeps its exact batch: the
			// vendor's idempotency key is tied to its body.)
			in.batch = e.coalesce(evs, in.batch[0])
		}
	default:
		in.batch = e.coalesce(evs, in.batch[0])
	}
	if err := e.resolveContact(ctx, in); err != nil {
		return 0, err
	}
	if err := e.write(ctx, in); err != nil {
		return 0, err
	}
	return len(in.batch), nil
}

// handled is the result of handling n events: none when err is set, so
// the queue retries the head event.
func handled(n int, err error) (int, error) {
	if err != nil {
		return 0, err
	}
	return n, nil
}

// loadChat returns the chat of the event's customer, a new unsaved one
// (ID 0) when there is none.
func (e *Engine) loadChat(ctx context.Context, n *Number, w *whatsapp.Event) (*store.Chat, error) {
	c, err := e.st.Chat(ctx, n.PhoneNumberID, w.ContactKey)
	if err != nil || c != nil {
		if c != nil {
			e.learnIdentity(c, w)
		}
		return c, err
	}
	c = &store.Chat{PhoneNumberID: n.PhoneNumberID, ContactKey: w.ContactKey, Helpdesk: n.Helpdesk}
	e.learnIdentity(c, w)
	return c, nil
}

// learnIdentity keeps what the event says about the customer.
func (e *Engine) learnIdentity(c *store.Chat, w *whatsapp.Event) {
	if w.WAID != "" {
		c.WAID = w.WAID
	}
	if w.UserID != "" {
		c.UserID = w.UserID
	}
	if m := w.Message; m != nil && m.Contact != nil && m.Contact.Name != "" {
		c.Name = m.Contact.Name
	}
}

// pendingBatch returns the leading events that an earlier attempt wrote
// (or tried to) as the batch named batch: a retry writes exactly the same
// comment, so a vendor idempotency key stays valid.
func (e *Engine) pendingBatch(ctx context.Context, evs []*store.Event, target, batch string) ([]inMsg, error) {
	var out []inMsg
	for _, ev := range evs {
		eff, err := e.st.Effect(ctx, SourceWhatsApp, ev.Key, target)
		if err != nil {
			return nil, err
		}
		if eff == nil || eff.State != store.EffectPending || eff.Batch != batch {
			break
		}
		w, err := whatsapp.ParseStored(ev.Payload)
		if err != nil || w.Message == nil {
			break
		}
		out = append(out, inMsg{ev, w})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("batch %s: its first event is not pending", batch)
	}
	return out, nil
}

// readBack resolves an uncertain earlier write to ticketID: when the
// helpdesk shows it was made, the batch is completed and done is true.
// Creations ("" ticket) need no read-back: they carry the vendor's
// idempotency key and are simply made again.
func (e *Engine) readBack(ctx context.Context, in *inbound, ticketID string) (done bool, err error) {
	if ticketID == "" {
		return false, nil
	}
	wf, ok := in.hd.(connectors.WriteFinder)
	if !ok {
		e.log.WarnContext(ctx, "cannot read back an uncertain write; writing again", "ticket_id", ticketID)
		return false, nil
	}
	ref, found, err := wf.FindWrite(ctx, e.ticketRef(in, ticketID), in.key)
	if err != nil {
		return false, fmt.Errorf("read back write %s: %w", in.key, err)
	}
	if !found {
		return false, nil
	}
	e.log.InfoContext(ctx, "uncertain write found on the ticket; not written again", "ticket_id", ticketID, "comment_id", ref.ID)
	if _, err := e.st.CompleteBatch(ctx, SourceWhatsApp, in.target, in.key, ref.ID, ticketID); err != nil {
		return false, err
	}
	return true, e.finishInbound(ctx, in, ticketID, false)
}

// coalesce returns head and the customer texts that directly follow it in
// evs (the conversation is behind), within CoalesceMax and the size bound.
// Anything else (media, a reply to an earlier message, an opt-out keyword)
// ends the run and is written on its own.
func (e *Engine) coalesce(evs []*store.Event, head inMsg) []inMsg {
	batch := []inMsg{head}
	if !e.coalescible(head) {
		return batch
	}
	size := len(head.msg().Text.Body)
	for _, ev := range evs[1:] {
		if len(batch) >= e.opt.CoalesceMax || ev.Source != SourceWhatsApp || ev.Kind != string(whatsapp.KindMessage) {
			break
		}
		w, err := whatsapp.ParseStored(ev.Payload)
		if err != nil || w.Message == nil || w.ContactKey != head.w.ContactKey {
			break
		}
		m := inMsg{ev, w}
		if !e.coalescible(m) || size+len(w.Message.Text.Body) > coalesceMaxChars {
			break
		}
		size += len(w.Message.Text.Body) + 12
		batch = append(batch, m)
	}
	return batch
}

func (e *Engine) coalescible(m inMsg) bool {
	msg := m.msg()
	return e.opt.CoalesceMax > 1 && msg.Type == whatsapp.TypeText && msg.Text != nil && msg.Context == nil &&
		msg.Referral == nil && e.keyword(msg) == ""
}

// keyword returns the opt-out or opt-in keyword a text is ("" for none).
func (e *Engine) keyword(msg *whatsapp.Message) string {
	if msg.Type != whatsapp.TypeText || msg.Text == nil {
		return ""
	}
	k := strings.ToUpper(strings.TrimSpace(msg.Text.Body))
	if e.optOut[k] || k == OptInKeyword {
		return k
	}
	return ""
}

// resolveContact finds the customer's helpdesk contact: the chat knows it,
// else the identity map (any of their phone forms, wa_ids and BSUIDs),
// else the helpdesk (external id, phone, create). A customer whose key
// changed carries on in their latest chat's ticket.
func (e *Engine) resolveContact(ctx context.Context, in *inbound) error {
	c := in.chat
	if c.ContactID != "" {
		return nil
	}
	head := in.batch[0].w
	aliases := identityAliases(head.WAID, head.UserID)
	ids, err := e.st.LookupIdentity(ctx, in.n.Helpdesk, aliases)
	if err != nil {
		return err
	}
	switch {
	case len(ids) == 1:
		c.ContactID, in.matched = ids[0], connectors.MatchExact
	case len(ids) > 1:
		c.ContactID, in.matched = ids[0], connectors.MatchAmbiguous
		for _, id := range ids {
			in.amb = append(in.amb, connectors.ContactRef{Account: in.n.Helpdesk, ID: id})
		}
	default:
		phone := ""
		if head.WAID != "" {
			if p, err := mapping.NormalizePhone(head.WAID); err == nil {
				phone = p
			}
		}
		in.matched = connectors.MatchCreated // as the mapping sees a contact not yet known
		res, err := in.hd.FindOrCreateContact(ctx, e.contactParams(ctx, in, phone))
		if err != nil {
			return fmt.Errorf("find or create contact: %w", err)
		}
		c.ContactID, in.matched = res.Contact.ID, res.Match
		if res.Match == connectors.MatchAmbiguous {
			in.amb = res.Candidates
		}
	}
	e.count(func(m *telemetry.Metrics) { m.ContactMatch.WithLabelValues(string(in.matched)).Inc() })
	e.log.InfoContext(ctx, "contact resolved", "match", string(in.matched), "contact_id", c.ContactID,
		"phone_number_id", c.PhoneNumberID)
	if err := e.st.AddIdentities(ctx, in.n.Helpdesk, c.ContactID, aliases); err != nil {
		return err
	}
	if c.ID == 0 && c.TicketID == "" {
		prev, err := e.st.LatestChatOfContact(ctx, c.PhoneNumberID, c.Helpdesk, c.ContactID)
		if err != nil {
			return err
		}
		if prev != nil {
			c.TicketID, c.TicketStatus, c.TicketCheckedAt = prev.TicketID, prev.TicketStatus, prev.TicketCheckedAt
			c.LastActivity, c.LastCustomerAt = prev.LastActivity, prev.LastCustomerAt
			c.OptedOutAt, c.OptOutReason = prev.OptedOutAt, prev.OptOutReason
		}
	}
	return nil
}

// identityAliases are the identity-map keys of a customer: "wa:" wa_id,
// "bsuid:" BSUID and every form of their phone number in E.164.
func identityAliases(waID, userID string) []string {
	var a mapping.Aliases
	a.AddWAID(waID)
	a.AddBSUID(userID)
	var out []string
	for _, b := range a.BSUIDs {
		out = append(out, "bsuid:"+b)
	}
	for _, w := range a.WAIDs {
		out = append(out, "wa:"+w)
	}
	return append(out, a.Phones...)
}

// write decides the ticket and makes the write, then records it.
func (e *Engine) write(ctx context.Context, in *inbound) error {
	c := in.chat
	now := in.batch[len(in.batch)-1].at()
	if err := e.refreshTicket(ctx, in); err != nil {
		return err
	}
	body, files, err := e.render(ctx, in)
	if err != nil {
		return err
	}
	keys := make([]string, len(in.batch))
	for i, m := range in.batch {
		keys[i] = m.ev.Key
	}
	for range 2 { // a second round only after the ticket turned out closed
		d := mapping.DecideThread(mapping.ThreadInput{HasTicket: c.TicketID != "", Status: connectors.TicketStatus(c.TicketStatus),
			LastActivity: c.LastActivity, Now: now, Window: e.opt.Window, ReopenSolved: e.opt.ReopenSolved})
		log := e.log.With("action", string(d.Action), "reason", d.Reason, "phone_number_id", c.PhoneNumberID, "messages", len(in.batch))
		switch d.Action {
		case mapping.Append, mapping.AppendReopen:
			if _, err := e.st.BeginBatch(ctx, SourceWhatsApp, in.target, in.key, c.TicketID, keys); err != nil {
				return err
			}
			ref, err := in.hd.AppendMessage(ctx, &connectors.AppendParams{Ticket: e.ticketRef(in, c.TicketID),
				Author: connectors.ContactRef{Account: in.n.Helpdesk, ID: c.ContactID}, Body: body, Attachments: files,
				Reopen: d.Action == mapping.AppendReopen, IdempotencyKey: in.key})
			var ce *connectors.Error
			if errors.As(err, &ce) && ce.Kind == connectors.Conflict && ce.Code == connectors.CodeTicketClosed {
				log.InfoContext(ctx, "ticket closed in the helpdesk; deciding again", "ticket_id", c.TicketID)
				c.TicketStatus, c.TicketCheckedAt = string(connectors.TicketClosed), e.opt.Now()
				continue
			}
			if err != nil {
				return e.writeFailed(ctx, in, fmt.Errorf("append to ticket %s: %w", c.TicketID, err))
			}
			e.countWrite("append", len(in.batch))
			log.DebugContext(ctx, "message appended", "ticket_id", c.TicketID, "comment_id", ref.ID)
			if _, err := e.st.CompleteBatch(ctx, SourceWhatsApp, in.target, in.key, ref.ID, c.TicketID); err != nil {
				return err
			}
			return e.finishInbound(ctx, in, c.TicketID, d.Action == mapping.AppendReopen)
		default:
			if _, err := e.st.BeginBatch(ctx, SourceWhatsApp, in.target, in.key, "", keys); err != nil {
				return err
			}
			p, problems := e.ticketParams(ctx, in, body, files)
			if d.Action == mapping.CreateFollowUp {
				p.FollowUpOf = c.TicketID
			}
			res, err := e.createTicket(ctx, in, p, problems)
			if err != nil {
				return e.writeFailed(ctx, in, fmt.Errorf("create ticket: %w", err))
			}
			e.countWrite("create_ticket", len(in.batch))
			log.InfoContext(ctx, "ticket created", "ticket_id", res.Ticket.ID, "follow_up_of", p.FollowUpOf)
			if _, err := e.st.CompleteBatch(ctx, SourceWhatsApp, in.target, in.key, res.Comment.ID, res.Ticket.ID); err != nil {
				return err
			}
			c.TicketStatus = string(connectors.TicketNew)
			return e.finishInbound(ctx, in, res.Ticket.ID, false)
		}
	}
	return queue.Permanent(fmt.Errorf("ticket %s refused the message twice as closed", c.TicketID))
}

// writeFailed forgets the attempt when the helpdesk certainly applied
// nothing (it refused the request, or the request was never made), so the
// retry needs no read-back and may coalesce what queued meanwhile.
func (e *Engine) writeFailed(ctx context.Context, in *inbound, err error) error {
	var ce *connectors.Error
	if errors.As(err, &ce) && ce.Kind == connectors.RateLimited {
		reason := "upstream_429"
		if ce.Status == 0 {
			reason = "ticket_update_limit" // the connector's own per-ticket check
		}
		e.count(func(m *telemetry.Metrics) { m.Throttled.WithLabelValues("helpdesk", reason).Inc() })
	}
	if notApplied(err) {
		if aerr := e.st.AbandonBatch(ctx, SourceWhatsApp, in.target, in.key); aerr != nil {
			return errors.Join(err, aerr)
		}
	}
	return err
}

// notApplied reports whether a failed vendor call certainly changed
// nothing: refused with a 4xx status, or never sent (no status, and an
// error of the connector's own checks such as the per-ticket limit).
func notApplied(err error) bool {
	var ce *connectors.Error
	if !errors.As(err, &ce) {
		return false
	}
	if ce.Status >= 400 && ce.Status < 500 {
		return true
	}
	return ce.Status == 0 && (ce.Kind == connectors.RateLimited || ce.Kind == connectors.Permanent) && ce.Err == nil
}

func (e *Engine) countWrite(op string, msgs int) {
	e.count(func(m *telemetry.Metrics) {
		m.HelpdeskWrites.WithLabelValues(op).Inc()
		if msgs > 1 {
			m.Coalesced.Add(float64(msgs))
		}
	})
}

// refreshTicket reads the current ticket's status when what the chat knows
// is older than TicketMaxAge. A ticket the helpdesk no longer has is
// forgotten (the next message opens a new one).
func (e *Engine) refreshTicket(ctx context.Context, in *inbound) error {
	c := in.chat
	if c.TicketID == "" || e.opt.Now().Sub(c.TicketCheckedAt) < e.opt.TicketMaxAge {
		return nil
	}
	st, err := in.hd.Ticket(ctx, e.ticketRef(in, c.TicketID))
	if connectors.KindOf(err) == connectors.Permanent {
		e.log.WarnContext(ctx, "the conversation's ticket cannot be read; a new one will be opened",
			"ticket_id", c.TicketID, slog.Any("error", err))
		c.TicketID, c.TicketStatus = "", ""
		return nil
	}
	if err != nil {
		return fmt.Errorf("read ticket %s: %w", c.TicketID, err)
	}
	c.TicketStatus, c.TicketCheckedAt = string(st.Status), e.opt.Now()
	if st.UpdatedAt.After(c.LastActivity) {
		c.LastActivity = st.UpdatedAt
	}
	return nil
}

// finishInbound records a written batch in the chat (its ticket, the
// service window, the last activity) and writes the notes it calls for.
// It is idempotent: a replay of a written message calls it again.
func (e *Engine) finishInbound(ctx context.Context, in *inbound, ticketID string, reopened bool) error {
	c := in.chat
	if ticketID != "" && ticketID != c.TicketID {
		c.TicketID, c.TicketStatus = ticketID, string(connectors.TicketNew)
	}
	if reopened {
		c.TicketStatus = string(connectors.TicketOpen)
	}
	c.TicketCheckedAt = e.opt.Now()
	var optNote string
	for _, m := range in.batch {
		at := m.at()
		if at.After(c.LastActivity) {
			c.LastActivity = at
		}
		if at.After(c.LastCustomerAt) {
			c.LastCustomerAt = at
		}
		switch k := e.keyword(m.msg()); {
		case k == "":
		case k == OptInKeyword && !c.OptedOutAt.IsZero():
			c.OptedOutAt, c.OptOutReason = time.Time{}, ""
			optNote = "The customer sent " + k + " and opted in again: agent replies are sent on WhatsApp again."
		case k != OptInKeyword && c.OptedOutAt.IsZero():
			c.OptedOutAt, c.OptOutReason = at, "sent "+k
			optNote = fmt.Sprintf("The customer sent %s and opted out of WhatsApp messages: agent replies on this ticket will not be sent to WhatsApp (the bridge adds a note instead) until they send %s.", k, OptInKeyword)
		}
		e.count(func(mt *telemetry.Metrics) {
			mt.SyncLag.WithLabelValues("inbound").Observe(max(0, e.opt.Now().Sub(at).Seconds()))
		})
	}
	if err := e.st.SaveChat(ctx, c); err != nil {
		return err
	}
	ticket := e.ticketRef(in, c.TicketID)
	if optNote != "" {
		if err := e.note(ctx, in.n.Helpdesk, in.hd, ticket, "optout:"+in.batch[len(in.batch)-1].ev.Key, "opt_out", optNote); err != nil {
			return err
		}
	}
	if len(in.amb) > 1 {
		ids := make([]string, len(in.amb))
		for i, r := range in.amb {
			ids[i] = r.ID
		}
		body := fmt.Sprintf("Several helpdesk users match this WhatsApp customer (user ids %s). The conversation went to user %s; please merge the duplicates.",
			strings.Join(ids, ", "), c.ContactID)
		if err := e.note(ctx, in.n.Helpdesk, in.hd, ticket, "ambiguous:"+c.ContactKey+":"+c.TicketID, "ambiguous_contact", body); err != nil {
			return err
		}
	}
	return nil
}

// subject is the default subject of a new ticket: the customer's name, else
// their masked number.
func subject(c *store.Chat) string {
	if n := strings.TrimSpace(c.Name); n != "" {
		return "WhatsApp: " + n
	}
	id := c.WAID
	if id == "" {
		id = c.ContactKey
	}
	if len(id) > 4 {
		id = "***" + id[len(id)-4:]
	}
	return "WhatsApp: " + id
}

func (e *Engine) ticketRef(in *inbound, id string) connectors.TicketRef {
	return connectors.TicketRef{Account: in.n.Helpdesk, ID: id}
}
