package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"strings"
	"time"

	"github.com/deskbridge/deskbridge/connectors"
	"github.com/deskbridge/deskbridge/connectors/whatsapp"
	"github.com/deskbridge/deskbridge/connectors/zendesk"
	"github.com/deskbridge/deskbridge/queue"
	"github.com/deskbridge/deskbridge/ratelimit"
	"github.com/deskbridge/deskbridge/store"
	"github.com/deskbridge/deskbridge/telemetry"
)

// sourceReply is the effects source of WhatsApp sends made for agent
// replies; the key is the reply's part key (see outbound.partKey).
const sourceReply = "reply"

// serviceWindow is WhatsApp's customer-service window: free-form messages
// may be sent this long after the customer's last message.
const serviceWindow = 24 * time.Hour

// outbound is one agent reply being sent.
type outbound struct {
	helpdesk string
	hd       connectors.Helpdesk
	n        *Number
	chat     *store.Chat
	ticket   connectors.TicketRef
	key      string // "<helpdesk>:<ticket>:<comment>", the stored event's key
	comment  *connectors.Comment
	at       time.Time // when the agent wrote it
	log      *slog.Logger
}

// recipient is the customer's WhatsApp id, as rate buckets key it.
func (o *outbound) recipient() string { return firstNonEmpty(o.chat.WAID, o.chat.UserID) }

// partKey names one WhatsApp message of a reply: "#text", "#file1"…,
// "#template".
func (o *outbound) partKey(part string) string { return o.key + "#" + part }

// callback is the biz_opaque_callback_data of a part: WhatsApp echoes it on
// every status, which is how a send whose answer was lost is found again.
func (o *outbound) callback(part string) string { return "deskbridge:" + o.partKey(part) }

// handleReply sends an agent's public reply to the customer: inside the
// service window as text and attachments, outside it as the configured
// template or not at all, and never to a customer who opted out. Whatever
// the customer does not get is explained in an internal note.
func (e *Engine) handleReply(ctx context.Context, ev *store.Event, reply *zendesk.ReplyEvent) error {
	if !e.ready() {
		return nil
	}
	name, _, _ := strings.Cut(ev.Key, ":")
	hd, ok := e.opt.Helpdesks[name]
	if !ok {
		return queue.Permanent(fmt.Errorf("no helpdesk named %q is configured", name))
	}
	chat, err := e.st.ChatByTicket(ctx, name, reply.TicketID)
	if err != nil {
		return err
	}
	if chat == nil {
		e.log.DebugContext(ctx, "agent reply on a ticket that is not a WhatsApp conversation", "ticket_id", reply.TicketID)
		return nil
	}
	n, ok := e.numbers[chat.PhoneNumberID]
	if !ok {
		return queue.Permanent(fmt.Errorf("ticket %s belongs to number %s, which is no longer configured", reply.TicketID, chat.PhoneNumberID))
	}
	o := &outbound{helpdesk: name, hd: hd, n: n, chat: chat, key: ev.Key,
		ticket: connectors.TicketRef{Account: name, ID: reply.TicketID},
		log:    e.log.With("ticket_id", reply.TicketID, "comment_id", reply.CommentID)}
	if o.comment, err = e.readComment(ctx, o, reply); err != nil {
		return err
	}
	o.at = o.comment.CreatedAt
	if now := e.opt.Now(); now.After(o.at) {
		o.at = now
	}

	switch {
	case !chat.OptedOutAt.IsZero():
		return e.notSent(ctx, o, "opted_out", fmt.Sprintf("This reply was not sent to WhatsApp: the customer opted out (%s, %s). They must write again with %s to receive messages.",
			firstNonEmpty(chat.OptOutReason, "opted out"), e.when(chat.OptedOutAt), OptInKeyword))
	case n.Client == nil:
		return e.notSent(ctx, o, "no_token", fmt.Sprintf("This reply was not sent to WhatsApp: the number %s has no access token configured.", e.numberName(n)))
	case chat.WAID == "" && chat.UserID == "":
		return e.notSent(ctx, o, "no_recipient", "This reply was not sent to WhatsApp: the customer's WhatsApp id is unknown.")
	}
	if o.at.Sub(chat.LastCustomerAt) >= serviceWindow {
		return e.outsideWindow(ctx, o, "")
	}
	if err := e.sendParts(ctx, o); err != nil {
		var closed *windowClosedError
		if errors.As(err, &closed) {
			return e.outsideWindow(ctx, o, closed.code)
		}
		return err
	}
	return e.afterReply(ctx, o, "sent")
}

