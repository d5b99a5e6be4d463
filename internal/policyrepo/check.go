package policyrepo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/meshbot/meshbot/internal/checkrun"
	"github.com/meshbot/meshbot/internal/githubapp"
	"github.com/meshbot/meshbot/internal/jobs"
	"github.com/meshbot/meshbot/internal/store"
)

// Titles of outcomes decided here.
const (
	TitleUnfinished = "meshbot could not finish this policy check"
	TitleSuperseded = "Superseded by a newer commit"
)

// run is one check run this package posts, from creation to completion.
type run struct {
	cl           githubapp.Installation
	owner, repo  string
	sha          string
	externalID   string
	id           int64
	attempt      int
	title, intro string
}

// start creates the run in progress, or on a retry finds the one this
// delivery created; done reports that it was already completed.
func (s *Service) start(ctx context.Context, r *run) (done bool, err error) {
	if r.attempt > 1 && r.externalID != "" {
		runs, err := r.cl.CheckRuns(ctx, r.owner, r.repo, r.sha, CheckName)
		if err != nil {
			return false, err
		}
		for _, cr := range runs {
			if cr.ExternalID == r.externalID {
				r.id = cr.ID
				return cr.Completed, nil
			}
		}
	}
	id, err := r.cl.CreateCheckRun(ctx, r.owner, r.repo, githubapp.NewCheckRun{
		Name: CheckName, HeadSHA: r.sha, ExternalID: r.externalID, StartedAt: s.d.Now(), Title: r.title, Summary: r.intro,
	})
	if err != nil {
		return false, err
	}
	r.id = id
	return false, nil
}

// finishUnfinished completes r (creating it when need be) saying why no
// verdict could be reached, when the job ends for good.
func (s *Service) finishUnfinished(ctx context.Context, r *run, cause error, m jobs.Meta, log *slog.Logger) {
	var rl *githubapp.RateLimitError
	if ctx.Err() != nil || errors.As(cause, &rl) || (!store.IsPermanent(cause) && !m.Last) {
		return // retried or deferred: the run stays in progress meanwhile
	}
	msg := strings.ReplaceAll(cause.Error(), "`", "'")
	if len(msg) > 2000 {
		msg = strings.ToValidUTF8(msg[:2000], "") + "…"
	}
	what := fmt.Sprintf("meshbot gave up after %d attempt(s): GitHub or meshbot's store kept failing.", m.Attempt)
	if store.IsPermanent(cause) {
		what = "meshbot hit an error that retrying cannot fix."
	}
	out := checkrun.Output{Conclusion: checkrun.Failure, Title: TitleUnfinished, Summary: what +
		"\n\n**What to do:** fix the cause below if it is in this repository and push again; otherwise tell meshbot's operators.\n\n**Error:** `" + msg + "`"}
	if r.id == 0 {
		if _, err := s.start(ctx, r); err != nil {
			log.Error("policy repository: could not create the check run to say the job failed", "err", err)
			return
		}
	}
	if err := r.cl.CompleteCheckRun(ctx, r.owner, r.repo, r.id, out); err != nil {
		log.Error("policy repository: could not complete the check run to say the job failed", "err", err)
		return
	}
	log.Warn("policy repository: job ends without a verdict, check run completed saying so", "check_run", r.id, "err", cause)
}

// HandleCheck is the policy repository's pull-request check: fetch the
// proposed bundle at the head SHA, compile it in the sandbox, run its
// tests, preview its impact, and complete the `meshbot` check run.
func (s *Service) HandleCheck(ctx context.Context, chk jobs.PullCheck, m jobs.Meta) error {
	log := s.d.Logger.With(slog.String("delivery", chk.Delivery), slog.Int64("installation", chk.Installation),
		slog.String("repo", chk.Owner+"/"+chk.Repo), slog.Int("pr", chk.PR), slog.String("sha", chk.HeadSHA))
	if chk.HeadSHA == "" {
		return store.Permanent(fmt.Errorf("policy check %s: no head SHA", m.ID))
	}
	if chk.PR == 0 {
		log.Info("policy repository: commit of no pull request, nothing to check")
		return nil
	}
	if latest, err := s.d.Store.IsLatest(ctx, chk.Key(), chk.HeadSHA); err != nil {
		return fmt.Errorf("policy check %s: newest head: %w", chk.Key(), err)
	} else if !latest {
		log.Info("policy repository: superseded by a newer head before it started, skipped")
		return nil
	}
	cl, err := s.d.GitHub.Installation(chk.Installation)
	if err != nil {
		return fmt.Errorf("policy check %s: installation client: %w", chk.Key(), err)
	}
	r := &run{cl: cl, owner: chk.Owner, repo: chk.Repo, sha: chk.HeadSHA, externalID: chk.Delivery, attempt: m.Attempt,
		title: "Checking the policy", intro: "meshbot is compiling and testing the proposed policy."}
	err = s.check(ctx, chk, r, log)
	if err != nil {
		s.finishUnfinished(ctx, r, err, m, log)
	}
	return err
}

func (s *Service) check(ctx context.Context, chk jobs.PullCheck, r *run, log *slog.Logger) error {
	done, err := s.start(ctx, r)
	if err != nil {
		return fmt.Errorf("policy check %s: %w", chk.Key(), err)
	}
	if done {
		log.Info("policy repository: this delivery's check run is already complete", "check_run", r.id)
		return nil
	}
	cctx, calls := githubapp.CountCalls(ctx)
	b, err := fetch(cctx, r.cl, chk.Owner, chk.Repo, chk.HeadSHA)
	if err != nil {
		return err
	}
	v, err := verify(ctx, b)
	if err != nil {
		return err
	}
	var sec *Section
	var secErr error
	if v.Set != nil && s.d.Preview != nil {
		got, err := s.d.Preview(ctx, chk.Installation, v.Set)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			secErr = err
		} else {
			sec = &got
		}
	}
	out := report(v, calls.N(), sec, secErr)
	if latest, err := s.d.Store.IsLatest(ctx, chk.Key(), chk.HeadSHA); err != nil {
		return fmt.Errorf("policy check %s: newest head: %w", chk.Key(), err)
	} else if !latest {
		out = checkrun.Output{Conclusion: checkrun.Cancelled, Title: TitleSuperseded, Summary: fmt.Sprintf(
			"A newer commit was pushed to pull request #%d while meshbot was checking %s; the check run of the newest commit has the verdict.", chk.PR, chk.HeadSHA)}
	}
	if err := r.cl.CompleteCheckRun(ctx, chk.Owner, chk.Repo, r.id, out); err != nil {
		return fmt.Errorf("policy check %s: %w", chk.Key(), err)
	}
	log.Info("policy repository: pull request checked", "check_run", r.id, "conclusion", out.Conclusion, "title", out.Title,
		"reason", v.Reason(), "files", len(b.Files), "github_calls", calls.N(), "annotations", len(out.Annotations))
	return nil
}
