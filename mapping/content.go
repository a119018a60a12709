package mapping

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/deskbridge/deskbridge/connectors/whatsapp"
)

// Rendered is what one WhatsApp message becomes in the helpdesk: a comment
// text and, for media messages, the media to download and attach.
type Rendered struct {
	Text  string
	Media *MediaRef
}

// MediaRef points at the media of an image, video, document, audio or
// sticker message, for the bridge to download and attach.
type MediaRef struct {
	ID       string // media id for the Graph API
	URL      string // direct download URL, when WhatsApp sent one
	MimeType string
	Filename string // documents only
	Caption  string
	Kind     string // the message type: image, video, document, audio or sticker
}

// ShortID returns a short, stable reference for a wamid: the first 8 hex
// digits of its SHA-256. Long wamids share most of their characters, so a
// prefix or suffix would not tell them apart.
func ShortID(wamid string) string {
	if wamid == "" {
		return "?"
	}
	sum := sha256.Sum256([]byte(wamid))
	return hex.EncodeToString(sum[:4])
}

// RenderMessage turns an inbound message into helpdesk content. Header lines
// come first: "↪ reply to <short id>" for a reply, "[forwarded]" for a
// forwarded message, the product asked about, and "Came from ad: …" for a
// chat started from a Click-to-WhatsApp ad. The body follows; see the
// package tests and testdata/*.golden for every type. tz is the zone of the
// times shown in the text; nil means UTC. A nil message renders as
// unsupported.
func RenderMessage(m *whatsapp.Message, tz *time.Location) Rendered {
	if tz == nil {
		tz = time.UTC
	}
	if m == nil {
		return Rendered{Text: unsupported("")}
	}
	var head []string
	if c := m.Context; c != nil {
		if c.ID != "" {
			head = append(head, "↪ reply to "+ShortID(c.ID))
		}
		switch {
		case c.FrequentlyForwarded:
			head = append(head, "[forwarded many times]")
		case c.Forwarded:
			head = append(head, "[forwarded]")
		}
		if p := c.ReferredProduct; p != nil {
			head = append(head, fmt.Sprintf("Asking about product %s (catalog %s)", p.ProductRetailerID, p.CatalogID))
		}
	}
	if r := m.Referral; r != nil {
		head = append(head, referralLine(r))
	}
	body := renderBody(m, tz)
	body.Text = strings.Join(append(head, body.Text), "\n")
	return body
}

func referralLine(r *whatsapp.Referral) string {
	title := firstOf(r.Headline, r.Body, r.SourceID, "ad")
	verb := "Came from ad: "
	if r.SourceType == "post" {
		verb = "Came from post: "
	}
	if r.SourceURL == "" {
		return verb + title
	}
	return verb + title + " (" + r.SourceURL + ")"
}

// renderBody renders the type-specific part of m.
func renderBody(m *whatsapp.Message, tz *time.Location) Rendered {
	switch m.Type {
	case whatsapp.TypeText:
		if m.Text != nil {
			return Rendered{Text: m.Text.Body}
		}
	case whatsapp.TypeImage, whatsapp.TypeVideo, whatsapp.TypeDocument, whatsapp.TypeAudio, whatsapp.TypeSticker:
		if md := mediaOf(m); md != nil {
			return renderMedia(m.Type, md)
		}
	case whatsapp.TypeLocation:
		if m.Location != nil {
			return Rendered{Text: renderLocation(m.Location)}
		}
	case whatsapp.TypeContacts:
		if len(m.Contacts) > 0 {
			return Rendered{Text: renderContacts(m.Contacts)}
		}
	case whatsapp.TypeInteractive:
		if t, ok := renderInteractive(m.Interactive); ok {
			return Rendered{Text: t}
		}
		if m.Interactive != nil && m.Interactive.Type != "" {
			return Rendered{Text: unsupported("interactive " + m.Interactive.Type)}
		}
	case whatsapp.TypeButton:
		if m.Button != nil {
			return Rendered{Text: firstOf(m.Button.Text, m.Button.Payload, "[button]")}
		}
	case whatsapp.TypeReaction:
		if r := m.Reaction; r != nil {
			if r.Removed() {
				return Rendered{Text: "Removed a reaction from message " + ShortID(r.MessageID)}
			}
			return Rendered{Text: "Reacted " + r.Emoji + " to message " + ShortID(r.MessageID)}
		}
	case whatsapp.TypeOrder:
		if m.Order != nil {
			return Rendered{Text: renderOrder(m.Order)}
		}
	case whatsapp.TypeSystem:
		if m.System != nil {
			return Rendered{Text: renderSystem(m.System, m.Identity, tz)}
		}
	case whatsapp.TypeRevoke:
		return Rendered{Text: "[the customer deleted a message]"}
	case whatsapp.TypeEdit:
		if m.Edit != nil && m.Edit.Message != nil {
			inner := renderBody(m.Edit.Message, tz)
			inner.Text = "[edited] " + inner.Text
			return inner
		}
	}
	t := m.Type
	if m.Unsupported != nil && m.Unsupported.Type != "" {
		t = m.Unsupported.Type
	}
	return Rendered{Text: unsupported(t)}
}

