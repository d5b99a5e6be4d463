package checks

import (
	"strings"
	"testing"

	"github.com/meshbot/meshbot/internal/mesh"
)

func TestRenderCheckRun(t *testing.T) {
	for _, tc := range []struct {
		name       string
		findings   []Finding
		changed    int
		conclusion string
		title      string
	}{
		{"nothing changed", nil, 0, "success", "No data products changed"},
		{"clean change", nil, 2, "success", "Passes: 2 changed files checked, nothing to report"},
		{"warnings only", []Finding{{Rule: "w", Level: LevelWarning, Pos: mesh.Pos{File: "a.yaml", Line: 3}}}, 1, "neutral", "Passes with 1 warning"},
		{"errors", []Finding{{Rule: "e", Level: LevelError, Pos: mesh.Pos{File: "a.yaml", Line: 3},
			Consumers: []Consumer{{Product: "finance.revenue", Owner: "team-finance", InputPort: "orders", Fields: []string{"currency"}}}}},
			1, "failure", "Fails: 1 error; breaks 1 registered consumer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &Report{Findings: tc.findings, Checked: Counts{Changed: tc.changed}, PolicyVersion: "abc123", Compared: true}
			r.finish()
			out := RenderCheckRun(r)
			if out.Conclusion != tc.conclusion || out.Title != tc.title {
				t.Fatalf("got %q / %q, want %q / %q", out.Conclusion, out.Title, tc.conclusion, tc.title)
			}
			if len(out.Annotations) != len(tc.findings) {
				t.Fatalf("%d annotations for %d findings", len(out.Annotations), len(tc.findings))
			}
			if !strings.Contains(out.Summary, "abc123") {
				t.Errorf("summary does not name the policy version:\n%s", out.Summary)
			}
			if tc.conclusion == "failure" {
				for _, want := range []string{"Consumers that would break", "finance.revenue", "team-finance", "currency"} {
					if !strings.Contains(out.Summary, want) {
						t.Errorf("summary lacks %q:\n%s", want, out.Summary)
					}
				}
				a := out.Annotations[0]
				if a.Level != "failure" || a.Path != "a.yaml" || a.StartLine != 3 || !strings.Contains(a.RawDetails, "breaks finance.revenue (team-finance)") {
					t.Errorf("annotation %+v", a)
				}
			}
		})
	}
}

func TestCheckRunSummaryStaysUnderGitHubLimit(t *testing.T) {
	var fs []Finding
	for i := range 3000 {
		fs = append(fs, Finding{Rule: "policy/x", Level: LevelError, Pos: mesh.Pos{File: "p/dataproduct.yaml", Line: i + 1},
			Message: strings.Repeat("long message | with pipes ", 4)})
	}
	r := &Report{Findings: fs, Checked: Counts{Changed: 1}}
	r.finish()
	out := RenderCheckRun(r)
	if len(out.Summary) > MaxOutputChars {
		t.Fatalf("summary is %d characters, over GitHub's %d", len(out.Summary), MaxOutputChars)
	}
	if !strings.Contains(out.Summary, "more findings not shown") {
		t.Fatal("truncation is not said")
	}
	if len(out.Annotations) != 3000 {
		t.Fatalf("every finding must still be an annotation, got %d", len(out.Annotations))
	}
}
