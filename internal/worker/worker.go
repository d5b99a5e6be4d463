// Package worker runs the jobs of meshbot's durable queue: a pool of
// goroutines that claim a job, run its handler while keeping the lease
// alive, and settle it (Ack on success, Fail for a retry or the dead-letter
// list on error).
//
// An error that says when the work may be tried again (a RetryAt method,
// as GitHub's *githubapp.RateLimitError has) defers the job to that time
// instead: the queue holds it without spending an attempt, so an hour's
// rate limit neither dead-letters accepted work nor has workers ask GitHub
// again before the reset. Handlers learn from jobs.Meta.Last when a run is
// their last, to leave a result behind before the job is dead-lettered.
// Whatever dead-letters a job (a failure, a payload that does not decode, or
// workers that died or hung on it until its attempts ran out: the store
// then leases it Abandoned and its handler does not run again), the kind's
// dead-letter hook (jobs.OnDead) runs first, tried a bounded number of
// times.
//
// Shutdown hands work back instead of losing it. When Run's context ends the
// pool stops claiming, lets the jobs in flight finish for up to
// Options.Drain, then cancels them and leaves them un-acked: the queue still
// holds them, and once their lease runs out (the store's visibility timeout)
// the next worker to claim takes them over, here or, with Redis, on another
// replica. Handlers must therefore be idempotent, which at-least-once
// delivery demands anyway.
package worker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/meshbot/meshbot/internal/jobs"
	"github.com/meshbot/meshbot/internal/store"
)

// Options tune a Pool. Zero values take the defaults.
type Options struct {
	Workers   int           // goroutines claiming jobs; default 4
	ClaimWait time.Duration // how long one Claim blocks waiting for work; default 2s
	// Heartbeat is how often a running job's lease is extended; keep it well
	// under the store's visibility timeout (a third of it is a good choice).
	// Default 10s, for the store's default timeout of 60s.
	Heartbeat time.Duration
	Drain     time.Duration // grace for in-flight jobs after shutdown begins; default 25s
	Logger    *slog.Logger
	// Observe, when set, is told about every job the pool ran: its kind, how
	// long the handler took and its error (nil on success). It feeds metrics.
	Observe func(kind string, d time.Duration, err error)
	// DeadHookTimeout bounds one try of a kind's dead-letter hook (see
	// jobs.OnDead); default 20s. DeadHookBackoff is the wait before its
	// second try, doubled before the third and last; default 2s.
	DeadHookTimeout time.Duration
	DeadHookBackoff time.Duration
}

// deadHookTries is how often a dead-letter hook is tried before the job is
// dead-lettered without it: a GitHub that is down for longer would hold the
// worker for nothing, and the job is in the dead-letter list either way.
const deadHookTries = 3

// retryAter is an error that knows when its work may be tried again.
type retryAter interface {
	RetryAt() time.Time
}

// deferral is when err asks the job to be tried again, if it does. A
// permanent error never does.
func deferral(err error) (time.Time, bool) {
	var ra retryAter
	if err == nil || store.IsPermanent(err) || !errors.As(err, &ra) {
		return time.Time{}, false
	}
	return ra.RetryAt(), true
}

func (o Options) withDefaults() Options {
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.ClaimWait <= 0 {
		o.ClaimWait = 2 * time.Second
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = 10 * time.Second
	}
	if o.Drain <= 0 {
		o.Drain = 25 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.DeadHookTimeout <= 0 {
		o.DeadHookTimeout = 20 * time.Second
	}
	if o.DeadHookBackoff <= 0 {
		o.DeadHookBackoff = 2 * time.Second
	}
	return o
}

// settleTimeout bounds the retries of Ack and Fail: a store that is down for
// longer leaves the job to be redelivered after its lease runs out.
const settleTimeout = 15 * time.Second

// Pool runs jobs from a queue.
type Pool struct {
	q    store.Queue
	reg  *jobs.Registry
	opts Options
	name string // unique per pool: workers are name-0, name-1, ...
}

// New returns a pool that runs each job of q through reg, which decodes its
// payload and runs the handler of its kind.
func New(q store.Queue, reg *jobs.Registry, opts Options) *Pool {
	return &Pool{q: q, reg: reg, opts: opts.withDefaults(), name: poolName()}
}

// poolName is host-pid-random: the store tells leases apart by worker name,
// so two pools (two replicas, or a restarted process reusing a pid) must
// never share one.
func poolName() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "meshbot"
	}
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}

