package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"cel.dev/cel-go/cel"
	celast "cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"

	"github.com/deskbridge/deskbridge/config"
	"github.com/deskbridge/deskbridge/connectors"
	"github.com/deskbridge/deskbridge/mapping"
	"github.com/deskbridge/deskbridge/secrets"
	"github.com/deskbridge/deskbridge/telemetry"
)

// onlineTimeout bounds the reading of one helpdesk's schema.
const onlineTimeout = 2 * time.Minute

// onlineReport is what `config validate --online` found.
type onlineReport struct {
	// Checked has one line per helpdesk checked without problems.
	Checked []string
	// Problems are "key.path: reason" lines, helpdesk by helpdesk (in name
	// order), the helpdesk's own keys first, then the mapping in
	// configuration order.
	Problems []string
}

// validateOnline checks cfg against every helpdesk that whatsapp.numbers
// use: it reads each one's fields, groups, brands and ticket forms with the
// configured credentials (secrets resolved as serve does) and checks that
// the ids the configuration names exist and that values written as
// literals fit their field (see schemaCheck). A helpdesk that cannot be
// read (unreachable, credentials rejected, a vault:// secret, a kind this
// version cannot read) is one problem naming it.
func validateOnline(ctx context.Context, cfg *config.Config) onlineReport {
	var names []string
	for _, n := range cfg.WhatsApp.Numbers {
		if n.Helpdesk != "" && !slices.Contains(names, n.Helpdesk) {
			names = append(names, n.Helpdesk)
		}
	}
	slices.Sort(names)
	res := secrets.New(nil, nil)
	var rep onlineReport
	for _, name := range names {
		s, problems := readSchema(ctx, cfg, name, res)
		rep.Problems = append(rep.Problems, problems...)
		if s == nil {
			continue
		}
		c := &schemaCheck{helpdesk: name, s: s}
		c.mapper, _ = compileMapping(cfg) // it compiled when the configuration loaded
		c.run(cfg)
		rep.Problems = append(rep.Problems, c.problems...)
		if len(c.problems) > 0 {
			continue
		}
		line := fmt.Sprintf("helpdesk %s (%s) matches the configuration (%s, %s, %s, %s, %s", name, cfg.Helpdesks[name].Kind,
			count(len(s.TicketFields), "ticket field"), count(len(s.UserFields), "user field"),
			count(len(s.Groups), "group"), count(len(s.Brands), "brand"), count(len(s.Forms), "ticket form"))
		if c.computed > 0 {
			line += fmt.Sprintf("; %s computed at run time not checked", count(c.computed, "value"))
		}
		rep.Checked = append(rep.Checked, line+")")
	}
	return rep
}

// count formats n things, adding "s" when n is not 1.
func count(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return strconv.Itoa(n) + " " + thing + "s"
}

// readSchema reads the schema of helpdesk name; on failure it returns nil
// and one problem saying why.
func readSchema(ctx context.Context, cfg *config.Config, name string, res *secrets.Resolver) (*connectors.Schema, []string) {
	h := cfg.Helpdesks[name]
	prefix := "helpdesks." + name
	one := func(format string, args ...any) []string { return []string{fmt.Sprintf(format, args...)} }
	for _, s := range []struct {
		key string
		ref config.Secret
	}{{"api_token", h.APIToken}, {"oauth_token", h.OAuthToken}} {
		if s.ref == "" {
			continue
		}
		if ref, err := s.ref.Ref(); err == nil && ref.Scheme == config.SchemeVault {
			return nil, one("%s.%s: vault:// secrets are read by serve only, so helpdesk %s cannot be checked online; use env:// or file:// for this check",
				prefix, s.key, name)
		}
		if _, err := res.Resolve(ctx, s.ref); err != nil {
			return nil, one("%s.%s: cannot read the secret: %s", prefix, s.key, strings.TrimPrefix(oneLine(err.Error()), "secrets: "))
		}
	}
	hd, err := newHelpdesk(cfg, name, res, telemetry.DiscardLogger(), nil)
	if err != nil {
		msg := oneLine(err.Error())
		if !strings.HasPrefix(msg, prefix) {
			msg = prefix + ": " + msg
		}
		return nil, []string{msg}
	}
	sr, ok := hd.(connectors.SchemaReader)
	if !ok {
		return nil, one("%s: kind %s cannot be checked online by this version", prefix, h.Kind)
	}
	ctx, cancel := context.WithTimeout(ctx, onlineTimeout)
	defer cancel()
	s, err := sr.Schema(ctx)
	if err != nil {
		return nil, []string{schemaError(prefix, h, err)}
	}
	return s, nil
}

