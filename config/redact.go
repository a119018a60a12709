package config

import (
	"io"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// Defaults returns a configuration holding only default values.
func Defaults() *Config { return new(Config).WithDefaults() }

// WithDefaults returns a deep copy of c in which every unset (zero) key that
// has a default holds it, in list elements and map entries too. c is not
// modified. Defaults are listed in the JSON Schema (see Schema).
func (c *Config) WithDefaults() *Config {
	out := c.clone()
	applyDefaults(reflect.ValueOf(out).Elem())
	return out
}

// clone returns a deep copy of c.
func (c *Config) clone() *Config {
	out := new(Config)
	reflect.ValueOf(out).Elem().Set(deepCopy(reflect.ValueOf(c).Elem()))
	return out
}

// NamedSecret is a secret of the configuration with its key path.
type NamedSecret struct {
	// Path is the key path, such as whatsapp.numbers[0].access_token.
	Path string
	// Secret is the reference (or literal) found there.
	Secret Secret
}

// Secrets lists every non-empty Secret in c with its key path, in config
// order.
func (c *Config) Secrets() []NamedSecret {
	var out []NamedSecret
	walk(reflect.ValueOf(c).Elem(), "", "", false, func(v reflect.Value, path string, _ reflect.StructTag) {
		if v.Type() == secretType && v.String() != "" {
			out = append(out, NamedSecret{Path: path, Secret: Secret(v.String())})
		}
	})
	return out
}

// Redacted returns a deep copy of c that is safe to show: every literal
// secret (and any malformed one) becomes RedactedValue, an env reference's
// default becomes env://NAME?default=[redacted], and a password in store.url
// becomes [redacted]. References are kept as written otherwise.
func (c *Config) Redacted() *Config {
	out := c.clone()
	walk(reflect.ValueOf(out).Elem(), "", "", true, func(v reflect.Value, _ string, _ reflect.StructTag) {
		if v.Type() == secretType && v.String() != "" {
			s := Secret(v.String())
			if ref, err := s.Ref(); err != nil || ref.Scheme == SchemeLiteral || ref.HasDefault {
				v.SetString(s.String())
			}
		}
	})
	out.Store.URL = redactURL(out.Store.URL)
	return out
}

// WriteYAML writes c.Redacted() as YAML, every key included, for
// `deskbridge config print`.
func (c *Config) WriteYAML(w io.Writer) error {
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(c.Redacted()); err != nil {
		return err
	}
	return enc.Close()
}

// redactURL replaces the password of a URL's user info and any password=
// query parameter with RedactedValue:
// postgres://user:pw@host/db → postgres://user:[redacted]@host/db.
func redactURL(s string) string {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return s
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	if at := strings.LastIndex(authority, "@"); at >= 0 {
		if user, _, hasPassword := strings.Cut(authority[:at], ":"); hasPassword {
			authority = user + ":" + RedactedValue + authority[at:]
		}
	}
	if path, query, hasQuery := strings.Cut(tail, "?"); hasQuery {
		query, fragment, hasFragment := strings.Cut(query, "#")
		params := strings.Split(query, "&")
		for i, p := range params {
			if k, _, _ := strings.Cut(p, "="); strings.EqualFold(k, "password") {
				params[i] = k + "=" + RedactedValue
			}
		}
		tail = path + "?" + strings.Join(params, "&")
		if hasFragment {
			tail += "#" + fragment
		}
	}
	return scheme + "://" + authority + tail
}
