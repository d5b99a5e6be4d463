package policyeval

import (
	"bytes"
	"context"
	"fmt"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/ir"
	"github.com/open-policy-agent/opa/v1/topdown"

	"github.com/meshbot/meshbot/internal/irvm"
)

// onIRVM runs every test topdown ran (skipped ones aside) again on irvm and
// records the outcome beside topdown's, marking disagreements. The tests are
// compiled as OPA's test runner compiles them: same sandbox, print
// statements on.
func onIRVM(ctx context.Context, rep *TestReport, modules map[string]*ast.Module, data map[string]any, mutate func(*ir.Policy)) error {
	compiler, err := compile(modules, true)
	if err != nil {
		return err
	}
	dataVal, err := ast.InterfaceToValue(data)
	if err != nil {
		return fmt.Errorf("test policy: data: %w", err)
	}
	for i := range rep.Results {
		tr := &rep.Results[i]
		if tr.Outcome == TestSkip {
			tr.IRVM = NotRun
			continue
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("test policy: %w", err)
		}
		runOnIRVM(ctx, tr, compiler, dataVal, mutate)
		switch {
		case tr.IRVM == NotRun:
			rep.NotOnIRVM++
		case tr.IRVM != tr.Outcome:
			tr.Disagree = true
			rep.Disagreed++
		}
	}
	return nil
}

// testResultVar binds the test rule's value in the query irvm runs.
const testResultVar = "__meshbot_test__"

func runOnIRVM(ctx context.Context, tr *TestResult, compiler *ast.Compiler, data ast.Value, mutate func(*ir.Policy)) {
	ref, err := ast.ParseRef("data." + tr.Package + "." + tr.Name)
	if err != nil {
		tr.IRVM, tr.IRVMNote = NotRun, "test name is not a reference: "+err.Error()
		return
	}
	query := ast.NewBody(ast.Equality.Expr(ast.VarTerm(testResultVar), ast.NewTerm(ref)))
	plan, err := irvm.Plan(ctx, compiler, query)
	if err != nil {
		tr.IRVM, tr.IRVMNote = NotRun, err.Error()
		return
	}
	if mutate != nil {
		mutate(plan)
	}
	prog, err := irvm.Prepare(plan, compiler.Capabilities())
	if err != nil {
		tr.IRVM, tr.IRVMNote = NotRun, err.Error()
		return
	}
	var out bytes.Buffer
	rs, err := prog.Eval(ctx, nil, data, irvm.EvalOptions{Timeout: unitTestTimeout, Print: topdown.NewPrintHook(&out)})
	tr.IRVMOutput = out.String()
	if err != nil {
		tr.IRVM, tr.IRVMNote = TestError, err.Error()
		return
	}
	tr.IRVM = TestFail
	if len(rs) == 0 {
		return
	}
	obj, ok := rs[0].Value.(ast.Object)
	if !ok {
		return
	}
	v := obj.Get(ast.StringTerm(testResultVar))
	if v == nil {
		return
	}
	if partialObject(compiler, ref) {
		if allPass(v.Value) {
			tr.IRVM = TestPass
		}
		return
	}
	if v.Value.Compare(ast.Boolean(true)) == 0 {
		tr.IRVM = TestPass
	}
}

// partialObject reports whether the test rule at ref is a partial object
// (test_x[name] if ...), whose every case must pass, as OPA's test runner
// reads it.
func partialObject(c *ast.Compiler, ref ast.Ref) bool {
	rules := c.GetRules(ref)
	return len(rules) > 0 && rules[0].Head.DocKind() == ast.PartialObjectDoc
}

// allPass is OPA's test runner's reading of a partial object test's value:
// every leaf true, objects read case by case.
func allPass(v ast.Value) bool {
	switch x := v.(type) {
	case ast.Boolean:
		return bool(x)
	case ast.Object:
		ok := true
		x.Foreach(func(_, e *ast.Term) { ok = ok && allPass(e.Value) })
		return ok
	}
	return false
}
