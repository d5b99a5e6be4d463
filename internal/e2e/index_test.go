package e2e

import (
	"context"
	"maps"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meshbot/meshbot/internal/githubapp"
	"github.com/meshbot/meshbot/internal/mesh"
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

// TestInstallationScanIsPerRepository: an installation created without a
// repository list is scanned through the API, one job per repository. A
// repository GitHub fails on every time (5xx) is dead-lettered on its own
// and keeps its registry entry; a repository verified empty (409) loses its
// products, and only it; the others are indexed.
func TestInstallationScanIsPerRepository(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			w := newWorld(t, b.open(t))
			ctx := context.Background()
			dir := filepath.Join(testutil.RepoRoot(t), "testdata", "mesh")
			// Sorted before acme/mesh, so one job for the whole installation
			// would meet them first.
			storm := w.fake.AddRepo(inst, "acme/a-storm", "main")
			if _, err := storm.CommitDir("main", dir); err != nil {
				t.Fatal(err)
			}
			w.fake.AddRepo(inst, "acme/a-empty", "main")
			w.startPool(w.handlers(nil), poolOpts())
			w.install()
			ps, err := w.st.Products(ctx, inst)
			if err != nil {
				t.Fatal(err)
			}
			// What an earlier index left for both.
			for _, r := range []string{"acme/a-storm", "acme/a-empty"} {
				cp := make([]*mesh.Product, 0, len(ps))
				for _, p := range ps {
					c := *p
					c.Repo = r
					cp = append(cp, &c)
				}
				if err := w.st.PutRepo(ctx, inst, r, cp); err != nil {
					t.Fatal(err)
				}
			}
			// The scan must index acme/mesh again.
			if err := w.st.DeleteRepo(ctx, inst, repoFull); err != nil {
				t.Fatal(err)
			}
			defer w.fake.FailPath(http.MethodGet, "/repos/acme/a-storm", http.StatusBadGateway)()

			w.mustDeliver("installation", w.nextID(), w.example("installation/created.payload.json", func(p map[string]any) {
				obj(obj(p, "installation"), "account")["login"] = owner
				p["repositories"] = []any{}
			}))
			w.drained(30 * time.Second)

			rs, err := w.st.ProductsByRepo(ctx, inst)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]int{}
			for _, r := range rs {
				got[r.Repo] = len(r.Products)
			}
			want := map[string]int{"acme/a-empty": 0, "acme/a-storm": len(ps), repoFull: len(ps)}
			if !maps.Equal(got, want) {
				t.Errorf("products by repository %v, want %v", got, want)
			}
			dl, err := w.st.DeadLetters(ctx, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(dl) != 1 || !strings.HasSuffix(dl[0].Job.ID, "/acme/a-storm") || !strings.Contains(dl[0].Cause, githubapp.ErrUnavailable.Error()) {
				for _, d := range dl {
					t.Logf("dead letter %s: %s", d.Job.ID, d.Cause)
				}
				t.Errorf("%d dead letters, want only acme/a-storm's job, GitHub unavailable", len(dl))
			}
		})
	}
}
