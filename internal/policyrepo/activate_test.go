package policyrepo

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshbot/meshbot/internal/jobs"
	"github.com/meshbot/meshbot/internal/mesh"
	"github.com/meshbot/meshbot/internal/policyeval"
	"github.com/meshbot/meshbot/internal/store"
	"github.com/meshbot/meshbot/policy"
)

func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestActivation: a sound push becomes the active policy here at once and
// on another replica through the store's notice; a broken push is refused
// everywhere (failing check run, refusal counted, the record unchanged); a
// push that is no longer the tip does nothing; a replica that starts later
// loads the recorded policy.
func TestActivation(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			e := newEnv(t, st)
			other, folder := e.replica()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			followed := make(chan struct{})
			go func() { defer close(followed); other.Follow(ctx, time.Hour) }() // notices only: the poll never fires
			defer func() { cancel(); <-followed }()
			time.Sleep(50 * time.Millisecond) // let the subscription start

			good, err := e.push(files(t, "good"))
			if err != nil {
				t.Fatal(err)
			}
			run := e.runAt(good)
			if run.Conclusion != "success" || !strings.HasPrefix(run.Title, "Active policy: ") || !strings.Contains(run.Summary, "This commit is the active policy") {
				t.Fatalf("run at the pushed commit: %q %q", run.Conclusion, run.Title)
			}
			if got := e.active.Policy().Load(); got.Origin().Commit != good || got.Rules() != 1 {
				t.Fatalf("activating replica judges with %+v (%d rules), want commit %s", got.Origin(), got.Rules(), good)
			}
			if o := e.active.Policy().Load().Origin(); o.URL != "https://github.com/"+polRepo+"/commit/"+good || o.Repo != polRepo {
				t.Errorf("origin %+v", o)
			}
			waitFor(t, 5*time.Second, "the other replica switched", func() bool { return other.Policy().Load().Origin().Commit == good })
			if other.Policy().Load() == folder {
				t.Fatal("the other replica still judges with the folder's policy")
			}
			rec, ok, err := st.ActivePolicy(context.Background())
			if err != nil || !ok || rec.Commit != good || rec.Repo != polRepo || rec.Seq != 1 {
				t.Fatalf("recorded %+v ok=%v err=%v", rec, ok, err)
			}

			broken, err := e.push(with(t, map[string]string{"policy/mesh/dataproduct.rego": seedBroken(t)}))
			if err != nil {
				t.Fatal(err)
			}
			run = e.runAt(broken)
			if run.Conclusion != "failure" || !strings.HasPrefix(run.Title, "Refused as the active policy: ") || len(run.Annotations) == 0 {
				t.Fatalf("run at the broken commit: %q %q", run.Conclusion, run.Title)
			}
			failing, err := e.push(with(t, map[string]string{"policy/mesh/guild_more_test.rego": failingTest}))
			if err != nil {
				t.Fatal(err)
			}
			if run := e.runAt(failing); run.Conclusion != "failure" || !strings.Contains(run.Title, "policy tests fail") {
				t.Fatalf("run at the commit with failing tests: %q %q", run.Conclusion, run.Title)
			}
			time.Sleep(100 * time.Millisecond) // a wrong notice would have arrived by now
			for who, a := range map[string]*Active{"activating": e.active, "other": other} {
				if c := a.Policy().Load().Origin().Commit; c != good {
					t.Errorf("%s replica judges with %s after refusals, want %s", who, c, good)
				}
			}
			if rec, _, _ := st.ActivePolicy(context.Background()); rec.Commit != good {
				t.Errorf("record moved to %s", rec.Commit)
			}
			refused, switches := e.obs.snapshot()
			if !slices.Equal(refused, []string{"compile", "tests"}) {
				t.Errorf("refusals %v, want [compile tests]", refused)
			}
			slices.Sort(switches)
			if !slices.Equal(switches, []string{"activated@" + good, "followed@" + good}) {
				t.Errorf("switches %v", switches)
			}

			// A late job of a commit that is no longer the tip changes nothing.
			late := jobs.Index{Delivery: "late", Installation: inst, Owner: owner, Repo: polName, Ref: good}
			if err := e.svc.DivertIndex(nil)(context.Background(), late, jobs.Meta{Attempt: 1}); err != nil {
				t.Fatal(err)
			}
			if n := len(e.fake.CheckRuns(polRepo)); n != 3 {
				t.Errorf("%d check runs after a late push job, want 3 (it must do nothing)", n)
			}

			// A replica starting now loads the recorded policy from the store.
			fresh, _ := e.replica()
			if err := fresh.Sync(context.Background()); err != nil {
				t.Fatal(err)
			}
			if c := fresh.Policy().Load().Origin().Commit; c != good {
				t.Errorf("a starting replica loaded %q, want %s", c, good)
			}
		})
	}
}

