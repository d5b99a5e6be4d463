package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshbot/meshbot/internal/mesh"
	"github.com/meshbot/meshbot/internal/testutil"
)

// factory opens an empty store of one implementation with opts; it closes
// and cleans it up when t ends.
type factory func(t *testing.T, opts Options) Store

// fast are options short enough for tests to watch leases expire and retries
// fall due.
var fast = Options{VisibilityTimeout: 200 * time.Millisecond, MaxAttempts: 3, BackoffBase: 100 * time.Millisecond, BackoffMax: 150 * time.Millisecond}

// runStoreSuite is the contract both implementations keep.
func runStoreSuite(t *testing.T, open factory) {
	t.Run("EnqueueClaimAck", func(t *testing.T) { testEnqueueClaimAck(t, open) })
	t.Run("ClaimWaits", func(t *testing.T) { testClaimWaits(t, open) })
	t.Run("TakeoverAfterVisibilityTimeout", func(t *testing.T) { testTakeover(t, open) })
	t.Run("ExtendPreventsTakeover", func(t *testing.T) { testExtend(t, open) })
	t.Run("FailRetriesThenDeadLetters", func(t *testing.T) { testFail(t, open) })
	t.Run("AbandonedJobIsDeadLettered", func(t *testing.T) { testAbandoned(t, open) })
	t.Run("DeferKeepsAttempt", func(t *testing.T) { testDefer(t, open) })
	t.Run("LastAttempt", func(t *testing.T) { testLastAttempt(t, open) })
	t.Run("ConcurrentClaimers", func(t *testing.T) { testConcurrent(t, open) })
	t.Run("Dedup", func(t *testing.T) { testDedup(t, open) })
	t.Run("EnqueueDelivery", func(t *testing.T) { testEnqueueDelivery(t, open) })
	t.Run("DeliveryHeadsFirst", func(t *testing.T) { testDeliveryHeadsFirst(t, open) })
	t.Run("Latest", func(t *testing.T) { testLatest(t, open) })
	t.Run("Registry", func(t *testing.T) { testRegistry(t, open) })
	t.Run("RegistrySources", func(t *testing.T) { testRegistrySources(t, open) })
	t.Run("Marks", func(t *testing.T) { testMarks(t, open) })
	t.Run("Approvals", func(t *testing.T) { testApprovals(t, open) })
	t.Run("Policies", func(t *testing.T) { testPolicies(t, open) })
	t.Run("OldestReady", func(t *testing.T) { testOldestReady(t, open) })
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func mustEnqueue(t *testing.T, s Store, jobs ...Job) {
	t.Helper()
	for _, j := range jobs {
		if err := s.Enqueue(ctxT(t), j); err != nil {
			t.Fatalf("Enqueue(%s): %v", j.ID, err)
		}
	}
}

func mustClaim(t *testing.T, s Store, worker string, wait time.Duration) *Lease {
	t.Helper()
	l, err := s.Claim(ctxT(t), worker, wait)
	if err != nil {
		t.Fatalf("Claim(%s): %v", worker, err)
	}
	if l == nil {
		t.Fatalf("Claim(%s, %v): no job", worker, wait)
	}
	return l
}

func mustNotClaim(t *testing.T, s Store, worker string, wait time.Duration) {
	t.Helper()
	l, err := s.Claim(ctxT(t), worker, wait)
	if err != nil {
		t.Fatalf("Claim(%s): %v", worker, err)
	}
	if l != nil {
		t.Fatalf("Claim(%s, %v) = job %s attempt %d, want none", worker, wait, l.Job.ID, l.Job.Attempt)
	}
}

func wantStats(t *testing.T, s Store, want QueueStats) {
	t.Helper()
	got, err := s.Stats(ctxT(t))
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	got.OldestReady = time.Time{} // a time; testOldestReady checks it
	if got != want {
		t.Fatalf("Stats = %+v, want %+v", got, want)
	}
}

// testOldestReady: Stats says since when the oldest job ready to be claimed
// waits (the queue-age metric), new or a retry fallen due; a claimed or a
// not yet due job does not count.
func testOldestReady(t *testing.T, open factory) {
	s := open(t, Options{BackoffBase: 300 * time.Millisecond, BackoffMax: 300 * time.Millisecond})
	ctx := ctxT(t)
	oldest := func() time.Time {
		t.Helper()
		st, err := s.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return st.OldestReady
	}
	within := func(what string, got, lo, hi time.Time) {
		t.Helper()
		// Stream ids and scores are milliseconds.
		if got.Before(lo.Truncate(time.Millisecond)) || got.After(hi) {
			t.Fatalf("%s: OldestReady %v, want within [%v, %v]", what, got, lo, hi)
		}
	}
	if o := oldest(); !o.IsZero() {
		t.Fatalf("empty queue: OldestReady %v", o)
	}
	t0 := time.Now()
	mustEnqueue(t, s, Job{ID: "a"})
	t1 := time.Now()
	time.Sleep(20 * time.Millisecond)
	t2 := time.Now()
	mustEnqueue(t, s, Job{ID: "b"})
	t3 := time.Now()
	within("two waiting", oldest(), t0, t1)
	la := mustClaim(t, s, "w", 0)
	within("a claimed", oldest(), t2, t3)
	lb := mustClaim(t, s, "w", 0)
	if o := oldest(); !o.IsZero() {
		t.Fatalf("both claimed: OldestReady %v", o)
	}
	if err := s.Ack(ctx, la); err != nil {
		t.Fatal(err)
	}
	t4 := time.Now()
	if err := s.Fail(ctx, lb, errors.New("retry me")); err != nil {
		t.Fatal(err)
	}
	t5 := time.Now()
	if o := oldest(); !o.IsZero() && time.Now().Before(t4.Add(300*time.Millisecond)) {
		t.Fatalf("a retry not due yet counts: OldestReady %v", o)
	}
	time.Sleep(time.Until(t5.Add(350 * time.Millisecond)))
	within("a retry fell due", oldest(), t4.Add(300*time.Millisecond), t5.Add(300*time.Millisecond))
}

func testEnqueueClaimAck(t *testing.T, open factory) {
	s := open(t, Options{})
	ctx := ctxT(t)
	before := time.Now()
	jobs := []Job{
		{ID: "d1", Kind: "check", Key: "42/octo/repo#17", Payload: []byte(`{"sha":"abc"}`)},
		{ID: "d2", Kind: "index", Payload: []byte{0, 1, 2, 0xff}},
		{ID: "d3", Kind: "command", Attempt: 2, Enqueued: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
	}
	mustEnqueue(t, s, jobs...)
	if err := s.Enqueue(ctx, Job{Kind: "check"}); err == nil {
		t.Fatal("Enqueue of a job without ID succeeded")
	}
	wantStats(t, s, QueueStats{Pending: 3})

	var leases []*Lease
	for i, want := range jobs {
		l := mustClaim(t, s, "w1", 0)
		got := l.Job
		if want.Attempt == 0 {
			want.Attempt = 1
		}
		if want.Enqueued.IsZero() {
			if got.Enqueued.Before(before.Add(-time.Second)) || got.Enqueued.After(time.Now().Add(time.Second)) {
				t.Errorf("job %d: Enqueued = %v, want about now", i, got.Enqueued)
			}
			want.Enqueued = got.Enqueued
		}
		if !got.Enqueued.Equal(want.Enqueued) {
			t.Errorf("job %d: Enqueued = %v, want %v", i, got.Enqueued, want.Enqueued)
		}
		got.Enqueued, want.Enqueued = time.Time{}, time.Time{}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("job %d (FIFO order): claimed %+v, want %+v", i, got, want)
		}
		if l.Worker != "w1" {
			t.Errorf("lease worker = %q", l.Worker)
		}
		leases = append(leases, l)
		if i == 1 {
			wantStats(t, s, QueueStats{Pending: 1, InFlight: 2})
		}
	}
	mustNotClaim(t, s, "w1", 0)
	for _, l := range leases {
		if err := s.Ack(ctx, l); err != nil {
			t.Fatalf("Ack(%s): %v", l.Job.ID, err)
		}
	}
	if err := s.Ack(ctx, leases[0]); err != nil {
		t.Fatalf("second Ack must be a no-op, got %v", err)
	}
	wantStats(t, s, QueueStats{})
	// Acked jobs never come back, not even after the visibility timeout.
	mustNotClaim(t, s, "w2", 0)
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func testClaimWaits(t *testing.T, open factory) {
	s := open(t, fast)
	start := time.Now()
	mustNotClaim(t, s, "w1", 300*time.Millisecond)
	if d := time.Since(start); d < 280*time.Millisecond || d > 5*time.Second {
		t.Fatalf("empty Claim(300ms) returned after %v", d)
	}

	// A job enqueued while a Claim waits is handed over at once, not when
	// the wait ends.
	go func() {
		time.Sleep(100 * time.Millisecond)
		_ = s.Enqueue(context.Background(), Job{ID: "late"})
	}()
	start = time.Now()
	l := mustClaim(t, s, "w1", 20*time.Second)
	if l.Job.ID != "late" {
		t.Fatalf("claimed %s", l.Job.ID)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Claim returned %v after the enqueue", d)
	}
	// Settled, so that the claim below finds nothing to take over once the
	// lease's short visibility timeout passes on a slow machine.
	if err := s.Ack(ctxT(t), l); err != nil {
		t.Fatal(err)
	}

	// A cancelled context ends the wait with its error.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start = time.Now()
	l, err := s.Claim(ctx, "w1", 20*time.Second)
	if l != nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Claim after the context ended = %v, %v; want context.DeadlineExceeded", l, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Claim noticed the end of its context after %v", d)
	}
}

