package e2e

import (
	"context"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meshbot/meshbot/internal/githubapp"
	"github.com/meshbot/meshbot/internal/testutil"
)

// push is a push delivery to main, from before to after, whose one commit
// modifies the named files.
func (w *world) push(before, after string, modified ...string) []byte {
	return w.example("push/with-installation.payload.json", func(p map[string]any) {
		p["ref"], p["before"], p["after"] = "refs/heads/main", before, after
		p["created"], p["deleted"], p["forced"] = false, false, false
		files := make([]any, 0, len(modified))
		for _, f := range modified {
			files = append(files, f)
		}
		p["commits"] = []any{map[string]any{"id": after, "distinct": true, "message": "touch the mesh",
			"added": []any{}, "modified": files, "removed": []any{}}}
	})
}

func (w *world) productsSummary() []string {
	w.t.Helper()
	ps, err := w.st.Products(context.Background(), inst)
	if err != nil {
		w.t.Fatal(err)
	}
	var out []string
	for _, p := range ps {
		out = append(out, p.Repo+" "+p.ID()+" "+p.File)
	}
	return out
}

// TestPushWithBranchNotFoundKeepsRegistry (issue 11, item 2): during a push
// GitHub answers 404 on the default branch's ref every time (a lagging
// replica; an empty repository would answer 409). The index job is retried
// and dead-lettered, the repository keeps its products, and the next pull
// request still names the consumers its breaking change breaks.
func TestPushWithBranchNotFoundKeepsRegistry(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			w := newWorld(t, b.open(t))
			w.startPool(w.handlers(nil), poolOpts())
			w.install()
			before := w.productsSummary()

			// A real push to main: a new commit with the same tree.
			tip, err := w.repo.CommitDir("main", filepath.Join(testutil.RepoRoot(t), "testdata", "mesh"))
			if err != nil {
				t.Fatal(err)
			}
			stop := w.fake.FailPath(http.MethodGet, "/repos/"+repoFull+"/git/ref/heads/main", http.StatusNotFound)
			w.mustDeliver("push", w.nextID(), w.push(w.main, tip, "finance/data-products/revenue/dataproduct.yaml"))
			// The queue drains once the job has had its last attempt.
			w.drained(20 * time.Second)
			stop()
			if got := w.productsSummary(); !slices.Equal(got, before) {
				t.Errorf("the registry changed on a 404:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(before, "\n"))
			}
			dl, err := w.st.DeadLetters(context.Background(), 10)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case len(dl) != 1:
				t.Errorf("%d dead letters, want the push's index job", len(dl))
			case dl[0].Job.Kind != "index" || !strings.Contains(dl[0].Cause, githubapp.ErrNotFound.Error()):
				t.Errorf("dead letter %s (%s): %s, want the index job, not found", dl[0].Job.ID, dl[0].Job.Kind, dl[0].Cause)
			case dl[0].Job.Attempt != storeOpts.MaxAttempts:
				t.Errorf("dead-lettered after %d attempts, want %d (a 404 is transient)", dl[0].Job.Attempt, storeOpts.MaxAttempts)
			}

			p := w.scenario("breaking-consumer", 31)
			w.mustDeliver("pull_request", w.nextID(), w.pullRequest("opened", p.n, p.sha, p.branch))
			run := w.completed(p.sha, 30*time.Second)
			for _, s := range []string{"Consumers that would break", "finance.revenue", "team-finance", "customer.customer-360", "team-customer-insights"} {
				if !strings.Contains(run.Summary, s) {
					t.Errorf("breaking-consumer summary lacks %q:\n%s", s, run.Summary)
				}
			}
		})
	}
}