func unsupported(t string) string {
	if t == "" {
		t = "unknown"
	}
	return "[unsupported WhatsApp message: " + t + "]"
}

func mediaOf(m *whatsapp.Message) *whatsapp.Media {
	switch m.Type {
	case whatsapp.TypeImage:
		return m.Image
	case whatsapp.TypeVideo:
		return m.Video
	case whatsapp.TypeDocument:
		return m.Document
	case whatsapp.TypeAudio:
		return m.Audio
	case whatsapp.TypeSticker:
		return m.Sticker
	}
	return nil
}

func renderMedia(kind string, md *whatsapp.Media) Rendered {
	ref := &MediaRef{
		ID: md.ID, URL: md.URL, MimeType: md.MimeType,
		Filename: md.Filename, Caption: md.Caption, Kind: kind,
	}
	text := strings.TrimSpace(md.Caption)
	if text == "" {
		switch {
		case kind == whatsapp.TypeDocument && md.Filename != "":
			text = "[document: " + md.Filename + "]"
		case kind == whatsapp.TypeAudio && md.Voice:
			text = "[voice message]"
		case kind == whatsapp.TypeSticker && md.Animated:
			text = "[animated sticker]"
		default:
			text = "[" + kind + "]"
		}
	}
	return Rendered{Text: text, Media: ref}
}

