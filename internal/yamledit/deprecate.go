// Package yamledit records and removes the deprecation of a data product or
// of one of its output ports in the file that describes it, in every format
// meshbot reads, changing only the lines that carry the deprecation.
//
// The file is never re-serialised. yaml.v3's node tree locates the keys;
// the new text is spliced into the original bytes, so comments, key order,
// quoting, indentation, flow or block style, anchors and line endings (CRLF
// too) stay byte-identical everywhere else. Inserted lines follow the
// file's own habits: its indentation step, its sequence indentation, the
// line ending of their neighbours, flow style inside flow collections.
// Every result is read back before it is returned: it must parse, read as
// the same format with no new problem, show the deprecation, and be the
// original document but for the deprecation keys; otherwise the edit is
// refused with an error rather than handed out.
//
// What each format gets (a standard without a place for a term gets what
// it allows, and the notes say what could not be expressed):
//
//   - native (mesh/v1): lifecycle: deprecated and the deprecation block
//     (sunset, replacement, reason), on spec or on the output port;
//   - ODPS: status: deprecated (the product's own field; ODPS lists
//     deprecated among its examples), and a custom property named
//     deprecation whose value is the same block; on an output port (ODPS
//     ports have no status) two custom properties, status and deprecation.
//     ODPS v0.9 ports have no custom properties: nothing can be written;
//   - Data Product Specification: info.status / the port's status only;
//   - Data Contract Specification: info.status: deprecated and an
//     info.deprecation block (info admits extra fields);
//   - ODCS v3: status: deprecated and the custom property deprecation. ODCS
//     has no deprecated field for a contract, schema object or property
//     (the schemas' "deprecated: true" marks JSON-schema keywords such as
//     slaDefaultElement as deprecated, and additionalProperties is false),
//     so none is written; an existing deprecated: true is removed by
//     Undeprecate.
//
// Undeprecate removes the deprecation block (or custom properties) and sets
// a lifecycle or status that says deprecated back to production (native)
// or active (ODPS, DPS, DCS, ODCS): the file does not record what it was
// before, and a product someone deprecated was in use. A note says so, so
// that the pull request's reviewer can choose experimental instead.
package yamledit

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"

	"github.com/meshbot/meshbot/internal/mesh"
)

// Target is what is deprecated: a product (Port "") or one of its output
// ports. Product is the global id (<domain>.<name>). In a contract file
// the target is the contract itself (the contract of the port), and
// Target is not checked against it.
type Target struct {
	Product string
	Port    string
}

func (t Target) String() string {
	if t.Port == "" {
		return t.Product
	}
	return t.Product + "/" + t.Port
}

// Deprecation is the terms of a deprecation.
type Deprecation struct {
	Sunset      string // YYYY-MM-DD
	Replacement string // <domain.product>/<port>, optional
	Reason      string // optional
}

// ErrTargetNotFound is returned when the file does not describe the target.
var ErrTargetNotFound = errors.New("target not found in the file")

// Names written in the files. The native keys are product.md's; the
// custom property names mirror them.
const (
	keyLifecycle   = "lifecycle"
	keyDeprecation = "deprecation"
	keyStatus      = "status"
	keySunset      = "sunset"
	keyReplacement = "replacement"
	keyReason      = "reason"
	keyCustom      = "customProperties"
	keyProperty    = "property"
	keyValue       = "value"
	keyDeprecated  = "deprecated"

	statusActive = "active" // ODPS/ODCS/DCS/DPS word for "in use"
)

// Deprecate records d on target t in src, a file in format f, and returns
// the edited bytes and notes for the reply (what the format could not
// express). Recording the same terms again returns src unchanged; other
// terms replace the recorded ones in place. When the format can express
// nothing for t (an ODPS v0.9 port), src comes back unchanged with a note.
func Deprecate(src []byte, f mesh.Format, t Target, d Deprecation) ([]byte, []string, error) {
	if _, err := time.Parse(time.DateOnly, d.Sunset); err != nil {
		return nil, nil, fmt.Errorf("sunset %q is not a date (YYYY-MM-DD)", d.Sunset)
	}
	return run(src, f, t, &d)
}

// Undeprecate removes a deprecation of t from src (see the package
// comment for what lifecycle it leaves). A target that is not deprecated
// returns src unchanged.
func Undeprecate(src []byte, f mesh.Format, t Target) ([]byte, []string, error) {
	return run(src, f, t, nil)
}

