package render

import (
	"fmt"
	"strings"
	"testing"

	"github.com/meshbot/meshbot/internal/checkrun"
	"github.com/meshbot/meshbot/internal/engine"
	"github.com/meshbot/meshbot/internal/mesh"
)

func TestCheckRun(t *testing.T) {
	for _, tc := range []struct {
		name       string
		findings   []engine.Finding
		changed    int
		conclusion checkrun.Conclusion
		title      string
	}{
		{"nothing changed", nil, 0, checkrun.Success, "No data products changed"},
		{"clean change", nil, 2, checkrun.Success, "Passes: 2 changed files checked, nothing to report"},
		{"warnings only", []engine.Finding{{Rule: "w", Level: engine.LevelWarning, Pos: mesh.Pos{File: "a.yaml", Line: 3}}}, 1, checkrun.Neutral, "Passes with 1 warning"},
		{"errors", []engine.Finding{{Rule: "e", Level: engine.LevelError, Pos: mesh.Pos{File: "a.yaml", Line: 3},
			Consumers: []engine.Consumer{{Product: "finance.revenue", Owner: "team-finance", InputPort: "orders", Fields: []string{"currency"}}}}},
			1, checkrun.Failure, "Fails: 1 error; breaks 1 registered consumer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &engine.Report{Findings: tc.findings, Checked: engine.Counts{Changed: tc.changed}, PolicyVersion: "abc123", Compared: true}
			r.Finish()
			out := CheckRun(r)
			if out.Conclusion != tc.conclusion || out.Title != tc.title {
				t.Fatalf("got %q / %q, want %q / %q", out.Conclusion, out.Title, tc.conclusion, tc.title)
			}
			if len(out.Annotations) != len(tc.findings) {
				t.Fatalf("%d annotations for %d findings", len(out.Annotations), len(tc.findings))
			}
			if !strings.Contains(out.Summary, "abc123") {
				t.Errorf("summary does not name the policy version:\n%s", out.Summary)
			}
			if tc.conclusion == checkrun.Failure {
				for _, want := range []string{"Consumers that would break", "finance.revenue", "team-finance", "currency"} {
					if !strings.Contains(out.Summary, want) {
						t.Errorf("summary lacks %q:\n%s", want, out.Summary)
					}
				}
				a := out.Annotations[0]
				if a.Level != checkrun.LevelFailure || a.Path != "a.yaml" || a.StartLine != 3 || !strings.Contains(a.RawDetails, "breaks finance.revenue (team-finance)") {
					t.Errorf("annotation %+v", a)
				}
			}
		})
	}
}

func TestCheckRunSummaryStaysUnderGitHubLimit(t *testing.T) {
	var fs []engine.Finding
	for i := range 3000 {
		fs = append(fs, engine.Finding{Rule: "policy/x", Level: engine.LevelError, Pos: mesh.Pos{File: "p/dataproduct.yaml", Line: i + 1},
			Message: strings.Repeat("long message | with pipes ", 4)})
	}
	r := &engine.Report{Findings: fs, Checked: engine.Counts{Changed: 1}}
	r.Finish()
	out := CheckRun(r)
	if len(out.Summary) > checkrun.MaxOutputChars {
		t.Fatalf("summary is %d characters, over GitHub's %d", len(out.Summary), checkrun.MaxOutputChars)
	}
	if !strings.Contains(out.Summary, "more findings not shown") {
		t.Fatal("truncation is not said")
	}
	if len(out.Annotations) != MaxAnnotations {
		t.Fatalf("%d annotations, want the cap %d", len(out.Annotations), MaxAnnotations)
	}
}

// TestCheckRunAnnotationsCapped: 10,001 findings make MaxAnnotations
// annotations, errors first, then warnings, then notices, and the summary
// says how many are not annotated and where to see them.
func TestCheckRunAnnotationsCapped(t *testing.T) {
	var fs []engine.Finding
	levels := []engine.Level{engine.LevelNotice, engine.LevelWarning, engine.LevelError}
	for i := range 10001 {
		// Notices first in the file, so a cap that kept the report's order
		// would annotate notices and drop errors.
		l := levels[min(i/4000, 2)]
		fs = append(fs, engine.Finding{Rule: "policy/x", Level: l, Pos: mesh.Pos{File: "p/dataproduct.yaml", Line: i + 1}, Message: "m"})
	}
	r := &engine.Report{Findings: fs, Checked: engine.Counts{Changed: 1}}
	r.Finish()
	out := CheckRun(r)
	if len(out.Annotations) != MaxAnnotations {
		t.Fatalf("%d annotations, want %d", len(out.Annotations), MaxAnnotations)
	}
	for i, a := range out.Annotations {
		if a.Level != checkrun.LevelFailure {
			t.Fatalf("annotation %d is %s; the %d errors come first", i, a.Level, r.Checked.Errors)
		}
	}
	want := fmt.Sprintf("%d of the 10001 findings are not annotated (%d error(s), %d warning(s), %d notice(s))",
		10001-MaxAnnotations, r.Checked.Errors-MaxAnnotations, r.Checked.Warnings, r.Checked.Notices)
	if !strings.Contains(out.Summary, want) || !strings.Contains(out.Summary, "`meshbot check`") {
		t.Errorf("summary lacks %q and the pointer to meshbot check:\n%.600s", want, out.Summary)
	}
	// Mixed levels under the cap: errors, then warnings, then notices.
	small := []engine.Finding{
		{Rule: "n", Level: engine.LevelNotice, Pos: mesh.Pos{File: "a", Line: 1}},
		{Rule: "e", Level: engine.LevelError, Pos: mesh.Pos{File: "a", Line: 2}},
		{Rule: "w", Level: engine.LevelWarning, Pos: mesh.Pos{File: "a", Line: 3}},
	}
	r = &engine.Report{Findings: small, Checked: engine.Counts{Changed: 1}}
	r.Finish()
	out = CheckRun(r)
	var got []checkrun.Level
	for _, a := range out.Annotations {
		got = append(got, a.Level)
	}
	if fmt.Sprint(got) != fmt.Sprint([]checkrun.Level{checkrun.LevelFailure, checkrun.LevelWarning, checkrun.LevelNotice}) {
		t.Errorf("levels %v, want failure, warning, notice", got)
	}
	if strings.Contains(out.Summary, "not annotated") {
		t.Errorf("summary speaks of findings not annotated when all are")
	}
}
