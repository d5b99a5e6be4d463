package mesh

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// Limits on outside input. They are generous for real descriptors and
// contracts (the largest official example is under 40 KiB) and stop hostile
// files before they cost memory or time.
const (
	MaxFileBytes = 1 << 20 // 1 MiB per descriptor or contract
	MaxDepth     = 64      // nesting of mappings and sequences
	MaxNodes     = 200_000 // values produced, counting every alias expansion
)

// ParseYAML parses one YAML document safely and returns its value and a
// position index. Every failure is a Problem positioned in file path.
func ParseYAML(path string, src []byte) (*Document, error) {
	if len(src) > MaxFileBytes {
		return nil, Problem{Code: CodeFileTooLarge, Pos: Pos{File: path}, Message: tooLargeMessage(int64(len(src)))}
	}
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(src))
	if err := dec.Decode(&root); err != nil {
		if err.Error() == "EOF" {
			return nil, Problem{Code: "empty-file", Pos: Pos{File: path, Line: 1}, Message: "file is empty"}
		}
		return nil, yamlProblem(path, src, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, Problem{Code: "multiple-documents", Pos: Pos{File: path, Line: extra.Line, Col: extra.Column},
			Message: "file holds more than one YAML document; put one descriptor or contract per file"}
	}
	b := builder{path: path}
	doc := &root
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			return nil, Problem{Code: "empty-file", Pos: Pos{File: path, Line: 1}, Message: "file is empty"}
		}
		doc = doc.Content[0]
	}
	v, n, err := b.build(doc, 0)
	if err != nil {
		return nil, err
	}
	return &Document{Path: path, Value: v, Index: &Index{root: n}, Sum: sha256.Sum256(src)}, nil
}

var yamlLineRE = regexp.MustCompile(`(?:yaml: )?line (\d+): (.*)`)

func yamlProblem(path string, src []byte, err error) Problem {
	msg := err.Error()
	p := Problem{Code: "yaml-syntax", Pos: Pos{File: path}}
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		p.Pos.Line, _ = strconv.Atoi(m[1])
		msg = m[2]
		if isParserError(msg) {
			// yaml.v3 names the line where the enclosing collection
			// starts (0-based), not the line where parsing failed.
			start := p.Pos.Line + 1
			p.Pos.Line = failLine(src, msg, start)
			if p.Pos.Line != start {
				msg += fmt.Sprintf(" (in the collection that starts on line %d)", start)
			}
		}
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	p.Message = "YAML syntax error: " + msg
	if p.Pos.Line == 0 {
		p.Pos.Line = 1
	}
	return p
}

