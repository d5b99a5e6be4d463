package e2e

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshbot/meshbot/internal/githubapp"
	"github.com/meshbot/meshbot/internal/jobs"
	"github.com/meshbot/meshbot/internal/pullcheck"
	"github.com/meshbot/meshbot/internal/store"
	"github.com/meshbot/meshbot/internal/store/storetest"
	"github.com/meshbot/meshbot/internal/testutil"
)

// fault is what goes wrong while a stream of deliveries is processed.
type fault string

const (
	faultRedisKill  fault = "redis-kill"      // SIGKILL redis-server, restart it on the same data dir
	faultWorkerKill fault = "worker-kill"     // a worker pool stops without acking its jobs; another starts
	fault502Storm   fault = "502-storm"       // two bursts of consecutive 502s from GitHub
	faultRateLimit  fault = "rate-limit-hour" // the primary rate limit spent, its reset an hour away
)

var faults = []fault{faultRedisKill, faultWorkerKill, fault502Storm, faultRateLimit}

// faultFigures count one stream's deliveries. Accepted are the deliveries
// the intake acknowledged (2xx), at the first attempt or at GitHub's
// redelivery of a refused one; refused are the answers 5xx (GitHub shows
// them failed, to be redelivered), never counted as accepted. Completed
// counts the accepted heads with a completed check run, lost the accepted
// heads without.
type faultFigures struct {
	delivered, accepted, refused, redelivered int
	completed, lost, dead                     int
	// injected measures the fault: jobs in Redis when it was killed, jobs
	// a killed pool held, 502s answered, jobs deferred to the reset.
	injected int
	// refusedMax is the slowest 5xx answer: GitHub counts a delivery not
	// answered within 10 s as failed too, but shows no status for it.
	refusedMax time.Duration
	// refusedAfter counts the deliveries refused that were sent after
	// redis-server was answering again.
	refusedAfter int
	// conclusions of the accepted heads' completed check runs.
	conclusions map[string]int
}

// shiftClock is the real clock moved ahead by hand: backoffs and leases run
// in real time, and an hour's rate-limit reset passes at once. The store's
// due times, the App's budgets and the fake's reset all read it.
type shiftClock struct{ off atomic.Int64 }

func (c *shiftClock) Now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *shiftClock) Advance(d time.Duration) { c.off.Add(int64(d)) }

// faultDescriptor is the file each pull request of the stream changes (a
// comment line of its own), so every check loads and judges the mesh.
const faultDescriptor = "orders/data-products/order-events/dataproduct.yaml"

// Pacing of the stream: 100 deliveries a second, as GitHub hands over a
// busy organisation's.
const faultPace = 10 * time.Millisecond

// redisOutage is how long redis-server stays dead.
const redisOutage = time.Second

