package policyimpact

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/meshbot/meshbot/internal/index"
	"github.com/meshbot/meshbot/internal/policyeval"
	"github.com/meshbot/meshbot/internal/store"
)

// Deps are a Previewer's collaborators.
type Deps struct {
	Registry Registry
	// Policy holds the active policy; each preview reads it once, so a
	// swap during a preview does not mix two policies.
	Policy *policyeval.Swappable
	// GitHubURL and MaxChars shape the section (see RenderOptions).
	GitHubURL string
	MaxChars  int
	Now       func() time.Time // "today" for sunset windows; default time.Now
	Logger    *slog.Logger     // default slog.Default()
	// Queue, when set, takes a re-index of every repository a preview
	// could not read (index.Reindex, once per index.ReindexTTL), as a
	// pull request's check queues one.
	Queue store.Dedup
}

// Previewer previews proposed policies against the active one.
type Previewer struct {
	reg    Registry
	queue  store.Dedup
	policy *policyeval.Swappable
	render RenderOptions
	now    func() time.Time
	log    *slog.Logger
}

// New builds a Previewer.
func New(deps Deps) *Previewer {
	p := &Previewer{reg: deps.Registry, queue: deps.Queue, policy: deps.Policy, now: deps.Now, log: deps.Logger,
		render: RenderOptions{GitHubURL: deps.GitHubURL, MaxChars: deps.MaxChars}}
	if p.now == nil {
		p.now = time.Now
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	return p
}

// Section is a preview ready for a check run: a one-line title and a
// markdown section within the Previewer's character budget, and the report
// they were made from.
type Section struct {
	Title    string
	Markdown string
	Report   Report
}

// Preview judges the installation's registry with the active policy and
// with proposed.
func (p *Previewer) Preview(ctx context.Context, installation int64, proposed *policyeval.Set) (Report, error) {
	if p.policy == nil || p.policy.Load() == nil {
		return Report{}, errors.New("policy preview: no active policy")
	}
	rep, err := preview(ctx, p.reg, installation, p.policy.Load(), proposed, p.now(), p.log)
	if err == nil {
		p.reindex(ctx, installation, rep.NotPreviewed)
	}
	return rep, err
}

// reindex queues the repositories a preview could not read. A failure is
// logged, not returned: the preview stands without them, and says so.
func (p *Previewer) reindex(ctx context.Context, installation int64, repos []NotPreviewed) {
	if p.queue == nil {
		return
	}
	for _, r := range repos {
		log := p.log.With(slog.Int64("installation", installation), slog.String("registry_repo", r.Repo))
		d, err := index.Reindex(installation, r.Repo)
		if err == nil {
			var first bool
			if first, err = p.queue.EnqueueDelivery(ctx, d); err == nil {
				log.WarnContext(ctx, "policyimpact: repository not previewed; re-index queued", slog.String("why", r.Reason), slog.Bool("queued_now", first))
				continue
			}
		}
		log.ErrorContext(ctx, "policyimpact: repository not previewed; re-index not queued", slog.Any("err", err))
	}
}

// Section previews proposed and renders the result: what the policy
// repository's check run shows about impact.
func (p *Previewer) Section(ctx context.Context, installation int64, proposed *policyeval.Set) (Section, error) {
	rep, err := p.Preview(ctx, installation, proposed)
	if err != nil {
		return Section{}, err
	}
	return Section{Title: Title(&rep), Markdown: Markdown(&rep, p.render), Report: rep}, nil
}
