package pullcheck

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meshbot/meshbot/internal/checkrun"
	"github.com/meshbot/meshbot/internal/ghfake"
	"github.com/meshbot/meshbot/internal/ghfake/ghfaketest"
	"github.com/meshbot/meshbot/internal/ghsource"
	"github.com/meshbot/meshbot/internal/githubapp"
	"github.com/meshbot/meshbot/internal/jobs"
	"github.com/meshbot/meshbot/internal/mesh"
	"github.com/meshbot/meshbot/internal/policyeval"
	"github.com/meshbot/meshbot/internal/store"
	"github.com/meshbot/meshbot/internal/testutil"
	"github.com/meshbot/meshbot/policy"
)

const (
	appID = 4242
	inst  = 7
	repo  = "acme/mesh"
)

// today is the date the scenarios' sunset windows are judged on, as in the
// CLI's golden tests.
var today = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

var bundledPolicy = sync.OnceValues(func() (*policyeval.Set, error) {
	return policyeval.Load(context.Background(), policy.FS(), policyeval.Options{})
})

type env struct {
	t     *testing.T
	fake  *ghfake.Fake
	repo  *ghfake.Repo
	store store.Store
	gh    githubapp.Clients
	main  string // sha of main: the example mesh
	deps  Deps
}

// newEnv is a fake GitHub holding acme/mesh with testdata/mesh on main, the
// real App client against it, a memory store whose registry holds the
// example mesh when registered is true, and the bundled policy.
func newEnv(t *testing.T, registered bool) *env {
	t.Helper()
	return newEnvOn(t, ghfaketest.New(t, appID), registered)
}

// newEnvOn is newEnv on a fake of the test's own.
func newEnvOn(t *testing.T, f *ghfake.Fake, registered bool) *env {
	t.Helper()
	f.AddInstallation(inst, "acme")
	r := f.AddRepo(inst, repo, "main")
	meshDir := filepath.Join(testutil.RepoRoot(t), "testdata", "mesh")
	main, err := r.CommitDir("main", meshDir)
	if err != nil {
		t.Fatal(err)
	}
	app, err := githubapp.NewApp(githubapp.Config{
		AppID: appID, PrivateKey: ghfaketest.PEM(),
		BaseURL: f.URL(), HTTPClient: f.Client(), RetryBaseDelay: time.Millisecond, MaxRetries: -1,
		Logger: quiet(),
	})
	if err != nil {
		t.Fatal(err)
	}
	st := store.NewMemory(store.Options{})
	t.Cleanup(func() { st.Close() })
	if registered {
		m, err := mesh.Load(context.Background(), os.DirFS(meshDir))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range m.Products {
			p.Repo = repo
		}
		if err := st.PutRepo(context.Background(), inst, repo, m.Products); err != nil {
			t.Fatal(err)
		}
		// What the index records beside the products: the example mesh
		// has no discovery configuration.
		if err := st.SetMark(context.Background(), ghsource.ConfigMark(inst, repo), ghsource.EncodeConfig(nil), 0); err != nil {
			t.Fatal(err)
		}
	}
	pol, err := bundledPolicy()
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, fake: f, repo: r, store: st, gh: app, main: main}
	e.deps = Deps{GitHub: e.gh, Store: st, Policy: policyeval.NewSwappable(pol), Now: func() time.Time { return today }, Logger: quiet()}
	return e
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// scenario pushes a branch with the scenario's head and opens pull request
// n from it; it returns the job that checks it.
func (e *env) scenario(name string, n int) jobs.PullCheck {
	e.t.Helper()
	root := testutil.RepoRoot(e.t)
	dir := e.t.TempDir()
	if err := testutil.MaterializeScenario(filepath.Join(root, "testdata", "mesh"), filepath.Join(root, "testdata", "scenarios", name), dir); err != nil {
		e.t.Fatal(err)
	}
	sha, err := e.repo.CommitDir(name, dir)
	if err != nil {
		e.t.Fatal(err)
	}
	e.repo.OpenPullRequest(n, "main", name)
	return jobs.PullCheck{Delivery: "delivery-" + name, Installation: inst, Owner: "acme", Repo: "mesh", PR: n, HeadSHA: sha, BaseSHA: e.main}
}

