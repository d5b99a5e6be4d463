package policyrepo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/meshbot/meshbot/internal/githubapp"
	"github.com/meshbot/meshbot/internal/jobs"
	"github.com/meshbot/meshbot/internal/store"
)

// HandleRecheck enqueues a check of every open pull request of one
// repository under the active policy, each at most once per policy commit
// (the check's delivery id names the commit and the pull request, and the
// store's dedup keeps it). A job of a commit that is no longer active does
// nothing. When the installation's budget is nearly spent the job waits
// for its reset, leaving the rest to the checks people are waiting for.
func (s *Service) HandleRecheck(ctx context.Context, p jobs.PolicyRecheck, _ jobs.Meta) error {
	log := s.d.Logger.With(slog.Int64("installation", p.Installation), slog.String("repo", p.Owner+"/"+p.Repo),
		slog.String("policy_commit", p.Commit))
	cur, ok, err := s.d.Store.ActivePolicy(ctx)
	if err != nil {
		return fmt.Errorf("policy re-check: %w", err)
	}
	if !ok || cur.Commit != p.Commit {
		log.Info("policy repository: re-check skipped, another commit is active now (its own re-checks cover this repository)", "active", cur.Commit)
		return nil
	}
	if err := s.reserve(p.Installation); err != nil {
		return err
	}
	rc, err := s.d.Pulls.Rechecker(p.Installation)
	if err != nil {
		return fmt.Errorf("policy re-check: installation client: %w", err)
	}
	prs, err := rc.OpenPullRequests(ctx, p.Owner, p.Repo, 0)
	if errors.Is(err, githubapp.ErrNotFound) {
		log.Info("policy repository: re-check skipped, the repository is gone or out of the App's reach", "err", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("policy re-check: %w", err)
	}
	enqueued := 0
	for _, pr := range prs {
		c := jobs.PullCheck{Installation: p.Installation, Owner: p.Owner, Repo: p.Repo, PR: pr.Number,
			HeadSHA: pr.HeadSHA, BaseSHA: pr.BaseSHA, BaseRef: pr.BaseRef}
		// No head is recorded as the newest: the listing may already be
		// older than a push, and the check of an older head must not
		// supersede the newer one's.
		c.Delivery = recheckPrefix + p.Commit + ":" + c.Key()
		j, err := jobs.KindPullCheck.New(jobs.ID(c.Delivery, 0), c.Key(), c)
		if err != nil {
			return err
		}
		first, err := s.d.Store.EnqueueDelivery(ctx, store.Delivery{ID: c.Delivery, TTL: recheckTTL, Jobs: []store.Job{j}})
		if err != nil {
			return fmt.Errorf("policy re-check: enqueue the check of %s: %w", c.Key(), err)
		}
		if first {
			enqueued++
		}
	}
	log.Info("policy repository: open pull requests re-checked under the new policy", "open", len(prs), "enqueued", enqueued)
	return nil
}

// recheckPrefix starts the delivery id of a check a policy activation
// enqueued: "policy:<commit>:<pull request>".
const recheckPrefix = "policy:"

// recheckCommit is the policy commit a re-check was enqueued for.
func recheckCommit(delivery string) (string, bool) {
	rest, ok := strings.CutPrefix(delivery, recheckPrefix)
	if !ok {
		return "", false
	}
	commit, _, ok := strings.Cut(rest, ":")
	return commit, ok && commit != ""
}

// reserve refuses, as a rate limit the worker defers the job for, when the
// installation has fewer than RecheckReserve requests left before its
// reset.
func (s *Service) reserve(inst int64) error {
	if s.d.Budgets == nil {
		return nil
	}
	now := s.d.Now()
	for _, b := range s.d.Budgets.Snapshot() {
		if b.Installation != inst || b.Remaining < 0 || b.Remaining >= RecheckReserve || !b.Reset.After(now) {
			continue
		}
		return fmt.Errorf("policy re-check: installation %d has %d requests left until %s, kept for pull requests being checked: %w",
			inst, b.Remaining, b.Reset.Format("15:04:05"), &githubapp.RateLimitError{Reset: b.Reset, Installation: inst, Local: true})
	}
	return nil
}

func cutRepo(full string) (owner, name string, ok bool) {
	owner, name, ok = strings.Cut(full, "/")
	return owner, name, ok && owner != "" && name != ""
}
