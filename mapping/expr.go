package mapping

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
	"cel.dev/cel-go/ext"
	"cel.dev/cel-go/interpreter"
)

// DefaultCostLimit is the CEL cost one evaluation of one expression may use
// when CompileOptions.CostLimit is 0. Typical field expressions cost under
// 100, but cost grows with the length of the strings handled: a regex match
// over a 4,096-character message (the WhatsApp maximum) costs about 2,000,
// so a lower limit would fail rules only on long messages. A runaway
// expression reaches this limit in milliseconds.
const DefaultCostLimit = 100000

// CompileOptions tunes Compile.
type CompileOptions struct {
	// TimeZone is the zone of format_time; nil means UTC.
	TimeZone *time.Location
	// CostLimit bounds the CEL cost of one evaluation of one expression;
	// 0 means DefaultCostLimit. An evaluation over it fails with ErrCostLimit.
	CostLimit uint64
}

// ErrCostLimit is wrapped by the *EvalError of an evaluation stopped by the
// cost limit. It is permanent: the same inputs exceed it again.
var ErrCostLimit = errors.New("cost limit exceeded")

// Problem is one error found in one expression.
type Problem struct {
	Path    string // key path, such as mapping.ticket.subject or mapping.routing[2].when
	Message string // CEL's message, or the type or key the mapping refuses
	Line    int    // 1-based line in the expression; 0 when the problem has no position
	Column  int    // 1-based column (in characters) in the expression
}

// String formats p as "key.path: message (line:col)", leaving out the
// position when there is none.
func (p Problem) String() string {
	if p.Line == 0 {
		return p.Path + ": " + p.Message
	}
	return fmt.Sprintf("%s: %s (%d:%d)", p.Path, p.Message, p.Line, p.Column)
}

// CompileError lists every problem found by Compile, in configuration order.
type CompileError struct {
	Problems []Problem
}

