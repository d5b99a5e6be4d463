package policyrepo

import (
	"context"
	"fmt"

	"github.com/meshbot/meshbot/internal/jobs"
)

// DivertChecks sends the check jobs of the policy repository to
// HandleCheck and every other to next. Diverting here rather than in the
// webhook catches every producer of check jobs alike (deliveries,
// `/mesh recheck`, the recovery sweep). A nil Service diverts nothing.
func (s *Service) DivertChecks(next jobs.Handler[jobs.PullCheck]) jobs.Handler[jobs.PullCheck] {
	if s == nil {
		return next
	}
	return func(ctx context.Context, c jobs.PullCheck, m jobs.Meta) error {
		if s.is(c.Owner, c.Repo) {
			return s.HandleCheck(ctx, c, m)
		}
		if err := s.catchUp(ctx, c); err != nil {
			return err
		}
		return next(ctx, c, m)
	}
}

// DivertIndex sends the index jobs of the policy repository (a push to its
// default branch, or the App installed on it) to HandlePush: it holds
// policy, not data products. Jobs of a whole installation and of other
// repositories go to next.
func (s *Service) DivertIndex(next jobs.Handler[jobs.Index]) jobs.Handler[jobs.Index] {
	if s == nil {
		return next
	}
	return func(ctx context.Context, ix jobs.Index, m jobs.Meta) error {
		if ix.Repo != "" && s.is(ix.Owner, ix.Repo) {
			return s.HandlePush(ctx, ix, m)
		}
		return next(ctx, ix, m)
	}
}

// catchUp brings this replica's policy up to the one a re-check was
// enqueued for before the check judges. The activating replica records the
// policy and enqueues its re-checks at once; another replica's follower
// switches within its notice or poll, and a re-check it picks up sooner
// would be judged, once and for all, by the policy it replaces.
func (s *Service) catchUp(ctx context.Context, c jobs.PullCheck) error {
	commit, ok := recheckCommit(c.Delivery)
	if !ok || s.d.Active == nil || s.d.Active.Record().Commit == commit {
		return nil
	}
	if err := s.d.Active.Sync(ctx); err != nil {
		return fmt.Errorf("check %s: load the policy %s it re-checks under: %w", c.Key(), commit, err)
	}
	return nil
}
