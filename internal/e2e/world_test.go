package e2e

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/meshbot/meshbot/internal/commands"
	"github.com/meshbot/meshbot/internal/ghfake"
	"github.com/meshbot/meshbot/internal/ghfake/ghfaketest"
	"github.com/meshbot/meshbot/internal/githubapp"
	"github.com/meshbot/meshbot/internal/index"
	"github.com/meshbot/meshbot/internal/jobs"
	"github.com/meshbot/meshbot/internal/policyeval"
	"github.com/meshbot/meshbot/internal/pullcheck"
	"github.com/meshbot/meshbot/internal/store"
	"github.com/meshbot/meshbot/internal/store/storetest"
	"github.com/meshbot/meshbot/internal/testutil"
	"github.com/meshbot/meshbot/internal/webhook"
	"github.com/meshbot/meshbot/internal/worker"
	"github.com/meshbot/meshbot/policy"
)

const (
	appID    = 4242
	inst     = 7
	owner    = "acme"
	repoName = "mesh"
	repoFull = owner + "/" + repoName
)

// today is the date sunset windows are judged on, as in the CLI's golden
// tests.
var today = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

var secret = []byte("e2e-webhook-secret")

var bundledPolicy = sync.OnceValues(func() (*policyeval.Set, error) {
	return policyeval.Load(context.Background(), policy.FS(), policyeval.Options{})
})

func logger() *slog.Logger {
	if os.Getenv("MESHBOT_E2E_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// storeOpts make takeovers and retries happen within a test's patience.
var storeOpts = store.Options{VisibilityTimeout: 500 * time.Millisecond, MaxAttempts: 5, BackoffBase: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond}

func poolOpts() worker.Options {
	return worker.Options{Workers: 4, ClaimWait: 50 * time.Millisecond, Heartbeat: 100 * time.Millisecond, Drain: 2 * time.Second, Logger: logger()}
}

// backend opens a fresh store.
type backend struct {
	name string
	open func(t testing.TB) store.Store
}

// backends: memory always; Redis when MESHBOT_TEST_REDIS_URL names one
// (export MESHBOT_TEST_REDIS_URL=$(scripts/redis-test.sh)), required under
// CI=true.
func backends(t testing.TB) []backend {
	bs := []backend{{"memory", func(t testing.TB) store.Store {
		s := store.NewMemory(storeOpts)
		t.Cleanup(func() { s.Close() })
		return s
	}}}
	if url := storetest.URL(t); url != "" {
		bs = append(bs, backend{"redis", func(t testing.TB) store.Store { return storetest.Open(t, url, storeOpts) }})
	}
	return bs
}

// world is one meshbot deployment against a fake GitHub: the intake behind
// a real HTTP listener, a store, and worker pools started on demand.
type world struct {
	t    testing.TB
	fake *ghfake.Fake
	repo *ghfake.Repo
	st   store.Store
	app  *githubapp.App
	hook *httptest.Server
	main string // sha of main, the example mesh
	deps pullcheck.Deps
	ix   *index.Indexer
	seq  int
}

func newWorld(t testing.TB, st store.Store) *world {
	t.Helper()
	return newWorldBudgets(t, st, nil)
}

// newWorldBudgets is newWorld whose App records rate limits in budgets (nil:
// its own, on the real clock), so a test can move the clock past a reset.
func newWorldBudgets(t testing.TB, st store.Store, budgets *githubapp.Budgets) *world {
	t.Helper()
	f := ghfaketest.New(t, appID)
	f.AddInstallation(inst, owner)
	r := f.AddRepo(inst, repoFull, "main")
	main, err := r.CommitDir("main", filepath.Join(testutil.RepoRoot(t), "testdata", "mesh"))
	if err != nil {
		t.Fatal(err)
	}
	return assemble(t, st, f, r, main, budgets)
}

// assemble is a deployment of meshbot against f, whose main repository is
// r (at main); budgets as for newWorldBudgets.
func assemble(t testing.TB, st store.Store, f *ghfake.Fake, r *ghfake.Repo, main string, budgets *githubapp.Budgets) *world {
	t.Helper()
	app, err := githubapp.NewApp(githubapp.Config{
		AppID: appID, PrivateKey: ghfaketest.PEM(),
		BaseURL: f.URL(), HTTPClient: f.Client(), RetryBaseDelay: 5 * time.Millisecond, MaxWait: 2 * time.Second, Logger: logger(), Budgets: budgets,
	})
	if err != nil {
		t.Fatal(err)
	}
	pol, err := bundledPolicy()
	if err != nil {
		t.Fatal(err)
	}
	in, err := webhook.New(webhook.Options{Secret: secret, Sink: st, Logger: logger()})
	if err != nil {
		t.Fatal(err)
	}
	hook := httptest.NewServer(in.Router())
	t.Cleanup(hook.Close)
	w := &world{t: t, fake: f, repo: r, st: st, app: app, hook: hook, main: main,
		deps: pullcheck.Deps{GitHub: app, Store: st, Policy: policyeval.NewSwappable(pol), Now: func() time.Time { return today }, Logger: logger()},
		ix:   index.NewIndexer(index.Deps{GitHub: app, Registry: st, Queue: st, Marks: st, Logger: logger()}),
	}
	return w
}

// handlers are every job handler of `meshbot serve`; check runs through gh
// (the App's clients unless a test wraps them).
func (w *world) handlers(gh githubapp.Clients) *jobs.Registry {
	deps := w.deps
	if gh != nil {
		deps.GitHub = gh
	}
	reg := jobs.NewRegistry()
	jobs.Register(reg, jobs.KindPullCheck, pullcheck.New(deps))
	jobs.Register(reg, jobs.KindIndex, w.ix.HandleIndex)
	jobs.Register(reg, jobs.KindPurge, w.ix.HandlePurge)
	jobs.Register(reg, jobs.KindCommand, commands.New(commands.Deps{GitHub: w.app, Queue: w.st, Latest: w.st, Logger: logger(),
		Registry: w.st, Policy: w.deps.Policy, Now: w.deps.Now, Approvals: w.st, Marks: w.st}))
	return reg
}

// startPool runs a worker pool until stop or the end of the test.
func (w *world) startPool(h *jobs.Registry, opts worker.Options) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	p := worker.New(w.st, h, opts)
	go func() { done <- p.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					w.t.Errorf("pool: %v", err)
				}
			case <-time.After(15 * time.Second):
				w.t.Errorf("pool did not stop")
			}
		})
	}
	w.t.Cleanup(stop)
	return stop
}

