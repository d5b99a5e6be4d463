package yamledit

import (
	"bytes"
	"errors"
	"fmt"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v3"
)

// source is a YAML file's bytes with the line table yaml.v3's marks refer
// to, so that a node's Line/Column becomes a byte offset. yaml.v3 counts
// columns in characters and breaks lines at \n, \r\n, a lone \r, NEL, LS
// and PS; the table follows the same rules or offsets would drift.
type source struct {
	b     []byte
	lines []int // byte offset of the start of each line (lines[0] is line 1)
}

var bom = []byte{0xEF, 0xBB, 0xBF}

func newSource(b []byte) *source {
	s := &source{b: b, lines: []int{0}}
	if bytes.HasPrefix(b, bom) {
		// yaml.v3 skips the byte order mark without counting a column.
		s.lines[0] = len(bom)
	}
	for i := s.lines[0]; i < len(b); {
		if n := breakLen(b, i); n > 0 {
			i += n
			s.lines = append(s.lines, i)
			continue
		}
		i++
	}
	return s
}

// breakLen is the length of the line break at i, 0 when there is none.
func breakLen(b []byte, i int) int {
	switch {
	case b[i] == '\n':
		return 1
	case b[i] == '\r':
		if i+1 < len(b) && b[i+1] == '\n' {
			return 2
		}
		return 1
	case b[i] == 0xC2 && i+1 < len(b) && b[i+1] == 0x85: // NEL
		return 2
	case b[i] == 0xE2 && i+2 < len(b) && b[i+1] == 0x80 && (b[i+2] == 0xA8 || b[i+2] == 0xA9): // LS, PS
		return 3
	}
	return 0
}

var errPosition = errors.New("position outside the file")

// offset turns a 1-based line and character column into a byte offset.
func (s *source) offset(line, col int) (int, error) {
	if line < 1 || line > len(s.lines) || col < 1 {
		return 0, fmt.Errorf("line %d column %d: %w", line, col, errPosition)
	}
	i := s.lines[line-1]
	for c := 1; c < col; c++ {
		if i >= len(s.b) {
			return 0, fmt.Errorf("line %d column %d: %w", line, col, errPosition)
		}
		_, w := utf8.DecodeRune(s.b[i:])
		i += w
	}
	return i, nil
}

// start is the byte offset where node n starts (its anchor or tag when it
// has one).
func (s *source) start(n *yaml.Node) (int, error) { return s.offset(n.Line, n.Column) }

// lineOf is the 0-based line index holding byte offset off.
func (s *source) lineOf(off int) int {
	lo, hi := 0, len(s.lines)-1
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if s.lines[mid] <= off {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}

// lineStart is the offset of the start of the line holding off.
func (s *source) lineStart(off int) int { return s.lines[s.lineOf(off)] }

// lineEnd is the offset of the line break ending the line holding off (or
// the end of the file).
func (s *source) lineEnd(off int) int {
	i := s.lineOf(off)
	if i+1 < len(s.lines) {
		end := s.lines[i+1]
		for end > s.lines[i] && (s.b[end-1] == '\n' || s.b[end-1] == '\r') {
			end--
		}
		return end
	}
	return len(s.b)
}

// nextLine is the offset of the line after the one holding off, or the end
// of the file when it is the last.
func (s *source) nextLine(off int) int {
	i := s.lineOf(off)
	if i+1 < len(s.lines) {
		return s.lines[i+1]
	}
	return len(s.b)
}

// eol is the line break the line holding off ends with, or the file's
// first, or "\n": inserted lines follow their neighbours (CRLF files stay
// CRLF).
func (s *source) eol(off int) string {
	if e := s.lineEnd(off); e < len(s.b) {
		return string(s.b[e : e+breakLen(s.b, e)])
	}
	if i := bytes.IndexAny(s.b, "\r\n"); i >= 0 {
		return string(s.b[i : i+breakLen(s.b, i)])
	}
	return "\n"
}

// firstOnLine reports whether only spaces precede off on its line.
func (s *source) firstOnLine(off int) bool {
	for i := s.lineStart(off); i < off; i++ {
		if s.b[i] != ' ' {
			return false
		}
	}
	return true
}

// column is the 0-based character column of off.
func (s *source) column(off int) int {
	return utf8.RuneCount(s.b[s.lineStart(off):off])
}

// valueStart skips a node's properties (anchor, tag) to where its content
// starts: a scalar's text, a flow collection's bracket.
func (s *source) valueStart(n *yaml.Node) (int, error) {
	i, err := s.start(n)
	if err != nil {
		return 0, err
	}
	for i < len(s.b) && (s.b[i] == '&' || s.b[i] == '!') {
		if s.b[i] == '!' && i+1 < len(s.b) && s.b[i+1] == '<' { // verbatim tag !<...>
			j := bytes.IndexByte(s.b[i:], '>')
			if j < 0 {
				return 0, fmt.Errorf("line %d: unterminated tag", n.Line)
			}
			i += j + 1
		} else {
			for i < len(s.b) && !isSpaceOrBreak(s.b[i]) && !(n.Style&yaml.FlowStyle != 0 && (s.b[i] == '[' || s.b[i] == '{')) {
				i++
			}
		}
		for i < len(s.b) && (s.b[i] == ' ' || s.b[i] == '\t') {
			i++
		}
	}
	return i, nil
}

func isSpaceOrBreak(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// end is the byte offset just after node n's last character. indent is the
// indentation (in columns) of the block collection that holds n: a block
// scalar's content is the lines indented deeper than that.
func (s *source) end(n *yaml.Node, indent int) (int, error) {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return s.start(n)
		}
		return s.end(n.Content[0], -1)
	case yaml.AliasNode:
		i, err := s.start(n)
		if err != nil {
			return 0, err
		}
		return i + 1 + len(n.Value), nil
	case yaml.ScalarNode:
		i, err := s.valueStart(n)
		if err != nil {
			return 0, err
		}
		switch {
		case n.Style&yaml.DoubleQuotedStyle != 0:
			return s.quotedEnd(i, '"')
		case n.Style&yaml.SingleQuotedStyle != 0:
			return s.quotedEnd(i, '\'')
		case n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
			return s.blockScalarEnd(i, indent)
		default:
			return s.plainEnd(i, n.Value)
		}
	case yaml.MappingNode, yaml.SequenceNode:
		if n.Style&yaml.FlowStyle != 0 {
			i, err := s.valueStart(n)
			if err != nil {
				return 0, err
			}
			return s.flowEnd(i)
		}
		if len(n.Content) == 0 {
			return s.start(n)
		}
		st, err := s.start(n)
		if err != nil {
			return 0, err
		}
		last := n.Content[len(n.Content)-1]
		if n.Kind == yaml.MappingNode && isEmptyValue(last) {
			// "key:" with nothing after it: the entry ends with its key's colon.
			k := n.Content[len(n.Content)-2]
			ke, err := s.end(k, s.column(st))
			if err != nil {
				return 0, err
			}
			return s.colonAfter(ke)
		}
		return s.end(last, s.column(st))
	}
	return 0, fmt.Errorf("line %d: unsupported node", n.Line)
}

