package reminders

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
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
	"github.com/meshbot/meshbot/internal/mesh"
	"github.com/meshbot/meshbot/internal/store"
	"github.com/meshbot/meshbot/internal/store/storetest"
)

const (
	appID = 4243
	inst  = 7
)

// t0 is 30 days before the sunset of finance.revenue (2027-01-05).
var t0 = time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// replicas gives n stores that share one state: n clients of one real
// Redis under one key prefix, or (memory) one store n times.
func replicas(t *testing.T, n int, fn func(t *testing.T, sts []store.Store)) {
	t.Run("memory", func(t *testing.T) {
		m := store.NewMemory(store.Options{})
		sts := make([]store.Store, n)
		for i := range sts {
			sts[i] = m
		}
		fn(t, sts)
	})
	t.Run("redis", func(t *testing.T) {
		url := storetest.Required(t)
		var b [6]byte
		_, _ = rand.Read(b[:])
		prefix := "meshbot-test:" + hex.EncodeToString(b[:]) + ":"
		sts := make([]store.Store, n)
		for i := range sts {
			s, err := store.NewRedis(context.Background(), url, store.Options{Prefix: prefix})
			if err != nil {
				t.Fatal(err)
			}
			sts[i] = s
		}
		t.Cleanup(func() {
			for _, s := range sts {
				s.Close()
			}
			cfg, err := store.ParseRedisURL(url)
			if err != nil {
				return
			}
			c := cfg.NewClient()
			defer c.Close()
			if err := storetest.DeletePrefix(context.Background(), c, prefix); err != nil {
				t.Logf("cleaning up %s*: %v", prefix, err)
			}
		})
		fn(t, sts)
	})
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Set(t time.Time)     { c.mu.Lock(); c.now = t; c.mu.Unlock() }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

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

func product(t *testing.T, repo, src string) *mesh.Product {
	t.Helper()
	p, _, probs := mesh.ReadDescriptor("dataproduct.yaml", []byte(src))
	if p == nil || len(probs) > 0 {
		t.Fatalf("%s: %v", repo, probs)
	}
	p.Repo = repo
	return p
}

// mesh of the tests: finance.revenue is deprecated (sunset 2027-01-05);
// finance.ledger's port daily is (sunset 2026-12-13, 7 days after t0);
// three consumers in three repositories, one of them with two input ports
// on revenue, one reading ledger's other port (not deprecated).
func seed(t *testing.T, st store.Store) {
	t.Helper()
	ctx := context.Background()
	put := func(repo string, ps ...*mesh.Product) {
		if err := st.PutRepo(ctx, inst, repo, ps); err != nil {
			t.Fatal(err)
		}
	}
	put("acme/finance",
		product(t, "acme/finance", `apiVersion: mesh/v1
kind: DataProduct
metadata: {name: revenue, domain: finance, owner: team-finance}
spec:
  lifecycle: deprecated
  deprecation: {sunset: 2027-01-05, replacement: finance.revenue-v2/iceberg, reason: superseded by the v2 ledger}
  outputPorts: [{name: iceberg, type: iceberg}, {name: csv, type: s3}]
`),
		product(t, "acme/finance", `apiVersion: mesh/v1
kind: DataProduct
metadata: {name: ledger, domain: finance, owner: team-finance}
spec:
  outputPorts:
    - name: daily
      type: iceberg
      lifecycle: deprecated
      deprecation: {sunset: 2026-12-13}
    - {name: hourly, type: iceberg}
`))
	put("acme/orders", product(t, "acme/orders", `apiVersion: mesh/v1
kind: DataProduct
metadata: {name: analytics, domain: orders, owner: team-orders}
spec:
  inputPorts:
    - {name: rev, product: finance.revenue, port: iceberg}
    - {name: rev-csv, product: finance.revenue, port: csv}
    - {name: ledger, product: finance.ledger, port: daily}
`))
	put("acme/marketing", product(t, "acme/marketing", `apiVersion: mesh/v1
kind: DataProduct
metadata: {name: campaigns, domain: marketing, owner: acme/growth}
spec:
  inputPorts: [{name: rev, product: finance.revenue, port: iceberg}]
`))
	put("acme/risk", product(t, "acme/risk", `apiVersion: mesh/v1
kind: DataProduct
metadata: {name: scoring, domain: risk, owner: team-risk}
spec:
  inputPorts: [{name: ledger, product: finance.ledger, port: hourly}]
`))
}

// world is the fake GitHub with the deprecation pull requests.
func world(t *testing.T) *ghfake.Fake {
	f := ghfaketest.New(t, appID)
	f.AddInstallation(inst, "acme")
	r := f.AddRepo(inst, "acme/finance", "main")
	r.OpenPullRequest(12, "main", "meshbot/deprecate-finance.revenue")
	r.OpenPullRequest(13, "main", "meshbot/deprecate-finance.ledger-daily")
	return f
}

func recordThreads(t *testing.T, st store.Store) {
	t.Helper()
	ctx := context.Background()
	if err := RecordThread(ctx, st, inst, "finance.revenue", "", Thread{"acme/finance", 12}); err != nil {
		t.Fatal(err)
	}
	if err := RecordThread(ctx, st, inst, "finance.ledger", "daily", Thread{"acme/finance", 13}); err != nil {
		t.Fatal(err)
	}
}

func scheduler(t *testing.T, gh githubapp.Clients, st Store, holder string, c *clock, period time.Duration) *Scheduler {
	t.Helper()
	s, err := New(gh, st, Options{Holder: holder, Now: c.Now, Period: period, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// reminders lists who was reminded on a thread at which threshold, from
// the comments' hidden markers, and checks every body mentions a team.
func reminders(t *testing.T, f *ghfake.Fake, number int) []string {
	t.Helper()
	var out []string
	for _, c := range f.Comments("acme/finance", number) {
		i := strings.Index(c.Body, markerOpen)
		if i < 0 {
			continue
		}
		key := c.Body[i+len(markerOpen) : strings.Index(c.Body, markerClose)]
		parts := strings.Split(key, ":") // inst:target@sunset:consumer:days
		out = append(out, parts[2]+"@"+parts[3])
	}
	slices.Sort(out)
	return out
}

// sweepTogether runs one sweep on every scheduler at once.
func sweepTogether(t *testing.T, ss ...*Scheduler) []Report {
	t.Helper()
	reps := make([]Report, len(ss))
	errs := make([]error, len(ss))
	var wg sync.WaitGroup
	for i, s := range ss {
		wg.Add(1)
		go func() { defer wg.Done(); reps[i], errs[i] = s.Sweep(context.Background()) }()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return reps
}

// Two replicas sharing one store sweep at the same moments, over the
// whole window: each consumer is reminded once at 30 and once at 7 days
// before each sunset, on the deprecation pull request, with its team
// mentioned; nothing more, however often they sweep.
func TestTwoReplicasRemindOnce(t *testing.T) {
	replicas(t, 2, func(t *testing.T, sts []store.Store) {
		f := world(t)
		seed(t, sts[0])
		recordThreads(t, sts[0])
		c := &clock{now: t0}
		// Periods one second apart, so that the replicas' period leases
		// differ and both really sweep at once: only the claim per
		// reminder stands between them and a second post.
		a := scheduler(t, newApp(t, f), sts[0], "replica-a", c, time.Hour)
		b := scheduler(t, newApp(t, f), sts[1], "replica-b", c, time.Hour+time.Second)

		for day := 0; day <= 31; day++ {
			c.Set(t0.Add(time.Duration(day) * 24 * time.Hour))
			for range 3 {
				sweepTogether(t, a, b)
				c.Add(time.Hour + time.Second)
			}
		}
		want := []string{"orders.analytics@30", "marketing.campaigns@30", "orders.analytics@7", "marketing.campaigns@7"}
		slices.Sort(want)
		if got := reminders(t, f, 12); !slices.Equal(got, want) {
			t.Errorf("on the revenue pull request: %v, want %v", got, want)
		}
		// The ledger's daily port: sunset 7 days after t0, so its 30-day
		// reminder is past due and only the 7-day one goes; risk.scoring
		// reads the other port and hears nothing.
		if got := reminders(t, f, 13); !slices.Equal(got, []string{"orders.analytics@7"}) {
			t.Errorf("on the ledger pull request: %v", got)
		}
		bodies := f.Comments("acme/finance", 12)
		for _, want := range []string{"@acme/team-orders", "@acme/growth", "2027-01-05", "finance.revenue-v2/iceberg", "superseded by the v2 ledger"} {
			if !slices.ContainsFunc(bodies, func(c ghfake.Comment) bool { return strings.Contains(c.Body, want) }) {
				t.Errorf("no reminder says %q", want)
			}
		}
	})
}

// With the same period both replicas try to take one lease: one sweeps.
func TestOneSweepPerPeriod(t *testing.T) {
	replicas(t, 2, func(t *testing.T, sts []store.Store) {
		f := world(t)
		seed(t, sts[0])
		recordThreads(t, sts[0])
		c := &clock{now: t0}
		a := scheduler(t, newApp(t, f), sts[0], "replica-a", c, time.Hour)
		b := scheduler(t, newApp(t, f), sts[1], "replica-b", c, time.Hour)
		reps := sweepTogether(t, a, b)
		if reps[0].Skipped == reps[1].Skipped {
			t.Fatalf("both or neither skipped: %+v", reps)
		}
		if got := len(reminders(t, f, 12)); got != 2 {
			t.Errorf("%d reminders, want 2", got)
		}
	})
}

// failingMarks is a replica that dies between posting and marking: its
// sent marks never land.
type failingMarks struct {
	store.Store
}

func (s failingMarks) SetMark(ctx context.Context, name, value string, ttl time.Duration) error {
	if strings.HasPrefix(name, sentPrefix) {
		return errors.New("replica died")
	}
	return s.Store.SetMark(ctx, name, value, ttl)
}

// A reminder posted whose mark was lost is found on the thread by the
// next sweep: marked, not posted again. A post that failed is posted by
// the next sweep.
func TestCrashBetweenPostAndMark(t *testing.T) {
	replicas(t, 2, func(t *testing.T, sts []store.Store) {
		f := world(t)
		seed(t, sts[0])
		recordThreads(t, sts[0])
		c := &clock{now: t0}
		dying := scheduler(t, newApp(t, f), failingMarks{sts[0]}, "replica-a", c, time.Hour)
		if _, err := dying.Sweep(context.Background()); err == nil {
			t.Fatal("the dying replica's sweep did not fail")
		}
		if got := len(reminders(t, f, 12)) + len(reminders(t, f, 13)); got != 3 {
			t.Fatalf("%d reminders posted before the crash, want 3", got)
		}
		c.Add(time.Hour)
		b := scheduler(t, newApp(t, f), sts[1], "replica-b", c, time.Hour)
		rep, err := b.Sweep(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if rep.Found != 3 || rep.Posted != 0 {
			t.Errorf("after the crash: %+v, want 3 found and none posted", rep)
		}
		if got := len(reminders(t, f, 12)) + len(reminders(t, f, 13)); got != 3 {
			t.Errorf("%d reminders, want still 3", got)
		}

		// GitHub refuses the post: nothing is marked, the next sweep posts.
		c.Set(t0.Add(23 * 24 * time.Hour)) // 7 days before revenue's sunset
		stop := f.FailPath("POST", "/repos/acme/finance/issues/12/comments", 502)
		if rep, err := b.Sweep(context.Background()); err == nil || rep.Failed != 2 {
			t.Fatalf("with GitHub failing: %+v %v", rep, err)
		}
		stop()
		c.Add(time.Hour)
		if rep, err := b.Sweep(context.Background()); err != nil || rep.Posted != 2 {
			t.Fatalf("after GitHub recovered: %+v %v", rep, err)
		}
		if got := len(reminders(t, f, 12)); got != 4 {
			t.Errorf("%d reminders, want 4", got)
		}
	})
}

// No recorded thread: nothing can be posted (the API subset cannot open
// an issue), and the reminder goes once a thread is recorded.
func TestNoThreadThenRecorded(t *testing.T) {
	replicas(t, 1, func(t *testing.T, sts []store.Store) {
		f := world(t)
		seed(t, sts[0])
		c := &clock{now: t0}
		s := scheduler(t, newApp(t, f), sts[0], "replica-a", c, time.Hour)
		rep, err := s.Sweep(context.Background())
		if err != nil || rep.NoThread != 3 || rep.Posted != 0 {
			t.Fatalf("no thread: %+v %v", rep, err)
		}
		recordThreads(t, sts[0])
		c.Add(time.Hour)
		if rep, err := s.Sweep(context.Background()); err != nil || rep.Posted != 3 {
			t.Fatalf("thread recorded: %+v %v", rep, err)
		}
	})
}

// A changed sunset is a new deprecation with reminders of its own.
func TestChangedSunsetRemindsAgain(t *testing.T) {
	replicas(t, 1, func(t *testing.T, sts []store.Store) {
		f := world(t)
		seed(t, sts[0])
		recordThreads(t, sts[0])
		c := &clock{now: t0}
		s := scheduler(t, newApp(t, f), sts[0], "replica-a", c, time.Hour)
		if _, err := s.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}
		ps, err := sts[0].Products(context.Background(), inst)
		if err != nil {
			t.Fatal(err)
		}
		rev := *ps[slices.IndexFunc(ps, func(p *mesh.Product) bool { return p.ID() == "finance.revenue" })]
		dep := *rev.Deprecation
		dep.Sunset, dep.SunsetDate = "2027-01-04", dep.SunsetDate.Add(-24*time.Hour)
		rev.Deprecation = &dep
		var others []*mesh.Product
		for _, p := range ps {
			if p.Repo == "acme/finance" && p.ID() != "finance.revenue" {
				others = append(others, p)
			}
		}
		if err := sts[0].PutRepo(context.Background(), inst, "acme/finance", append(others, &rev)); err != nil {
			t.Fatal(err)
		}
		c.Add(time.Hour)
		if rep, err := s.Sweep(context.Background()); err != nil || rep.Posted != 2 {
			t.Fatalf("new sunset: %+v %v", rep, err)
		}
	})
}

func TestMention(t *testing.T) {
	for _, c := range []struct{ owner, repo, want string }{
		{"team-finance", "acme/finance", "@acme/team-finance"},
		{"@team-finance", "acme/finance", "@acme/team-finance"},
		{"acme/growth", "other/repo", "@acme/growth"},
		{"team", "", "@team"},
		{"", "acme/x", ""},
	} {
		if got := Mention(c.owner, c.repo); got != c.want {
			t.Errorf("Mention(%q, %q) = %q, want %q", c.owner, c.repo, got, c.want)
		}
	}
}

func TestThreshold(t *testing.T) {
	s, err := New(nil, nil, Options{Holder: "h", Days: []int{7, 30, 7}})
	if err != nil {
		t.Fatal(err)
	}
	for left, want := range map[int]int{45: 0, 31: 0, 30: 30, 8: 30, 7: 7, 1: 7, 0: 0, -3: 0} {
		if got := s.threshold(left); got != want {
			t.Errorf("threshold(%d) = %d, want %d", left, got, want)
		}
	}
	if _, err := New(nil, nil, Options{Holder: "h", Days: []int{0}}); err == nil {
		t.Error("a threshold of 0 days was accepted")
	}
}

// A sweep reads a thread's comments once, however many of the target's
// consumers are due: revenue's two consumers share pull request 12.
func TestSweepListsEachThreadOnce(t *testing.T) {
	replicas(t, 1, func(t *testing.T, sts []store.Store) {
		f := world(t)
		seed(t, sts[0])
		recordThreads(t, sts[0])
		c := &clock{now: t0}
		s := scheduler(t, newApp(t, f), sts[0], "replica-a", c, time.Hour)
		rep, err := s.Sweep(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if rep.Posted != 3 {
			t.Fatalf("posted %d, want revenue's two consumers and ledger's one reminded: %+v", rep.Posted, rep)
		}
		lists := 0
		for _, r := range f.Requests() {
			if r.Method == "GET" && strings.HasSuffix(r.Path, "/issues/12/comments") {
				lists++
			}
		}
		if lists != 1 {
			t.Errorf("pull request 12's comments listed %d times in one sweep, want 1", lists)
		}
	})
}
