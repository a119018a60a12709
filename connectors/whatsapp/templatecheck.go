package whatsapp

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/deskbridge/deskbridge/connectors"
)

// placeholderRE finds template variables: {{1}} (POSITIONAL) or
// {{first_name}} (NAMED).
var placeholderRE = regexp.MustCompile(`\{\{\s*([A-Za-z0-9_]+)\s*\}\}`)

// placeholders returns the distinct variables of text in order of first
// appearance.
func placeholders(text string) []string {
	var vars []string
	for _, m := range placeholderRE.FindAllStringSubmatch(text, -1) {
		if !slices.Contains(vars, m[1]) {
			vars = append(vars, m[1])
		}
	}
	return vars
}

// positional reports whether every variable is a number.
func positional(vars []string) bool {
	for _, v := range vars {
		if !digitsRE.MatchString(v) {
			return false
		}
	}
	return true
}

// CheckTemplate checks, before sending, that the parameters p fit the
// template t (as fetched from the TemplateCache for p.Name and
// p.Language): the template is APPROVED in that language; the body gets
// as many parameters as it has variables, positional or named as the
// template's parameter_format says (named ones with exactly its names);
// the header gets a text parameter iff its text has a variable, or a media
// parameter of its format; a URL button with a variable gets its text at
// its index, and quick-reply payloads go to quick-reply buttons. A
// mismatch is a Permanent *connectors.Error with no Code whose Message says
// exactly what is wrong, e.g.
//
//	template "order_update" (en_US): body expects 3 parameters, got 2
func CheckTemplate(t Template, p *TemplateParams) error {
	lang := NormalizeLanguage(t.Language)
	fail := func(format string, args ...any) error {
		return &connectors.Error{Kind: connectors.Permanent, Vendor: vendor, Op: "check_template",
			Message: fmt.Sprintf("template %q (%s): ", t.Name, lang) + fmt.Sprintf(format, args...)}
	}
	if p == nil {
		return fail("no parameters given")
	}
	if p.Name != t.Name {
		return fail("the parameters are for template %q", p.Name)
	}
	if want := NormalizeLanguage(p.Language); want != lang {
		return fail("not available in %s", want)
	}
	if !strings.EqualFold(t.Status, "APPROVED") {
		return fail("status is %s; only APPROVED templates can be sent", orNone(t.Status))
	}
	named := strings.EqualFold(t.ParameterFormat, "NAMED")
	if t.ParameterFormat == "" { // older answers omit it: infer from the variables
		var all []string
		for _, c := range t.Components {
			all = append(all, placeholders(c.Text)...)
		}
		named = !positional(all)
	}
	if msg := checkHeader(t, p.Header, named); msg != "" {
		return fail("%s", msg)
	}
	body, _ := t.Component("BODY")
	if msg := checkVars("body", placeholders(body.Text), p.Body, named); msg != "" {
		return fail("%s", msg)
	}
	if msg := checkButtons(t, p.Buttons); msg != "" {
		return fail("%s", msg)
	}
	return nil
}

// checkHeader checks the header parameter; "" when it fits.
func checkHeader(t Template, param *TemplateParam, named bool) string {
	h, ok := t.Component("HEADER")
	if !ok {
		if param != nil {
			return "the template has no header, but a header parameter was given"
		}
		return ""
	}
	switch format := strings.ToUpper(h.Format); format {
	case "", "TEXT":
		vars := placeholders(h.Text)
		if len(vars) == 0 {
			if param != nil {
				return "the header has no variable, but a header parameter was given"
			}
			return ""
		}
		if param == nil {
			return fmt.Sprintf("header expects a text parameter for {{%s}}, got none", vars[0])
		}
		if param.Type != ParamText {
			return fmt.Sprintf("header expects a text parameter, got %s", param.Type)
		}
		return checkVars("header", vars, []TemplateParam{*param}, named)
	case "IMAGE", "VIDEO", "DOCUMENT":
		want := strings.ToLower(format)
		article := "a"
		if want == ParamImage {
			article = "an"
		}
		if param == nil {
			return fmt.Sprintf("header expects %s %s parameter, got none", article, want)
		}
		if param.Type != want {
			return fmt.Sprintf("header expects %s %s parameter, got %s", article, want, param.Type)
		}
		return ""
	default:
		return fmt.Sprintf("header format %s is not supported by deskbridge", format)
	}
}