// isEmptyValue reports a null written as nothing at all.
func isEmptyValue(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null" && n.Value == "" && n.Style == 0
}

// colonAfter finds the ':' that follows a key ending at i.
func (s *source) colonAfter(i int) (int, error) {
	for j := i; j < len(s.b); j++ {
		switch s.b[j] {
		case ':':
			return j + 1, nil
		case ' ', '\t':
		default:
			return 0, fmt.Errorf("offset %d: no ':' after the key", i)
		}
	}
	return 0, fmt.Errorf("offset %d: no ':' after the key", i)
}

func (s *source) quotedEnd(i int, q byte) (int, error) {
	if i >= len(s.b) || s.b[i] != q {
		return 0, fmt.Errorf("offset %d: expected %c", i, q)
	}
	for j := i + 1; j < len(s.b); j++ {
		switch {
		case q == '"' && s.b[j] == '\\':
			j++
		case s.b[j] == q:
			if q == '\'' && j+1 < len(s.b) && s.b[j+1] == '\'' {
				j++
				continue
			}
			return j + 1, nil
		}
	}
	return 0, fmt.Errorf("offset %d: unterminated quoted scalar", i)
}

// plainEnd matches a plain scalar's value against the text at i: plain
// scalars have no escapes, so the text is the value but for line folding
// (one break between words is a space, n+1 breaks are n newlines).
func (s *source) plainEnd(i int, v string) (int, error) {
	j := 0
	for j < len(v) {
		if i < len(s.b) && s.b[i] == v[j] {
			i++
			j++
			continue
		}
		// A fold: trailing blanks, breaks with their indentation.
		k := i
		for k < len(s.b) && (s.b[k] == ' ' || s.b[k] == '\t') {
			k++
		}
		breaks := 0
		for k < len(s.b) {
			n := breakLen(s.b, k)
			if n == 0 {
				break
			}
			breaks++
			k += n
			for k < len(s.b) && (s.b[k] == ' ' || s.b[k] == '\t') {
				k++
			}
		}
		switch {
		case breaks == 1 && v[j] == ' ':
			j++
		case breaks > 1 && v[j] == '\n':
			for n := 1; n < breaks; n++ {
				if j >= len(v) || v[j] != '\n' {
					return 0, fmt.Errorf("offset %d: plain scalar does not match its value", i)
				}
				j++
			}
		default:
			return 0, fmt.Errorf("offset %d: plain scalar does not match its value", i)
		}
		i = k
	}
	return i, nil
}

// blockScalarEnd finds the end of a literal or folded scalar whose
// indicator is at i: its content is every following line that is blank or
// indented deeper than indent; it ends after the last non-blank one.
func (s *source) blockScalarEnd(i, indent int) (int, error) {
	if i >= len(s.b) || (s.b[i] != '|' && s.b[i] != '>') {
		return 0, fmt.Errorf("offset %d: expected a block scalar indicator", i)
	}
	end := s.lineEnd(i)
	for l := s.lineOf(i) + 1; l < len(s.lines); l++ {
		st := s.lines[l]
		le := s.lineEnd(st)
		k := st
		for k < le && s.b[k] == ' ' {
			k++
		}
		if k == le { // blank
			continue
		}
		if k-st <= indent {
			break
		}
		end = le
	}
	return end, nil
}

// flowEnd finds the bracket closing the flow collection opened at i,
// skipping quoted scalars and comments.
func (s *source) flowEnd(i int) (int, error) {
	depth := 0
	for j := i; j < len(s.b); j++ {
		switch c := s.b[j]; c {
		case '[', '{':
			depth++
		case ']', '}':
			depth--
			if depth == 0 {
				return j + 1, nil
			}
		case '"', '\'':
			// A quote opens a scalar only where a scalar may start, not
			// inside a plain one (it's, don't).
			if j > i && !isFlowBoundary(s.b[j-1]) {
				continue
			}
			e, err := s.quotedEnd(j, c)
			if err != nil {
				return 0, err
			}
			j = e - 1
		case '#':
			if j > i && isSpaceOrBreak(s.b[j-1]) {
				j = s.lineEnd(j) - 1
			}
		}
	}
	return 0, fmt.Errorf("offset %d: unterminated flow collection", i)
}

func isFlowBoundary(c byte) bool {
	return isSpaceOrBreak(c) || c == '[' || c == '{' || c == ',' || c == ':'
}