func testTakeover(t *testing.T, open factory) {
	s := open(t, fast)
	ctx := ctxT(t)
	mustEnqueue(t, s, Job{ID: "j", Kind: "check"})
	first := mustClaim(t, s, "w1", 0)
	claimed := time.Now()
	if first.Job.Attempt != 1 {
		t.Fatalf("first attempt = %d", first.Job.Attempt)
	}
	// w1 "dies": no Ack, no Extend. Before the timeout nobody else gets it.
	mustNotClaim(t, s, "w2", 0)
	second := mustClaim(t, s, "w2", 5*time.Second)
	if d := time.Since(claimed); d < fast.VisibilityTimeout-20*time.Millisecond {
		t.Fatalf("taken over after %v, before the visibility timeout %v", d, fast.VisibilityTimeout)
	}
	if second.Job.ID != "j" || second.Job.Attempt != 2 || second.Worker != "w2" {
		t.Fatalf("takeover lease = %+v, want job j attempt 2 for w2", second)
	}
	wantStats(t, s, QueueStats{InFlight: 1})
	// The old owner learns it lost the job and cannot schedule a retry.
	if err := s.Extend(ctx, first); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("Extend by the old owner = %v, want ErrLeaseLost", err)
	}
	if err := s.Fail(ctx, first, errors.New("late")); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("Fail by the old owner = %v, want ErrLeaseLost", err)
	}
	if err := s.Ack(ctx, second); err != nil {
		t.Fatalf("Ack: %v", err)
	}
	wantStats(t, s, QueueStats{})
}

