package mesh

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math"
)

// A parsed document in binary form: what the registry keeps so that a
// policy preview loads thousands of products without parsing their YAML
// again (YAML parsing is most of what loading costs). It holds the
// document's value and the position of every key and value, so a document
// decoded from it is the one ParseYAML returned, field for field:
//
//	docMagic sum[32] node
//	node: tag flags keyLine keyCol valueLine valueCol payload
//
// tag says the value's type (nil, false, true, int64, float64, string,
// sequence, mapping); a string is uvarint(len) and bytes; a sequence
// uvarint(n) and n nodes; a mapping uvarint(n) and n (key string, node)
// in written order. Positions name no file: every position of a document
// is in the document's own file.
//
// The form is only ever read by LoadStored, never from a checkout, and
// the magic starts with a NUL byte, which no YAML file holds.
//
// Versions. The registry keeps documents in this form, so a change to it,
// or to what ParseYAML makes of a file, is a new version: bump the number
// in docMagic and the store's formatVersion, so that stored records are
// re-indexed rather than read as something they are not. LoadStored
// refuses a document of another version (a problem on its file) rather
// than parse it as YAML.
const (
	docMagicPrefix = "\x00meshdoc"
	docMagic       = docMagicPrefix + "1\n"
)

const (
	tagNil byte = iota
	tagFalse
	tagTrue
	tagInt
	tagFloat
	tagString
	tagSeq
	tagMap
)

const (
	flagScalar byte = 1 << iota
	flagMerged
)

// errNotEncodable: the document holds something the form does not (a
// position in another file, a key the index does not list); its source
// is kept as written instead.
var errNotEncodable = errors.New("document not encodable")

// EncodeDocument writes d in the binary form LoadStored reads.
func EncodeDocument(d *Document) ([]byte, error) {
	if d == nil || d.Index == nil || d.Index.root == nil {
		return nil, errNotEncodable
	}
	out := append([]byte(docMagic), d.Sum[:]...)
	return encodeNode(out, d.Path, d.Value, d.Index.root, 0)
}

func encodeNode(out []byte, file string, v any, n *node, depth int) ([]byte, error) {
	if n == nil || depth > MaxDepth || (n.key.File != "" && n.key.File != file) || (n.value.File != "" && n.value.File != file) {
		return nil, errNotEncodable
	}
	var tag byte
	switch v := v.(type) {
	case nil:
		tag = tagNil
	case bool:
		tag = tagFalse
		if v {
			tag = tagTrue
		}
	case int64:
		tag = tagInt
	case float64:
		tag = tagFloat
	case string:
		tag = tagString
	case []any:
		tag = tagSeq
	case map[string]any:
		tag = tagMap
	default:
		return nil, errNotEncodable
	}
	var flags byte
	if n.scalar {
		flags |= flagScalar
	}
	if n.merged {
		flags |= flagMerged
	}
	out = append(out, tag, flags)
	for _, p := range []Pos{n.key, n.value} {
		out = binary.AppendVarint(out, int64(p.Line))
		out = binary.AppendVarint(out, int64(p.Col))
		// A position with no file (the zero Pos) is told apart from one in
		// this file by its line: ParseYAML's positions all have a line.
		if (p.File == "") != (p.Line == 0) {
			return nil, errNotEncodable
		}
	}
	var err error
	switch v := v.(type) {
	case int64:
		out = binary.AppendVarint(out, v)
	case float64:
		out = binary.LittleEndian.AppendUint64(out, math.Float64bits(v))
	case string:
		out = appendString(out, v)
	case []any:
		if len(v) != len(n.items) || n.fields != nil || n.order != nil {
			return nil, errNotEncodable
		}
		out = binary.AppendUvarint(out, uint64(len(v)))
		for i, e := range v {
			if out, err = encodeNode(out, file, e, n.items[i], depth+1); err != nil {
				return nil, err
			}
		}
	case map[string]any:
		if len(v) != len(n.order) || len(n.fields) != len(n.order) || n.items != nil {
			return nil, errNotEncodable
		}
		out = binary.AppendUvarint(out, uint64(len(n.order)))
		for _, k := range n.order {
			e, ok := v[k]
			if !ok {
				return nil, errNotEncodable
			}
			out = appendString(out, k)
			if out, err = encodeNode(out, file, e, n.fields[k], depth+1); err != nil {
				return nil, err
			}
		}
	default:
		if n.fields != nil || n.items != nil || n.order != nil {
			return nil, errNotEncodable
		}
	}
	return out, nil
}

