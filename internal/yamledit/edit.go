package yamledit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// doc is the file being edited: its bytes and their node tree. Every edit
// splices text into the bytes and parses them again, so the next edit
// locates its place in the text as it now is; nothing is ever serialised
// from the tree.
type doc struct {
	s    *source
	root *yaml.Node // the document's top-level node
}

var errMultiDoc = errors.New("the file holds more than one YAML document; meshbot reads one descriptor or contract per file")

func parse(b []byte) (*doc, error) {
	var d yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, errMultiDoc
	}
	if d.Kind != yaml.DocumentNode || len(d.Content) == 0 {
		return nil, errors.New("the file is empty")
	}
	return &doc{s: newSource(b), root: d.Content[0]}, nil
}

// splice returns the bytes with [from, to) replaced by text.
func (d *doc) splice(from, to int, text string) []byte {
	out := make([]byte, 0, len(d.s.b)-(to-from)+len(text))
	out = append(out, d.s.b[:from]...)
	out = append(out, text...)
	return append(out, d.s.b[to:]...)
}

// entry finds key in mapping m: the index of its key node in m.Content, or
// -1. Keys that come in through a merge key (<<) are not the mapping's
// own and are not found.
func entry(m *yaml.Node, key string) int {
	if m == nil || m.Kind != yaml.MappingNode {
		return -1
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && k.Value == key && k.Tag != "!!merge" {
			return i
		}
	}
	return -1
}

func value(m *yaml.Node, key string) *yaml.Node {
	if i := entry(m, key); i >= 0 {
		return m.Content[i+1]
	}
	return nil
}

func isFlow(n *yaml.Node) bool { return n.Style&yaml.FlowStyle != 0 }

// indentOf is the column of a block collection's keys or dashes.
func (d *doc) indentOf(n *yaml.Node) (int, error) {
	st, err := d.s.start(n)
	if err != nil {
		return 0, err
	}
	return d.s.column(st), nil
}

// entryEnd is where entry i of block mapping m ends: after its value, or
// after the colon of a key with no value.
func (d *doc) entryEnd(m *yaml.Node, i int) (int, error) {
	ind, err := d.indentOf(m)
	if err != nil {
		return 0, err
	}
	v := m.Content[i+1]
	if isEmptyValue(v) {
		ke, err := d.s.end(m.Content[i], ind)
		if err != nil {
			return 0, err
		}
		return d.s.colonAfter(ke)
	}
	return d.s.end(v, ind)
}

// style is how inserted text is laid out: the file's own indentation step
// and sequence style.
type style struct {
	step       int // columns a nested block mapping is indented by
	seqIndent  int // columns a block sequence's dashes are indented from its key (0: indentless)
	itemIndent int // columns from a dash to its item's keys
	eol        string
}

