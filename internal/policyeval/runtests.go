package policyeval

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/ir"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"
	"github.com/open-policy-agent/opa/v1/topdown"

	"github.com/meshbot/meshbot/internal/mesh"
)

// Outcomes of a policy unit test.
const (
	TestPass  = "PASS"
	TestFail  = "FAIL"
	TestError = "ERROR"
	TestSkip  = "SKIPPED"
	// NotRun is TestResult.IRVM for a test irvm could not prepare: only
	// topdown ran it (and a policy using what it refused falls back to
	// topdown when loaded).
	NotRun = "NOT RUN"
)

// TestResult is one test_ rule.
type TestResult struct {
	Package  string        // "mesh.residency_test"
	Name     string        // "test_eu_port_passes"
	Outcome  string        // PASS, FAIL, ERROR, SKIPPED
	Duration time.Duration //
	Pos      mesh.Pos      // the test rule
	Error    string        // evaluation error (ERROR)
	Trace    string        // evaluation trace (FAIL, ERROR)
	Output   string        // print() output
	// IRVM is the test's outcome on irvm, the engine that judges in
	// production (PASS, FAIL, ERROR), or NotRun when irvm could not
	// prepare it (IRVMNote says why) or topdown skipped it.
	IRVM       string
	IRVMNote   string // why irvm did not run the test, or its error
	IRVMOutput string // print() output on irvm
	// Disagree: topdown and irvm gave the test different outcomes. The
	// report fails.
	Disagree bool
}

// TestReport is every test of a policy folder.
type TestReport struct {
	Version string // the policy version tested
	Results []TestResult
	Passed  int
	Failed  int
	Errored int
	Skipped int
	// Disagreed counts tests whose outcome differs between topdown and
	// irvm; NotOnIRVM those irvm could not prepare.
	Disagreed int
	NotOnIRVM int
}

// OK reports whether no test failed or errored and the engines agreed on
// every test.
func (r *TestReport) OK() bool { return r.Failed == 0 && r.Errored == 0 && r.Disagreed == 0 }

// Test runs the Rego unit tests (test_ rules) of the policy folder fsys, in
// the same sandbox and with the same data as Load, on both engines (see
// RunTests).
func Test(ctx context.Context, fsys fs.FS) (*TestReport, error) {
	pf, err := readPolicy(fsys)
	if err != nil {
		return nil, err
	}
	rep, err := runTests(ctx, pf.modules, pf.data, nil)
	if err != nil {
		return nil, err
	}
	rep.Version = pf.version
	return rep, nil
}

// RunTests runs the Rego unit tests (test_ rules) of a policy bundle held
// in memory: modules maps a file's path to its Rego source, data is the
// data document (data files mounted by folder, as Load mounts them). Each
// test runs through OPA's test runner on topdown, as `opa test` does, and
// again on irvm, the engine that judges in production, wherever irvm can
// prepare it; a test whose outcome differs between the two is reported as a
// disagreement (TestResult.Disagree) and fails the report. Results carry
// each test's file and line, outcome and print output; the report's
// Version is left empty (Test sets the folder's).
func RunTests(ctx context.Context, modules map[string]string, data map[string]any) (*TestReport, error) {
	parsed := map[string]*ast.Module{}
	var problems []Problem
	for _, p := range slices.Sorted(maps.Keys(modules)) {
		m, err := ast.ParseModuleWithOpts(p, modules[p], parserOptions())
		if err != nil {
			problems = append(problems, astProblems(err, nil)...)
			continue
		}
		parsed[p] = m
	}
	if len(problems) > 0 {
		return nil, &CompileError{Errors: problems}
	}
	if data == nil {
		data = map[string]any{}
	}
	return runTests(ctx, parsed, data, nil)
}

// unitTestTimeout bounds one test on either engine.
const unitTestTimeout = DefaultTimeout * 5

// runTests runs the tests on topdown and irvm; mutate, when set, changes
// each test's plan before irvm prepares it (the tests' stand-in for an
// evaluator that is wrong).
func runTests(ctx context.Context, modules map[string]*ast.Module, data map[string]any, mutate func(*ir.Policy)) (*TestReport, error) {
	if len(modules) == 0 {
		return nil, fmt.Errorf("test policy: no .rego files found")
	}
	runner := tester.NewRunner().
		SetCompiler(newCompiler().WithEnablePrintStatements(true)).
		SetDefaultRegoVersion(ast.RegoV1).
		SetStore(inmem.NewFromObjectWithOpts(data, inmem.OptRoundTripOnWrite(false))).
		SetModules(modules).
		CapturePrintOutput(true).
		EnableTracing(true).
		SetTimeout(unitTestTimeout)
	ch, err := runner.RunTests(ctx, nil)
	if err != nil {
		var errs ast.Errors
		if errors.As(err, &errs) {
			return nil, compileError(errs, modules)
		}
		return nil, fmt.Errorf("test policy: %w", err)
	}
	rep := &TestReport{}
	for res := range ch {
		tr := TestResult{
			Package:  strings.TrimPrefix(res.Package, "data."),
			Name:     res.Name,
			Duration: res.Duration,
			Output:   string(res.Output),
		}
		if res.Location != nil {
			tr.Pos = mesh.Pos{File: res.Location.File, Line: res.Location.Row, Col: res.Location.Col}
		}
		switch {
		case res.Skip:
			tr.Outcome = TestSkip
			rep.Skipped++
		case res.Error != nil:
			tr.Outcome = TestError
			tr.Error = res.Error.Error()
			rep.Errored++
		case res.Fail:
			tr.Outcome = TestFail
			rep.Failed++
		default:
			tr.Outcome = TestPass
			rep.Passed++
		}
		if tr.Outcome == TestFail || tr.Outcome == TestError {
			var buf bytes.Buffer
			topdown.PrettyTraceWithLocation(&buf, res.Trace)
			tr.Trace = buf.String()
		}
		rep.Results = append(rep.Results, tr)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("test policy: %w", err)
	}
	if err := onIRVM(ctx, rep, modules, data, mutate); err != nil {
		return nil, err
	}
	sort.Slice(rep.Results, func(i, j int) bool {
		a, b := rep.Results[i], rep.Results[j]
		if a.Pos.File != b.Pos.File {
			return a.Pos.File < b.Pos.File
		}
		return a.Pos.Line < b.Pos.Line
	})
	return rep, nil
}