func testExtend(t *testing.T, open factory) {
	s := open(t, fast)
	ctx := ctxT(t)
	mustEnqueue(t, s, Job{ID: "long"})
	l := mustClaim(t, s, "w1", 0)

	stop := make(chan struct{})
	extendErr := make(chan error, 1)
	go func() {
		tick := time.NewTicker(fast.VisibilityTimeout / 4)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				extendErr <- nil
				return
			case <-tick.C:
				if err := s.Extend(ctx, l); err != nil {
					extendErr <- err
					return
				}
			}
		}
	}()
	// Three visibility timeouts pass while w1 keeps extending.
	mustNotClaim(t, s, "w2", 3*fast.VisibilityTimeout)
	close(stop)
	if err := <-extendErr; err != nil {
		t.Fatalf("Extend: %v", err)
	}
	// Once the heartbeats stop, the job is taken over.
	l2 := mustClaim(t, s, "w2", 5*time.Second)
	if l2.Job.ID != "long" || l2.Job.Attempt != 2 {
		t.Fatalf("after heartbeats stopped: claimed %+v", l2.Job)
	}
	if err := s.Ack(ctx, l2); err != nil {
		t.Fatal(err)
	}
}

func testFail(t *testing.T, open factory) {
	s := open(t, fast)
	ctx := ctxT(t)
	mustEnqueue(t, s, Job{ID: "flaky", Kind: "check", Payload: []byte("p")})

	l := mustClaim(t, s, "w1", 0)
	for attempt := 1; attempt <= fast.MaxAttempts; attempt++ {
		if l.Job.Attempt != attempt {
			t.Fatalf("attempt = %d, want %d", l.Job.Attempt, attempt)
		}
		failed := time.Now()
		if err := s.Fail(ctx, l, fmt.Errorf("boom %d", attempt)); err != nil {
			t.Fatalf("Fail: %v", err)
		}
		if attempt == fast.MaxAttempts {
			break
		}
		wantStats(t, s, QueueStats{Delayed: 1})
		l = mustClaim(t, s, "w1", 5*time.Second)
		backoff := fast.backoff(attempt)
		if d := time.Since(failed); d < backoff-20*time.Millisecond {
			t.Fatalf("retry %d came after %v, before its backoff %v", attempt, d, backoff)
		}
		if l.Job.ID != "flaky" || string(l.Job.Payload) != "p" {
			t.Fatalf("retry is %+v", l.Job)
		}
	}
	wantStats(t, s, QueueStats{Dead: 1})
	mustNotClaim(t, s, "w1", 2*fast.BackoffMax)

	mustEnqueue(t, s, Job{ID: "hopeless"})
	l = mustClaim(t, s, "w1", 0)
	if err := s.Fail(ctx, l, Permanent(errors.New("bad payload"))); err != nil {
		t.Fatal(err)
	}
	dead, err := s.DeadLetters(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 2 {
		t.Fatalf("DeadLetters = %+v, want 2", dead)
	}
	if dead[0].Job.ID != "hopeless" || dead[0].Cause != "bad payload" || dead[0].Job.Attempt != 1 {
		t.Errorf("newest dead letter = %+v", dead[0])
	}
	if dead[1].Job.ID != "flaky" || dead[1].Job.Attempt != fast.MaxAttempts || !strings.Contains(dead[1].Cause, "boom 3") {
		t.Errorf("older dead letter = %+v", dead[1])
	}
	if time.Since(dead[0].At) > time.Minute {
		t.Errorf("dead letter At = %v", dead[0].At)
	}
	if one, _ := s.DeadLetters(ctx, 1); len(one) != 1 || one[0].Job.ID != "hopeless" {
		t.Errorf("DeadLetters(1) = %+v", one)
	}
	wantStats(t, s, QueueStats{Dead: 2})
}

func testAbandoned(t *testing.T, open factory) {
	opts := fast
	opts.MaxAttempts = 2
	s := open(t, opts)
	mustEnqueue(t, s, Job{ID: "poison"})
	if l := mustClaim(t, s, "w1", 0); l.Job.Attempt != 1 {
		t.Fatalf("attempt %d", l.Job.Attempt)
	}
	if l := mustClaim(t, s, "w2", 5*time.Second); l.Job.Attempt != 2 {
		t.Fatalf("attempt %d", l.Job.Attempt)
	}
	// w2 dies too: the third lease exceeds MaxAttempts, and comes
	// Abandoned: not to run, to be failed into the dead-letter list once
	// the kind's dead-letter work is done.
	l := mustClaim(t, s, "w3", 5*time.Second)
	if !l.Abandoned || l.Job.Attempt != 3 || l.Job.ID != "poison" {
		t.Fatalf("third lease = %+v, want attempt 3 Abandoned", l)
	}
	wantStats(t, s, QueueStats{InFlight: 1})
	if err := s.Fail(ctxT(t), l, errors.New("the handler's own error is not the cause")); err != nil {
		t.Fatal(err)
	}
	dead, err := s.DeadLetters(ctxT(t), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 1 || dead[0].Job.ID != "poison" || !strings.Contains(dead[0].Cause, "expired") {
		t.Fatalf("DeadLetters = %+v", dead)
	}
	wantStats(t, s, QueueStats{Dead: 1})

	// Workers that die on the Abandoned leases too: after AbandonedLeases
	// of them the store dead-letters the job itself.
	mustEnqueue(t, s, Job{ID: "poison-2"})
	for i := 1; i <= opts.MaxAttempts+AbandonedLeases; i++ {
		l := mustClaim(t, s, fmt.Sprintf("d%d", i), 5*time.Second)
		if l.Job.Attempt != i || l.Abandoned != (i > opts.MaxAttempts) {
			t.Fatalf("lease %d = attempt %d abandoned %v", i, l.Job.Attempt, l.Abandoned)
		}
	}
	mustNotClaim(t, s, "last", 3*opts.VisibilityTimeout)
	if dead, err := s.DeadLetters(ctxT(t), 10); err != nil || len(dead) != 2 || dead[0].Job.ID != "poison-2" || !strings.Contains(dead[0].Cause, "expired") {
		t.Fatalf("DeadLetters = %+v, %v", dead, err)
	}
	wantStats(t, s, QueueStats{Dead: 2})
}

func testConcurrent(t *testing.T, open factory) {
	// A long lease: this test is about claimers racing, not about takeover.
	s := open(t, Options{VisibilityTimeout: 30 * time.Second})
	ctx := ctxT(t)
	const n, workers = 200, 4
	for i := range n {
		mustEnqueue(t, s, Job{ID: fmt.Sprintf("job-%03d", i)})
	}
	var (
		mu      sync.Mutex
		holding = map[string]string{} // job → worker holding it now
		done    = map[string]int{}
		acked   atomic.Int64
		wg      sync.WaitGroup
	)
	errs := make(chan error, workers)
	for w := range workers {
		name := fmt.Sprintf("w%d", w)
		wg.Go(func() {
			for acked.Load() < n {
				l, err := s.Claim(ctx, name, 100*time.Millisecond)
				if err != nil {
					errs <- err
					return
				}
				if l == nil {
					continue
				}
				mu.Lock()
				if other, ok := holding[l.Job.ID]; ok {
					mu.Unlock()
					errs <- fmt.Errorf("%s claimed %s while %s held it", name, l.Job.ID, other)
					return
				}
				holding[l.Job.ID] = name
				mu.Unlock()
				time.Sleep(time.Millisecond)
				mu.Lock()
				delete(holding, l.Job.ID)
				done[l.Job.ID]++
				mu.Unlock()
				if err := s.Ack(ctx, l); err != nil {
					errs <- err
					return
				}
				acked.Add(1)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if len(done) != n {
		t.Errorf("%d distinct jobs processed, want %d", len(done), n)
	}
	for id, c := range done {
		if c != 1 {
			t.Errorf("%s processed %d times", id, c)
		}
	}
	wantStats(t, s, QueueStats{})
}

func testDedup(t *testing.T, open factory) {
	s := open(t, Options{})
	ctx := ctxT(t)
	for _, c := range []struct {
		id   string
		ttl  time.Duration
		want bool
	}{
		{"delivery-1", time.Hour, true},
		{"delivery-1", time.Hour, false},
		{"delivery-2", time.Hour, true},
		{"delivery-1", time.Hour, false},
		{"short", 100 * time.Millisecond, true},
	} {
		got, err := s.FirstDelivery(ctx, c.id, c.ttl)
		if err != nil || got != c.want {
			t.Fatalf("FirstDelivery(%s) = %v, %v; want %v", c.id, got, err, c.want)
		}
	}
	time.Sleep(200 * time.Millisecond)
	if got, err := s.FirstDelivery(ctx, "short", time.Hour); err != nil || !got {
		t.Fatalf("FirstDelivery after its ttl = %v, %v; want true", got, err)
	}
	if _, err := s.FirstDelivery(ctx, "x", 0); err == nil {
		t.Fatal("FirstDelivery with ttl 0 succeeded")
	}
}

func testEnqueueDelivery(t *testing.T, open factory) {
	s := open(t, Options{})
	ctx := ctxT(t)
	const pr = "1/octo/repo#2"
	d := Delivery{ID: "d1", TTL: time.Hour, Heads: []Head{{pr, "new"}},
		Jobs: []Job{{ID: "d1/check", Kind: "check", Key: pr}, {ID: "d1/index", Kind: "index"}}}

	bad := Delivery{ID: "d0", TTL: time.Hour, Heads: []Head{{pr, "bad"}}, Jobs: []Job{{ID: "ok"}, {Kind: "no id"}}}
	if _, err := s.EnqueueDelivery(ctx, bad); err == nil {
		t.Fatal("EnqueueDelivery with an invalid job succeeded")
	}
	// The failed call wrote nothing.
	wantStats(t, s, QueueStats{})
	if first, err := s.FirstDelivery(ctx, "d0", time.Hour); err != nil || !first {
		t.Fatalf("d0 was recorded by a failed EnqueueDelivery: %v, %v", first, err)
	}
	if fresh, _ := s.IsLatest(ctx, pr, "anything"); !fresh {
		t.Fatal("a failed EnqueueDelivery set a head")
	}

	for i, want := range []bool{true, false} {
		got, err := s.EnqueueDelivery(ctx, d)
		if err != nil || got != want {
			t.Fatalf("EnqueueDelivery #%d = %v, %v; want %v", i+1, got, err, want)
		}
		wantStats(t, s, QueueStats{Pending: 2}) // a redelivery adds nothing
		if i == 0 {
			// A newer push arrives; the redelivery of d1 below must not
			// make "new" the newest again.
			if err := s.SetLatest(ctx, pr, "newer"); err != nil {
				t.Fatal(err)
			}
		}
	}
	if fresh, _ := s.IsLatest(ctx, pr, "newer"); !fresh {
		t.Fatal("a redelivered old push reset the newest head")
	}
	if first, err := s.FirstDelivery(ctx, "d1", time.Hour); err != nil || first {
		t.Fatalf("FirstDelivery after EnqueueDelivery = %v, %v; want false", first, err)
	}
	for _, want := range d.Jobs {
		l := mustClaim(t, s, "w1", 0)
		if l.Job.ID != want.ID || l.Job.Kind != want.Kind || l.Job.Key != want.Key || l.Job.Attempt != 1 || l.Job.Enqueued.IsZero() {
			t.Fatalf("claimed %+v, want %s", l.Job, want.ID)
		}
		if err := s.Ack(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := s.EnqueueDelivery(ctx, Delivery{ID: "d2", TTL: time.Hour}); err != nil || !got {
		t.Fatalf("EnqueueDelivery without jobs = %v, %v", got, err)
	}
	if _, err := s.EnqueueDelivery(ctx, Delivery{ID: "d3"}); err == nil {
		t.Fatal("EnqueueDelivery without a TTL succeeded")
	}
	wantStats(t, s, QueueStats{})
}

// The heads of a delivery are set before its jobs can be claimed: a worker
// never sees its own job as stale.
func testDeliveryHeadsFirst(t *testing.T, open factory) {
	s := open(t, Options{})
	ctx := ctxT(t)
	for i := range 20 {
		key := fmt.Sprintf("1/octo/repo#%d", i)
		sha := fmt.Sprintf("sha-%d", i)
		go func() {
			_, _ = s.EnqueueDelivery(context.Background(), Delivery{ID: fmt.Sprint("d", i), TTL: time.Hour,
				Heads: []Head{{key, sha}}, Jobs: []Job{{ID: fmt.Sprint("j", i), Key: key, Payload: []byte(sha)}}})
		}()
	}
	for range 20 {
		l := mustClaim(t, s, "w1", 5*time.Second)
		fresh, err := s.IsLatest(ctx, l.Job.Key, string(l.Job.Payload))
		if err != nil || !fresh {
			t.Fatalf("job %s: IsLatest = %v, %v right after the claim", l.Job.ID, fresh, err)
		}
		if err := s.Ack(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
}

func testLatest(t *testing.T, open factory) {
	s := open(t, Options{})
	ctx := ctxT(t)
	const pr, other = "42/octo/repo#17", "42/octo/repo#18"
	steps := []struct {
		set       string // SetLatest(pr, set) first when not ""
		key, sha  string
		wantFresh bool
	}{
		{"", pr, "aaa", true}, // nothing known yet
		{"aaa", pr, "aaa", true},
		{"bbb", pr, "aaa", false}, // a newer push supersedes
		{"", pr, "bbb", true},
		{"", other, "aaa", true}, // keys are independent
	}
	for i, st := range steps {
		if st.set != "" {
			if err := s.SetLatest(ctx, pr, st.set); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.IsLatest(ctx, st.key, st.sha)
		if err != nil || got != st.wantFresh {
			t.Fatalf("step %d: IsLatest(%s, %s) = %v, %v; want %v", i, st.key, st.sha, got, err, st.wantFresh)
		}
	}
}

// exampleMesh loads the repository's example mesh.
func exampleMesh(t testing.TB) *mesh.Mesh {
	t.Helper()
	m, err := mesh.Load(context.Background(), os.DirFS(filepath.Join(testutil.RepoRoot(t), "testdata", "mesh")))
	if err != nil {
		t.Fatalf("load example mesh: %v", err)
	}
	if len(m.Products) < 4 {
		t.Fatalf("example mesh has %d products", len(m.Products))
	}
	return m
}

func testRegistry(t *testing.T, open factory) {
	s := open(t, Options{})
	ctx := ctxT(t)
	m := exampleMesh(t)
	// Two repositories: the products of the first domain, and the rest.
	var first, rest []*mesh.Product
	for _, p := range m.Products {
		if p.Domain == m.Products[0].Domain {
			first = append(first, p)
		} else {
			rest = append(rest, p)
		}
	}
	version := func(inst int64) uint64 {
		t.Helper()
		v, err := s.Version(ctx, inst)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	check := func(inst int64, want []RepoProducts) {
		t.Helper()
		got, err := s.ProductsByRepo(ctx, inst)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 {
			got = nil
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("ProductsByRepo(%d):\n got %s\nwant %s", inst, describe(got), describe(want))
		}
		flat, err := s.Products(ctx, inst)
		if err != nil {
			t.Fatal(err)
		}
		if wantFlat := flatten(want); !reflect.DeepEqual(flat, wantFlat) && len(flat)+len(wantFlat) > 0 {
			t.Fatalf("Products(%d) differs from ProductsByRepo", inst)
		}
		repos, err := s.Repos(ctx, inst)
		if err != nil {
			t.Fatal(err)
		}
		var wantRepos []string
		for _, r := range want {
			wantRepos = append(wantRepos, r.Repo)
		}
		if !slices.Equal(repos, wantRepos) {
			t.Fatalf("Repos(%d) = %v, want %v", inst, repos, wantRepos)
		}
	}
	installations := func(want ...int64) {
		t.Helper()
		got, err := s.Installations(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("Installations = %v, want %v", got, want)
		}
	}

	if v := version(7); v != 0 {
		t.Fatalf("Version of an unknown installation = %d", v)
	}
	check(7, nil)
	installations()

	// Products come back sorted by file whatever order they were put in.
	if err := s.PutRepo(ctx, 7, "octo/z-rest", reversed(rest)); err != nil {
		t.Fatal(err)
	}
	if err := s.PutRepo(ctx, 7, "octo/a-first", first); err != nil {
		t.Fatal(err)
	}
	v := version(7)
	if v != 2 {
		t.Fatalf("Version after two puts = %d, want 2", v)
	}
	check(7, []RepoProducts{{Repo: "octo/a-first", Products: inRepo(t, "octo/a-first", first)}, {Repo: "octo/z-rest", Products: inRepo(t, "octo/z-rest", rest)}})
	if first[0].Repo != "" {
		t.Fatal("PutRepo modified the caller's product")
	}
	installations(7)

	// PutRepo replaces the repository's entries.
	if err := s.PutRepo(ctx, 7, "octo/z-rest", rest[:1]); err != nil {
		t.Fatal(err)
	}
	check(7, []RepoProducts{{Repo: "octo/a-first", Products: inRepo(t, "octo/a-first", first)}, {Repo: "octo/z-rest", Products: inRepo(t, "octo/z-rest", rest[:1])}})
	if nv := version(7); nv <= v {
		t.Fatalf("Version after a replace = %d, was %d", nv, v)
	}

	if err := s.PutRepo(ctx, 9, "octo/empty", nil); err != nil {
		t.Fatal(err)
	}
	if err := s.PutRepo(ctx, 9, "octo/broken", []*mesh.Product{nil}); err == nil {
		t.Fatal("PutRepo accepted a nil product")
	}
	check(9, []RepoProducts{{Repo: "octo/empty", Products: nil}})
	installations(7, 9)

	v = version(7)
	if err := s.DeleteRepo(ctx, 7, "octo/z-rest"); err != nil {
		t.Fatal(err)
	}
	check(7, []RepoProducts{{Repo: "octo/a-first", Products: inRepo(t, "octo/a-first", first)}})
	if nv := version(7); nv <= v {
		t.Fatalf("Version after DeleteRepo = %d, was %d", nv, v)
	}

	v = version(7)
	if err := s.DeleteInstallation(ctx, 7); err != nil {
		t.Fatal(err)
	}
	check(7, nil)
	installations(9)
	if nv := version(7); nv <= v {
		t.Fatalf("Version after DeleteInstallation = %d, was %d: it must never go back", nv, v)
	}
	check(9, []RepoProducts{{Repo: "octo/empty", Products: nil}})
}

func describe(rs []RepoProducts) string {
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "%s:[", r.Repo)
		for _, p := range r.Products {
			fmt.Fprintf(&b, " %s", p.File)
		}
		b.WriteString(" ] ")
	}
	return b.String()
}

func reversed[T any](s []T) []T {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}

// inRepo is what the registry returns for ps stored under repo.
func inRepo(t *testing.T, repo string, ps []*mesh.Product) []*mesh.Product {
	t.Helper()
	var out []*mesh.Product
	for _, p := range ps {
		cp := *p
		cp.Repo = repo
		out = append(out, &cp)
	}
	return out
}

// testClock is a clock tests move by hand, so a job deferred for an hour
// falls due without anyone waiting an hour.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testDefer: a job put back with Defer (GitHub's rate limit is spent until
// its reset) is not claimable before that time, comes back after it with the
// same attempt number, and so can be deferred any number of times without
// being dead-lettered.
func testDefer(t *testing.T, open factory) {
	clock := &testClock{t: time.Now()}
	opts := fast
	opts.Now = clock.Now
	s := open(t, opts)
	ctx := ctxT(t)
	mustEnqueue(t, s, Job{ID: "limited", Kind: "check", Payload: []byte("p")}, Job{ID: "other", Kind: "check"})

	l := mustClaim(t, s, "w1", 0)
	if l.Job.ID != "limited" {
		t.Fatalf("claimed %s first", l.Job.ID)
	}
	for round := range opts.MaxAttempts + 2 {
		reset := clock.Now().Add(time.Hour)
		if err := s.Defer(ctx, l, reset); err != nil {
			t.Fatalf("Defer: %v", err)
		}
		if round == 0 {
			wantStats(t, s, QueueStats{Pending: 1, Delayed: 1})
			if o := mustClaim(t, s, "w2", 0); o.Job.ID != "other" {
				t.Fatalf("claimed %s while the deferred job waits", o.Job.ID)
			} else if err := s.Ack(ctx, o); err != nil {
				t.Fatal(err)
			}
		}
		wantStats(t, s, QueueStats{Delayed: 1})
		clock.Advance(59 * time.Minute)
		mustNotClaim(t, s, "w1", 50*time.Millisecond)
		clock.Advance(time.Minute)
		l = mustClaim(t, s, "w1", 5*time.Second)
		if l.Job.ID != "limited" || l.Job.Attempt != 1 || string(l.Job.Payload) != "p" {
			t.Fatalf("round %d: deferred job came back as %+v, want attempt 1", round, l.Job)
		}
	}
	// A deferred job on its retry keeps that retry's attempt number.
	if err := s.Fail(ctx, l, errors.New("boom")); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	l = mustClaim(t, s, "w1", 5*time.Second)
	if err := s.Defer(ctx, l, clock.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	if l = mustClaim(t, s, "w1", 5*time.Second); l.Job.Attempt != 2 {
		t.Fatalf("attempt after fail and defer = %d, want 2", l.Job.Attempt)
	}
	if err := s.Ack(ctx, l); err != nil {
		t.Fatal(err)
	}
	wantStats(t, s, QueueStats{})
	if dead, _ := s.DeadLetters(ctx, 10); len(dead) != 0 {
		t.Errorf("dead letters after deferrals: %+v", dead)
	}

	// Only the lease owner may defer.
	mustEnqueue(t, s, Job{ID: "owned"})
	l = mustClaim(t, s, "w1", 0)
	stolen := *l
	stolen.Worker = "w9"
	if err := s.Defer(ctx, &stolen, clock.Now()); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("Defer by another worker = %v, want ErrLeaseLost", err)
	}
}

// testLastAttempt: the lease says when this run is the job's last, so its
// handler can leave a result behind instead of being dropped in silence.
func testLastAttempt(t *testing.T, open factory) {
	clock := &testClock{t: time.Now()}
	opts := fast
	opts.Now = clock.Now
	s := open(t, opts)
	ctx := ctxT(t)
	mustEnqueue(t, s, Job{ID: "flaky"})
	for attempt := 1; attempt <= opts.MaxAttempts; attempt++ {
		l := mustClaim(t, s, "w1", 5*time.Second)
		if want := attempt == opts.MaxAttempts; l.Last != want || l.Job.Attempt != attempt {
			t.Fatalf("attempt %d: Last = %v, want %v", l.Job.Attempt, l.Last, want)
		}
		if err := s.Fail(ctx, l, errors.New("boom")); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Minute)
	}
	wantStats(t, s, QueueStats{Dead: 1})
}
