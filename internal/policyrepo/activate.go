package policyrepo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/meshbot/meshbot/internal/checkrun"
	"github.com/meshbot/meshbot/internal/githubapp"
	"github.com/meshbot/meshbot/internal/jobs"
	"github.com/meshbot/meshbot/internal/store"
)

// recheckTTL is how long "this pull request was re-checked under this
// policy commit" is remembered: one re-check per pull request per policy
// version, for longer than any pull request waits for its review.
const recheckTTL = 30 * 24 * time.Hour

// HandlePush activates the policy repository's default branch at ix.Ref
// (its tip when empty: the App was just installed on the repository). A
// commit that is no longer the tip is left to the newer push's job, so a
// late retry never brings an older policy back. A sound bundle becomes the
// active policy on every replica and its commit gets a successful check
// run; a refused one leaves the previous policy active and its commit gets
// a failing check run saying why. Then the open pull requests of every
// repository holding data products are re-checked.
func (s *Service) HandlePush(ctx context.Context, ix jobs.Index, m jobs.Meta) error {
	log := s.d.Logger.With(slog.String("delivery", ix.Delivery), slog.Int64("installation", ix.Installation),
		slog.String("repo", ix.Owner+"/"+ix.Repo), slog.String("sha", ix.Ref))
	cl, err := s.d.GitHub.Installation(ix.Installation)
	if err != nil {
		return fmt.Errorf("policy activation: installation client: %w", err)
	}
	tip, err := tipOf(ctx, cl, ix.Owner, ix.Repo)
	if errors.Is(err, githubapp.ErrEmptyRepository) {
		// Nothing to activate; the first push will be. (A 404 is retried:
		// right after a push, a lagging GitHub replica may not know the
		// branch yet.)
		log.Info("policy repository: nothing to activate, the repository has no commit yet")
		return nil
	}
	if err != nil {
		return fmt.Errorf("policy activation: %w", err)
	}
	commit := ix.Ref
	if commit == "" {
		commit = tip
		log = log.With(slog.String("sha", tip))
	} else if commit != tip {
		log.Info("policy repository: the pushed commit is no longer the default branch's tip; the newer push activates its own", "tip", tip)
		return nil
	}
	prev, _, err := s.d.Store.ActivePolicy(ctx)
	if err != nil {
		return fmt.Errorf("policy activation: %w", err)
	}
	if prev.Commit == commit {
		// A retry after the activation: only the re-checks may be missing.
		return s.enqueueRechecks(ctx, prev, log)
	}
	r := &run{cl: cl, owner: ix.Owner, repo: ix.Repo, sha: commit, externalID: ix.Delivery, attempt: m.Attempt,
		title: "Activating the policy", intro: "meshbot is compiling and testing this commit of the policy before it becomes the active policy."}
	rec, err := s.activate(ctx, ix, r, log)
	if err != nil {
		s.finishUnfinished(ctx, r, err, m, log)
		return err
	}
	if rec == nil {
		return nil
	}
	if prev.Version == rec.Version && strings.EqualFold(prev.Repo, rec.Repo) {
		// The commit changed nothing the policy is made of (a README):
		// every verdict stands.
		log.Info("policy repository: same policy content as the previous commit, no pull request re-checked", "version", rec.Version)
		return nil
	}
	return s.enqueueRechecks(ctx, *rec, log)
}

