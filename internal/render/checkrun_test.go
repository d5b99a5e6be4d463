package render

import (
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
	if len(out.Annotations) != 3000 {
		t.Fatalf("every finding must still be an annotation, got %d", len(out.Annotations))
	}
}
