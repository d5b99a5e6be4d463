package policyrepo

import (
	"context"

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
