package impact

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/meshbot/meshbot/internal/mesh"
)

// ReadRegistry parses a registry file of consumer expectations, YAML or JSON:
//
//	consumers:
//	  - product: marketing.campaign-attribution   # the consumer's global id
//	    owner: team-marketing
//	    inputPorts:
//	      - name: orders                           # optional; defaults to the producer id
//	        product: orders.order-events           # producer's global id
//	        port: iceberg-curated                  # producer's output port
//	        fields: [order_id, status]             # optional; absent = the whole port
//
// It returns one product per entry, carrying only identity, owner and input
// ports, with positions in path. This is what `meshbot check --consumers FILE`
// reads. Entries with a wrong shape are reported as Problems and skipped;
// the rest are still returned.
func ReadRegistry(path string, src []byte) ([]*mesh.Product, []mesh.Problem) {
	doc, err := mesh.ParseYAML(path, src)
	if err != nil {
		var p mesh.Problem
		if errors.As(err, &p) {
			return nil, []mesh.Problem{p}
		}
		return nil, []mesh.Problem{{Code: "yaml-syntax", Pos: mesh.Pos{File: path, Line: 1}, Message: err.Error()}}
	}
	r := &registryReader{path: path, ix: doc.Index}
	return r.read(doc.Value)
}

type registryReader struct {
	path     string
	ix       *mesh.Index
	problems []mesh.Problem
}

func (r *registryReader) at(path ...any) mesh.Pos {
	p, ok := r.ix.Lookup(path...)
	if !ok || p.File == "" {
		p, _ = r.ix.Nearest(path...)
	}
	if p.File == "" {
		p = r.ix.Root()
	}
	if p.File == "" || p.Line == 0 {
		p = mesh.Pos{File: r.path, Line: 1}
	}
	return p
}

func (r *registryReader) fail(code string, pos mesh.Pos, format string, args ...any) {
	r.problems = append(r.problems, mesh.Problem{Code: code, Pos: pos, Message: fmt.Sprintf(format, args...)})
}

func (r *registryReader) read(v any) ([]*mesh.Product, []mesh.Problem) {
	root, ok := v.(map[string]any)
	if !ok {
		r.fail(mesh.CodeWrongType, r.at(), "a consumer registry is a mapping with a consumers list, found %s", kind(v))
		return nil, r.problems
	}
	r.unknownKeys(root, []any{}, "apiVersion", "kind", "consumers")
	raw, present := root["consumers"]
	if !present {
		r.fail(mesh.CodeMissingKey, r.at(), "a consumer registry needs a consumers list")
		return nil, r.problems
	}
	list, ok := raw.([]any)
	if !ok {
		if raw != nil {
			r.fail(mesh.CodeWrongType, r.at("consumers"), "consumers must be a list, found %s", kind(raw))
		}
		return nil, r.problems
	}
	var out []*mesh.Product
	seen := map[string]mesh.Pos{}
	for i, item := range list {
		p := r.consumer(i, item)
		if p == nil {
			continue
		}
		if first, dup := seen[p.ID()]; dup {
			r.fail("duplicate-product", p.Pos, "consumer %s is registered twice (first at line %d); the first entry is used", p.ID(), first.Line)
			continue
		}
		seen[p.ID()] = p.Pos
		out = append(out, p)
	}
	return out, r.problems
}

func (r *registryReader) consumer(i int, v any) *mesh.Product {
	base := []any{"consumers", i}
	m, ok := v.(map[string]any)
	if !ok {
		r.fail(mesh.CodeWrongType, r.at(base...), "consumers[%d] must be a mapping with product, owner and inputPorts, found %s", i, kind(v))
		return nil
	}
	r.unknownKeys(m, base, "product", "owner", "inputPorts")
	id, ok := r.str(m, base, "product", true)
	if !ok {
		return nil
	}
	domain, name := splitID(id)
	if name == "" {
		r.fail(mesh.CodeBadValue, r.at(append(base, "product")...), "consumers[%d].product %q is not a product id (<domain>.<name>)", i, id)
		return nil
	}
	owner, _ := r.str(m, base, "owner", false)
	p := &mesh.Product{
		File:   r.path,
		Name:   name,
		Domain: domain,
		Owner:  owner,
		Pos:    r.at(base...),
		Locs:   mesh.Locs{},
	}
	for _, k := range []string{"product", "owner", "inputPorts"} {
		if pos, ok := r.ix.Lookup(append(base, k)...); ok {
			p.Locs[k] = pos
		}
	}
	raw, present := m["inputPorts"]
	if !present || raw == nil {
		return p
	}
	ports, ok := raw.([]any)
	if !ok {
		r.fail(mesh.CodeWrongType, r.at(append(base, "inputPorts")...), "consumers[%d].inputPorts must be a list, found %s", i, kind(raw))
		return p
	}
	for j, pv := range ports {
		if in := r.inputPort(append(base, "inputPorts", j), pv); in != nil {
			p.InputPorts = append(p.InputPorts, in)
		}
	}
	return p
}

