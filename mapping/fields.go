package mapping

import (
	"errors"
	"maps"
	"slices"
	"strings"

	"github.com/deskbridge/deskbridge/config"
)

// DefaultTag is the tag every ticket created by the bridge carries;
// configured tags are added to it.
const DefaultTag = "whatsapp"

// defaultSubject is the subject of a ticket when mapping.ticket.subject is
// not configured or evaluates to null or "": "WhatsApp: " and the contact's
// name, else its masked number ("***1222").
const defaultSubject = `"WhatsApp: " + first_non_empty(contact.name, mask_phone(first_non_empty(contact.phone, contact.wa_id, contact.user_id)))`

// Fields a routing rule may set, besides custom_fields.<id>.
var routingFields = []string{"subject", "description", "priority", "type", "group", "brand", "form"}

const customFieldsPrefix = "custom_fields."

// Mapper is the compiled mapping of a configuration. It is safe for
// concurrent use.
type Mapper struct {
	subject, description, priority, typ, group, brand, form *expr
	tags                                                    []*expr
	custom                                                  []keyedExpr
	defaultSubject                                          *expr

	contactName, externalID *expr
	contactFields           []keyedExpr

	rules  []rule
	params []*expr
}

// keyedExpr is the expression of one field of a map, such as a custom field.
type keyedExpr struct {
	key string
	e   *expr
}

// rule is a compiled routing rule.
type rule struct {
	name    string
	when    *expr       // nil matches every ticket
	set     []keyedExpr // keys as in the configuration: priority, custom_fields.123…
	addTags []*expr
	cont    bool
}

// TicketFields are the fields of a new helpdesk ticket. Empty strings are
// left to the helpdesk's own defaults.
type TicketFields struct {
	Subject, Description, Priority, Type, Group, Brand, Form string
	Tags                                                     []string       // DefaultTag first, de-duplicated
	CustomFields                                             map[string]any // string, int64, float64 or bool; nil when none
	Rules                                                    []string       // names of the routing rules that matched, in order
}

// ContactFields are the fields of a helpdesk contact. Empty strings are left
// to the bridge's defaults (the engine's deterministic external id).
type ContactFields struct {
	Name, ExternalID string
	Fields           map[string]any // string, int64, float64 or bool; nil when none
}

// Compile compiles every expression of cfg.Mapping and
// cfg.OutsideWindow.Template.Params once. A nil cfg, or an empty mapping
// section, gives the defaults: subject "WhatsApp: <name or masked number>",
// tag "whatsapp", contact name contact.name.
//
// Every problem is reported at once in a *CompileError, one
// "key.path: message (line:col)" each: CEL's syntax and type-check errors
// with CEL's position (1-based, in characters), expressions of the wrong
// type (a string field must give string or null, when a bool, a tag a string
// or list of strings, a custom field a string, int, double, bool or null),
// empty expressions and unknown routing fields. An expression whose type is
// only known at evaluation (dyn, such as ticket.custom_fields["x"]) is
// checked then.
func Compile(cfg *config.Config, opts CompileOptions) (*Mapper, error) {
	c, err := newCompiler(opts)
	if err != nil {
		return nil, err
	}
	if cfg == nil {
		cfg = &config.Config{}
	}
	m := &Mapper{}
	mc := cfg.Mapping
	opt := func(path, src string) *expr {
		if strings.TrimSpace(src) == "" {
			return nil
		}
		return c.compile(path, src, kindString)
	}

	m.contactName = opt("mapping.contact.name", mc.Contact.Name)
	m.externalID = opt("mapping.contact.external_id", mc.Contact.ExternalID)
	m.contactFields = compileMap(c, "mapping.contact.fields", mc.Contact.Fields)

	t := mc.Ticket
	m.subject = opt("mapping.ticket.subject", t.Subject)
	m.description = opt("mapping.ticket.description", t.Description)
	m.priority = opt("mapping.ticket.priority", t.Priority)
	m.typ = opt("mapping.ticket.type", t.Type)
	m.group = opt("mapping.ticket.group", t.Group)
	m.brand = opt("mapping.ticket.brand", t.Brand)
	m.form = opt("mapping.ticket.form", t.Form)
	m.tags = compileList(c, "mapping.ticket.tags", t.Tags, kindTags)
	m.custom = compileMap(c, "mapping.ticket.custom_fields", t.CustomFields)

	for i, r := range mc.Routing {
		path := indexPath("mapping.routing", i)
		cr := rule{name: r.Name, cont: r.Continue}
		if strings.TrimSpace(r.When) != "" {
			cr.when = c.compile(path+".when", r.When, kindBool)
		}
		for _, key := range slices.Sorted(maps.Keys(r.Set)) {
			kpath := joinKey(path+".set", key)
			k := kindString
			switch {
			case strings.HasPrefix(key, customFieldsPrefix) && len(key) > len(customFieldsPrefix):
				k = kindValue
			case !slices.Contains(routingFields, key):
				c.add(kpath, 0, 0, "unknown field %q; want %s or custom_fields.<id>", key, strings.Join(routingFields, ", "))
				continue
			}
			if e := c.compile(kpath, r.Set[key], k); e != nil {
				cr.set = append(cr.set, keyedExpr{key: key, e: e})
			}
		}
		cr.addTags = compileList(c, path+".add_tags", r.AddTags, kindTags)
		m.rules = append(m.rules, cr)
	}

	m.params = compileList(c, "outside_window.template.params", cfg.OutsideWindow.Template.Params, kindString)

	if len(c.problems) > 0 {
		return nil, &CompileError{Problems: c.problems}
	}
	m.defaultSubject = c.compile("mapping.ticket.subject (default)", defaultSubject, kindString)
	if len(c.problems) > 0 {
		return nil, &CompileError{Problems: c.problems} // a bug: the default must compile
	}
	return m, nil
}

