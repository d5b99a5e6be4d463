// Package store is meshbot's shared state: the durable job queue between the
// webhook intake and the workers, delivery de-duplication, the newest head
// SHA per pull request, and the mesh registry of every installation.
//
// Two implementations share one contract and one test suite: Redis
// (NewRedis, production, any number of replicas; one server, Redis Cluster
// or Sentinel, see ParseRedisURL) and memory (NewMemory, the
// embedded default when no Redis is configured: one process, nothing
// survives a restart; the caller says so in its log).
package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/meshbot/meshbot/internal/mesh"
)

// Job is one unit of work. Payload is opaque to the store.
type Job struct {
	ID       string    // unique per job, e.g. the delivery id (+ a suffix when one delivery makes several jobs)
	Kind     string    // e.g. "check", "index", "command"
	Key      string    // supersession key, e.g. "42/octo/repo#17"; "" = none
	Payload  []byte    // the worker's own encoding
	Attempt  int       // 1 on the first delivery; Enqueue sets 1 when zero
	Enqueued time.Time // Enqueue sets it when zero
}

// Lease is a claimed job. It must end in Ack or Fail; Extend keeps it while
// the work takes longer than the visibility timeout.
type Lease struct {
	Job    Job
	Worker string
	// Last is set when this is the job's last attempt: failing it (other
	// than by Defer) dead-letters it, so its handler should leave a result
	// behind that says so.
	Last bool
	// Abandoned is set when the job's attempts ran out through expired
	// leases (its workers died or hung): its handler must not run again.
	// The lease is handed out so that the caller can do what a dead letter
	// of its kind needs (complete a check run) before it Fails the lease,
	// which dead-letters the job. Should that caller die too, the job is
	// handed out so at most AbandonedLeases times, then dead-lettered by
	// the store itself.
	Abandoned bool

	ref string // stream entry id (redis) or sequence number (memory)
}

// DeadLetter is a job that ran out of attempts or failed permanently.
type DeadLetter struct {
	Job   Job
	Cause string
	At    time.Time
}

// QueueStats counts the jobs in each state, for /metrics and logs.
type QueueStats struct {
	Pending  int64 // waiting to be claimed
	InFlight int64 // claimed and neither acked nor failed (including those whose worker died and which wait for takeover)
	Delayed  int64 // waiting for their retry backoff
	Dead     int64 // in the dead-letter list
	// OldestReady is since when the longest-waiting job ready to be claimed
	// has waited: enqueued, or its retry fell due (zero when none waits).
	// A job waiting long means the workers do not keep up, or none runs.
	OldestReady time.Time
}

// Queue is a durable job queue with at-least-once delivery: a job leaves it
// only through Ack, or through Fail into the dead-letter list. Handlers must
// therefore be idempotent.
type Queue interface {
	// Enqueue stores j; the job is durable when Enqueue returns nil.
	Enqueue(ctx context.Context, j Job) error
	// Claim waits up to wait for a job and leases it to worker (a name unique
	// to the process, e.g. host-pid-n). It returns nil, nil when nothing came.
	// A job whose lease was neither acked nor extended within the visibility
	// timeout (its worker died) is claimed again, with Attempt counting the
	// lost lease; a job that loses its lease more than MaxAttempts times is
	// leased Abandoned (not to be run: to be Failed into the dead-letter
	// list), and dead-lettered by Claim once those leases expire too,
	// rather than crash every worker in turn.
	Claim(ctx context.Context, worker string, wait time.Duration) (*Lease, error)
	// Extend restarts the lease's visibility timeout. ErrLeaseLost means
	// another worker has taken the job over: stop working on it.
	Extend(ctx context.Context, l *Lease) error
	// Ack removes the job for good. It is idempotent.
	Ack(ctx context.Context, l *Lease) error
	// Fail schedules a retry after an exponential backoff, or moves the job to
	// the dead-letter list when it has had MaxAttempts attempts or cause is
	// Permanent. ErrLeaseLost means another worker owns the job now and no
	// retry was scheduled.
	Fail(ctx context.Context, l *Lease, cause error) error
	// Defer puts the job back to be claimed again from until on, with the
	// same Attempt: for work refused for a reason that is nobody's fault and
	// has a known end (GitHub's rate limit until its reset), which must not
	// use up the job's attempts. ErrLeaseLost as for Fail.
	Defer(ctx context.Context, l *Lease, until time.Time) error
	// DeadLetters lists up to limit dead letters, newest first.
	DeadLetters(ctx context.Context, limit int) ([]DeadLetter, error)
	Stats(ctx context.Context) (QueueStats, error)
}

