package policyeval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"

	"github.com/meshbot/meshbot/internal/irvm"
	"github.com/meshbot/meshbot/internal/mesh"
)

// Eval judges one document. Every package's deny/violation/warn bodies are
// evaluated by one prepared query; results exempted by the package's
// exception rules are dropped. Evaluation is cut off after Options.Timeout.
//
// input is the document exactly as written and the context is at
// data.meshbot.context. The query runs as OPA's planner lowered it (package
// irvm), which costs a fraction of OPA's tree-walking evaluator on documents
// of this size; a plan irvm cannot run exactly falls back to topdown.
func (s *Set) Eval(ctx context.Context, in Input) ([]Result, error) {
	sh, err := Share(in)
	if err != nil {
		return nil, err
	}
	return s.EvalShared(ctx, sh)
}

// Shared is one document's input and context in OPA's form, for judging
// the document with several Sets (a policy preview judges every document
// with the active and the proposed policy). OPA converts a lazy value's
// keys when a rule first reads them and keeps what it converted, and that
// conversion is most of an evaluation's cost: sharing the values lets the
// second Set read what the first converted, and builds the context once.
//
// A Shared is not safe for concurrent use (OPA caches the conversions
// without a lock): judge one document's Sets one after the other.
type Shared struct {
	in     Input
	docVal ast.Value
	ctxVal ast.Object // built when a Set first reads the context
}

// Share prepares in for EvalShared.
func Share(in Input) (*Shared, error) {
	if in.Doc == nil {
		return nil, errors.New("evaluate policy: no document")
	}
	docVal, err := inputValue(in.Doc.Value)
	if err != nil {
		return nil, fmt.Errorf("evaluate policy on %s: input: %w", in.Doc.Path, err)
	}
	return &Shared{in: in, docVal: docVal}, nil
}

// context is the shared context as OPA's value, built on first use.
func (sh *Shared) context() ast.Object {
	if sh.ctxVal == nil {
		sh.ctxVal = ast.LazyObject(sh.in.Context.doc())
	}
	return sh.ctxVal
}

// EvalShared is Eval of the shared input: the same results, with what an
// earlier Set converted of it reused.
func (s *Set) EvalShared(ctx context.Context, sh *Shared) ([]Result, error) {
	in := sh.in
	var (
		results, exceptions []*ast.Term
		err                 error
	)
	if s.prog != nil {
		results, exceptions, err = s.evalPlan(ctx, sh)
	} else {
		results, exceptions, err = s.evalTopdown(ctx, sh.docVal, in)
	}
	if err != nil {
		if errors.Is(err, irvm.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("evaluate policy %s on %s: stopped after %s (Options.Timeout): %w", s.version, in.Doc.Path, s.timeout, context.DeadlineExceeded)
		}
		return nil, fmt.Errorf("evaluate policy %s on %s: %w", s.version, in.Doc.Path, err)
	}
	var exempt map[string]map[string]bool

	var out []Result
	for i := range min(len(results), len(s.rules)) {
		if results[i] == nil || !s.rules[i].documents.has(in.Context.Kind) {
			continue
		}
		set, ok := results[i].Value.(ast.Set)
		if !ok || set.Len() == 0 {
			continue
		}
		info := s.rules[i]
		if exempt == nil {
			exempt = s.exemptions(exceptions)
		}
		if exempt[info.pkg][info.exception] {
			continue
		}
		msgs := set.Sorted()
		for j := range msgs.Len() {
			v, err := ast.JSON(msgs.Elem(j).Value)
			if err != nil {
				return nil, fmt.Errorf("evaluate policy %s on %s: message of %s: %w", s.version, in.Doc.Path, info.id, err)
			}
			out = append(out, s.result(info, v, in.Doc))
		}
	}
	return out, nil
}

