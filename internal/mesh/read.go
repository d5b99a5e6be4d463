package mesh

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Problem codes the readers produce, beside the YAML ones of ParseYAML
// (yaml-syntax, duplicate-key, empty-file, multiple-documents, file-too-large,
// too-deep, too-many-nodes). They are stable: policies, SARIF rule ids and
// tests rely on them.
const (
	CodeWrongType           = "wrong-type"            // a value of the wrong YAML type
	CodeMissingKey          = "missing-key"           // a required key is absent or empty
	CodeUnknownFormat       = "unknown-format"        // not any format meshbot reads
	CodeUnsupportedVersion  = "unsupported-version"   // a known format at a version meshbot has no rules for; read anyway
	CodeNewerVersion        = "newer-version"         // a later version than meshbot knows, read with the closest one (a notice)
	CodeBadDate             = "bad-date"              // a sunset that is not YYYY-MM-DD
	CodeBadValue            = "bad-value"             // a value outside its allowed set or shape
	CodeBadDuration         = "bad-duration"          // a freshness/latency meshbot cannot compare
	CodeBadRef              = "bad-ref"               // a $ref that does not resolve inside the file
	CodeRefCycle            = "ref-cycle"             // $refs that refer to themselves
	CodeDuplicateName       = "duplicate-name"        // two ports or fields with one name
	CodeContractPathEscapes = "contract-path-escapes" // a contract path outside the checkout, or absolute
	CodeContractMissing     = "contract-missing"      // a contract path naming no file
	CodeReadError           = "read-error"            // the file system refused a read
	CodeFileTooLarge        = "file-too-large"        // over MaxFileBytes (ParseYAML, or a Source that did not fetch it)
)

// reader collects the problems of one file while its value is mapped onto the
// model. Every accessor reports a wrong type at the offending key and carries
// on with the zero value, so one bad attribute never hides the rest.
type reader struct {
	file  string
	probs []Problem
}

func (r *reader) add(code string, pos Pos, format string, args ...any) {
	if pos.File == "" {
		pos.File = r.file
	}
	if pos.Line == 0 {
		pos.Line = 1
	}
	r.probs = append(r.probs, Problem{Code: code, Pos: pos, Message: fmt.Sprintf(format, args...)})
}

// notice records a Problem that is only worth mentioning (see Problem.Notice).
func (r *reader) notice(code string, pos Pos, format string, args ...any) {
	r.add(code, pos, format, args...)
	r.probs[len(r.probs)-1].Notice = true
}

// obj is a mapping of the document with its index node and its dotted name
// for messages ("spec.outputPorts[0]").
type obj struct {
	r    *reader
	m    map[string]any
	n    *node
	name string
}

func (r *reader) root(doc *Document) (obj, bool) {
	m, ok := doc.Value.(map[string]any)
	var n *node
	if doc.Index != nil {
		n = doc.Index.root
	}
	return obj{r: r, m: m, n: n}, ok
}

// pos is where the mapping is named: its key, its sequence item, or the top
// of the file.
func (o obj) pos() Pos {
	if o.n != nil {
		if o.n.key.Line > 0 {
			return o.n.key
		}
		if o.n.value.Line > 0 {
			return o.n.value
		}
	}
	return Pos{File: o.r.file, Line: 1}
}

func (o obj) child(k string) *node {
	if o.n == nil {
		return nil
	}
	return o.n.fields[k]
}

// keyPos is the position of key k, or of the mapping when k is absent: a
// missing key is reported where it should have been written.
func (o obj) keyPos(k string) Pos {
	if c := o.child(k); c != nil && c.key.Line > 0 {
		return c.key
	}
	return o.pos()
}

func (o obj) path(k string) string {
	if o.name == "" {
		return k
	}
	return o.name + "." + k
}

func (o obj) has(k string) bool {
	v, ok := o.m[k]
	return ok && v != nil
}

// locs records the key position of every attribute written in the mapping,
// with prefix before each name (Product.Locs uses dotted paths).
func (o obj) locs(into Locs, prefix string) Locs {
	if into == nil {
		into = make(Locs, len(o.m))
	}
	if o.n == nil {
		return into
	}
	for k, c := range o.n.fields {
		into[prefix+k] = c.key
	}
	return into
}

func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int64, float64:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	}
	return fmt.Sprintf("%T", v)
}

func (o obj) wrong(k, want string, v any) {
	o.r.add(CodeWrongType, o.keyPos(k), "%s must be %s, not %s", o.path(k), want, kindOf(v))
}

// str reads an optional string. Null counts as absent: YAML writers leave
// empty keys behind and nothing is lost by ignoring them.
func (o obj) str(k string) string {
	v, ok := o.m[k]
	if !ok || v == nil {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		o.wrong(k, "a string", v)
	}
	return s
}

// reqStr reads a string that must be present and non-empty.
func (o obj) reqStr(k string) string {
	if !o.has(k) {
		o.missing(k)
		return ""
	}
	s := o.str(k)
	if s == "" {
		if _, isStr := o.m[k].(string); isStr {
			o.r.add(CodeMissingKey, o.keyPos(k), "%s is empty", o.path(k))
		}
	}
	return s
}

func (o obj) missing(k string) {
	where := o.name
	if where == "" {
		where = "the top level"
	}
	o.r.add(CodeMissingKey, o.keyPos(k), "%s is required in %s", k, where)
}