// TestFollowPolls: a replica whose notices never come (no subscription)
// still switches within its poll period.
func TestFollowPolls(t *testing.T) {
	st := quietStore{store.NewMemory(store.Options{})}
	e := newEnv(t, st)
	other, _ := e.replica()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); other.Follow(ctx, 20*time.Millisecond) }()
	defer func() { cancel(); <-done }()
	good, err := e.push(files(t, "good"))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the polling replica switched", func() bool { return other.Policy().Load().Origin().Commit == good })
}

// quietStore drops every notice, as a lost subscription would.
type quietStore struct{ store.Store }

func (quietStore) WatchPolicy(ctx context.Context) (<-chan struct{}, error) {
	return make(chan struct{}), nil
}

// TestRechecks: activation enqueues one re-check per repository holding
// data products; each enqueues a check of every open pull request once per
// policy commit; a re-check of a commit no longer active does nothing.
func TestRechecks(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			e := newEnv(t, st)
			ctx := context.Background()
			mesh1 := e.fake.AddRepo(inst, owner+"/orders", "main")
			mesh1.Commit("main", map[string][]byte{"dataproduct.yaml": []byte("kind: DataProduct\n")})
			for n := 1; n <= 3; n++ {
				mesh1.Commit("pr-"+string(rune('0'+n)), map[string][]byte{"dataproduct.yaml": []byte("kind: DataProduct\n#" + string(rune('0'+n)) + "\n")})
				mesh1.OpenPullRequest(n, "main", "pr-"+string(rune('0'+n)))
			}
			if err := st.PutRepo(ctx, inst, owner+"/orders", []*mesh.Product{{Name: "events", Domain: "orders", File: "dataproduct.yaml"}}); err != nil {
				t.Fatal(err)
			}
			if err := st.PutRepo(ctx, inst, owner+"/empty", nil); err != nil {
				t.Fatal(err)
			}
			good, err := e.push(files(t, "good"))
			if err != nil {
				t.Fatal(err)
			}
			rechecks := drain(t, st, jobs.KindPolicyRecheck.Name())
			if len(rechecks) != 1 {
				t.Fatalf("%d re-check jobs, want 1 (only acme/orders holds products)", len(rechecks))
			}
			var p jobs.PolicyRecheck
			decode(t, rechecks[0], &p)
			if p.Owner != owner || p.Repo != "orders" || p.Commit != good {
				t.Fatalf("re-check %+v", p)
			}
			for i := 0; i < 2; i++ { // the second run (a retry) enqueues nothing more
				if err := e.svc.HandleRecheck(ctx, p, jobs.Meta{Attempt: 1}); err != nil {
					t.Fatal(err)
				}
			}
			checks := drain(t, st, jobs.KindPullCheck.Name())
			if len(checks) != 3 {
				t.Fatalf("%d pull checks, want one per open pull request (3)", len(checks))
			}
			prs := map[int]bool{}
			for _, j := range checks {
				var c jobs.PullCheck
				decode(t, j, &c)
				prs[c.PR] = true
				if c.Owner != owner || c.Repo != "orders" || c.HeadSHA == "" || !strings.Contains(c.Delivery, good) {
					t.Errorf("check %+v", c)
				}
			}
			if len(prs) != 3 {
				t.Errorf("checks of %v", prs)
			}
			// A second delivery of the same push: nothing is enqueued twice.
			ix := jobs.Index{Delivery: "again", Installation: inst, Owner: owner, Repo: polName, Ref: good}
			if err := e.svc.DivertIndex(nil)(ctx, ix, jobs.Meta{Attempt: 1}); err != nil {
				t.Fatal(err)
			}
			if n := len(drain(t, st, jobs.KindPolicyRecheck.Name())); n != 0 {
				t.Errorf("%d re-checks enqueued again for the same commit", n)
			}
			// A newer policy makes the older commit's re-check a no-op.
			newer, err := e.push(with(t, map[string]string{"policy/mesh/extra.rego": "package mesh.extra\n\nimport rego.v1\n\nwarn contains \"extra\" if { false }\n"}))
			if err != nil {
				t.Fatal(err)
			}
			if err := e.svc.HandleRecheck(ctx, p, jobs.Meta{Attempt: 1}); err != nil {
				t.Fatal(err)
			}
			if n := len(drain(t, st, jobs.KindPullCheck.Name())); n != 0 {
				t.Errorf("a re-check of a commit no longer active enqueued %d checks", n)
			}
			// A late retry of the older push must not bring its policy back.
			late := jobs.Index{Delivery: "late", Installation: inst, Owner: owner, Repo: polName, Ref: good}
			if err := e.svc.DivertIndex(nil)(ctx, late, jobs.Meta{Attempt: 2}); err != nil {
				t.Fatal(err)
			}
			if rec, _, _ := st.ActivePolicy(ctx); rec.Commit != newer {
				t.Errorf("a late job of an older push made %s active, want %s", rec.Commit, newer)
			}
			if c := e.active.Policy().Load().Origin().Commit; c != newer {
				t.Errorf("this replica judges with %s, want %s", c, newer)
			}
		})
	}
}

