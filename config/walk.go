package config

import (
	"cmp"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// This file holds the reflection shared by defaults, validation, env
// overrides, redaction and the schema: everything is driven by the yaml and
// schema tags of the Config structs, so a new key gets all of it for free.

var (
	durationType = reflect.TypeFor[Duration]()
	secretType   = reflect.TypeFor[Secret]()
)

// fieldInfo is a struct field that has a yaml key.
type fieldInfo struct {
	index int
	name  string
	sf    reflect.StructField
}

var fieldCache sync.Map // reflect.Type → []fieldInfo

// fieldsOf lists the yaml-keyed fields of struct type t in declaration order.
func fieldsOf(t reflect.Type) []fieldInfo {
	if fs, ok := fieldCache.Load(t); ok {
		return fs.([]fieldInfo)
	}
	var fs []fieldInfo
	for i := range t.NumField() {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if !sf.IsExported() || name == "" || name == "-" {
			continue
		}
		fs = append(fs, fieldInfo{index: i, name: name, sf: sf})
	}
	fieldCache.Store(t, fs)
	return fs
}

// fieldByName finds the field with yaml key name.
func fieldByName(t reflect.Type, name string) (fieldInfo, bool) {
	for _, f := range fieldsOf(t) {
		if f.name == name {
			return f, true
		}
	}
	return fieldInfo{}, false
}

// isLeaf reports whether values of t are scalars (strings, numbers, bools,
// durations, secrets, *bool) rather than sections, lists or maps.
func isLeaf(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Struct, reflect.Slice, reflect.Map:
		return false
	}
	return true
}

// visitFunc is called by walk for every value, parents before children, with
// the value's key path and the tag of the struct field holding it (empty for
// list elements and map values).
type visitFunc func(v reflect.Value, path string, tag reflect.StructTag)

// walk visits v and everything below it in config order (fields in
// declaration order, list elements by index, map entries by sorted key). Map
// values are visited as addressable copies; with mutate they are stored back,
// so fn may change them. Without mutate walk never writes.
func walk(v reflect.Value, path string, tag reflect.StructTag, mutate bool, fn visitFunc) {
	fn(v, path, tag)
	switch v.Kind() {
	case reflect.Struct:
		for _, f := range fieldsOf(v.Type()) {
			walk(v.Field(f.index), joinPath(path, f.name), f.sf.Tag, mutate, fn)
		}
	case reflect.Slice:
		for i := range v.Len() {
			walk(v.Index(i), indexPath(path, i), "", mutate, fn)
		}
	case reflect.Map:
		for _, k := range sortedKeys(v) {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			walk(e, joinKey(path, k.String()), "", mutate, fn)
			if mutate {
				v.SetMapIndex(k, e)
			}
		}
	}
}

// sortedKeys returns the keys of a string-keyed map in order.
func sortedKeys(m reflect.Value) []reflect.Value {
	keys := m.MapKeys()
	slices.SortFunc(keys, func(a, b reflect.Value) int { return cmp.Compare(a.String(), b.String()) })
	return keys
}

// deepCopy returns a copy of v sharing no slices, maps or pointers with it.
func deepCopy(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Struct:
		out := reflect.New(v.Type()).Elem()
		out.Set(v)
		for i := range v.NumField() {
			if out.Field(i).CanSet() {
				out.Field(i).Set(deepCopy(v.Field(i)))
			}
		}
		return out
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			out.Index(i).Set(deepCopy(v.Index(i)))
		}
		return out
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeMapWithSize(v.Type(), v.Len())
		iter := v.MapRange()
		for iter.Next() {
			out.SetMapIndex(iter.Key(), deepCopy(iter.Value()))
		}
		return out
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		out := reflect.New(v.Type().Elem())
		out.Elem().Set(deepCopy(v.Elem()))
		return out
	default:
		return v
	}
}