func appendString(out []byte, s string) []byte {
	out = binary.AppendUvarint(out, uint64(len(s)))
	return append(out, s...)
}

// IsEncodedDocument reports whether src is a document in binary form.
func IsEncodedDocument(src []byte) bool { return bytes.HasPrefix(src, []byte(docMagic)) }

// DecodeDocument reads what EncodeDocument wrote, as the document at path.
// It refuses what ParseYAML would (deeper than MaxDepth, more than MaxNodes
// values) and anything malformed.
func DecodeDocument(path string, src []byte) (*Document, error) {
	if !IsEncodedDocument(src) || len(src) < len(docMagic)+32 {
		return nil, fmt.Errorf("decode document %s: not in binary form", path)
	}
	d := &Document{Path: path}
	copy(d.Sum[:], src[len(docMagic):])
	body := src[len(docMagic)+32:]
	dec := &docDecoder{b: body, s: string(body), file: path}
	v, n := dec.node(0)
	if dec.err == nil && dec.off != len(dec.s) {
		dec.err = fmt.Errorf("%d trailing bytes", len(dec.s)-dec.off)
	}
	if dec.err != nil {
		return nil, fmt.Errorf("decode document %s: %w", path, dec.err)
	}
	d.Value, d.Index = v, &Index{root: n}
	return d, nil
}

// docDecoder reads one document. All its strings are slices of s, one
// allocation for the whole document.
type docDecoder struct {
	b     []byte // the encoding, for numbers
	s     string // the same bytes, for strings
	off   int
	file  string
	nodes int
	err   error
}

func (d *docDecoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
	d.off = len(d.s)
}

func (d *docDecoder) byte() byte {
	if d.off >= len(d.s) {
		d.fail(errors.New("truncated"))
		return 0
	}
	b := d.s[d.off]
	d.off++
	return b
}

func (d *docDecoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		d.fail(errors.New("truncated"))
		return 0
	}
	d.off += n
	return v
}

func (d *docDecoder) varint() int64 {
	v, n := binary.Varint(d.b[d.off:])
	if n <= 0 {
		d.fail(errors.New("truncated"))
		return 0
	}
	d.off += n
	return v
}

func (d *docDecoder) str() string {
	n := d.uvarint()
	if n > uint64(len(d.s)-d.off) {
		d.fail(errors.New("truncated string"))
		return ""
	}
	s := d.s[d.off : d.off+int(n)]
	d.off += int(n)
	return s
}

func (d *docDecoder) pos() Pos {
	line, col := d.varint(), d.varint()
	if line < 0 || col < 0 || line > math.MaxInt32 || col > math.MaxInt32 {
		d.fail(fmt.Errorf("position %d:%d", line, col))
		return Pos{}
	}
	if line == 0 {
		return Pos{Col: int(col)}
	}
	return Pos{File: d.file, Line: int(line), Col: int(col)}
}

// minNodeBytes is the least a node takes: tag, flags and four positions.
const minNodeBytes = 6

// count reads a container's length. Its children are allocated before
// they are read, so a length the rest of the input cannot hold, or that
// goes past MaxNodes, is refused here.
func (d *docDecoder) count() int {
	n := d.uvarint()
	if n > uint64(len(d.s)-d.off)/minNodeBytes {
		d.fail(fmt.Errorf("count %d exceeds the input", n))
		return 0
	}
	if d.nodes+int(n) > MaxNodes {
		d.fail(fmt.Errorf("more than %d values or deeper than %d", MaxNodes, MaxDepth))
		return 0
	}
	return int(n)
}

