package policyeval

import (
	"strconv"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/meshbot/meshbot/internal/mesh"
)

// A rule's body says which parts of input it looks at. Load records those
// paths once per rule body (refs rooted at input, and variables bound to
// them by `some x in input.a`, `x := input.a[_]`, `every x in input.a`), so
// that Eval can point a finding at the key it is about without any help from
// the policy author.

// star is an iteration over a collection: [_], [i], some x in ...
type star struct{}

type candidate struct {
	path    []any // string keys, int indices, star
	negated bool  // under `not`: the path names something that should exist or hold
}

type locator struct{ cands []candidate }

type analyzer struct {
	bind  map[ast.Var][]any
	skip  map[ast.Var]bool // the head's message variables: formatting, not judging
	cands []candidate
}

func analyze(r *ast.Rule) *locator {
	a := &analyzer{bind: map[ast.Var][]any{}, skip: map[ast.Var]bool{}}
	for _, t := range []*ast.Term{r.Head.Key, r.Head.Value} {
		if t != nil {
			if v, ok := t.Value.(ast.Var); ok {
				a.skip[v] = true
			}
		}
	}
	// Bindings may be written after their use inside comprehensions; a few
	// passes reach the fixpoint for any realistic rule.
	for range 3 {
		ast.WalkExprs(r.Body, func(x *ast.Expr) bool {
			a.bindExpr(x)
			return false
		})
	}
	for _, x := range r.Body {
		if a.formatsMessage(x) {
			continue
		}
		a.collect(x, x.Negated)
	}
	return &locator{cands: a.cands}
}

func (a *analyzer) formatsMessage(x *ast.Expr) bool {
	if !x.IsAssignment() && !x.IsEquality() {
		return false
	}
	for _, t := range x.Operands() {
		if v, ok := t.Value.(ast.Var); ok && a.skip[v] {
			return true
		}
	}
	return false
}

func (a *analyzer) bindExpr(x *ast.Expr) {
	switch {
	case x.IsAssignment() || x.IsEquality():
		ops := x.Operands()
		if len(ops) != 2 {
			return
		}
		for i := range 2 {
			v, ok := ops[i].Value.(ast.Var)
			if !ok {
				continue
			}
			if p, ok := a.pathOf(ops[1-i]); ok {
				a.bind[v] = p
			}
		}
	case x.IsSome():
		decl := x.Terms.(*ast.SomeDecl)
		for _, sym := range decl.Symbols {
			call, ok := sym.Value.(ast.Call)
			if !ok || len(call) < 3 {
				continue
			}
			coll, ok := a.pathOf(call[len(call)-1])
			if !ok {
				continue
			}
			if v, ok := call[len(call)-2].Value.(ast.Var); ok {
				a.bind[v] = append(clonePath(coll), star{})
			}
		}
	case x.IsEvery():
		ev := x.Terms.(*ast.Every)
		if coll, ok := a.pathOf(ev.Domain); ok && ev.Value != nil {
			if v, ok := ev.Value.Value.(ast.Var); ok {
				a.bind[v] = append(clonePath(coll), star{})
			}
		}
	}
}

// pathOf is the input path a term stands for.
func (a *analyzer) pathOf(t *ast.Term) ([]any, bool) {
	if t == nil {
		return nil, false
	}
	switch v := t.Value.(type) {
	case ast.Var:
		if v.Equal(ast.InputRootDocument.Value) {
			return []any{}, true
		}
		p, ok := a.bind[v]
		return p, ok
	case ast.Ref:
		base, ok := a.pathOf(v[0])
		if !ok {
			return nil, false
		}
		p := clonePath(base)
		for _, el := range v[1:] {
			switch k := el.Value.(type) {
			case ast.String:
				p = append(p, string(k))
			case ast.Number:
				i, err := strconv.Atoi(string(k))
				if err != nil {
					return p, true
				}
				p = append(p, i)
			case ast.Var:
				p = append(p, star{})
			default:
				return p, true
			}
		}
		return p, true
	case ast.Call:
		// object.get(x, "k", default) and object.get(x, ["a", "b"], default)
		// read x.k / x.a.b: the idiom for values that may be missing.
		if len(v) != 4 || v[0].String() != ast.ObjectGet.Name {
			return nil, false
		}
		base, ok := a.pathOf(v[1])
		if !ok {
			return nil, false
		}
		p := clonePath(base)
		switch k := v[2].Value.(type) {
		case ast.String:
			return append(p, string(k)), true
		case *ast.Array:
			for i := range k.Len() {
				s, ok := k.Elem(i).Value.(ast.String)
				if !ok {
					return p, true
				}
				p = append(p, string(s))
			}
			return p, true
		}
		return p, true
	}
	return nil, false
}

func (a *analyzer) collect(x *ast.Expr, negated bool) {
	ast.WalkTerms(x, func(t *ast.Term) bool {
		switch v := t.Value.(type) {
		case ast.Ref:
			if p, ok := a.pathOf(t); ok {
				a.add(p, negated)
			}
			// Index terms of the ref may hold refs of their own.
			for _, el := range v[1:] {
				if _, isRef := el.Value.(ast.Ref); isRef {
					a.collectTerm(el, negated)
				}
			}
			return true
		case ast.Var:
			if p, ok := a.bind[v]; ok && !a.skip[v] {
				a.add(p, negated)
			}
		case ast.Call:
			if p, ok := a.pathOf(t); ok {
				a.add(p, negated)
			}
		}
		return false
	})
}

func (a *analyzer) collectTerm(t *ast.Term, negated bool) {
	if p, ok := a.pathOf(t); ok {
		a.add(p, negated)
	}
}

