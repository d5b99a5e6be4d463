package pullcheck

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/meshbot/meshbot/internal/checkrun"
	"github.com/meshbot/meshbot/internal/githubapp"
	"github.com/meshbot/meshbot/internal/jobs"
)

// NewDeadHook returns the dead-letter hook of jobs.KindPullCheck (see
// jobs.OnDead): whatever dead-lettered the check (its workers died or hung
// until its attempts ran out, a payload that does not decode, a failure),
// the check run its delivery created is not left in progress. It completes
// that run, if still in progress, with conclusion failure and a summary
// saying what happened and what to do; when the head has no meshbot check
// run at all it creates one so (a required check would otherwise wait for
// ever); a run of another delivery is left alone, since it speaks for the
// head. A head that is no longer the newest of its pull request is
// completed as superseded instead.
func NewDeadHook(deps Deps) jobs.DeadHook[jobs.PullCheck] {
	return newChecker(deps).dead
}

func (c *checker) dead(ctx context.Context, chk jobs.PullCheck, d jobs.Dead) error {
	log := c.log.With(slog.String("delivery", chk.Delivery), slog.String("job", d.ID), slog.String("reason", string(d.Reason)))
	if chk.Installation == 0 || chk.Owner == "" || chk.Repo == "" || chk.HeadSHA == "" || chk.PR == 0 {
		log.Warn("pullcheck: dead-lettered check names no pull request head; no check run to complete", slog.Any("check", chk))
		return nil
	}
	cl, err := c.gh.Installation(chk.Installation)
	if err != nil {
		return fmt.Errorf("dead check %s: installation client: %w", chk.Key(), err)
	}
	runs, err := cl.CheckRuns(ctx, chk.Owner, chk.Repo, chk.HeadSHA, CheckName)
	if errors.Is(err, githubapp.ErrNotFound) {
		log.Info("pullcheck: dead-lettered check's repository or commit is gone; no check run to complete", slog.Any("err", err))
		return nil
	}
	if err != nil {
		return fmt.Errorf("dead check %s: %w", chk.Key(), err)
	}
	var mine *githubapp.CheckRun
	for i, r := range runs {
		if chk.Delivery != "" && deliveryOf(r.ExternalID) == chk.Delivery {
			mine = &runs[i]
			break
		}
	}
	switch {
	case mine != nil && mine.Completed:
		log.Info("pullcheck: dead-lettered check had completed its run already", slog.Int64("check_run", mine.ID))
		return nil
	case mine == nil && len(runs) > 0:
		log.Info("pullcheck: dead-lettered check created no run; another delivery's run speaks for the head", slog.Int64("check_run", runs[0].ID))
		return nil
	}
	out := deadOutput(chk, d)
	if stale, err := c.superseded(ctx, chk); err == nil && stale {
		if mine == nil {
			log.Info("pullcheck: dead-lettered check of a superseded head created no run; none needed")
			return nil
		}
		out = checkrun.Output{Conclusion: checkrun.Cancelled, Title: TitleSuperseded, Summary: fmt.Sprintf(
			"A newer commit was pushed to pull request #%d; the check run of the newest commit has the verdict. (This check of %s was given up: %s)", chk.PR, chk.HeadSHA, strings.TrimSuffix(out.Summary, "\n"))}
	}
	var id int64
	if mine != nil {
		id = mine.ID
	} else {
		if id, err = cl.CreateCheckRun(ctx, chk.Owner, chk.Repo, githubapp.NewCheckRun{
			Name: CheckName, HeadSHA: chk.HeadSHA, ExternalID: chk.Delivery, StartedAt: c.now(), Title: out.Title, Summary: out.Summary,
		}); err != nil {
			return fmt.Errorf("dead check %s: %w", chk.Key(), err)
		}
	}
	if err := cl.CompleteCheckRun(ctx, chk.Owner, chk.Repo, id, out); err != nil {
		return fmt.Errorf("dead check %s: %w", chk.Key(), err)
	}
	c.metrics.CheckRunCompleted(out.Conclusion)
	log.Warn("pullcheck: dead-lettered check's run completed saying so", slog.Int64("check_run", id), slog.String("conclusion", string(out.Conclusion)))
	return nil
}

// deadOutput says why a dead-lettered check has no verdict, and what to do.
func deadOutput(chk jobs.PullCheck, d jobs.Dead) checkrun.Output {
	var what string
	switch d.Reason {
	case jobs.DeadAbandoned:
		what = fmt.Sprintf("meshbot's workers stopped %d times while checking this commit (a worker crashed, was killed or ran out of time), so the check was given up.", d.Attempt-1)
	case jobs.DeadUndecodable:
		what = "meshbot could not read its own job for this check (it was written by a release that does not match this one, or damaged), so the check never ran."
	default:
		what = fmt.Sprintf("meshbot gave up on this check after %d attempt(s).", d.Attempt)
	}
	todo := "Comment `/mesh recheck` on the pull request to run the check again. If it keeps happening, tell meshbot's operators: the job is in the dead-letter list (job `" + strings.ReplaceAll(d.ID, "`", "'") + "`)."
	msg := strings.ReplaceAll(d.Cause, "`", "'")
	if len(msg) > maxErrorText {
		msg = strings.ToValidUTF8(msg[:maxErrorText], "") + "…"
	}
	return checkrun.Output{Conclusion: checkrun.Failure, Title: TitleUnfinished, Summary: fmt.Sprintf(
		"%s\n\n**What to do:** %s\n\n**Error:** `%s`", what, todo, msg)}
}
