package pullcheck

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/meshbot/meshbot/internal/checkrun"
	"github.com/meshbot/meshbot/internal/githubapp"
	"github.com/meshbot/meshbot/internal/jobs"
	"github.com/meshbot/meshbot/internal/store"
	"github.com/meshbot/meshbot/internal/store/storetest"
	"github.com/meshbot/meshbot/internal/worker"
)

// hanging is a GitHub whose pull-request file list never answers: the
// worker running the check hangs after creating its check run.
type hanging struct{ githubapp.Clients }

func (h hanging) Installation(id int64) (githubapp.Installation, error) {
	cl, err := h.Clients.Installation(id)
	return hangingClient{cl}, err
}

type hangingClient struct{ githubapp.Installation }

func (hangingClient) ChangedFiles(ctx context.Context, _, _ string, _ int) ([]githubapp.ChangedFile, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// Issue 11.5: a job dead-lettered without its handler finishing (its
// workers died or hung until its attempts ran out) must not leave its check
// run in progress. Real Redis: the leases expire as they would.
func TestAbandonedCheckCompletesItsRun(t *testing.T) {
	url := storetest.Required(t)
	e := newEnv(t, true)
	opts := store.Options{VisibilityTimeout: 300 * time.Millisecond, MaxAttempts: 2}
	st := storetest.Open(t, url, opts)
	e.deps.Store = st
	c := e.scenario("clean-change", 50)
	j, err := jobs.KindPullCheck.New(c.Delivery, c.Key(), c)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := st.Enqueue(ctx, j); err != nil {
		t.Fatal(err)
	}

	// Two workers take the job in turn, create (then reuse) its check run,
	// hang, and die without settling their lease.
	dying := e.deps
	dying.GitHub = hanging{e.gh}
	for i := range opts.MaxAttempts {
		l, err := st.Claim(ctx, "dying-"+itoa(i), 5*time.Second)
		if err != nil || l == nil {
			t.Fatalf("claim %d: %v %v", i, l, err)
		}
		reg := jobs.NewRegistry()
		jobs.Register(reg, jobs.KindPullCheck, New(dying))
		d, err := reg.DecodeLease(l)
		if err != nil {
			t.Fatal(err)
		}
		hung, stop := context.WithTimeout(ctx, 200*time.Millisecond)
		_ = d.Run(hung) // the worker dies here: no Ack, no Fail
		stop()
	}
	if run := e.only(c.HeadSHA); run.Status != "in_progress" {
		t.Fatalf("before the dead letter: check run %s, want in_progress", run.Status)
	}

	// A healthy worker comes up; the job's attempts are spent.
	pool := worker.New(st, deadRegistry(e.deps), worker.Options{Workers: 1, ClaimWait: 100 * time.Millisecond, Heartbeat: 100 * time.Millisecond, Logger: quiet()})
	poolCtx, stopPool := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- pool.Run(poolCtx) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		dl, err := st.DeadLetters(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		run := e.only(c.HeadSHA)
		if len(dl) == 1 && run.Status == "completed" {
			break
		}
		if time.Now().After(deadline) {
			stopPool()
			<-done
			causes := []string{}
			for _, d := range dl {
				causes = append(causes, d.Job.ID+": "+d.Cause)
			}
			t.Fatalf("dead letters %q; check run %s %s: a dead-lettered check left its run in progress", causes, run.Status, run.Conclusion)
		}
		time.Sleep(50 * time.Millisecond)
	}
	stopPool()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	run := e.only(c.HeadSHA)
	if run.Conclusion != string(checkrun.Failure) || run.Title != TitleUnfinished {
		t.Errorf("check run = %s %q, want failure %q", run.Conclusion, run.Title, TitleUnfinished)
	}
	for _, m := range []string{"stopped", "/mesh recheck", "dead-letter"} {
		if !strings.Contains(run.Summary, m) {
			t.Errorf("summary does not say %q:\n%s", m, run.Summary)
		}
	}
}

// deadRegistry is the registry serve builds for checks.
func deadRegistry(deps Deps) *jobs.Registry {
	reg := jobs.NewRegistry()
	jobs.Register(reg, jobs.KindPullCheck, New(deps))
	jobs.OnDead(reg, jobs.KindPullCheck, NewDeadHook(deps))
	return reg
}

// The hook completes only what its delivery left in progress: it creates a
// run when the head has none (a required check would wait for ever), and
// leaves a completed run or another delivery's run alone.
func TestDeadHookTouchesOnlyItsOwnRun(t *testing.T) {
	e := newEnv(t, true)
	hook := NewDeadHook(e.deps)
	ctx := context.Background()
	dead := jobs.Dead{ID: "j", Attempt: 1, Reason: jobs.DeadUndecodable, Cause: "decode check job j: bad"}

	// No run at the head: one is created, completed failure.
	c := e.scenario("clean-change", 60)
	if err := hook(ctx, c, dead); err != nil {
		t.Fatal(err)
	}
	e.wantUnfinished(c.HeadSHA, "could not read its own job", "dead-letter list")

	// Another delivery's run at the head: left alone.
	other := c
	other.Delivery = "another"
	if err := hook(ctx, other, dead); err != nil {
		t.Fatal(err)
	}
	if rs := e.runs(c.HeadSHA); len(rs) != 1 {
		t.Errorf("%d runs, want the one", len(rs))
	}

	// A check the handler completed: nothing more (one listing call).
	c2 := e.scenario("breaking-consumer", 61)
	if err := e.run(New(e.deps), c2, 1); err != nil {
		t.Fatal(err)
	}
	before := e.only(c2.HeadSHA)
	if err := hook(ctx, c2, jobs.Dead{ID: "j2", Attempt: 5, Reason: jobs.DeadFailed, Cause: "x"}); err != nil {
		t.Fatal(err)
	}
	if after := e.only(c2.HeadSHA); after.Conclusion != before.Conclusion || after.Title != before.Title {
		t.Errorf("the hook rewrote a completed verdict: %s %q -> %s %q", before.Conclusion, before.Title, after.Conclusion, after.Title)
	}

	// A payload without a head: nothing to do, no error.
	if err := hook(ctx, jobs.PullCheck{Owner: "acme"}, dead); err != nil {
		t.Errorf("hook on an empty payload: %v", err)
	}

	// A superseded head without a run: none is created for it.
	c3 := e.scenario("breaking-nobody", 62)
	if err := e.store.SetLatest(ctx, c3.Key(), "0000000000000000000000000000000000000001"); err != nil {
		t.Fatal(err)
	}
	if err := hook(ctx, c3, dead); err != nil {
		t.Fatal(err)
	}
	if rs := e.runs(c3.HeadSHA); len(rs) != 0 {
		t.Errorf("a run was created for a superseded head: %+v", rs)
	}

	// A repository GitHub no longer has: nothing to complete, not an error
	// worth retrying.
	gone := c
	gone.Repo = "gone"
	if err := hook(ctx, gone, dead); err != nil {
		t.Errorf("hook on a repository that is gone: %v", err)
	}
}
