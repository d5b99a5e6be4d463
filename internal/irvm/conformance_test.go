package irvm

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/ir"
	opacases "github.com/open-policy-agent/opa/v1/test/cases"
	"github.com/open-policy-agent/opa/v1/test/cases/testdata"
	"github.com/open-policy-agent/opa/v1/topdown"
	"github.com/open-policy-agent/opa/v1/types"
	"github.com/open-policy-agent/opa/v1/util"
)

// conformanceList names the OPA conformance cases irvm does not pass, each
// with why: the ones it refuses at Prepare (the policy falls back to
// topdown) and the ones it runs and gets wrong.
const conformanceList = "testdata/conformance.yaml"

type knownCases struct {
	Fallback map[string]string `json:"fallback"`
	Fail     map[string]string `json:"fail"`
}

// outcome is what became of one conformance case.
type outcome int

const (
	outPass     outcome = iota // ran on irvm, as expected
	outFallback                // the planner or Prepare refused it: topdown would judge
	outFail                    // ran on irvm, not as expected
	outCompile                 // the case's modules or query do not compile: no plan to run
)

type caseResult struct {
	note   string
	out    outcome
	detail string
}

// TestOPAConformance runs OPA's own evaluation cases (v1/test/cases, written
// for IR evaluators too: OPA's Wasm tests run them) through OPA's planner and
// irvm. They are read from the OPA module this build uses (package testdata
// embeds them), so they are always present and follow the OPA version in
// go.mod. Every case irvm does not pass must be listed, with a reason, in
// testdata/conformance.yaml; a listed case that passes fails the test too,
// so the list stays true.
func TestOPAConformance(t *testing.T) {
	registerSleep()
	var all []opacases.TestCase
	err := fs.WalkDir(testdata.V1, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		bs, err := fs.ReadFile(testdata.V1, p)
		if err != nil {
			return err
		}
		var set opacases.Set
		if err := util.Unmarshal(bs, &set); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		for i := range set.Cases {
			set.Cases[i].Filename = p
		}
		all = append(all, set.Cases...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < 1000 {
		t.Fatalf("found %d conformance cases in OPA's module, want over 1000", len(all))
	}
	known := readKnown(t)

	results := make([]caseResult, len(all))
	for i, tc := range all {
		results[i] = runCase(t, tc)
	}
	counts := map[outcome]int{}
	seen := map[string]bool{}
	for _, r := range results {
		counts[r.out]++
		seen[r.note] = true
		fbWhy, listedFallback := known.Fallback[r.note]
		failWhy, listedFail := known.Fail[r.note]
		switch r.out {
		case outPass:
			if listedFallback || listedFail {
				t.Errorf("%s: listed in %s (%s%s) but passes on irvm now: remove it from the list", r.note, conformanceList, fbWhy, failWhy)
			}
		case outFallback:
			if !listedFallback {
				t.Errorf("%s: refused at prepare (topdown would judge) and not listed under fallback in %s: %s", r.note, conformanceList, r.detail)
			}
		case outFail:
			if !listedFail {
				t.Errorf("%s: irvm disagrees with the case and it is not listed under fail in %s:\n%s", r.note, conformanceList, r.detail)
			}
		case outCompile:
			if listedFallback || listedFail {
				t.Errorf("%s: listed in %s but does not compile, so irvm never sees it", r.note, conformanceList)
			}
		}
	}
	for _, m := range []map[string]string{known.Fallback, known.Fail} {
		for note, why := range m {
			if strings.TrimSpace(why) == "" {
				t.Errorf("%s: listed without a reason", note)
			}
			if !seen[note] {
				t.Errorf("%s: listed in %s but OPA has no such case", note, conformanceList)
			}
		}
	}
	t.Logf("OPA %s conformance cases: %d total, %d pass on irvm, %d refused at prepare (fallback to topdown), %d listed failures, %d expected compile errors (no plan)",
		"v1", len(all), counts[outPass], counts[outFallback], counts[outFail], counts[outCompile])
}

func readKnown(t *testing.T) knownCases {
	t.Helper()
	bs, err := os.ReadFile(conformanceList)
	if err != nil {
		t.Fatal(err)
	}
	var k knownCases
	if err := util.Unmarshal(bs, &k); err != nil {
		t.Fatalf("%s: %v", conformanceList, err)
	}
	return k
}

var sleepOnce sync.Once

// registerSleep adds test.sleep, which OPA's case "time caching" calls, as
// OPA's own harnesses do.
func registerSleep() {
	sleepOnce.Do(func() {
		ast.RegisterBuiltin(&ast.Builtin{Name: "test.sleep", Decl: types.NewFunction(types.Args(types.S), types.NewNull())})
		topdown.RegisterBuiltinFunc("test.sleep", func(_ topdown.BuiltinContext, ops []*ast.Term, iter func(*ast.Term) error) error {
			d, _ := time.ParseDuration(string(ops[0].Value.(ast.String)))
			time.Sleep(d)
			return iter(ast.NullTerm())
		})
	})
}

func runCase(t *testing.T, tc opacases.TestCase) caseResult {
	res := caseResult{note: tc.Note}
	fail := func(format string, args ...any) caseResult {
		res.out, res.detail = outFail, fmt.Sprintf(format, args...)
		return res
	}
	wantsError := tc.WantErrorCode != nil || tc.WantError != nil
	caps := ast.CapabilitiesForThisVersion(ast.CapabilitiesExperimentalKeywords(tc.ExperimentalKeywords))
	modules := map[string]*ast.Module{}
	var compileErr error
	for i, src := range tc.Modules {
		name := fmt.Sprintf("module-%d.rego", i)
		m, err := ast.ParseModuleWithOpts(name, src, ast.ParserOptions{RegoVersion: ast.RegoV1, Capabilities: caps})
		if err != nil {
			compileErr = err
			break
		}
		modules[name] = m
	}
	var plan *irPlan
	if compileErr == nil {
		compiler := ast.NewCompiler().WithCapabilities(caps).WithDefaultRegoVersion(ast.RegoV1)
		compiler.Compile(modules)
		if compiler.Failed() {
			compileErr = compiler.Errors
		} else {
			plan, compileErr = planQuery(compiler, tc.Query)
		}
	}
	if compileErr != nil {
		var planErr planError
		if errors.As(compileErr, &planErr) {
			res.out, res.detail = outFallback, "planner: "+planErr.Error()
			return res
		}
		if wantsError {
			res.out, res.detail = outCompile, compileErr.Error()
			return res
		}
		return fail("does not compile: %v", compileErr)
	}
	prog, err := Prepare(plan.policy, plan.caps)
	if err != nil {
		var ue *UnsupportedError
		if !errors.As(err, &ue) {
			return fail("Prepare: %v (not an *UnsupportedError)", err)
		}
		res.out, res.detail = outFallback, err.Error()
		return res
	}
	var input ast.Value
	switch {
	case tc.InputTerm != nil:
		term, err := ast.ParseTerm(*tc.InputTerm)
		if err != nil {
			return fail("input_term: %v", err)
		}
		input = term.Value
	case tc.Input != nil:
		input = ast.MustInterfaceToValue(*tc.Input)
	}
	data := ast.Value(ast.NewObject())
	if tc.Data != nil {
		data = ast.MustInterfaceToValue(*tc.Data)
	}
	for k, v := range tc.Env {
		t.Setenv(k, v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got, err := prog.Eval(ctx, input, data, EvalOptions{})
	switch {
	case tc.WantDefined != nil:
		if err != nil {
			return fail("error %v, want defined=%v", err, *tc.WantDefined)
		}
		if (len(got) > 0) != *tc.WantDefined {
			return fail("defined=%v, want %v", len(got) > 0, *tc.WantDefined)
		}
	case tc.WantResult != nil:
		if err != nil {
			return fail("error %v, want %v", err, *tc.WantResult)
		}
		want := resultSet(*tc.WantResult, tc.SortBindings)
		have := irvmResultSet(got, tc.SortBindings, tc.IgnoreGeneratedVars)
		if want.Compare(have) != 0 {
			return fail("got  %v\nwant %v", have, want)
		}
	case wantsError && tc.StrictError:
		// irvm runs built-ins as topdown does without strict errors: the
		// call is undefined, and so is what depends on it.
		if err != nil {
			return fail("error %v, want none (strict errors are not on)", err)
		}
	case wantsError:
		if err == nil {
			return fail("no error (got %v), want %s", got, wantedError(tc))
		}
		if tc.WantErrorCode != nil && !strings.Contains(err.Error(), *tc.WantErrorCode) {
			return fail("error %q, want code %s", err, *tc.WantErrorCode)
		}
	default:
		return fail("the case states no expectation")
	}
	res.out = outPass
	return res
}

func wantedError(tc opacases.TestCase) string {
	var parts []string
	if tc.WantErrorCode != nil {
		parts = append(parts, *tc.WantErrorCode)
	}
	if tc.WantError != nil {
		parts = append(parts, *tc.WantError)
	}
	return strings.Join(parts, ": ")
}

// resultSet is a case's expected result: a set of binding objects.
func resultSet(want []map[string]any, sortBindings bool) ast.Set {
	out := ast.NewSet()
	for _, b := range want {
		obj := ast.NewObject()
		for k, v := range b {
			val := ast.MustInterfaceToValue(v)
			if arr, ok := val.(*ast.Array); ok && sortBindings {
				val = arr.Sorted()
			}
			obj.Insert(ast.StringTerm(k), ast.NewTerm(val))
		}
		out.Add(ast.NewTerm(obj))
	}
	return out
}

// irvmResultSet is irvm's result set as a case states one: through JSON, as
// any caller reads it (sets become arrays), bindings sorted when the case
// says their order does not matter.
func irvmResultSet(rs []*ast.Term, sortBindings, ignoreGenerated bool) ast.Set {
	out := ast.NewSet()
	for _, r := range rs {
		obj := ast.NewObject()
		if o, ok := r.Value.(ast.Object); ok {
			o.Foreach(func(k, v *ast.Term) {
				if key, ok := k.Value.(ast.String); ok && ignoreGenerated && strings.HasPrefix(string(key), "__") {
					return
				}
				j, err := ast.JSONWithOpt(v.Value, ast.JSONOpt{SortSets: sortBindings})
				if err != nil {
					obj.Insert(k, v)
					return
				}
				val := ast.MustInterfaceToValue(j)
				if arr, ok := val.(*ast.Array); ok && sortBindings {
					val = arr.Sorted()
				}
				obj.Insert(k, ast.NewTerm(val))
			})
		}
		out.Add(ast.NewTerm(obj))
	}
	return out
}

type irPlan struct {
	policy *ir.Policy
	caps   *ast.Capabilities
}

// planError is the planner refusing a query that compiles: a fallback to
// topdown, as in policyeval.
type planError struct{ err error }

func (e planError) Error() string { return e.err.Error() }

func planQuery(compiler *ast.Compiler, query string) (*irPlan, error) {
	body, err := ast.ParseBodyWithOpts(query, ast.ParserOptions{RegoVersion: ast.RegoV1, Capabilities: compiler.Capabilities()})
	if err != nil {
		return nil, err
	}
	p, err := Plan(context.Background(), compiler, body)
	if err != nil {
		// Query compile errors (type errors, unsafe variables) come from
		// the same preparation as the planner's own: tell them apart by
		// OPA's error codes.
		var errs ast.Errors
		if errors.As(err, &errs) {
			return nil, err
		}
		return nil, planError{err}
	}
	return &irPlan{policy: p, caps: compiler.Capabilities()}, nil
}
