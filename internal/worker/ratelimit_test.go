package worker

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meshbot/meshbot/internal/checkrun"
	"github.com/meshbot/meshbot/internal/ghfake/ghfaketest"
	"github.com/meshbot/meshbot/internal/githubapp"
	"github.com/meshbot/meshbot/internal/jobs"
	"github.com/meshbot/meshbot/internal/metrics"
	"github.com/meshbot/meshbot/internal/pullcheck"
	"github.com/meshbot/meshbot/internal/store"
)

// clock is a clock the test moves by hand: the store's due times, the
// App's record of budgets and the fake's rate-limit reset all read it, so
// an hour's reset passes without an hour's wait.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

const rlAppID = 4243

// TestRateLimitExhaustionDefersUntilReset reproduces issue 11.1: with an
// installation's primary rate limit spent (X-RateLimit-Remaining: 0, the
// reset an hour away), its check jobs used to be retried five times within
// seconds and dead-lettered. Now each is deferred to the reset without
// spending an attempt, the installation is not called again before the
// reset, another installation keeps being served, and after the reset every
// accepted job completes its check run.
func TestRateLimitExhaustionDefersUntilReset(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) { testRateLimitExhaustion(t, b) })
	}
}

func testRateLimitExhaustion(t *testing.T, b backend) {
	const limited, served = 7, 8
	const n, m = 12, 4 // accepted deliveries for the limited and the served installation
	clk := &clock{t: time.Now()}
	f := ghfaketest.New(t, rlAppID)
	f.SetClock(clk.Now)
	checksOf := map[int64][]jobs.PullCheck{}
	for _, in := range []struct {
		id    int64
		owner string
		prs   int
	}{{limited, "acme", n}, {served, "beta", m}} {
		f.AddInstallation(in.id, in.owner)
		r := f.AddRepo(in.id, in.owner+"/mesh", "main")
		r.Commit("main", map[string][]byte{"README.md": []byte("# mesh\n")})
		head := r.Commit("docs", map[string][]byte{"README.md": []byte("# mesh, documented\n")})
		for i := 1; i <= in.prs; i++ {
			r.OpenPullRequest(i, "main", "docs")
			checksOf[in.id] = append(checksOf[in.id], jobs.PullCheck{Delivery: fmt.Sprintf("d-%s-%d", in.owner, i),
				Installation: in.id, Owner: in.owner, Repo: "mesh", PR: i, HeadSHA: head})
		}
	}
	budgets := githubapp.NewBudgets(clk.Now)
	app, err := githubapp.NewApp(githubapp.Config{AppID: rlAppID, PrivateKey: ghfaketest.PEM(), BaseURL: f.URL(),
		HTTPClient: f.Client(), MaxRetries: -1, Logger: quiet(), Budgets: budgets})
	if err != nil {
		t.Fatal(err)
	}
	opts := fast
	opts.MaxAttempts = 5
	opts.Now = clk.Now
	st := b.open(t, opts)

	var mu sync.Mutex
	attempts := map[string][]int{}
	check := pullcheck.New(pullcheck.Deps{GitHub: app, Store: st, Logger: quiet()})
	reg := jobs.NewRegistry()
	met := metrics.New(st, quiet())
	met.WatchBudgets(budgets)
	jobs.Register(reg, jobs.KindPullCheck, met.CountedCheck(budgets, func(ctx context.Context, c jobs.PullCheck, meta jobs.Meta) error {
		mu.Lock()
		attempts[c.Delivery] = append(attempts[c.Delivery], meta.Attempt)
		mu.Unlock()
		return check(ctx, c, meta)
	}))
	po := poolOpts()
	stop := start(t, New(st, reg, po))
	defer stop()

	reset := clk.Now().Add(time.Hour)
	f.ExhaustRateLimit(limited, reset)
	enqueueChecks := func(cs []jobs.PullCheck) {
		for _, c := range cs {
			enqueue(t, st, c.Delivery, jobs.KindPullCheck, c)
		}
	}
	enqueueChecks(checksOf[limited][:n-1])
	enqueueChecks(checksOf[served])

	completed := func(owner string) int {
		k := 0
		for _, r := range f.CheckRuns(owner + "/mesh") {
			if r.Status == "completed" {
				k++
			}
		}
		return k
	}
	waitFor(t, "the served installation's checks and the limited one's deferrals", func() bool {
		s, err := st.Stats(context.Background())
		return err == nil && completed("beta") == m && s.Delayed == n-1 && s.Pending == 0 && s.InFlight == 0
	})
	limitedCalls := func() int {
		k := 0
		for _, r := range f.Requests() {
			if strings.HasPrefix(r.Path, "/repos/acme/") {
				k++
			}
		}
		return k
	}
	before := limitedCalls()
	if before > po.Workers {
		// Only the requests already on their way when the first refusal
		// came back may reach GitHub.
		t.Errorf("%d requests reached the limited installation, want at most %d (one per worker)", before, po.Workers)
	}
	// A delivery accepted while the budget is spent is deferred without a
	// request.
	enqueueChecks(checksOf[limited][n-1:])
	waitFor(t, "the late delivery's deferral", func() bool {
		s, err := st.Stats(context.Background())
		return err == nil && s.Delayed == n && s.Pending == 0 && s.InFlight == 0
	})
	clk.Advance(59 * time.Minute)
	if after := limitedCalls(); after != before {
		t.Errorf("the limited installation was called %d more times before its reset", after-before)
	}
	if k := completed("acme"); k != 0 {
		t.Errorf("%d of the limited installation's check runs completed before the reset", k)
	}
	var snap githubapp.Budget
	for _, bg := range budgets.Snapshot() {
		if bg.Installation == limited {
			snap = bg
		}
	}
	if snap.Remaining != 0 || snap.Waiting != n || !snap.Reset.Equal(reset.Truncate(time.Second)) {
		t.Errorf("budget of the limited installation = %+v, want remaining 0, %d waiting, reset %v", snap, n, reset)
	}
	if dead, _ := st.DeadLetters(context.Background(), 100); len(dead) != 0 {
		t.Fatalf("%d jobs dead-lettered while the budget was spent: %+v", len(dead), dead[0])
	}
	text := scrape(t, met)
	for _, want := range []string{
		fmt.Sprintf(`meshbot_github_rate_limit_remaining{installation="%d"} 0`, limited),
		fmt.Sprintf(`meshbot_github_jobs_waiting_reset{installation="%d"} %d`, limited, n),
		fmt.Sprintf(`meshbot_github_rate_limit_reset_timestamp_seconds{installation="%d"} %s`, limited, strconv.FormatFloat(float64(reset.Unix()), 'g', -1, 64)),
		fmt.Sprintf(`meshbot_github_api_calls_refused_total{installation="%d"} `, limited),
		// Each served check changes only a README: create the run, list
		// the files, complete it.
		fmt.Sprintf(`meshbot_github_calls_per_check_sum{installation="%d"} %d`, served, 3*m),
		fmt.Sprintf(`meshbot_github_calls_per_check_count{installation="%d"} %d`, served, m),
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	clk.Advance(time.Minute + time.Second)
	waitFor(t, "every check after the reset", func() bool {
		s, err := st.Stats(context.Background())
		return err == nil && completed("acme") == n && s == (store.QueueStats{})
	})
	for _, r := range f.CheckRuns("acme/mesh") {
		if r.Conclusion != string(checkrun.Success) {
			t.Errorf("check run %d: %s %q, want success", r.ID, r.Conclusion, r.Title)
		}
	}
	mu.Lock()
	for d, as := range attempts {
		for _, a := range as {
			if a != 1 {
				t.Errorf("%s ran as attempt %d (%v): a deferral spent an attempt", d, a, as)
			}
		}
	}
	mu.Unlock()
	if dead, _ := st.DeadLetters(context.Background(), 100); len(dead) != 0 {
		t.Errorf("%d jobs dead-lettered", len(dead))
	}
	text = scrape(t, met)
	if want := fmt.Sprintf(`meshbot_github_calls_per_check_sum{installation="%d"} %d`, limited, 3*n); !strings.Contains(text, want) {
		var got []string
		for _, l := range strings.Split(text, "\n") {
			if strings.HasPrefix(l, "meshbot_github_calls_per_check") {
				got = append(got, l)
			}
		}
		t.Errorf("/metrics lacks %q; it has %q", want, got)
	}
	if want := fmt.Sprintf(`meshbot_github_jobs_waiting_reset{installation="%d"} 0`, limited); !strings.Contains(text, want) {
		t.Errorf("/metrics lacks %q after the reset", want)
	}
	t.Logf("%s: accepted %d+%d, completed %d+%d; %d requests reached the limited installation before its reset",
		b.name, n, m, completed("acme"), completed("beta"), before)
}

func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("scrape: %d", rec.Code)
	}
	return rec.Body.String()
}

// waitFor polls cond until it holds; the test's own deadline bounds it.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