// Dedup remembers delivery ids.
type Dedup interface {
	// FirstDelivery records id for ttl and reports whether it was new (GitHub
	// redelivers with the same X-GitHub-Delivery).
	FirstDelivery(ctx context.Context, id string, ttl time.Duration) (bool, error)
	// EnqueueDelivery records d.ID, the head SHAs and the jobs of one
	// delivery in one atomic step, only when d.ID is new, and reports whether
	// it was. The webhook intake wants this rather than FirstDelivery,
	// SetLatest and Enqueue one by one: if a later call failed after the id
	// was recorded, GitHub's redelivery would be dropped as a duplicate and
	// the delivery lost; and a redelivered old push must not set its older
	// SHA as the newest.
	EnqueueDelivery(ctx context.Context, d Delivery) (bool, error)
}

// Delivery is what one webhook delivery writes.
type Delivery struct {
	ID    string        // X-GitHub-Delivery
	TTL   time.Duration // how long the id is remembered (GitHub redelivers for up to 3 days)
	Heads []Head        // newest head SHAs, set as by SetLatest before the jobs become claimable
	Jobs  []Job
}

// Head is a supersession key and its newest SHA.
type Head struct{ Key, SHA string }

// Latest tracks the newest head SHA per supersession key, so that work on an
// older push never overwrites the verdict on a newer one.
type Latest interface {
	// SetLatest records sha as the newest for key (kept for Options.LatestTTL).
	SetLatest(ctx context.Context, key, sha string) error
	// IsLatest reports whether sha is still the newest for key. With nothing
	// recorded for key it is true: nothing newer is known.
	IsLatest(ctx context.Context, key, sha string) (bool, error)
}

// Registry is the mesh registry: per installation, the data products found
// on the default branches of its repositories, stored per repository so that
// a push re-indexes one repository. Products handed in or out are shared
// with the store in memory and must be treated as read-only.
type Registry interface {
	// PutRepo replaces repo's products (an empty list records a repository
	// without products) and adds the installation. Stored products carry
	// repo in mesh.Product.Repo.
	PutRepo(ctx context.Context, installation int64, repo string, products []*mesh.Product) error
	// PutRepoSources is PutRepo keeping, in the same record, the documents
	// the products were read from and their commit (see Sources): the
	// indexer writes both in one write, so they never disagree, and a
	// record of an older format is re-indexed with both. It returns the
	// bytes the documents take in the record (RepoSources.Stored).
	PutRepoSources(ctx context.Context, installation int64, repo string, products []*mesh.Product, src Sources) (stored int, err error)
	DeleteRepo(ctx context.Context, installation int64, repo string) error
	// DeleteInstallation forgets the installation and all its repositories.
	DeleteInstallation(ctx context.Context, installation int64) error
	// Products returns every product of the installation, sorted by
	// repository then file. Repositories whose record does not decode are
	// left out (see ProductsByRepo): one unreadable record must not take the
	// rest of the registry with it.
	Products(ctx context.Context, installation int64) ([]*mesh.Product, error)
	// ProductsByRepo is Products grouped by repository, sorted by repository:
	// for readers that need to know where a product lives (links, Backstage
	// source locations), since mesh.Product.File is relative to its repo.
	// A repository whose record does not decode (written in a format version
	// this build does not read, or corrupt) is listed without products and
	// with Unreadable set: the error is for the repository, not the call,
	// and the caller should have it re-indexed (Unreadable lists them).
	ProductsByRepo(ctx context.Context, installation int64) ([]RepoProducts, error)
	// Sources lists every repository's stored documents, sorted by
	// repository, without decoding products or inflating documents. A
	// repository whose documents cannot be had is listed with Unreadable
	// set (and should be re-indexed), as in ProductsByRepo.
	Sources(ctx context.Context, installation int64) ([]RepoSources, error)
	Repos(ctx context.Context, installation int64) ([]string, error)
	Installations(ctx context.Context) ([]int64, error)
	// Version changes on every write to the installation (it never goes back,
	// not even across DeleteInstallation): readers rebuild caches when it moves.
	Version(ctx context.Context, installation int64) (uint64, error)
}

// RepoProducts is one repository's entry in the registry.
type RepoProducts struct {
	Repo     string
	Products []*mesh.Product
	// Unreadable is set, and Products nil, when the stored record does not
	// decode; errors.Is(Unreadable, ErrUnreadableRecord) holds, and
	// ErrFormatVersion or ErrCorruptRecord says why. Indexing the repository
	// again replaces the record.
	Unreadable error
}