// branch commits files over the example mesh on a new branch and opens
// pull request n.
func (e *env) branch(name string, n int, change map[string]string) jobs.PullCheck {
	e.t.Helper()
	root := testutil.RepoRoot(e.t)
	dir := e.t.TempDir()
	if err := testutil.CopyTree(filepath.Join(root, "testdata", "mesh"), dir); err != nil {
		e.t.Fatal(err)
	}
	for p, content := range change {
		target := filepath.Join(dir, filepath.FromSlash(p))
		if content == "" {
			if err := os.Remove(target); err != nil {
				e.t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			e.t.Fatal(err)
		}
		if err := os.WriteFile(target, []byte(content), 0o644); err != nil {
			e.t.Fatal(err)
		}
	}
	sha, err := e.repo.CommitDir(name, dir)
	if err != nil {
		e.t.Fatal(err)
	}
	e.repo.OpenPullRequest(n, "main", name)
	return jobs.PullCheck{Delivery: "delivery-" + name, Installation: inst, Owner: "acme", Repo: "mesh", PR: n, HeadSHA: sha}
}

// run runs c as attempt through h, encoded and decoded as the worker does.
func (e *env) run(h jobs.Handler[jobs.PullCheck], c jobs.PullCheck, attempt int) error {
	e.t.Helper()
	j, err := jobs.KindPullCheck.New(c.Delivery, c.Key(), c)
	if err != nil {
		e.t.Fatal(err)
	}
	j.Attempt = attempt
	reg := jobs.NewRegistry()
	jobs.Register(reg, jobs.KindPullCheck, h)
	d, err := reg.Decode(j)
	if err != nil {
		e.t.Fatal(err)
	}
	return d.Run(context.Background())
}

// runs returns the check runs at sha.
func (e *env) runs(sha string) []ghfake.CheckRun {
	var out []ghfake.CheckRun
	for _, r := range e.fake.CheckRuns(repo) {
		if r.HeadSHA == sha {
			out = append(out, r)
		}
	}
	return out
}

// only returns the single check run at sha.
func (e *env) only(sha string) ghfake.CheckRun {
	e.t.Helper()
	rs := e.runs(sha)
	if len(rs) != 1 {
		e.t.Fatalf("%d check runs at %s, want 1: %+v", len(rs), sha, rs)
	}
	return rs[0]
}

// repoCalls are the requests made to the repository's endpoints (the token
// exchange is the App's, and cached).
func (e *env) repoCalls() []string {
	var out []string
	for _, r := range e.fake.Requests() {
		if strings.HasPrefix(r.Path, "/repos/") {
			out = append(out, r.Method+" "+strings.TrimPrefix(r.Path, "/repos/"+repo))
		}
	}
	return out
}

func TestFastPathNothingRelevant(t *testing.T) {
	e := newEnv(t, true)
	c := e.branch("docs", 3, map[string]string{"README.md": "# A new readme\n", "docs/guide.md": "how to\n"})
	if err := e.run(New(e.deps), c, 1); err != nil {
		t.Fatal(err)
	}
	run := e.only(c.HeadSHA)
	if run.Name != CheckName || run.Status != "completed" || run.Conclusion != "success" || run.Title != TitleNothingChanged {
		t.Errorf("check run = %s %s %q %q", run.Name, run.Status, run.Conclusion, run.Title)
	}
	if d, _, ok := parseExternalID(run.ExternalID); !ok || d != c.Delivery {
		t.Errorf("external_id = %q, want the delivery %q and the versions", run.ExternalID, c.Delivery)
	}
	if run.Updates[0].Status != "in_progress" {
		t.Errorf("created as %q, want in_progress", run.Updates[0].Status)
	}
	calls := e.repoCalls()
	want := []string{"POST /check-runs", "GET /pulls/3/files", "PATCH /check-runs/"}
	if len(calls) != len(want) {
		t.Fatalf("API calls = %q, want create, files, complete", calls)
	}
	for i := range want {
		if !strings.HasPrefix(calls[i], want[i]) {
			t.Errorf("call %d = %q, want %q…", i, calls[i], want[i])
		}
	}
}

func TestScenarioConclusions(t *testing.T) {
	e := newEnv(t, true)
	for i, tc := range []struct {
		scenario, conclusion string
		mention              []string // in the summary
		annotation           string   // path:line that must be annotated
	}{
		{"clean-change", "success", nil, ""},
		{"breaking-consumer", "failure", []string{"finance.revenue", "team-finance", "customer.customer-360", "team-customer-insights"}, ""},
		{"broken-yaml", "failure", []string{"yaml-syntax", "duplicate-key"},
			"customer/data-products/customer-profile/contracts/customer-profile.v1.yaml:18"},
		{"missing-contract", "failure", []string{"contract-missing", "contract-path-escapes"}, ""},
		{"deprecated-removed-early", "failure", []string{"inventory.stock-levels", "team-inventory"}, ""},
		{"breaking-nobody", "neutral", []string{"item_count"}, ""},
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			c := e.scenario(tc.scenario, 100+i)
			if err := e.run(New(e.deps), c, 1); err != nil {
				t.Fatal(err)
			}
			run := e.only(c.HeadSHA)
			if run.Status != "completed" || run.Conclusion != tc.conclusion {
				t.Errorf("%s %s, want completed %s\ntitle: %s\n%s", run.Status, run.Conclusion, tc.conclusion, run.Title, run.Summary)
			}
			for _, m := range tc.mention {
				if !strings.Contains(run.Summary, m) {
					t.Errorf("summary does not mention %q:\n%s", m, run.Summary)
				}
			}
			if tc.annotation != "" {
				found := false
				for _, a := range run.Annotations {
					if a.Path+":"+itoa(a.StartLine) == tc.annotation {
						found = true
					}
				}
				if !found {
					t.Errorf("no annotation at %s: %+v", tc.annotation, run.Annotations)
				}
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestContractChangeUnknownToRegistry: with an empty registry (a repository
// not indexed yet) a changed contract is tied to its descriptor through the
// head tree.
func TestContractChangeUnknownToRegistry(t *testing.T) {
	e := newEnv(t, false)
	c := e.scenario("breaking-consumer", 5)
	if err := e.run(New(e.deps), c, 1); err != nil {
		t.Fatal(err)
	}
	run := e.only(c.HeadSHA)
	if run.Title == TitleNothingChanged || !strings.Contains(run.Summary, "order-events") {
		t.Errorf("the contract change was not judged: %q\n%s", run.Title, run.Summary)
	}
	tree := false
	for _, call := range e.repoCalls() {
		tree = tree || strings.HasPrefix(call, "GET /git/trees/")
	}
	if !tree {
		t.Errorf("no tree lookup: %q", e.repoCalls())
	}
}

func TestSupersededBeforeStart(t *testing.T) {
	e := newEnv(t, true)
	c := e.scenario("clean-change", 7)
	if err := e.store.SetLatest(context.Background(), c.Key(), "0123456789abcdef0123456789abcdef01234567"); err != nil {
		t.Fatal(err)
	}
	if err := e.run(New(e.deps), c, 1); err != nil {
		t.Fatal(err)
	}
	if rs := e.runs(c.HeadSHA); len(rs) != 0 {
		t.Errorf("a superseded job created %d check run(s)", len(rs))
	}
	if calls := e.repoCalls(); len(calls) != 0 {
		t.Errorf("a superseded job called GitHub: %q", calls)
	}
}

// pushDuring is the real client, with a newer push recorded as the files
// are listed: the moment a synchronize delivery would land mid-check.
type pushDuring struct {
	githubapp.Clients
	st    store.Latest
	key   string
	newer string
}

func (p pushDuring) Installation(id int64) (githubapp.Installation, error) {
	c, err := p.Clients.Installation(id)
	return pushingClient{c, p}, err
}

type pushingClient struct {
	githubapp.Installation
	p pushDuring
}

func (c pushingClient) ChangedFiles(ctx context.Context, owner, repo string, n int) ([]githubapp.ChangedFile, error) {
	if err := c.p.st.SetLatest(ctx, c.p.key, c.p.newer); err != nil {
		return nil, err
	}
	return c.Installation.ChangedFiles(ctx, owner, repo, n)
}

func TestSupersededWhileRunning(t *testing.T) {
	e := newEnv(t, true)
	c := e.scenario("breaking-consumer", 8)
	deps := e.deps
	deps.GitHub = pushDuring{Clients: e.gh, st: e.store, key: c.Key(), newer: "0123456789abcdef0123456789abcdef01234567"}
	if err := e.run(New(deps), c, 1); err != nil {
		t.Fatal(err)
	}
	run := e.only(c.HeadSHA)
	if run.Status != "completed" || run.Conclusion != string(checkrun.Cancelled) || run.Title != TitleSuperseded {
		t.Errorf("check run = %s %s %q, want completed cancelled %q", run.Status, run.Conclusion, run.Title, TitleSuperseded)
	}
	if len(run.Annotations) != 0 {
		t.Errorf("a superseded verdict carried %d annotations", len(run.Annotations))
	}
}

// failingFiles is the real client whose file listing fails a given number
// of times, as a GitHub outage would.
type failingFiles struct {
	githubapp.Clients
	fails *int
}

func (f failingFiles) Installation(id int64) (githubapp.Installation, error) {
	c, err := f.Clients.Installation(id)
	return failingClient{c, f.fails}, err
}

type failingClient struct {
	githubapp.Installation
	fails *int
}

func (c failingClient) ChangedFiles(ctx context.Context, owner, repo string, n int) ([]githubapp.ChangedFile, error) {
	if *c.fails > 0 {
		*c.fails--
		return nil, errors.New("github: 502 Bad Gateway")
	}
	return c.Installation.ChangedFiles(ctx, owner, repo, n)
}

// TestRetryReusesCheckRun: a failed attempt returns the error (the queue
// retries); the retry completes the check run the first attempt created,
// and a third delivery of the same job finds it complete and does nothing.
func TestRetryReusesCheckRun(t *testing.T) {
	e := newEnv(t, true)
	c := e.scenario("breaking-consumer", 9)
	fails := 1
	deps := e.deps
	deps.GitHub = failingFiles{e.gh, &fails}
	h := New(deps)
	if err := e.run(h, c, 1); err == nil || !strings.Contains(err.Error(), "502") {
		t.Fatalf("first attempt = %v, want the GitHub error", err)
	}
	if run := e.only(c.HeadSHA); run.Status != "in_progress" {
		t.Fatalf("after the failed attempt: %s", run.Status)
	}
	if err := e.run(h, c, 2); err != nil {
		t.Fatal(err)
	}
	run := e.only(c.HeadSHA)
	if run.Status != "completed" || run.Conclusion != "failure" {
		t.Errorf("after the retry: %s %s", run.Status, run.Conclusion)
	}
	before := len(e.repoCalls())
	if err := e.run(h, c, 3); err != nil {
		t.Fatal(err)
	}
	if after := e.repoCalls()[before:]; len(after) != 1 || !strings.HasPrefix(after[0], "GET /commits/") {
		t.Errorf("a redelivered completed job made calls %q, want only the lookup", after)
	}
	e.only(c.HeadSHA)
}

func TestPermanentErrors(t *testing.T) {
	e := newEnv(t, true)
	h := New(e.deps)
	// (An undecodable payload never reaches the handler: jobs.Registry
	// refuses it, permanently; see internal/jobs.)
	if err := e.run(h, jobs.PullCheck{Delivery: "d", Installation: inst, Owner: "acme", Repo: "mesh", PR: 1}, 1); !store.IsPermanent(err) {
		t.Errorf("no head sha: %v, want permanent", err)
	}
	// A pull request that does not exist cannot be checked by retrying.
	err := e.run(h, jobs.PullCheck{Delivery: "d2", Installation: inst, Owner: "acme", Repo: "mesh", PR: 404, HeadSHA: e.main}, 1)
	if !store.IsPermanent(err) || !errors.Is(err, githubapp.ErrNotFound) {
		t.Errorf("missing pull request: %v, want permanent not-found", err)
	}
}

func TestNoPullRequestNoCheckRun(t *testing.T) {
	e := newEnv(t, true)
	if err := e.run(New(e.deps), jobs.PullCheck{Delivery: "d", Installation: inst, Owner: "acme", Repo: "mesh", HeadSHA: e.main}, 1); err != nil {
		t.Fatal(err)
	}
	if rs := e.runs(e.main); len(rs) != 0 {
		t.Errorf("check runs without a pull request: %+v", rs)
	}
}