// Run works until ctx ends, then drains as the package comment describes
// and returns nil. It returns an error only when the store is closed under
// it.
func (p *Pool) Run(ctx context.Context) error {
	// Jobs run under hard, not ctx: shutdown must not interrupt them before
	// the drain deadline.
	hard, cancelHard := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelHard()
	stopDrainTimer := context.AfterFunc(ctx, func() {
		p.opts.Logger.Info("worker: shutting down, draining in-flight jobs", slog.Duration("drain", p.opts.Drain))
		t := time.AfterFunc(p.opts.Drain, cancelHard)
		context.AfterFunc(hard, func() { t.Stop() })
	})
	defer stopDrainTimer()

	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for i := range p.opts.Workers {
		name := fmt.Sprintf("%s-%d", p.name, i)
		wg.Go(func() {
			if err := p.loop(ctx, hard, name); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return firstErr
}

// loop claims and runs jobs until ctx ends.
func (p *Pool) loop(ctx, hard context.Context, name string) error {
	log := p.opts.Logger.With(slog.String("worker", name))
	failures := 0
	for ctx.Err() == nil {
		l, err := p.q.Claim(ctx, name, p.opts.ClaimWait)
		switch {
		case ctx.Err() != nil:
			if l != nil {
				// Claimed as shutdown began: leave it for the next worker.
				log.Info("worker: shutdown, leaving a just-claimed job for takeover", slog.String("job", l.Job.ID))
			}
			return nil
		case errors.Is(err, store.ErrClosed):
			return fmt.Errorf("worker %s: %w", name, err)
		case err != nil:
			// The store is unreachable (Redis restarting, a network blip):
			// wait and try again; the jobs are safe in the queue.
			failures++
			wait := min(100*time.Millisecond<<min(failures-1, 6), 5*time.Second)
			log.Warn("worker: claim failed, retrying", slog.Any("err", err), slog.Duration("in", wait))
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(wait):
			}
			continue
		}
		failures = 0
		if l == nil {
			continue
		}
		p.run(hard, log, l)
	}
	return nil
}

// run executes one leased job and settles it.
func (p *Pool) run(hard context.Context, log *slog.Logger, l *store.Lease) {
	log = log.With(slog.String("job", l.Job.ID), slog.String("kind", l.Job.Kind), slog.Int("attempt", l.Job.Attempt))
	if l.Abandoned {
		// Its workers died or hung until its attempts ran out: running it
		// again would likely do the same. Its kind's dead-letter hook
		// leaves behind what the handler would have.
		err := store.Permanent(fmt.Errorf("job %s abandoned: attempt %d, after its previous leases expired without ack (its workers died or hung)", l.Job.ID, l.Job.Attempt))
		log.Error("worker: job abandoned by its workers until its attempts ran out, dead-lettering", slog.Any("err", err))
		if lost := p.dead(hard, log, l, jobs.DeadAbandoned, err); !lost {
			p.settle(log, l, err)
		}
		p.observe(l.Job.Kind, 0, err)
		return
	}
	job, err := p.reg.DecodeLease(l)
	if err != nil {
		// An unknown kind or a payload that does not decode: retrying
		// cannot help, so it is dead-lettered at once.
		log.Error("worker: job cannot run, dead-lettering", slog.Any("err", err))
		if lost := p.dead(hard, log, l, jobs.DeadUndecodable, err); !lost {
			p.settle(log, l, err)
		}
		p.observe(l.Job.Kind, 0, err)
		return
	}
	for _, a := range job.Attrs {
		log = log.With(a)
	}

	log.Debug("worker: job started")
	start := time.Now()
	lost, err := p.leased(hard, log, l, job.Run)
	d := time.Since(start)
	p.observe(l.Job.Kind, d, err)

	switch {
	case lost:
		// Another worker owns the job now; whatever this run did, settling
		// it here would interfere with that one.
		log.Warn("worker: lease lost while running, leaving the job to its new worker", slog.Duration("took", d), slog.Any("err", err))
	case err == nil:
		log.Info("worker: job done", slog.Duration("took", d))
		p.settle(log, l, nil)
	case hard.Err() != nil:
		// The error is the cancellation itself, not the job's fault: no
		// attempt is spent on it.
		log.Warn("worker: drain deadline passed, job handed back un-acked for takeover", slog.Duration("took", d), slog.Any("err", err))
	default:
		if until, ok := deferral(err); ok {
			log.Warn("worker: job deferred, its attempt not spent", slog.Duration("took", d), slog.Any("err", err), slog.Time("until", until))
			p.deferJob(log, l, until)
			return
		}
		log.Warn("worker: job failed", slog.Duration("took", d), slog.Any("err", err), slog.Bool("permanent", store.IsPermanent(err)))
		if store.IsPermanent(err) || l.Last {
			// Fail dead-letters it.
			if lost := p.dead(hard, log, l, jobs.DeadFailed, err); lost {
				return
			}
		}
		p.settle(log, l, err)
	}
}

// leased runs fn while keeping l's lease alive. lost reports that the lease
// went to another worker meanwhile (fn's context was cancelled then).
func (p *Pool) leased(hard context.Context, log *slog.Logger, l *store.Lease, fn func(context.Context) error) (lost bool, err error) {
	ctx, cancel := context.WithCancelCause(hard)
	defer cancel(nil)
	beatDone := make(chan struct{})
	go func() {
		defer close(beatDone)
		p.heartbeat(ctx, log, l, cancel)
	}()
	err = call(ctx, fn)
	lost = errors.Is(context.Cause(ctx), store.ErrLeaseLost)
	cancel(nil)
	<-beatDone
	return lost, err
}

// dead runs the dead-letter hook of l's kind, if it has one, before l is
// failed into the dead-letter list: tried up to deadHookTries times, each
// bounded by DeadHookTimeout, while the lease is kept. A hook that still
// fails (GitHub down for longer, a rate limit) is logged and the job is
// dead-lettered anyway. lost reports that the lease went to another worker,
// which then settles the job.
func (p *Pool) dead(hard context.Context, log *slog.Logger, l *store.Lease, reason jobs.DeadReason, cause error) (lost bool) {
	run, attrs, ok := p.reg.DeadHook(l.Job, reason, cause)
	if !ok {
		return false
	}
	if reason != jobs.DeadFailed { // a job that ran has them in log already
		for _, a := range attrs {
			log = log.With(a)
		}
	}
	wait := p.opts.DeadHookBackoff
	for try := 1; ; try++ {
		lost, err := p.leased(hard, log, l, func(ctx context.Context) error {
			ctx, cancel := context.WithTimeout(ctx, p.opts.DeadHookTimeout)
			defer cancel()
			return run(ctx)
		})
		_, limited := deferral(err)
		switch {
		case lost:
			log.Warn("worker: lease lost during the dead-letter hook; the job's new worker settles it", slog.Any("err", err))
			return true
		case err == nil:
			log.Info("worker: dead-letter hook done", slog.String("reason", string(reason)), slog.Int("tries", try))
			return false
		case hard.Err() != nil, limited, store.IsPermanent(err), try == deadHookTries:
			log.Error("worker: dead-letter hook failed, dead-lettering the job without it: what it leaves behind (a check run) may stay unfinished",
				slog.String("reason", string(reason)), slog.Int("tries", try), slog.Any("err", err))
			return false
		}
		log.Warn("worker: dead-letter hook failed, trying again", slog.Int("try", try), slog.Duration("in", wait), slog.Any("err", err))
		select {
		case <-hard.Done():
		case <-time.After(wait):
		}
		wait *= 2
	}
}

// deferJob hands the job back to the queue until the given time, retrying
// while the store is unreachable like settle.
func (p *Pool) deferJob(log *slog.Logger, l *store.Lease, until time.Time) {
	p.retryStore(log, func(ctx context.Context) error { return p.q.Defer(ctx, l, until) })
}

// call runs fn, turning a panic into a permanent failure: a job that panics
// would panic again on every retry.
func call(ctx context.Context, fn func(context.Context) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = store.Permanent(fmt.Errorf("handler panicked: %v\n%s", r, debug.Stack()))
		}
	}()
	return fn(ctx)
}