// evalPlan runs the planned query (package irvm). Input, data and context
// reach the plan as lazy objects: a value is converted to OPA's form when a
// rule first reads it, and most rules read a few keys of each.
func (s *Set) evalPlan(ctx context.Context, sh *Shared) (results, exceptions []*ast.Term, err error) {
	data := s.dataVal
	if s.readsContext {
		data = s.dataWithContext(sh.context())
	}
	vals, err := s.prog.EvalFuncs(ctx, sh.docVal, data, s.funcs, irvm.EvalOptions{Timeout: s.timeout})
	if err != nil {
		return nil, nil, err
	}
	return vals[:len(s.rules)], vals[len(s.rules):], nil
}

// dataWithContext is the data document with this evaluation's context at
// meshbot.context. Everything else was converted once, at Load; the
// context is an OPA value already, so it is mounted as it is and what a
// rule converts of it stays converted for the next Set.
func (s *Set) dataWithContext(c ast.Object) ast.Object {
	mb := make(map[string]any, len(s.meshbotData)+1)
	for k, v := range s.meshbotData {
		mb[k] = v
	}
	mb["context"] = c
	top := make(map[string]any, len(s.topData)+1)
	for k, v := range s.topData {
		top[k] = v
	}
	top["meshbot"] = mb
	return ast.LazyObject(top)
}

// evalTopdown is OPA's own evaluator, for plans irvm does not run. The
// context is written at data.meshbot.context inside a transaction of the
// evaluator's own store and dropped afterwards.
func (s *Set) evalTopdown(ctx context.Context, docVal ast.Value, in Input) (results, exceptions []*ast.Term, err error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	e, err := s.acquire(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer s.release(e)
	opts := []rego.EvalOption{rego.EvalParsedInput(docVal)}
	if s.readsContext {
		ctxVal := ast.LazyObject(in.Context.doc())
		txn, err := e.store.NewTransaction(ctx, storage.WriteParams)
		if err != nil {
			return nil, nil, err
		}
		defer e.store.Abort(ctx, txn)
		if err := e.store.Write(ctx, txn, storage.AddOp, contextStorePath, ctxVal); err != nil {
			return nil, nil, fmt.Errorf("mount context: %w", err)
		}
		opts = append(opts, rego.EvalTransaction(txn))
	}
	rs, err := e.query.Eval(ctx, opts...)
	if err != nil || len(rs) == 0 {
		return nil, nil, err
	}
	return elems(termOf(rs[0].Bindings[resultVar])), elems(termOf(rs[0].Bindings[exceptionVar])), nil
}

func elems(v ast.Value) []*ast.Term {
	arr, ok := v.(*ast.Array)
	if !ok {
		return nil
	}
	out := make([]*ast.Term, arr.Len())
	for i := range out {
		out[i] = arr.Elem(i)
	}
	return out
}

var contextStorePath = storage.MustParsePath("/meshbot/context")

func termOf(v any) ast.Value {
	if t, ok := v.(*ast.Term); ok {
		return t.Value
	}
	return nil
}

func (s *Set) exemptions(lists []*ast.Term) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for i := range min(len(lists), len(s.exceptions)) {
		if lists[i] == nil {
			continue
		}
		names, ok := lists[i].Value.(ast.Set)
		if !ok || names.Len() == 0 {
			continue
		}
		set := map[string]bool{}
		names.Foreach(func(t *ast.Term) {
			if str, ok := t.Value.(ast.String); ok {
				set[string(str)] = true
			}
		})
		out[s.exceptions[i]] = set
	}
	return out
}

