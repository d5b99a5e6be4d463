package pullcheck

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/meshbot/meshbot/internal/checkrun"
	"github.com/meshbot/meshbot/internal/engine"
	"github.com/meshbot/meshbot/internal/githubapp"
	"github.com/meshbot/meshbot/internal/jobs"
	"github.com/meshbot/meshbot/internal/policyeval"
	"github.com/meshbot/meshbot/internal/store"
)

// runLease runs c as the worker would a claimed job: attempt, and whether
// it is the last (jobs.Meta.Last).
func (e *env) runLease(h jobs.Handler[jobs.PullCheck], c jobs.PullCheck, attempt int, last bool) error {
	e.t.Helper()
	j, err := jobs.KindPullCheck.New(c.Delivery, c.Key(), c)
	if err != nil {
		e.t.Fatal(err)
	}
	j.Attempt = attempt
	reg := jobs.NewRegistry()
	jobs.Register(reg, jobs.KindPullCheck, h)
	d, err := reg.DecodeLease(&store.Lease{Job: j, Last: last})
	if err != nil {
		e.t.Fatal(err)
	}
	return d.Run(context.Background())
}

// wantUnfinished asserts the single check run at sha completed with
// failure, TitleUnfinished, and a summary mentioning each of mention.
func (e *env) wantUnfinished(sha string, mention ...string) {
	e.t.Helper()
	run := e.only(sha)
	if run.Status != "completed" || run.Conclusion != string(checkrun.Failure) || run.Title != TitleUnfinished {
		e.t.Errorf("check run = %s %s %q, want completed failure %q", run.Status, run.Conclusion, run.Title, TitleUnfinished)
	}
	for _, m := range append(mention, "/mesh recheck") {
		if !strings.Contains(run.Summary, m) {
			e.t.Errorf("summary does not mention %q:\n%s", m, run.Summary)
		}
	}
}

// Issue 11.5: a job that ends without success leaves its check run
// completed with what happened and what to do, never in progress.

func TestPermanentErrorCompletesTheCheckRun(t *testing.T) {
	e := newEnv(t, true)
	// A check of a pull request GitHub does not know (closed and gone):
	// listing its files is a 404, which no retry fixes.
	c := jobs.PullCheck{Delivery: "d-gone", Installation: inst, Owner: "acme", Repo: "mesh", PR: 77, HeadSHA: e.main}
	err := e.runLease(New(e.deps), c, 1, false)
	if !store.IsPermanent(err) || !errors.Is(err, githubapp.ErrNotFound) {
		t.Fatalf("err = %v, want a permanent not-found", err)
	}
	e.wantUnfinished(e.main, "no longer finds the pull request", "not found")
}

func TestLastAttemptCompletesTheCheckRun(t *testing.T) {
	e := newEnv(t, true)
	// Warm the installation token, so the injected failure hits the
	// check's own first request.
	warm := e.branch("warm", 2, map[string]string{"README.md": "# warm\n"})
	if err := e.runLease(New(e.deps), warm, 1, false); err != nil {
		t.Fatal(err)
	}
	c := e.scenario("clean-change", 3)

	// An early attempt that fails leaves the run to the retry.
	e.fake.FailNext(1, http.StatusBadGateway, nil)
	err := e.runLease(New(e.deps), c, 1, false)
	if err == nil || store.IsPermanent(err) {
		t.Fatalf("err = %v, want a retryable failure", err)
	}
	if rs := e.runs(c.HeadSHA); len(rs) != 0 {
		t.Fatalf("a failed early attempt left check runs: %+v", rs)
	}

	// The last attempt fails the same way: the run is created and
	// completed saying so, and the error still goes to the queue.
	e.fake.FailNext(1, http.StatusBadGateway, nil) // the retry's lookup of its run
	err = e.runLease(New(e.deps), c, 5, true)
	if err == nil || store.IsPermanent(err) {
		t.Fatalf("err = %v, want the retryable failure, for the dead-letter list", err)
	}
	e.wantUnfinished(c.HeadSHA, "gave up after 5 attempts", "dead-letter list", "502")
}

func TestRateLimitOnLastAttemptLeavesTheRunToTheReset(t *testing.T) {
	e := newEnv(t, true)
	c := e.scenario("clean-change", 4)
	e.fake.FailNext(1, http.StatusForbidden, http.Header{
		"X-Ratelimit-Remaining": {"0"},
		"X-Ratelimit-Reset":     {strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)},
	})
	err := e.runLease(New(e.deps), c, 5, true)
	var rl *githubapp.RateLimitError
	if !errors.As(err, &rl) || store.IsPermanent(err) {
		t.Fatalf("err = %v, want a rate limit for the worker to defer", err)
	}
	if rs := e.runs(c.HeadSHA); len(rs) != 0 {
		t.Errorf("a deferred job completed check runs: %+v", rs)
	}
}

// A policy cut off by its time bound is a finding in a completed check,
// not a job error.
func TestPolicyTimeoutIsAFinding(t *testing.T) {
	e := newEnv(t, true)
	slow := fstest.MapFS{"slow.rego": &fstest.MapFile{Data: []byte(`package slow
deny contains "big" if {
	n := count([x | some x in numbers.range(1, 100000000); x % 7 == 0])
	n > 0
}
`)}}
	pol, err := policyeval.Load(context.Background(), slow, policyeval.Options{Timeout: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	deps := e.deps
	deps.Policy = policyeval.NewSwappable(pol)
	c := e.scenario("clean-change", 5)
	if err := e.runLease(New(deps), c, 1, false); err != nil {
		t.Fatalf("a policy timeout failed the job: %v", err)
	}
	run := e.only(c.HeadSHA)
	if run.Status != "completed" || run.Conclusion != string(checkrun.Failure) {
		t.Errorf("check run = %s %s %q, want completed failure", run.Status, run.Conclusion, run.Title)
	}
	if !strings.Contains(run.Summary+run.Text, engine.RulePolicyTimeout) {
		t.Errorf("the check run does not name the finding %s:\n%s\n%s", engine.RulePolicyTimeout, run.Summary, run.Text)
	}
}
