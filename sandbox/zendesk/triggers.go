package zendesk

import (
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// trigger is a stored ticket trigger.
type trigger struct {
	ID          int64
	Title       string
	Description string
	Active      bool
	Position    int
	CategoryID  string
	Conditions  conditions
	Actions     []action
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// conditions are a trigger's "all" and "any" condition lists.
type conditions struct {
	All []condition `json:"all"`
	Any []condition `json:"any"`
}

// condition is one trigger condition; Value is a string, number or list.
type condition struct {
	Field    string `json:"field"`
	Operator string `json:"operator"`
	Value    any    `json:"value"`
}

// action is one trigger action.
type action struct {
	Field string `json:"field"`
	Value any    `json:"value"`
}

// triggerInput is the "trigger" object of create and update.
type triggerInput struct {
	Title       *string     `json:"title"`
	Description *string     `json:"description"`
	Active      *bool       `json:"active"`
	Position    *int        `json:"position"`
	CategoryID  *string     `json:"category_id"`
	Conditions  *conditions `json:"conditions"`
	Actions     *[]action   `json:"actions"`
}

// defaultCategoryID is the trigger category of triggers created without one.
const defaultCategoryID = "360000000100"

// conditionOps lists the condition fields the fake evaluates and their
// operators; a trigger using anything else is refused (422), so a setup
// the fake cannot simulate fails loudly.
var conditionOps = map[string][]string{
	"update_type":       {"is", "is_not"},
	"comment_is_public": {"is", "is_not"},
	"current_via_id":    {"is", "is_not"},
	"via_id":            {"is", "is_not"},
	"role":              {"is", "is_not"},
	"status":            {"is", "is_not", "less_than", "greater_than", "changed", "not_changed", "value", "value_previous"},
	"priority":          {"is", "is_not", "less_than", "greater_than", "changed", "not_changed", "value", "value_previous"},
	"current_tags":      {"includes", "not_includes"},
	"ticket_is_public":  {"is", "is_not"},
	"requester_id":      {"is", "is_not"},
	"assignee_id":       {"is", "is_not"},
	"group_id":          {"is", "is_not"},
	"brand_id":          {"is", "is_not"},
}

// valueString renders a condition or action value as text.
func valueString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return fmt.Sprint(v)
}

// validateTriggerLocked checks a trigger as it would be stored. s.mu is held.
func (s *Server) validateTriggerLocked(t *trigger) *apiError {
	v := invalid{}
	if strings.TrimSpace(t.Title) == "" {
		v.add("title", "BlankValue", "Title: cannot be blank")
	}
	if len(t.Actions) == 0 {
		v.add("actions", "BlankValue", "Actions: cannot be blank")
	}
	if len(t.Conditions.All)+len(t.Conditions.Any) == 0 {
		v.add("conditions", "BlankValue", "Conditions: cannot be blank")
	}
	for _, c := range slices.Concat(t.Conditions.All, t.Conditions.Any) {
		ops, ok := conditionOps[c.Field]
		if !ok || !slices.Contains(ops, c.Operator) {
			v.add("conditions", "InvalidValue", fmt.Sprintf("Condition %s %s is not supported by the sandbox", c.Field, c.Operator))
		}
	}
	for _, a := range t.Actions {
		if a.Field != "notification_webhook" {
			continue
		}
		vals, ok := a.Value.([]any)
		if !ok || len(vals) != 2 {
			v.add("actions", "InvalidValue", "Notify webhook: value must be [webhook_id, body]")
			continue
		}
		hook := s.webhooks[valueString(vals[0])]
		switch {
		case hook == nil:
			v.add("actions", "InvalidValue", fmt.Sprintf("Notify webhook: webhook %s does not exist", valueString(vals[0])))
		case !slices.Contains(hook.Subscriptions, conditionalEvents):
			v.add("actions", "InvalidValue", fmt.Sprintf("Notify webhook: webhook %s is not subscribed to %s", hook.ID, conditionalEvents))
		}
	}
	return v.err()
}

// apply writes the fields present in in to t. Conditions and actions are
// replaced together, as Zendesk does.
func (in triggerInput) apply(t *trigger) {
	if in.Title != nil {
		t.Title = *in.Title
	}
	if in.Description != nil {
		t.Description = *in.Description
	}
	if in.Active != nil {
		t.Active = *in.Active
	}
	if in.Position != nil {
		t.Position = *in.Position
	}
	if in.CategoryID != nil {
		t.CategoryID = *in.CategoryID
	}
	if in.Conditions != nil || in.Actions != nil {
		t.Conditions, t.Actions = conditions{}, nil
		if in.Conditions != nil {
			t.Conditions = *in.Conditions
		}
		if in.Actions != nil {
			t.Actions = *in.Actions
		}
	}
}

func triggerJSON(base string, t *trigger) map[string]any {
	all, anyc, actions := t.Conditions.All, t.Conditions.Any, t.Actions
	if all == nil {
		all = []condition{}
	}
	if anyc == nil {
		anyc = []condition{}
	}
	if actions == nil {
		actions = []action{}
	}
	return map[string]any{"url": fmt.Sprintf("%s/api/v2/triggers/%d.json", base, t.ID), "id": t.ID, "title": t.Title,
		"active": t.Active, "updated_at": stamp(t.UpdatedAt), "created_at": stamp(t.CreatedAt), "default": false,
		"actions": actions, "conditions": map[string]any{"all": all, "any": anyc}, "description": nullStr(t.Description),
		"position": t.Position, "raw_title": t.Title, "category_id": t.CategoryID}
}

// routeTriggers serves /api/v2/triggers/…; it reports false for an unknown route.
func (s *Server) routeTriggers(c *call, m string, rest []string) bool {
	switch {
	case len(rest) == 0 && m == http.MethodGet:
		s.handleTriggerList(c)
	case len(rest) == 0 && m == http.MethodPost:
		s.handleTriggerWrite(c, "")
	case len(rest) == 1 && m == http.MethodPut:
		s.handleTriggerWrite(c, rest[0])
	case len(rest) == 1 && (m == http.MethodGet || m == http.MethodDelete):
		s.handleTriggerShowDelete(c, rest[0])
	default:
		return false
	}
	return true
}

// handleTriggerWrite creates (rawID "", 201) or updates (200) a trigger.
func (s *Server) handleTriggerWrite(c *call, rawID string) {
	raw, e := readBody(c.r)
	var in triggerInput
	if e == nil {
		e = decodeRoot(raw, "trigger", &in)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var cur *trigger
	if rawID != "" {
		id, _ := parseID(rawID)
		if cur = s.triggers[id]; cur == nil {
			c.fail(errNotFound())
			return
		}
	}
	if e != nil {
		c.fail(e)
		return
	}
	now := s.clock.Now()
	next := &trigger{Active: true, CategoryID: defaultCategoryID, CreatedAt: now}
	if cur != nil {
		*next = *cur
	} else {
		for _, t := range s.triggers {
			next.Position = max(next.Position, t.Position+1)
		}
	}
	in.apply(next)
	if e := s.validateTriggerLocked(next); e != nil {
		c.fail(e)
		return
	}
	next.UpdatedAt = now
	status := http.StatusOK
	if cur == nil {
		next.ID = s.nextIDLocked()
		s.triggers[next.ID] = next
		status = http.StatusCreated
	} else {
		*cur = *next
	}
	c.json(status, map[string]any{"trigger": triggerJSON(c.base, next)})
}

func (s *Server) handleTriggerShowDelete(c *call, rawID string) {
	id, _ := parseID(rawID)
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.triggers[id]
	if t == nil {
		c.fail(errNotFound())
		return
	}
	if c.r.Method == http.MethodGet {
		c.json(http.StatusOK, map[string]any{"trigger": triggerJSON(c.base, t)})
		return
	}
	delete(s.triggers, id)
	c.w.WriteHeader(http.StatusNoContent)
}

// sortedTriggersLocked returns the triggers by position, then id.
func (s *Server) sortedTriggersLocked() []*trigger {
	out := make([]*trigger, 0, len(s.triggers))
	for _, t := range s.triggers {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Position != out[j].Position {
			return out[i].Position < out[j].Position
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// handleTriggerList answers GET /api/v2/triggers (?active=, sort_by=title|
// created_at|updated_at|position, sort_order=); offset pages by default,
// cursor pages with page[size].
func (s *Server) handleTriggerList(c *call) {
	q := c.r.URL.Query()
	cr, cursor, e := parseCursor(q)
	if e != nil {
		c.fail(e)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var list []*trigger
	for _, t := range s.sortedTriggersLocked() {
		if a := q.Get("active"); a == "" || a == strconv.FormatBool(t.Active) {
			list = append(list, t)
		}
	}
	key := map[string]func(t *trigger) string{
		"title":      func(t *trigger) string { return strings.ToLower(t.Title) },
		"created_at": func(t *trigger) string { return stamp(t.CreatedAt) },
		"updated_at": func(t *trigger) string { return stamp(t.UpdatedAt) },
	}[q.Get("sort_by")]
	if key != nil {
		sort.SliceStable(list, func(i, j int) bool { return key(list[i]) < key(list[j]) })
	}
	if q.Get("sort_order") == "desc" {
		slices.Reverse(list)
	}
	writeList(c, "triggers", list, cursor, cr, func(t *trigger) string { return strconv.FormatInt(t.ID, 10) },
		func(t *trigger) any { return triggerJSON(c.base, t) })
}

// updateEvent is one ticket create or update as triggers see it.
type updateEvent struct {
	t       *ticket
	create  bool
	comment *comment // the comment added by the update, if any
	wr      writer
	prev    snapshot
}

// fireTriggersLocked runs the active triggers in position order against ev
// and queues the webhook requests of those that match. s.mu is held.
func (s *Server) fireTriggersLocked(ev *updateEvent) {
	for _, tr := range s.sortedTriggersLocked() {
		if !tr.Active || !s.matchesLocked(tr, ev) {
			continue
		}
		for _, a := range tr.Actions {
			if a.Field != "notification_webhook" {
				s.log.Debug("trigger action not simulated", slog.Int64("trigger_id", tr.ID), slog.String("field", a.Field))
				continue
			}
			vals, _ := a.Value.([]any)
			if len(vals) == 2 {
				s.notifyWebhookLocked(tr, valueString(vals[0]), valueString(vals[1]), ev)
			}
		}
	}
}

func (s *Server) matchesLocked(tr *trigger, ev *updateEvent) bool {
	for _, c := range tr.Conditions.All {
		if !s.conditionLocked(c, ev) {
			return false
		}
	}
	if len(tr.Conditions.Any) == 0 {
		return true
	}
	for _, c := range tr.Conditions.Any {
		if s.conditionLocked(c, ev) {
			return true
		}
	}
	return false
}

// rank orders statuses and priorities for less_than / greater_than.
func rank(field, v string) int {
	list := statuses
	if field == "priority" {
		list = priorities
	}
	return slices.Index(list, v)
}

// conditionLocked evaluates one condition. s.mu is held.
func (s *Server) conditionLocked(c condition, ev *updateEvent) bool {
	want := valueString(c.Value)
	t := ev.t
	var got string
	switch c.Field {
	case "update_type":
		got = map[bool]string{true: "Create", false: "Change"}[ev.create]
		want = titleCase(strings.ToLower(want))
	case "comment_is_public":
		switch want {
		case "not_relevant":
			return c.Operator == "is"
		case "requester_can_see_comment":
			want = "true"
		}
		if ev.comment == nil {
			return c.Operator == "is_not"
		}
		got = strconv.FormatBool(ev.comment.Public)
	case "current_via_id":
		got = strconv.Itoa(ev.wr.viaID)
	case "via_id":
		got = strconv.Itoa(t.ViaID)
	case "role":
		if u := s.users[ev.wr.userID]; u != nil {
			got = strings.ReplaceAll(u.Role, "-", "_")
		}
	case "ticket_is_public":
		got = "private"
		if len(t.Comments) > 0 && t.Comments[0].Public {
			got = "public"
		}
	case "requester_id":
		got = strconv.FormatInt(t.RequesterID, 10)
	case "assignee_id", "group_id", "brand_id":
		p := map[string]*int64{"assignee_id": t.AssigneeID, "group_id": t.GroupID, "brand_id": t.BrandID}[c.Field]
		if p != nil {
			got = strconv.FormatInt(*p, 10)
		}
	case "current_tags":
		hit := false
		for _, tag := range strings.Fields(strings.ToLower(want)) {
			hit = hit || slices.Contains(t.Tags, tag)
		}
		return hit == (c.Operator == "includes")
	case "status", "priority":
		cur, was := t.Status, ev.prev.status
		if c.Field == "priority" {
			cur, was = t.Priority, ev.prev.priority
		}
		if ev.create {
			was = ""
		}
		switch c.Operator {
		case "less_than":
			return rank(c.Field, cur) < rank(c.Field, want)
		case "greater_than":
			return rank(c.Field, cur) > rank(c.Field, want)
		case "changed":
			return cur != was
		case "not_changed":
			return cur == was
		case "value":
			return cur != was && cur == want
		case "value_previous":
			return cur != was && was == want
		}
		got = cur
	}
	return (got == want) == (c.Operator == "is")
}