func (a *analyzer) add(p []any, negated bool) {
	if len(p) == 0 {
		return
	}
	for _, c := range a.cands {
		if c.negated == negated && samePath(c.path, p) {
			return
		}
	}
	a.cands = append(a.cands, candidate{path: p, negated: negated})
}

func samePath(a, b []any) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func clonePath(p []any) []any { return append(make([]any, 0, len(p)+2), p...) }

// locate picks the position a message of this rule is about: a candidate
// under `not` (the thing that is missing or wrong) before one the rule merely
// matched on, then the deepest that exists in the document. Iterations pick
// the element the message names.
func (l *locator) locate(doc *mesh.Document, msg string) (mesh.Pos, bool) {
	if l == nil || doc == nil || doc.Index == nil {
		return mesh.Pos{}, false
	}
	bestDepth, bestNeg := 0, false
	var best []any
	var seen mentioned
	for _, c := range l.cands {
		concrete := resolve(doc.Value, c, msg, &seen)
		d := len(concrete)
		if d == 0 {
			continue
		}
		if best == nil || (c.negated && !bestNeg) || (c.negated == bestNeg && d > bestDepth) {
			best, bestDepth, bestNeg = concrete, d, c.negated
		}
	}
	if best == nil {
		return mesh.Pos{}, false
	}
	p, ok := doc.Index.Lookup(best...)
	return p, ok
}

// resolve walks a candidate path through the document as far as it exists,
// choosing concrete elements for iterations.
func resolve(root any, c candidate, msg string, seen *mentioned) []any {
	out := make([]any, 0, len(c.path))
	val := root
	for i, el := range c.path {
		switch k := el.(type) {
		case string:
			m, ok := val.(map[string]any)
			if !ok {
				return out
			}
			next, ok := m[k]
			if !ok {
				return out
			}
			out, val = append(out, k), next
		case int:
			arr, ok := val.([]any)
			if !ok || k < 0 || k >= len(arr) {
				return out
			}
			out, val = append(out, k), arr[k]
		case star:
			switch coll := val.(type) {
			case []any:
				idx := seen.choose(coll, msg, c.path[i+1:], c.negated)
				if idx < 0 {
					return out
				}
				out, val = append(out, idx), coll[idx]
			case map[string]any:
				key := chooseKey(coll, msg)
				if key == "" {
					return out
				}
				out, val = append(out, key), coll[key]
			default:
				return out
			}
		}
	}
	return out
}

// mentioned remembers, within one locate, which element of an array the
// message quotes: candidates of one rule often iterate the same array.
type mentioned []struct {
	first *any
	idx   int
}

func (m *mentioned) choose(arr []any, msg string, rest []any, negated bool) int {
	if m == nil || len(arr) == 0 {
		return chooseElement(arr, msg, rest, negated)
	}
	for _, e := range *m {
		if e.first == &arr[0] {
			return e.idx
		}
	}
	idx := quotedElement(arr, msg)
	if idx >= 0 {
		*m = append(*m, struct {
			first *any
			idx   int
		}{&arr[0], idx})
		return idx
	}
	return chooseElement(arr, msg, rest, negated)
}

// quotedElement is the element whose values the message quotes most
// (its name above all), or -1.
func quotedElement(arr []any, msg string) int {
	best, bestScore := -1, 0
	for i, el := range arr {
		if s := mentionScore(el, msg); s > bestScore {
			best, bestScore = i, s
		}
	}
	return best
}

// chooseElement picks the element of a collection a message is about: the
// one whose values the message quotes (its name above all); else the only
// element; else, for a rule about something missing, the first element that
// lacks it. -1 when the message does not tell.
func chooseElement(arr []any, msg string, rest []any, negated bool) int {
	if best := quotedElement(arr, msg); best >= 0 {
		return best
	}
	if len(arr) == 1 {
		return 0
	}
	if negated && len(rest) > 0 {
		for i, el := range arr {
			if got := resolve(el, candidate{path: rest, negated: true}, msg, nil); len(got) < len(rest) {
				return i
			}
		}
	}
	return -1
}

func chooseKey(m map[string]any, msg string) string {
	best, bestLen := "", 0
	for k := range m {
		if len(k) > bestLen && mentions(msg, k) {
			best, bestLen = k, len(k)
		}
	}
	return best
}

// mentionScore is how much of an element a message quotes: the length of
// every scalar it quotes, and a bonus when that is its name.
func mentionScore(el any, msg string) int {
	switch v := el.(type) {
	case map[string]any:
		score := 0
		for k, fv := range v {
			s, ok := scalarString(fv)
			if !ok || !mentions(msg, s) {
				continue
			}
			score += len(s)
			if k == "name" || k == "id" {
				score += 1000
			}
		}
		return score
	default:
		if s, ok := scalarString(v); ok && mentions(msg, s) {
			return len(s)
		}
	}
	return 0
}

func scalarString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, len(x) >= 2
	case int64:
		return strconv.FormatInt(x, 10), true
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), true
	}
	return "", false
}

// mentions reports whether msg quotes s as a whole word: "orders" is not
// mentioned by "orders-v2".
func mentions(msg, s string) bool {
	if s == "" {
		return false
	}
	for from := 0; ; {
		i := strings.Index(msg[from:], s)
		if i < 0 {
			return false
		}
		start := from + i
		end := start + len(s)
		if (start == 0 || !wordByte(msg[start-1])) && (end == len(msg) || !wordByte(msg[end])) {
			return true
		}
		from = start + 1
	}
}

func wordByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '_' || b == '-'
}
