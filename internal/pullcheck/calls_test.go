package pullcheck

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/meshbot/meshbot/internal/checkrun"
	"github.com/meshbot/meshbot/internal/githubapp"
)

// TestAPICallsPerCheck counts the GitHub API calls one pull-request check
// makes against the fake (which records every request), and the sequential
// round trips on its critical path: the longest chain of calls each of
// which started after the previous one answered. The call counts are exact,
// so a change that adds calls fails here and has to say why; the round
// trips depend on how the scheduler ran the fetches, so they are logged
// (go test -v -run TestAPICallsPerCheck), not asserted.
func TestAPICallsPerCheck(t *testing.T) {
	e := newEnv(t, true)
	for i, tc := range []struct {
		scenario string
		calls    int // requests to the repository's endpoints
	}{
		// Create the run, list the files, the changed contract at both
		// sides, its descriptor (unchanged: once, at the head) and the
		// descriptor's other contract, complete. Round trips: create, list,
		// head versions then base versions (one goroutine per file fetches
		// both sides in turn), the contracts the descriptors name, complete.
		{"clean-change", 7},
		{"breaking-consumer", 7},
		// Two changed descriptors at both sides and three contracts.
		{"missing-contract", 10},
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			c := e.scenario(tc.scenario, 200+i)
			before := len(e.repoCalls())
			rec := &recorder{}
			deps := e.deps
			deps.GitHub = recording{e.gh, rec}
			if err := e.run(New(deps), c, 1); err != nil {
				t.Fatal(err)
			}
			calls := e.repoCalls()[before:]
			rounds := rec.criticalPath()
			t.Logf("%s: %d API calls, %d sequential round trips: %s", tc.scenario, len(calls), rounds, strings.Join(calls, ", "))
			if len(calls) != tc.calls {
				t.Errorf("%d API calls, want %d: %q", len(calls), tc.calls, calls)
			}
		})
	}
}

// recorder keeps, per call, a logical start and end (one counter for both),
// so which calls overlapped is known without reading a clock.
type recorder struct {
	mu    sync.Mutex
	clock int
	spans [][2]int
}

func (r *recorder) start() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clock++
	return r.clock
}

func (r *recorder) end(start int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clock++
	r.spans = append(r.spans, [2]int{start, r.clock})
}

// criticalPath is the longest chain of calls, each starting after the
// previous one ended. Calls that merely happened not to overlap count as
// sequential, so this is an upper bound of the code's real depth.
func (r *recorder) criticalPath() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	depth := make([]int, len(r.spans))
	best := 0
	for i, s := range r.spans { // in order of ending
		depth[i] = 1
		for j := range i {
			if r.spans[j][1] < s[0] {
				depth[i] = max(depth[i], depth[j]+1)
			}
		}
		best = max(best, depth[i])
	}
	return best
}

type recording struct {
	githubapp.Clients
	rec *recorder
}

func (r recording) Installation(id int64) (githubapp.Installation, error) {
	c, err := r.Clients.Installation(id)
	return recordingClient{c, r.rec}, err
}

// recordingClient times the calls a check makes; the fake counts them.
type recordingClient struct {
	githubapp.Installation
	rec *recorder
}

func (c recordingClient) PullRequest(ctx context.Context, owner, repo string, n int) (githubapp.PullRequest, error) {
	defer c.rec.end(c.rec.start())
	return c.Installation.PullRequest(ctx, owner, repo, n)
}

func (c recordingClient) ChangedFiles(ctx context.Context, owner, repo string, n int) ([]githubapp.ChangedFile, error) {
	defer c.rec.end(c.rec.start())
	return c.Installation.ChangedFiles(ctx, owner, repo, n)
}

func (c recordingClient) File(ctx context.Context, owner, repo, path, ref string) ([]byte, error) {
	defer c.rec.end(c.rec.start())
	return c.Installation.File(ctx, owner, repo, path, ref)
}

func (c recordingClient) Tree(ctx context.Context, owner, repo, ref string) ([]githubapp.TreeEntry, error) {
	defer c.rec.end(c.rec.start())
	return c.Installation.Tree(ctx, owner, repo, ref)
}

func (c recordingClient) CreateCheckRun(ctx context.Context, owner, repo string, run githubapp.NewCheckRun) (int64, error) {
	defer c.rec.end(c.rec.start())
	return c.Installation.CreateCheckRun(ctx, owner, repo, run)
}

func (c recordingClient) CompleteCheckRun(ctx context.Context, owner, repo string, id int64, out checkrun.Output) error {
	defer c.rec.end(c.rec.start())
	return c.Installation.CompleteCheckRun(ctx, owner, repo, id, out)
}

func (c recordingClient) CheckRuns(ctx context.Context, owner, repo, sha, name string) ([]githubapp.CheckRun, error) {
	defer c.rec.end(c.rec.start())
	return c.Installation.CheckRuns(ctx, owner, repo, sha, name)
}

func (c recordingClient) FileUpTo(ctx context.Context, owner, repo, path, ref string, limit int64) ([]byte, error) {
	defer c.rec.end(c.rec.start())
	return c.Installation.FileUpTo(ctx, owner, repo, path, ref, limit)
}

func (c recordingClient) TreeAt(ctx context.Context, owner, repo, sha string) (githubapp.Tree, error) {
	defer c.rec.end(c.rec.start())
	return c.Installation.TreeAt(ctx, owner, repo, sha)
}

func (c recordingClient) MergeBase(ctx context.Context, owner, repo, base, head string) (string, error) {
	defer c.rec.end(c.rec.start())
	return c.Installation.MergeBase(ctx, owner, repo, base, head)
}
