package compat

import (
	"strconv"
	"strings"
)

// kind is the family of a logical or physical type. Spellings from DCS,
// ODCS, SQL dialects, Avro and Spark map onto the same families so that
// "varchar(20)", "text" and "string" compare as what they are.
type kind int

const (
	kUnknown kind = iota
	kString
	kInt
	kFloat
	kDecimal
	kNumber // DCS/ODCS "number": any numeric value
	kBool
	kDate
	kTimestamp    // an instant (timestamp, timestamp_tz, timestamp_ltz)
	kTimestampNTZ // a wall-clock time without zone (timestamp_ntz, datetime)
	kTime
	kBytes
	kObject
	kArray
	kMap
	kNull
)

// typeInfo is a parsed type. bits is the width of ints and floats; for
// strings p is the maximum length and for decimals p and s are precision and
// scale; -1 means unbounded or unknown.
type typeInfo struct {
	kind kind
	bits int
	p, s int
	name string // lower-cased base name, what unknown kinds compare by
}

// typeVerdict is how a type change looks to a reader.
type typeVerdict int

const (
	typeSame typeVerdict = iota
	typeRespelled
	typeWidened
	typeReinterpreted
	typeNarrowed
	typeChanged
)

var baseKinds = map[string]typeInfo{
	"string": {kind: kString}, "text": {kind: kString}, "varchar": {kind: kString},
	"char": {kind: kString}, "character": {kind: kString}, "nvarchar": {kind: kString},
	"nchar": {kind: kString}, "clob": {kind: kString}, "character varying": {kind: kString},
	"tinyint": {kind: kInt, bits: 8}, "byte": {kind: kInt, bits: 8},
	"smallint": {kind: kInt, bits: 16}, "short": {kind: kInt, bits: 16}, "int2": {kind: kInt, bits: 16}, "int16": {kind: kInt, bits: 16},
	"int": {kind: kInt, bits: 32}, "integer": {kind: kInt, bits: 32}, "int4": {kind: kInt, bits: 32}, "int32": {kind: kInt, bits: 32}, "mediumint": {kind: kInt, bits: 32},
	"bigint": {kind: kInt, bits: 64}, "long": {kind: kInt, bits: 64}, "int8": {kind: kInt, bits: 64}, "int64": {kind: kInt, bits: 64},
	"hugeint": {kind: kInt, bits: 128}, "int128": {kind: kInt, bits: 128},
	"float": {kind: kFloat, bits: 32}, "float4": {kind: kFloat, bits: 32}, "real": {kind: kFloat, bits: 32}, "float32": {kind: kFloat, bits: 32},
	"double": {kind: kFloat, bits: 64}, "float8": {kind: kFloat, bits: 64}, "float64": {kind: kFloat, bits: 64}, "double precision": {kind: kFloat, bits: 64},
	"decimal": {kind: kDecimal}, "numeric": {kind: kDecimal}, "dec": {kind: kDecimal},
	"number":  {kind: kNumber},
	"boolean": {kind: kBool}, "bool": {kind: kBool},
	"date":      {kind: kDate},
	"timestamp": {kind: kTimestamp}, "timestamp_tz": {kind: kTimestamp}, "timestamptz": {kind: kTimestamp},
	"timestamp_ltz": {kind: kTimestamp}, "timestamp with time zone": {kind: kTimestamp},
	"timestamp_ntz": {kind: kTimestampNTZ}, "datetime": {kind: kTimestampNTZ}, "timestamp without time zone": {kind: kTimestampNTZ},
	"time":  {kind: kTime},
	"bytes": {kind: kBytes}, "binary": {kind: kBytes}, "blob": {kind: kBytes}, "varbinary": {kind: kBytes}, "bytea": {kind: kBytes},
	"object": {kind: kObject}, "record": {kind: kObject}, "struct": {kind: kObject},
	"array": {kind: kArray}, "list": {kind: kArray},
	"map":  {kind: kMap},
	"null": {kind: kNull},
}