// activate verifies the commit's bundle and records it; nil without error
// when the bundle was refused (or the run already completed).
func (s *Service) activate(ctx context.Context, ix jobs.Index, r *run, log *slog.Logger) (*store.PolicyRecord, error) {
	done, err := s.start(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("policy activation: %w", err)
	}
	if done {
		return nil, nil
	}
	cctx, calls := githubapp.CountCalls(ctx)
	b, err := fetch(cctx, r.cl, ix.Owner, ix.Repo, r.sha)
	if err != nil {
		return nil, err
	}
	v, err := verify(ctx, b)
	if err != nil {
		return nil, err
	}
	out := report(v, calls.N(), nil, nil)
	if !v.OK() {
		out.Title = "Refused as the active policy: " + out.Title
		out.Summary = "**This commit did not become the active policy**; the previous policy stays active on every replica. Fix the problems below and push again.\n\n" + out.Summary
		if err := r.cl.CompleteCheckRun(ctx, r.owner, r.repo, r.id, out); err != nil {
			return nil, fmt.Errorf("policy activation: %w", err)
		}
		if s.d.Metrics != nil {
			s.d.Metrics.PolicyRefused(string(v.Reason()))
		}
		log.Error("policy repository: commit refused as the active policy; the previous policy stays active", "reason", v.Reason(),
			"title", out.Title, "check_run", r.id)
		return nil, nil
	}
	enc, err := b.Encode()
	if err != nil {
		return nil, store.Permanent(err)
	}
	rec, err := s.d.Store.ActivatePolicy(ctx, store.PolicyRecord{
		Repo: b.Repo, Commit: b.Commit, Version: v.Set.Version(), ActivatedAt: s.d.Now().UTC(),
	}, enc)
	if err != nil {
		return nil, fmt.Errorf("policy activation: %w", err)
	}
	s.d.Active.install(rec, v.Set, "activated")
	out.Title = "Active policy: " + out.Title
	out.Summary = fmt.Sprintf("**This commit is the active policy** (version `%s`); every replica switches to it within seconds.\n\n", v.Set.Version()) + out.Summary
	out.Conclusion = checkrun.Success
	if err := r.cl.CompleteCheckRun(ctx, r.owner, r.repo, r.id, out); err != nil {
		// Activated all the same; the retry finds the record and only
		// re-checks, so the run is left to say it was in progress.
		log.Warn("policy repository: activated, but the check run could not be completed", "err", err)
	}
	log.Info("policy repository: commit activated", "version", rec.Version, "seq", rec.Seq, "bundle_bytes", len(enc),
		"github_calls", calls.N())
	return &rec, nil
}

// enqueueRechecks enqueues one re-check per repository of every
// installation that holds data products. The job's id names the policy
// commit, so a retry or a second delivery enqueues nothing twice.
func (s *Service) enqueueRechecks(ctx context.Context, rec store.PolicyRecord, log *slog.Logger) error {
	insts, err := s.d.Store.Installations(ctx)
	if err != nil {
		return fmt.Errorf("policy re-checks: %w", err)
	}
	enqueued := 0
	for _, inst := range insts {
		repos, err := s.d.Store.ProductsByRepo(ctx, inst)
		if err != nil {
			return fmt.Errorf("policy re-checks: installation %d: %w", inst, err)
		}
		for _, rp := range repos {
			if len(rp.Products) == 0 {
				continue
			}
			owner, name, ok := cutRepo(rp.Repo)
			if !ok {
				continue
			}
			id := fmt.Sprintf("policy-recheck:%s:%d/%s", rec.Commit, inst, rp.Repo)
			j, err := jobs.KindPolicyRecheck.New(jobs.ID(id, 0), "", jobs.PolicyRecheck{Installation: inst, Owner: owner, Repo: name, Commit: rec.Commit})
			if err != nil {
				return err
			}
			first, err := s.d.Store.EnqueueDelivery(ctx, store.Delivery{ID: id, TTL: recheckTTL, Jobs: []store.Job{j}})
			if err != nil {
				return fmt.Errorf("policy re-checks: %w", err)
			}
			if first {
				enqueued++
			}
		}
	}
	log.Info("policy repository: re-checks of repositories holding data products enqueued", "repositories", enqueued, "commit", rec.Commit)
	return nil
}

// tipOf is the commit the repository's default branch points at.
func tipOf(ctx context.Context, cl githubapp.Installation, owner, repo string) (string, error) {
	branch, err := cl.DefaultBranch(ctx, owner, repo)
	if err != nil {
		return "", err
	}
	return cl.BranchHead(ctx, owner, repo, branch)
}
