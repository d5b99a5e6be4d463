package compat

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshbot/meshbot/internal/mesh"
)

func loadMesh(t testing.TB, dir string) *mesh.Mesh {
	t.Helper()
	m, err := mesh.Load(context.Background(), os.DirFS(dir))
	if err != nil {
		t.Fatalf("load %s: %v", dir, err)
	}
	for _, p := range m.Problems {
		t.Errorf("%s: problem in test data: %v", dir, p)
	}
	return m
}

// render is the golden text of a report: one block per change, then the
// version records.
func render(r *Report) string {
	var b strings.Builder
	for _, c := range r.Changes {
		where := c.Pos.String()
		if c.InBase {
			where = "base:" + where
		}
		fmt.Fprintf(&b, "%s %s %s", where, c.Severity, c.Rule)
		for _, kv := range [][2]string{{"product", c.Product}, {"port", c.Port}, {"contract", c.Contract}, {"fields", strings.Join(c.Fields, ",")},
			{"old", c.Old}, {"new", c.New}, {"renamedTo", c.RenamedTo}} {
			if kv[1] != "" {
				fmt.Fprintf(&b, " %s=%q", kv[0], kv[1])
			}
		}
		fmt.Fprintf(&b, "\n    %s\n", c.Message)
	}
	for _, v := range r.Versions {
		fmt.Fprintf(&b, "version %s product=%q port=%q %q -> %q majorBumped=%t breaking=%t at %s\n",
			v.Contract, v.Product, v.Port, v.Old, v.New, v.MajorBumped, v.Breaking, v.Pos)
	}
	return b.String()
}

func TestCompareGolden(t *testing.T) {
	base := loadMesh(t, filepath.Join("testdata", "golden", "base"))
	head := loadMesh(t, filepath.Join("testdata", "golden", "head"))
	r := Compare(base, head)
	checkTable(t, r.Changes)
	got := render(r)
	golden := filepath.Join("testdata", "golden", "compare.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("report differs from %s (run with -update after checking the change):\n%s", golden, got)
	}
	// Comparing either side with itself finds nothing.
	for _, m := range []*mesh.Mesh{base, head} {
		if r := Compare(m, m); len(r.Changes) != 0 {
			t.Errorf("self-comparison found changes: %v", r.Changes)
		}
	}
}
