package pullcheck

import (
	"context"
	"log/slog"

	"github.com/meshbot/meshbot/internal/index"
	"github.com/meshbot/meshbot/internal/store"
)

// reindex queues a re-index of every repository whose registry record did
// not decode (another release's format, or corrupt). The check goes on with
// the rest of the registry: one unreadable repository must not fail every
// pull request of its installation. A failure to queue is logged, not
// returned, for the same reason; the next check asks again.
func (c *checker) reindex(ctx context.Context, j *job, rs []store.RepoProducts) {
	for _, r := range store.Unreadable(rs) {
		log := j.log.With(slog.String("registry_repo", r.Repo), slog.Any("cause", r.Unreadable))
		d, err := index.Reindex(j.Installation, r.Repo)
		if err == nil {
			var first bool
			if first, err = c.store.EnqueueDelivery(ctx, d); err == nil {
				log.Warn("pullcheck: registry record unreadable; judged without it, re-index queued", slog.Bool("queued_now", first))
				continue
			}
		}
		log.Error("pullcheck: registry record unreadable; judged without it, re-index not queued", slog.Any("err", err))
	}
}
