// Package secrets resolves the secret references of a configuration
// (config.Secret) to their values.
//
// env://NAME and file:///path references are read on every Resolve;
// vault:// references are read through a Vault (see NewVault and
// Resolver.WithVault), which keeps them fresh, and fail with
// ErrVaultUnsupported without one. A literal (a value without a scheme) resolves to itself: config validation
// has already decided whether literals are allowed.
//
// Errors name the reference (with any env default redacted) and never
// contain a secret value.
package secrets

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"strings"

	"github.com/deskbridge/deskbridge/config"
)

// ErrVaultUnsupported is wrapped by the error Resolve returns for a vault://
// reference: Vault is not supported yet.
var ErrVaultUnsupported = errors.New("vault references are not supported yet")

// ErrNotSet is wrapped by the error Resolve returns for an env:// reference
// whose variable is unset and has no default.
var ErrNotSet = errors.New("environment variable not set")

// ErrEmpty is wrapped by the error Resolve returns when a secret resolves to
// an empty value (a set but empty variable, an empty file), which would fail
// later and less clearly.
var ErrEmpty = errors.New("secret is empty")

// Error is a failure to resolve one secret reference.
type Error struct {
	// Ref is the reference, redacted as config.Secret.String does.
	Ref string
	// Reason says what went wrong, without the secret's value.
	Reason string
	// Err is the underlying error (a sentinel of this package, or a file
	// system error), if any.
	Err error
}

// Error returns "secrets: <ref>: <reason>".
func (e *Error) Error() string { return "secrets: " + e.Ref + ": " + e.Reason }

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Resolver resolves secret references. It is safe for concurrent use.
type Resolver struct {
	lookupEnv func(string) (string, bool)
	readFile  func(string) ([]byte, error)
	vault     *Vault // nil: vault:// references are refused
}

// Invalidate makes the next Resolve of a vault:// reference read Vault
// again (a vendor rejected the value; it may have been rotated). Other
// references are read afresh every time anyway.
func (r *Resolver) Invalidate(s config.Secret) {
	if ref, err := s.Ref(); err == nil && ref.Scheme == config.SchemeVault && r.vault != nil {
		r.vault.Invalidate(ref)
	}
}

// Rejected records that a vendor refused the value of a vault:// reference
// even after it was read again (see Vault.Rejected); other references are
// ignored.
func (r *Resolver) Rejected(s config.Secret) {
	if ref, err := s.Ref(); err == nil && ref.Scheme == config.SchemeVault && r.vault != nil {
		r.vault.Rejected(ref)
	}
}

// HasVault reports whether r resolves vault:// references.
func (r *Resolver) HasVault() bool { return r.vault != nil }

// WithVault makes r resolve vault:// references through v. It returns r.
func (r *Resolver) WithVault(v *Vault) *Resolver {
	r.vault = v
	return r
}

// New returns a Resolver that reads environment variables with lookupEnv and
// files with readFile; nil means os.LookupEnv and os.ReadFile.
func New(lookupEnv func(string) (string, bool), readFile func(string) ([]byte, error)) *Resolver {
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	if readFile == nil {
		readFile = os.ReadFile
	}
	return &Resolver{lookupEnv: lookupEnv, readFile: readFile}
}

// Resolve returns the value s refers to:
//
//   - env://NAME: the variable's value, or the ?default= value when the
//     variable is unset; an unset variable without default wraps ErrNotSet.
//   - file:///path: the file's contents with one trailing newline (\n or
//     \r\n) trimmed.
//   - vault://mount/path#key: the key of a KV v2 (or ?kv=1 v1) secret, read
//     through the Vault set with WithVault (cached for its refresh
//     interval); without one, an error wrapping ErrVaultUnsupported.
//   - a literal: the literal itself.
//
// An empty value wraps ErrEmpty. Errors are *Error.
func (r *Resolver) Resolve(ctx context.Context, s config.Secret) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s == "" {
		return nil, &Error{Ref: `""`, Reason: "no secret reference given", Err: ErrEmpty}
	}
	ref, err := s.Ref()
	if err != nil {
		return nil, &Error{Ref: s.String(), Reason: "invalid secret reference: " + err.Error(), Err: err}
	}
	fail := func(reason string, err error) ([]byte, error) {
		return nil, &Error{Ref: ref.String(), Reason: reason, Err: err}
	}
	var value []byte
	switch ref.Scheme {
	case config.SchemeEnv:
		v, ok := r.lookupEnv(ref.Name)
		switch {
		case ok:
			value = []byte(v)
		case ref.HasDefault:
			value = []byte(ref.Default)
		default:
			return fail("environment variable not set", ErrNotSet)
		}
		if len(value) == 0 {
			return fail("environment variable is empty", ErrEmpty)
		}
	case config.SchemeFile:
		b, err := r.readFile(ref.Path)
		if err != nil {
			return fail(fileReason(err), err)
		}
		value = trimNewline(b)
		if len(value) == 0 {
			return fail("file is empty", ErrEmpty)
		}
	case config.SchemeVault:
		if r.vault == nil {
			return fail("Vault references are not supported without a vault section", ErrVaultUnsupported)
		}
		v, err := r.vault.Read(ctx, ref)
		if err != nil {
			return fail(err.Error(), err)
		}
		value = v
	default:
		value = []byte(string(s))
	}
	return value, nil
}

// fileReason words a file read error; os errors name the path but never the
// contents.
func fileReason(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "file does not exist"
	case errors.Is(err, fs.ErrPermission):
		return "permission denied reading the file"
	}
	return "cannot read the file: " + err.Error()
}

// trimNewline removes one trailing "\n" or "\r\n".
func trimNewline(b []byte) []byte {
	s := string(b)
	if t, ok := strings.CutSuffix(s, "\n"); ok {
		s = strings.TrimSuffix(t, "\r")
	}
	return []byte(s)
}

// Failure is a secret of a configuration that could not be resolved.
type Failure struct {
	// Path is the key path of the secret, such as whatsapp.app_secret.
	Path string
	// Err is the resolution error (usually *Error).
	Err error
}

// CheckError lists every secret of a configuration that failed to resolve.
type CheckError struct {
	Failures []Failure
}

// Error returns one "key.path: ref: reason" line per failure.
func (e *CheckError) Error() string {
	lines := make([]string, len(e.Failures))
	for i, f := range e.Failures {
		lines[i] = f.Path + ": " + strings.TrimPrefix(f.Err.Error(), "secrets: ")
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the failures' errors, so that errors.Is finds sentinels such
// as ErrVaultUnsupported.
func (e *CheckError) Unwrap() []error {
	errs := make([]error, len(e.Failures))
	for i, f := range e.Failures {
		errs[i] = f.Err
	}
	return errs
}

// CheckAll resolves every non-empty secret of c (see config.Config.Secrets),
// discarding the values, and returns a *CheckError listing all failures with
// their key paths, or nil. A cancelled ctx stops the check with ctx.Err().
func (r *Resolver) CheckAll(ctx context.Context, c *config.Config) error {
	var failures []Failure
	for _, s := range c.Secrets() {
		if _, err := r.Resolve(ctx, s.Secret); err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return ctxErr
			}
			failures = append(failures, Failure{Path: s.Path, Err: err})
		}
	}
	if len(failures) > 0 {
		return &CheckError{Failures: failures}
	}
	return nil
}