// schemaError describes, on one line, why a helpdesk's schema could not be
// read.
func schemaError(prefix string, h config.Helpdesk, err error) string {
	var ce *connectors.Error
	if !errors.As(err, &ce) {
		return prefix + ": cannot read the account: " + oneLine(err.Error())
	}
	creds := "email and api_token"
	if h.OAuthToken != "" {
		creds = "oauth_token"
	}
	what := strings.ReplaceAll(strings.TrimPrefix(ce.Op, "list_"), "_", " ")
	vendorSays := strings.Join(nonEmpty(ce.Message, ce.Details), ": ")
	switch {
	case ce.Kind == connectors.Auth && ce.Status == 401:
		return fmt.Sprintf("%s: %s rejected the credentials (HTTP 401: %s); check %s", prefix, h.BaseURL, vendorSays, creds)
	case ce.Kind == connectors.Auth:
		return fmt.Sprintf("%s: the API user may not list %s (HTTP %d: %s); it needs an agent or admin role that can read ticket fields, user fields, groups, brands and ticket forms",
			prefix, what, ce.Status, vendorSays)
	case ce.Kind == connectors.RateLimited:
		return fmt.Sprintf("%s: %s is rate-limiting the API user; try again in %s", prefix, h.BaseURL, ce.Wait.Round(time.Second))
	case ce.Status == 0 && ce.Kind == connectors.Retryable:
		cause := ce.Message
		var ue *url.Error
		switch {
		case errors.As(ce.Err, &ue):
			cause = ue.Err.Error()
		case ce.Err != nil:
			cause = ce.Err.Error()
		}
		return fmt.Sprintf("%s: cannot reach %s: %s", prefix, h.BaseURL, oneLine(cause))
	}
	return fmt.Sprintf("%s: cannot list %s: %s", prefix, what, oneLine(ce.Error()))
}

// schemaCheck checks a configuration against one helpdesk's schema.
//
// Expressions are checked where their result is written in them: a
// literal ('42', true, 3) or the branches of a conditional that are
// literals (cond ? 'a' : 'b'). The mapping package exposes neither the
// compiled expressions nor their output types, so the result of a
// computed expression is only known when a ticket is created; computed
// counts them.
type schemaCheck struct {
	helpdesk string
	s        *connectors.Schema
	mapper   *mapping.Mapper // the compiled mapping: types of computed values
	problems []string
	computed int
}

// add records a problem at path.
func (c *schemaCheck) add(path, format string, args ...any) {
	c.problems = append(c.problems, path+": "+fmt.Sprintf(format, args...))
}