// detectStyle reads the file's habits from the first nested block mapping
// and block sequence it finds; two-space indentation otherwise.
func (d *doc) detectStyle() style {
	st := style{step: -1, seqIndent: -1, itemIndent: -1}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode && !isFlow(n) {
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if isFlow(v) || v.Line == k.Line {
					continue
				}
				switch {
				case v.Kind == yaml.MappingNode && st.step < 0 && v.Column > k.Column:
					st.step = v.Column - k.Column
				case v.Kind == yaml.SequenceNode && st.seqIndent < 0 && v.Column >= k.Column:
					st.seqIndent = v.Column - k.Column
				}
			}
		}
		if n.Kind == yaml.SequenceNode && !isFlow(n) && st.itemIndent < 0 {
			for _, it := range n.Content {
				if it.Kind == yaml.MappingNode && !isFlow(it) && it.Line == n.Line && it.Column > n.Column {
					st.itemIndent = it.Column - n.Column
					break
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(d.root)
	if st.step <= 0 {
		st.step = 2
	}
	if st.seqIndent < 0 {
		st.seqIndent = st.step
	}
	if st.itemIndent <= 0 {
		st.itemIndent = 2
	}
	return st
}

// val is a value to write: a scalar, a mapping (entries) or a sequence
// (items).
type val struct {
	scalar  string
	kind    scalarKind
	entries []kv
	items   []val
	isSeq   bool
}

type kv struct {
	key string
	v   val
}

type scalarKind int

const (
	kindString scalarKind = iota
	kindDate              // YYYY-MM-DD, checked before it gets here
	kindBool
)

func str(s string) val  { return val{scalar: s} }
func date(s string) val { return val{scalar: s, kind: kindDate} }

func (v val) isMap() bool { return v.entries != nil }

// scalarText renders s plain where YAML reads it back as the same string
// (in a flow collection when flow), else in quotes: prefer the style
// (quote) the value had before, when it can hold s.
func scalarText(v val, flow bool, prev yaml.Style) string {
	if v.kind != kindString {
		return v.scalar
	}
	s := v.scalar
	if prev&yaml.SingleQuotedStyle != 0 && !strings.ContainsAny(s, "\n\r\t\\") && isPrintable(s) {
		return "'" + strings.ReplaceAll(s, "'", "''") + "'"
	}
	if prev&yaml.DoubleQuotedStyle == 0 && plainSafe(s, flow) {
		return s
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}

func isPrintable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == 0x85 || r == 0x2028 || r == 0x2029 || r == 0xFEFF {
			return false
		}
	}
	return true
}

// plainSafe asks yaml.v3 whether s written plain reads back as the string
// s: it knows every indicator, comment and implicit type.
func plainSafe(s string, flow bool) bool {
	if s == "" || !isPrintable(s) || strings.TrimSpace(s) != s {
		return false
	}
	src := "k: " + s
	if flow {
		src = "k: [" + s + "]"
	}
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(src), &n); err != nil || len(n.Content) != 1 {
		return false
	}
	m := n.Content[0]
	if m.Kind != yaml.MappingNode || len(m.Content) != 2 {
		return false
	}
	v := m.Content[1]
	if flow {
		if v.Kind != yaml.SequenceNode || len(v.Content) != 1 {
			return false
		}
		v = v.Content[0]
	}
	return v.Kind == yaml.ScalarNode && v.Tag == "!!str" && v.Value == s && v.Style == 0
}