// checkVars checks the parameters of a component with the given distinct
// variables; "" when they fit.
func checkVars(part string, vars []string, params []TemplateParam, named bool) string {
	if !named {
		if len(params) != len(vars) {
			return fmt.Sprintf("%s expects %s, got %d", part, plural(len(vars)), len(params))
		}
		for i, p := range params {
			if p.Name != "" {
				return fmt.Sprintf("the template's parameters are positional, but %s parameter %d has parameter_name %q",
					part, i+1, p.Name)
			}
		}
		return ""
	}
	given := map[string]bool{}
	for i, p := range params {
		if p.Name == "" {
			return fmt.Sprintf("the template's parameters are named, but %s parameter %d has no parameter_name", part, i+1)
		}
		if given[p.Name] {
			return fmt.Sprintf("%s parameter %q is given twice", part, p.Name)
		}
		given[p.Name] = true
	}
	var missing, unknown []string
	for _, v := range vars {
		if !given[v] {
			missing = append(missing, "{{"+v+"}}")
		}
	}
	for _, p := range params {
		if !slices.Contains(vars, p.Name) {
			unknown = append(unknown, p.Name)
		}
	}
	switch {
	case len(missing) > 0 && len(unknown) > 0:
		return fmt.Sprintf("%s expects %s, got %d: missing %s; unknown %s", part, plural(len(vars)), len(params),
			strings.Join(missing, ", "), strings.Join(unknown, ", "))
	case len(missing) > 0:
		return fmt.Sprintf("%s expects %s, got %d: missing %s", part, plural(len(vars)), len(params),
			strings.Join(missing, ", "))
	case len(unknown) > 0:
		return fmt.Sprintf("%s has no variable named %s", part, strings.Join(unknown, ", "))
	}
	return ""
}

// checkButtons checks the button parameters; "" when they fit.
func checkButtons(t Template, params []ButtonParam) string {
	comp, _ := t.Component("BUTTONS")
	buttons := comp.Buttons
	given := map[int]ButtonParam{}
	for _, b := range params {
		if b.Index < 0 || b.Index >= len(buttons) {
			return fmt.Sprintf("has no button at index %d (it has %d buttons)", b.Index, len(buttons))
		}
		given[b.Index] = b
		tb := buttons[b.Index]
		switch b.SubType {
		case "url":
			if !strings.EqualFold(tb.Type, "URL") {
				return fmt.Sprintf("button %d is a %s button, not a URL button", b.Index, tb.Type)
			}
			if len(placeholders(tb.URL)) == 0 {
				return fmt.Sprintf("URL button %d has a fixed URL and takes no parameter", b.Index)
			}
		case "quick_reply":
			if !strings.EqualFold(tb.Type, "QUICK_REPLY") {
				return fmt.Sprintf("button %d is a %s button, not a quick reply", b.Index, tb.Type)
			}
		}
	}
	for i, tb := range buttons {
		if strings.EqualFold(tb.Type, "URL") && len(placeholders(tb.URL)) > 0 {
			if _, ok := given[i]; !ok {
				return fmt.Sprintf("URL button %d (%s) expects a text parameter for its URL, got none", i, tb.URL)
			}
		}
	}
	return ""
}

func orNone(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// plural is "1 parameter" or "n parameters".
func plural(n int) string {
	if n == 1 {
		return "1 parameter"
	}
	return fmt.Sprintf("%d parameters", n)
}