func (r *registryReader) inputPort(base []any, v any) *mesh.InputPort {
	where := describe(base)
	m, ok := v.(map[string]any)
	if !ok {
		r.fail(mesh.CodeWrongType, r.at(base...), "%s must be a mapping with product, port and fields, found %s", where, kind(v))
		return nil
	}
	r.unknownKeys(m, base, "name", "product", "port", "fields")
	producer, ok1 := r.str(m, base, "product", true)
	port, ok2 := r.str(m, base, "port", true)
	if !ok1 || !ok2 {
		return nil
	}
	name, _ := r.str(m, base, "name", false)
	if name == "" {
		name = producer
	}
	in := &mesh.InputPort{Name: name, Product: producer, Port: port, Pos: r.at(base...), Locs: mesh.Locs{}}
	for _, k := range []string{"name", "product", "port", "fields"} {
		if pos, ok := r.ix.Lookup(append(base, k)...); ok {
			in.Locs[k] = pos
		}
	}
	raw, present := m["fields"]
	if !present || raw == nil {
		return in
	}
	list, ok := raw.([]any)
	if !ok {
		r.fail(mesh.CodeWrongType, r.at(append(base, "fields")...), "%s.fields must be a list of field names, found %s", where, kind(raw))
		return in
	}
	for k, fv := range list {
		fpath := append(slices.Clone(base), "fields", k)
		s, ok := fv.(string)
		if !ok || strings.TrimSpace(s) == "" {
			r.fail(mesh.CodeWrongType, r.at(fpath...), "%s.fields[%d] must be a field name, found %s", where, k, kind(fv))
			continue
		}
		in.Fields = append(in.Fields, mesh.FieldRef{Name: strings.TrimSpace(s), Pos: r.at(fpath...)})
	}
	return in
}

// str reads a string attribute; required ones missing or empty are reported.
func (r *registryReader) str(m map[string]any, base []any, key string, required bool) (string, bool) {
	v, present := m[key]
	if !present || v == nil {
		if required {
			r.fail(mesh.CodeMissingKey, r.at(base...), "%s needs %s", describe(base), key)
		}
		return "", !required
	}
	s, ok := v.(string)
	if !ok {
		r.fail(mesh.CodeWrongType, r.at(append(base, key)...), "%s.%s must be a string, found %s", describe(base), key, kind(v))
		return "", false
	}
	s = strings.TrimSpace(s)
	if s == "" && required {
		r.fail(mesh.CodeMissingKey, r.at(append(base, key)...), "%s.%s is empty", describe(base), key)
		return "", false
	}
	return s, true
}

// unknownKeys reports keys nobody reads: a misspelt "fileds" would otherwise
// silently turn a field list into a whole-port dependency.
func (r *registryReader) unknownKeys(m map[string]any, base []any, known ...string) {
	// Map order is random; report in key order so output is stable.
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !slices.Contains(known, k) {
			r.fail("unknown-key", r.at(append(slices.Clone(base), k)...), "unknown key %q in %s (expected one of %s)", k, describe(base), strings.Join(known, ", "))
		}
	}
}

// splitID splits a global id at its first dot: "finance.revenue" →
// ("finance", "revenue"). Ids without a dot have no domain.
func splitID(id string) (domain, name string) {
	if d, n, ok := strings.Cut(id, "."); ok {
		return d, n
	}
	return "", id
}

func describe(path []any) string {
	if len(path) == 0 {
		return "the registry"
	}
	var b strings.Builder
	for _, el := range path {
		switch x := el.(type) {
		case int:
			fmt.Fprintf(&b, "[%d]", x)
		default:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			fmt.Fprint(&b, x)
		}
	}
	return b.String()
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "nothing"
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int64, float64:
		return "a number"
	}
	return fmt.Sprintf("%T", v)
}