// flowText renders v in flow style.
func flowText(v val) string {
	switch {
	case v.isMap():
		parts := make([]string, len(v.entries))
		for i, e := range v.entries {
			parts[i] = e.key + ": " + flowText(e.v)
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case v.isSeq:
		parts := make([]string, len(v.items))
		for i, it := range v.items {
			parts[i] = flowText(it)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return scalarText(v, true, 0)
}

// blockEntry renders key: v as block lines at indent, each ending in eol.
func blockEntry(key string, v val, indent int, st style) string {
	pad := strings.Repeat(" ", indent)
	switch {
	case v.isMap():
		var b strings.Builder
		b.WriteString(pad + key + ":" + st.eol)
		for _, e := range v.entries {
			b.WriteString(blockEntry(e.key, e.v, indent+st.step, st))
		}
		return b.String()
	case v.isSeq:
		var b strings.Builder
		b.WriteString(pad + key + ":" + st.eol)
		for _, it := range v.items {
			b.WriteString(blockItem(it, indent+st.seqIndent, st))
		}
		return b.String()
	}
	return pad + key + ": " + scalarText(v, false, 0) + st.eol
}

// blockItem renders a sequence item (a mapping) with its dash at indent.
func blockItem(v val, indent int, st style) string {
	inner := indent + st.itemIndent
	var b strings.Builder
	for _, e := range v.entries {
		b.WriteString(blockEntry(e.key, e.v, inner, st))
	}
	out := b.String()
	return strings.Repeat(" ", indent) + "-" + strings.Repeat(" ", st.itemIndent-1) + out[inner:]
}

// setScalar writes v as the value of key in mapping m: in place of the
// value it has, or as a new entry after the entry named after (the first
// of them present), else first in the mapping when first, else last.
func (d *doc) setScalar(m *yaml.Node, key string, v val, after []string, first bool) ([]byte, error) {
	if i := entry(m, key); i >= 0 {
		old := m.Content[i+1]
		if old.Kind != yaml.ScalarNode || isEmptyValue(old) {
			return d.replaceValue(m, i, v)
		}
		if old.Value == v.scalar && (v.kind != kindString || old.Tag == "!!str") {
			return d.s.b, nil
		}
		from, err := d.s.valueStart(old)
		if err != nil {
			return nil, err
		}
		ind, err := d.indentOf(m)
		if err != nil {
			return nil, err
		}
		to, err := d.s.end(old, ind)
		if err != nil {
			return nil, err
		}
		return d.splice(from, to, scalarText(v, isFlow(m) || d.inFlow(m), old.Style)), nil
	}
	return d.insert(m, key, v, after, first)
}

// inFlow reports whether n sits inside a flow collection (and so must be
// written in flow style whatever its own style says).
func (d *doc) inFlow(n *yaml.Node) bool {
	var found, flow bool
	var walk func(c *yaml.Node, inFlow bool)
	walk = func(c *yaml.Node, inFlow bool) {
		if found {
			return
		}
		if c == n {
			found, flow = true, inFlow
			return
		}
		for _, k := range c.Content {
			walk(k, inFlow || isFlow(c))
		}
	}
	walk(d.root, false)
	return flow
}

// replaceValue writes v over the whole value of entry i of m (a null, or a
// value of the wrong shape).
func (d *doc) replaceValue(m *yaml.Node, i int, v val) ([]byte, error) {
	k, old := m.Content[i], m.Content[i+1]
	ind, err := d.indentOf(m)
	if err != nil {
		return nil, err
	}
	ks, err := d.s.start(k)
	if err != nil {
		return nil, err
	}
	ke, err := d.s.end(k, ind)
	if err != nil {
		return nil, err
	}
	colon, err := d.s.colonAfter(ke)
	if err != nil {
		return nil, err
	}
	to, err := d.entryEnd(m, i)
	if err != nil {
		return nil, err
	}
	if old.Anchor != "" {
		return nil, fmt.Errorf("line %d: %s carries anchor &%s; meshbot will not rewrite an anchored value", k.Line, k.Value, old.Anchor)
	}
	if isFlow(m) || d.inFlow(m) || (!v.isMap() && !v.isSeq) {
		text := " " + flowText(v)
		if !isFlow(m) && !d.inFlow(m) {
			text = " " + scalarText(v, false, 0)
		}
		return d.splice(colon, to, text), nil
	}
	st := d.detectStyle()
	st.eol = d.s.eol(ks)
	// key:\n + the block at the key's indentation + a step.
	text := blockEntry(k.Value, v, d.s.column(ks), st)
	text = strings.TrimSuffix(text[strings.Index(text, ":")+1:], st.eol)
	if isEmptyValue(old) {
		// Below the key's line, so that a comment on it stays there.
		le := d.s.lineEnd(colon)
		return d.splice(le, le, text), nil
	}
	return d.splice(colon, to, text), nil
}

// insert adds key: v to mapping m.
func (d *doc) insert(m *yaml.Node, key string, v val, after []string, first bool) ([]byte, error) {
	if m.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: expected a mapping", m.Line)
	}
	at := -1
	for _, a := range after {
		if i := entry(m, a); i >= 0 {
			at = i
			break
		}
	}
	if isFlow(m) || d.inFlow(m) {
		text := key + ": " + flowText(v)
		if len(m.Content) == 0 {
			open, err := d.s.valueStart(m)
			if err != nil {
				return nil, err
			}
			return d.splice(open+1, open+1, text), nil
		}
		if at < 0 {
			at = len(m.Content) - 2
		}
		ind, _ := d.indentOf(m)
		e, err := d.s.end(m.Content[at+1], ind)
		if err != nil {
			return nil, err
		}
		if isEmptyValue(m.Content[at+1]) {
			if e, err = d.entryEnd(m, at); err != nil {
				return nil, err
			}
		}
		return d.splice(e, e, ", "+text), nil
	}
	ind, err := d.indentOf(m)
	if err != nil {
		return nil, err
	}
	st := d.detectStyle()
	if at < 0 && first && len(m.Content) > 0 {
		ks, err := d.s.start(m.Content[0])
		if err != nil {
			return nil, err
		}
		if d.s.firstOnLine(ks) {
			st.eol = d.s.eol(ks)
			ls := d.s.lineStart(ks)
			// Above the first key's own comment lines, which belong to it.
			for ls > 0 {
				prev := d.s.lineStart(ls - 1)
				line := bytes.TrimSpace(d.s.b[prev:ls])
				if len(line) == 0 || line[0] != '#' {
					break
				}
				ls = prev
			}
			return d.splice(ls, ls, blockEntry(key, v, ind, st)), nil
		}
	}
	if at < 0 {
		at = len(m.Content) - 2
	}
	if at < 0 {
		return nil, fmt.Errorf("line %d: cannot add to an empty block mapping", m.Line)
	}
	e, err := d.entryEnd(m, at)
	if err != nil {
		return nil, err
	}
	st.eol = d.s.eol(e)
	pos := d.s.nextLine(e - 1)
	text := blockEntry(key, v, ind, st)
	if pos == len(d.s.b) && d.s.lineEnd(e-1) == len(d.s.b) {
		text = st.eol + strings.TrimSuffix(text, st.eol)
	}
	return d.splice(pos, pos, text), nil
}

// remove deletes entry key from mapping m; absent, nothing changes.
func (d *doc) remove(m *yaml.Node, key string) ([]byte, error) {
	i := entry(m, key)
	if i < 0 {
		return d.s.b, nil
	}
	return d.removeAt(m, i, 2)
}

// removeAt deletes the element at Content index i of collection c (width
// 2 for a mapping entry, 1 for a sequence item).
func (d *doc) removeAt(c *yaml.Node, i, width int) ([]byte, error) {
	ind, err := d.indentOf(c)
	if err != nil {
		return nil, err
	}
	from, err := d.s.start(c.Content[i])
	if err != nil {
		return nil, err
	}
	var to int
	if width == 2 {
		to, err = d.entryEnd(c, i)
		if isFlow(c) || d.inFlow(c) {
			if !isEmptyValue(c.Content[i+1]) {
				to, err = d.s.end(c.Content[i+1], ind)
			}
		}
	} else {
		to, err = d.s.end(c.Content[i], ind)
	}
	if err != nil {
		return nil, err
	}
	next := i + width
	if isFlow(c) || d.inFlow(c) {
		switch {
		case next < len(c.Content):
			ns, err := d.s.start(c.Content[next])
			if err != nil {
				return nil, err
			}
			return d.splice(from, ns, ""), nil
		case i > 0:
			pe, err := d.s.end(c.Content[i-1], ind)
			if err != nil {
				return nil, err
			}
			if width == 2 && isEmptyValue(c.Content[i-1]) {
				if pe, err = d.entryEnd(c, i-2); err != nil {
					return nil, err
				}
			}
			return d.splice(pe, to, ""), nil
		}
		return d.splice(from, to, ""), nil
	}
	if width == 1 {
		// A block sequence item starts at its dash.
		j := from - 1
		for j >= 0 && d.s.b[j] == ' ' {
			j--
		}
		if j < 0 || d.s.b[j] != '-' {
			return nil, fmt.Errorf("line %d: sequence item without its dash", c.Content[i].Line)
		}
		from = j
	}
	if d.s.firstOnLine(from) {
		return d.splice(d.s.lineStart(from), d.s.nextLine(to-1), ""), nil
	}
	// The first key of a sequence item ("- key: v"): the next entry moves
	// up beside the dash.
	if width == 2 && next < len(c.Content) {
		ns, err := d.s.start(c.Content[next])
		if err != nil {
			return nil, err
		}
		if between := bytes.TrimSpace(d.s.b[to:ns]); len(between) == 0 {
			return d.splice(from, ns, ""), nil
		}
	}
	return nil, fmt.Errorf("line %d: cannot remove %q without rewriting its neighbours", c.Content[i].Line, c.Content[i].Value)
}
