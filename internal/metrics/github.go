package metrics

import (
	"context"
	"errors"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshbot/meshbot/internal/githubapp"
	"github.com/meshbot/meshbot/internal/jobs"
	"github.com/meshbot/meshbot/internal/store"
)

// BudgetSource is the App's record of its installations' rate limits
// (*githubapp.Budgets).
type BudgetSource interface {
	Snapshot() []githubapp.Budget
}

// WatchBudgets exposes, per installation, GitHub's remaining primary rate
// limit and its reset, the calls sent and refused locally, and the jobs
// deferred until the reset, read from b at scrape time.
func (m *Metrics) WatchBudgets(b BudgetSource) {
	if m == nil || b == nil {
		return
	}
	m.reg.MustRegister(budgetCollector{b})
}

// CheckCalls records how many GitHub API calls one pull-request check made.
func (m *Metrics) CheckCalls(installation int64, calls int64) {
	if m == nil {
		return
	}
	m.checkCalls.WithLabelValues(strconv.FormatInt(installation, 10)).Observe(float64(calls))
}

func newCheckCalls() *prometheus.HistogramVec {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "meshbot_github_calls_per_check",
		Help: "GitHub API calls one pull-request check made (including retries, excluding token refreshes), by installation.",
		// A check that changes nothing makes 3; one contract about 7; the
		// tail is pull requests with many data product files.
		Buckets: []float64{1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 15, 20, 30, 50, 100},
	}, []string{"installation"})
}

type budgetCollector struct{ b BudgetSource }

var (
	remainingDesc = prometheus.NewDesc("meshbot_github_rate_limit_remaining",
		"Requests left in the installation's primary rate limit, as GitHub last said.", []string{"installation"}, nil)
	resetDesc = prometheus.NewDesc("meshbot_github_rate_limit_reset_timestamp_seconds",
		"When the installation's primary rate limit refills (unix time), as GitHub last said.", []string{"installation"}, nil)
	callsDesc = prometheus.NewDesc("meshbot_github_api_calls_total",
		"GitHub API requests sent for the installation by this process.", []string{"installation"}, nil)
	refusedDesc = prometheus.NewDesc("meshbot_github_api_calls_refused_total",
		"Requests for the installation not sent because its rate limit was spent until its reset.", []string{"installation"}, nil)
	waitingDesc = prometheus.NewDesc("meshbot_github_jobs_waiting_reset",
		"Jobs deferred until the installation's rate limit resets.", []string{"installation"}, nil)
)

func (c budgetCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{remainingDesc, resetDesc, callsDesc, refusedDesc, waitingDesc} {
		ch <- d
	}
}

func (c budgetCollector) Collect(ch chan<- prometheus.Metric) {
	for _, b := range c.b.Snapshot() {
		id := strconv.FormatInt(b.Installation, 10)
		if b.Remaining >= 0 {
			ch <- prometheus.MustNewConstMetric(remainingDesc, prometheus.GaugeValue, float64(b.Remaining), id)
		}
		if !b.Reset.IsZero() {
			ch <- prometheus.MustNewConstMetric(resetDesc, prometheus.GaugeValue, float64(b.Reset.Unix()), id)
		}
		ch <- prometheus.MustNewConstMetric(callsDesc, prometheus.CounterValue, float64(b.Calls), id)
		ch <- prometheus.MustNewConstMetric(refusedDesc, prometheus.CounterValue, float64(b.Refused), id)
		ch <- prometheus.MustNewConstMetric(waitingDesc, prometheus.GaugeValue, float64(b.Waiting), id)
	}
}

// CountedCheck wraps the pull-check handler: it records the GitHub calls of
// every check that ended (CheckCalls; a check deferred for a rate limit
// has not ended) and tells b of the jobs deferred until a reset.
func (m *Metrics) CountedCheck(b *githubapp.Budgets, h jobs.Handler[jobs.PullCheck]) jobs.Handler[jobs.PullCheck] {
	return func(ctx context.Context, c jobs.PullCheck, meta jobs.Meta) error {
		ctx, calls := githubapp.CountCalls(ctx)
		err := h(ctx, c, meta)
		var rl *githubapp.RateLimitError
		if errors.As(err, &rl) && !store.IsPermanent(err) {
			b.JobWaiting(err)
		} else if ctx.Err() == nil {
			m.CheckCalls(c.Installation, calls.N())
		}
		return err
	}
}

// Waiting wraps a handler of another kind so that b learns of its jobs
// deferred until a rate limit's reset.
func Waiting[P jobs.Payload](b *githubapp.Budgets, h jobs.Handler[P]) jobs.Handler[P] {
	return func(ctx context.Context, p P, meta jobs.Meta) error {
		err := h(ctx, p, meta)
		if !store.IsPermanent(err) {
			b.JobWaiting(err)
		}
		return err
	}
}
