package policyeval

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ir"

	"github.com/meshbot/meshbot/internal/mesh"
	"github.com/meshbot/meshbot/policy"
)

// A bundle as the policy repository hands one over: sources by path, data.
var bundleModules = map[string]string{
	"rules/owner.rego": `package rules.owner
import rego.v1

deny contains "no owner" if not input.metadata.owner
deny contains sprintf("team %s is not registered", [input.metadata.owner]) if {
	input.metadata.owner
	not input.metadata.owner in data.teams
}
`,
	"rules/owner_test.rego": `package rules.owner_test
import rego.v1
import data.rules.owner

test_registered_team_passes if {
	count(owner.deny) == 0 with input as {"metadata": {"owner": "team-a"}}
}

test_unregistered_team_denied if {
	d := owner.deny with input as {"metadata": {"owner": "x"}}
	print("deny is", d)
	d == {"team x is not registered"}
}

test_with_other_teams if {
	owner.deny == set() with input as {"metadata": {"owner": "z"}} with data.teams as ["z"]
}

test_mocked_builtin if {
	count(owner.deny) == 0 with input as {"metadata": {"owner": "x"}} with count as 0
}

# Deliberately wrong: fails on both engines alike.
test_expects_too_much if {
	owner.deny == {"no owner", "x"} with input as {"metadata": {}}
}

test_cases[name] if {
	some name, doc in {"a": {"metadata": {"owner": "team-a"}}, "b": {"metadata": {"owner": "team-b"}}}
	count(owner.deny) == 0 with input as doc
}

todo_test_later if false

p[x] := 1 if some x in ["a"]
p.b := v if v := p.a + 1
test_planner_refuses if p.b == 2
`,
}

var bundleData = map[string]any{"teams": []any{"team-a", "team-b"}}

type engineWant struct {
	outcome, irvm string
	line          int
	output        string // substring of the print output
}

func TestRunTestsOnBothEngines(t *testing.T) {
	rep, err := RunTests(context.Background(), bundleModules, bundleData)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]engineWant{
		"test_registered_team_passes":   {TestPass, TestPass, 5, ""},
		"test_unregistered_team_denied": {TestPass, TestPass, 9, `deny is {"team x is not registered"}`},
		"test_with_other_teams":         {TestPass, TestPass, 15, ""},
		"test_mocked_builtin":           {TestPass, TestPass, 19, ""},
		"test_expects_too_much":         {TestFail, TestFail, 24, ""},
		"test_cases":                    {TestPass, TestPass, 28, ""},
		"todo_test_later":               {TestSkip, NotRun, 33, ""},
		"test_planner_refuses":          {TestPass, NotRun, 37, ""},
	}
	if len(rep.Results) != len(want) {
		t.Fatalf("%d results, want %d: %+v", len(rep.Results), len(want), rep.Results)
	}
	for _, r := range rep.Results {
		w, ok := want[r.Name]
		if !ok {
			t.Errorf("unexpected test %s", r.Name)
			continue
		}
		if r.Outcome != w.outcome || r.IRVM != w.irvm || r.Disagree {
			t.Errorf("%s: topdown %s, irvm %s (%s), disagree %v; want %s, %s", r.Name, r.Outcome, r.IRVM, r.IRVMNote, r.Disagree, w.outcome, w.irvm)
		}
		if r.Pos != (mesh.Pos{File: "rules/owner_test.rego", Line: w.line, Col: 1}) || r.Package != "rules.owner_test" {
			t.Errorf("%s at %s in %s", r.Name, r.Pos, r.Package)
		}
		if w.output != "" && (!strings.Contains(r.Output, w.output) || r.IRVMOutput != r.Output) {
			t.Errorf("%s: print output %q on topdown, %q on irvm; want %q on both", r.Name, r.Output, r.IRVMOutput, w.output)
		}
	}
	if rep.Disagreed != 0 || rep.NotOnIRVM != 1 || rep.Passed != 6 || rep.Failed != 1 || rep.Skipped != 1 || rep.OK() {
		t.Errorf("report %+v", rep)
	}
	var out bytes.Buffer
	if err := rep.Write(&out, true); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"NOT ON IRVM (topdown only): 1/8", "test_planner_refuses: plan policy:", "rules sharing that path prefix", "test_planner_refuses: PASS"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("output lacks %q:\n%s", s, out.String())
		}
	}
}

// Every bundled test runs on irvm too, and agrees.
func TestBundledTestsRunOnIRVM(t *testing.T) {
	rep, err := Test(context.Background(), policy.FS())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Results {
		if r.IRVM != r.Outcome {
			t.Errorf("%s: topdown %s, irvm %s %s", r.Name, r.Outcome, r.IRVM, r.IRVMNote)
		}
	}
	if rep.NotOnIRVM != 0 || rep.Disagreed != 0 || len(rep.Results) < 30 {
		t.Errorf("report: %d tests, %d not on irvm, %d disagreements", len(rep.Results), rep.NotOnIRVM, rep.Disagreed)
	}
}

// negateEquals turns every equality test of a plan into its opposite: an
// evaluator that is wrong, which the runner must catch.
func negateEquals(p *ir.Policy) {
	var walk func(b *ir.Block)
	walk = func(b *ir.Block) {
		for i, s := range b.Stmts {
			switch s := s.(type) {
			case *ir.EqualStmt:
				b.Stmts[i] = &ir.NotEqualStmt{A: s.A, B: s.B, Location: s.Location}
			case *ir.BlockStmt:
				for _, nb := range s.Blocks {
					walk(nb)
				}
			case *ir.ScanStmt:
				walk(s.Block)
			case *ir.NotStmt:
				walk(s.Block)
			case *ir.WithStmt:
				walk(s.Block)
			}
		}
	}
	for _, b := range p.Plans.Plans[0].Blocks {
		walk(b)
	}
	for _, f := range p.Funcs.Funcs {
		for _, b := range f.Blocks {
			walk(b)
		}
	}
}

// A test that passes on topdown and not on irvm fails the report, naming
// the test, where it is and both outcomes.
func TestRunTestsCatchesDisagreement(t *testing.T) {
	pf, err := readPolicy(policy.FS())
	if err != nil {
		t.Fatal(err)
	}
	rep, err := runTests(context.Background(), pf.modules, pf.data, negateEquals)
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() || rep.Disagreed == 0 || rep.Failed != 0 {
		t.Fatalf("a wrong evaluator went unnoticed: %d disagreements, %d failed on topdown", rep.Disagreed, rep.Failed)
	}
	var first TestResult
	for _, r := range rep.Results {
		if r.Disagree {
			first = r
			break
		}
	}
	var out bytes.Buffer
	if err := rep.Write(&out, false); err != nil {
		t.Fatal(err)
	}
	want := first.Pos.String() + ": data." + first.Package + "." + first.Name + " (engines disagree: topdown PASS, irvm " + first.IRVM + ")"
	if !strings.Contains(out.String(), want) || !strings.Contains(out.String(), "DISAGREE (topdown and irvm): ") {
		t.Errorf("output lacks %q:\n%s", want, out.String())
	}
}
