package zendesk

import (
	"cmp"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The account's schema: ticket fields, user fields, groups, brands and
// ticket forms, listed by the API (GET /api/v2/ticket_fields, user_fields,
// groups, brands, ticket_forms) so that a configuration can be checked
// against them. A fresh or reset fake has Zendesk's system ticket fields,
// one group, one brand and one ticket form (the Builtin… ids); Options
// adds more at start and after Reset, and the Add… methods (or the control
// API below) at run time. Tickets are not checked against them.
//
// Control API (no credentials; the value in, the stored value with its id
// out; 400 {"error"} when invalid):
//
//	POST /_sandbox/ticket_fields   TicketField
//	POST /_sandbox/user_fields     UserField
//	POST /_sandbox/groups          Group
//	POST /_sandbox/brands          Brand
//	POST /_sandbox/ticket_forms    TicketForm

// Ids of the built-in schema records.
const (
	BuiltinGroupID int64 = 360000000201 // the group "Support"
	BuiltinBrandID int64 = 360000000301 // the brand "Sandbox"
	BuiltinFormID  int64 = 360000000401 // the "Default Ticket Form"
	// BuiltinPriorityFieldID is the system ticket field "Priority"; the
	// other system fields (subject, description, status, tickettype,
	// group, assignee) have ids next to it.
	BuiltinPriorityFieldID int64 = 360000000105
)

// customFieldTypes are the ticket field types that can be created.
var customFieldTypes = []string{"text", "textarea", "checkbox", "date", "integer", "decimal", "regexp",
	"partialcreditcard", "tagger", "multiselect", "lookup"}

// userFieldTypes are the user field types that can be created.
var userFieldTypes = []string{"text", "textarea", "checkbox", "date", "integer", "decimal", "regexp",
	"dropdown", "multiselect", "lookup"}

// FieldOption is one option of a drop-down (tagger, dropdown) or
// multi-select field.
type FieldOption struct {
	Name  string `json:"name"`  // shown to agents
	Value string `json:"value"` // the tag written in tickets and the API
}

// TicketField is a ticket field of the account.
type TicketField struct {
	ID    int64  `json:"id,omitempty"` // 0: assigned when added
	Title string `json:"title"`        // required
	// Type is text (default), textarea, checkbox, date, integer, decimal,
	// regexp, partialcreditcard, tagger (drop-down), multiselect or
	// lookup; the system fields have subject, description, status,
	// tickettype, priority, group or assignee.
	Type     string        `json:"type,omitempty"`
	Options  []FieldOption `json:"options,omitempty"`  // tagger and multiselect: required
	Inactive bool          `json:"inactive,omitempty"` // answered as "active": false
	System   bool          `json:"system,omitempty"`   // built-in (not removable); read-only
}

// UserField is a custom user field of the account.
type UserField struct {
	ID    int64  `json:"id,omitempty"` // 0: assigned when added
	Key   string `json:"key"`          // required: lowercase letters, digits and _; unique
	Title string `json:"title"`        // required
	// Type is text (default), textarea, checkbox, date, integer, decimal,
	// regexp, dropdown, multiselect or lookup.
	Type     string        `json:"type,omitempty"`
	Options  []FieldOption `json:"options,omitempty"` // dropdown and multiselect: required
	Inactive bool          `json:"inactive,omitempty"`
}

// Group is an agent group of the account.
type Group struct {
	ID   int64  `json:"id,omitempty"` // 0: assigned when added
	Name string `json:"name"`         // required
}

// Brand is a brand of the account.
type Brand struct {
	ID        int64  `json:"id,omitempty"`        // 0: assigned when added
	Name      string `json:"name"`                // required
	Subdomain string `json:"subdomain,omitempty"` // default: the name, lowercased, letters and digits only
	Inactive  bool   `json:"inactive,omitempty"`
}

// TicketForm is a ticket form of the account.
type TicketForm struct {
	ID             int64   `json:"id,omitempty"` // 0: assigned when added
	Name           string  `json:"name"`         // required
	TicketFieldIDs []int64 `json:"ticket_field_ids,omitempty"`
	Inactive       bool    `json:"inactive,omitempty"`
}

// schemaState is the account's schema, each list in creation order.
type schemaState struct {
	ticketFields []stamped[TicketField]
	userFields   []stamped[UserField]
	groups       []stamped[Group]
	brands       []stamped[Brand]
	forms        []stamped[TicketForm]
}

// stamped is a schema record and its creation time.
type stamped[T any] struct {
	v       T
	created time.Time
}

// resetSchemaLocked rebuilds the built-in schema and adds the records of
// Options; an invalid one is logged and skipped. s.mu is held.
func (s *Server) resetSchemaLocked() {
	s.schema = schemaState{}
	now := s.clock.Now()
	opts := func(n string) []FieldOption {
		var out []FieldOption
		for v := range strings.SplitSeq(n, ",") {
			out = append(out, FieldOption{Name: strings.ToUpper(v[:1]) + v[1:], Value: v})
		}
		return out
	}
	id := BuiltinPriorityFieldID - 4
	for _, f := range []TicketField{
		{Title: "Subject", Type: "subject"}, {Title: "Description", Type: "description"},
		{Title: "Status", Type: "status", Options: opts("new,open,pending,hold,solved")},
		{Title: "Type", Type: "tickettype", Options: opts("question,incident,problem,task")},
		{Title: "Priority", Type: "priority", Options: opts("low,normal,high,urgent")},
		{Title: "Group", Type: "group"}, {Title: "Assignee", Type: "assignee"},
	} {
		f.ID, f.System = id, true
		id++
		s.schema.ticketFields = append(s.schema.ticketFields, stamped[TicketField]{f, now})
	}
	s.schema.groups = []stamped[Group]{{Group{ID: BuiltinGroupID, Name: "Support"}, now}}
	s.schema.brands = []stamped[Brand]{{Brand{ID: BuiltinBrandID, Name: "Sandbox", Subdomain: "sandbox"}, now}}
	s.schema.forms = []stamped[TicketForm]{{TicketForm{ID: BuiltinFormID, Name: "Default Ticket Form",
		TicketFieldIDs: []int64{id - 7, id - 6, id - 5, id - 4, id - 3, id - 2, id - 1}}, now}}

	warn := func(what string, err error) {
		if err != nil {
			s.log.Warn("sandbox option skipped", "what", what, "err", err)
		}
	}
	for _, f := range s.opts.TicketFields {
		_, err := s.addTicketFieldLocked(f)
		warn("ticket field", err)
	}
	for _, f := range s.opts.UserFields {
		_, err := s.addUserFieldLocked(f)
		warn("user field", err)
	}
	for _, g := range s.opts.Groups {
		_, err := s.addGroupLocked(g)
		warn("group", err)
	}
	for _, b := range s.opts.Brands {
		_, err := s.addBrandLocked(b)
		warn("brand", err)
	}
	for _, f := range s.opts.TicketForms {
		_, err := s.addTicketFormLocked(f)
		warn("ticket form", err)
	}
}

// AddTicketField adds a custom ticket field and returns it with its id.
func (s *Server) AddTicketField(f TicketField) (TicketField, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addTicketFieldLocked(f)
}

// AddUserField adds a custom user field and returns it with its id.
func (s *Server) AddUserField(f UserField) (UserField, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addUserFieldLocked(f)
}

// AddGroup adds a group and returns it with its id.
func (s *Server) AddGroup(g Group) (Group, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addGroupLocked(g)
}

// AddBrand adds a brand and returns it with its id.
func (s *Server) AddBrand(b Brand) (Brand, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addBrandLocked(b)
}

// AddTicketForm adds a ticket form and returns it with its id.
func (s *Server) AddTicketForm(f TicketForm) (TicketForm, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addTicketFormLocked(f)
}

// schemaIDLocked checks a requested id (0: a fresh one) against the ids
// taken reports. s.mu is held.
func (s *Server) schemaIDLocked(id int64, taken func(int64) bool) (int64, error) {
	switch {
	case id < 0:
		return 0, fmt.Errorf("%w: id %d is negative", ErrInvalid, id)
	case id == 0:
		return s.nextIDLocked(), nil
	case taken(id):
		return 0, fmt.Errorf("%w: id %d is taken", ErrInvalid, id)
	}
	return id, nil
}

// checkOptions checks the options of a field of type typ: required (and
// only allowed) for the option types, each with a unique non-empty value.
func checkOptions(typ string, options []FieldOption, optionTypes ...string) error {
	if !slices.Contains(optionTypes, typ) {
		if len(options) > 0 {
			return fmt.Errorf("%w: a %s field has no options", ErrInvalid, typ)
		}
		return nil
	}
	if len(options) == 0 {
		return fmt.Errorf("%w: a %s field needs options", ErrInvalid, typ)
	}
	seen := map[string]bool{}
	for _, o := range options {
		v := strings.TrimSpace(o.Value)
		if v == "" || strings.ContainsAny(v, " \t") || seen[v] {
			return fmt.Errorf("%w: option value %q must be a unique tag without spaces", ErrInvalid, o.Value)
		}
		seen[v] = true
	}
	return nil
}

func (s *Server) addTicketFieldLocked(f TicketField) (TicketField, error) {
	f.Type = cmp.Or(f.Type, "text")
	if strings.TrimSpace(f.Title) == "" || !slices.Contains(customFieldTypes, f.Type) {
		return TicketField{}, fmt.Errorf("%w: a ticket field needs a title and a type among %s",
			ErrInvalid, strings.Join(customFieldTypes, ", "))
	}
	if err := checkOptions(f.Type, f.Options, "tagger", "multiselect"); err != nil {
		return TicketField{}, err
	}
	id, err := s.schemaIDLocked(f.ID, func(id int64) bool {
		return slices.ContainsFunc(s.schema.ticketFields, func(x stamped[TicketField]) bool { return x.v.ID == id })
	})
	if err != nil {
		return TicketField{}, err
	}
	f.ID, f.System, f.Options = id, false, slices.Clone(f.Options)
	s.schema.ticketFields = append(s.schema.ticketFields, stamped[TicketField]{f, s.clock.Now()})
	return f, nil
}

var userFieldKeyRE = regexp.MustCompile(`^[a-z0-9_]{1,64}$`)

func (s *Server) addUserFieldLocked(f UserField) (UserField, error) {
	f.Type = cmp.Or(f.Type, "text")
	if strings.TrimSpace(f.Title) == "" || !slices.Contains(userFieldTypes, f.Type) || !userFieldKeyRE.MatchString(f.Key) {
		return UserField{}, fmt.Errorf("%w: a user field needs a key (lowercase letters, digits and _), a title and a type among %s",
			ErrInvalid, strings.Join(userFieldTypes, ", "))
	}
	if slices.ContainsFunc(s.schema.userFields, func(x stamped[UserField]) bool { return x.v.Key == f.Key }) {
		return UserField{}, fmt.Errorf("%w: user field key %q is taken", ErrInvalid, f.Key)
	}
	if err := checkOptions(f.Type, f.Options, "dropdown", "multiselect"); err != nil {
		return UserField{}, err
	}
	id, err := s.schemaIDLocked(f.ID, func(id int64) bool {
		return slices.ContainsFunc(s.schema.userFields, func(x stamped[UserField]) bool { return x.v.ID == id })
	})
	if err != nil {
		return UserField{}, err
	}
	f.ID, f.Options = id, slices.Clone(f.Options)
	s.schema.userFields = append(s.schema.userFields, stamped[UserField]{f, s.clock.Now()})
	return f, nil
}

func (s *Server) addGroupLocked(g Group) (Group, error) {
	if strings.TrimSpace(g.Name) == "" {
		return Group{}, fmt.Errorf("%w: a group needs a name", ErrInvalid)
	}
	id, err := s.schemaIDLocked(g.ID, func(id int64) bool {
		return slices.ContainsFunc(s.schema.groups, func(x stamped[Group]) bool { return x.v.ID == id })
	})
	if err != nil {
		return Group{}, err
	}
	g.ID = id
	s.schema.groups = append(s.schema.groups, stamped[Group]{g, s.clock.Now()})
	return g, nil
}

var subdomainRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

func (s *Server) addBrandLocked(b Brand) (Brand, error) {
	if strings.TrimSpace(b.Name) == "" {
		return Brand{}, fmt.Errorf("%w: a brand needs a name", ErrInvalid)
	}
	if b.Subdomain == "" {
		b.Subdomain = strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, strings.ToLower(b.Name))
	}
	if !subdomainRE.MatchString(b.Subdomain) {
		return Brand{}, fmt.Errorf("%w: brand subdomain %q must be lowercase letters, digits and -", ErrInvalid, b.Subdomain)
	}
	if slices.ContainsFunc(s.schema.brands, func(x stamped[Brand]) bool { return x.v.Subdomain == b.Subdomain }) {
		return Brand{}, fmt.Errorf("%w: brand subdomain %q is taken", ErrInvalid, b.Subdomain)
	}
	id, err := s.schemaIDLocked(b.ID, func(id int64) bool {
		return slices.ContainsFunc(s.schema.brands, func(x stamped[Brand]) bool { return x.v.ID == id })
	})
	if err != nil {
		return Brand{}, err
	}
	b.ID = id
	s.schema.brands = append(s.schema.brands, stamped[Brand]{b, s.clock.Now()})
	return b, nil
}

