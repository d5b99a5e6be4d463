package pullcheck

import (
	"context"
	"log/slog"

	"github.com/meshbot/meshbot/internal/mesh"
	"github.com/meshbot/meshbot/internal/reminders"
)

// recordThreads makes this pull request the thread the sunset reminders of
// a deprecation go to when its head writes that deprecation or changes its
// terms: a deprecation written by hand, not through /mesh deprecate (which
// records its own pull request), then still reaches its consumers once it
// is merged. The newest pull request proposing the terms is where they are
// discussed; one that leaves a deprecation as the base has it changes
// nothing. Reminders are not the check's verdict, so a failure to record
// is logged, not the job's error.
func (c *checker) recordThreads(ctx context.Context, j *job, head, base *mesh.Mesh) {
	th := reminders.Thread{Repo: j.fullName(), Number: j.PR}
	record := func(product, port string) {
		if err := reminders.RecordThread(ctx, c.store, j.Installation, product, port, th); err != nil {
			j.log.Warn("pullcheck: the reminder thread of a deprecation was not recorded", slog.String("target", product+"/"+port), slog.Any("err", err))
			return
		}
		j.log.Info("pullcheck: this pull request is the reminder thread of a deprecation", slog.String("product", product), slog.String("port", port))
	}
	for _, p := range head.Products {
		var old *mesh.Product
		if base != nil {
			for _, b := range base.Products {
				if b.ID() == p.ID() {
					old = b
					break
				}
			}
		}
		var oldDep *mesh.Deprecation
		if old != nil {
			oldDep = old.Deprecation
		}
		if newTerms(p.Deprecation, oldDep) {
			record(p.ID(), "")
		}
		for _, o := range p.OutputPorts {
			if o == nil {
				continue
			}
			var was *mesh.Deprecation
			if old != nil {
				if op := old.OutputPort(o.Name); op != nil {
					was = op.Deprecation
				}
			}
			if newTerms(o.Deprecation, was) {
				record(p.ID(), o.Name)
			}
		}
	}
}

// newTerms: the head has a deprecation the base has not, or other terms.
func newTerms(head, base *mesh.Deprecation) bool {
	if head == nil {
		return false
	}
	return base == nil || head.Sunset != base.Sunset || head.Replacement != base.Replacement || head.Reason != base.Reason
}
