package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Load reads the configuration file at path and returns it with defaults
// filled, environment overrides applied and validated.
//
// The file is decoded strictly: unknown keys, duplicate keys and values of
// the wrong type are problems naming the key path and line. Then come
// defaults (WithDefaults), then DESKBRIDGE_* overrides (env wins over the
// file), then Validate. All problems from these steps are returned together
// as a *ValidationError; a file that cannot be read or is not YAML is a plain
// error.
//
// Environment override names are DESKBRIDGE_ plus the key path upper-cased
// with "." and list indices turned into "_":
//
//	DESKBRIDGE_STORE_URL=postgres://…
//	DESKBRIDGE_SERVER_SHUTDOWN_TIMEOUT=30s
//	DESKBRIDGE_WHATSAPP_NUMBERS_0_PHONE_NUMBER_ID=106540352242922
//	DESKBRIDGE_HELPDESKS_SUPPORT_BASE_URL=https://acme.zendesk.com
//	DESKBRIDGE_WHATSAPP_NUMBERS='[{"phone_number_id":"1"}]'
//
// Scalars are written as plain text (durations in Go syntax, booleans as
// true/false); a section, list or map may be given whole as YAML or JSON, and
// replaces the file's value. A list index past the end extends the list. Map
// keys match existing keys case-insensitively (with - read as _); a name that
// matches no existing key creates one, lower-cased, when only one reading of
// the name fits. A DESKBRIDGE_* variable that names no key is a problem,
// except the reserved DESKBRIDGE_CONFIG and DESKBRIDGE_TEST_*.
//
// Values are read through lookupEnv (nil means os.LookupEnv). Variable names
// are taken from os.Environ and from the configuration's own keys (existing
// list elements, one past the end, existing map keys), so a lookupEnv that is
// not backed by the process environment can override any existing key but
// cannot add map entries or be checked for unknown names; use LoadEnviron for
// that.
func Load(path string, lookupEnv func(string) (string, bool)) (*Config, error) {
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	return load(path, lookupEnv, os.Environ())
}

// LoadEnviron is Load with the environment given as "NAME=value" strings, in
// the form of os.Environ; it sees only those variables.
func LoadEnviron(path string, environ []string) (*Config, error) {
	env := make(map[string]string, len(environ))
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	return load(path, func(k string) (string, bool) { v, ok := env[k]; return v, ok }, environ)
}

func load(path string, lookupEnv func(string) (string, bool), environ []string) (*Config, error) {
	if path == "" {
		return nil, errors.New("config: no configuration file given")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c, problems, err := decodeFile(data)
	if err != nil {
		return nil, fmt.Errorf("config: %s: %w", path, err)
	}
	c = c.WithDefaults()
	var names []string
	for _, kv := range environ {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, EnvPrefix) {
			names = append(names, k)
		}
	}
	problems = append(problems, c.applyEnv(names, lookupEnv)...)
	c = c.WithDefaults() // for list elements and map entries created by env
	var ve *ValidationError
	if err := c.Validate(); errors.As(err, &ve) {
		earlier := problems
		for _, p := range ve.Problems {
			if !covered(earlier, p.Path) {
				problems = append(problems, p)
			}
		}
	}
	if len(problems) > 0 {
		return nil, newValidationError(problems)
	}
	return c, nil
}

// covered reports whether a problem was already reported at path or above it,
// so that a value that failed to decode is not also reported as missing.
func covered(problems []Problem, path string) bool {
	for _, p := range problems {
		if p.Path == path || strings.HasPrefix(path, p.Path+".") || strings.HasPrefix(path, p.Path+"[") {
			return true
		}
	}
	return false
}

// decodeFile decodes a YAML document into a Config. Problems with keys and
// values are returned as Problems; a syntax error is an error.
func decodeFile(data []byte) (*Config, []Problem, error) {
	c := new(Config)
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return c, nil, nil // empty file
		}
		return nil, nil, err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, nil, err
		}
		return nil, nil, fmt.Errorf("line %d: more than one YAML document", extra.Line)
	}
	d := nodeDecoder{}
	d.decode(&doc, reflect.ValueOf(c).Elem(), "")
	return c, d.problems, nil
}

