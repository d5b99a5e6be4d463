package pullcheck

import (
	"context"
	"fmt"

	"github.com/meshbot/meshbot/internal/engine"
	"github.com/meshbot/meshbot/internal/store"
)

// approvals reads the consumers' approvals of this pull request for the
// engine, which judges whether each still holds on this head.
func (c *checker) approvals(ctx context.Context, j *job) ([]engine.Approval, error) {
	as, err := c.store.ApprovalsOf(ctx, j.Installation, store.PRKey(j.Owner, j.Repo, j.PR))
	if err != nil {
		return nil, err
	}
	out := make([]engine.Approval, 0, len(as))
	for _, a := range as {
		out = append(out, engine.Approval{Consumer: a.Consumer, By: a.By, SHA: a.SHA, Breaks: a.Breaks})
	}
	return out, nil
}

// brokenAt is what this head breaks, as `/mesh approve` reads it.
func brokenAt(sha string, bs []engine.Break) store.Breaks {
	out := store.Breaks{SHA: sha, Consumers: make([]store.BrokenConsumer, 0, len(bs))}
	for _, b := range bs {
		out.Consumers = append(out.Consumers, store.BrokenConsumer{Consumer: b.Consumer, Owner: b.Owner, Repo: b.Repo, Breaks: b.Breaks})
	}
	return out
}

// recordBreaks stores what this head breaks before the verdict is posted,
// so that whoever reads the check run and answers `/mesh approve` finds
// it. A head judged without a report (nothing changed) breaks no one.
func (c *checker) recordBreaks(ctx context.Context, j *job) error {
	b := j.breaks
	if b.SHA == "" {
		b = store.Breaks{SHA: j.HeadSHA}
	}
	if err := c.store.SetBreaks(ctx, j.Installation, store.PRKey(j.Owner, j.Repo, j.PR), b); err != nil {
		return fmt.Errorf("check %s: record broken consumers: %w", j.Key(), err)
	}
	return nil
}
