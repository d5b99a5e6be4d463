package redeliver

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/meshbot/meshbot/internal/jobs"
	"github.com/meshbot/meshbot/internal/store"
)

// pulls walks installations and their repositories in order, from the
// cursor a previous sweep left when its budget ran out, and enqueues a
// pull check for each open pull request whose head has no meshbot check
// run. The job is enqueued as the webhook enqueues one, under a delivery id
// made from the head (so a second sweep, or another replica, finds it in
// the dedup and enqueues nothing), with the head as the newest SHA of the
// pull request.
func (s *Sweeper) pulls(ctx context.Context, b *budget) (Pulls, error) {
	var rep Pulls
	after, err := s.st.Mark(ctx, cursorKey)
	if err != nil {
		return rep, fmt.Errorf("redeliver: pull sweep cursor: %w", err)
	}
	rep.Resumed = after != ""
	if !b.take() {
		return rep, nil
	}
	ids, err := s.gh.InstallationIDs(ctx)
	if err != nil {
		return rep, fmt.Errorf("redeliver: %w", err)
	}
	slices.Sort(ids)
	for _, inst := range ids {
		if after != "" && position(inst, "") < after && !strings.HasPrefix(after, position(inst, "")) {
			continue
		}
		cl, err := s.gh.Rechecker(inst)
		if err != nil {
			return rep, fmt.Errorf("redeliver: installation %d: %w", inst, err)
		}
		if !b.take() {
			return rep, nil
		}
		repos, err := cl.Repositories(ctx)
		if err != nil {
			return rep, fmt.Errorf("redeliver: %w", err)
		}
		slices.Sort(repos)
		for _, full := range repos {
			pos := position(inst, full)
			if after != "" && pos <= after {
				continue
			}
			owner, name, _ := strings.Cut(full, "/")
			if !b.take() {
				return rep, nil
			}
			prs, err := cl.OpenPullRequests(ctx, owner, name, 0)
			if err != nil {
				return rep, fmt.Errorf("redeliver: %w", err)
			}
			// Budget for the whole repository first: a repository is the
			// unit the cursor resumes from.
			if b.max-b.used < len(prs) {
				return rep, nil
			}
			rep.Repos++
			for _, pr := range prs {
				rep.Open++
				b.take()
				has, err := cl.HasCheckRun(ctx, owner, name, pr.HeadSHA, s.opts.CheckName)
				if err != nil {
					return rep, fmt.Errorf("redeliver: %w", err)
				}
				if has {
					continue
				}
				c := jobs.PullCheck{Installation: inst, Owner: owner, Repo: name, PR: pr.Number,
					HeadSHA: pr.HeadSHA, BaseSHA: pr.BaseSHA, BaseRef: pr.BaseRef}
				c.Delivery = "recheck:" + c.Key() + "@" + pr.HeadSHA
				j, err := jobs.KindPullCheck.New(jobs.ID(c.Delivery, 0), c.Key(), c)
				if err != nil {
					return rep, err
				}
				first, err := s.st.EnqueueDelivery(ctx, store.Delivery{ID: c.Delivery, TTL: s.opts.DedupTTL,
					Heads: []store.Head{{Key: c.Key(), SHA: c.HeadSHA}}, Jobs: []store.Job{j}})
				if err != nil {
					return rep, fmt.Errorf("redeliver: enqueue check of %s: %w", c.Key(), err)
				}
				if first {
					rep.Enqueued++
				}
			}
			if err := s.st.SetMark(ctx, cursorKey, pos, 0); err != nil {
				return rep, fmt.Errorf("redeliver: pull sweep cursor: %w", err)
			}
			after = pos
		}
	}
	rep.Done = true
	if err := s.st.SetMark(ctx, cursorKey, "", 0); err != nil {
		return rep, fmt.Errorf("redeliver: pull sweep cursor: %w", err)
	}
	return rep, nil
}

// position orders repositories across installations for the cursor: the
// installation id zero-padded (so it sorts as a number), then the
// repository.
func position(inst int64, repo string) string {
	return fmt.Sprintf("%020s/%s", strconv.FormatInt(inst, 10), repo)
}