// parseType reads a type as written. Parameters in parentheses are read for
// strings (length) and decimals (precision, scale); any other parameter list
// is kept in name so that unknown types still compare exactly.
func parseType(t string) typeInfo {
	t = strings.ToLower(strings.Join(strings.Fields(t), " "))
	base, params := t, ""
	if i := strings.IndexByte(t, '('); i >= 0 && strings.HasSuffix(t, ")") {
		base, params = strings.TrimSpace(t[:i]), t[i+1:len(t)-1]
	}
	ti, ok := baseKinds[base]
	if !ok {
		return typeInfo{kind: kUnknown, name: t, p: -1, s: -1}
	}
	ti.name, ti.p, ti.s = base, -1, -1
	if params == "" {
		return ti
	}
	nums := strings.Split(params, ",")
	switch ti.kind {
	case kString:
		if n, err := strconv.Atoi(strings.TrimSpace(nums[0])); err == nil && len(nums) == 1 && n >= 0 {
			ti.p = n
			return ti
		}
	case kNumber, kDecimal:
		// Snowflake and Oracle spell decimals NUMBER(p,s).
		ti.kind = kDecimal
		p, err := strconv.Atoi(strings.TrimSpace(nums[0]))
		if err != nil || p < 0 || len(nums) > 2 {
			break
		}
		ti.p, ti.s = p, 0
		if len(nums) == 2 {
			s, err := strconv.Atoi(strings.TrimSpace(nums[1]))
			if err != nil || s < 0 || s > p {
				break
			}
			ti.s = s
		}
		return ti
	}
	return typeInfo{kind: kUnknown, name: t, p: -1, s: -1}
}

// intDigits is how many decimal digits an integer of that width needs.
func intDigits(bits int) int {
	switch {
	case bits <= 8:
		return 3
	case bits <= 16:
		return 5
	case bits <= 32:
		return 10
	case bits <= 64:
		return 19
	}
	return 39
}

// compareTypes says how a reader sees a change of type from old to new. Both
// are non-empty.
func compareTypes(oldT, newT string) typeVerdict {
	if strings.EqualFold(strings.TrimSpace(oldT), strings.TrimSpace(newT)) {
		return typeSame
	}
	a, b := parseType(oldT), parseType(newT)
	if a.kind == kUnknown || b.kind == kUnknown {
		if a.kind == b.kind && a.name == b.name {
			return typeSame
		}
		return typeChanged
	}
	if a.kind == b.kind {
		return sameKind(a, b)
	}
	switch {
	case b.kind == kNumber && (a.kind == kInt || a.kind == kFloat || a.kind == kDecimal):
		return typeWidened
	case a.kind == kNumber && (b.kind == kInt || b.kind == kFloat || b.kind == kDecimal):
		return typeNarrowed
	case a.kind == kInt && b.kind == kDecimal:
		if b.p < 0 || b.p-b.s >= intDigits(a.bits) {
			return typeWidened
		}
		return typeNarrowed
	case a.kind == kInt && b.kind == kFloat:
		// Exact only while the mantissa holds every integer of the old
		// width (24 bits for float, 53 for double); int to float is not.
		if (b.bits == 64 && a.bits <= 32) || (b.bits == 32 && a.bits <= 16) {
			return typeWidened
		}
		return typeChanged
	case (a.kind == kFloat || a.kind == kDecimal) && b.kind == kInt:
		return typeNarrowed
	case a.kind == kDate && (b.kind == kTimestamp || b.kind == kTimestampNTZ):
		return typeReinterpreted
	case (a.kind == kTimestamp || a.kind == kTimestampNTZ) && (b.kind == kTimestampNTZ || b.kind == kTimestamp):
		return typeReinterpreted
	case (a.kind == kTimestamp || a.kind == kTimestampNTZ) && b.kind == kDate:
		return typeNarrowed
	case a.kind == kString:
		// A string holds any rendering; every other type admits fewer values.
		return typeNarrowed
	}
	return typeChanged
}

func sameKind(a, b typeInfo) typeVerdict {
	switch a.kind {
	case kInt, kFloat:
		return order(a.bits, b.bits, false)
	case kString:
		return order(a.p, b.p, true)
	case kDecimal:
		if a.p == b.p && a.s == b.s {
			break
		}
		if a.p < 0 || b.p < 0 {
			if b.p < 0 {
				return typeWidened
			}
			return typeNarrowed
		}
		ai, bi := a.p-a.s, b.p-b.s
		switch {
		case bi >= ai && b.s >= a.s:
			return typeWidened
		case bi <= ai && b.s <= a.s:
			return typeNarrowed
		}
		return typeChanged
	}
	if a.name == b.name && a.p == b.p && a.s == b.s {
		return typeSame
	}
	return typeRespelled
}

// order compares two widths; with unboundedIsMax, -1 is larger than any.
func order(a, b int, unboundedIsMax bool) typeVerdict {
	if unboundedIsMax {
		if a < 0 {
			a = int(^uint(0) >> 1)
		}
		if b < 0 {
			b = int(^uint(0) >> 1)
		}
	}
	switch {
	case b > a:
		return typeWidened
	case b < a:
		return typeNarrowed
	}
	return typeRespelled
}