// heartbeat extends the lease every Heartbeat until ctx ends. Losing the
// lease cancels the job.
func (p *Pool) heartbeat(ctx context.Context, log *slog.Logger, l *store.Lease, cancel context.CancelCauseFunc) {
	t := time.NewTicker(p.opts.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := p.q.Extend(ctx, l)
		switch {
		case err == nil:
		case errors.Is(err, store.ErrLeaseLost):
			cancel(err)
			return
		case ctx.Err() != nil:
			return
		default:
			// Try again at the next beat; the lease survives a missed one
			// as long as Heartbeat is well under the visibility timeout.
			log.Warn("worker: heartbeat failed", slog.Any("err", err))
		}
	}
}

// settle acks (cause nil) or fails the job, retrying while the store is
// unreachable. It runs outside the job's context: a job that finished during
// the drain is still acked.
func (p *Pool) settle(log *slog.Logger, l *store.Lease, cause error) {
	p.retryStore(log, func(ctx context.Context) error {
		if cause == nil {
			return p.q.Ack(ctx, l)
		}
		return p.q.Fail(ctx, l, cause)
	})
}

// retryStore runs op (Ack, Fail or Defer) until it succeeds, the lease is
// lost, the store is closed or settleTimeout passes.
func (p *Pool) retryStore(log *slog.Logger, op func(ctx context.Context) error) {
	ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
	defer cancel()
	for attempt := 0; ; attempt++ {
		err := op(ctx)
		switch {
		case err == nil:
			return
		case errors.Is(err, store.ErrLeaseLost):
			log.Warn("worker: lease lost before the job was settled; its new worker decides", slog.Any("err", err))
			return
		case errors.Is(err, store.ErrClosed):
			log.Error("worker: store closed before the job was settled; it will be redelivered", slog.Any("err", err))
			return
		}
		wait := min(50*time.Millisecond<<min(attempt, 6), 2*time.Second)
		log.Warn("worker: settling the job failed, retrying", slog.Any("err", err), slog.Duration("in", wait))
		select {
		case <-ctx.Done():
			log.Error("worker: could not settle the job; it will be redelivered after its lease expires", slog.Any("err", err))
			return
		case <-time.After(wait):
		}
	}
}

func (p *Pool) observe(kind string, d time.Duration, err error) {
	if p.opts.Observe != nil {
		p.opts.Observe(kind, d, err)
	}
}
