// Package redeliver recovers the deliveries GitHub could not hand over
// while meshbot was down. GitHub does not retry a failed delivery by
// itself; so on start and once per period (across replicas: a lease in the
// store per period) meshbot lists the App webhook's recent deliveries,
// asks GitHub to redeliver those that failed and that the store's dedup
// does not know, and then re-checks open pull requests whose head has no
// meshbot check run (events GitHub dropped before it even logged a
// delivery, or deliveries older than the look-back window).
//
// Everything a sweep decides from is in the store, so it survives
// restarts and is shared by replicas: the high-water mark of the delivery
// log, a claim per guid asked for, the open pull request sweep's cursor,
// and the dedup the webhook intake writes.
package redeliver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/meshbot/meshbot/internal/githubapp"
	"github.com/meshbot/meshbot/internal/store"
)

// Store is what the sweep keeps and reads in the store.
type Store interface {
	store.Marks
	// EnqueueDelivery enqueues the pull-check jobs of the open pull request
	// sweep, deduplicated as the webhook's are.
	EnqueueDelivery(ctx context.Context, d store.Delivery) (bool, error)
}

// Options tune a Sweeper. Zero values take the defaults.
type Options struct {
	// Holder names this replica (unique per process, e.g. host-pid).
	Holder string
	// Period is how often the sweep runs, across all replicas; default 10m.
	Period time.Duration
	// PerPage and MaxPages bound the deliveries looked at per sweep:
	// default 100 per page (GitHub's maximum), 10 pages.
	PerPage, MaxPages int
	// MaxAge is how far back deliveries are looked at; default 72h, the
	// webhook's dedup TTL: an older delivery cannot be told accepted from
	// not, and GitHub keeps them for three days.
	MaxAge time.Duration
	// AskTTL is how long a guid asked for is not asked for again, whoever
	// asks (the redelivery may itself fail, and is then asked for again
	// after it); default 1h.
	AskTTL time.Duration
	// Budget caps the GitHub API calls of one sweep (deliveries and open
	// pull requests together); default 1000. What is left over is resumed
	// by the next sweep.
	Budget int
	// CheckName is the check run whose absence makes a pull request be
	// re-checked (pullcheck.CheckName).
	CheckName string
	// DedupTTL is how long the open pull request sweep's synthetic
	// delivery ids are remembered; default 72h (the webhook's).
	DedupTTL time.Duration
	// Now is the clock (tests inject it); default time.Now.
	Now func() time.Time
	// Swept, if set, is told the outcome of every sweep Run makes (for
	// metrics and tests).
	Swept  func(Report, error)
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Period <= 0 {
		o.Period = 10 * time.Minute
	}
	if o.PerPage <= 0 {
		o.PerPage = 100
	}
	if o.MaxPages <= 0 {
		o.MaxPages = 10
	}
	if o.MaxAge <= 0 {
		o.MaxAge = 72 * time.Hour
	}
	if o.AskTTL <= 0 {
		o.AskTTL = time.Hour
	}
	if o.Budget <= 0 {
		o.Budget = 1000
	}
	if o.CheckName == "" {
		o.CheckName = "meshbot"
	}
	if o.DedupTTL <= 0 {
		o.DedupTTL = 72 * time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Store keys (under store.Marks).
const (
	leasePrefix  = "redeliver:period:"     // + the period's start (unix s): one sweep per period
	askPrefix    = "redeliver:asked:"      // + guid: a redelivery asked for
	highWaterKey = "redeliver:deliveries"  // newest delivery id already swept
	cursorKey    = "redeliver:pulls:after" // last installation/repository the pull sweep finished
)

// Sweeper runs the recovery sweep.
type Sweeper struct {
	gh     githubapp.Hooks
	st     Store
	opts   Options
	log    *slog.Logger
	sweeps atomic.Uint64
}

// New returns a Sweeper; opts.Holder is required.
func New(gh githubapp.Hooks, st Store, opts Options) (*Sweeper, error) {
	if opts.Holder == "" {
		return nil, errors.New("redeliver: Options.Holder is required")
	}
	opts = opts.withDefaults()
	return &Sweeper{gh: gh, st: st, opts: opts, log: opts.Logger.With(slog.String("component", "redeliver"))}, nil
}

// Period is how often Run should be ticked.
func (s *Sweeper) Period() time.Duration { return s.opts.Period }

// Report is what one sweep did.
type Report struct {
	// Skipped: another replica holds this period's sweep.
	Skipped bool
	Deliveries
	Pulls
	// Calls is how many GitHub API calls the sweep made (as the seam
	// counts them: one per page).
	Calls int
}

// Deliveries is what the delivery part of a sweep found and did.
type Deliveries struct {
	Pages     int  // pages of the delivery log read
	Listed    int  // deliveries in the window
	Failed    int  // guids with no accepted attempt
	Known     int  // of those, already accepted by meshbot (the dedup knows them)
	Claimed   int  // of those, already asked for (by this or another replica)
	Asked     int  // redeliveries requested
	Truncated bool // the window ended at MaxPages or the budget, not at the high-water mark
}

// Pulls is what the open pull request part of a sweep found and did.
type Pulls struct {
	Repos    int  // repositories looked at
	Open     int  // open pull requests looked at
	Enqueued int  // heads without a check run, enqueued for a check
	Resumed  bool // started after a previous sweep's cursor
	Done     bool // every repository was looked at (else the next sweep resumes)
}

// budget counts the API calls of one sweep.
type budget struct{ used, max int }

func (b *budget) take() bool {
	if b.used >= b.max {
		return false
	}
	b.used++
	return true
}

// Sweep runs one sweep unless another replica already ran (or runs) the
// sweep of the current period.
func (s *Sweeper) Sweep(ctx context.Context) (Report, error) {
	now := s.opts.Now()
	slot := now.Truncate(s.opts.Period)
	// The lease outlives the period a little so a slow clock cannot let a
	// replica take a period that another already swept.
	// The holder is new per sweep: this replica's next tick in the same
	// period must not count as the holder extending its lease.
	holder := s.opts.Holder + "#" + strconv.FormatUint(s.sweeps.Add(1), 10)
	ok, err := s.st.Acquire(ctx, leasePrefix+strconv.FormatInt(slot.Unix(), 10), holder, 2*s.opts.Period)
	if err != nil {
		return Report{}, fmt.Errorf("redeliver: %w", err)
	}
	if !ok {
		return Report{Skipped: true}, nil
	}
	b := &budget{max: s.opts.Budget}
	var rep Report
	rep.Deliveries, err = s.deliveries(ctx, now, b)
	rep.Calls = b.used
	if err != nil {
		return rep, err
	}
	rep.Pulls, err = s.pulls(ctx, b)
	rep.Calls = b.used
	s.log.InfoContext(ctx, "redeliver: sweep done",
		"listed", rep.Listed, "failed", rep.Failed, "known", rep.Known, "asked", rep.Asked, "truncated", rep.Truncated,
		"repos", rep.Repos, "open_pulls", rep.Open, "enqueued", rep.Enqueued, "pulls_done", rep.Done, "calls", rep.Calls)
	return rep, err
}

// Run sweeps once at once, then on every tick, until ctx ends. Errors are
// logged: the next period tries again.
func (s *Sweeper) Run(ctx context.Context, tick <-chan time.Time) {
	for {
		rep, err := s.Sweep(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "redeliver: sweep failed; the next period resumes it", "err", err)
		}
		if s.opts.Swept != nil {
			s.opts.Swept(rep, err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick:
		}
	}
}
