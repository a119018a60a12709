package config

import (
	"reflect"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// EnvPrefix starts the name of every environment variable that overrides a
// configuration key (see Load).
const EnvPrefix = "DESKBRIDGE_"

// maxEnvIndex bounds list indices in variable names, so that a typo cannot
// allocate a huge list.
const maxEnvIndex = 999

// EnvName returns the variable that overrides a key path:
// "server.shutdown_timeout" → DESKBRIDGE_SERVER_SHUTDOWN_TIMEOUT,
// "whatsapp.numbers[0].label" → DESKBRIDGE_WHATSAPP_NUMBERS_0_LABEL.
func EnvName(path string) string {
	toks := splitPath(path)
	for i, t := range toks {
		toks[i] = envWord(t)
	}
	return EnvPrefix + strings.Join(toks, "_")
}

// envWord upper-cases a key for a variable name; characters other than
// letters, digits and _ become _.
func envWord(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_':
			return r
		default:
			return '_'
		}
	}, s)
}

// isReservedEnv reports whether a DESKBRIDGE_ variable is not a key override.
func isReservedEnv(name string) bool {
	return name == EnvPrefix+"CONFIG" || strings.HasPrefix(name, EnvPrefix+"TEST_")
}

type stepKind int

const (
	stepField stepKind = iota
	stepIndex
	stepKey
)

// envStep is one step from a value to the key a variable names.
type envStep struct {
	kind  stepKind
	field fieldInfo // stepField
	index int       // stepIndex
	key   string    // stepKey
}

// applyEnv applies the overrides among names (and among the names of the
// config's own keys, read through lookupEnv) and returns the problems found.
// Shorter names go first, so a whole list or section is set before the
// variables that refine it.
func (c *Config) applyEnv(names []string, lookupEnv func(string) (string, bool)) []Problem {
	root := reflect.ValueOf(c).Elem()
	done := map[string]bool{}
	var problems []Problem
	pending := slices.Clone(names)
	for {
		for _, n := range envProbeNames(root) {
			if _, ok := lookupEnv(n); ok && !done[n] {
				pending = append(pending, n)
			}
		}
		pending = slices.DeleteFunc(pending, func(n string) bool { return done[n] })
		if len(pending) == 0 {
			return problems
		}
		slices.SortFunc(pending, func(a, b string) int {
			if len(a) != len(b) {
				return len(a) - len(b)
			}
			return strings.Compare(a, b)
		})
		for _, name := range slices.Compact(pending) {
			done[name] = true
			if raw, ok := lookupEnv(name); ok && !isReservedEnv(name) {
				problems = append(problems, applyEnvVar(root, name, raw)...)
			}
		}
		pending = pending[:0]
	}
}

// applyEnvVar applies one variable to root.
func applyEnvVar(root reflect.Value, name, raw string) []Problem {
	rest := strings.TrimPrefix(name, EnvPrefix)
	var cands [][]envStep
	if rest != "" {
		cands = resolveEnv(root.Type(), root, rest)
	}
	if len(cands) == 0 {
		reason := "environment variable matches no configuration key"
		if s := suggestEnv(root, name); s != "" {
			reason += "; did you mean " + s + "?"
		}
		return []Problem{{Path: name, Reason: reason}}
	}
	type reading struct {
		steps    []envStep
		val      reflect.Value
		problems []Problem
	}
	var fits, all []reading
	for _, steps := range cands {
		val, probs := decodeEnvValue(targetType(root.Type(), steps), raw, name, stepsPath(steps))
		r := reading{steps, val, probs}
		all = append(all, r)
		if len(probs) == 0 {
			fits = append(fits, r)
		}
	}
	switch len(fits) {
	case 0:
		return all[0].problems
	case 1:
		setPath(root, fits[0].steps, fits[0].val)
		return nil
	default:
		var paths []string
		for _, r := range fits {
			paths = append(paths, stepsPath(r.steps))
		}
		return []Problem{{Path: name, Reason: "ambiguous: could set " + strings.Join(paths, " or ") +
			"; set the enclosing map entry whole with YAML instead"}}
	}
}