// Unreadable returns the repositories of rs whose record did not decode:
// those to re-index.
func Unreadable(rs []RepoProducts) []RepoProducts {
	var out []RepoProducts
	for _, r := range rs {
		if r.Unreadable != nil {
			out = append(out, r)
		}
	}
	return out
}

// Store is everything meshbot keeps outside one process.
type Store interface {
	Queue
	Dedup
	Latest
	Registry
	Marks
	Approvals
	Policies
	Ping(ctx context.Context) error
	Close() error
	Kind() string // "redis" or "memory"
}

// Options tune both implementations. Zero values take the defaults.
type Options struct {
	VisibilityTimeout time.Duration // lease length before another worker may take a job over; default 60s
	MaxAttempts       int           // attempts before a job is dead-lettered; default 5
	BackoffBase       time.Duration // delay before the first retry, doubled per attempt; default 1s
	BackoffMax        time.Duration // cap on the retry delay; default 5m
	LatestTTL         time.Duration // how long a head SHA is remembered; default 30 days
	Prefix            string        // Redis key prefix; default "meshbot:" (tests use one per test)
	// Now is the clock of not-before times (retries, deferrals) and, in the
	// memory store, of leases; default time.Now. Tests move it to see an
	// hour's deferral fall due.
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.VisibilityTimeout <= 0 {
		o.VisibilityTimeout = 60 * time.Second
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 5
	}
	if o.BackoffBase <= 0 {
		o.BackoffBase = time.Second
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = 5 * time.Minute
	}
	if o.BackoffMax < o.BackoffBase {
		o.BackoffMax = o.BackoffBase
	}
	if o.LatestTTL <= 0 {
		o.LatestTTL = 30 * 24 * time.Hour
	}
	if o.Prefix == "" {
		o.Prefix = "meshbot:"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// backoff is the delay after the given failed attempt (1-based):
// base·2^(attempt-1), capped.
func (o Options) backoff(attempt int) time.Duration {
	d := o.BackoffBase
	for i := 1; i < attempt; i++ {
		if d >= o.BackoffMax/2 {
			return o.BackoffMax
		}
		d *= 2
	}
	return min(d, o.BackoffMax)
}

// ErrLeaseLost reports that a lease expired and another worker took the job.
var ErrLeaseLost = errors.New("store: lease lost to another worker")

// ErrClosed is returned by a store after Close.
var ErrClosed = errors.New("store: closed")

// Permanent marks err as not worth retrying: Fail dead-letters the job at once.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

// prepare validates a job for Enqueue and fills its defaults.
func prepare(j Job, now time.Time) (Job, error) {
	if j.ID == "" {
		return j, errors.New("enqueue: job has no ID")
	}
	if j.Attempt <= 0 {
		j.Attempt = 1
	}
	if j.Enqueued.IsZero() {
		j.Enqueued = now
	}
	return j, nil
}

// failure decides what Fail does with a job after attempt failed: retry at
// notBefore with the next attempt number, or dead-letter it.
func (o Options) failure(l *Lease, cause error, now time.Time) (next Job, notBefore time.Time, dead *DeadLetter) {
	msg := "unknown error"
	if cause != nil {
		msg = cause.Error()
	}
	if l.Abandoned {
		d := o.abandoned(l.Job, now)
		return Job{}, time.Time{}, &d
	}
	if IsPermanent(cause) || l.Job.Attempt >= o.MaxAttempts {
		if !IsPermanent(cause) {
			msg = fmt.Sprintf("attempt %d of %d: %s", l.Job.Attempt, o.MaxAttempts, msg)
		}
		return Job{}, time.Time{}, &DeadLetter{Job: l.Job, Cause: msg, At: now}
	}
	next = l.Job
	next.Attempt++
	return next, now.Add(o.backoff(l.Job.Attempt)), nil
}

// AbandonedLeases is how many times Claim hands out a job whose attempts
// ran out through expired leases (Lease.Abandoned) before it dead-letters
// the job itself.
const AbandonedLeases = 2

// abandonedLease sorts a lease by its attempt (counting expired leases):
// to run (Last on the final attempt), to hand out Abandoned, or to
// dead-letter at once (gone: its Abandoned leases expired as well).
func (o Options) abandonedLease(attempt int) (abandoned, gone bool) {
	return attempt > o.MaxAttempts, attempt > o.MaxAttempts+AbandonedLeases
}

// abandoned is the dead letter of a job whose leases kept expiring.
func (o Options) abandoned(j Job, now time.Time) DeadLetter {
	return DeadLetter{Job: j, At: now, Cause: fmt.Sprintf(
		"attempt %d exceeds %d: the previous lease expired without ack (its worker died or hung)", j.Attempt, o.MaxAttempts)}
}
