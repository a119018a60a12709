package config

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func loadSchema(t *testing.T) map[string]any {
	t.Helper()
	b, err := Schema()
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("Schema is not valid JSON: %v", err)
	}
	return s
}

func TestSchemaIsJSONSchema(t *testing.T) {
	t.Parallel()
	s := loadSchema(t)
	if s["$schema"] != SchemaURI || s["type"] != "object" || s["additionalProperties"] != false {
		t.Errorf("root: $schema=%v type=%v additionalProperties=%v", s["$schema"], s["type"], s["additionalProperties"])
	}
	// Every keyword is one the checker below understands (and so one the
	// schema was meant to use).
	known := []string{"$schema", "$defs", "$ref", "title", "description", "type", "properties", "additionalProperties",
		"required", "enum", "const", "pattern", "minLength", "minimum", "items", "minItems", "propertyNames", "default", "if", "then"}
	var check func(path string, node map[string]any)
	check = func(path string, node map[string]any) {
		for k, v := range node {
			if !slices.Contains(known, k) {
				t.Errorf("%s: unexpected keyword %q", path, k)
			}
			switch k {
			case "properties", "$defs":
				for name, sub := range v.(map[string]any) {
					check(path+"/"+k+"/"+name, sub.(map[string]any))
				}
			case "items", "additionalProperties", "propertyNames", "if", "then":
				if sub, ok := v.(map[string]any); ok {
					check(path+"/"+k, sub)
				}
			case "pattern":
				if _, err := regexp.Compile(v.(string)); err != nil {
					t.Errorf("%s: pattern does not compile: %v", path, err)
				}
			}
		}
	}
	check("#", s)
}

// Every yaml key of the Config structs is in the schema, with a description.
func TestSchemaHasEveryKey(t *testing.T) {
	t.Parallel()
	s := loadSchema(t)
	var walkType func(path string, typ reflect.Type, node map[string]any)
	walkType = func(path string, typ reflect.Type, node map[string]any) {
		switch typ.Kind() {
		case reflect.Struct:
			if typ == durationType {
				return
			}
			props, _ := node["properties"].(map[string]any)
			for _, f := range fieldsOf(typ) {
				sub, ok := props[f.name].(map[string]any)
				if !ok {
					t.Errorf("%s: missing from the schema", joinPath(path, f.name))
					continue
				}
				if sub["description"] == nil || f.sf.Tag.Get("desc") == "" {
					t.Errorf("%s: no description", joinPath(path, f.name))
				}
				walkType(joinPath(path, f.name), f.sf.Type, sub)
			}
		case reflect.Slice:
			walkType(path+"[]", typ.Elem(), node["items"].(map[string]any))
		case reflect.Map:
			walkType(path+".*", typ.Elem(), node["additionalProperties"].(map[string]any))
		}
	}
	walkType("", reflect.TypeFor[Config](), s)
}

func TestSchemaValidatesExamples(t *testing.T) {
	t.Parallel()
	s := loadSchema(t)
	for _, path := range []string{"../examples/minimal.yaml", "testdata/design.yaml", "testdata/full.yaml"} {
		doc := yamlDoc(t, mustRead(t, path))
		if errs := checkSchema(s, s, doc, ""); len(errs) > 0 {
			t.Errorf("%s does not validate against the schema:\n%s", path, strings.Join(errs, "\n"))
		}
	}
	// The printed configuration (all keys, defaults filled) validates too.
	var b strings.Builder
	c, err := LoadEnviron("testdata/full.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WriteYAML(&b); err != nil {
		t.Fatal(err)
	}
	if errs := checkSchema(s, s, yamlDoc(t, b.String()), ""); len(errs) > 0 {
		t.Errorf("WriteYAML output does not validate:\n%s", strings.Join(errs, "\n"))
	}
}

func TestSchemaRejects(t *testing.T) {
	t.Parallel()
	s := loadSchema(t)
	minimal := mustRead(t, "../examples/minimal.yaml")
	cases := []struct {
		name, yaml, want string
	}{
		{"unknown key", minimal + "stroe: {}\n", "/stroe: unknown key"},
		{"missing required", "whatsapp: {verify_token: env://V, numbers: [{phone_number_id: '1'}]}\n", "/whatsapp: app_secret is required"},
		{"missing section", "store: {url: 'sqlite://x'}\n", "whatsapp is required"},
		{"bad enum", minimal + "helpdesks: {hd: {kind: jira, base_url: 'https://x'}}\n", "/helpdesks/hd/kind: jira is not one of"},
		{"bad map key", minimal + "helpdesks: {HD: {kind: zendesk, base_url: 'https://x'}}\n", "/helpdesks: key HD does not match"},
		{"bad duration", minimal + "threading: {window: soon}\n", "/threading/window: soon does not match"},
		{"bad secret", strings.Replace(minimal, "env://WA_APP_SECRET?default=sandbox-app-secret", "vault://secret/x", 1),
			"/whatsapp/app_secret: vault://secret/x does not match"},
		{"digits", strings.Replace(minimal, `"106540352242922"`, `"+1065"`, 1), "/whatsapp/numbers/0/phone_number_id: +1065 does not match"},
		{"minimum", minimal + "queue: {workers: 0}\n", "/queue/workers: 0 is below 1"},
		{"empty list", strings.Replace(minimal, "numbers:", "numbers: []\n  x_numbers:", 1), "/whatsapp/numbers: needs at least 1 item"},
		{"template policy", minimal + "outside_window: {policy: template}\n", "/outside_window: template is required"},
		{"template fields", minimal + "outside_window: {policy: template, template: {name: x}}\n", "/outside_window/template: language is required"},
		{"wrong type", minimal + "queue: {workers: many}\n", "/queue/workers: want integer"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			errs := checkSchema(s, s, yamlDoc(t, tc.yaml), "")
			if !slices.ContainsFunc(errs, func(e string) bool { return strings.Contains(e, tc.want) }) {
				t.Errorf("errors %q do not include %q", errs, tc.want)
			}
		})
	}
}

