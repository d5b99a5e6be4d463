package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshbot/meshbot/internal/checkrun"
)

// Reasons a check was skipped because its verdict was already given, the
// values of the reason label of meshbot_check_replays_skipped_total.
const (
	// SkipReplay: another delivery already judged the same head with the
	// same policy and registry (a replayed or re-sent delivery).
	SkipReplay = "replay"
	// SkipRetry: a retry of this delivery found its check run completed
	// (the job ran again after its ack was lost or its worker died).
	SkipRetry = "retry"
)

// conclusions are the label values of meshbot_check_runs_completed_total:
// GitHub's conclusions meshbot uses, and "other" for any else, so that the
// label set stays bounded.
var conclusions = map[checkrun.Conclusion]bool{
	checkrun.Success: true, checkrun.Neutral: true, checkrun.Failure: true, checkrun.Cancelled: true,
}

// checkCollectors are the counters of the pull-request checks' results.
type checkCollectors struct {
	completed *prometheus.CounterVec
	skipped   *prometheus.CounterVec
}

func newCheckCollectors() checkCollectors {
	c := checkCollectors{
		completed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshbot_check_runs_completed_total",
			Help: "meshbot check runs completed, by conclusion (success, neutral, failure, cancelled, other).",
		}, []string{"conclusion"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshbot_check_replays_skipped_total",
			Help: "Checks not judged again because the verdict was already given, by reason (replay: the same head judged the same way by another delivery; retry: this delivery's run already completed).",
		}, []string{"reason"}),
	}
	for k := range conclusions {
		c.completed.WithLabelValues(string(k))
	}
	for _, r := range []string{SkipReplay, SkipRetry} {
		c.skipped.WithLabelValues(r)
	}
	return c
}

// CheckRunCompleted counts a check run meshbot completed with conclusion.
func (m *Metrics) CheckRunCompleted(conclusion checkrun.Conclusion) {
	if m == nil {
		return
	}
	label := string(conclusion)
	if !conclusions[conclusion] {
		label = "other"
	}
	m.checks.completed.WithLabelValues(label).Inc()
}

// CheckSkipped counts a check skipped because its verdict was already
// given; reason is SkipReplay or SkipRetry.
func (m *Metrics) CheckSkipped(reason string) {
	if m == nil {
		return
	}
	if reason != SkipReplay && reason != SkipRetry {
		reason = SkipReplay
	}
	m.checks.skipped.WithLabelValues(reason).Inc()
}
