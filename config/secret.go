package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// Secret schemes, as found in SecretRef.Scheme.
const (
	// SchemeLiteral marks a value written without a scheme: the secret itself.
	SchemeLiteral = "literal"
	// SchemeEnv reads an environment variable: env://NAME[?default=VALUE].
	SchemeEnv = "env"
	// SchemeFile reads a file: file:///abs/path.
	SchemeFile = "file"
	// SchemeVault reads a key of a Vault KV secret: vault://mount/path#key.
	SchemeVault = "vault"
)

// RedactedValue replaces secret values wherever a Secret is printed, logged or
// marshalled.
const RedactedValue = "[redacted]"

// Secret is a configuration value that names where a secret lives, such as
// env://WA_APP_SECRET or vault://secret/deskbridge/meta#app_secret (see
// ParseSecretRef). A value without a scheme is a literal secret, accepted only
// with insecure_literal_secrets: true.
//
// Printing (fmt, any verb), logging (slog) and marshalling (JSON, YAML) a
// Secret never show a literal value or an env default: they show
// RedactedValue instead, and the reference otherwise. Use string(s) for the
// raw text, and the secrets package to resolve it.
type Secret string

// Ref parses s; see ParseSecretRef.
func (s Secret) Ref() (SecretRef, error) { return ParseSecretRef(string(s)) }

// IsLiteral reports whether s is set and holds a value rather than a
// reference.
func (s Secret) IsLiteral() bool {
	return s != "" && !schemeRE.MatchString(string(s))
}

// String returns the reference with any env default redacted, RedactedValue
// for a literal or malformed value, and "" when s is empty.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	ref, err := ParseSecretRef(string(s))
	if err != nil {
		return RedactedValue
	}
	return ref.String()
}

// GoString implements fmt.GoStringer with the redacted text.
func (s Secret) GoString() string { return "config.Secret(" + strconv.Quote(s.String()) + ")" }

// Format implements fmt.Formatter so that every verb and flag formats the
// redacted text (%#v gives GoString).
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = io.WriteString(f, s.GoString())
		return
	}
	_, _ = fmt.Fprintf(f, fmt.FormatString(f, verb), s.String())
}

// LogValue implements slog.LogValuer with the redacted text.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON writes the redacted text, so that JSON logs of a whole
// configuration leak nothing.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// MarshalYAML writes the redacted text.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// SecretRef is a parsed Secret.
type SecretRef struct {
	// Scheme is SchemeLiteral, SchemeEnv, SchemeFile or SchemeVault.
	Scheme string
	// Name is the environment variable (env).
	Name string
	// Path is the absolute file path (file) or the secret's path inside its
	// mount (vault), without leading or trailing slashes.
	Path string
	// Mount is the KV secrets engine mount (vault), such as "secret".
	Mount string
	// Key is the key inside the secret's data (vault).
	Key string
	// KV is the KV engine version, 1 or 2 (vault; 2 unless ?kv=1).
	KV int
	// Version pins a KV v2 secret version (vault ?version=N); 0 is the latest.
	Version int
	// Default is used when the variable is unset, if HasDefault (env).
	Default string
	// HasDefault reports whether ?default= was given (env).
	HasDefault bool
}

// String formats r canonically, with a default shown as RedactedValue and a
// literal as RedactedValue.
func (r SecretRef) String() string {
	switch r.Scheme {
	case SchemeEnv:
		if r.HasDefault {
			return "env://" + r.Name + "?default=" + RedactedValue
		}
		return "env://" + r.Name
	case SchemeFile:
		return "file://" + r.Path
	case SchemeVault:
		var q []string
		if r.KV == 1 {
			q = append(q, "kv=1")
		}
		if r.Version > 0 {
			q = append(q, "version="+strconv.Itoa(r.Version))
		}
		s := "vault://" + r.Mount + "/" + r.Path
		if len(q) > 0 {
			s += "?" + strings.Join(q, "&")
		}
		return s + "#" + r.Key
	default:
		return RedactedValue
	}
}

var (
	schemeRE  = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*)://`)
	envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// ParseSecretRef parses a secret reference. The accepted forms are:
//
//	env://NAME                   environment variable NAME
//	env://NAME?default=VALUE     ... or VALUE when NAME is unset (development)
//	file:///abs/path             file contents, one trailing newline trimmed
//	vault://mount/path#key       key of a KV v2 secret
//	vault://mount/path?version=3#key   a pinned KV v2 version
//	vault://mount/path?kv=1#key  key of a KV v1 secret
//
// The vault query may also follow the key (#key?version=3). A value without
// "scheme://" is a literal (Scheme SchemeLiteral). Errors never quote the
// input, which may hold a secret.
func ParseSecretRef(s string) (SecretRef, error) {
	if s == "" {
		return SecretRef{}, errors.New("empty secret reference")
	}
	m := schemeRE.FindStringSubmatch(s)
	if m == nil {
		return SecretRef{Scheme: SchemeLiteral}, nil
	}
	rest := s[len(m[0]):]
	switch strings.ToLower(m[1]) {
	case SchemeEnv:
		return parseEnvRef(rest)
	case SchemeFile:
		if rest == "" || !strings.HasPrefix(rest, "/") {
			return SecretRef{}, errors.New("file reference needs an absolute path: file:///abs/path")
		}
		return SecretRef{Scheme: SchemeFile, Path: rest}, nil
	case SchemeVault:
		return parseVaultRef(rest)
	default:
		return SecretRef{}, errors.New("unsupported secret scheme; use env://, file:// or vault://")
	}
}

func parseEnvRef(rest string) (SecretRef, error) {
	name, query, hasQuery := strings.Cut(rest, "?")
	if name == "" {
		return SecretRef{}, errors.New("env reference needs a variable name: env://NAME")
	}
	if !envNameRE.MatchString(name) {
		return SecretRef{}, errors.New("env reference has an invalid variable name (letters, digits and _ only)")
	}
	ref := SecretRef{Scheme: SchemeEnv, Name: name}
	if hasQuery {
		def, ok := strings.CutPrefix(query, "default=")
		if !ok {
			return SecretRef{}, errors.New("env reference accepts only ?default=VALUE")
		}
		ref.Default, ref.HasDefault = def, true
	}
	return ref, nil
}

func parseVaultRef(rest string) (SecretRef, error) {
	before, key, hasKey := strings.Cut(rest, "#")
	if !hasKey {
		return SecretRef{}, errors.New("vault reference needs a #key: vault://mount/path#key")
	}
	before, q1, has1 := strings.Cut(before, "?")
	key, q2, has2 := strings.Cut(key, "?")
	if has1 && has2 {
		return SecretRef{}, errors.New("vault reference has two queries")
	}
	if key == "" {
		return SecretRef{}, errors.New("vault reference needs a #key: vault://mount/path#key")
	}
	mount, p, _ := strings.Cut(before, "/")
	if mount == "" {
		return SecretRef{}, errors.New("vault reference needs a mount: vault://mount/path#key")
	}
	p = strings.Trim(p, "/")
	if p == "" {
		return SecretRef{}, errors.New("vault reference needs a secret path after the mount: vault://mount/path#key")
	}
	for seg := range strings.SplitSeq(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return SecretRef{}, errors.New("vault reference has an empty, . or .. path segment")
		}
	}
	ref := SecretRef{Scheme: SchemeVault, Mount: mount, Path: p, Key: key, KV: 2}
	query := q1 + q2
	if !has1 && !has2 {
		return ref, nil
	}
	values, err := url.ParseQuery(query)
	if err != nil {
		return SecretRef{}, errors.New("vault reference has a malformed query")
	}
	for name, vs := range values {
		if len(vs) != 1 {
			return SecretRef{}, errors.New("vault reference repeats a parameter")
		}
		switch v := vs[0]; name {
		case "kv":
			if v != "1" && v != "2" {
				return SecretRef{}, errors.New("vault reference kv must be 1 or 2")
			}
			ref.KV = int(v[0] - '0')
		case "version":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return SecretRef{}, errors.New("vault reference version must be a positive integer")
			}
			ref.Version = n
		default:
			return SecretRef{}, errors.New("vault reference has an unknown parameter (known: kv, version)")
		}
	}
	if ref.KV == 1 && ref.Version > 0 {
		return SecretRef{}, errors.New("vault reference version needs KV v2 (kv=2)")
	}
	return ref, nil
}
