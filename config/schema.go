package config

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
)

// SchemaURI is the JSON Schema dialect Schema uses.
const SchemaURI = "https://json-schema.org/draft/2020-12/schema"

// SecretPattern is the regular expression (valid in Go and ECMAScript) the
// JSON Schema gives secret values: an env://, file:// or vault:// reference,
// or a value without "://" (a literal, allowed only with
// insecure_literal_secrets).
const SecretPattern = `^(?:env://[A-Za-z_][A-Za-z0-9_]*(?:\?default=.*)?` +
	`|file:///.+` +
	`|vault://[^/?#]+/[^?#]+(?:\?[^#]*)?#[^?#]+(?:\?.*)?` +
	`|(?:[^:]|:$|:[^/]|:/$|:/[^/])*)$`

// DurationPattern is the regular expression the JSON Schema gives durations:
// positive Go durations such as 30s, 1m30s, 250ms or 24h.
const DurationPattern = `^(?:[0-9]+(?:\.[0-9]+)?(?:ns|us|µs|μs|ms|s|m|h))+$`

// Schema returns a JSON Schema (draft 2020-12) of the configuration file,
// generated from the Config structs and their tags: types, descriptions,
// defaults, enums, patterns, minimums, required keys and
// additionalProperties: false everywhere. Editors use it through
// yaml-language-server (# yaml-language-server: $schema=<file>).
func Schema() ([]byte, error) {
	root := structSchema(reflect.TypeFor[Config]())
	root["$schema"] = SchemaURI
	root["title"] = "deskbridge configuration"
	root["description"] = "Configuration file of deskbridge (deskbridge.yaml). Every key can also be set " +
		"with a DESKBRIDGE_<KEY_PATH> environment variable."
	root["$defs"] = map[string]any{
		"duration": map[string]any{
			"type":        "string",
			"pattern":     DurationPattern,
			"description": "Go duration, such as 30s, 5m, 1h30m or 24h.",
		},
		"secret": map[string]any{
			"type":    "string",
			"pattern": SecretPattern,
			"description": "Secret reference: env://NAME (env://NAME?default=VALUE for development), " +
				"file:///abs/path, or vault://mount/path#key (?kv=1 for KV v1, ?version=N). " +
				"A literal value is allowed only with insecure_literal_secrets: true.",
		},
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(root); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// schemaExtender is implemented by config structs whose constraints span
// several fields.
type schemaExtender interface {
	extendSchema(s map[string]any)
}

// structSchema builds the object schema of a config struct type.
func structSchema(t reflect.Type) map[string]any {
	props := map[string]any{}
	required := []string{}
	for _, f := range fieldsOf(t) {
		props[f.name] = fieldSchema(f.sf)
		if needsKey(f.sf) {
			required = append(required, f.name)
		}
	}
	s := map[string]any{
		"type":                 "object",
		"properties":           props,
		"additionalProperties": false,
	}
	if len(required) > 0 {
		s["required"] = required
	}
	if e, ok := reflect.Zero(t).Interface().(schemaExtender); ok {
		e.extendSchema(s)
	}
	return s
}

// needsKey reports whether a field must appear in the file: it is required,
// or it is a section holding a required key.
func needsKey(sf reflect.StructField) bool {
	if sf.Tag.Get("required") == "true" {
		return true
	}
	if sf.Type.Kind() != reflect.Struct || sf.Type == durationType {
		return false
	}
	for _, f := range fieldsOf(sf.Type) {
		if needsKey(f.sf) {
			return true
		}
	}
	return false
}

// fieldSchema builds the schema of one field from its type and tags.
func fieldSchema(sf reflect.StructField) map[string]any {
	s := typeSchema(sf.Type)
	tag := sf.Tag
	if d := tag.Get("desc"); d != "" {
		s["description"] = d
	}
	if def, ok := tag.Lookup("default"); ok {
		if v, err := parseScalar(sf.Type, def); err == nil {
			s["default"] = jsonScalar(v)
		}
	}
	if enum := tag.Get("enum"); enum != "" {
		s["enum"] = strings.Split(enum, ",")
	}
	if p := tag.Get("pattern"); p != "" {
		s["pattern"] = p
	}
	if m, ok := tag.Lookup("min"); ok {
		if n, err := strconv.Atoi(m); err == nil {
			s["minimum"] = n
		}
	}
	if p := tag.Get("keys"); p != "" {
		s["propertyNames"] = map[string]any{"pattern": p}
	}
	if tag.Get("required") == "true" {
		switch sf.Type.Kind() {
		case reflect.String:
			s["minLength"] = 1
		case reflect.Slice:
			s["minItems"] = 1
		}
	}
	return s
}

// typeSchema builds the schema of a type, without field tags.
func typeSchema(t reflect.Type) map[string]any {
	switch {
	case t == durationType:
		return map[string]any{"$ref": "#/$defs/duration"}
	case t == secretType:
		return map[string]any{"$ref": "#/$defs/secret"}
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Int, reflect.Int64:
		return map[string]any{"type": "integer"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Pointer:
		return typeSchema(t.Elem())
	case reflect.Slice:
		return map[string]any{"type": "array", "items": typeSchema(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": typeSchema(t.Elem())}
	case reflect.Struct:
		return structSchema(t)
	}
	panic("config: no schema for type " + t.String())
}

// jsonScalar converts a parsed default to its JSON form.
func jsonScalar(v reflect.Value) any {
	switch {
	case v.Type() == durationType:
		return Duration(v.Int()).String()
	case v.Kind() == reflect.Pointer:
		return jsonScalar(v.Elem())
	case v.Kind() == reflect.String:
		return v.String()
	case v.Kind() == reflect.Bool:
		return v.Bool()
	default:
		return v.Int()
	}
}

// extendSchema requires template.name and template.language when policy is
// template.
func (OutsideWindowConfig) extendSchema(s map[string]any) {
	s["if"] = map[string]any{
		"properties": map[string]any{"policy": map[string]any{"const": "template"}},
		"required":   []string{"policy"},
	}
	s["then"] = map[string]any{
		"required": []string{"template"},
		"properties": map[string]any{
			"template": map[string]any{"required": []string{"name", "language"}},
		},
	}
}