// scalarStr reads a string but also accepts numbers and booleans, for values
// such as enum members and ODCS SLA values whose type is free.
func (o obj) scalarStr(k string) string {
	v, ok := o.m[k]
	if !ok {
		return ""
	}
	s, ok := scalarString(v)
	if !ok {
		o.wrong(k, "a scalar", v)
	}
	return s
}

func scalarString(v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "", true
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), true
	}
	return "", false
}

func (o obj) boolean(k string) bool {
	v, ok := o.m[k]
	if !ok || v == nil {
		return false
	}
	b, ok := v.(bool)
	if !ok {
		o.wrong(k, "true or false", v)
	}
	return b
}

func (o obj) num(k string) *float64 {
	v, ok := o.m[k]
	if !ok || v == nil {
		return nil
	}
	var f float64
	switch x := v.(type) {
	case int64:
		f = float64(x)
	case float64:
		f = x
	default:
		o.wrong(k, "a number", v)
		return nil
	}
	return &f
}

func (o obj) integer(k string) *float64 {
	f := o.num(k)
	if f != nil && (*f != math.Trunc(*f)) {
		o.r.add(CodeWrongType, o.keyPos(k), "%s must be a whole number, not %v", o.path(k), *f)
		return nil
	}
	return f
}

// sub reads an optional nested mapping.
func (o obj) sub(k string) (obj, bool) {
	v, ok := o.m[k]
	if !ok || v == nil {
		return obj{}, false
	}
	m, ok := v.(map[string]any)
	if !ok {
		o.wrong(k, "a mapping", v)
		return obj{}, false
	}
	return obj{r: o.r, m: m, n: o.child(k), name: o.path(k)}, true
}

func (o obj) reqSub(k string) (obj, bool) {
	if !o.has(k) {
		o.missing(k)
		return obj{}, false
	}
	return o.sub(k)
}

// list reads an optional sequence, returning its items with their index
// nodes.
func (o obj) list(k string) ([]any, []*node, bool) {
	v, ok := o.m[k]
	if !ok || v == nil {
		return nil, nil, false
	}
	l, ok := v.([]any)
	if !ok {
		o.wrong(k, "a list", v)
		return nil, nil, false
	}
	var items []*node
	if c := o.child(k); c != nil {
		items = c.items
	}
	return l, items, true
}

// objects reads a sequence of mappings; an item of another type is reported
// and skipped.
func (o obj) objects(k string) []obj {
	l, nodes, ok := o.list(k)
	if !ok {
		return nil
	}
	out := make([]obj, 0, len(l))
	for i, v := range l {
		var n *node
		if i < len(nodes) {
			n = nodes[i]
		}
		name := fmt.Sprintf("%s[%d]", o.path(k), i)
		m, ok := v.(map[string]any)
		if !ok {
			o.r.add(CodeWrongType, nodePos(n, o.keyPos(k)), "%s must be a mapping, not %s", name, kindOf(v))
			continue
		}
		out = append(out, obj{r: o.r, m: m, n: n, name: name})
	}
	return out
}

// strings reads a sequence of scalars with the position of each.
func (o obj) strings(k string) ([]string, []Pos) {
	l, nodes, ok := o.list(k)
	if !ok {
		return nil, nil
	}
	out := make([]string, 0, len(l))
	pos := make([]Pos, 0, len(l))
	for i, v := range l {
		var n *node
		if i < len(nodes) {
			n = nodes[i]
		}
		s, ok := v.(string)
		if !ok {
			o.r.add(CodeWrongType, nodePos(n, o.keyPos(k)), "%s[%d] must be a string, not %s", o.path(k), i, kindOf(v))
			continue
		}
		out = append(out, s)
		pos = append(pos, nodePos(n, o.keyPos(k)))
	}
	return out, pos
}

// entries reads a mapping of named mappings (DCS models, fields,
// definitions) in written order.
func (o obj) entries(k string) []namedObj {
	sub, ok := o.sub(k)
	if !ok {
		return nil
	}
	keys := make([]string, 0, len(sub.m))
	if sub.n != nil {
		keys = append(keys, sub.n.order...)
	}
	if len(keys) != len(sub.m) { // no index (never in practice): fall back to map order
		keys = keys[:0]
		for name := range sub.m {
			keys = append(keys, name)
		}
	}
	out := make([]namedObj, 0, len(keys))
	for _, name := range keys {
		v := sub.m[name]
		m, ok := v.(map[string]any)
		if !ok {
			if v != nil {
				sub.wrong(name, "a mapping", v)
			} else {
				sub.r.add(CodeWrongType, sub.keyPos(name), "%s must be a mapping, not null", sub.path(name))
			}
			continue
		}
		out = append(out, namedObj{name: name, obj: obj{r: o.r, m: m, n: sub.child(name), name: sub.path(name)}})
	}
	return out
}

type namedObj struct {
	name string
	obj
}

func nodePos(n *node, fallback Pos) Pos {
	if n != nil {
		if n.key.Line > 0 {
			return n.key
		}
		if n.value.Line > 0 {
			return n.value
		}
	}
	return fallback
}

// asProblem turns a ParseYAML error into the Problem it carries.
func asProblem(path string, err error) Problem {
	var p Problem
	if errors.As(err, &p) {
		return p
	}
	return Problem{Code: CodeReadError, Pos: Pos{File: path, Line: 1}, Message: err.Error()}
}

// oneOf reports v when it is written and not in allowed.
func (o obj) oneOf(k, v string, allowed ...string) {
	if v == "" {
		return
	}
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	o.r.add(CodeBadValue, o.keyPos(k), "%s is %q; expected one of %s", o.path(k), v, strings.Join(allowed, ", "))
}