// run checks the helpdesk's own ids, then the mapping.
func (c *schemaCheck) run(cfg *config.Config) {
	h := cfg.Helpdesks[c.helpdesk]
	prefix := "helpdesks." + c.helpdesk
	c.checkRef(prefix+".brand_id", "brand", c.s.Brands, h.BrandID)
	c.checkRef(prefix+".group_id", "group", c.s.Groups, h.GroupID)
	c.checkRef(prefix+".ticket_form_id", "ticket form", c.s.Forms, h.TicketFormID)

	m := cfg.Mapping
	for _, key := range slices.Sorted(maps.Keys(m.Contact.Fields)) {
		c.checkField(joinKey("mapping.contact.fields", key), "user field", c.s.UserFields, key, m.Contact.Fields[key])
	}
	t := m.Ticket
	c.checkSetting("mapping.ticket.priority", "priority", t.Priority)
	c.checkSetting("mapping.ticket.type", "type", t.Type)
	c.checkSetting("mapping.ticket.group", "group", t.Group)
	c.checkSetting("mapping.ticket.brand", "brand", t.Brand)
	c.checkSetting("mapping.ticket.form", "form", t.Form)
	for _, key := range slices.Sorted(maps.Keys(t.CustomFields)) {
		c.checkField(joinKey("mapping.ticket.custom_fields", key), "ticket field", c.s.TicketFields, key, t.CustomFields[key])
	}
	for i, r := range m.Routing {
		path := "mapping.routing[" + strconv.Itoa(i) + "].set"
		for _, key := range slices.Sorted(maps.Keys(r.Set)) {
			if id, ok := strings.CutPrefix(key, "custom_fields."); ok {
				c.checkField(joinKey(path, key), "ticket field", c.s.TicketFields, id, r.Set[key])
				continue
			}
			c.checkSetting(joinKey(path, key), key, r.Set[key])
		}
	}
}

// checkSetting checks the expression of a ticket setting (priority, type,
// group, brand or form); other settings are not checked.
func (c *schemaCheck) checkSetting(path, setting, src string) {
	var check func(v string)
	switch setting {
	case "group":
		check = func(v string) { c.checkRef(path, "group", c.s.Groups, v) }
	case "brand":
		check = func(v string) { c.checkRef(path, "brand", c.s.Brands, v) }
	case "form":
		check = func(v string) { c.checkRef(path, "ticket form", c.s.Forms, v) }
	case "priority", "type":
		sys := map[string]string{"priority": "priority", "type": "tickettype"}[setting]
		i := slices.IndexFunc(c.s.TicketFields, func(f connectors.Field) bool { return f.System && f.Type == sys })
		if i < 0 || len(c.s.TicketFields[i].Options) == 0 {
			return // the helpdesk does not say which values it takes
		}
		opts := c.s.TicketFields[i].Options
		check = func(v string) {
			if !slices.Contains(opts, v) {
				c.add(path, "%q is not a ticket %s of helpdesk %s (%s)", v, setting, c.helpdesk, listOf(opts))
			}
		}
	default:
		return
	}
	if strings.TrimSpace(src) == "" {
		return
	}
	vals, complete := literals(src)
	if !complete {
		c.computed++
	}
	for _, v := range vals {
		if s, ok := v.(types.String); ok && s != "" {
			check(string(s))
		}
	}
}

// checkRef checks that id (when set) names an active record of list.
func (c *schemaCheck) checkRef(path, what string, list []connectors.NamedID, id string) {
	if id == "" {
		return
	}
	i := slices.IndexFunc(list, func(n connectors.NamedID) bool { return n.ID == id })
	switch {
	case i < 0:
		msg := fmt.Sprintf("no such %s %s in helpdesk %s", what, quoteID(id), c.helpdesk)
		if j := slices.IndexFunc(list, func(n connectors.NamedID) bool { return strings.EqualFold(n.Name, id) }); j >= 0 {
			msg += fmt.Sprintf(" (%s %q has id %s; the value must be the id)", what, list[j].Name, list[j].ID)
		}
		c.add(path, "%s", msg)
	case !list[i].Active:
		c.add(path, "%s %s (%q) is inactive in helpdesk %s", what, id, list[i].Name, c.helpdesk)
	}
}

// quoteID writes a numeric id as is and anything else quoted.
func quoteID(id string) string {
	if digitsRE.MatchString(id) {
		return id
	}
	return strconv.Quote(id)
}

var digitsRE = regexp.MustCompile(`^[0-9]+$`)