// runFault sends n signed pull_request deliveries (each a new head) through
// the intake of a world on a redis-server of its own (appendonly yes,
// Redis' default fsync: what README and the chart ask for), injects f
// mid-stream, waits for the queue to drain and counts. Any accepted head
// without a completed check run fails tb.
func runFault(tb testing.TB, f fault, n int) faultFigures {
	tb.Helper()
	ctx := context.Background()
	srv := startRedisAs(tb, "everysec")
	clk := &shiftClock{}
	opts := storeOpts
	opts.Now = clk.Now
	st, err := store.NewRedis(ctx, srv.url(), opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	w := newWorldBudgets(tb, st, githubapp.NewBudgets(clk.Now))
	w.fake.SetClock(clk.Now)
	h := w.handlers(nil)
	jobs.OnDead(h, jobs.KindPullCheck, pullcheck.NewDeadHook(w.deps))
	popts := poolOpts()
	popts.Drain = time.Millisecond // a kill, not a graceful stop
	first := h
	if f == faultWorkerKill || f == faultRedisKill {
		// The first pool's checks take 50 ms longer than usual, so it falls
		// behind 100 deliveries a second and the kill finds jobs queued and
		// in flight.
		first = w.handlers(nil)
		jobs.OnDead(first, jobs.KindPullCheck, pullcheck.NewDeadHook(w.deps))
		check := pullcheck.New(w.deps)
		jobs.Register(first, jobs.KindPullCheck, func(ctx context.Context, c jobs.PullCheck, m jobs.Meta) error {
			select {
			case <-time.After(50 * time.Millisecond):
			case <-ctx.Done():
				return ctx.Err()
			}
			return check(ctx, c, m)
		})
	}
	stopPool := w.startPool(first, popts)

	base := testutil.ReadTree(tb, filepath.Join(testutil.RepoRoot(tb), "testdata", "mesh"))
	type delivery struct {
		id, sha string
		body    []byte
	}
	ds := make([]delivery, n)
	for i := range ds {
		files := maps.Clone(base)
		files[faultDescriptor] = fmt.Appendf(append([]byte(nil), base[faultDescriptor]...), "# revision %d\n", i)
		branch := fmt.Sprintf("rev-%d", i)
		sha := w.repo.Commit(branch, files)
		w.repo.OpenPullRequest(100+i, "main", branch)
		ds[i] = delivery{id: w.nextID(), sha: sha, body: w.pullRequest("synchronize", 100+i, sha, branch)}
	}

	var fig faultFigures
	fig.delivered = n
	// The stream is open-loop, as GitHub's deliveries are: each leaves on
	// its schedule whether or not earlier ones were answered.
	var (
		mu       sync.Mutex
		wg       sync.WaitGroup
		accepted = map[string]bool{} // head sha -> acknowledged
		refused  []delivery
		problems []string
		backAt   time.Time // redis-kill: when redis-server answered again
	)
	send := func(d delivery) bool {
		t0 := time.Now()
		code, err := w.post("pull_request", d.id, d.body)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("delivery %s: %v", d.id, err))
		case code >= 200 && code < 300:
			accepted[d.sha] = true
			return true
		case code >= 500:
			fig.refusedMax = max(fig.refusedMax, time.Since(t0))
			refused = append(refused, d)
			if !backAt.IsZero() && t0.After(backAt) {
				fig.refusedAfter++
			}
		default:
			problems = append(problems, fmt.Sprintf("delivery %s answered %d", d.id, code))
		}
		return false
	}

	var killedAt time.Time // redis-kill: when redis-server died; zero once back
	for i, d := range ds {
		switch {
		case f == faultRedisKill && i == n/3:
			s, err := st.Stats(ctx)
			if err != nil {
				tb.Fatal(err)
			}
			fig.injected = int(s.Pending + s.InFlight + s.Delayed) // what the append-only file must bring back
			srv.kill()
			killedAt = time.Now()
		case f == faultWorkerKill && i == n/3:
			// Kill the pool while it holds jobs.
			w.eventually(30*time.Second, "a job in flight", func() bool {
				s, err := st.Stats(ctx)
				return err == nil && s.InFlight > 0
			})
			stopPool()
			s, err := st.Stats(ctx)
			if err != nil {
				tb.Fatal(err)
			}
			fig.injected = int(s.InFlight) // held un-acked by the dead pool
			w.startPool(h, popts)
		case f == fault502Storm && (i == n/4 || i == n/2):
			w.fake.FailNext(max(n/4, 5), http.StatusBadGateway, nil)
		case f == faultRateLimit && i == n/3:
			w.fake.ExhaustRateLimit(inst, clk.Now().Add(time.Hour))
		}
		if !killedAt.IsZero() && time.Since(killedAt) >= redisOutage {
			srv.start()
			mu.Lock()
			backAt = time.Now()
			mu.Unlock()
			killedAt = time.Time{}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			send(d)
		}()
		time.Sleep(faultPace)
	}
	wg.Wait()
	if !killedAt.IsZero() {
		time.Sleep(time.Until(killedAt.Add(redisOutage)))
		srv.start()
	}
	if len(problems) > 0 {
		tb.Fatalf("%d deliveries failed: %v", len(problems), problems)
	}
	fig.refused = len(refused)
	// GitHub's redelivery of what was refused (same delivery id), once
	// Redis is back.
	// GitHub redelivers later, not at once: a redelivery refused again
	// (the App's Redis client still redialling) is tried again.
	again := refused[:fig.refused]
	for try := 0; len(again) > 0 && try < 50; try++ {
		var next []delivery
		for _, d := range again {
			if send(d) {
				fig.redelivered++
			} else {
				next = append(next, d)
			}
		}
		again = next
		time.Sleep(100 * time.Millisecond)
	}
	if len(again) > 0 || len(problems) > 0 {
		tb.Fatalf("%d of %d redeliveries not accepted within 5 s of Redis' restart: %v", len(again), fig.refused, problems)
	}
	fig.accepted = len(accepted)

	if f == faultRateLimit {
		// Everything the spent budget held back waits for the reset: it is
		// neither run nor dropped.
		w.eventually(60*time.Second, "the checks before the limit done and the rest deferred", func() bool {
			s, err := st.Stats(ctx)
			return err == nil && s.Pending == 0 && s.InFlight == 0 && s.Delayed > 0
		})
		s, _ := st.Stats(ctx)
		fig.injected = int(s.Delayed)
		clk.Advance(time.Hour + time.Minute)
	}

	completed := func() int {
		done := map[string]bool{}
		for _, r := range w.fake.CheckRuns(repoFull) {
			if r.Status == "completed" {
				done[r.HeadSHA] = true
			}
		}
		k := 0
		for sha := range accepted {
			if done[sha] {
				k++
			}
		}
		return k
	}
	// Drained: the queue empty and every accepted head completed, or the
	// queue empty for long enough that nothing more will come.
	deadline := time.Now().Add(3 * time.Minute)
	var idleSince time.Time
	for {
		s, err := st.Stats(ctx)
		idle := err == nil && s.Pending == 0 && s.InFlight == 0 && s.Delayed == 0
		if idle && completed() == len(accepted) {
			break
		}
		switch {
		case !idle:
			idleSince = time.Time{}
		case idleSince.IsZero():
			idleSince = time.Now()
		case time.Since(idleSince) > 2*time.Second:
			deadline = time.Now()
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	fig.completed = completed()
	fig.lost = fig.accepted - fig.completed
	fig.conclusions = map[string]int{}
	for _, r := range w.fake.CheckRuns(repoFull) {
		if accepted[r.HeadSHA] && r.Status == "completed" {
			fig.conclusions[r.Conclusion]++
		}
	}
	dead, err := st.DeadLetters(ctx, 10*n)
	if err != nil {
		tb.Fatal(err)
	}
	fig.dead = len(dead)
	if f == fault502Storm {
		for _, r := range w.fake.Requests() {
			if r.Status == http.StatusBadGateway {
				fig.injected++
			}
		}
	}
	if fig.lost != 0 {
		tb.Fatalf("%s: %d of %d accepted deliveries lost (no completed check run); %+v", f, fig.lost, fig.accepted, fig)
	}
	return fig
}

// TestFaults: whatever the fault (Redis killed, a worker pool killed, 502
// storms, the primary rate limit spent for an hour), every delivery the
// intake acknowledged ends in a completed check run, none is dead-lettered,
// and the deliveries refused while Redis was down were answered 5xx (so
// GitHub shows them for redelivery) and counted apart. BenchmarkFaults
// reports the same figures for longer streams.
func TestFaults(t *testing.T) {
	storetest.Required(t) // only to honour the skip / CI rule: each case runs its own server
	for _, f := range faults {
		t.Run(string(f), func(t *testing.T) {
			fig := runFault(t, f, 20)
			t.Logf("%+v", fig)
			if fig.dead != 0 {
				t.Errorf("%d jobs dead-lettered", fig.dead)
			}
			// A comment line changes no judgement: each head was judged,
			// not completed by the dead-letter hook, and judged once.
			if fig.conclusions["success"] != fig.accepted || len(fig.conclusions) != 1 {
				t.Errorf("conclusions %v, want %d success", fig.conclusions, fig.accepted)
			}
			if fig.accepted+fig.refused-fig.redelivered != fig.delivered {
				t.Errorf("accepted %d + refused %d - redelivered %d != delivered %d", fig.accepted, fig.refused, fig.redelivered, fig.delivered)
			}
			switch f {
			case faultRedisKill:
				if fig.refused == 0 {
					t.Errorf("no delivery refused while redis-server was down for %v", redisOutage)
				}
				if fig.injected == 0 {
					t.Errorf("no job was queued or in flight when redis-server was killed")
				}
			case faultWorkerKill, fault502Storm, faultRateLimit:
				if fig.refused != 0 {
					t.Errorf("%d deliveries refused with Redis up", fig.refused)
				}
				if fig.injected == 0 {
					t.Errorf("the fault was not felt (no job held by the killed pool, no 502 answered, no job deferred)")
				}
			}
		})
	}
}

// BenchmarkFaults: accepted against completed deliveries under each fault,
// 200 deliveries per stream at 100/s. lost must be 0 (the benchmark fails
// otherwise); refused are the 5xx answers while Redis was down, each
// redelivered once it was back.
func BenchmarkFaults(b *testing.B) {
	storetest.Required(b)
	const n = 200
	for _, f := range faults {
		b.Run(string(f), func(b *testing.B) {
			var fig faultFigures
			for range b.N {
				fig = runFault(b, f, n)
			}
			b.ReportMetric(float64(fig.accepted), "accepted")
			b.ReportMetric(float64(fig.completed), "completed")
			b.ReportMetric(float64(fig.conclusions["success"]), "judged") // runs concluded by a judgement (success), not by the dead-letter hook
			b.ReportMetric(float64(fig.lost), "lost")
			b.ReportMetric(float64(fig.dead), "dead-lettered")
			b.ReportMetric(float64(fig.refused), "refused")
			if fig.refused > 0 {
				b.ReportMetric(float64(fig.refusedMax)/float64(time.Millisecond), "refused-max-ms")
				b.ReportMetric(float64(fig.refusedAfter), "refused-after-restart")
			}
			b.ReportMetric(float64(fig.redelivered), "redelivered")
			if fig.injected > 0 {
				b.ReportMetric(float64(fig.injected), "injected")
			}
		})
	}
}
