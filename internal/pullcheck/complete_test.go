package pullcheck

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshbot/meshbot/internal/checkrun"
	"github.com/meshbot/meshbot/internal/ghfake"
	"github.com/meshbot/meshbot/internal/ghfake/ghfaketest"
	"github.com/meshbot/meshbot/internal/githubapp"
	"github.com/meshbot/meshbot/internal/jobs"
	"github.com/meshbot/meshbot/internal/testutil"
)

// bigPullRequest opens pull request n: the breaking-consumer scenario (a
// breach in orders/) plus filler files, 3,500 sorting before the breach
// and the rest after it, so the breach is past GitHub's 3,000-file list.
func (e *env) bigPullRequest(name string, n, before, after int) jobs.PullCheck {
	e.t.Helper()
	root := testutil.RepoRoot(e.t)
	dir := e.t.TempDir()
	if err := testutil.MaterializeScenario(filepath.Join(root, "testdata", "mesh"), filepath.Join(root, "testdata", "scenarios", "breaking-consumer"), dir); err != nil {
		e.t.Fatal(err)
	}
	files := testutil.ReadTree(e.t, dir)
	for i := range before {
		files[fmt.Sprintf("docs/notes/note-%04d.md", i)] = fmt.Appendf(nil, "note %d\n", i)
	}
	for i := range after {
		files[fmt.Sprintf("zz/notes/note-%04d.md", i)] = fmt.Appendf(nil, "late note %d\n", i)
	}
	sha := e.repo.Commit(name, files)
	e.repo.OpenPullRequest(n, "main", name)
	return jobs.PullCheck{Delivery: "delivery-" + name, Installation: inst, Owner: "acme", Repo: "mesh", PR: n, HeadSHA: sha, BaseSHA: e.main}
}

// TestPullRequestOverGitHubsFileList: a breach in file 3,501 of a
// 3,600-file pull request fails the check; GitHub lists only 3,000 files.
func TestPullRequestOverGitHubsFileList(t *testing.T) {
	e := newEnv(t, true)
	c := e.bigPullRequest("big", 400, 3500, 99)
	before := len(e.repoCalls())
	if err := e.run(New(e.deps), c, 1); err != nil {
		t.Fatal(err)
	}
	calls := e.repoCalls()[before:]
	kinds := map[string]int{}
	for _, call := range calls {
		kinds[callKind(call)]++
	}
	t.Logf("3,600-file pull request: %d API calls: %v", len(calls), kinds)
	run := e.only(c.HeadSHA)
	if run.Conclusion != string(checkrun.Failure) {
		t.Fatalf("conclusion %q (%s), want failure: the breach is file 3,501", run.Conclusion, run.Title)
	}
	if !strings.Contains(run.Summary, "order-events") {
		t.Errorf("summary does not name the breached product:\n%s", run.Summary)
	}
	// 30 pages of files, the comparison for the merge base, two trees;
	// the head tree serves the fetcher too.
	if kinds["pulls/files"] != 30 || kinds["compare"] != 1 || kinds["git/trees"] != 2 {
		t.Errorf("calls by kind %v: want 30 file pages, 1 comparison, 2 trees", kinds)
	}
}

// TestTruncatedTreeIsNeutral: when GitHub truncates a tree, the change
// cannot be known in full; the check says so, neutral.
func TestTruncatedTreeIsNeutral(t *testing.T) {
	f := ghfaketest.NewWith(t, appID, ghfake.Options{MaxTreeEntries: 3200})
	e := newEnvOn(t, f, true)
	c := e.bigPullRequest("big", 401, 3500, 99)
	if err := e.run(New(e.deps), c, 1); err != nil {
		t.Fatal(err)
	}
	run := e.only(c.HeadSHA)
	if run.Conclusion != string(checkrun.Neutral) || run.Title != TitlePartial {
		t.Fatalf("conclusion %q, title %q; want neutral, %q", run.Conclusion, run.Title, TitlePartial)
	}
	if !strings.Contains(run.Summary, "could not see the whole change") {
		t.Errorf("summary does not say the check saw only part:\n%s", run.Summary)
	}
}

func callKind(call string) string {
	_, p, _ := strings.Cut(call, " ")
	switch {
	case strings.Contains(p, "/files"):
		return "pulls/files"
	case strings.HasPrefix(p, "/compare/"):
		return "compare"
	case strings.HasPrefix(p, "/git/trees/"):
		return "git/trees"
	case strings.HasPrefix(p, "/contents/"):
		return "contents"
	case strings.HasPrefix(p, "/check-runs"):
		return "check-runs"
	}
	return p
}

func TestTreeDiff(t *testing.T) {
	blob := func(p, sha, mode string) githubapp.TreeEntry {
		return githubapp.TreeEntry{Path: p, SHA: sha, Type: "blob", Mode: mode}
	}
	base := githubapp.Tree{Entries: []githubapp.TreeEntry{
		blob("same", "1", "100644"), blob("edited", "2", "100644"), blob("gone", "3", "100644"), blob("exec", "4", "100644"),
		{Path: "dir", SHA: "9", Type: "tree"},
	}}
	head := githubapp.Tree{Entries: []githubapp.TreeEntry{
		blob("same", "1", "100644"), blob("edited", "2b", "100644"), blob("new", "5", "100644"), blob("exec", "4", "100755"),
		{Path: "dir", SHA: "9b", Type: "tree"},
	}}
	got := treeDiff(base, head)
	want := []change{
		{Path: "edited", Status: githubapp.FileModified}, {Path: "exec", Status: githubapp.FileChanged},
		{Path: "gone", Status: githubapp.FileRemoved}, {Path: "new", Status: githubapp.FileAdded},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("treeDiff = %v, want %v", got, want)
	}
}
