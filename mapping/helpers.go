package mapping

import (
	"strings"
	"time"
	"unicode"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
)

// Named layouts accepted by format_time besides Go layouts.
var namedLayouts = map[string]string{
	"date":     "2006-01-02",
	"time":     "15:04",
	"datetime": "2006-01-02 15:04",
	"rfc3339":  time.RFC3339,
}

// epoch is what CEL reads for an unset time.Time; format_time prints "".
var epoch = time.Unix(0, 0)

// helperFuncs returns the helper functions of the expression language, with
// format_time working in zone:
//
//	lower(s), upper(s), trim(s)   Unicode case mapping, surrounding space removed
//	first_non_empty(list)         the first element that is not blank, trimmed; "" if none
//	first_non_empty(a, b[, c[, d]])
//	format_time(t, layout)        t in zone; layout "date", "time", "datetime",
//	                              "rfc3339" or a Go layout; "" for an unset time
//	mask_phone(s)                 all but the last 4 characters hidden: "***1222"
//	slug(s)                       lower case, runs of other than letters and
//	                              digits turned into "_", trimmed of "_": tag-safe
func helperFuncs(zone *time.Location) []cel.EnvOption {
	str := cel.StringType
	unary := func(name string, f func(string) string) cel.EnvOption {
		return cel.Function(name, cel.Overload(name+"_string", []*cel.Type{str}, str,
			cel.UnaryBinding(func(v ref.Val) ref.Val { return types.String(f(string(v.(types.String)))) })))
	}
	firstOfArgs := func(args ...ref.Val) ref.Val {
		for _, a := range args {
			if s := strings.TrimSpace(string(a.(types.String))); s != "" {
				return types.String(s)
			}
		}
		return types.String("")
	}
	return []cel.EnvOption{
		unary("lower", strings.ToLower),
		unary("upper", strings.ToUpper),
		unary("trim", strings.TrimSpace),
		unary("mask_phone", maskPhone),
		unary("slug", slug),
		cel.Function("first_non_empty",
			cel.Overload("first_non_empty_list", []*cel.Type{cel.ListType(str)}, str,
				cel.UnaryBinding(func(v ref.Val) ref.Val {
					it := v.(traits.Lister).Iterator()
					for it.HasNext() == types.True {
						if s, ok := it.Next().(types.String); ok {
							if t := strings.TrimSpace(string(s)); t != "" {
								return types.String(t)
							}
						}
					}
					return types.String("")
				})),
			cel.Overload("first_non_empty_2", []*cel.Type{str, str}, str,
				cel.BinaryBinding(func(a, b ref.Val) ref.Val { return firstOfArgs(a, b) })),
			cel.Overload("first_non_empty_3", []*cel.Type{str, str, str}, str,
				cel.FunctionBinding(firstOfArgs)),
			cel.Overload("first_non_empty_4", []*cel.Type{str, str, str, str}, str,
				cel.FunctionBinding(firstOfArgs)),
		),
		cel.Function("format_time",
			cel.Overload("format_time_timestamp_string", []*cel.Type{cel.TimestampType, str}, str,
				cel.BinaryBinding(func(t, layout ref.Val) ref.Val {
					return types.String(formatTime(t.(types.Timestamp).Time, string(layout.(types.String)), zone))
				})),
		),
	}
}

// formatTime formats t in zone with a named or Go layout; the Unix epoch (an
// unset time) gives "".
func formatTime(t time.Time, layout string, zone *time.Location) string {
	if t.Equal(epoch) || t.IsZero() {
		return ""
	}
	if l, ok := namedLayouts[layout]; ok {
		layout = l
	}
	return t.In(zone).Format(layout)
}

// slug turns s into a tag-safe word: lower case letters and digits, other
// runs replaced by "_", no leading or trailing "_".
func slug(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	pending := false
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if pending && b.Len() > 0 {
				b.WriteByte('_')
			}
			pending = false
			b.WriteRune(r)
			continue
		}
		pending = true
	}
	return b.String()
}