func formatCoord(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func renderLocation(l *whatsapp.Location) string {
	var b strings.Builder
	b.WriteString("📍 Location")
	if place := joinNonEmpty(", ", l.Name, l.Address); place != "" {
		b.WriteString(": " + place)
	}
	lat, lng := formatCoord(l.Latitude), formatCoord(l.Longitude)
	fmt.Fprintf(&b, "\n%s, %s\nhttps://maps.google.com/?q=%s,%s", lat, lng, lat, lng)
	if l.URL != "" {
		b.WriteString("\n" + l.URL)
	}
	return b.String()
}

func renderContacts(cs []whatsapp.SharedContact) string {
	blocks := make([]string, 0, len(cs))
	for _, c := range cs {
		name := firstOf(c.Name.FormattedName,
			joinNonEmpty(" ", c.Name.Prefix, c.Name.FirstName, c.Name.MiddleName, c.Name.LastName, c.Name.Suffix),
			"(no name)")
		lines := []string{"👤 Contact: " + name}
		for _, p := range c.Phones {
			lines = append(lines, "Phone: "+withType(firstOf(p.Phone, p.WAID), p.Type))
		}
		for _, e := range c.Emails {
			lines = append(lines, "Email: "+withType(e.Email, e.Type))
		}
		if org := joinNonEmpty(", ", c.Org.Company, c.Org.Department, c.Org.Title); org != "" {
			lines = append(lines, "Organization: "+org)
		}
		for _, u := range c.URLs {
			lines = append(lines, "Web: "+withType(u.URL, u.Type))
		}
		blocks = append(blocks, strings.Join(lines, "\n"))
	}
	return strings.Join(blocks, "\n\n")
}

func withType(v, typ string) string {
	if typ == "" {
		return v
	}
	return v + " (" + strings.ToLower(typ) + ")"
}

// renderInteractive renders button, list and Flow replies; ok is false for
// other interactive types.
func renderInteractive(in *whatsapp.Interactive) (string, bool) {
	if in == nil {
		return "", false
	}
	switch {
	case in.Type == "button_reply" && in.ButtonReply != nil:
		return firstOf(in.ButtonReply.Title, in.ButtonReply.ID), true
	case in.Type == "list_reply" && in.ListReply != nil:
		return joinNonEmpty("\n", firstOf(in.ListReply.Title, in.ListReply.ID), in.ListReply.Description), true
	case in.Type == "nfm_reply" && in.NFMReply != nil:
		lines := append([]string{"[form submitted]"}, flatJSON(in.NFMReply.ResponseJSON)...)
		return strings.Join(lines, "\n"), true
	}
	return "", false
}

// flatJSON returns "key: value" lines, sorted by key, when doc is a JSON
// object whose values are all scalars; flow_token (an opaque id) is left
// out. Anything else gives nil.
func flatJSON(doc string) []string {
	var obj map[string]json.RawMessage
	if json.Unmarshal([]byte(doc), &obj) != nil {
		return nil
	}
	keys := make([]string, 0, len(obj))
	for k, v := range obj {
		if c := firstNonSpace(v); c == '{' || c == '[' {
			return nil
		}
		if k != "flow_token" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	lines := make([]string, 0, len(keys))
	for _, k := range keys {
		v := obj[k]
		var s string
		if json.Unmarshal(v, &s) != nil {
			s = string(bytes.TrimSpace(v))
		}
		lines = append(lines, k+": "+s)
	}
	return lines
}

func firstNonSpace(b []byte) byte {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

func renderOrder(o *whatsapp.Order) string {
	head := "🛒 Order"
	if o.CatalogID != "" {
		head += " (catalog " + o.CatalogID + ")"
	}
	lines := []string{head + ":"}
	totals := map[string]float64{}
	var currencies []string
	for _, it := range o.ProductItems {
		lines = append(lines, fmt.Sprintf("%d × %s — %.2f %s", it.Quantity, it.ProductRetailerID, it.ItemPrice, it.Currency))
		if _, seen := totals[it.Currency]; !seen {
			currencies = append(currencies, it.Currency)
		}
		totals[it.Currency] += float64(it.Quantity) * it.ItemPrice
	}
	for _, c := range currencies {
		lines = append(lines, fmt.Sprintf("Total: %.2f %s", totals[c], c))
	}
	if t := strings.TrimSpace(o.Text); t != "" {
		lines = append(lines, t)
	}
	return strings.Join(lines, "\n")
}

func renderSystem(s *whatsapp.System, id *whatsapp.Identity, tz *time.Location) string {
	if s.Body != "" {
		return s.Body
	}
	switch s.Type {
	case "user_changed_number":
		return "[the customer changed their phone number]"
	case "user_changed_user_id":
		return "[the customer's WhatsApp user id changed]"
	case "customer_identity_changed":
		if id != nil && !id.CreatedTimestamp.IsZero() {
			return "[the customer's identity changed on " + id.CreatedTimestamp.In(tz).Format("2006-01-02 15:04 MST") + "]"
		}
		return "[the customer's identity changed]"
	}
	return "[system message: " + firstOf(s.Type, "unknown") + "]"
}

// MediaTooLarge returns the comment text used instead of an attachment when
// a file is over the helpdesk's size limit.
func MediaTooLarge(filename string, size, limit int64) string {
	name := strings.TrimSpace(filename)
	if name == "" {
		name = "unnamed file"
	}
	return fmt.Sprintf("[file not attached: %s is %s, over the %s attachment limit]",
		name, humanSize(size), humanSize(limit))
}

// humanSize formats n bytes in decimal units (1 MB = 1,000,000 bytes), as
// WhatsApp and most helpdesks state their limits.
func humanSize(n int64) string {
	if n < 1000 {
		return strconv.FormatInt(n, 10) + " B"
	}
	f := float64(n)
	for _, unit := range []string{"KB", "MB", "GB"} {
		f /= 1000
		if f < 1000 || unit == "GB" {
			s := strconv.FormatFloat(f, 'f', 1, 64)
			return strings.TrimSuffix(s, ".0") + " " + unit
		}
	}
	return "" // unreachable
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

func joinNonEmpty(sep string, vals ...string) string {
	out := vals[:0:0]
	for _, v := range vals {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return strings.Join(out, sep)
}
