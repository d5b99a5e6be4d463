package irvm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/ir"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// These tests pin what irvm takes from OPA's planner beyond what package ir
// documents, by planning real Rego with the planner of the OPA version in
// go.mod. When an OPA upgrade changes one of these shapes, a test here
// fails and says which assumption to revisit.

// planFor plans query over modules (Rego v1) with OPA's planner.
func planFor(t *testing.T, query string, modules ...string) *ir.Policy {
	t.Helper()
	parsed := map[string]*ast.Module{}
	var split []string
	for _, m := range modules {
		split = append(split, splitModules(m)...)
	}
	for i, src := range split {
		name := fmt.Sprintf("m%d.rego", i)
		m, err := ast.ParseModuleWithOpts(name, src, ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			t.Fatal(err)
		}
		parsed[name] = m
	}
	c := ast.NewCompiler().WithEnablePrintStatements(true)
	c.Compile(parsed)
	if c.Failed() {
		t.Fatal(c.Errors)
	}
	p, err := Plan(context.Background(), c, ast.MustParseBody(query))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func funcByPath(p *ir.Policy, path ...string) *ir.Func {
	for _, f := range p.Funcs.Funcs {
		if slices.Equal(f.Path[1:], path) {
			return f
		}
	}
	return nil
}

// Rules are planned as functions of (input, data): parameters exactly the
// locals ir.Input and ir.Data, so Prepare may remember their values and
// EvalFuncs may call them with the two documents. Their Path is a
// generation marker followed by the rule's path without "data": Func and
// dynamic calls find them by it.
func TestConventionRuleFunctions(t *testing.T) {
	p := planFor(t, "x = data.a.b.allow; y = data.a.b.names; z = data.a.b.f(1)", `package a.b
allow if input.ok
names contains n if some n in input.names
f(x) := x + 1`)
	for _, tc := range []struct {
		path   []string
		params int
		memo   bool
	}{
		{[]string{"a", "b", "allow"}, 2, true},
		{[]string{"a", "b", "names"}, 2, true},
		{[]string{"a", "b", "f"}, 3, false},
	} {
		f := funcByPath(p, tc.path...)
		if f == nil {
			t.Fatalf("no planned function with path [g? %v]; functions: %v", tc.path, funcNames(p))
		}
		if len(f.Params) != tc.params || f.Params[0] != ir.Input || f.Params[1] != ir.Data {
			t.Errorf("%v: params %v, want %d starting with ir.Input, ir.Data", tc.path, f.Params, tc.params)
		}
		if f.Path[0] != "g0" || f.Name != "g0.data."+joinDots(tc.path) {
			t.Errorf("%v: planned as %s path %v: the planner's generation naming changed", tc.path, f.Name, f.Path)
		}
	}
	prog, err := Prepare(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path []string
		memo bool
	}{{[]string{"a", "b", "allow"}, true}, {[]string{"a", "b", "names"}, true}, {[]string{"a", "b", "f"}, false}} {
		i, ok := prog.Func(tc.path...)
		if tc.memo != ok {
			t.Fatalf("Func(%v) found=%v, want %v (functions with arguments are not rules)", tc.path, ok, tc.memo)
		}
		if ok && !prog.funcs[i].memo {
			t.Errorf("rule %v is not remembered: Prepare found a write to the input or data local", tc.path)
		}
	}
	// The value of a rule's function is the rule's value: what EvalFuncs
	// hands policyeval.
	allow, _ := prog.Func("a", "b", "allow")
	names, _ := prog.Func("a", "b", "names")
	got, err := prog.EvalFuncs(context.Background(), ast.MustParseTerm(`{"ok": true, "names": ["x", "y"]}`).Value, ast.NewObject(), []int{allow, names}, EvalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !got[0].Equal(ast.BooleanTerm(true)) || !got[1].Equal(ast.SetTerm(ast.StringTerm("x"), ast.StringTerm("y"))) {
		t.Errorf("EvalFuncs = %v", got)
	}
	got, err = prog.EvalFuncs(context.Background(), ast.NewObject(), ast.NewObject(), []int{allow}, EvalOptions{})
	if err != nil || got[0] != nil {
		t.Errorf("an undefined rule: %v, %v; want nil", got, err)
	}
}

func joinDots(p []string) string {
	s := ""
	for i, x := range p {
		if i > 0 {
			s += "."
		}
		s += x
	}
	return s
}

func funcNames(p *ir.Policy) []string {
	var out []string
	for _, f := range p.Funcs.Funcs {
		out = append(out, f.Name)
	}
	return out
}

// A rule planned twice (once as written, once under a with that replaces
// another rule it reads) is in two generations: Func does not guess which.
func TestConventionWithGenerations(t *testing.T) {
	p := planFor(t, "x = data.a.v; y = data.a.v with data.a.w as 5", `package a
w := 1
v := w + 1`)
	var gens []string
	for _, f := range p.Funcs.Funcs {
		if slices.Equal(f.Path[1:], []string{"a", "v"}) {
			gens = append(gens, f.Path[0])
		}
	}
	if len(gens) != 2 || gens[0] == gens[1] {
		t.Fatalf("data.a.v planned in generations %v, want two", gens)
	}
	prog, err := Prepare(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := prog.Func("a", "v"); ok {
		t.Error("Func found one of two generations of data.a.v")
	}
	agree(t, "package a\nw := 1\nv := w + 1", "x = data.a.v; y = data.a.v with data.a.w as 5", `{}`, "")
}

// findDynamic returns the first CallDynamicStmt of a plan and the blocks
// around it, innermost first.
func findDynamic(p *ir.Policy) (*ir.CallDynamicStmt, []*ir.Block) {
	var found *ir.CallDynamicStmt
	var chain []*ir.Block
	var walk func(b *ir.Block, up []*ir.Block) bool
	walk = func(b *ir.Block, up []*ir.Block) bool {
		here := append([]*ir.Block{b}, up...)
		for _, s := range b.Stmts {
			if d, ok := s.(*ir.CallDynamicStmt); ok {
				found, chain = d, here
				return true
			}
			ps, _ := stmtParts(s)
			for _, nb := range ps.blocks {
				if walk(nb, here) {
					return true
				}
			}
		}
		return false
	}
	for _, b := range p.Plans.Plans[0].Blocks {
		if walk(b, nil) {
			break
		}
	}
	for _, f := range p.Funcs.Funcs {
		if found != nil {
			break
		}
		for _, b := range f.Blocks {
			if walk(b, nil) {
				break
			}
		}
	}
	return found, chain
}

const dynamicPolicy = `package lib
rules.a := 1 if input.a
rules.b := 2
package t
v := data.lib.rules[input.k]
w if { data.lib.rules[input.k]; true }
not_v if not data.lib.rules[input.k]
`

// A data reference with a variable is planned as a dynamic call in the
// shape callDynamic (prepare.go) checks: [call_dynamic; break 1] first of a
// pair of blocks inside the reference's block, which ends with break 2.
// irvm reads N=2 from the plan and, for a rule that exists and is
// undefined, breaks by N+1 = 3 from the call's block, as OPA's Wasm
// compiler does (br 3).
func TestConventionDynamicCallShape(t *testing.T) {
	p := planFor(t, "x = data.t.v", dynamicPolicy)
	d, chain := findDynamic(p)
	if d == nil {
		t.Fatal("the planner no longer plans data.lib.rules[input.k] as a CallDynamicStmt")
	}
	if len(chain) < 2 {
		t.Fatalf("dynamic call nested %d deep", len(chain))
	}
	call, ref := chain[0], chain[1]
	if len(call.Stmts) != 2 || call.Stmts[0] != d || !isBreak(call.Stmts[1], 1) {
		t.Errorf("the call's block is %v, want [call_dynamic; break 1]", call.Stmts)
	}
	if len(ref.Stmts) != 2 || !isBreak(ref.Stmts[1], 2) {
		t.Errorf("the reference's block is %v, want [block; break 2]", ref.Stmts)
	} else if bs, ok := ref.Stmts[0].(*ir.BlockStmt); !ok || len(bs.Blocks) != 2 || bs.Blocks[0] != call {
		t.Errorf("the call's block is not the first of a pair: %v", ref.Stmts[0])
	}
	if !rootLocals(d.Args) {
		t.Errorf("dynamic call args %v, want the input and data locals", d.Args)
	}
	prog, err := Prepare(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := prog.dynamic[d]; got != 3 {
		t.Errorf("break for an undefined rule = %d, want 3", got)
	}
	for _, q := range []string{"x = data.t.v", "x = data.t.w", "x = data.t.not_v", "x = data.t"} {
		for _, in := range []string{`{"k": "a", "a": true}`, `{"k": "a"}`, `{"k": "b"}`, `{"k": "c"}`, `{}`} {
			agree(t, dynamicPolicy, q, in, `{"lib": {"rules": {"c": 3}}}`)
		}
	}
}

// agree runs query over module on topdown and irvm and fails when they
// differ.
func agree(t *testing.T, module, query, input, data string) {
	t.Helper()
	ctx := context.Background()
	modules := map[string]*ast.Module{}
	for i, src := range splitModules(module) {
		m, err := ast.ParseModuleWithOpts(fmt.Sprintf("m%d.rego", i), src, ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			t.Fatal(err)
		}
		modules[m.Package.Path.String()] = m
	}
	c := ast.NewCompiler()
	c.Compile(modules)
	if c.Failed() {
		t.Fatal(c.Errors)
	}
	dataVal := ast.Value(ast.NewObject())
	if data != "" {
		dataVal = ast.MustParseTerm(data).Value
	}
	want, werr := topdownValue(ctx, c, query, ast.MustParseTerm(input).Value, dataVal)
	got, gerr := irvmResult(ctx, prepare(t, c, ast.MustParseBody(query)), ast.MustParseTerm(input).Value, dataVal)
	if (werr != nil) != (gerr != nil) || (werr == nil && want.Compare(got) != 0) {
		t.Errorf("%s on %s:\ntopdown %v %v\nirvm    %v %v", query, input, want, werr, got, gerr)
	}
}

func storeOf(data ast.Value) storage.Store {
	return inmem.NewFromObject(mustJSON(data).(map[string]any))
}

func splitModules(src string) []string {
	var out []string
	for _, part := range bytes.Split([]byte(src), []byte("package "))[1:] {
		out = append(out, "package "+string(part))
	}
	return out
}

func topdownValue(ctx context.Context, c *ast.Compiler, query string, input, data ast.Value) (ast.Value, error) {
	pq, err := rego.New(rego.ParsedQuery(ast.MustParseBody(query)), rego.Compiler(c), rego.Store(storeOf(data))).PrepareForEval(ctx)
	if err != nil {
		return nil, err
	}
	return topdownResult(ctx, pq, input)
}

// alienStmt is a statement irvm does not list: what a future OPA's new
// statement type looks like to it.
type alienStmt struct{ ir.NopStmt }

func TestPrepareRefusesUnlisted(t *testing.T) {
	base := func() *ir.Policy {
		return planFor(t, "x = data.t.v", dynamicPolicy)
	}
	for _, tc := range []struct {
		name   string
		mutate func(p *ir.Policy)
		what   Refusal
		stmt   string
	}{
		{"unknown statement in the plan", func(p *ir.Policy) {
			b := p.Plans.Plans[0].Blocks[0]
			b.Stmts = append([]ir.Stmt{&alienStmt{}}, b.Stmts...)
		}, RefuseStatement, "*irvm.alienStmt"},
		{"unknown statement deep in a function", func(p *ir.Policy) {
			f := funcByPath(p, "t", "v")
			b := f.Blocks[len(f.Blocks)-1]
			b.Stmts = append([]ir.Stmt{&ir.BlockStmt{Blocks: []*ir.Block{{Stmts: []ir.Stmt{&alienStmt{}}}}}}, b.Stmts...)
		}, RefuseStatement, "*irvm.alienStmt"},
		{"dynamic call without its break", func(p *ir.Policy) {
			_, chain := findDynamic(p)
			chain[0].Stmts = chain[0].Stmts[:1]
		}, RefuseDynamicCall, ""},
		{"reference block without its break", func(p *ir.Policy) {
			_, chain := findDynamic(p)
			chain[1].Stmts = chain[1].Stmts[:1]
		}, RefuseDynamicCall, ""},
		{"string index out of range", func(p *ir.Policy) {
			b := p.Plans.Plans[0].Blocks[0]
			b.Stmts = append([]ir.Stmt{&ir.AssignVarStmt{Source: ir.Operand{Value: ir.StringIndex(1 << 20)}, Target: 2}}, b.Stmts...)
		}, RefuseOperand, ""},
		{"call of an undefined function", func(p *ir.Policy) {
			b := p.Plans.Plans[0].Blocks[0]
			b.Stmts = append([]ir.Stmt{&ir.CallStmt{Func: "g0.data.nowhere", Result: 2}}, b.Stmts...)
		}, RefuseFunction, "g0.data.nowhere"},
		{"built-in without an implementation", func(p *ir.Policy) {
			p.Static.BuiltinFuncs = append(p.Static.BuiltinFuncs, &ir.BuiltinFunc{Name: "no.such.builtin"})
		}, RefuseBuiltin, "no.such.builtin"},
		{"http.send", func(p *ir.Policy) {
			p.Static.BuiltinFuncs = append(p.Static.BuiltinFuncs, &ir.BuiltinFunc{Name: "http.send"})
		}, RefuseBuiltin, "http.send"},
		{"two plans", func(p *ir.Policy) {
			p.Plans.Plans = append(p.Plans.Plans, p.Plans.Plans[0])
		}, RefusePlan, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := base()
			if _, err := Prepare(p, nil); err != nil {
				t.Fatalf("unmodified plan refused: %v", err)
			}
			tc.mutate(p)
			_, err := Prepare(p, nil)
			var ue *UnsupportedError
			if !errors.As(err, &ue) || !errors.Is(err, ErrUnsupported) {
				t.Fatalf("err = %v, want *UnsupportedError", err)
			}
			if ue.What != tc.what || (tc.stmt != "" && ue.Name != tc.stmt) {
				t.Errorf("refused %q %q, want %q %q (%v)", ue.What, ue.Name, tc.what, tc.stmt, err)
			}
		})
	}
}

// A plan that writes the input or data local other than through a with
// statement may call a rule with other documents: no rule is remembered,
// and the evaluation stays exact.
func TestMemoOnlyWhenDocumentsAreFixed(t *testing.T) {
	p := planFor(t, "x = data.t.v", dynamicPolicy)
	prog, err := Prepare(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if i, ok := prog.Func("t", "v"); !ok || !prog.funcs[i].memo {
		t.Fatal("data.t.v is not remembered in the plan as planned")
	}
	b := p.Plans.Plans[0].Blocks[0]
	b.Stmts = append([]ir.Stmt{&ir.AssignVarStmt{Source: ir.Operand{Value: ir.Local(ir.Input)}, Target: ir.Input}}, b.Stmts...)
	prog, err = Prepare(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range prog.funcs {
		if f.memo {
			t.Errorf("%s remembered although the plan writes the input local", f.fn.Name)
		}
	}
}

// print() in a plan compiled with print statements reaches EvalOptions.Print
// as topdown's print hook would.
func TestPrint(t *testing.T) {
	p := planFor(t, "x = data.t.v", `package t
v := n if { n := count(input.xs); print("n is", n, input.xs) }`)
	prog, err := Prepare(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := prog.Eval(context.Background(), ast.MustParseTerm(`{"xs": [1, 2]}`).Value, ast.NewObject(), EvalOptions{Print: topdown.NewPrintHook(&buf)}); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != "n is 2 [1, 2]\n" {
		t.Errorf("print output %q", got)
	}
}
