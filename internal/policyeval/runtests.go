package policyeval

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
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
}

// TestReport is every test of a policy folder.
type TestReport struct {
	Version string // the policy version tested
	Results []TestResult
	Passed  int
	Failed  int
	Errored int
	Skipped int
}

// OK reports whether no test failed or errored.
func (r *TestReport) OK() bool { return r.Failed == 0 && r.Errored == 0 }

// Test runs the Rego unit tests (test_ rules) of fsys with OPA's test runner,
// in the same sandbox and with the same data as Load.
func Test(ctx context.Context, fsys fs.FS) (*TestReport, error) {
	pf, err := readPolicy(fsys)
	if err != nil {
		return nil, err
	}
	if len(pf.modules) == 0 {
		return nil, fmt.Errorf("test policy: no .rego files found")
	}
	runner := tester.NewRunner().
		SetCompiler(newCompiler().WithEnablePrintStatements(true)).
		SetDefaultRegoVersion(ast.RegoV1).
		SetStore(inmem.NewFromObjectWithOpts(pf.data, inmem.OptRoundTripOnWrite(false))).
		SetModules(pf.modules).
		CapturePrintOutput(true).
		EnableTracing(true).
		SetTimeout(DefaultTimeout * 5)
	ch, err := runner.RunTests(ctx, nil)
	if err != nil {
		var errs ast.Errors
		if errors.As(err, &errs) {
			return nil, compileError(errs, pf.modules)
		}
		return nil, fmt.Errorf("test policy: %w", err)
	}
	rep := &TestReport{Version: pf.version}
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
			if t.Outcome != TestFail && t.Outcome != TestError {
				continue
			}
			fmt.Fprintf(&b, "%s: %s (%s)\n", t.Pos, t.qualified(), t.Outcome)
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
			if !verbose && t.Outcome == TestPass {
				continue
			}
			if t.Pos.File != file {
				file = t.Pos.File
				fmt.Fprintf(&b, "%s:\n", file)
			}
			fmt.Fprintf(&b, "%s: %s (%s)\n", t.qualified(), t.Outcome, t.Duration.Round(time.Microsecond))
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
	_, err := io.WriteString(w, b.String())
	return err
}

func (t TestResult) qualified() string { return "data." + t.Package + "." + t.Name }
