package redeliver

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meshbot/meshbot/internal/ghfake"
	"github.com/meshbot/meshbot/internal/ghfake/ghfaketest"
	"github.com/meshbot/meshbot/internal/githubapp"
	"github.com/meshbot/meshbot/internal/jobs"
	"github.com/meshbot/meshbot/internal/store"
	"github.com/meshbot/meshbot/internal/store/storetest"
)

const appID = 4242

var t0 = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// backends runs fn on the memory store and on a real Redis.
func backends(t *testing.T, fn func(t *testing.T, st store.Store)) {
	t.Run("memory", func(t *testing.T) { fn(t, store.NewMemory(store.Options{})) })
	t.Run("redis", func(t *testing.T) {
		url := storetest.Required(t)
		fn(t, storetest.Open(t, url, store.Options{}))
	})
}

func newApp(t *testing.T, f *ghfake.Fake) *githubapp.App {
	t.Helper()
	app, err := githubapp.NewApp(githubapp.Config{
		AppID: appID, PrivateKey: ghfaketest.PEM(), BaseURL: f.URL(), HTTPClient: f.Client(),
		RetryBaseDelay: time.Millisecond, MaxRetries: -1, Logger: quiet(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return app
}

// clock is the injected time.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

func newSweeper(t *testing.T, gh githubapp.Hooks, st store.Store, holder string, c *clock, opts Options) *Sweeper {
	t.Helper()
	opts.Holder, opts.Now, opts.Logger = holder, c.Now, quiet()
	s, err := New(gh, st, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// accept is meshbot's intake as the fake redelivers to it: it records the
// guid as the webhook does (no jobs needed here) and answers 202.
func accept(t *testing.T, st store.Store) ghfake.Receiver {
	return func(d ghfake.HookDelivery) int {
		if _, err := st.EnqueueDelivery(context.Background(), store.Delivery{ID: d.GUID, TTL: 72 * time.Hour}); err != nil {
			t.Errorf("intake: %v", err)
			return 500
		}
		return 202
	}
}

// calls counts the fake's API requests since from, without the token
// exchanges (one per installation per hour).
func calls(f *ghfake.Fake, from int) (n int, paths []string) {
	for _, r := range f.Requests()[from:] {
		if strings.HasSuffix(r.Path, "/access_tokens") {
			continue
		}
		n++
		paths = append(paths, r.Method+" "+r.Path)
	}
	return n, paths
}

func TestMissedDeliveriesAreRedeliveredOnce(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		f := ghfaketest.New(t, appID)
		f.AddInstallation(7, "acme")
		app := newApp(t, f)
		at := t0.Add(-time.Hour)
		add := func(guid string, code int, redelivery bool) int64 {
			at = at.Add(time.Second)
			return f.AddDelivery(ghfake.HookDelivery{GUID: guid, At: at, StatusCode: code, Redelivery: redelivery,
				Event: "pull_request", Action: "synchronize", Installation: 7})
		}
		// Before the outage, and the intake took it.
		add("g-ok", 202, false)
		// meshbot was down: nothing answered, or a proxy said 502.
		down1 := add("g-down-1", 0, false)
		down2 := add("g-down-2", 502, false)
		// Failed once, then someone redelivered it by hand and it worked.
		add("g-redone", 0, false)
		add("g-redone", 202, true)
		// GitHub logged a failure but the intake had recorded it (it
		// answered after GitHub's 10 s): accepted, not to be asked.
		add("g-slow", 0, false)
		if _, err := st.EnqueueDelivery(ctx, store.Delivery{ID: "g-slow", TTL: time.Hour}); err != nil {
			t.Fatal(err)
		}
		// Failed, and its redelivery failed too: asked once, for the original.
		down3 := add("g-down-3", 503, false)
		add("g-down-3", 0, true)

		c := &clock{now: t0}
		opts := Options{Period: 10 * time.Minute}
		a := newSweeper(t, app, st, "replica-a", c, opts)
		b := newSweeper(t, app, st, "replica-b", c, opts)

		// Two replicas start at the same time.
		var wg sync.WaitGroup
		reps := make([]Report, 2)
		errs := make([]error, 2)
		for i, s := range []*Sweeper{a, b} {
			wg.Add(1)
			go func() { defer wg.Done(); reps[i], errs[i] = s.Sweep(ctx) }()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if reps[0].Skipped == reps[1].Skipped {
			t.Fatalf("skipped = %v, %v; want exactly one replica to sweep", reps[0].Skipped, reps[1].Skipped)
		}
		rep := reps[0]
		if rep.Skipped {
			rep = reps[1]
		}
		want := []int64{down1, down2, down3}
		got := f.RedeliveriesAsked()
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("redeliveries asked = %v, want %v", got, want)
		}
		if rep.Listed != 8 || rep.Failed != 4 || rep.Known != 1 || rep.Asked != 3 || rep.Truncated {
			t.Errorf("report = %+v", rep.Deliveries)
		}

		// GitHub makes the attempts; meshbot is up and takes them.
		f.SetReceiver(accept(t, st))
		if n := f.FlushRedeliveries(t0.Add(time.Minute)); n != 3 {
			t.Fatalf("flushed %d, want 3", n)
		}

		// The same period again: nobody sweeps.
		if r, err := b.Sweep(ctx); err != nil || !r.Skipped {
			t.Fatalf("second sweep in the period = %+v, %v; want skipped", r, err)
		}
		// The next period, on a restarted replica: only the redeliveries
		// are new, and they were accepted.
		c.Add(10 * time.Minute)
		restarted := newSweeper(t, newApp(t, f), st, "replica-a2", c, opts)
		r, err := restarted.Sweep(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if r.Skipped || r.Listed != 3 || r.Failed != 0 || r.Asked != 0 {
			t.Errorf("next sweep = %+v, want the 3 accepted redeliveries and nothing asked", r.Deliveries)
		}
		if got := f.RedeliveriesAsked(); len(got) != 3 {
			t.Errorf("redeliveries asked after the next sweep = %v, want still 3", got)
		}
		// And one more: nothing new at all.
		c.Add(10 * time.Minute)
		if r, err := a.Sweep(ctx); err != nil || r.Listed != 0 || r.Asked != 0 {
			t.Errorf("third sweep = %+v, %v; want nothing listed", r.Deliveries, err)
		}
	})
}

// TestStillDown: a redelivery that fails too is asked for again only once
// AskTTL has passed, and then once; meanwhile the high-water mark stays.
func TestStillDown(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		f := ghfaketest.New(t, appID)
		app := newApp(t, f)
		id := f.AddDelivery(ghfake.HookDelivery{GUID: "g-1", At: t0.Add(-time.Minute), StatusCode: 0})
		c := &clock{now: t0}
		s := newSweeper(t, app, st, "r", c, Options{Period: time.Minute, AskTTL: 300 * time.Millisecond})
		if r, err := s.Sweep(ctx); err != nil || r.Asked != 1 {
			t.Fatalf("first sweep = %+v, %v", r.Deliveries, err)
		}
		f.FlushRedeliveries(t0) // no receiver: fails to connect again
		c.Add(time.Minute)
		if r, err := s.Sweep(ctx); err != nil || r.Asked != 0 || r.Claimed != 1 {
			t.Fatalf("sweep within AskTTL = %+v, %v; want claimed, not asked", r.Deliveries, err)
		}
		// The claim is a store lease of real time (Redis expires it).
		time.Sleep(400 * time.Millisecond)
		c.Add(time.Minute)
		// The failed redelivery is newer than the mark and keeps the guid open.
		again := f.AddDelivery(ghfake.HookDelivery{GUID: "g-1", At: t0.Add(2 * time.Minute), StatusCode: 0, Redelivery: true})
		if r, err := s.Sweep(ctx); err != nil || r.Asked != 1 {
			t.Fatalf("sweep after AskTTL = %+v, %v; want asked again", r.Deliveries, err)
		}
		// The original is below the high-water mark by now; any attempt of
		// the guid redelivers the same event.
		if got := f.RedeliveriesAsked(); len(got) != 2 || got[0] != id || got[1] != again {
			t.Errorf("asked = %v, want [%d %d]", got, id, again)
		}
	})
}

// TestWindow: the log is paged by cursor up to MaxPages, and deliveries
// older than MaxAge are not looked at.
func TestWindow(t *testing.T) {
	st := store.NewMemory(store.Options{})
	ctx := context.Background()
	f := ghfaketest.New(t, appID)
	app := newApp(t, f)
	old := f.AddDelivery(ghfake.HookDelivery{GUID: "g-old", At: t0.Add(-80 * time.Hour), StatusCode: 0})
	var want []int64
	for i := range 7 {
		want = append(want, f.AddDelivery(ghfake.HookDelivery{GUID: fmt.Sprint("g-", i), At: t0.Add(-time.Hour + time.Duration(i)*time.Second), StatusCode: 500}))
	}
	c := &clock{now: t0}
	from := len(f.Requests())
	s := newSweeper(t, app, st, "r", c, Options{PerPage: 3, MaxPages: 2})
	r, err := s.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r.Pages != 2 || r.Listed != 6 || r.Asked != 6 || !r.Truncated {
		t.Errorf("cut at 2 pages: %+v", r.Deliveries)
	}
	c.Add(time.Hour)
	s = newSweeper(t, app, st, "r", c, Options{PerPage: 3})
	if r, err = s.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	// The high-water mark stops the next sweep at once: the one delivery
	// the cut left out is not looked at again (reported as truncated above).
	if r.Listed != 0 || r.Asked != 0 {
		t.Errorf("after the mark: %+v", r.Deliveries)
	}
	n, paths := calls(f, from)
	t.Logf("calls over two sweeps: %d %v", n, paths)

	// A fresh store (no mark, no claims) looks back MaxAge only: the seven,
	// not g-old.
	st2 := store.NewMemory(store.Options{})
	s2 := newSweeper(t, app, st2, "r", c, Options{})
	before := len(f.RedeliveriesAsked())
	if r, err = s2.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	asked := f.RedeliveriesAsked()[before:]
	slices.Sort(asked)
	if r.Asked != 7 || !slices.Equal(asked, want) {
		t.Errorf("fresh store: %+v, asked %v, want %v (not %d, too old)", r.Deliveries, asked, want, old)
	}
}

func decodeCheck(t *testing.T, j store.Job) jobs.PullCheck {
	t.Helper()
	var c jobs.PullCheck
	if j.Kind != jobs.KindPullCheck.Name() {
		t.Fatalf("job kind %q", j.Kind)
	}
	if err := json.Unmarshal(j.Payload, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestOpenPullRequestsWithoutACheckRun(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		f := ghfaketest.New(t, appID)
		f.AddInstallation(7, "acme")
		f.AddInstallation(9, "zeta")
		mesh := f.AddRepo(7, "acme/mesh", "main")
		mesh.Commit("main", map[string][]byte{"README.md": []byte("x\n")})
		var heads = map[int]string{}
		for n := 1; n <= 3; n++ {
			br := fmt.Sprint("change-", n)
			heads[n] = mesh.Commit(br, map[string][]byte{"README.md": []byte(br + "\n")})
			mesh.OpenPullRequest(n, "main", br)
		}
		other := f.AddRepo(9, "zeta/other", "main")
		other.Commit("main", map[string][]byte{"a": []byte("a\n")})
		zetaHead := other.Commit("fix", map[string][]byte{"a": []byte("b\n")})
		other.OpenPullRequest(5, "main", "fix")
		app := newApp(t, f)
		in, err := app.Installation(7)
		if err != nil {
			t.Fatal(err)
		}
		// #2 has its meshbot check run; #3 has someone else's only.
		if _, err := in.CreateCheckRun(ctx, "acme", "mesh", githubapp.NewCheckRun{Name: "meshbot", HeadSHA: heads[2]}); err != nil {
			t.Fatal(err)
		}
		if _, err := in.CreateCheckRun(ctx, "acme", "mesh", githubapp.NewCheckRun{Name: "lint", HeadSHA: heads[3]}); err != nil {
			t.Fatal(err)
		}

		c := &clock{now: t0}
		// Budget for the first installation only: 1 deliveries page, 1
		// installations, 1 repositories, 1 pulls, 3 check-run lookups.
		s := newSweeper(t, app, st, "r", c, Options{Budget: 7})
		from := len(f.Requests())
		r, err := s.Sweep(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n, paths := calls(f, from)
		t.Logf("first sweep: %d calls: %v", n, paths)
		if r.Calls != n {
			t.Errorf("report counts %d calls, the fake saw %d", r.Calls, n)
		}
		if r.Repos != 1 || r.Open != 3 || r.Enqueued != 2 || r.Done {
			t.Errorf("first sweep = %+v", r.Pulls)
		}
		got := map[string]jobs.PullCheck{}
		for {
			l, err := st.Claim(ctx, "w", 0)
			if err != nil {
				t.Fatal(err)
			}
			if l == nil {
				break
			}
			pc := decodeCheck(t, l.Job)
			got[pc.Key()] = pc
			if l.Job.Key != pc.Key() || l.Job.ID != pc.Delivery {
				t.Errorf("job %s key %q; want id %s, key %s", l.Job.ID, l.Job.Key, pc.Delivery, pc.Key())
			}
			if ok, err := st.IsLatest(ctx, pc.Key(), pc.HeadSHA); err != nil || !ok {
				t.Errorf("%s: head %s is not the latest (%v)", pc.Key(), pc.HeadSHA, err)
			}
			if err := st.Ack(ctx, l); err != nil {
				t.Fatal(err)
			}
		}
		for _, n := range []int{1, 3} {
			pc, ok := got[fmt.Sprintf("7/acme/mesh#%d", n)]
			if !ok || pc.HeadSHA != heads[n] || pc.BaseRef != "main" || pc.Installation != 7 {
				t.Errorf("#%d: %+v (found %v)", n, pc, ok)
			}
		}
		if len(got) != 2 {
			t.Errorf("jobs %v, want #1 and #3", got)
		}

		// The next period resumes at zeta/other.
		c.Add(10 * time.Minute)
		s = newSweeper(t, app, st, "r", c, Options{})
		if r, err = s.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		if !r.Resumed || r.Repos != 1 || r.Enqueued != 1 || !r.Done {
			t.Errorf("resumed sweep = %+v", r.Pulls)
		}
		l, err := st.Claim(ctx, "w", 0)
		if err != nil || l == nil {
			t.Fatalf("claim zeta's check: %v, %v", l, err)
		}
		if pc := decodeCheck(t, l.Job); pc.Key() != "9/zeta/other#5" || pc.HeadSHA != zetaHead {
			t.Errorf("zeta's check = %+v", pc)
		}
		_ = st.Ack(ctx, l)

		// A full sweep after that finds every head already enqueued.
		c.Add(10 * time.Minute)
		from = len(f.Requests())
		if r, err = s.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		n, _ = calls(f, from)
		t.Logf("full sweep, 2 installations, 2 repositories, 4 open pull requests: %d calls", n)
		if r.Resumed || r.Repos != 2 || r.Open != 4 || r.Enqueued != 0 || !r.Done {
			t.Errorf("second full sweep = %+v", r.Pulls)
		}
		if l, err := st.Claim(ctx, "w", 0); err != nil || l != nil {
			t.Errorf("a second sweep enqueued %+v (%v)", l, err)
		}
	})
}

// TestRunOnStartAndEveryPeriod drives Run with an injected clock and ticks.
func TestRunOnStartAndEveryPeriod(t *testing.T) {
	st := store.NewMemory(store.Options{})
	f := ghfaketest.New(t, appID)
	app := newApp(t, f)
	f.AddDelivery(ghfake.HookDelivery{GUID: "g-1", At: t0.Add(-time.Minute), StatusCode: 0})
	c := &clock{now: t0}
	reports := make(chan Report)
	s := newSweeper(t, app, st, "r", c, Options{Period: time.Minute, Swept: func(r Report, err error) {
		if err != nil {
			t.Error(err)
		}
		reports <- r
	}})
	ctx, cancel := context.WithCancel(context.Background())
	tick := make(chan time.Time)
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx, tick) }()

	if r := <-reports; r.Skipped || r.Asked != 1 {
		t.Errorf("on start: %+v", r)
	}
	f.AddDelivery(ghfake.HookDelivery{GUID: "g-2", At: t0, StatusCode: 0})
	tick <- c.Now() // same period: another tick does not sweep again
	if r := <-reports; !r.Skipped {
		t.Errorf("second tick in the period: %+v", r)
	}
	c.Add(time.Minute)
	tick <- c.Now()
	if r := <-reports; r.Skipped || r.Asked != 1 || r.Listed != 1 {
		t.Errorf("next period: %+v", r)
	}
	cancel()
	<-done
	if got := f.RedeliveriesAsked(); len(got) != 2 {
		t.Errorf("asked %v, want g-1 then g-2", got)
	}
}
