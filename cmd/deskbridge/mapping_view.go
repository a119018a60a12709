package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// writePreviewJSON prints p as one indented JSON document.
func writePreviewJSON(w io.Writer, p *preview) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(p)
}

// MarshalJSON writes the variables of --vars as one object.
func (e eventPreview) MarshalJSON() ([]byte, error) {
	type plain eventPreview
	var vars map[string]any
	if len(e.Variables) > 0 {
		vars = make(map[string]any, len(e.Variables))
		for _, nv := range e.Variables {
			vars[nv.Name] = nv.Value
		}
	}
	return json.Marshal(struct {
		plain
		Variables map[string]any `json:"variables,omitempty"`
	}{plain(e), vars})
}

// writePreviewText prints p for people, times in tz.
func writePreviewText(w io.Writer, p *preview, tz *time.Location) error {
	var b strings.Builder
	if len(p.Events) == 0 {
		b.WriteString("no events in this payload\n")
	}
	for i := range p.Events {
		if i > 0 {
			b.WriteByte('\n')
		}
		writeEventText(&b, &p.Events[i], len(p.Events), tz)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeEventText prints one event.
func writeEventText(b *strings.Builder, ep *eventPreview, total int, tz *time.Location) {
	fmt.Fprintf(b, "event %d of %d: %s", ep.Event, total, ep.Summary)
	if ep.Skipped != "" {
		fmt.Fprintf(b, ": %s\n", ep.Skipped)
		return
	}
	b.WriteByte('\n')
	head := []namedValue{{"id", ep.ID}}
	if ep.Timestamp != nil {
		head = append(head, namedValue{"received", formatWhen(*ep.Timestamp, tz)})
	}
	head = append(head, namedValue{"sent to", numberLine(ep.Number)})
	writeBlock(b, "  ", head)
	for _, n := range ep.Notes {
		fmt.Fprintf(b, "  note: %s\n", n)
	}

	if len(ep.Variables) > 0 {
		b.WriteString("\n  variables:\n")
		vs := make([]namedValue, len(ep.Variables))
		for i, v := range ep.Variables {
			vs[i] = namedValue{v.Name, textValue(v.Value, tz)}
		}
		writeBlock(b, "    ", vs)
	}

	c := ep.Contact
	b.WriteString("\n  contact, as a new contact:\n")
	extID := textValue(c.ExternalID, tz) + " (default scheme)"
	if c.ExternalIDFrom == "mapping" {
		extID = textValue(c.ExternalID, tz) + " (mapping.contact.external_id)"
	} else if c.ExternalID == "" {
		extID = notSet
	}
	rows := []namedValue{{"name", orNotSet(c.Name)}, {"external_id", extID}}
	for _, k := range sortedKeys(c.Fields) {
		rows = append(rows, namedValue{"fields." + k, textValue(c.Fields[k], tz)})
	}
	writeBlock(b, "    ", rows)

	t := ep.Ticket
	b.WriteString("\n  new ticket:\n")
	rows = []namedValue{
		{"subject", orNotSet(t.Subject)},
		{"description", orNotSet(t.Description)},
		{"tags", textValue(t.Tags, tz)},
		{"priority", orNotSet(t.Priority)},
		{"type", orNotSet(t.Type)},
		{"group", orNotSet(t.Group)},
		{"brand", orNotSet(t.Brand)},
		{"form", orNotSet(t.Form)},
	}
	if len(t.CustomFields) == 0 {
		rows = append(rows, namedValue{"custom_fields", notSet})
	}
	for _, k := range sortedKeys(t.CustomFields) {
		rows = append(rows, namedValue{"custom_fields." + k, textValue(t.CustomFields[k], tz)})
	}
	rows = append(rows, namedValue{"routing", routingLine(t.Routing)})
	writeBlock(b, "    ", rows)

	if tp := ep.Template; tp != nil {
		fmt.Fprintf(b, "\n  reply outside the window, ticket %s:\n", tp.TicketID)
		rows = []namedValue{
			{"ticket.status", orNotSet(tp.TicketStatus)},
			{"ticket.requester_name", orNotSet(tp.RequesterName)},
			{"comment.body", textValue(tp.Comment, tz)},
		}
		switch {
		case tp.Sent:
			rows = append(rows, namedValue{"policy", "template"},
				namedValue{"template", fmt.Sprintf("%s (%s)", tp.Name, tp.Language)})
		default:
			rows = append(rows, namedValue{"policy", tp.Policy + ": no template is sent, the reply is kept as an internal note"})
		}
		if len(tp.Params) == 0 {
			rows = append(rows, namedValue{"params", "(none)"})
		}
		failed := map[string]bool{}
		for _, e := range ep.Errors {
			failed[e.Path] = true
		}
		for i, s := range tp.Params {
			key := fmt.Sprintf("params[%d]", i)
			val := textValue(s, tz)
			if failed["outside_window.template."+key] {
				val = "(failed, see errors)"
			}
			rows = append(rows, namedValue{key, val})
		}
		writeBlock(b, "    ", rows)
	}

	if len(ep.Errors) > 0 {
		b.WriteString("\n  errors:\n")
		for _, e := range ep.Errors {
			if e.Path == "" {
				fmt.Fprintf(b, "    %s\n", e.Error)
				continue
			}
			fmt.Fprintf(b, "    %s: %s\n", e.Path, e.Error)
		}
	}
}

// writeBlock prints rows as "name  value" lines with the values aligned.
// Values are strings already formatted by the caller.
func writeBlock(b *strings.Builder, indent string, rows []namedValue) {
	width := 0
	for _, r := range rows {
		width = max(width, len(r.Name))
	}
	for _, r := range rows {
		fmt.Fprintf(b, "%s%-*s  %v\n", indent, width, r.Name, r.Value)
	}
}

// numberLine describes the business number of a message.
func numberLine(n *numberPreview) string {
	parts := []string{"phone_number_id " + n.PhoneNumberID}
	if n.Label != "" {
		parts = append(parts, "label "+strconv.Quote(n.Label))
	}
	if n.Helpdesk != "" {
		h := "helpdesk " + n.Helpdesk
		if n.HelpdeskKind != "" {
			h += " (" + n.HelpdeskKind + ")"
		}
		parts = append(parts, h)
	}
	display := n.Display
	if display == "" {
		display = "(no display number)"
	}
	return display + ": " + strings.Join(parts, ", ")
}

// routingLine describes the routing decision.
func routingLine(r routingPreview) string {
	switch {
	case r.Rules == 0:
		return "no rules"
	}
	of := fmt.Sprintf("(of %d rules)", r.Rules)
	if r.Rules == 1 {
		of = "(of 1 rule)"
	}
	switch len(r.Matched) {
	case 0:
		return "no rule matched " + of
	case 1:
		return "matched: " + r.Matched[0] + " " + of
	}
	return "matched, in order: " + strings.Join(r.Matched, ", ") + " " + of
}

// orNotSet quotes s, or says it is not set.
func orNotSet(s string) string {
	if s == "" {
		return notSet
	}
	return strconv.Quote(s)
}

// textValue formats a value for the text preview: strings quoted, lists
// in brackets, times in tz.
func textValue(v any, tz *time.Location) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(x)
	case []string:
		q := make([]string, len(x))
		for i, s := range x {
			q[i] = strconv.Quote(s)
		}
		return "[" + strings.Join(q, ", ") + "]"
	case time.Time:
		return formatWhen(x, tz)
	}
	return fmt.Sprint(v)
}

// formatWhen formats a time in tz with its zone.
func formatWhen(t time.Time, tz *time.Location) string {
	return t.In(tz).Format("2006-01-02 15:04:05 MST")
}

// sortedKeys returns the keys of m in order.
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// firstNonEmptyString returns the first of ss that is not empty.
func firstNonEmptyString(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