// compileList compiles a list of expressions of kind k.
func compileList(c *compiler, path string, srcs []string, k kind) []*expr {
	var out []*expr
	for i, src := range srcs {
		if e := c.compile(indexPath(path, i), src, k); e != nil {
			out = append(out, e)
		}
	}
	return out
}

// compileMap compiles a map of custom field expressions, in key order.
func compileMap(c *compiler, path string, srcs map[string]string) []keyedExpr {
	var out []keyedExpr
	for _, key := range slices.Sorted(maps.Keys(srcs)) {
		if e := c.compile(joinKey(path, key), srcs[key], kindValue); e != nil {
			out = append(out, keyedExpr{key: key, e: e})
		}
	}
	return out
}

// evalInto sets *dst to the value of e unless e is nil or gives null or "".
func evalInto(e *expr, act *activation, dst *string, errs *[]error) {
	if e == nil {
		return
	}
	s, err := e.str(act)
	if err != nil {
		*errs = append(*errs, err)
		return
	}
	if s != "" {
		*dst = s
	}
}

// evalValue sets fields[key] to the value of e unless it is null or "".
func evalValue(e *expr, act *activation, key string, fields *map[string]any, errs *[]error) {
	v, set, err := e.value(act)
	if err != nil {
		*errs = append(*errs, err)
		return
	}
	if !set {
		return
	}
	if *fields == nil {
		*fields = map[string]any{}
	}
	(*fields)[key] = v
}

// Ticket evaluates the ticket fields and then the routing rules for a new
// ticket. Rules run in order on the fields computed so far, which they also
// see as the ticket variable (ticket.priority, ticket.tags…); a rule matches
// when its when is empty or true, then its set overrides fields and its
// add_tags appends tags; the first match stops unless it says continue. An
// expression that gives null or "" leaves its field as it was.
//
// Evaluation errors do not stop the others: Ticket returns the fields
// computed without the failing expressions (a failing when does not match)
// together with errors.Join of one *EvalError per failure, so the caller can
// still create the ticket and report the error.
func (m *Mapper) Ticket(v *Vars) (*TicketFields, error) {
	act := newActivation(v, nil)
	var errs []error
	f := &TicketFields{Tags: []string{DefaultTag}}
	evalInto(m.subject, act, &f.Subject, &errs)
	if f.Subject == "" {
		evalInto(m.defaultSubject, act, &f.Subject, &errs)
	}
	evalInto(m.description, act, &f.Description, &errs)
	evalInto(m.priority, act, &f.Priority, &errs)
	evalInto(m.typ, act, &f.Type, &errs)
	evalInto(m.group, act, &f.Group, &errs)
	evalInto(m.brand, act, &f.Brand, &errs)
	evalInto(m.form, act, &f.Form, &errs)
	f.Tags = m.evalTags(m.tags, act, f.Tags, &errs)
	for _, ke := range m.custom {
		evalValue(ke.e, act, ke.key, &f.CustomFields, &errs)
	}
	m.route(f, act, &errs)
	return f, errors.Join(errs...)
}

// evalTags appends the tags of exprs to tags.
func (m *Mapper) evalTags(exprs []*expr, act *activation, tags []string, errs *[]error) []string {
	for _, e := range exprs {
		var err error
		if tags, err = e.tags(act, tags); err != nil {
			*errs = append(*errs, err)
		}
	}
	return tags
}

// route applies the routing rules to f.
func (m *Mapper) route(f *TicketFields, act *activation, errs *[]error) {
	if len(m.rules) == 0 {
		return
	}
	base := act.ticket
	act.ticket = ticketView(f, base)
	for _, r := range m.rules {
		if r.when != nil {
			ok, err := r.when.boolean(act)
			if err != nil {
				*errs = append(*errs, err)
				continue
			}
			if !ok {
				continue
			}
		}
		f.Rules = append(f.Rules, r.name)
		for _, s := range r.set {
			if id, ok := strings.CutPrefix(s.key, customFieldsPrefix); ok {
				evalValue(s.e, act, id, &f.CustomFields, errs)
				continue
			}
			evalInto(s.e, act, f.field(s.key), errs)
		}
		f.Tags = m.evalTags(r.addTags, act, f.Tags, errs)
		if !r.cont {
			break
		}
		act.ticket = ticketView(f, base)
	}
}

// field returns the string field a routing rule sets by name; the names were
// checked by Compile.
func (f *TicketFields) field(name string) *string {
	switch name {
	case "subject":
		return &f.Subject
	case "description":
		return &f.Description
	case "priority":
		return &f.Priority
	case "type":
		return &f.Type
	case "group":
		return &f.Group
	case "brand":
		return &f.Brand
	case "form":
		return &f.Form
	}
	panic("mapping: unknown ticket field " + name)
}

// ticketView is the ticket variable of routing rules: the fields computed so
// far, with the id, status and requester of base.
func ticketView(f *TicketFields, base *Ticket) *Ticket {
	return &Ticket{
		ID: base.ID, Status: base.Status, RequesterName: base.RequesterName,
		Subject: f.Subject, Priority: f.Priority, Type: f.Type,
		Group: f.Group, Brand: f.Brand, Form: f.Form,
		Tags: slices.Clone(f.Tags), CustomFields: maps.Clone(f.CustomFields),
	}
}

// Contact evaluates the contact fields: the name (contact.name unless
// mapping.contact.name gives a non-empty string), the external id ("" unless
// configured: the engine then uses its deterministic scheme) and the extra
// fields. Errors are reported as by Ticket.
func (m *Mapper) Contact(v *Vars) (*ContactFields, error) {
	act := newActivation(v, nil)
	var errs []error
	f := &ContactFields{}
	evalInto(m.contactName, act, &f.Name, &errs)
	if f.Name == "" {
		f.Name = strings.TrimSpace(act.v.Contact.Name)
	}
	evalInto(m.externalID, act, &f.ExternalID, &errs)
	for _, ke := range m.contactFields {
		evalValue(ke.e, act, ke.key, &f.Fields, &errs)
	}
	return f, errors.Join(errs...)
}

// TemplateParams evaluates outside_window.template.params, in order, with
// v.Ticket and v.Comment set to the ticket and comment replied to. WhatsApp
// refuses empty body parameters, so a parameter that gives null or "" is an
// error. The result always has one string per parameter ("" for failures);
// errors are reported as by Ticket. No params configured gives nil.
func (m *Mapper) TemplateParams(v *Vars) ([]string, error) {
	if len(m.params) == 0 {
		return nil, nil
	}
	act := newActivation(v, nil)
	var errs []error
	out := make([]string, len(m.params))
	for i, e := range m.params {
		s, err := e.str(act)
		switch {
		case err != nil:
			errs = append(errs, err)
		case strings.TrimSpace(s) == "":
			errs = append(errs, &EvalError{Path: e.path, Err: errEmptyParam})
		default:
			out[i] = s
		}
	}
	return out, errors.Join(errs...)
}

var errEmptyParam = errors.New("evaluated to an empty string; WhatsApp refuses empty template parameters")

// OutputType returns the checked CEL type of the expression at a key path
// (as Problem.Path names it, e.g. mapping.ticket.custom_fields.360002):
// "string", "bool", "int", "double", "list(string)", "dyn"…; ok is false
// when no expression has that path.
func (m *Mapper) OutputType(path string) (typ string, ok bool) {
	for _, e := range m.all() {
		if e != nil && e.path == path {
			return e.out.String(), true
		}
	}
	return "", false
}

// all lists every compiled expression.
func (m *Mapper) all() []*expr {
	out := []*expr{m.subject, m.description, m.priority, m.typ, m.group, m.brand, m.form, m.contactName, m.externalID}
	out = append(out, m.tags...)
	out = append(out, m.params...)
	for _, k := range append(slices.Clone(m.custom), m.contactFields...) {
		out = append(out, k.e)
	}
	for _, r := range m.rules {
		out = append(out, r.when)
		out = append(out, r.addTags...)
		for _, k := range r.set {
			out = append(out, k.e)
		}
	}
	return out
}