// checkField checks a custom field value: the field named key exists
// (ticket fields by id, user fields by key), can be set and is active,
// and the literal results of src fit its type and options.
func (c *schemaCheck) checkField(path, what string, fields []connectors.Field, key, src string) {
	byKey := what == "user field"
	i := slices.IndexFunc(fields, func(f connectors.Field) bool {
		if byKey {
			return f.Key == key
		}
		return f.ID == key
	})
	if i < 0 {
		msg := fmt.Sprintf("no such %s in helpdesk %s", what, c.helpdesk)
		if j := slices.IndexFunc(fields, func(f connectors.Field) bool {
			return strings.EqualFold(f.Title, key) || strings.EqualFold(f.Key, key) || f.ID == key
		}); j >= 0 {
			name := fields[j].ID
			if byKey {
				name = fields[j].Key
			}
			msg += fmt.Sprintf(" (did you mean %s, %q?)", name, fields[j].Title)
		}
		c.add(path, "%s", msg)
		return
	}
	f := fields[i]
	if f.System {
		c.add(path, "%s %q is a system field (%s); custom fields cannot set it", what, f.Title, f.Type)
		return
	}
	if !f.Active {
		c.add(path, "%s %q is inactive in helpdesk %s", what, f.Title, c.helpdesk)
	}
	vals, complete := literals(src)
	for _, v := range vals {
		if msg := fieldAccepts(f, v); msg != "" {
			c.add(path, "%s", msg)
		}
	}
	if complete {
		return
	}
	// A computed value: its checked type must suit the field.
	typ := "dyn"
	if c.mapper != nil {
		if t, ok := c.mapper.OutputType(path); ok {
			typ = t
		}
	}
	if msg, checked := typeAccepts(f, typ); !checked {
		c.computed++
	} else if msg != "" {
		c.add(path, "%s", msg)
	}
}

// typeAccepts checks the CEL type of a computed value against field f:
// checked is false when the type says nothing (dyn, null) or the field's
// type is unknown.
func typeAccepts(f connectors.Field, typ string) (msg string, checked bool) {
	desc, known := fieldTypes[f.Type]
	if !known || typ == "dyn" || typ == "null_type" || strings.HasPrefix(typ, "optional") {
		return "", false
	}
	ok := true
	switch f.Type {
	case "checkbox":
		ok = typ == "bool"
	case "integer", "lookup":
		ok = typ == "int" || typ == "uint" || typ == "string"
	case "decimal":
		ok = typ == "int" || typ == "uint" || typ == "double" || typ == "string"
	case "date", "tagger", "dropdown":
		ok = typ == "string"
	case "multiselect":
		ok = typ == "string" || typ == "list(string)"
	default:
		ok = typ == "string" || typ == "int" || typ == "uint" || typ == "double"
	}
	if ok {
		return "", true
	}
	return fmt.Sprintf("field %q is %s %s; the expression gives %s", f.Title, article(desc), desc, typ), true
}

// fieldTypes describes the vendors' field types, for messages.
var fieldTypes = map[string]string{
	"text": "text field", "textarea": "multi-line text field", "regexp": "regular-expression field",
	"partialcreditcard": "credit card field", "checkbox": "checkbox", "date": "date field",
	"integer": "integer field", "decimal": "decimal field", "tagger": "drop-down", "dropdown": "drop-down",
	"multiselect": "multi-select", "lookup": "lookup field",
}