func (s *Set) result(info *ruleInfo, m any, doc *mesh.Document) Result {
	r := Result{
		Severity:  info.severity,
		Package:   info.pkg,
		Rule:      info.name,
		ID:        info.id,
		Title:     info.title,
		Related:   info.related,
		PolicyPos: info.policyPos,
	}
	var loc *mesh.Pos
	switch v := m.(type) {
	case string:
		r.Message = v
	case bool:
		r.Message = info.title
		if r.Message == "" {
			r.Message = info.id
		}
	case map[string]any:
		for k, fv := range v {
			switch k {
			case "msg":
				if str, ok := fv.(string); ok {
					r.Message = str
				} else {
					r.Message = jsonText(fv)
				}
			case "_loc":
				loc = parseLoc(fv, doc.Path)
			default:
				if r.Metadata == nil {
					r.Metadata = map[string]any{}
				}
				r.Metadata[k] = fv
			}
		}
		if r.Message == "" {
			r.Message = info.title
		}
	default:
		r.Message = jsonText(v)
	}
	switch {
	case loc != nil:
		r.Pos = *loc
	default:
		if p, ok := info.loc.locate(doc, r.Message); ok {
			r.Pos = p
		} else {
			// Nothing in the rule names a place: the finding is about the
			// whole document; PolicyPos still says which rule judged.
			r.Pos = doc.Index.Root()
			if r.Pos.File == "" {
				r.Pos.File = doc.Path
			}
		}
	}
	return r
}

// parseLoc reads a message's _loc: {"file": f, "line": n, "column": c},
// with file defaulting to the judged document.
func parseLoc(v any, file string) *mesh.Pos {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	if inner, ok := m["_loc"]; ok {
		return parseLoc(inner, file)
	}
	p := mesh.Pos{File: file}
	if f, ok := m["file"].(string); ok && f != "" {
		p.File = f
	}
	p.Line = intOf(m["line"])
	p.Col = intOf(m["column"])
	if p.Col == 0 {
		p.Col = intOf(m["col"])
	}
	if p.Line <= 0 {
		return nil
	}
	return &p
}

func intOf(v any) int {
	switch n := v.(type) {
	case json.Number:
		i, err := strconv.Atoi(string(n))
		if err != nil {
			f, ferr := n.Float64()
			if ferr != nil {
				return 0
			}
			return int(f)
		}
		return i
	case float64:
		return int(n)
	case int:
		return n
	case int64:
		return int(n)
	}
	return 0
}

func jsonText(v any) string {
	bs, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(bs)
}

// inputValue is the document as OPA's input. A mapping (every descriptor and
// contract) is handed over lazily: OPA converts the keys a policy reads, when
// it reads them, which is most of the cost of an evaluation otherwise.
func inputValue(v any) (ast.Value, error) {
	if m, ok := v.(map[string]any); ok {
		return ast.LazyObject(m), nil
	}
	return toAST(v)
}

// toAST converts a parsed document to OPA's value without the reflection
// and JSON round trip of ast.InterfaceToValue; anything unusual falls back
// to it.
func toAST(v any) (ast.Value, error) {
	switch x := v.(type) {
	case nil:
		return ast.NullValue, nil
	case string:
		return ast.String(x), nil
	case bool:
		return ast.Boolean(x), nil
	case int64:
		return ast.Number(strconv.FormatInt(x, 10)), nil
	case int:
		return ast.Number(strconv.Itoa(x)), nil
	case float64:
		return ast.Number(strconv.FormatFloat(x, 'g', -1, 64)), nil
	case json.Number:
		return ast.Number(x), nil
	case map[string]any:
		// ast.NewObject orders keys itself.
		items := make([][2]*ast.Term, 0, len(x))
		for k, e := range x {
			ev, err := toAST(e)
			if err != nil {
				return nil, err
			}
			items = append(items, [2]*ast.Term{ast.StringTerm(k), ast.NewTerm(ev)})
		}
		return ast.NewObject(items...), nil
	case []any:
		terms := make([]*ast.Term, len(x))
		for i, e := range x {
			ev, err := toAST(e)
			if err != nil {
				return nil, err
			}
			terms[i] = ast.NewTerm(ev)
		}
		return ast.NewArray(terms...), nil
	case []string:
		terms := make([]*ast.Term, len(x))
		for i, e := range x {
			terms[i] = ast.StringTerm(e)
		}
		return ast.NewArray(terms...), nil
	case map[string]string:
		items := make([][2]*ast.Term, 0, len(x))
		for k, e := range x {
			items = append(items, [2]*ast.Term{ast.StringTerm(k), ast.StringTerm(e)})
		}
		return ast.NewObject(items...), nil
	}
	return ast.InterfaceToValue(v)
}
