package whatsapp

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// The flex* types decode a JSON value whatever its JSON type and never return
// an error: encoding/json aborts the whole Unmarshal when a custom
// UnmarshalJSON fails, and Meta mixes strings and numbers for the same kind of
// field (timestamps, ids). A value that cannot be interpreted decodes to the
// zero value.

// flexString accepts a JSON string, number or boolean. null, objects and
// arrays decode to "".
type flexString string

// UnmarshalJSON implements json.Unmarshaler; it never fails.
func (s *flexString) UnmarshalJSON(b []byte) error {
	*s = flexString(jsonScalarString(b))
	return nil
}

// jsonScalarString returns the string form of a JSON scalar: the unquoted
// content of a string, the literal text of a number or boolean, and "" for
// null, objects and arrays.
func jsonScalarString(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return ""
	}
	switch b[0] {
	case '"':
		// Fast path: no escapes and valid UTF-8 means the content is the
		// string itself (the decoder has already validated the token).
		if len(b) >= 2 && bytes.IndexByte(b, '\\') < 0 && utf8.Valid(b) {
			return string(b[1 : len(b)-1])
		}
		var v string
		if json.Unmarshal(b, &v) != nil {
			return ""
		}
		return v
	case 'n', '{', '[':
		return ""
	default: // number, true, false
		return string(b)
	}
}

// flexTime is a Unix time in seconds given as a JSON number or as a string of
// digits (Meta uses strings in messages and statuses, numbers in
// account-level fields). Absent, unparsable or out-of-range values (not
// after 1970, or beyond year 9999, which time.Time cannot marshal) decode
// to 0.
type flexTime int64

// maxUnixSeconds is 9999-12-31T23:59:59Z.
const maxUnixSeconds = 253402300799

// UnmarshalJSON implements json.Unmarshaler; it never fails.
func (t *flexTime) UnmarshalJSON(b []byte) error {
	*t = 0
	s := jsonScalarString(b)
	if s == "" {
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || !(f > 0 && f <= maxUnixSeconds) { // also rejects NaN
			return nil
		}
		n = int64(f)
	}
	if n > 0 && n <= maxUnixSeconds {
		*t = flexTime(n)
	}
	return nil
}

// Time converts to a UTC time.Time; 0 gives the zero time.
func (t flexTime) Time() time.Time {
	if t == 0 {
		return time.Time{}
	}
	return time.Unix(int64(t), 0).UTC()
}

// flexFloat is a finite number given as a JSON number or a numeric string.
type flexFloat float64

// UnmarshalJSON implements json.Unmarshaler; it never fails.
func (f *flexFloat) UnmarshalJSON(b []byte) error {
	*f = 0
	s := jsonScalarString(b)
	if s == "" {
		return nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err == nil && !math.IsNaN(v) && !math.IsInf(v, 0) {
		*f = flexFloat(v)
	}
	return nil
}

// flexInt is an integer given as a JSON number (possibly written as 2.0) or
// a numeric string.
type flexInt int64

// UnmarshalJSON implements json.Unmarshaler; it never fails.
func (n *flexInt) UnmarshalJSON(b []byte) error {
	*n = 0
	s := jsonScalarString(b)
	if s == "" {
		return nil
	}
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		*n = flexInt(v)
		return nil
	}
	if v, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(v) &&
		v > math.MinInt64 && v < math.MaxInt64 {
		*n = flexInt(int64(v))
	}
	return nil
}

// flexBool is true for JSON true, the strings "true"/"1", and non-zero numbers.
type flexBool bool

// UnmarshalJSON implements json.Unmarshaler; it never fails.
func (v *flexBool) UnmarshalJSON(b []byte) error {
	s := jsonScalarString(b)
	switch s {
	case "", "false", "0", "False", "FALSE":
		*v = false
	case "true", "1", "True", "TRUE":
		*v = true
	default:
		f, err := strconv.ParseFloat(s, 64)
		*v = flexBool(err == nil && f != 0)
	}
	return nil
}
