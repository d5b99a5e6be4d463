package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshbot/meshbot/internal/jobs"
	"github.com/meshbot/meshbot/internal/store"
	"github.com/meshbot/meshbot/internal/store/storetest"
)

// backend opens a fresh store of one kind with the given options.
type backend struct {
	name string
	open func(t *testing.T, opts store.Options) store.Store
}

// backends are the stores every test runs against: memory always, Redis
// when MESHBOT_TEST_REDIS_URL names one (export
// MESHBOT_TEST_REDIS_URL=$(scripts/redis-test.sh)); under CI=true a missing
// Redis fails rather than skips.
func backends(t *testing.T) []backend {
	t.Helper()
	bs := []backend{{"memory", func(t *testing.T, opts store.Options) store.Store {
		s := store.NewMemory(opts)
		t.Cleanup(func() { s.Close() })
		return s
	}}}
	url := storetest.URL(t)
	if url == "" {
		return bs
	}
	return append(bs, backend{"redis", func(t *testing.T, opts store.Options) store.Store {
		return storetest.Open(t, url, opts)
	}})
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// fast are store options that make retries and takeovers happen within a
// test's patience.
var fast = store.Options{VisibilityTimeout: 400 * time.Millisecond, MaxAttempts: 3, BackoffBase: 10 * time.Millisecond, BackoffMax: 50 * time.Millisecond}

func poolOpts() Options {
	return Options{Workers: 2, ClaimWait: 50 * time.Millisecond, Heartbeat: 100 * time.Millisecond, Drain: 2 * time.Second, Logger: quiet()}
}

func enqueue[P jobs.Payload](t *testing.T, q store.Queue, id string, k jobs.Kind[P], payload P) {
	t.Helper()
	j, err := k.New(id, "", payload)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Enqueue(context.Background(), j); err != nil {
		t.Fatal(err)
	}
}

// checks is a registry that runs h for pull-check jobs.
func checks(h jobs.Handler[jobs.PullCheck]) *jobs.Registry {
	r := jobs.NewRegistry()
	jobs.Register(r, jobs.KindPullCheck, h)
	return r
}

// start runs p until the test ends (or stop is called) and returns stop,
// which cancels Run and waits for it.
func start(t *testing.T, p *Pool) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				err = errors.New("Run did not return within 10s of cancellation")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func stats(t *testing.T, q store.Queue) store.QueueStats {
	t.Helper()
	s, err := q.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSuccessAcked(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			s := b.open(t, fast)
			var mu sync.Mutex
			seen := map[string]int{}
			var observed atomic.Int64
			opts := poolOpts()
			opts.Observe = func(kind string, d time.Duration, err error) {
				if kind == jobs.KindPullCheck.Name() && err == nil && d >= 0 {
					observed.Add(1)
				}
			}
			p := New(s, checks(func(ctx context.Context, c jobs.PullCheck, j jobs.Meta) error {
				mu.Lock()
				seen[c.Delivery]++
				mu.Unlock()
				return nil
			}), opts)
			const n = 20
			for i := range n {
				enqueue(t, s, fmt.Sprintf("d%d", i), jobs.KindPullCheck, jobs.PullCheck{Delivery: fmt.Sprintf("d%d", i)})
			}
			stop := start(t, p)
			eventually(t, 5*time.Second, "every job observed", func() bool { return observed.Load() == n })
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			if st := stats(t, s); st != (store.QueueStats{}) {
				t.Errorf("queue after success = %+v, want empty", st)
			}
			for i := range n {
				if c := seen[fmt.Sprintf("d%d", i)]; c != 1 {
					t.Errorf("job d%d ran %d times", i, c)
				}
			}
		})
	}
}

func TestFailureRetriedThenDeadLettered(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			s := b.open(t, fast)
			var mu sync.Mutex
			var attempts []int
			p := New(s, checks(func(ctx context.Context, c jobs.PullCheck, j jobs.Meta) error {
				mu.Lock()
				attempts = append(attempts, j.Attempt)
				mu.Unlock()
				return errors.New("github answered 502")
			}), poolOpts())
			enqueue(t, s, "boom", jobs.KindPullCheck, jobs.PullCheck{Delivery: "boom"})
			start(t, p)
			eventually(t, 5*time.Second, "the job dead-lettered", func() bool { return stats(t, s).Dead == 1 })
			dl, err := s.DeadLetters(context.Background(), 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(dl) != 1 || dl[0].Job.ID != "boom" || !strings.Contains(dl[0].Cause, "github answered 502") {
				t.Errorf("dead letters = %+v", dl)
			}
			mu.Lock()
			defer mu.Unlock()
			if fmt.Sprint(attempts) != "[1 2 3]" {
				t.Errorf("attempts = %v, want [1 2 3] (MaxAttempts 3)", attempts)
			}
		})
	}
}

func TestPermanentAndPanicDeadLetterAtOnce(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			s := b.open(t, fast)
			var calls atomic.Int64
			reg := jobs.NewRegistry()
			jobs.Register(reg, jobs.KindPullCheck, func(context.Context, jobs.PullCheck, jobs.Meta) error {
				calls.Add(1)
				return store.Permanent(errors.New("payload does not decode"))
			})
			jobs.Register(reg, jobs.KindIndex, func(context.Context, jobs.Index, jobs.Meta) error {
				calls.Add(1)
				panic("nil map")
			})
			p := New(s, reg, poolOpts())
			enqueue(t, s, "perm", jobs.KindPullCheck, jobs.PullCheck{})
			enqueue(t, s, "panic", jobs.KindIndex, jobs.Index{})
			start(t, p)
			eventually(t, 5*time.Second, "both dead-lettered", func() bool { return stats(t, s).Dead == 2 })
			if calls.Load() != 2 {
				t.Errorf("handlers ran %d times, want 2 (no retries)", calls.Load())
			}
			dl, _ := s.DeadLetters(context.Background(), 10)
			causes := map[string]string{}
			for _, d := range dl {
				causes[d.Job.ID] = d.Cause
			}
			if !strings.Contains(causes["panic"], "panicked: nil map") || !strings.Contains(causes["perm"], "does not decode") {
				t.Errorf("causes = %q", causes)
			}
		})
	}
}

func TestUnknownKind(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			s := b.open(t, fast)
			var buf syncBuffer
			opts := poolOpts()
			opts.Logger = slog.New(slog.NewJSONHandler(&buf, nil))
			var observedErr atomic.Value
			opts.Observe = func(kind string, d time.Duration, err error) { observedErr.Store(fmt.Sprint(kind, ": ", err)) }
			p := New(s, jobs.NewRegistry(), opts)
			if err := s.Enqueue(context.Background(), store.Job{ID: "what", Kind: "teleport", Payload: []byte(`{"delivery":"what"}`)}); err != nil {
				t.Fatal(err)
			}
			start(t, p)
			eventually(t, 5*time.Second, "dead-lettered", func() bool { return stats(t, s).Dead == 1 })
			dl, _ := s.DeadLetters(context.Background(), 1)
			if !strings.Contains(dl[0].Cause, `unknown job kind "teleport"`) || dl[0].Job.Attempt != 1 {
				t.Errorf("dead letter = %+v", dl[0])
			}
			if got := observedErr.Load(); got == nil || !strings.Contains(got.(string), "teleport: unknown job kind") {
				t.Errorf("observed %v", got)
			}
			if !strings.Contains(buf.String(), "unknown job kind") {
				t.Errorf("not logged:\n%s", buf.String())
			}
		})
	}
}

// TestHeartbeatKeepsLease runs a job for several visibility timeouts while a
// second pool polls the same queue: the heartbeat must keep it from being
// taken over.
func TestHeartbeatKeepsLease(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			// A lease three times the fast one: the heartbeat (every 100
			// ms) may then be late by over a second before the lease
			// lapses, so a loaded machine does not fail the test; the job
			// still outlives the lease more than twice.
			opts := fast
			opts.VisibilityTimeout = 3 * fast.VisibilityTimeout
			s := b.open(t, opts)
			var runs atomic.Int64
			h := checks(func(ctx context.Context, c jobs.PullCheck, j jobs.Meta) error {
				runs.Add(1)
				select {
				case <-time.After(5 * opts.VisibilityTimeout / 2):
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			})
			enqueue(t, s, "long", jobs.KindPullCheck, jobs.PullCheck{})
			start(t, New(s, h, poolOpts()))
			eventually(t, 2*time.Second, "the job started", func() bool { return runs.Load() == 1 })
			start(t, New(s, h, poolOpts()))
			eventually(t, 10*time.Second, "the job acked", func() bool { return stats(t, s) == store.QueueStats{} })
			if runs.Load() != 1 {
				t.Errorf("job ran %d times, want 1: the heartbeat did not hold the lease", runs.Load())
			}
		})
	}
}

// TestWithoutHeartbeatTakenOver is the control: with a heartbeat slower
// than the visibility timeout the second pool takes the job over, so the
// test above can fail.
func TestWithoutHeartbeatTakenOver(t *testing.T) {
	s := store.NewMemory(fast)
	defer s.Close()
	var runs atomic.Int64
	release := make(chan struct{})
	h := checks(func(ctx context.Context, c jobs.PullCheck, j jobs.Meta) error {
		if runs.Add(1) == 1 {
			<-release
		}
		return nil
	})
	opts := poolOpts()
	opts.Heartbeat = time.Hour
	enqueue(t, s, "long", jobs.KindPullCheck, jobs.PullCheck{})
	start(t, New(s, h, opts))
	eventually(t, 2*time.Second, "the job started", func() bool { return runs.Load() == 1 })
	start(t, New(s, h, opts))
	eventually(t, 5*time.Second, "taken over", func() bool { return runs.Load() == 2 })
	close(release)
}

func TestShutdownDrains(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			s := b.open(t, fast)
			started := make(chan struct{})
			var finished atomic.Bool
			h := checks(func(ctx context.Context, c jobs.PullCheck, j jobs.Meta) error {
				close(started)
				select {
				case <-time.After(300 * time.Millisecond):
					finished.Store(true)
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			})
			enqueue(t, s, "drain", jobs.KindPullCheck, jobs.PullCheck{})
			stop := start(t, New(s, h, poolOpts()))
			<-started
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			if !finished.Load() {
				t.Fatal("Run returned before the in-flight job finished")
			}
			if st := stats(t, s); st != (store.QueueStats{}) {
				t.Errorf("queue after drain = %+v, want the job acked", st)
			}
		})
	}
}

// TestShutdownHandsBack: a job that outlives the drain is cancelled, left
// un-acked, and completed by another pool after the visibility timeout.
func TestShutdownHandsBack(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			s := b.open(t, fast)
			var mu sync.Mutex
			var attempts []int
			started := make(chan struct{}, 1)
			h := checks(func(ctx context.Context, c jobs.PullCheck, j jobs.Meta) error {
				mu.Lock()
				attempts = append(attempts, j.Attempt)
				mu.Unlock()
				if j.Attempt == 1 {
					started <- struct{}{}
					<-ctx.Done() // a job that only stops when told
					return ctx.Err()
				}
				return nil
			})
			opts := poolOpts()
			opts.Drain = 100 * time.Millisecond
			enqueue(t, s, "stuck", jobs.KindPullCheck, jobs.PullCheck{})
			stop := start(t, New(s, h, opts))
			<-started
			t0 := time.Now()
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			if d := time.Since(t0); d > 2*time.Second {
				t.Errorf("Run took %v to return with Drain 100ms", d)
			}
			if st := stats(t, s); st.InFlight != 1 || st.Dead != 0 || st.Delayed != 0 {
				t.Fatalf("after the drain deadline: %+v, want the job in flight, un-acked", st)
			}
			start(t, New(s, h, poolOpts()))
			eventually(t, 5*time.Second, "taken over and acked", func() bool { return stats(t, s) == store.QueueStats{} })
			mu.Lock()
			defer mu.Unlock()
			if fmt.Sprint(attempts) != "[1 2]" {
				t.Errorf("attempts = %v, want [1 2]", attempts)
			}
		})
	}
}

func TestLogAttributes(t *testing.T) {
	s := store.NewMemory(fast)
	defer s.Close()
	var buf syncBuffer
	opts := poolOpts()
	opts.Logger = slog.New(slog.NewJSONHandler(&buf, nil))
	var done atomic.Bool
	p := New(s, checks(func(context.Context, jobs.PullCheck, jobs.Meta) error { done.Store(true); return nil }), opts)
	enqueue(t, s, "abc-123", jobs.KindPullCheck, jobs.PullCheck{Delivery: "abc-123", Installation: 7, Owner: "acme", Repo: "mesh", PR: 12, HeadSHA: "f00"})
	stop := start(t, p)
	eventually(t, 5*time.Second, "done", done.Load)
	_ = stop()
	var line map[string]any
	for _, l := range strings.Split(buf.String(), "\n") {
		if strings.Contains(l, "job done") {
			if err := json.Unmarshal([]byte(l), &line); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := map[string]any{"job": "abc-123", "kind": "check", "attempt": 1.0, "delivery": "abc-123", "installation": 7.0, "repo": "acme/mesh", "pr": 12.0}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("log %s = %v, want %v (line %v)", k, line[k], v, line)
		}
	}
	if w := fmt.Sprint(line["worker"]); !strings.HasPrefix(w, p.name+"-") {
		t.Errorf("worker = %v, want %s-N", w, p.name)
	}
}

func TestClosedStoreEndsRun(t *testing.T) {
	s := store.NewMemory(fast)
	s.Close()
	err := New(s, nil, poolOpts()).Run(context.Background())
	if !errors.Is(err, store.ErrClosed) {
		t.Errorf("Run on a closed store = %v, want ErrClosed", err)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