// node decodes one value and its positions. A container's children are
// decoded into one slice of nodes, one allocation for all of them rather
// than one each: a preview decodes millions of nodes, and the nodes of a
// document live and die together with its Index anyway.
func (d *docDecoder) node(depth int) (any, *node) {
	n := &node{}
	v := d.nodeInto(n, depth)
	if d.err != nil {
		return nil, nil
	}
	return v, n
}

func (d *docDecoder) nodeInto(n *node, depth int) any {
	d.nodes++
	if d.nodes > MaxNodes || depth > MaxDepth {
		d.fail(fmt.Errorf("more than %d values or deeper than %d", MaxNodes, MaxDepth))
		return nil
	}
	tag, flags := d.byte(), d.byte()
	if flags&^(flagScalar|flagMerged) != 0 {
		d.fail(fmt.Errorf("bad flags %#x", flags))
		return nil
	}
	n.scalar, n.merged = flags&flagScalar != 0, flags&flagMerged != 0
	n.key, n.value = d.pos(), d.pos()
	switch tag {
	case tagNil:
		return nil
	case tagFalse:
		return false
	case tagTrue:
		return true
	case tagInt:
		return d.varint()
	case tagFloat:
		if len(d.s)-d.off < 8 {
			d.fail(errors.New("truncated float"))
			return nil
		}
		v := math.Float64frombits(binary.LittleEndian.Uint64(d.b[d.off : d.off+8]))
		d.off += 8
		return v
	case tagString:
		return d.str()
	case tagSeq:
		return d.seq(n, depth)
	case tagMap:
		return d.mapping(n, depth)
	}
	d.fail(fmt.Errorf("bad tag %d", tag))
	return nil
}

func (d *docDecoder) seq(n *node, depth int) any {
	k := d.count()
	items := make([]any, k)
	kids := make([]node, k)
	n.items = make([]*node, k)
	for i := range k {
		items[i] = d.nodeInto(&kids[i], depth+1)
		if d.err != nil {
			return nil
		}
		n.items[i] = &kids[i]
	}
	return items
}

func (d *docDecoder) mapping(n *node, depth int) any {
	k := d.count()
	m := make(map[string]any, k)
	kids := make([]node, k)
	n.fields = make(map[string]*node, k)
	if k > 0 { // ParseYAML leaves an empty mapping's order nil
		n.order = make([]string, 0, k)
	}
	for i := range k {
		key := d.str()
		e := d.nodeInto(&kids[i], depth+1)
		if d.err != nil {
			return nil
		}
		if _, dup := m[key]; dup {
			d.fail(fmt.Errorf("key %q twice", key))
			return nil
		}
		m[key] = e
		n.fields[key] = &kids[i]
		n.order = append(n.order, key)
	}
	return m
}

// EncodeFiles returns files with every document m parsed from them in
// binary form; files m could not parse (and documents the form cannot
// hold) stay as written, so LoadStored reports the same problems Load
// did.
func EncodeFiles(m *Mesh, files map[string][]byte) map[string][]byte {
	out := make(map[string][]byte, len(files))
	for p, src := range files {
		out[p] = src
		if doc := m.Documents[p]; doc != nil {
			if b, err := EncodeDocument(doc); err == nil && len(b) <= MaxFileBytes {
				out[p] = b
			}
		}
	}
	return out
}

// LoadStored is Load for files EncodeFiles wrote: documents in binary form
// are decoded rather than parsed, files in YAML are parsed as Load parses
// them, and the Mesh is the one Load made of the original files.
func LoadStored(ctx context.Context, fsys fs.FS) (*Mesh, error) {
	src := FS(fsys)
	files, err := src.List(ctx)
	if err != nil {
		return nil, err
	}
	m, _, err := loadAll(ctx, src, files, loadOptions{reuse: &reuser{parse: parseStored}})
	return m, err
}

func parseStored(path string, src []byte) (*Document, error) {
	if IsEncodedDocument(src) {
		return DecodeDocument(path, src)
	}
	if bytes.HasPrefix(src, []byte(docMagicPrefix)) {
		return nil, Problem{Code: CodeReadError, Pos: Pos{File: path, Line: 1},
			Message: "stored in a form of another meshbot version; re-index the repository"}
	}
	return ParseYAML(path, src)
}
