package policyrepo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/meshbot/meshbot/internal/policyeval"
	"github.com/meshbot/meshbot/internal/store"
)

// DefaultPoll is how often a replica reads the recorded active policy, in
// case it missed a notice (a dropped subscription, a Redis failover).
const DefaultPoll = 3 * time.Second

// Active is this replica's active policy and the record it came from. It
// switches only forward (a higher record Seq), so a late notice or a slow
// load never brings an older policy back.
type Active struct {
	pol     *policyeval.Swappable
	st      store.Policies
	repo    string
	webURL  string
	metrics Observer
	log     *slog.Logger
	// syncing is held by one Sync at a time: the follower and the checks
	// catching up (Service.DivertChecks) that find the replica behind at
	// once load and compile the recorded policy once, not once each.
	syncing chan struct{}

	mu     sync.Mutex
	rec    store.PolicyRecord // zero while a folder's policy judges
	failed string             // a commit that would not load here; not tried again
}

// ActiveOptions configure NewActive.
type ActiveOptions struct {
	Repo    string // owner/name of the policy repository
	WebURL  string // GitHub's web address, for links to commits (https://github.com)
	Metrics Observer
	Logger  *slog.Logger
}

// NewActive starts with pol's policy (a folder's: MESHBOT_POLICY_DIR or
// the bundled one) until the store says otherwise.
func NewActive(pol *policyeval.Swappable, st store.Policies, o ActiveOptions) *Active {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.WebURL == "" {
		o.WebURL = "https://github.com"
	}
	return &Active{pol: pol, st: st, repo: o.Repo, webURL: strings.TrimRight(o.WebURL, "/"), metrics: o.Metrics, log: o.Logger,
		syncing: make(chan struct{}, 1)}
}

// Policy is the swappable policy the checks read.
func (a *Active) Policy() *policyeval.Swappable { return a.pol }

// Record is the policy repository's record this replica judges with; zero
// while a folder's policy judges.
func (a *Active) Record() store.PolicyRecord {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.rec
}

// CommitURL is the web page of a commit of the policy repository.
func (a *Active) CommitURL(commit string) string {
	return a.webURL + "/" + a.repo + "/commit/" + commit
}

// install makes set active when rec is newer than what is; it reports
// whether it switched.
func (a *Active) install(rec store.PolicyRecord, set *policyeval.Set, how string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if rec.Seq <= a.rec.Seq {
		return false
	}
	a.pol.Swap(set.WithOrigin(policyeval.Origin{Repo: rec.Repo, Commit: rec.Commit, URL: a.CommitURL(rec.Commit)}))
	a.rec = rec
	if a.metrics != nil {
		a.metrics.PolicyCommit(rec.Repo, rec.Commit, set.Version(), how)
	}
	a.log.Info("policy switched", "repo", rec.Repo, "commit", rec.Commit, "version", set.Version(), "seq", rec.Seq, "how", how,
		"engine", set.Engine(), "rules", set.Rules())
	return true
}

// Sync loads the recorded active policy when it is newer than this
// replica's: at start-up, on a notice, and on every poll. A record of
// another repository (MESHBOT_POLICY_REPO changed) is ignored. A bundle
// that does not load here (a replica of an older release that lacks a
// built-in) keeps the previous policy and is logged once.
func (a *Active) Sync(ctx context.Context) error {
	select {
	case a.syncing <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-a.syncing }()
	rec, ok, err := a.st.ActivePolicy(ctx)
	if err != nil {
		return fmt.Errorf("policy repository: read the active policy: %w", err)
	}
	if !ok || !strings.EqualFold(rec.Repo, a.repo) {
		return nil
	}
	a.mu.Lock()
	cur, failed := a.rec, a.failed
	a.mu.Unlock()
	if rec.Seq <= cur.Seq || rec.Commit == failed {
		return nil
	}
	set, err := a.load(ctx, rec)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		a.mu.Lock()
		a.failed = rec.Commit
		a.mu.Unlock()
		a.log.Error("policy repository: the recorded active policy does not load on this replica; the previous policy stays active here",
			"repo", rec.Repo, "commit", rec.Commit, "err", err)
		return err
	}
	a.install(rec, set, "followed")
	return nil
}

func (a *Active) load(ctx context.Context, rec store.PolicyRecord) (*policyeval.Set, error) {
	raw, err := a.st.PolicyBundle(ctx, rec.Commit)
	if err != nil {
		return nil, err
	}
	b, err := DecodeBundle(raw)
	if err != nil {
		return nil, err
	}
	if b.Commit != rec.Commit {
		return nil, fmt.Errorf("policy bundle stored for %s holds commit %s", rec.Commit, b.Commit)
	}
	fsys, err := b.FS()
	if err != nil {
		return nil, err
	}
	return policyeval.Load(ctx, fsys, policyeval.Options{})
}

// Follow keeps this replica on the recorded active policy until ctx ends:
// it syncs on every notice from the store and every poll period.
func (a *Active) Follow(ctx context.Context, poll time.Duration) {
	if poll <= 0 {
		poll = DefaultPoll
	}
	tick := time.NewTicker(poll)
	defer tick.Stop()
	var notices <-chan struct{}
	subscribe := func() {
		ch, err := a.st.WatchPolicy(ctx)
		if err != nil {
			a.log.Warn("policy repository: cannot subscribe to activations; polling every "+poll.String(), "err", err)
			return
		}
		notices = ch
	}
	subscribe()
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-notices:
			if !ok {
				notices = nil // closed (connection lost): resubscribe on the next tick
				continue
			}
		case <-tick.C:
			if notices == nil {
				subscribe()
			}
		}
		if err := a.Sync(ctx); err != nil && !errors.Is(err, context.Canceled) {
			a.log.Warn("policy repository: sync", "err", err)
		}
	}
}