// drain claims and acks every queued job, returning those of kind.
func drain(t *testing.T, st store.Store, kind string) []store.Job {
	t.Helper()
	var out []store.Job
	for {
		l, err := st.Claim(context.Background(), "test", 10*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if l == nil {
			return out
		}
		if l.Job.Kind == kind {
			out = append(out, l.Job)
		}
		if err := st.Ack(context.Background(), l); err != nil {
			t.Fatal(err)
		}
	}
}

func decode(t *testing.T, j store.Job, v any) {
	t.Helper()
	if err := json.Unmarshal(j.Payload, v); err != nil {
		t.Fatal(err)
	}
}

// TestInstalledActivatesTip: the App installed on the policy repository (an
// index job without a commit) activates its default branch's tip; other
// repositories' index jobs are not diverted.
func TestInstalledActivatesTip(t *testing.T) {
	e := newEnv(t, store.NewMemory(store.Options{}))
	tip := e.pol.Commit("main", files(t, "good"))
	var indexed []string
	next := func(_ context.Context, ix jobs.Index, _ jobs.Meta) error {
		indexed = append(indexed, ix.Owner+"/"+ix.Repo)
		return nil
	}
	h := e.svc.DivertIndex(next)
	for _, ix := range []jobs.Index{
		{Delivery: "inst", Installation: inst, Owner: "ACME", Repo: "Governance"}, // GitHub's names are case-insensitive
		{Delivery: "inst", Installation: inst, Owner: owner, Repo: "mesh"},
		{Delivery: "inst", Installation: inst},
	} {
		if err := h(context.Background(), ix, jobs.Meta{Attempt: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(indexed, []string{meshRepo, "/"}) {
		t.Errorf("indexed %v, want the mesh and the installation-wide job only", indexed)
	}
	if c := e.active.Policy().Load().Origin().Commit; c != tip {
		t.Fatalf("active commit %q, want the tip %s", c, tip)
	}
}

// TestRecheckJudgedByItsPolicy: a re-check an activation enqueued is
// judged by that policy on whichever replica takes it, even one whose
// follower has not switched yet (no notice, no poll here).
func TestRecheckJudgedByItsPolicy(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			e := newEnv(t, st)
			other, folder := e.replica()
			svc := New(Deps{Repo: polRepo, GitHub: e.app, Pulls: e.app, Store: st, Active: other, Logger: slog.New(slog.DiscardHandler)})
			good, err := e.push(files(t, "good"))
			if err != nil {
				t.Fatal(err)
			}
			if other.Policy().Load() != folder {
				t.Fatal("the other replica switched on its own; the test needs it behind")
			}
			judge := func(delivery string) string {
				var by string
				next := func(context.Context, jobs.PullCheck, jobs.Meta) error {
					by = other.Policy().Load().Origin().Commit
					return nil
				}
				c := jobs.PullCheck{Delivery: delivery, Installation: inst, Owner: owner, Repo: "mesh", PR: 1, HeadSHA: good}
				if err := svc.DivertChecks(next)(context.Background(), c, jobs.Meta{Attempt: 1}); err != nil {
					t.Fatal(err)
				}
				return by
			}
			// An ordinary check is judged by what the replica has: it
			// switches within its poll, as documented.
			if by := judge("d-1"); by != "" {
				t.Fatalf("an ordinary check made the replica switch (judged by %q)", by)
			}
			if by := judge(recheckPrefix + good + ":" + meshRepo + "#1"); by != good {
				t.Fatalf("the re-check for %s was judged by %q", good, by)
			}
		})
	}
}

// TestCatchUpLoadsOnce: re-checks a lagging replica's workers take at once
// load and compile the recorded policy once between them, not once each.
func TestCatchUpLoadsOnce(t *testing.T) {
	st := &bundleReads{Store: store.NewMemory(store.Options{})}
	e := newEnv(t, st)
	set, err := policyeval.Load(context.Background(), policy.FS(), policyeval.Options{})
	if err != nil {
		t.Fatal(err)
	}
	other := NewActive(policyeval.NewSwappable(set), st, ActiveOptions{Repo: polRepo, Logger: slog.New(slog.DiscardHandler)})
	svc := New(Deps{Repo: polRepo, GitHub: e.app, Pulls: e.app, Store: st, Active: other, Logger: slog.New(slog.DiscardHandler)})
	good, err := e.push(files(t, "good"))
	if err != nil {
		t.Fatal(err)
	}
	st.n.Store(0)
	const workers = 8
	by := make([]string, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			next := func(context.Context, jobs.PullCheck, jobs.Meta) error {
				by[i] = other.Policy().Load().Origin().Commit
				return nil
			}
			c := jobs.PullCheck{Delivery: fmt.Sprintf("%s%s:%s#%d", recheckPrefix, good, meshRepo, i+1), Installation: inst, Owner: owner, Repo: "mesh", PR: i + 1, HeadSHA: good}
			errs[i] = svc.DivertChecks(next)(context.Background(), c, jobs.Meta{Attempt: 1})
		})
	}
	wg.Wait()
	for i := range workers {
		if errs[i] != nil || by[i] != good {
			t.Errorf("re-check %d judged by %q (err %v), want %s", i+1, by[i], errs[i], good)
		}
	}
	if n := st.n.Load(); n != 1 {
		t.Errorf("the policy bundle was read %d times, want once", n)
	}
}

// bundleReads counts the reads of policy bundles, each slow enough that
// loads begun at once overlap.
type bundleReads struct {
	store.Store
	n atomic.Int64
}

func (s *bundleReads) PolicyBundle(ctx context.Context, commit string) ([]byte, error) {
	s.n.Add(1)
	time.Sleep(50 * time.Millisecond)
	return s.Store.PolicyBundle(ctx, commit)
}
