package zendesk

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
)

// scope holds the values a trigger body can use: scalar placeholders and
// lists for {% for %} loops.
type scope struct {
	vars    map[string]string
	lists   map[string][]map[string]string
	escape  func(string) string
	unknown map[string]bool
}

// lookup resolves a placeholder path (loop variables first).
func (sc *scope) lookup(path string, locals []map[string]string) (string, bool) {
	for i := len(locals) - 1; i >= 0; i-- {
		if v, ok := locals[i][path]; ok {
			return v, true
		}
	}
	v, ok := sc.vars[path]
	return v, ok
}

// node is a parsed template piece: text, an output {{ }}, or a block.
type node struct {
	kind     string // text, out, for, if, unless
	text     string // text, or the expression of out/if/unless
	loopVar  string
	listPath string
	body     []node
	elseBody []node
}

var tokenRE = regexp.MustCompile(`(?s)\{\{(.*?)\}\}|\{%-?(.*?)-?%\}`)

// parseTemplate parses the Liquid subset the fake renders: {{ path }},
// {% for x in list %}…{% endfor %}, {% if a [==|!= b] %}…[{% else %}…]{% endif %}
// and {% unless a %}…{% endunless %}. Unknown tags are dropped.
func parseTemplate(src string) []node {
	var root []node
	stack := []*[]node{&root}
	var blocks []*node
	appendNode := func(n node) *node {
		cur := stack[len(stack)-1]
		*cur = append(*cur, n)
		return &(*cur)[len(*cur)-1]
	}
	last := 0
	for _, m := range tokenRE.FindAllStringSubmatchIndex(src, -1) {
		if m[0] > last {
			appendNode(node{kind: "text", text: src[last:m[0]]})
		}
		last = m[1]
		if m[2] >= 0 {
			appendNode(node{kind: "out", text: strings.TrimSpace(src[m[2]:m[3]])})
			continue
		}
		fields := strings.Fields(src[m[4]:m[5]])
		if len(fields) == 0 {
			continue
		}
		switch fields[0] {
		case "for":
			if len(fields) >= 4 && fields[2] == "in" {
				n := appendNode(node{kind: "for", loopVar: fields[1], listPath: fields[3]})
				blocks = append(blocks, n)
				stack = append(stack, &n.body)
			}
		case "if", "unless":
			n := appendNode(node{kind: fields[0], text: strings.Join(fields[1:], " ")})
			blocks = append(blocks, n)
			stack = append(stack, &n.body)
		case "else":
			if len(blocks) > 0 && len(stack) > 1 {
				b := blocks[len(blocks)-1]
				stack[len(stack)-1] = &b.elseBody
			}
		case "endfor", "endif", "endunless":
			if len(blocks) > 0 && len(stack) > 1 {
				blocks, stack = blocks[:len(blocks)-1], stack[:len(stack)-1]
			}
		}
	}
	if last < len(src) {
		appendNode(node{kind: "text", text: src[last:]})
	}
	return root
}

// render evaluates nodes into b.
func (sc *scope) render(b *strings.Builder, nodes []node, locals []map[string]string) {
	for _, n := range nodes {
		switch n.kind {
		case "text":
			b.WriteString(n.text)
		case "out":
			path := strings.TrimSpace(strings.Split(n.text, "|")[0])
			v, ok := sc.lookup(path, locals)
			if !ok {
				sc.unknown[path] = true
			}
			b.WriteString(sc.escape(v))
		case "for":
			items := sc.lists[n.listPath]
			for i, it := range items {
				loc := map[string]string{"forloop.index": strconv.Itoa(i + 1), "forloop.first": strconv.FormatBool(i == 0),
					"forloop.last": strconv.FormatBool(i == len(items)-1)}
				for k, v := range it {
					loc[n.loopVar+"."+k] = v
				}
				sc.render(b, n.body, append(locals, loc))
			}
		case "if", "unless":
			ok := sc.cond(n.text, locals)
			if n.kind == "unless" {
				ok = !ok
			}
			if ok {
				sc.render(b, n.body, locals)
			} else {
				sc.render(b, n.elseBody, locals)
			}
		}
	}
}

// cond evaluates "a", "a == b" or "a != b".
func (sc *scope) cond(expr string, locals []map[string]string) bool {
	operand := func(s string) string {
		s = strings.TrimSpace(s)
		if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
			return s[1 : len(s)-1]
		}
		if s == "true" || s == "false" || s == "nil" || s == "blank" || s == "empty" {
			return map[string]string{"true": "true"}[s]
		}
		if _, err := strconv.ParseFloat(s, 64); err == nil {
			return s
		}
		v, _ := sc.lookup(s, locals)
		return v
	}
	truthy := func(v string) bool { return v != "" && v != "false" }
	for _, op := range []string{"==", "!="} {
		if l, r, ok := strings.Cut(expr, op); ok {
			a, b := operand(l), operand(r)
			if a == "false" {
				a = ""
			}
			if b == "false" {
				b = ""
			}
			return (a == b) == (op == "==")
		}
	}
	return truthy(operand(expr))
}

// renderTemplate renders src with sc; in JSON bodies every value is
// escaped as the inside of a JSON string.
func renderTemplate(src string, sc *scope) string {
	var b strings.Builder
	sc.render(&b, parseTemplate(src), nil)
	return b.String()
}

// jsonEscape escapes s as the inside of a JSON string.
func jsonEscape(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}
