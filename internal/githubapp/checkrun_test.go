package githubapp

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/meshbot/meshbot/internal/checkrun"
	"github.com/meshbot/meshbot/internal/ghfake"
)

func annotations(n int) []checkrun.Annotation {
	out := make([]checkrun.Annotation, n)
	for i := range out {
		out[i] = checkrun.Annotation{Path: fmt.Sprintf("p%d/dataproduct.yaml", i), StartLine: i + 1, EndLine: i + 1, Level: "warning", Title: "rule", Message: fmt.Sprintf("finding %d", i)}
	}
	return out
}

var noteRE = regexp.MustCompile(`… truncated: (\d+) more characters`)

func TestCompleteCheckRun(t *testing.T) {
	long := strings.Repeat("é", 70000) // multi-byte: limits count characters
	for _, tc := range []struct {
		name        string
		annotations int
		summary     string
		wantBatches []int
		wantUpdates []string
	}{
		{"no annotations", 0, "clean", nil, []string{"create in_progress", "update completed failure"}},
		{"50", 50, "s", []int{50}, []string{"create in_progress", "update completed failure"}},
		{"51", 51, "s", []int{50, 1}, []string{"create in_progress", "update in_progress", "update completed failure"}},
		{"130 and a long summary", 130, long, []int{50, 50, 30}, []string{"create in_progress", "update in_progress", "update in_progress", "update completed failure"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOpts{})
			sha := e.repo.Commit("main", map[string][]byte{"a": []byte("a")})
			ctx := context.Background()
			id, err := e.client.CreateCheckRun(ctx, "acme", "mesh", NewCheckRun{
				Name: "meshbot", HeadSHA: sha, ExternalID: "delivery-1", Title: "Checking", Summary: "in progress",
			})
			if err != nil {
				t.Fatal(err)
			}
			err = e.client.CompleteCheckRun(ctx, "acme", "mesh", id, checkrun.Output{
				Conclusion: checkrun.Failure, Title: "2 policy violations", Summary: tc.summary, Text: "details", Annotations: annotations(tc.annotations),
			})
			if err != nil {
				t.Fatal(err)
			}
			runs := e.fake.CheckRuns("acme/mesh")
			if len(runs) != 1 {
				t.Fatalf("%d check runs", len(runs))
			}
			run := runs[0]
			if run.Name != "meshbot" || run.HeadSHA != sha || run.ExternalID != "delivery-1" || run.Status != "completed" ||
				run.Conclusion != "failure" || run.Title != "2 policy violations" || run.Text != "details" || run.CompletedAt.IsZero() {
				t.Errorf("run %+v", run)
			}
			if fmt.Sprint(run.Batches) != fmt.Sprint(tc.wantBatches) && !(len(run.Batches) == 0 && len(tc.wantBatches) == 0) {
				t.Errorf("batches %v, want %v", run.Batches, tc.wantBatches)
			}
			var updates []string
			for _, u := range run.Updates {
				updates = append(updates, strings.TrimSpace(u.Op+" "+u.Status+" "+u.Conclusion))
			}
			if fmt.Sprint(updates) != fmt.Sprint(tc.wantUpdates) {
				t.Errorf("updates %q, want %q", updates, tc.wantUpdates)
			}
			if len(run.Annotations) != tc.annotations {
				t.Fatalf("%d annotations arrived, want %d", len(run.Annotations), tc.annotations)
			}
			for i, a := range run.Annotations {
				if a.Message != fmt.Sprintf("finding %d", i) || a.StartLine != i+1 {
					t.Fatalf("annotation %d out of order: %+v", i, a)
				}
			}
			n := utf8.RuneCountInString(tc.summary)
			got := utf8.RuneCountInString(run.Summary)
			if n <= checkrun.MaxOutputChars {
				if run.Summary != tc.summary {
					t.Errorf("summary changed though within the limit")
				}
				return
			}
			if got > checkrun.MaxOutputChars {
				t.Errorf("summary has %d characters, over %d", got, checkrun.MaxOutputChars)
			}
			m := noteRE.FindStringSubmatch(run.Summary)
			if m == nil {
				t.Fatalf("no truncation note at the end: %q", run.Summary[len(run.Summary)-200:])
			}
			more, _ := strconv.Atoi(m[1])
			kept := strings.Index(run.Summary, "\n\n… truncated")
			if kept < 0 || utf8.RuneCountInString(run.Summary[:kept])+more != n {
				t.Errorf("note says %d more, but %d were kept of %d", more, utf8.RuneCountInString(run.Summary[:kept]), n)
			}
		})
	}
}

func TestAnnotationNormalised(t *testing.T) {
	long := strings.Repeat("t", 300)
	for _, tc := range []struct {
		name string
		in   checkrun.Annotation
		want ghfake.Annotation
	}{
		{"as is", checkrun.Annotation{Path: "a", StartLine: 3, EndLine: 4, Level: "failure", Title: "T", Message: "M", RawDetails: "R"},
			ghfake.Annotation{Path: "a", StartLine: 3, EndLine: 4, AnnotationLevel: "failure", Title: "T", Message: "M", RawDetails: "R"}},
		{"line 0 and end before start", checkrun.Annotation{Path: "a", StartLine: 0, EndLine: 0, Level: "error", Message: "M"},
			ghfake.Annotation{Path: "a", StartLine: 1, EndLine: 1, AnnotationLevel: "failure", Message: "M"}},
		{"columns on one line", checkrun.Annotation{Path: "a", StartLine: 2, EndLine: 2, StartColumn: 5, EndColumn: 3, Message: "M"},
			ghfake.Annotation{Path: "a", StartLine: 2, EndLine: 2, StartColumn: 5, EndColumn: 5, AnnotationLevel: "notice", Message: "M"}},
		{"columns across lines dropped", checkrun.Annotation{Path: "a", StartLine: 2, EndLine: 9, StartColumn: 5, EndColumn: 3, Level: "warning", Message: "M"},
			ghfake.Annotation{Path: "a", StartLine: 2, EndLine: 9, AnnotationLevel: "warning", Message: "M"}},
		{"message from title, long title cut", checkrun.Annotation{Path: "a", StartLine: 1, EndLine: 1, Level: "odd", Title: long},
			ghfake.Annotation{Path: "a", StartLine: 1, EndLine: 1, AnnotationLevel: "warning", Title: long[:254] + "…", Message: long}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOpts{})
			sha := e.repo.Commit("main", map[string][]byte{"a": []byte("a")})
			ctx := context.Background()
			id, err := e.client.CreateCheckRun(ctx, "acme", "mesh", NewCheckRun{Name: "meshbot", HeadSHA: sha})
			if err != nil {
				t.Fatal(err)
			}
			if err := e.client.CompleteCheckRun(ctx, "acme", "mesh", id, checkrun.Output{Conclusion: checkrun.Neutral, Title: "t", Summary: "s", Annotations: []checkrun.Annotation{tc.in}}); err != nil {
				t.Fatal(err)
			}
			got := e.fake.CheckRuns("acme/mesh")[0].Annotations
			if len(got) != 1 || got[0] != tc.want {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}
