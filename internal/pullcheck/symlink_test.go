package pullcheck

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshbot/meshbot/internal/checkrun"
	"github.com/meshbot/meshbot/internal/ghsource"
	"github.com/meshbot/meshbot/internal/githubapp"
	"github.com/meshbot/meshbot/internal/jobs"
	"github.com/meshbot/meshbot/internal/mesh"
	"github.com/meshbot/meshbot/internal/testutil"
)

// linkBranch commits the example mesh with links (path -> target, made as
// real symbolic links in a checkout) on a new branch and opens pull
// request n.
func (e *env) linkBranch(name string, n int, links map[string]string) jobs.PullCheck {
	e.t.Helper()
	dir := e.t.TempDir()
	if err := testutil.CopyTree(filepath.Join(testutil.RepoRoot(e.t), "testdata", "mesh"), dir); err != nil {
		e.t.Fatal(err)
	}
	for p, target := range links {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.Remove(full); err != nil && !os.IsNotExist(err) {
			e.t.Fatal(err)
		}
		if err := os.Symlink(target, full); err != nil {
			e.t.Fatal(err)
		}
	}
	sha, err := e.repo.CommitDir(name, dir)
	if err != nil {
		e.t.Fatal(err)
	}
	e.repo.OpenPullRequest(n, "main", name)
	return jobs.PullCheck{Delivery: "delivery-" + name, Installation: inst, Owner: "acme", Repo: "mesh", PR: n, HeadSHA: sha, BaseSHA: e.main}
}

// Issue 11.5: a contract or descriptor that is a symbolic link is a
// finding at that file in a completed check, not a job error retried
// until it is dead-lettered.
func TestSymlinkIsAFinding(t *testing.T) {
	const (
		contract   = "finance/data-products/revenue/contracts/revenue.v1.yaml"
		descriptor = "inventory/data-products/stock-levels/dataproduct.yaml"
	)
	for _, tc := range []struct {
		name, path, target string
	}{
		// GitHub follows a link to a regular file of the repository and
		// answers with that file: only its path tells.
		{"contract-to-file", contract, "../../../../orders/data-products/order-events/contracts/order-events.v2.yaml"},
		// Any other link is answered as a link.
		{"contract-outside", contract, "/etc/passwd"},
		{"descriptor-link", descriptor, "../../../finance/data-products/revenue/dataproduct.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, true)
			c := e.linkBranch(tc.name, 40, map[string]string{tc.path: tc.target})
			if err := e.run(New(e.deps), c, 1); err != nil {
				t.Fatalf("a link failed the job: %v", err)
			}
			run := e.only(c.HeadSHA)
			if run.Status != "completed" || run.Conclusion != string(checkrun.Failure) {
				t.Errorf("check run = %s %s %q, want completed failure", run.Status, run.Conclusion, run.Title)
			}
			found := false
			for _, a := range run.Annotations {
				if a.Path == tc.path && strings.Contains(a.Message, "is a symbolic link") && strings.Contains(a.Message, "meshbot reads regular files only") {
					found = true
				}
			}
			if !found {
				t.Errorf("no symlink annotation at %s: %+v\n%s", tc.path, run.Annotations, run.Summary)
			}
		})
	}
}

// A link the tree already showed (mode 120000) is not asked for: no
// contents call, however big its size says it is; the loader gets a
// *mesh.SymlinkError, which it reports as a finding at the file.
func TestTreeLinksAreNotFetched(t *testing.T) {
	r := ghsource.NewReader(nil, "acme", "mesh", 1) // no client: any call would panic
	r.KnowSizes("sha", []githubapp.TreeEntry{
		{Path: "p/dataproduct.yaml", Type: "blob", Mode: githubapp.ModeSymlink, Size: 2 << 20},
	})
	_, err := r.Read(context.Background(), "p/dataproduct.yaml", "sha")
	var se *mesh.SymlinkError
	if !errors.As(err, &se) || se.Link != "p/dataproduct.yaml" {
		t.Fatalf("read = %v; want a link", err)
	}
	if r.Calls() != 0 {
		t.Errorf("%d fetches for a link the tree showed", r.Calls())
	}
	src := &ghsource.Files{R: r, Files: []mesh.File{{Path: "p/dataproduct.yaml"}},
		At: func(context.Context, string) (string, bool, error) { return "sha", true, nil }}
	m, err := mesh.LoadSource(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Problems) != 1 || m.Problems[0].Code != mesh.CodeSymlink || m.Problems[0].Pos.File != "p/dataproduct.yaml" {
		t.Errorf("problems %v, want one symlink finding at the link", m.Problems)
	}
	if r.Calls() != 0 {
		t.Errorf("%d fetches while loading a link the tree showed", r.Calls())
	}
}