func (s *Server) addTicketFormLocked(f TicketForm) (TicketForm, error) {
	if strings.TrimSpace(f.Name) == "" {
		return TicketForm{}, fmt.Errorf("%w: a ticket form needs a name", ErrInvalid)
	}
	for _, fid := range f.TicketFieldIDs {
		if !slices.ContainsFunc(s.schema.ticketFields, func(x stamped[TicketField]) bool { return x.v.ID == fid }) {
			return TicketForm{}, fmt.Errorf("%w: ticket form field %d is not a ticket field", ErrInvalid, fid)
		}
	}
	id, err := s.schemaIDLocked(f.ID, func(id int64) bool {
		return slices.ContainsFunc(s.schema.forms, func(x stamped[TicketForm]) bool { return x.v.ID == id })
	})
	if err != nil {
		return TicketForm{}, err
	}
	f.ID, f.TicketFieldIDs = id, slices.Clone(f.TicketFieldIDs)
	s.schema.forms = append(s.schema.forms, stamped[TicketForm]{f, s.clock.Now()})
	return f, nil
}

// routeSchema serves GET /api/v2/{ticket_fields,user_fields,groups,brands,
// ticket_forms}; it reports false for any other route.
func (s *Server) routeSchema(c *call, m string, list string, rest []string) bool {
	if m != http.MethodGet || len(rest) != 0 {
		return false
	}
	q := c.r.URL.Query()
	cr, cursor, e := parseCursor(q)
	if e != nil {
		c.fail(e)
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := func(n int64) string { return strconv.FormatInt(n, 10) }
	switch list {
	case "ticket_fields":
		// Cursor pages are in id order; without pagination every field
		// comes at once, in position (creation) order.
		fields := slices.Clone(s.schema.ticketFields)
		render := func(f stamped[TicketField]) any { return ticketFieldJSON(c.base, f, s.fieldPosition(f.v.ID)) }
		if !cursor {
			writeAll(c, "ticket_fields", fields, render)
			return true
		}
		slices.SortFunc(fields, func(a, b stamped[TicketField]) int { return cmp.Compare(a.v.ID, b.v.ID) })
		writeList(c, "ticket_fields", fields, true, cr, func(f stamped[TicketField]) string { return id(f.v.ID) }, render)
	case "user_fields":
		pos := map[int64]int{}
		for i, f := range s.schema.userFields {
			pos[f.v.ID] = i + 1
		}
		writeList(c, "user_fields", slices.Clone(s.schema.userFields), cursor, cr,
			func(f stamped[UserField]) string { return id(f.v.ID) },
			func(f stamped[UserField]) any { return userFieldJSON(c.base, f, pos[f.v.ID]) })
	case "groups":
		writeList(c, "groups", slices.Clone(s.schema.groups), cursor, cr,
			func(g stamped[Group]) string { return id(g.v.ID) },
			func(g stamped[Group]) any { return groupJSON(c.base, g) })
	case "brands":
		brands := slices.Clone(s.schema.brands)
		slices.SortStableFunc(brands, func(a, b stamped[Brand]) int {
			return strings.Compare(strings.ToLower(a.v.Name), strings.ToLower(b.v.Name))
		})
		writeList(c, "brands", brands, cursor, cr,
			func(b stamped[Brand]) string { return id(b.v.ID) },
			func(b stamped[Brand]) any { return s.brandJSON(c.base, b) })
	case "ticket_forms":
		// Not paginated; ?active=true|false filters.
		var forms []stamped[TicketForm]
		for _, f := range s.schema.forms {
			if a := q.Get("active"); a == "" || a == strconv.FormatBool(!f.v.Inactive) {
				forms = append(forms, f)
			}
		}
		pos := map[int64]int{}
		for i, f := range s.schema.forms {
			pos[f.v.ID] = i + 1
		}
		writeAll(c, "ticket_forms", forms, func(f stamped[TicketForm]) any { return ticketFormJSON(c.base, f, pos[f.v.ID]) })
	default:
		return false
	}
	return true
}

// writeAll answers a list that is not paginated: every item, with
// next_page and previous_page null.
func writeAll[T any](c *call, name string, list []T, render func(T) any) {
	out := make([]any, 0, len(list))
	for _, it := range list {
		out = append(out, render(it))
	}
	c.json(http.StatusOK, map[string]any{name: out, "next_page": nil, "previous_page": nil, "count": len(list)})
}

// fieldPosition is a ticket field's 1-based position. s.mu is held.
func (s *Server) fieldPosition(id int64) int {
	return 1 + slices.IndexFunc(s.schema.ticketFields, func(x stamped[TicketField]) bool { return x.v.ID == id })
}

// optionsJSON renders custom_field_options (with ids derived from the
// field's) or system_field_options.
func optionsJSON(base, kind string, fieldID int64, opts []FieldOption, system bool) []any {
	out := []any{}
	for i, o := range opts {
		if system {
			out = append(out, map[string]any{"name": o.Name, "value": o.Value})
			continue
		}
		oid := fieldID*100 + int64(i) + 1
		out = append(out, map[string]any{"id": oid, "name": o.Name, "raw_name": o.Name, "value": o.Value,
			"position": i, "default": false, "url": fmt.Sprintf("%s/api/v2/%s/%d/options/%d.json", base, kind, fieldID, oid)})
	}
	return out
}

func ticketFieldJSON(base string, sf stamped[TicketField], position int) map[string]any {
	f := sf.v
	m := map[string]any{"url": fmt.Sprintf("%s/api/v2/ticket_fields/%d.json", base, f.ID), "id": f.ID, "type": f.Type,
		"title": f.Title, "raw_title": f.Title, "description": "", "raw_description": "", "agent_description": "",
		"position": position, "active": !f.Inactive, "required": false, "collapsed_for_agents": false,
		"regexp_for_validation": nil, "title_in_portal": f.Title, "raw_title_in_portal": f.Title,
		"visible_in_portal": f.System, "editable_in_portal": f.System, "required_in_portal": false,
		"tag": nil, "removable": !f.System, "created_at": stamp(sf.created), "updated_at": stamp(sf.created)}
	switch {
	case f.System && len(f.Options) > 0:
		m["system_field_options"] = optionsJSON(base, "ticket_fields", f.ID, f.Options, true)
	case !f.System && len(f.Options) > 0:
		m["custom_field_options"] = optionsJSON(base, "ticket_fields", f.ID, f.Options, false)
	}
	if f.Type == "regexp" {
		m["regexp_for_validation"] = ".*"
	}
	return m
}

func userFieldJSON(base string, sf stamped[UserField], position int) map[string]any {
	f := sf.v
	m := map[string]any{"url": fmt.Sprintf("%s/api/v2/user_fields/%d.json", base, f.ID), "id": f.ID, "type": f.Type,
		"key": f.Key, "title": f.Title, "raw_title": f.Title, "description": "", "raw_description": "",
		"position": position, "active": !f.Inactive, "system": false, "regexp_for_validation": nil,
		"created_at": stamp(sf.created), "updated_at": stamp(sf.created)}
	if len(f.Options) > 0 {
		m["custom_field_options"] = optionsJSON(base, "user_fields", f.ID, f.Options, false)
	}
	if f.Type == "regexp" {
		m["regexp_for_validation"] = ".*"
	}
	return m
}

func groupJSON(base string, sg stamped[Group]) map[string]any {
	g := sg.v
	return map[string]any{"url": fmt.Sprintf("%s/api/v2/groups/%d.json", base, g.ID), "id": g.ID, "name": g.Name,
		"description": "", "default": g.ID == BuiltinGroupID, "deleted": false, "is_public": true,
		"created_at": stamp(sg.created), "updated_at": stamp(sg.created)}
}

// brandJSON renders a brand with the ids of the forms it can use (all of
// them: the fake has no brand restrictions). s.mu is held.
func (s *Server) brandJSON(base string, sb stamped[Brand]) map[string]any {
	b := sb.v
	forms := []int64{}
	for _, f := range s.schema.forms {
		forms = append(forms, f.v.ID)
	}
	return map[string]any{"url": fmt.Sprintf("%s/api/v2/brands/%d.json", base, b.ID), "id": b.ID, "name": b.Name,
		"brand_url": "https://" + b.Subdomain + ".zendesk.com", "subdomain": b.Subdomain, "has_help_center": false,
		"help_center_state": "disabled", "active": !b.Inactive, "default": b.ID == BuiltinBrandID, "is_deleted": false,
		"ticket_form_ids": forms, "signature_template": "{{agent.signature}}",
		"created_at": stamp(sb.created), "updated_at": stamp(sb.created)}
}

func ticketFormJSON(base string, sf stamped[TicketForm], position int) map[string]any {
	f := sf.v
	ids := f.TicketFieldIDs
	if ids == nil {
		ids = []int64{}
	}
	return map[string]any{"url": fmt.Sprintf("%s/api/v2/ticket_forms/%d.json", base, f.ID), "id": f.ID, "name": f.Name,
		"raw_name": f.Name, "display_name": f.Name, "raw_display_name": f.Name, "end_user_visible": true,
		"position": position, "ticket_field_ids": ids, "active": !f.Inactive, "default": f.ID == BuiltinFormID,
		"in_all_brands": true, "restricted_brand_ids": []int64{}, "end_user_conditions": []any{}, "agent_conditions": []any{},
		"created_at": stamp(sf.created), "updated_at": stamp(sf.created)}
}

// serveSchemaControl serves the schema routes of the control API; it
// reports false for any other path.
func (s *Server) serveSchemaControl(w http.ResponseWriter, r *http.Request) bool {
	route := strings.Trim(strings.TrimPrefix(r.URL.Path, "/_sandbox"), "/")
	var add func() (any, error)
	switch route {
	case "ticket_fields":
		var f TicketField
		add = decodeThen(r, &f, func() (any, error) { return s.AddTicketField(f) })
	case "user_fields":
		var f UserField
		add = decodeThen(r, &f, func() (any, error) { return s.AddUserField(f) })
	case "groups":
		var g Group
		add = decodeThen(r, &g, func() (any, error) { return s.AddGroup(g) })
	case "brands":
		var b Brand
		add = decodeThen(r, &b, func() (any, error) { return s.AddBrand(b) })
	case "ticket_forms":
		var f TicketForm
		add = decodeThen(r, &f, func() (any, error) { return s.AddTicketForm(f) })
	default:
		return false
	}
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no control route " + r.Method + " " + r.URL.Path})
		return true
	}
	s.baseFor(r)
	v, err := add()
	if err != nil {
		writeControlError(w, err)
		return true
	}
	writeJSON(w, http.StatusOK, v)
	return true
}

// decodeThen returns a function that decodes the control request into v
// and then calls then.
func decodeThen(r *http.Request, v any, then func() (any, error)) func() (any, error) {
	return func() (any, error) {
		if err := decodeControl(r, v); err != nil {
			return nil, err
		}
		return then()
	}
}