// fieldAccepts checks a literal value against field f; it returns "" when
// the value fits (or the type is one this version does not know) and the
// problem otherwise.
func fieldAccepts(f connectors.Field, v ref.Val) string {
	desc, known := fieldTypes[f.Type]
	if !known {
		return ""
	}
	s, isString := v.(types.String)
	gives := fmt.Sprintf("field %q is %s %s; the expression gives %s", f.Title, article(desc), desc, typeOf(v))
	switch v.(type) {
	case types.Null:
		return "" // null leaves the field unset
	}
	switch f.Type {
	case "checkbox":
		if _, ok := v.(types.Bool); !ok {
			return gives
		}
	case "integer", "lookup":
		switch v.(type) {
		case types.Int, types.Uint:
			return ""
		}
		if !isString {
			return gives
		}
		if _, err := strconv.ParseInt(string(s), 10, 64); err != nil {
			return fmt.Sprintf("field %q is %s %s; %q is not a whole number", f.Title, article(desc), desc, string(s))
		}
	case "decimal":
		switch v.(type) {
		case types.Int, types.Uint, types.Double:
			return ""
		}
		if !isString {
			return gives
		}
		if _, err := strconv.ParseFloat(string(s), 64); err != nil {
			return fmt.Sprintf("field %q is %s %s; %q is not a number", f.Title, article(desc), desc, string(s))
		}
	case "date":
		if !isString {
			return gives
		}
		if _, err := time.Parse(time.DateOnly, string(s)); err != nil {
			return fmt.Sprintf("field %q is a date field; %q is not a date (YYYY-MM-DD)", f.Title, string(s))
		}
	case "tagger", "dropdown", "multiselect":
		if !isString {
			return gives
		}
		if s != "" && !slices.Contains(f.Options, string(s)) {
			msg := fmt.Sprintf("%q is not an option of field %q (%s)", string(s), f.Title, listOf(f.Options))
			if j := slices.IndexFunc(f.Options, func(o string) bool { return strings.EqualFold(o, string(s)) }); j >= 0 {
				msg += fmt.Sprintf("; did you mean %q?", f.Options[j])
			}
			return msg
		}
	default: // text fields take text and numbers
		switch v.(type) {
		case types.String, types.Int, types.Uint, types.Double:
		default:
			return gives
		}
	}
	return ""
}

// typeOf names a literal's CEL type.
func typeOf(v ref.Val) string {
	switch v.(type) {
	case types.String:
		return "string"
	case types.Int:
		return "int"
	case types.Uint:
		return "uint"
	case types.Double:
		return "double"
	case types.Bool:
		return "bool"
	}
	return v.Type().TypeName()
}

// article is "a" or "an" for the noun phrase s.
func article(s string) string {
	if s != "" && strings.ContainsRune("aeiou", rune(s[0])) {
		return "an"
	}
	return "a"
}

// listOf lists values for a message, at most 10.
func listOf(values []string) string {
	if len(values) > 10 {
		return strings.Join(values[:10], ", ") + ", …"
	}
	return strings.Join(values, ", ")
}

// parser parses expressions (syntax only: the mapping package has
// type-checked them already).
var parser = func() *cel.Env {
	env, err := cel.NewEnv(cel.OptionalTypes())
	if err != nil {
		panic("deskbridge: CEL parser: " + err.Error())
	}
	return env
}()

// literals returns the results of the expression src that are written as
// literals in it: src itself when it is a literal, and the literal
// branches of conditionals (c ? 'a' : (d ? 'b' : x) gives a and b).
// complete is false when some result is computed (a variable, a call), or
// src does not parse.
func literals(src string) (vals []ref.Val, complete bool) {
	a, iss := parser.Parse(src)
	if iss.Err() != nil {
		return nil, false
	}
	return literalsOf(a.NativeRep().Expr())
}

func literalsOf(e celast.Expr) ([]ref.Val, bool) {
	switch e.Kind() {
	case celast.LiteralKind:
		return []ref.Val{e.AsLiteral()}, true
	case celast.CallKind:
		call := e.AsCall()
		if call.FunctionName() == operators.Conditional && len(call.Args()) == 3 {
			a, ca := literalsOf(call.Args()[1])
			b, cb := literalsOf(call.Args()[2])
			return append(a, b...), ca && cb
		}
	}
	return nil, false
}

// plainKeyRE matches a map key written plainly in a key path.
var plainKeyRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// joinKey appends a map key to a key path as the config and mapping
// packages do: mapping.ticket.custom_fields.360001,
// mapping.routing[0].set["custom_fields.360001"].
func joinKey(path, key string) string {
	if plainKeyRE.MatchString(key) {
		return path + "." + key
	}
	return path + "[" + strconv.Quote(key) + "]"
}
