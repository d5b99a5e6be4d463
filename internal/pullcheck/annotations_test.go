package pullcheck

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/meshbot/meshbot/internal/engine"
	"github.com/meshbot/meshbot/internal/githubapp"
	"github.com/meshbot/meshbot/internal/mesh"
	"github.com/meshbot/meshbot/internal/render"
)

// TestTenThousandFindingsCostBoundedCalls: the check run of a report with
// 10,001 findings is completed in MaxAnnotations/50 requests, not 201.
func TestTenThousandFindingsCostBoundedCalls(t *testing.T) {
	e := newEnv(t, false)
	var fs []engine.Finding
	for i := range 10001 {
		fs = append(fs, engine.Finding{Rule: "policy/x", Level: engine.LevelError, Pos: mesh.Pos{File: "p/dataproduct.yaml", Line: i + 1}, Message: "m"})
	}
	r := &engine.Report{Findings: fs, Checked: engine.Counts{Changed: 1}}
	r.Finish()
	cl, err := e.gh.Installation(inst)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id, err := cl.CreateCheckRun(ctx, "acme", "mesh", githubapp.NewCheckRun{Name: CheckName, HeadSHA: e.main, StartedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	before := len(e.repoCalls())
	if err := cl.CompleteCheckRun(ctx, "acme", "mesh", id, render.CheckRun(r)); err != nil {
		t.Fatal(err)
	}
	patches := 0
	for _, c := range e.repoCalls()[before:] {
		if strings.HasPrefix(c, "PATCH ") {
			patches++
		}
	}
	t.Logf("10,001 findings: %d requests to complete the check run", patches)
	if want := render.MaxAnnotations / 50; patches != want {
		t.Errorf("%d requests, want %d", patches, want)
	}
	run := e.only(e.main)
	if len(run.Annotations) != render.MaxAnnotations || run.Conclusion != "failure" {
		t.Errorf("%d annotations, conclusion %q", len(run.Annotations), run.Conclusion)
	}
}