// failLine finds the line where the parser failed inside the collection
// that starts at line from. In a flow collection ([...], {...}) it is the
// first line after from that continues no element list: the previous line
// ends without a separator. In block collections it is the last line of
// the shortest prefix of the file that fails with the same message. When
// neither finds a line, from is kept.
func failLine(src []byte, msg string, from int) int {
	lines := bytes.SplitAfter(src, []byte("\n"))
	if from < 1 || from > len(lines) {
		return from
	}
	if strings.Contains(msg, "expected ',' or") {
		prev := bytes.TrimSpace(lines[from-1])
		for i := from; i < len(lines); i++ {
			cur := bytes.TrimSpace(lines[i])
			if len(cur) == 0 || cur[0] == '#' {
				continue
			}
			last := prev[len(prev)-1]
			if last != ',' && last != '[' && last != '{' && cur[0] != ',' && cur[0] != ']' && cur[0] != '}' {
				return i + 1
			}
			prev = cur
		}
		return from
	}
	fails := func(n int) bool {
		var v yaml.Node
		err := yaml.Unmarshal(bytes.Join(lines[:n], nil), &v)
		return err != nil && strings.HasSuffix(err.Error(), msg)
	}
	// The shortest failing prefix, searched between the collection's
	// first line (which parses) and the whole file (which fails).
	lo, hi := from, len(lines)
	if fails(lo) || !fails(hi) {
		return from
	}
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if fails(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}

// isParserError recognises the messages of yaml.v3's parser stage
// (parserc.go), whose marks are reported 0-based.
func isParserError(msg string) bool {
	return strings.HasPrefix(msg, "did not find expected") ||
		strings.HasPrefix(msg, "found duplicate %") ||
		msg == "found incompatible YAML document" ||
		msg == "found undefined tag handle"
}

// Index locates keys and values of a parsed document by path.
type Index struct{ root *node }

type node struct {
	key    Pos              // position of the key (mapping entry) or of the item (sequence element)
	value  Pos              // position of the value
	fields map[string]*node // mapping children
	order  []string         // mapping keys in written order
	items  []*node          // sequence children
	scalar bool
	merged bool // came in through a merge key ("<<"): an explicit key may override it
}

// Root is the position of the document's top-level value.
func (ix *Index) Root() Pos {
	if ix == nil || ix.root == nil {
		return Pos{}
	}
	return ix.root.value
}

// Lookup returns the position of the element at path: the key for a mapping
// entry, the item for a sequence element. Path elements are string keys or
// int indices.
func (ix *Index) Lookup(path ...any) (Pos, bool) {
	n, depth := ix.walk(path)
	return n.key, n != nil && depth == len(path)
}

// Value returns the position of the value at path.
func (ix *Index) Value(path ...any) (Pos, bool) {
	n, depth := ix.walk(path)
	if n == nil || depth != len(path) {
		return Pos{}, false
	}
	return n.value, true
}

// Nearest returns the position of the deepest element of path that exists and
// how many path elements matched. It is what a finding about a missing key
// points at: the parent that should hold it.
func (ix *Index) Nearest(path ...any) (Pos, int) {
	n, depth := ix.walk(path)
	if n == nil {
		return Pos{}, 0
	}
	if depth == 0 {
		return n.value, 0
	}
	return n.key, depth
}

func (ix *Index) walk(path []any) (*node, int) {
	if ix == nil || ix.root == nil {
		return nil, 0
	}
	n := ix.root
	for i, el := range path {
		var next *node
		switch k := el.(type) {
		case string:
			next = n.fields[k]
		case int:
			if k >= 0 && k < len(n.items) {
				next = n.items[k]
			}
		}
		if next == nil {
			return n, i
		}
		n = next
	}
	return n, len(path)
}

type builder struct {
	path  string
	nodes int
}

func (b *builder) pos(n *yaml.Node) Pos { return Pos{File: b.path, Line: n.Line, Col: n.Column} }

func (b *builder) fail(n *yaml.Node, code, format string, args ...any) error {
	return Problem{Code: code, Pos: b.pos(n), Message: fmt.Sprintf(format, args...)}
}

func (b *builder) build(n *yaml.Node, depth int) (any, *node, error) {
	b.nodes++
	if b.nodes > MaxNodes {
		return nil, nil, b.fail(n, "too-many-nodes",
			"document expands to more than %d values (an alias bomb?); meshbot refuses it", MaxNodes)
	}
	if depth > MaxDepth {
		return nil, nil, b.fail(n, "too-deep", "document nests deeper than %d levels", MaxDepth)
	}
	switch n.Kind {
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil, nil, b.fail(n, "yaml-syntax", "unknown alias %q", n.Value)
		}
		v, child, err := b.build(n.Alias, depth+1)
		if err != nil {
			return nil, nil, err
		}
		// The alias is used where it is written; keep its own position.
		c := *child
		c.value = b.pos(n)
		return v, &c, nil
	case yaml.ScalarNode:
		v, err := b.scalar(n)
		return v, &node{value: b.pos(n), scalar: true}, err
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		nd := &node{value: b.pos(n), items: make([]*node, 0, len(n.Content))}
		for _, c := range n.Content {
			v, cn, err := b.build(c, depth+1)
			if err != nil {
				return nil, nil, err
			}
			cn.key = b.pos(c)
			out = append(out, v)
			nd.items = append(nd.items, cn)
		}
		return out, nd, nil
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		nd := &node{value: b.pos(n), fields: make(map[string]*node, len(n.Content)/2)}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, vn := n.Content[i], n.Content[i+1]
			if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
				if err := b.merge(out, nd, vn, depth); err != nil {
					return nil, nil, err
				}
				continue
			}
			if k.Kind != yaml.ScalarNode {
				return nil, nil, b.fail(k, "wrong-type", "mapping keys must be plain scalars")
			}
			if prev, dup := nd.fields[k.Value]; dup && !prev.merged {
				return nil, nil, b.fail(k, "duplicate-key", "key %q is defined twice (first at line %d)", k.Value, prev.key.Line)
			}
			v, cn, err := b.build(vn, depth+1)
			if err != nil {
				return nil, nil, err
			}
			cn.key = b.pos(k)
			if _, seen := nd.fields[k.Value]; !seen {
				nd.order = append(nd.order, k.Value)
			}
			out[k.Value] = v
			nd.fields[k.Value] = cn
		}
		return out, nd, nil
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, &node{value: b.pos(n)}, nil
		}
		return b.build(n.Content[0], depth)
	}
	return nil, nil, b.fail(n, "yaml-syntax", "unsupported YAML node")
}

func (b *builder) merge(out map[string]any, nd *node, vn *yaml.Node, depth int) error {
	sources := []*yaml.Node{vn}
	if vn.Kind == yaml.SequenceNode {
		sources = vn.Content
	}
	for _, s := range sources {
		v, cn, err := b.build(s, depth+1)
		if err != nil {
			return err
		}
		m, ok := v.(map[string]any)
		if !ok {
			return b.fail(s, "wrong-type", "merge key << needs a mapping")
		}
		for _, k := range cn.order {
			if _, exists := out[k]; exists {
				continue
			}
			out[k] = m[k]
			c := *cn.fields[k]
			c.merged = true
			nd.fields[k] = &c
			nd.order = append(nd.order, k)
		}
	}
	return nil
}

func (b *builder) scalar(n *yaml.Node) (any, error) {
	switch n.ShortTag() {
	case "!!null":
		return nil, nil
	case "!!bool":
		var v bool
		if err := n.Decode(&v); err != nil {
			return nil, b.fail(n, "wrong-type", "not a boolean: %q", n.Value)
		}
		return v, nil
	case "!!int":
		if v, err := strconv.ParseInt(n.Value, 10, 64); err == nil {
			return v, nil
		}
		var v int64
		if err := n.Decode(&v); err == nil {
			return v, nil
		}
		var f float64
		if err := n.Decode(&f); err == nil {
			return f, nil
		}
		return n.Value, nil
	case "!!float":
		var v float64
		if err := n.Decode(&v); err != nil {
			return nil, b.fail(n, "wrong-type", "not a number: %q", n.Value)
		}
		if math.IsInf(v, 0) || math.IsNaN(v) {
			// JSON, and so policy input, has no infinities: keep what was written.
			return n.Value, nil
		}
		return v, nil
	default:
		// Strings, and timestamps kept exactly as written: policies written
		// for conftest compare dates as strings.
		return n.Value, nil
	}
}