// place is one mapping that carries a deprecation, by its path from the
// document root (string keys, int indices), and the keys it uses there.
type place struct {
	path []any
	kind placeKind
}

type placeKind int

const (
	nativeAt     placeKind = iota // lifecycle + deprecation block
	odpsProduct                   // status + custom property deprecation
	odpsPort                      // custom properties status + deprecation
	statusOnly                    // status alone (DPS)
	dcsInfo                       // status + deprecation block
	odcsContract                  // status + custom property deprecation (+ deprecated removed)
)

// step is one edit of the document as it is now; it returns the new bytes
// (the same bytes when there is nothing to do).
type step func(*doc) ([]byte, error)

func run(src []byte, f mesh.Format, t Target, d *Deprecation) ([]byte, []string, error) {
	if len(src) > mesh.MaxFileBytes {
		return nil, nil, fmt.Errorf("file is %d bytes; meshbot edits at most %d", len(src), mesh.MaxFileBytes)
	}
	doc0, err := parse(src)
	if err != nil {
		return nil, nil, err
	}
	places, notes, err := locate(doc0, src, f, t, d != nil)
	if err != nil {
		return nil, nil, err
	}
	if len(places) == 0 {
		return src, notes, nil // nothing this format can say (the notes tell why)
	}
	var steps []step
	for _, p := range places {
		s, n := stepsFor(p, d)
		steps = append(steps, s...)
		notes = append(notes, n...)
	}
	out := src
	for _, s := range steps {
		dc, err := parse(out)
		if err != nil {
			return nil, nil, fmt.Errorf("edit %s: the edited file no longer parses: %w", t, err)
		}
		if out, err = s(dc); err != nil {
			return nil, nil, fmt.Errorf("edit %s: %w", t, err)
		}
	}
	if err := verify(src, out, f, t, places, d); err != nil {
		return nil, nil, fmt.Errorf("edit %s: refused, the result would not be a clean edit: %w", t, err)
	}
	return out, dedupe(notes), nil
}

