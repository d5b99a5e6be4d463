package policyrepo

import (
	"context"
	"log/slog"
	"maps"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/meshbot/meshbot/internal/ghfake"
	"github.com/meshbot/meshbot/internal/ghfake/ghfaketest"
	"github.com/meshbot/meshbot/internal/githubapp"
	"github.com/meshbot/meshbot/internal/jobs"
	"github.com/meshbot/meshbot/internal/policyeval"
	"github.com/meshbot/meshbot/internal/store"
	"github.com/meshbot/meshbot/internal/store/storetest"
	"github.com/meshbot/meshbot/internal/testutil"
	"github.com/meshbot/meshbot/policy"
)

const (
	appID    = 5151
	inst     = 9
	owner    = "acme"
	polName  = "governance"
	polRepo  = owner + "/" + polName
	meshRepo = owner + "/mesh"
)

// backends: memory always; Redis when MESHBOT_TEST_REDIS_URL is set
// (required under CI=true).
func backends(t *testing.T) map[string]func(t *testing.T) store.Store {
	bs := map[string]func(t *testing.T) store.Store{"memory": func(t *testing.T) store.Store {
		s := store.NewMemory(store.Options{})
		t.Cleanup(func() { s.Close() })
		return s
	}}
	if url := storetest.URL(t); url != "" {
		bs["redis"] = func(t *testing.T) store.Store { return storetest.Open(t, url, store.Options{}) }
	}
	return bs
}

// observer records what /metrics would be told.
type observer struct {
	mu       sync.Mutex
	refused  []string
	switches []string // how@commit
}

func (o *observer) PolicyCommit(_, commit, _, how string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.switches = append(o.switches, how+"@"+commit)
}

func (o *observer) PolicyRefused(reason string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.refused = append(o.refused, reason)
}

func (o *observer) snapshot() (refused, switches []string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.refused...), append([]string(nil), o.switches...)
}

// env is one replica against a fake GitHub holding the policy repository
// (main: the good bundle) and a data product repository.
type env struct {
	t      *testing.T
	fake   *ghfake.Fake
	pol    *ghfake.Repo
	app    *githubapp.App
	st     store.Store
	active *Active
	svc    *Service
	obs    *observer
	folder *policyeval.Set
}

func newEnv(t *testing.T, st store.Store) *env {
	t.Helper()
	f := ghfaketest.New(t, appID)
	f.AddInstallation(inst, owner)
	pol := f.AddRepo(inst, polRepo, "main")
	pol.Commit("main", map[string][]byte{"README.md": []byte("# policy\n")})
	f.AddRepo(inst, meshRepo, "main").Commit("main", map[string][]byte{"README.md": []byte("# mesh\n")})
	app, err := githubapp.NewApp(githubapp.Config{AppID: appID, PrivateKey: ghfaketest.PEM(), BaseURL: f.URL(), HTTPClient: f.Client(),
		RetryBaseDelay: time.Millisecond, MaxWait: time.Second, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, fake: f, pol: pol, app: app, st: st, obs: &observer{}}
	e.active, e.folder = e.replica()
	e.svc = New(Deps{Repo: polRepo, GitHub: app, Pulls: app, Store: st, Active: e.active, Metrics: e.obs, Logger: slog.New(slog.DiscardHandler)})
	return e
}

// replica is another replica's Active on the same store, starting with the
// bundled policy.
func (e *env) replica() (*Active, *policyeval.Set) {
	set, err := policyeval.Load(context.Background(), policy.FS(), policyeval.Options{})
	if err != nil {
		e.t.Fatal(err)
	}
	return NewActive(policyeval.NewSwappable(set), e.st, ActiveOptions{Repo: polRepo, Metrics: e.obs, Logger: slog.New(slog.DiscardHandler)}), set
}

// files reads a folder of testdata into a snapshot.
func files(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	return testutil.ReadTree(t, filepath.Join("testdata", dir))
}

// with is the good bundle with files added or replaced.
func with(t *testing.T, extra map[string]string) map[string][]byte {
	out := maps.Clone(files(t, "good"))
	for p, s := range extra {
		out[p] = []byte(s)
	}
	return out
}

// pullRequest commits snap on a branch, opens pull request n and runs the
// policy check on its head; it returns the completed check run.
func (e *env) pullRequest(n int, snap map[string][]byte) ghfake.CheckRun {
	e.t.Helper()
	branch := "change-" + time.Now().Format("150405.000000")
	sha := e.pol.Commit(branch, snap)
	e.pol.OpenPullRequest(n, "main", branch)
	chk := jobs.PullCheck{Delivery: "d-" + sha[:8], Installation: inst, Owner: owner, Repo: polName, PR: n, HeadSHA: sha, BaseRef: "main"}
	if err := e.svc.DivertChecks(nil)(context.Background(), chk, jobs.Meta{ID: "j", Attempt: 1}); err != nil {
		e.t.Fatalf("policy check: %v", err)
	}
	return e.runAt(sha)
}

// push commits snap to main and runs the activation of that push.
func (e *env) push(snap map[string][]byte) (string, error) {
	sha := e.pol.Commit("main", snap)
	ix := jobs.Index{Delivery: "push-" + sha[:8], Installation: inst, Owner: owner, Repo: polName, Ref: sha}
	return sha, e.svc.DivertIndex(nil)(context.Background(), ix, jobs.Meta{ID: "p", Attempt: 1})
}

func (e *env) runAt(sha string) ghfake.CheckRun {
	e.t.Helper()
	var found []ghfake.CheckRun
	for _, r := range e.fake.CheckRuns(polRepo) {
		if r.HeadSHA == sha {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		e.t.Fatalf("%d check runs at %s, want 1", len(found), sha)
	}
	return found[0]
}