// example reads one of GitHub's published payload examples, lets edit adjust
// it to the fixture, and marshals it again.
func (w *world) example(rel string, edit func(p map[string]any)) []byte {
	w.t.Helper()
	src, err := os.ReadFile(testutil.Shared(w.t, filepath.Join("external/github/webhooks", rel)))
	if err != nil {
		w.t.Fatal(err)
	}
	var p map[string]any
	if err := json.Unmarshal(src, &p); err != nil {
		w.t.Fatalf("%s: %v", rel, err)
	}
	obj(p, "installation")["id"] = inst
	if r, ok := p["repository"].(map[string]any); ok {
		adjustRepo(r)
	}
	edit(p)
	b, err := json.Marshal(p)
	if err != nil {
		w.t.Fatal(err)
	}
	return b
}

func obj(m map[string]any, key string) map[string]any {
	o, _ := m[key].(map[string]any)
	if o == nil {
		o = map[string]any{}
		m[key] = o
	}
	return o
}

func adjustRepo(r map[string]any) {
	r["name"], r["full_name"], r["default_branch"] = repoName, repoFull, "main"
	obj(r, "owner")["login"] = owner
}

// pullRequest is a pull_request delivery (opened, synchronize, ...) for
// pull request n with head sha on branch ref.
func (w *world) pullRequest(action string, n int, sha, ref string) []byte {
	return w.example("pull_request/"+action+".payload.json", func(p map[string]any) {
		p["number"] = n
		pr := obj(p, "pull_request")
		pr["number"] = n
		head, base := obj(pr, "head"), obj(pr, "base")
		head["sha"], head["ref"] = sha, ref
		base["sha"], base["ref"] = w.main, "main"
		adjustRepo(obj(head, "repo"))
		adjustRepo(obj(base, "repo"))
	})
}

