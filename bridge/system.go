package bridge

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/deskbridge/deskbridge/connectors"
	"github.com/deskbridge/deskbridge/connectors/whatsapp"
	"github.com/deskbridge/deskbridge/mapping"
	"github.com/deskbridge/deskbridge/store"
)

// handleSystem applies a system message: a changed number or BSUID joins
// the customer's aliases (old ones keep matching), replies go to the new
// identity, and agents see what happened as a note.
func (e *Engine) handleSystem(ctx context.Context, in *inbound) error {
	m := in.batch[0]
	s := m.msg().System
	if err := e.resolveContact(ctx, in); err != nil {
		return err
	}
	c := in.chat
	if s != nil {
		var a mapping.Aliases
		if a.ApplySystem(s) {
			var add []string
			for _, w := range a.WAIDs {
				add = append(add, identityAliases(w, "")...)
				c.WAID = w
			}
			for _, b := range a.BSUIDs {
				add = append(add, identityAliases("", b)...)
			}
			if s.UserID != "" {
				c.UserID = s.UserID
			}
			if err := e.st.AddIdentities(ctx, in.n.Helpdesk, c.ContactID, add); err != nil {
				return err
			}
		}
	}
	if err := e.st.SaveChat(ctx, c); err != nil {
		return err
	}
	text := mapping.RenderMessage(m.msg(), e.opt.TimeZone).Text
	return e.note(ctx, in.n.Helpdesk, in.hd, e.ticketRef(in, c.TicketID), "system:"+m.ev.Key, "identity_change",
		"WhatsApp: "+text)
}

// preference is one entry of a user_preferences webhook.
type preference struct {
	WAID      string          `json:"wa_id"`
	UserID    string          `json:"user_id"`
	Value     string          `json:"value"` // stop | resume
	Category  string          `json:"category"`
	Detail    string          `json:"detail"`
	Timestamp json.RawMessage `json:"timestamp"`
}

// handlePreferences applies users' marketing preferences: "stop" opts the
// customer out of messages from the number, "resume" opts them back in;
// agents see it as a note.
func (e *Engine) handlePreferences(ctx context.Context, w *whatsapp.Event) error {
	if !e.ready() {
		return nil
	}
	var v struct {
		Prefs []preference `json:"user_preferences"`
	}
	if err := json.Unmarshal(w.Raw, &v); err != nil {
		return fmt.Errorf("user_preferences: %w", err)
	}
	n, ok := e.numbers[w.PhoneNumberID]
	if !ok || n.Helpdesk == "" {
		return nil
	}
	hd, err := e.helpdesk(n)
	if err != nil {
		return err
	}
	for _, p := range v.Prefs {
		var c *store.Chat
		for _, key := range []string{p.UserID, p.WAID} {
			if key == "" || c != nil {
				continue
			}
			if c, err = e.chatByKey(ctx, n, key); err != nil {
				return err
			}
		}
		if c == nil {
			e.log.InfoContext(ctx, "marketing preference of a customer the bridge has not met", "value", p.Value)
			continue
		}
		var body string
		switch strings.ToLower(p.Value) {
		case "stop":
			if !c.OptedOutAt.IsZero() {
				continue
			}
			c.OptedOutAt, c.OptOutReason = e.opt.Now(), "stopped "+firstNonEmpty(p.Category, "marketing_messages")
			body = "The customer stopped " + strings.ReplaceAll(firstNonEmpty(p.Category, "marketing messages"), "_", " ") +
				" on WhatsApp: agent replies on this ticket will not be sent to WhatsApp until they resume."
		case "resume":
			if c.OptedOutAt.IsZero() {
				continue
			}
			c.OptedOutAt, c.OptOutReason = time.Time{}, ""
			body = "The customer resumed messages on WhatsApp: agent replies are sent again."
		default:
			continue
		}
		if err := e.st.SaveChat(ctx, c); err != nil {
			return err
		}
		ref := connectors.TicketRef{Account: n.Helpdesk, ID: c.TicketID}
		if err := e.note(ctx, n.Helpdesk, hd, ref, "prefs:"+w.Key+":"+c.ContactKey, "opt_out", body); err != nil {
			return err
		}
	}
	return nil
}

// chatByKey returns the chat of a contact key on a number, trying the key
// as given and, for a phone number, its other forms.
func (e *Engine) chatByKey(ctx context.Context, n *Number, key string) (*store.Chat, error) {
	keys := []string{key}
	if p, err := mapping.NormalizePhone(key); err == nil {
		for _, v := range mapping.PhoneVariants(p) {
			keys = append(keys, strings.TrimPrefix(v, "+"))
		}
	}
	for _, k := range keys {
		c, err := e.st.Chat(ctx, n.PhoneNumberID, k)
		if err != nil || c != nil {
			return c, err
		}
	}
	return nil, nil
}