// readComment reads the reply's comment (body and attachments) from the
// helpdesk, or takes the body the webhook carried when the helpdesk cannot
// be asked.
func (e *Engine) readComment(ctx context.Context, o *outbound, reply *zendesk.ReplyEvent) (*connectors.Comment, error) {
	cf, ok := o.hd.(connectors.CommentFetcher)
	if !ok {
		return &connectors.Comment{Ref: connectors.CommentRef{Ticket: o.ticket, ID: reply.CommentID},
			Body: reply.CommentBody, Public: true, CreatedAt: reply.UpdatedAt}, nil
	}
	c, err := cf.Comment(ctx, o.ticket, reply.CommentID)
	if err != nil {
		return nil, fmt.Errorf("read comment: %w", err)
	}
	return c, nil
}

// windowClosedError is WhatsApp refusing a free-form message because the
// service window is closed (131047), though the bridge thought it open.
type windowClosedError struct{ code string }

func (w *windowClosedError) Error() string { return "customer service window closed (" + w.code + ")" }

// sendParts sends the reply's text, then each attachment, each exactly
// once. A part WhatsApp refuses for good is explained in a note and the
// rest of the reply is still sent.
func (e *Engine) sendParts(ctx context.Context, o *outbound) error {
	if body := strings.TrimSpace(o.comment.Body); body != "" {
		p := e.toCustomer(o, &whatsapp.SendParams{Text: &whatsapp.TextParams{Body: truncate(body, 4096), PreviewURL: true}})
		if err := e.sendPart(ctx, o, "text", p, nil); err != nil {
			return err
		}
	}
	cf, _ := o.hd.(connectors.CommentFetcher)
	for i, a := range o.comment.Attachments {
		part := fmt.Sprintf("file%d", i+1)
		if cf == nil {
			break
		}
		err := e.sendPart(ctx, o, part, nil, func() (*whatsapp.SendParams, string, error) {
			return e.attachmentMessage(ctx, o, cf, a)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// attachmentMessage downloads a helpdesk attachment and uploads it to
// WhatsApp. A file WhatsApp cannot take gives a problem text instead.
func (e *Engine) attachmentMessage(ctx context.Context, o *outbound, cf connectors.CommentFetcher, a connectors.RemoteAttachment) (*whatsapp.SendParams, string, error) {
	ct, _, err := mime.ParseMediaType(a.ContentType)
	if err != nil {
		ct = "application/octet-stream"
	}
	limit, ok := whatsapp.MediaLimit(ct)
	if !ok {
		return nil, fmt.Sprintf("the attachment %s (%s) was not sent: WhatsApp does not accept that file type", a.Filename, ct), nil
	}
	if a.Size > limit {
		return nil, fmt.Sprintf("the attachment %s was not sent: it is %d bytes, over WhatsApp's limit of %d bytes for %s", a.Filename, a.Size, limit, ct), nil
	}
	data, err := cf.DownloadAttachment(ctx, a)
	if err != nil {
		return nil, "", fmt.Errorf("download attachment %s: %w", a.Filename, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Sprintf("the attachment %s was not sent: it is %d bytes, over WhatsApp's limit of %d bytes for %s", a.Filename, len(data), limit, ct), nil
	}
	id, err := o.n.Client.Upload(ctx, a.Filename, ct, data)
	if err != nil {
		if connectors.KindOf(err) == connectors.Permanent {
			return nil, fmt.Sprintf("the attachment %s was not sent: %s", a.Filename, describe(err)), nil
		}
		return nil, "", fmt.Errorf("upload attachment %s: %w", a.Filename, err)
	}
	m := whatsapp.MediaParams{ID: id}
	p := &whatsapp.SendParams{}
	switch {
	case strings.HasPrefix(ct, "image/"):
		p.Image = &m
	case strings.HasPrefix(ct, "video/"):
		p.Video = &m
	case strings.HasPrefix(ct, "audio/"):
		p.Audio = &m
	default:
		m.Filename = a.Filename
		p.Document = &m
	}
	return e.toCustomer(o, p), "", nil
}

// toCustomer addresses p to the chat's customer: their phone number, else
// their BSUID.
func (e *Engine) toCustomer(o *outbound, p *whatsapp.SendParams) *whatsapp.SendParams {
	if o.chat.WAID != "" {
		p.To = "+" + strings.TrimPrefix(o.chat.WAID, "+")
	} else {
		p.Recipient = o.chat.UserID
	}
	return p
}

// sendPart sends one message of a reply exactly once. build, when p is nil,
// makes the message (an upload) only if it has not been sent yet; it may
// return a problem text instead, which becomes a note.
func (e *Engine) sendPart(ctx context.Context, o *outbound, part string, p *whatsapp.SendParams,
	build func() (*whatsapp.SendParams, string, error)) error {
	key, cb, target := o.partKey(part), o.callback(part), whatsappTarget(o.n.PhoneNumberID)
	eff, err := e.st.Effect(ctx, sourceReply, key, target)
	if err != nil {
		return err
	}
	if eff != nil && eff.State == store.EffectDone {
		return nil
	}
	if eff != nil {
		// An earlier attempt may have sent it: its status webhook says so.
		sm, err := e.st.SentByCallback(ctx, cb)
		if err != nil {
			return err
		}
		if sm != nil {
			o.log.InfoContext(ctx, "uncertain send found by its status; not sent again", "part", part)
			return e.recordSend(ctx, o, key, cb, sm.WAMID)
		}
		if wait := e.opt.ReadBackWait - e.opt.Now().Sub(eff.UpdatedAt); wait > 0 {
			return queue.Snooze(fmt.Errorf("part %s may have been sent; waiting for its status", part), wait)
		}
	}
	if p == nil {
		var problem string
		if p, problem, err = build(); err != nil {
			return err
		}
		if problem != "" {
			return e.partNote(ctx, o, part, "attachment_not_sent", "WhatsApp: "+problem+".")
		}
	}
	p.CallbackData = cb
	if g := e.opt.Governor; g != nil {
		if err := g.Send(ctx, o.n.PhoneNumberID, e.throughput(o.n), o.recipient()); err != nil {
			return err // a long wait snoozes the reply; order is kept
		}
	}
	if _, err := e.st.BeginBatch(ctx, sourceReply, target, key, cb, []string{key}); err != nil {
		return err
	}
	res, err := o.n.Client.Send(ctx, p)
	if err == nil && e.opt.Governor != nil {
		e.opt.Governor.Delivered(o.n.PhoneNumberID, o.recipient())
	}
	if err != nil {
		if notApplied(err) {
			// Refused: nothing was sent, so a retry needs no read-back wait.
			if aerr := e.st.AbandonBatch(ctx, sourceReply, target, key); aerr != nil {
				return errors.Join(err, aerr)
			}
		}
		return e.sendFailed(ctx, o, part, err)
	}
	e.count(func(m *telemetry.Metrics) {
		m.SyncLag.WithLabelValues("outbound").Observe(max(0, e.opt.Now().Sub(o.comment.CreatedAt).Seconds()))
	})
	return e.recordSend(ctx, o, key, cb, res.MessageID)
}

// recordSend marks a part sent and remembers the message for its statuses.
func (e *Engine) recordSend(ctx context.Context, o *outbound, key, cb, wamid string) error {
	if err := e.st.RecordSent(ctx, store.SentMessage{WAMID: wamid, Callback: cb, ChatID: o.chat.ID, Helpdesk: o.helpdesk,
		TicketID: o.ticket.ID, CommentID: o.comment.Ref.ID}); err != nil {
		return err
	}
	_, err := e.st.CompleteBatch(ctx, sourceReply, whatsappTarget(o.n.PhoneNumberID), key, wamid, o.ticket.ID)
	return err
}

// sendFailed decides what a refused send means: the window closed (the
// caller applies the outside-window policy), a failure for good (a note,
// the part is given up), a bad token (a note, then retried: a rotated
// token fixes it) or a temporary failure (retried).
func (e *Engine) sendFailed(ctx context.Context, o *outbound, part string, err error) error {
	var ce *connectors.Error
	if !errors.As(err, &ce) {
		return err
	}
	if ce.Code == "131056" && e.opt.Governor != nil {
		// Too many messages to this customer: Meta's 4^n seconds.
		return queue.Snooze(err, e.opt.Governor.Refused(o.n.PhoneNumberID, o.recipient()))
	}
	switch ce.Kind {
	case connectors.WindowClosed:
		// Nothing was sent: forget the attempt so the policy decides.
		_, cerr := e.st.CompleteBatch(ctx, sourceReply, whatsappTarget(o.n.PhoneNumberID), o.partKey(part), "", o.ticket.ID)
		return errors.Join(cerr, &windowClosedError{code: ce.Code})
	case connectors.Permanent:
		if part == "template" {
			t := e.opt.Template
			return e.partNote(ctx, o, part, "template_rejected", fmt.Sprintf(
				"This reply was not sent to WhatsApp: the customer's 24-hour window is closed and the template %q (%s) was refused: %s.",
				t.Name, t.Language, describe(err)))
		}
		return e.partNote(ctx, o, part, "send_failed", "WhatsApp did not accept this reply: "+describe(err)+".")
	case connectors.Auth:
		if nerr := e.note(ctx, o.helpdesk, o.hd, o.ticket, "auth:"+o.key, "token_invalid",
			"This reply is waiting: WhatsApp rejected the bridge's access token ("+describe(err)+"). It is sent as soon as the token is fixed."); nerr != nil {
			return nerr
		}
		return err
	}
	return err
}

// partNote gives up a part with a note saying why.
func (e *Engine) partNote(ctx context.Context, o *outbound, part, reason, body string) error {
	if err := e.note(ctx, o.helpdesk, o.hd, o.ticket, "part:"+o.partKey(part), reason, body); err != nil {
		return err
	}
	if _, err := e.st.BeginBatch(ctx, sourceReply, whatsappTarget(o.n.PhoneNumberID), o.partKey(part), "", []string{o.partKey(part)}); err != nil {
		return err
	}
	_, err := e.st.CompleteBatch(ctx, sourceReply, whatsappTarget(o.n.PhoneNumberID), o.partKey(part), "", o.ticket.ID)
	return err
}

// outsideWindow applies outside_window.policy to a reply that may not be
// sent as written, and explains it in a note.
func (e *Engine) outsideWindow(ctx context.Context, o *outbound, code string) error {
	c := o.chat
	closedAt := "unknown"
	last := "the customer has not written yet"
	if !c.LastCustomerAt.IsZero() {
		closedAt = e.when(c.LastCustomerAt.Add(serviceWindow))
		last = "their last message was at " + e.when(c.LastCustomerAt)
	}
	why := fmt.Sprintf("the customer's 24-hour WhatsApp service window closed at %s (%s)", closedAt, last)
	if code != "" {
		why = fmt.Sprintf("WhatsApp refused it because the 24-hour service window is closed (error %s; %s)", code, last)
	}
	if e.opt.OutsideWindow != "template" {
		e.count(func(m *telemetry.Metrics) { m.WindowClosed.WithLabelValues("note").Inc() })
		return e.notSent(ctx, o, "window_closed", "This reply was not sent to WhatsApp: "+why+
			". The policy (outside_window.policy: note) sends nothing; the customer must write first, or use an approved template.")
	}
	t := e.opt.Template
	params, err := e.templateParams(ctx, o)
	if err != nil && !errors.Is(err, errTemplateParams) {
		return err // the ticket could not be read yet
	}
	if err != nil {
		e.count(func(m *telemetry.Metrics) { m.WindowClosed.WithLabelValues("note").Inc() })
		return e.notSent(ctx, o, "template_rejected", fmt.Sprintf("This reply was not sent to WhatsApp: %s, and the template %q (%s) could not be filled: %v.",
			why, t.Name, t.Language, err))
	}
	p := e.toCustomer(o, &whatsapp.SendParams{Template: &whatsapp.TemplateParams{Name: t.Name, Language: t.Language,
		Body: params}})
	if p.Recipient != "" {
		return e.notSent(ctx, o, "window_closed", "This reply was not sent to WhatsApp: "+why+
			". A template cannot be sent to a customer known only by their business-scoped user id.")
	}
	if err := e.admitTemplate(ctx, o); err != nil {
		return err
	}
	e.count(func(m *telemetry.Metrics) { m.WindowClosed.WithLabelValues("template").Inc() })
	if err := e.sendPart(ctx, o, "template", p, nil); err != nil {
		return err
	}
	eff, err := e.st.Effect(ctx, sourceReply, o.partKey("template"), whatsappTarget(o.n.PhoneNumberID))
	if err != nil {
		return err
	}
	if eff == nil || eff.ResultID == "" {
		// The template was refused; partNote explained why.
		return e.afterReply(ctx, o, "not_sent")
	}
	if err := e.note(ctx, o.helpdesk, o.hd, o.ticket, "window:"+o.key, "window_closed", fmt.Sprintf(
		"This reply was not sent to WhatsApp as written: %s. The approved template %q (%s) was sent instead to invite the customer back; send the reply again once they answer.",
		why, t.Name, t.Language)); err != nil {
		return err
	}
	return e.afterReply(ctx, o, "template")
}

// admitTemplate counts a business-initiated template against the
// messaging limit before it is sent. Over the limit the reply is held:
// agents get one note, and the reply is looked at again until the oldest
// customer leaves the 24-hour window.
func (e *Engine) admitTemplate(ctx context.Context, o *outbound) error {
	g, limit := e.opt.Governor, int(e.tierLimit.Load())
	if g == nil || limit <= 0 {
		return nil
	}
	eff, err := e.st.Effect(ctx, sourceReply, o.partKey("template"), whatsappTarget(o.n.PhoneNumberID))
	if err != nil || (eff != nil && eff.State == store.EffectDone) {
		return err
	}
	portfolio := firstNonEmpty(o.n.WABAID, o.n.PhoneNumberID)
	err = g.Admit(ctx, portfolio, o.recipient(), limit, e.opt.Now())
	var th *ratelimit.Throttled
	if !errors.As(err, &th) {
		return err
	}
	if nerr := e.note(ctx, o.helpdesk, o.hd, o.ticket, "tier:"+o.key, "messaging_limit", fmt.Sprintf(
		"This reply is held: the customer's 24-hour window is closed, and the WhatsApp messaging limit (%d customers reached by business-initiated messages in 24 hours) is used up. The template %q goes out automatically around %s.",
		limit, e.opt.Template.Name, e.when(e.opt.Now().Add(th.Wait)))); nerr != nil {
		return nerr
	}
	return queue.Snooze(err, min(th.Wait, e.opt.TierRecheck))
}

// templateParams fills the template's body parameters from the reply
// through the mapping; a parameter that cannot be computed is an error
// (WhatsApp refuses empty parameters).
func (e *Engine) templateParams(ctx context.Context, o *outbound) ([]whatsapp.TemplateParam, error) {
	// The ticket's fields (subject, tags, custom fields…) are read only
	// here, where a template needs them; without them the parameters see
	// the id, status and requester.
	st, err := o.hd.Ticket(ctx, o.ticket)
	if err != nil {
		if connectors.IsRetryable(err) {
			return nil, err
		}
		o.log.WarnContext(ctx, "ticket not read for the template parameters", slog.Any("error", err))
		st = nil
	}
	vals, err := e.mapper.TemplateParams(e.templateVars(o, st))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errTemplateParams, err)
	}
	out := make([]whatsapp.TemplateParam, len(vals))
	for i, v := range vals {
		out[i] = whatsapp.TextParam(v)
	}
	return out, nil
}

// notSent explains in a note why a reply was not sent at all.
func (e *Engine) notSent(ctx context.Context, o *outbound, reason, body string) error {
	o.log.InfoContext(ctx, "agent reply not sent", "reason", reason)
	if err := e.note(ctx, o.helpdesk, o.hd, o.ticket, "notsent:"+o.key, reason, body); err != nil {
		return err
	}
	return e.afterReply(ctx, o, "not_sent")
}

// afterReply records the agent's activity on the chat.
func (e *Engine) afterReply(ctx context.Context, o *outbound, result string) error {
	e.count(func(m *telemetry.Metrics) { m.Outbound.WithLabelValues(result).Inc() })
	if result == "not_sent" {
		return nil
	}
	c, err := e.st.ChatByID(ctx, o.chat.ID)
	if err != nil || c == nil {
		return err
	}
	if o.at.After(c.LastActivity) {
		c.LastActivity = o.at
		return e.st.SaveChat(ctx, c)
	}
	return nil
}

// describe is an error in words for a note: the hint for its code, the code
// and the vendor's message.
func describe(err error) string {
	var ce *connectors.Error
	if !errors.As(err, &ce) {
		return err.Error()
	}
	msg := whatsapp.Hint(err)
	if msg == "" {
		msg = firstNonEmpty(ce.Message, string(ce.Kind))
	} else if ce.Message != "" && !strings.EqualFold(ce.Message, msg) {
		msg += " (" + ce.Message + ")"
	}
	if ce.Code != "" {
		msg += ", error " + ce.Code
	}
	return msg
}

// when formats a time for notes, in the configured zone.
func (e *Engine) when(t time.Time) string {
	return t.In(e.opt.TimeZone).Format("2006-01-02 15:04 MST")
}

func (e *Engine) numberName(n *Number) string { return firstNonEmpty(n.Display, n.PhoneNumberID) }

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