// The schema's secret pattern agrees with ParseSecretRef.
func TestSchemaSecretPattern(t *testing.T) {
	t.Parallel()
	re := regexp.MustCompile(SecretPattern)
	for _, ok := range []string{"env://WA", "env://WA?default=x", "file:///run/x", "vault://secret/a/b#k",
		"vault://secret/a?version=2#k", "vault://s/a#k?kv=1", "hunter2", "pa:ss/w:/rd", ""} {
		if _, err := ParseSecretRef(ok); err != nil && ok != "" {
			t.Fatalf("test data: %q: %v", ok, err)
		}
		if !re.MatchString(ok) {
			t.Errorf("pattern rejects valid %q", ok)
		}
	}
	for _, bad := range []string{"env://", "env://1A", "env://A?x=1", "file://", "file://rel", "vault://secret/x",
		"vault://secret#k", "vault:///x#k", "https://x"} {
		if re.MatchString(bad) {
			t.Errorf("pattern accepts malformed %q", bad)
		}
	}
	dre := regexp.MustCompile(DurationPattern)
	for _, d := range []string{"24h", "1m30s", "250ms", "1.5h", "15s"} {
		if !dre.MatchString(d) {
			t.Errorf("duration pattern rejects %q", d)
		}
	}
	for _, d := range []string{"soon", "10", "-1s", ""} {
		if dre.MatchString(d) {
			t.Errorf("duration pattern accepts %q", d)
		}
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func yamlDoc(t *testing.T, s string) any {
	t.Helper()
	var doc any
	if err := yaml.Unmarshal([]byte(s), &doc); err != nil {
		t.Fatalf("yaml: %v\n%s", err, s)
	}
	return doc
}

// checkSchema is a small JSON Schema checker covering the keywords Schema
// emits (TestSchemaIsJSONSchema keeps the two in step). It returns one
// "pointer: problem" string per violation.
func checkSchema(root, s map[string]any, doc any, ptr string) []string {
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, ptr+": "+fmt.Sprintf(format, args...)) }
	if ref, ok := s["$ref"].(string); ok {
		def := root["$defs"].(map[string]any)[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
		errs = append(errs, checkSchema(root, def, doc, ptr)...)
	}
	if typ, ok := s["type"].(string); ok {
		okType := map[string]bool{
			"object":  isKind[map[string]any](doc),
			"array":   isKind[[]any](doc),
			"string":  isKind[string](doc),
			"integer": isKind[int](doc),
			"boolean": isKind[bool](doc),
		}[typ]
		if !okType {
			fail("want %s, got %T", typ, doc)
			return errs
		}
	}
	if enum, ok := s["enum"].([]any); ok && !slices.Contains(enum, doc) {
		fail("%v is not one of %v", doc, enum)
	}
	if c, ok := s["const"]; ok && c != doc {
		fail("%v is not %v", doc, c)
	}
	if p, ok := s["pattern"].(string); ok {
		if str, _ := doc.(string); !regexp.MustCompile(p).MatchString(str) {
			fail("%s does not match %s", str, p)
		}
	}
	if n, ok := s["minLength"].(float64); ok && len(fmt.Sprint(doc)) < int(n) {
		fail("shorter than %v", n)
	}
	if n, ok := s["minimum"].(float64); ok {
		if i, _ := doc.(int); float64(i) < n {
			fail("%d is below %v", i, n)
		}
	}
	if arr, ok := doc.([]any); ok {
		if n, ok := s["minItems"].(float64); ok && len(arr) < int(n) {
			fail("needs at least %v item", n)
		}
		if items, ok := s["items"].(map[string]any); ok {
			for i, e := range arr {
				errs = append(errs, checkSchema(root, items, e, fmt.Sprintf("%s/%d", ptr, i))...)
			}
		}
	}
	if obj, ok := doc.(map[string]any); ok {
		errs = append(errs, checkObject(root, s, obj, ptr)...)
	}
	if cond, ok := s["if"].(map[string]any); ok && len(checkSchema(root, cond, doc, ptr)) == 0 {
		if then, ok := s["then"].(map[string]any); ok {
			errs = append(errs, checkSchema(root, then, doc, ptr)...)
		}
	}
	return errs
}

func checkObject(root, s map[string]any, obj map[string]any, ptr string) []string {
	var errs []string
	props, _ := s["properties"].(map[string]any)
	for _, r := range asList(s["required"]) {
		if _, ok := obj[r]; !ok {
			errs = append(errs, fmt.Sprintf("%s: %s is required", ptr, r))
		}
	}
	for k, v := range obj {
		if pn, ok := s["propertyNames"].(map[string]any); ok {
			if p, _ := pn["pattern"].(string); !regexp.MustCompile(p).MatchString(k) {
				errs = append(errs, fmt.Sprintf("%s: key %s does not match %s", ptr, k, p))
			}
		}
		if sub, ok := props[k].(map[string]any); ok {
			errs = append(errs, checkSchema(root, sub, v, ptr+"/"+k)...)
			continue
		}
		switch ap := s["additionalProperties"].(type) {
		case bool:
			if !ap {
				errs = append(errs, fmt.Sprintf("%s/%s: unknown key", ptr, k))
			}
		case map[string]any:
			errs = append(errs, checkSchema(root, ap, v, ptr+"/"+k)...)
		}
	}
	return errs
}

func asList(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, e := range l {
		out = append(out, e.(string))
	}
	return out
}

func isKind[T any](v any) bool { _, ok := v.(T); return ok }