// Write prints the report as `opa test` does: failures (with their traces
// when verbose), every test when verbose, then "PASS: n/n" (and
// FAIL/ERROR/SKIPPED lines).
func (r *TestReport) Write(w io.Writer, verbose bool) error {
	var b strings.Builder
	total := len(r.Results)
	if !r.OK() {
		b.WriteString("FAILURES\n" + strings.Repeat("-", 80) + "\n")
		for _, t := range r.Results {
			if t.Outcome != TestFail && t.Outcome != TestError && !t.Disagree {
				continue
			}
			if t.Disagree {
				fmt.Fprintf(&b, "%s: %s (engines disagree: topdown %s, irvm %s)\n", t.Pos, t.qualified(), t.Outcome, t.IRVM)
				if t.IRVMNote != "" {
					fmt.Fprintf(&b, "  irvm: %s\n", t.IRVMNote)
				}
				if t.IRVMOutput != t.Output {
					fmt.Fprintf(&b, "  print on topdown: %q\n  print on irvm:    %q\n", t.Output, t.IRVMOutput)
				}
			} else {
				fmt.Fprintf(&b, "%s: %s (%s)\n", t.Pos, t.qualified(), t.Outcome)
			}
			if t.Error != "" {
				fmt.Fprintf(&b, "  %s\n", t.Error)
			}
			if verbose && t.Trace != "" {
				for _, line := range strings.Split(strings.TrimRight(t.Trace, "\n"), "\n") {
					b.WriteString("  " + line + "\n")
				}
			}
			b.WriteString("\n")
		}
		b.WriteString("SUMMARY\n" + strings.Repeat("-", 80) + "\n")
	}
	if verbose || !r.OK() {
		file := ""
		for _, t := range r.Results {
			if !verbose && t.Outcome == TestPass && !t.Disagree {
				continue
			}
			if t.Pos.File != file {
				file = t.Pos.File
				fmt.Fprintf(&b, "%s:\n", file)
			}
			fmt.Fprintf(&b, "%s: %s (%s)%s\n", t.qualified(), t.Outcome, t.Duration.Round(time.Microsecond), t.engines())
			if verbose && t.Output != "" {
				b.WriteString(t.Output)
			}
		}
		b.WriteString(strings.Repeat("-", 80) + "\n")
	}
	if r.Passed > 0 || total == 0 {
		fmt.Fprintf(&b, "PASS: %d/%d\n", r.Passed, total)
	}
	if r.Failed > 0 {
		fmt.Fprintf(&b, "FAIL: %d/%d\n", r.Failed, total)
	}
	if r.Errored > 0 {
		fmt.Fprintf(&b, "ERROR: %d/%d\n", r.Errored, total)
	}
	if r.Skipped > 0 {
		fmt.Fprintf(&b, "SKIPPED: %d/%d\n", r.Skipped, total)
	}
	if r.Disagreed > 0 {
		fmt.Fprintf(&b, "DISAGREE (topdown and irvm): %d/%d\n", r.Disagreed, total)
	}
	if notRun := r.NotOnIRVM; notRun > 0 {
		fmt.Fprintf(&b, "NOT ON IRVM (topdown only): %d/%d\n", notRun, total)
		if verbose {
			for _, t := range r.Results {
				if t.IRVM == NotRun && t.Outcome != TestSkip {
					fmt.Fprintf(&b, "  %s: %s\n", t.qualified(), t.IRVMNote)
				}
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// engines is what the verbose listing adds about irvm: nothing when it
// agreed with topdown.
func (t TestResult) engines() string {
	switch {
	case t.Disagree:
		return fmt.Sprintf(" [irvm: %s]", t.IRVM)
	case t.IRVM == NotRun && t.Outcome != TestSkip:
		return " [irvm: " + NotRun + "]"
	}
	return ""
}

func (t TestResult) qualified() string { return "data." + t.Package + "." + t.Name }
