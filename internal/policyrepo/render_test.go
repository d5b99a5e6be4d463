package policyrepo

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshbot/meshbot/internal/policyeval"
)

var update = flag.Bool("update", false, "rewrite testdata/golden")

// TestReportGolden: the policy check run's output (title, summary,
// annotations) for each kind of verdict, as the guild reads it.
func TestReportGolden(t *testing.T) {
	tests := []struct {
		name    string
		extra   map[string]string
		preview *Section
		// alter changes the verdict before it is rendered: for outcomes
		// no real bundle gives today (the engines disagreeing).
		alter func(v *Verdict)
	}{
		{"sound", nil, &Section{Title: "would newly fail 4 products owned by 3 teams; 2 newly pass", Summary: "(the impact preview's section)"}, nil},
		{"compile", map[string]string{"policy/mesh/dataproduct.rego": seedBroken(t)}, nil, nil},
		{"sandbox", map[string]string{"policy/mesh/lookup.rego": sandboxed}, nil, nil},
		{"tests", map[string]string{"policy/mesh/guild_more_test.rego": failingTest}, nil, nil},
		{"disagree", nil, nil, func(v *Verdict) {
			r := &v.Tests.Results[0]
			r.IRVM, r.Disagree = policyeval.TestFail, true
			v.Tests.Passed--
			v.Tests.Disagreed++
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &Bundle{Repo: polRepo, Commit: "0123456789abcdef0123456789abcdef01234567", Root: Folder, Files: map[string][]byte{}}
			for p, src := range with(t, tt.extra) {
				if rel, ok := strings.CutPrefix(p, Folder); ok && bundled(rel) {
					b.Files[rel] = src
				}
			}
			v, err := verify(context.Background(), b)
			if err != nil {
				t.Fatal(err)
			}
			if tt.alter != nil {
				tt.alter(v)
			}
			out := report(v, int64(len(b.Files)+1), tt.preview, nil)
			var got strings.Builder
			fmt.Fprintf(&got, "conclusion: %s\ntitle: %s\n\n%s\n", out.Conclusion, out.Title, out.Summary)
			for _, a := range out.Annotations {
				fmt.Fprintf(&got, "annotation %s:%d %s %q\n  %s\n", a.Path, a.StartLine, a.Level, a.Title, strings.ReplaceAll(a.Message, "\n", "\n  "))
			}
			path := filepath.Join("testdata", "golden", tt.name+".md")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to write it)", err)
			}
			if got.String() != string(want) {
				t.Errorf("%s differs from the golden file; got:\n%s", path, got.String())
			}
		})
	}
}