// installed is the installation created delivery naming the fixture repo.
func (w *world) installed() []byte {
	return w.example("installation/created.payload.json", func(p map[string]any) {
		obj(obj(p, "installation"), "account")["login"] = owner
		p["repositories"] = []any{map[string]any{"id": 1, "node_id": "R_1", "name": repoName, "full_name": repoFull, "private": false}}
	})
}

// deliver posts a delivery signed as GitHub signs it and returns the status.
func (w *world) deliver(event, id string, body []byte) int {
	w.t.Helper()
	code, err := w.post(event, id, body)
	if err != nil {
		w.t.Fatal(err)
	}
	return code
}

// post is deliver that returns a transport error rather than failing.
func (w *world) post(event, id string, body []byte) (int, error) {
	req, err := http.NewRequest(http.MethodPost, w.hook.URL+"/webhook", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "GitHub-Hookshot/e2e")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", id)
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := w.hook.Client().Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

func (w *world) mustDeliver(event, id string, body []byte) {
	w.t.Helper()
	if code := w.deliver(event, id, body); code != http.StatusAccepted && code != http.StatusOK {
		w.t.Fatalf("delivery %s (%s) answered %d", id, event, code)
	}
}

// install sends the installation delivery and waits until the registry
// holds the example mesh.
func (w *world) install() {
	w.t.Helper()
	w.mustDeliver("installation", w.nextID(), w.installed())
	w.eventually(20*time.Second, "the registry indexed "+repoFull, func() bool {
		ps, err := w.st.Products(context.Background(), inst)
		return err == nil && len(ps) >= 6
	})
}

func (w *world) nextID() string {
	w.seq++
	return fmt.Sprintf("e2e-%d-%d", time.Now().UnixNano(), w.seq)
}

// pr pushes a branch holding a scenario's head and opens pull request n.
type pr struct {
	n         int
	branch    string
	sha       string
	spec      *testutil.ScenarioSpec
	scenarioD string
}

func (w *world) scenario(name string, n int) pr {
	w.t.Helper()
	root := testutil.RepoRoot(w.t)
	dir := filepath.Join(root, "testdata", "scenarios", name)
	spec, err := testutil.ReadScenarioSpec(dir)
	if err != nil {
		w.t.Fatal(err)
	}
	head := w.t.TempDir()
	if err := testutil.MaterializeScenario(filepath.Join(root, "testdata", "mesh"), dir, head); err != nil {
		w.t.Fatal(err)
	}
	branch := fmt.Sprintf("%s-%d", name, n)
	sha, err := w.repo.CommitDir(branch, head)
	if err != nil {
		w.t.Fatal(err)
	}
	w.repo.OpenPullRequest(n, "main", branch)
	return pr{n: n, branch: branch, sha: sha, spec: spec, scenarioD: dir}
}

func (w *world) eventually(within time.Duration, what string, cond func() bool) {
	w.t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			w.t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// runsAt lists the check runs at sha.
func (w *world) runsAt(sha string) []ghfake.CheckRun {
	var out []ghfake.CheckRun
	for _, r := range w.fake.CheckRuns(repoFull) {
		if r.HeadSHA == sha {
			out = append(out, r)
		}
	}
	return out
}

// completed waits for the check run at sha to complete and returns it; there
// must be exactly one.
func (w *world) completed(sha string, within time.Duration) ghfake.CheckRun {
	w.t.Helper()
	w.eventually(within, "a completed check run at "+sha, func() bool {
		rs := w.runsAt(sha)
		return len(rs) > 0 && rs[len(rs)-1].Status == "completed"
	})
	rs := w.runsAt(sha)
	if len(rs) != 1 {
		w.t.Fatalf("%d check runs at %s, want 1", len(rs), sha)
	}
	return rs[0]
}

// quiet waits until the queue is empty (nothing pending, in flight or
// delayed) and returns its dead letters' count.
func (w *world) drained(within time.Duration) {
	w.t.Helper()
	w.eventually(within, "the queue drained", func() bool {
		s, err := w.st.Stats(context.Background())
		return err == nil && s.Pending == 0 && s.InFlight == 0 && s.Delayed == 0
	})
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