func dedupe(notes []string) []string {
	var out []string
	for _, n := range notes {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// locate finds where the format keeps t's deprecation.
func locate(dc *doc, src []byte, f mesh.Format, t Target, deprecating bool) ([]place, []string, error) {
	switch f {
	case mesh.FormatNative, mesh.FormatODPS, mesh.FormatDPS:
		p, _, probs := mesh.ReadDescriptor("descriptor", src)
		if p == nil {
			return nil, nil, fmt.Errorf("not a descriptor: %v", probs)
		}
		if p.Format != f {
			return nil, nil, fmt.Errorf("the file is %q, not %q", p.Format, f)
		}
		if p.ID() != t.Product {
			return nil, nil, fmt.Errorf("%w: the file describes %s, not %s", ErrTargetNotFound, p.ID(), t.Product)
		}
		places, notes, err := descriptorPlaces(dc, f, t, p)
		if !deprecating && len(places) > 0 {
			notes = nil // they say how a deprecation is written
		}
		return places, notes, err
	case mesh.FormatDCS, mesh.FormatODCS:
		c, _, probs := mesh.ReadContract("contract", src)
		if c == nil {
			return nil, nil, fmt.Errorf("not a contract: %v", probs)
		}
		if c.Format != f {
			return nil, nil, fmt.Errorf("the file is %q, not %q", c.Format, f)
		}
		if f == mesh.FormatDCS {
			if value(dc.root, "info") == nil || value(dc.root, "info").Kind != yaml.MappingNode {
				return nil, nil, errors.New("the contract has no info mapping to record the deprecation in")
			}
			return []place{{path: []any{"info"}, kind: dcsInfo}}, nil, nil
		}
		var notes []string
		if deprecating {
			notes = append(notes, "ODCS has no field for a sunset, a replacement or a reason: they are recorded as the custom property `deprecation`")
		}
		return []place{{path: nil, kind: odcsContract}}, notes, nil
	}
	return nil, nil, fmt.Errorf("format %q has no deprecation meshbot can write", f)
}

func descriptorPlaces(dc *doc, f mesh.Format, t Target, p *mesh.Product) ([]place, []string, error) {
	root := dc.root
	if t.Port == "" {
		switch f {
		case mesh.FormatNative:
			if s := value(root, "spec"); s == nil || s.Kind != yaml.MappingNode {
				return nil, nil, errors.New("the descriptor has no spec mapping to record the deprecation in")
			}
			return []place{{path: []any{"spec"}, kind: nativeAt}}, nil, nil
		case mesh.FormatODPS:
			return []place{{kind: odpsProduct}}, []string{
				"ODPS has no field for a sunset, a replacement or a reason: they are recorded as the custom property `deprecation`",
			}, nil
		default:
			if value(root, "info") == nil || value(root, "info").Kind != yaml.MappingNode {
				return nil, nil, errors.New("the descriptor has no info mapping to record the status in")
			}
			return []place{{path: []any{"info"}, kind: statusOnly}}, []string{
				"the Data Product Specification has no place for a sunset, a replacement or a reason: only info.status says deprecated",
			}, nil
		}
	}
	if p.OutputPort(t.Port) == nil {
		return nil, nil, fmt.Errorf("%w: %s has no output port %q", ErrTargetNotFound, t.Product, t.Port)
	}
	var ports *yaml.Node
	var nameKey string
	var prefix []any
	switch f {
	case mesh.FormatNative:
		prefix = []any{"spec", "outputPorts"}
		ports, nameKey = value(value(root, "spec"), "outputPorts"), "name"
	case mesh.FormatODPS:
		prefix = []any{"outputPorts"}
		ports, nameKey = value(root, "outputPorts"), "name"
	default:
		prefix = []any{"outputPorts"}
		ports, nameKey = value(root, "outputPorts"), "id"
	}
	if ports == nil || ports.Kind != yaml.SequenceNode {
		return nil, nil, fmt.Errorf("%w: no output port list", ErrTargetNotFound)
	}
	var places []place
	var notes []string
	for i, it := range ports.Content {
		n := value(it, nameKey)
		if n == nil || n.Kind != yaml.ScalarNode || n.Value != t.Port {
			continue
		}
		path := append(slices.Clone(prefix), i)
		switch f {
		case mesh.FormatNative:
			places = append(places, place{path: path, kind: nativeAt})
		case mesh.FormatODPS:
			if strings.HasPrefix(p.APIVersion, "v0.") {
				return nil, []string{fmt.Sprintf("ODPS %s output ports have neither a status nor custom properties: the deprecation of port %s cannot be written in this file", p.APIVersion, t.Port)}, nil
			}
			places = append(places, place{path: path, kind: odpsPort})
			notes = append(notes, "ODPS output ports have no status field: the deprecation is recorded as the port's custom properties `status` and `deprecation`")
		default:
			places = append(places, place{path: path, kind: statusOnly})
			notes = append(notes, "the Data Product Specification has no place for a sunset, a replacement or a reason on an output port: only its status says deprecated")
		}
	}
	if len(places) == 0 {
		return nil, nil, fmt.Errorf("%w: output port %q is not a mapping of the port list", ErrTargetNotFound, t.Port)
	}
	return places, notes, nil
}

// at finds the node at path from the root.
func at(root *yaml.Node, path []any) (*yaml.Node, error) {
	n := root
	for _, el := range path {
		switch k := el.(type) {
		case string:
			n = value(n, k)
		case int:
			if n.Kind != yaml.SequenceNode || k >= len(n.Content) {
				n = nil
			} else {
				n = n.Content[k]
			}
		}
		if n == nil {
			return nil, fmt.Errorf("%v: not found", path)
		}
	}
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%v: not a mapping", path)
	}
	return n, nil
}

// block is the deprecation block's value.
func block(d *Deprecation) val {
	v := val{entries: []kv{{keySunset, date(d.Sunset)}}}
	if d.Replacement != "" {
		v.entries = append(v.entries, kv{keyReplacement, str(d.Replacement)})
	}
	if d.Reason != "" {
		v.entries = append(v.entries, kv{keyReason, str(d.Reason)})
	}
	return v
}

// restoredNote says what Undeprecate chose for a lifecycle.
func restoredNote(key, to string) string {
	return fmt.Sprintf("%s was deprecated and is now %s (the file does not record what it was before; change it in the pull request if it should be something else)", key, to)
}

func stepsFor(p place, d *Deprecation) ([]step, []string) {
	loc := func(dc *doc) (*yaml.Node, error) { return at(dc.root, p.path) }
	first := p.kind == nativeAt && len(p.path) == 1
	switch p.kind {
	case nativeAt, dcsInfo:
		lk, to := keyLifecycle, mesh.LifecycleProduction
		if p.kind == dcsInfo {
			lk, to = keyStatus, statusActive
		}
		if d != nil {
			return append([]step{setKey(loc, lk, str(mesh.LifecycleDeprecated), nil, first)},
				setBlock(loc, keyDeprecation, block(d), []string{lk})...), nil
		}
		return []step{restore(loc, lk, to), removeKey(loc, keyDeprecation)}, []string{restoredNote(lk, to)}
	case statusOnly:
		if d != nil {
			return []step{setKey(loc, keyStatus, str(mesh.LifecycleDeprecated), nil, false)}, nil
		}
		return []step{restore(loc, keyStatus, statusActive)}, []string{restoredNote(keyStatus, statusActive)}
	case odpsProduct, odcsContract:
		if d != nil {
			return []step{
				setKey(loc, keyStatus, str(mesh.LifecycleDeprecated), []string{"version", "id"}, false),
				setCustom(loc, keyDeprecation, block(d)),
			}, nil
		}
		s := []step{restore(loc, keyStatus, statusActive), removeCustom(loc, keyDeprecation)}
		if p.kind == odcsContract {
			s = append(s, removeKey(loc, keyDeprecated))
		}
		return s, []string{restoredNote(keyStatus, statusActive)}
	case odpsPort:
		if d != nil {
			return []step{setCustom(loc, keyStatus, str(mesh.LifecycleDeprecated)), setCustom(loc, keyDeprecation, block(d))}, nil
		}
		return []step{removeCustom(loc, keyStatus), removeCustom(loc, keyDeprecation)}, nil
	}
	return nil, nil
}

type locator func(*doc) (*yaml.Node, error)

func setKey(loc locator, key string, v val, after []string, first bool) step {
	return func(dc *doc) ([]byte, error) {
		m, err := loc(dc)
		if err != nil {
			return nil, err
		}
		return dc.setScalar(m, key, v, after, first)
	}
}

func removeKey(loc locator, key string) step {
	return func(dc *doc) ([]byte, error) {
		m, err := loc(dc)
		if err != nil {
			return nil, err
		}
		return dc.remove(m, key)
	}
}

// restore sets key back to "to" when it says deprecated.
func restore(loc locator, key, to string) step {
	return func(dc *doc) ([]byte, error) {
		m, err := loc(dc)
		if err != nil {
			return nil, err
		}
		if v := value(m, key); v == nil || v.Kind != yaml.ScalarNode || v.Value != mesh.LifecycleDeprecated {
			return dc.s.b, nil
		}
		return dc.setScalar(m, key, str(to), nil, false)
	}
}

// setBlock makes key of the located mapping hold exactly the entries of b
// (other keys a person added to the block stay): inserted whole when
// absent, entry by entry when present.
func setBlock(loc locator, key string, b val, after []string) []step {
	steps := []step{func(dc *doc) ([]byte, error) {
		m, err := loc(dc)
		if err != nil {
			return nil, err
		}
		i := entry(m, key)
		switch {
		case i < 0:
			return dc.insert(m, key, b, after, false)
		case m.Content[i+1].Kind != yaml.MappingNode:
			return dc.replaceValue(m, i, b)
		}
		return dc.s.b, nil
	}}
	inner := func(dc *doc) (*yaml.Node, error) {
		m, err := loc(dc)
		if err != nil {
			return nil, err
		}
		v := value(m, key)
		if v == nil || v.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("%s is not a mapping", key)
		}
		return v, nil
	}
	var prev []string
	for _, k := range []string{keySunset, keyReplacement, keyReason} {
		want := -1
		for j, e := range b.entries {
			if e.key == k {
				want = j
			}
		}
		if want < 0 {
			steps = append(steps, removeKey(inner, k))
			continue
		}
		after := slices.Clone(prev)
		slices.Reverse(after) // the nearest earlier key first
		steps = append(steps, setKey(inner, k, b.entries[want].v, after, true))
		prev = append(prev, k)
	}
	return steps
}