// resolveEnv lists the ways the rest of a variable name (after the prefix and
// any parents) can name a key below a value of type t. v is the current value,
// or invalid when it does not exist yet.
func resolveEnv(t reflect.Type, v reflect.Value, rest string) [][]envStep {
	if rest == "" {
		return [][]envStep{nil}
	}
	var out [][]envStep
	prepend := func(s envStep, subs [][]envStep) {
		for _, sub := range subs {
			out = append(out, append([]envStep{s}, sub...))
		}
	}
	switch t.Kind() {
	case reflect.Struct:
		for _, f := range fieldsOf(t) {
			word := envWord(f.name)
			sub, ok := strings.CutPrefix(rest, word)
			if !ok || (sub != "" && sub[0] != '_') {
				continue
			}
			var fv reflect.Value
			if v.IsValid() {
				fv = v.Field(f.index)
			}
			prepend(envStep{kind: stepField, field: f}, resolveEnv(f.sf.Type, fv, strings.TrimPrefix(sub, "_")))
		}
	case reflect.Slice:
		word, sub, _ := strings.Cut(rest, "_")
		i, err := strconv.Atoi(word)
		if err != nil || word == "" || strings.Trim(word, "0123456789") != "" || i > maxEnvIndex {
			return nil
		}
		var ev reflect.Value
		if v.IsValid() && i < v.Len() {
			ev = v.Index(i)
		}
		prepend(envStep{kind: stepIndex, index: i}, resolveEnv(t.Elem(), ev, sub))
	case reflect.Map:
		if v.IsValid() {
			for _, k := range sortedKeys(v) {
				word := envWord(k.String())
				sub, ok := strings.CutPrefix(rest, word)
				if !ok || (sub != "" && sub[0] != '_') {
					continue
				}
				prepend(envStep{kind: stepKey, key: k.String()}, resolveEnv(t.Elem(), v.MapIndex(k), strings.TrimPrefix(sub, "_")))
			}
			if len(out) > 0 {
				return out
			}
		}
		for j := 1; j <= len(rest); j++ {
			if j < len(rest) && rest[j] != '_' {
				continue
			}
			sub := ""
			if j < len(rest) {
				sub = rest[j+1:]
			}
			prepend(envStep{kind: stepKey, key: strings.ToLower(rest[:j])}, resolveEnv(t.Elem(), reflect.Value{}, sub))
		}
	}
	return out
}

// targetType follows steps from type t.
func targetType(t reflect.Type, steps []envStep) reflect.Type {
	for _, s := range steps {
		if s.kind == stepField {
			t = s.field.sf.Type
		} else {
			t = t.Elem()
		}
	}
	return t
}

// stepsPath formats steps as a key path.
func stepsPath(steps []envStep) string {
	path := ""
	for _, s := range steps {
		switch s.kind {
		case stepField:
			path = joinPath(path, s.field.name)
		case stepIndex:
			path = indexPath(path, s.index)
		case stepKey:
			path = joinKey(path, s.key)
		}
	}
	return path
}

// decodeEnvValue parses a variable's value for a key of type t: scalars as
// plain text, sections, lists and maps as YAML (or JSON).
func decodeEnvValue(t reflect.Type, raw, name, path string) (reflect.Value, []Problem) {
	if isLeaf(t) {
		val, err := parseScalar(t, raw)
		if err != nil {
			return val, []Problem{{Path: path, Reason: err.Error() + " (from " + name + ")"}}
		}
		return val, nil
	}
	out := reflect.New(t).Elem()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(raw), &n); err != nil {
		return out, []Problem{{Path: path, Reason: "invalid YAML or JSON value: " +
			strings.TrimPrefix(err.Error(), "yaml: ") + " (from " + name + ")"}}
	}
	d := nodeDecoder{env: name}
	d.decode(&n, out, path)
	return out, d.problems
}

// setPath stores val at the key steps lead to from v (addressable), growing
// lists and creating map entries on the way.
func setPath(v reflect.Value, steps []envStep, val reflect.Value) {
	if len(steps) == 0 {
		v.Set(val)
		return
	}
	s, rest := steps[0], steps[1:]
	switch s.kind {
	case stepField:
		setPath(v.Field(s.field.index), rest, val)
	case stepIndex:
		if s.index >= v.Len() {
			grown := reflect.MakeSlice(v.Type(), s.index+1, s.index+1)
			reflect.Copy(grown, v)
			v.Set(grown)
		}
		setPath(v.Index(s.index), rest, val)
	case stepKey:
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
		k := reflect.ValueOf(s.key).Convert(v.Type().Key())
		e := reflect.New(v.Type().Elem()).Elem()
		if old := v.MapIndex(k); old.IsValid() {
			e.Set(old)
		}
		setPath(e, rest, val)
		v.SetMapIndex(k, e)
	}
}

// envProbeNames lists the variable names of the keys of root as it is now:
// every field, every existing list element and one past the end, every
// existing map key.
func envProbeNames(root reflect.Value) []string {
	var out []string
	var rec func(t reflect.Type, v reflect.Value, name string)
	rec = func(t reflect.Type, v reflect.Value, name string) {
		if name != "" {
			out = append(out, EnvPrefix+name)
			name += "_"
		}
		switch t.Kind() {
		case reflect.Struct:
			for _, f := range fieldsOf(t) {
				var fv reflect.Value
				if v.IsValid() {
					fv = v.Field(f.index)
				}
				rec(f.sf.Type, fv, name+envWord(f.name))
			}
		case reflect.Slice:
			n := 0
			if v.IsValid() {
				n = v.Len()
			}
			for i := 0; i <= n && i <= maxEnvIndex; i++ {
				var ev reflect.Value
				if i < n {
					ev = v.Index(i)
				}
				rec(t.Elem(), ev, name+strconv.Itoa(i))
			}
		case reflect.Map:
			if v.IsValid() {
				for _, k := range sortedKeys(v) {
					rec(t.Elem(), v.MapIndex(k), name+envWord(k.String()))
				}
			}
		}
	}
	rec(root.Type(), root, "")
	return out
}

// suggestEnv returns the known variable closest to an unknown one, if close
// enough to be a likely typo.
func suggestEnv(root reflect.Value, name string) string {
	best, bestDist := "", 3
	for _, n := range envProbeNames(root) {
		if d := editDistance(name, n); d < bestDist {
			best, bestDist = n, d
		}
	}
	return best
}