// nodeDecoder decodes yaml nodes into config values by reflection over the
// yaml tags, recording a Problem with the key path for each bad key or value
// instead of stopping at the first.
type nodeDecoder struct {
	// env names the variable the YAML came from; empty for the file.
	env      string
	problems []Problem
}

func (d *nodeDecoder) problem(path string, n *yaml.Node, reason string) {
	where := fmt.Sprintf("line %d", n.Line)
	if d.env != "" {
		where = "in " + d.env + ", " + where
	}
	d.problems = append(d.problems, Problem{Path: path, Reason: reason + " (" + where + ")"})
}

func (d *nodeDecoder) decode(n *yaml.Node, v reflect.Value, path string) {
	for n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return
		}
		n = n.Content[0]
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		v.Set(reflect.Zero(v.Type()))
		return
	}
	t := v.Type()
	if t == durationType {
		var dur Duration
		if err := n.Decode(&dur); err != nil {
			d.problem(path, n, err.Error())
			return
		}
		v.Set(reflect.ValueOf(dur))
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.problem(path, n, "must be a list")
			return
		}
		out := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, e := range n.Content {
			d.decode(e, out.Index(i), indexPath(path, i))
		}
		v.Set(out)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.problem(path, n, "must be a mapping")
			return
		}
		out := reflect.MakeMap(t)
		for _, p := range d.pairs(n, path) {
			e := reflect.New(t.Elem()).Elem()
			d.decode(p.val, e, joinKey(path, p.key.Value))
			out.SetMapIndex(reflect.ValueOf(p.key.Value).Convert(t.Key()), e)
		}
		v.Set(out)
	case reflect.Pointer:
		e := reflect.New(t.Elem())
		d.decode(n, e.Elem(), path)
		v.Set(e)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.problem(path, n, "must be a string")
			return
		}
		v.SetString(n.Value)
	case reflect.Int, reflect.Int64:
		var i int64
		if n.Kind != yaml.ScalarNode || n.Decode(&i) != nil {
			d.problem(path, n, "must be an integer")
			return
		}
		v.SetInt(i)
	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.Decode(&b) != nil {
			d.problem(path, n, "must be true or false")
			return
		}
		v.SetBool(b)
	default:
		panic("config: unsupported field type " + t.String())
	}
}

func (d *nodeDecoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.problem(path, n, "must be a mapping")
		return
	}
	for _, p := range d.pairs(n, path) {
		f, ok := fieldByName(v.Type(), p.key.Value)
		if !ok {
			d.problem(joinKey(path, p.key.Value), p.key, "unknown key")
			if s := suggest(p.key.Value, v.Type()); s != "" {
				d.problems[len(d.problems)-1].Reason += "; did you mean " + s + "?"
			}
			continue
		}
		d.decode(p.val, v.Field(f.index), joinPath(path, f.name))
	}
}

type nodePair struct{ key, val *yaml.Node }

// pairs lists a mapping's key/value pairs with YAML merge keys (<<) expanded
// first, reporting non-string and duplicate keys.
func (d *nodeDecoder) pairs(n *yaml.Node, path string) []nodePair {
	var merged, own []nodePair
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			src := val
			if src.Kind == yaml.AliasNode && src.Alias != nil {
				src = src.Alias
			}
			srcs := []*yaml.Node{src}
			if src.Kind == yaml.SequenceNode {
				srcs = src.Content
			}
			for _, s := range srcs {
				if s.Kind == yaml.AliasNode && s.Alias != nil {
					s = s.Alias
				}
				if s.Kind != yaml.MappingNode {
					d.problem(path, k, "merge (<<) needs a mapping")
					continue
				}
				merged = append(merged, d.pairs(s, path)...)
			}
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.problem(path, k, "keys must be strings")
			continue
		}
		if seen[k.Value] {
			d.problem(joinKey(path, k.Value), k, "duplicate key")
			continue
		}
		seen[k.Value] = true
		own = append(own, nodePair{k, val})
	}
	merged = slices.DeleteFunc(merged, func(p nodePair) bool { return seen[p.key.Value] })
	return append(merged, own...)
}

// suggest returns the field of struct type t closest to the unknown key, if
// one is close enough to be a likely typo.
func suggest(key string, t reflect.Type) string {
	best, bestDist := "", 3
	for _, f := range fieldsOf(t) {
		if d := editDistance(key, f.name); d < bestDist {
			best, bestDist = f.name, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