// customItem finds the custom property named prop in the located mapping:
// the sequence and the item's index, or -1.
func customItem(m *yaml.Node, prop string) (*yaml.Node, int) {
	seq := value(m, keyCustom)
	if seq == nil || seq.Kind != yaml.SequenceNode {
		return seq, -1
	}
	for i, it := range seq.Content {
		if n := value(it, keyProperty); n != nil && n.Kind == yaml.ScalarNode && n.Value == prop {
			return seq, i
		}
	}
	return seq, -1
}

// setCustom makes the custom property prop hold v: a new item of
// customProperties (created when absent), or the item's value updated.
func setCustom(loc locator, prop string, v val) step {
	return func(dc *doc) ([]byte, error) {
		m, err := loc(dc)
		if err != nil {
			return nil, err
		}
		item := val{entries: []kv{{keyProperty, str(prop)}, {keyValue, v}}}
		seq, i := customItem(m, prop)
		switch {
		case seq == nil:
			return dc.insert(m, keyCustom, val{isSeq: true, items: []val{item}}, nil, false)
		case seq.Kind != yaml.SequenceNode:
			if isEmptyValue(seq) {
				return dc.replaceValue(m, entry(m, keyCustom), val{isSeq: true, items: []val{item}})
			}
			return nil, fmt.Errorf("line %d: %s is not a list", seq.Line, keyCustom)
		case i < 0:
			return dc.appendItem(seq, item)
		}
		// The item exists: update its value through the same steps as a
		// block, one edit at a time.
		itemLoc := func(dc *doc) (*yaml.Node, error) {
			m, err := loc(dc)
			if err != nil {
				return nil, err
			}
			seq, i := customItem(m, prop)
			if i < 0 {
				return nil, fmt.Errorf("custom property %s vanished", prop)
			}
			return seq.Content[i], nil
		}
		var steps []step
		if v.isMap() {
			steps = setBlock(itemLoc, keyValue, v, []string{keyProperty})
		} else {
			steps = []step{setKey(itemLoc, keyValue, v, []string{keyProperty}, false)}
		}
		out := dc.s.b
		for _, s := range steps {
			d2, err := parse(out)
			if err != nil {
				return nil, err
			}
			if out, err = s(d2); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
}

// removeCustom deletes the custom property prop, and customProperties
// when it was the last (an empty list is not worth leaving behind).
func removeCustom(loc locator, prop string) step {
	return func(dc *doc) ([]byte, error) {
		m, err := loc(dc)
		if err != nil {
			return nil, err
		}
		seq, i := customItem(m, prop)
		if i < 0 {
			return dc.s.b, nil
		}
		if len(seq.Content) == 1 {
			return dc.remove(m, keyCustom)
		}
		return dc.removeAt(seq, i, 1)
	}
}

// appendItem adds item at the end of sequence seq.
func (d *doc) appendItem(seq *yaml.Node, item val) ([]byte, error) {
	if isFlow(seq) || d.inFlow(seq) {
		if len(seq.Content) == 0 {
			open, err := d.s.valueStart(seq)
			if err != nil {
				return nil, err
			}
			return d.splice(open+1, open+1, flowText(item)), nil
		}
		ind, _ := d.indentOf(seq)
		e, err := d.s.end(seq.Content[len(seq.Content)-1], ind)
		if err != nil {
			return nil, err
		}
		return d.splice(e, e, ", "+flowText(item)), nil
	}
	ind, err := d.indentOf(seq)
	if err != nil {
		return nil, err
	}
	e, err := d.s.end(seq, ind)
	if err != nil {
		return nil, err
	}
	st := d.detectStyle()
	for _, it := range seq.Content { // this list's own spacing after the dash
		if it.Kind == yaml.MappingNode && !isFlow(it) && len(it.Content) > 0 {
			if c, err := d.indentOf(it); err == nil && c > ind {
				st.itemIndent = c - ind
				break
			}
		}
	}
	st.eol = d.s.eol(e)
	pos := d.s.nextLine(e - 1)
	text := blockItem(item, ind, st)
	if pos == len(d.s.b) && d.s.lineEnd(e-1) == len(d.s.b) {
		text = st.eol + strings.TrimSuffix(text, st.eol)
	}
	return d.splice(pos, pos, text), nil
}