// Error returns one problem per line.
func (e *CompileError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// EvalError is the failure of one expression at evaluation: a CEL runtime
// error (such as a missing map key), a value of the wrong type, or
// ErrCostLimit. Its message is "key.path: reason".
type EvalError struct {
	Path string
	Err  error
}

// Error returns "key.path: reason".
func (e *EvalError) Error() string { return e.Path + ": " + e.Err.Error() }

// Unwrap returns the reason.
func (e *EvalError) Unwrap() error { return e.Err }

// kind is what an expression must produce.
type kind int

const (
	kindString kind = iota // string or null
	kindBool               // bool
	kindTags               // string, list of strings or null
	kindValue              // string, int, double, bool or null (custom field)
)

// want describes k in type errors.
func (k kind) want() string {
	switch k {
	case kindString:
		return "string or null"
	case kindBool:
		return "bool"
	case kindTags:
		return "string, list(string) or null"
	default:
		return "string, int, double, bool or null"
	}
}

// accepts reports whether an expression whose checked type is t can produce
// a value of kind k. dyn is accepted and checked at evaluation.
func (k kind) accepts(t *cel.Type) bool {
	switch t.Kind() {
	case types.DynKind:
		return true
	case types.BoolKind:
		return k == kindBool || k == kindValue
	case types.NullTypeKind:
		return k != kindBool
	case types.StringKind:
		return k != kindBool
	case types.IntKind, types.DoubleKind:
		return k == kindValue
	case types.ListKind:
		if k != kindTags {
			return false
		}
		elem := t.Parameters()[0].Kind()
		return elem == types.StringKind || elem == types.DynKind
	}
	return false
}

// expr is one compiled expression.
type expr struct {
	path string
	kind kind
	prg  cel.Program
	out  *cel.Type // the checked output type
}

// compiler compiles expressions against one environment and collects the
// problems.
type compiler struct {
	env      *cel.Env
	prgOpts  []cel.ProgramOption
	problems []Problem
}

// newCompiler builds the CEL environment: the variables, the standard
// strings extension and the helpers.
func newCompiler(opts CompileOptions) (*compiler, error) {
	zone := opts.TimeZone
	if zone == nil {
		zone = time.UTC
	}
	limit := opts.CostLimit
	if limit == 0 {
		limit = DefaultCostLimit
	}
	envOpts := []cel.EnvOption{
		ext.NativeTypes(ext.ParseStructTags(true),
			reflect.TypeFor[Contact](), reflect.TypeFor[Message](), reflect.TypeFor[Referral](),
			reflect.TypeFor[MessageContext](), reflect.TypeFor[Number](), reflect.TypeFor[Conversation](),
			reflect.TypeFor[Ticket](), reflect.TypeFor[Comment]()),
		cel.Variable("contact", cel.ObjectType("mapping.Contact")),
		cel.Variable("message", cel.ObjectType("mapping.Message")),
		cel.Variable("number", cel.ObjectType("mapping.Number")),
		cel.Variable("conversation", cel.ObjectType("mapping.Conversation")),
		cel.Variable("ticket", cel.ObjectType("mapping.Ticket")),
		cel.Variable("comment", cel.ObjectType("mapping.Comment")),
		ext.Strings(),
		cel.OptionalTypes(),
	}
	env, err := cel.NewEnv(append(envOpts, helperFuncs(zone)...)...)
	if err != nil {
		return nil, fmt.Errorf("mapping: expression environment: %w", err)
	}
	return &compiler{
		env:     env,
		prgOpts: []cel.ProgramOption{cel.CostLimit(limit), cel.EvalOptions(cel.OptOptimize)},
	}, nil
}

// add records a problem.
func (c *compiler) add(path string, line, col int, format string, args ...any) {
	c.problems = append(c.problems, Problem{Path: path, Message: fmt.Sprintf(format, args...), Line: line, Column: col})
}

// compile compiles src, which must produce a value of kind k. It returns nil
// (and records every problem) when src does not compile.
func (c *compiler) compile(path, src string, k kind) *expr {
	if strings.TrimSpace(src) == "" {
		c.add(path, 0, 0, "empty expression")
		return nil
	}
	ast, iss := c.env.Compile(src)
	if iss.Err() != nil {
		for _, e := range iss.Errors() {
			c.problems = append(c.problems, Problem{
				Path: path, Message: e.Message,
				Line: e.Location.Line(), Column: e.Location.Column() + 1,
			})
		}
		return nil
	}
	if t := ast.OutputType(); !k.accepts(t) {
		line, col := startOf(src)
		c.add(path, line, col, "expression has type %s, want %s", typeName(t), k.want())
		return nil
	}
	prg, err := c.env.Program(ast, c.prgOpts...)
	if err != nil {
		line, col := startOf(src)
		c.add(path, line, col, "%v", err)
		return nil
	}
	return &expr{path: path, kind: k, prg: prg, out: ast.OutputType()}
}

// typeName names t as integrators write it.
func typeName(t *cel.Type) string {
	switch t.Kind() {
	case types.TimestampKind:
		return "timestamp (use format_time)"
	case types.DurationKind:
		return "duration"
	}
	return t.String()
}

// startOf returns the 1-based line and column of the first non-space
// character of src.
func startOf(src string) (line, col int) {
	line, col = 1, 1
	for _, r := range src {
		switch {
		case r == '\n':
			line, col = line+1, 1
		case unicode.IsSpace(r):
			col++
		default:
			return line, col
		}
	}
	return line, col
}

// eval runs e; errors are *EvalError.
func (e *expr) eval(act interpreter.Activation) (ref.Val, error) {
	out, _, err := e.prg.Eval(act)
	if err != nil {
		var cancelled interpreter.EvalCancelledError
		if errors.As(err, &cancelled) && cancelled.Cause == interpreter.CostLimitExceeded {
			err = ErrCostLimit
		}
		return nil, &EvalError{Path: e.path, Err: err}
	}
	return out, nil
}

// typeErr is the error of a value of the wrong type.
func (e *expr) typeErr(v ref.Val) error {
	return &EvalError{Path: e.path, Err: fmt.Errorf("evaluated to %s, want %s", v.Type().TypeName(), e.kind.want())}
}

// str evaluates a string expression; null gives "".
func (e *expr) str(act interpreter.Activation) (string, error) {
	v, err := e.eval(act)
	if err != nil {
		return "", err
	}
	switch v := v.(type) {
	case types.String:
		return string(v), nil
	case types.Null:
		return "", nil
	}
	return "", e.typeErr(v)
}

// boolean evaluates a condition.
func (e *expr) boolean(act interpreter.Activation) (bool, error) {
	v, err := e.eval(act)
	if err != nil {
		return false, err
	}
	if b, ok := v.(types.Bool); ok {
		return bool(b), nil
	}
	return false, e.typeErr(v)
}

// tags evaluates a tag expression: a string gives one tag, a list several,
// null none. Tags are trimmed; blank ones are dropped.
func (e *expr) tags(act interpreter.Activation, into []string) ([]string, error) {
	v, err := e.eval(act)
	if err != nil {
		return into, err
	}
	switch v := v.(type) {
	case types.String:
		return appendTag(into, string(v)), nil
	case types.Null:
		return into, nil
	case traits.Lister:
		it := v.Iterator()
		for it.HasNext() == types.True {
			s, ok := it.Next().(types.String)
			if !ok {
				return into, e.typeErr(v)
			}
			into = appendTag(into, string(s))
		}
		return into, nil
	}
	return into, e.typeErr(v)
}

// appendTag appends the trimmed tag t to list unless it is blank or already
// there.
func appendTag(list []string, t string) []string {
	t = strings.TrimSpace(t)
	if t == "" {
		return list
	}
	for _, have := range list {
		if have == t {
			return list
		}
	}
	return append(list, t)
}

// value evaluates a custom field expression into string, int64, float64 or
// bool; set is false for null and "".
func (e *expr) value(act interpreter.Activation) (val any, set bool, err error) {
	v, err := e.eval(act)
	if err != nil {
		return nil, false, err
	}
	switch v := v.(type) {
	case types.String:
		return string(v), v != "", nil
	case types.Int:
		return int64(v), true, nil
	case types.Double:
		return float64(v), true, nil
	case types.Bool:
		return bool(v), true, nil
	case types.Null:
		return nil, false, nil
	}
	return nil, false, e.typeErr(v)
}

// activation resolves the variables of one evaluation. Nil ticket and
// comment read as zero values.
type activation struct {
	v       *Vars
	ticket  *Ticket
	comment *Comment
}

// newActivation returns the activation of v; ticket, when not nil, replaces
// v.Ticket.
func newActivation(v *Vars, ticket *Ticket) *activation {
	if v == nil {
		v = &Vars{}
	}
	a := &activation{v: v, ticket: ticket, comment: v.Comment}
	if a.ticket == nil {
		a.ticket = v.Ticket
	}
	if a.ticket == nil {
		a.ticket = &Ticket{}
	}
	if a.comment == nil {
		a.comment = &Comment{}
	}
	return a
}

// ResolveName implements interpreter.Activation.
func (a *activation) ResolveName(name string) (any, bool) {
	switch name {
	case "contact":
		return &a.v.Contact, true
	case "message":
		return &a.v.Message, true
	case "number":
		return &a.v.Number, true
	case "conversation":
		return &a.v.Conversation, true
	case "ticket":
		return a.ticket, true
	case "comment":
		return a.comment, true
	}
	return nil, false
}

// Parent implements interpreter.Activation.
func (a *activation) Parent() interpreter.Activation { return nil }

var plainKeyRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// joinKey appends a map key to a key path as the config package does:
// mapping.ticket.custom_fields.360001, mapping.contact.fields["a.b"].
func joinKey(path, key string) string {
	if plainKeyRE.MatchString(key) {
		return path + "." + key
	}
	return path + "[" + strconv.Quote(key) + "]"
}

// indexPath appends a list index to a key path.
func indexPath(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }
