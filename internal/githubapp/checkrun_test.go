package githubapp

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-github/v60/github"

	"github.com/meshbot/meshbot/internal/ghfake"
)

func annotations(n int) []Annotation {
	out := make([]Annotation, n)
	for i := range out {
		out[i] = Annotation{Path: fmt.Sprintf("p%d/dataproduct.yaml", i), StartLine: i + 1, EndLine: i + 1, Level: "warning", Title: "rule", Message: fmt.Sprintf("finding %d", i)}
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
			cr, err := e.client.CreateCheckRun(ctx, "acme", "mesh", github.CreateCheckRunOptions{
				Name: "meshbot", HeadSHA: sha, Status: github.String("in_progress"), ExternalID: github.String("delivery-1"),
			})
			if err != nil {
				t.Fatal(err)
			}
			err = e.client.CompleteCheckRun(ctx, "acme", "mesh", cr.GetID(), "failure", Output{
				Title: "2 policy violations", Summary: tc.summary, Text: "details", Annotations: annotations(tc.annotations),
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
			if n <= MaxOutputChars {
				if run.Summary != tc.summary {
					t.Errorf("summary changed though within the limit")
				}
				return
			}
			if got > MaxOutputChars {
				t.Errorf("summary has %d characters, over %d", got, MaxOutputChars)
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

func TestTruncate(t *testing.T) {
	for _, tc := range []struct {
		in    string
		limit int
	}{
		{"", 10}, {"short", 10}, {"exactly10!", 10}, {strings.Repeat("a", 100), 90},
		{strings.Repeat("ü", 1000), 200}, {strings.Repeat("x", 70000), MaxOutputChars}, {strings.Repeat("x", 200), 5},
	} {
		got := Truncate(tc.in, tc.limit)
		n := utf8.RuneCountInString(tc.in)
		if n <= tc.limit {
			if got != tc.in {
				t.Errorf("Truncate(%d chars, %d) changed the text", n, tc.limit)
			}
			continue
		}
		if c := utf8.RuneCountInString(got); c > tc.limit && tc.limit >= 80 {
			t.Errorf("Truncate(%d chars, %d) = %d chars", n, tc.limit, c)
		}
		m := noteRE.FindStringSubmatch(got)
		if m == nil || !utf8.ValidString(got) {
			t.Fatalf("Truncate(%d chars, %d) = %q: no note or invalid UTF-8", n, tc.limit, got)
		}
		more, _ := strconv.Atoi(m[1])
		kept := utf8.RuneCountInString(got[:strings.Index(got, "\n\n…")])
		if kept+more != n {
			t.Errorf("kept %d + more %d != %d", kept, more, n)
		}
	}
}

func TestAnnotationNormalised(t *testing.T) {
	long := strings.Repeat("t", 300)
	for _, tc := range []struct {
		name string
		in   Annotation
		want ghfake.Annotation
	}{
		{"as is", Annotation{Path: "a", StartLine: 3, EndLine: 4, Level: "failure", Title: "T", Message: "M", RawDetails: "R"},
			ghfake.Annotation{Path: "a", StartLine: 3, EndLine: 4, AnnotationLevel: "failure", Title: "T", Message: "M", RawDetails: "R"}},
		{"line 0 and end before start", Annotation{Path: "a", StartLine: 0, EndLine: 0, Level: "error", Message: "M"},
			ghfake.Annotation{Path: "a", StartLine: 1, EndLine: 1, AnnotationLevel: "failure", Message: "M"}},
		{"columns on one line", Annotation{Path: "a", StartLine: 2, EndLine: 2, StartColumn: 5, EndColumn: 3, Message: "M"},
			ghfake.Annotation{Path: "a", StartLine: 2, EndLine: 2, StartColumn: 5, EndColumn: 5, AnnotationLevel: "notice", Message: "M"}},
		{"columns across lines dropped", Annotation{Path: "a", StartLine: 2, EndLine: 9, StartColumn: 5, EndColumn: 3, Level: "warning", Message: "M"},
			ghfake.Annotation{Path: "a", StartLine: 2, EndLine: 9, AnnotationLevel: "warning", Message: "M"}},
		{"message from title, long title cut", Annotation{Path: "a", StartLine: 1, EndLine: 1, Level: "odd", Title: long},
			ghfake.Annotation{Path: "a", StartLine: 1, EndLine: 1, AnnotationLevel: "warning", Title: long[:254] + "…", Message: long}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOpts{})
			sha := e.repo.Commit("main", map[string][]byte{"a": []byte("a")})
			ctx := context.Background()
			cr, err := e.client.CreateCheckRun(ctx, "acme", "mesh", github.CreateCheckRunOptions{Name: "meshbot", HeadSHA: sha})
			if err != nil {
				t.Fatal(err)
			}
			if err := e.client.CompleteCheckRun(ctx, "acme", "mesh", cr.GetID(), "neutral", Output{Title: "t", Summary: "s", Annotations: []Annotation{tc.in}}); err != nil {
				t.Fatal(err)
			}
			got := e.fake.CheckRuns("acme/mesh")[0].Annotations
			if len(got) != 1 || got[0] != tc.want {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}