// parseScalar parses raw as a value of leaf type t, the way env values and
// default tags are written: strings verbatim, Go durations, base-10 integers,
// and true/false (also 1/0, t/f).
func parseScalar(t reflect.Type, raw string) (reflect.Value, error) {
	out := reflect.New(t).Elem()
	switch {
	case t == durationType:
		d, err := ParseDuration(raw)
		if err != nil {
			return out, err
		}
		out.SetInt(int64(d))
	case t.Kind() == reflect.String:
		out.SetString(raw)
	case t.Kind() == reflect.Int || t.Kind() == reflect.Int64:
		n, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64)
		if err != nil {
			return out, fmt.Errorf("must be an integer, got %q", raw)
		}
		out.SetInt(n)
	case t.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(raw))
		if err != nil {
			return out, fmt.Errorf("must be true or false, got %q", raw)
		}
		out.SetBool(b)
	case t.Kind() == reflect.Pointer && isLeaf(t.Elem()):
		e, err := parseScalar(t.Elem(), raw)
		if err != nil {
			return out, err
		}
		p := reflect.New(t.Elem())
		p.Elem().Set(e)
		out.Set(p)
	default:
		return out, errors.New("not a scalar")
	}
	return out, nil
}

// applyDefaults sets every zero field that has a default tag, at any depth
// (list elements and map values included). v must be addressable.
func applyDefaults(v reflect.Value) {
	walk(v, "", "", true, func(v reflect.Value, path string, tag reflect.StructTag) {
		def, ok := tag.Lookup("default")
		if !ok || !v.IsZero() {
			return
		}
		val, err := parseScalar(v.Type(), def)
		if err != nil {
			panic(fmt.Sprintf("config: bad default tag on %s: %v", path, err))
		}
		v.Set(val)
	})
}

var plainKeyRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// joinPath appends a field name to a key path.
func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// joinKey appends a map key to a key path, quoting it when it is not a plain
// word: helpdesks.support, mapping.ticket.custom_fields["a.b"].
func joinKey(path, key string) string {
	if plainKeyRE.MatchString(key) {
		return joinPath(path, key)
	}
	return path + "[" + strconv.Quote(key) + "]"
}

// indexPath appends a list index to a key path.
func indexPath(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// orderItem is one step of a key path's position in config order.
type orderItem struct {
	n int
	s string
}

const unknownOrder = 1 << 30

// pathOrder computes the position of a key path in config order: field
// declaration order, list index, map key. Parts that name no known key sort
// after their known siblings.
func pathOrder(path string) []orderItem {
	var items []orderItem
	t := reflect.TypeFor[Config]()
	for _, tok := range splitPath(path) {
		switch {
		case t == nil:
			items = append(items, orderItem{unknownOrder, tok})
		case t.Kind() == reflect.Struct:
			f, ok := fieldByName(t, tok)
			if !ok {
				items = append(items, orderItem{unknownOrder, tok})
				t = nil
				continue
			}
			items = append(items, orderItem{f.index, ""})
			t = f.sf.Type
		case t.Kind() == reflect.Slice:
			n, err := strconv.Atoi(tok)
			if err != nil {
				n = unknownOrder
			}
			items = append(items, orderItem{n, ""})
			t = t.Elem()
		case t.Kind() == reflect.Map:
			items = append(items, orderItem{0, tok})
			t = t.Elem()
		default:
			items = append(items, orderItem{unknownOrder, tok})
			t = nil
		}
	}
	return items
}

// comparePaths orders key paths in config order; a parent sorts before its
// children.
func comparePaths(a, b string) int {
	return slices.CompareFunc(pathOrder(a), pathOrder(b), func(x, y orderItem) int {
		return cmp.Or(cmp.Compare(x.n, y.n), cmp.Compare(x.s, y.s))
	})
}

// splitPath splits a key path into names, indices and keys:
// a.b[0]["c.d"].e → a, b, 0, c.d, e.
func splitPath(path string) []string {
	var toks []string
	for i := 0; i < len(path); {
		switch path[i] {
		case '.':
			i++
		case '[':
			if i+1 < len(path) && path[i+1] == '"' {
				q, err := strconv.QuotedPrefix(path[i+1:])
				if err == nil {
					s, _ := strconv.Unquote(q)
					toks = append(toks, s)
					i += 1 + len(q)
					if i < len(path) && path[i] == ']' {
						i++
					}
					continue
				}
			}
			end := strings.IndexByte(path[i:], ']')
			if end < 0 {
				toks = append(toks, path[i+1:])
				return toks
			}
			toks = append(toks, path[i+1:i+end])
			i += end + 1
		default:
			end := strings.IndexAny(path[i:], ".[")
			if end < 0 {
				end = len(path) - i
			}
			toks = append(toks, path[i:i+end])
			i += end
		}
	}
	return toks
}
