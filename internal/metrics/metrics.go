// Package metrics is meshbot's Prometheus registry: what the webhook intake
// and the workers record, and the queue's state read from the store at
// scrape time. Each Metrics owns its registry (no global one), so tests and
// several servers in one process never share counters.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/meshbot/meshbot/internal/store"
)

// Delivery outcomes, the values of the outcome label of
// meshbot_webhook_deliveries_total.
const (
	OutcomeAccepted     = "accepted"     // jobs durably enqueued, 202
	OutcomeDuplicate    = "duplicate"    // a redelivery already accepted, 202
	OutcomeIgnored      = "ignored"      // nothing for meshbot to do, 202
	OutcomePing         = "ping"         // 200
	OutcomeUnauthorized = "unauthorized" // missing or wrong signature, 401
	OutcomeBadRequest   = "bad_request"  // malformed, 400
	OutcomeTooLarge     = "too_large"    // over 25 MB, 413
	OutcomeUnavailable  = "unavailable"  // the store failed, 503
	OutcomeOverloaded   = "overloaded"   // the budget for bodies in flight was spent, 503 unread
	OutcomeTimeout      = "timeout"      // the body did not arrive in time, 408
)

// Values of the event label of meshbot_webhook_deliveries_total besides the
// events the intake knows by name: the label set stays bounded whatever
// event names reach it.
const (
	EventUnverified = "unverified" // refused before the signature was verified
	EventOther      = "other"      // signed, but not an event meshbot knows
)

// Job outcomes, for JobDone.
const (
	JobSucceeded = "succeeded"
	JobFailed    = "failed"    // the handler failed; the queue retries it or, after the last attempt, dead-letters it
	JobPermanent = "permanent" // failed with store.Permanent: dead-lettered at once
)

// JobOutcome is the outcome label of a handler's result.
func JobOutcome(err error) string {
	switch {
	case err == nil:
		return JobSucceeded
	case store.IsPermanent(err):
		return JobPermanent
	}
	return JobFailed
}

// QueueStatter is the part of the store the queue gauges read.
type QueueStatter interface {
	Stats(ctx context.Context) (store.QueueStats, error)
}

// Metrics holds meshbot's collectors. The zero value is not usable; call New.
// A nil *Metrics is a valid no-op recorder, so packages can take one
// optionally.
type Metrics struct {
	reg         *prometheus.Registry
	deliveries  *prometheus.CounterVec
	ack         *prometheus.HistogramVec
	enqueued    *prometheus.CounterVec
	jobDuration *prometheus.HistogramVec
	jobs        *prometheus.CounterVec
	policy      *prometheus.GaugeVec
	checkCalls  *prometheus.HistogramVec
	policyRepo  policyRepo
	checks      checkCollectors
}

// New builds a registry with meshbot's collectors plus the Go runtime and
// process collectors. queue, when not nil, is asked for its Stats on every
// scrape (bounded by a 2s timeout).
func New(queue QueueStatter, log *slog.Logger) *Metrics {
	if log == nil {
		log = slog.Default()
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshbot_webhook_deliveries_total",
			Help: "Webhook deliveries received, by event and outcome.",
		}, []string{"event", "outcome"}),
		ack: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "meshbot_webhook_ack_seconds",
			Help: "Time from reading a delivery to answering it, by outcome.",
			// Acknowledgements should take milliseconds; the tail shows a
			// slow store.
			Buckets: []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, 1, 5},
		}, []string{"outcome"}),
		enqueued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshbot_jobs_enqueued_total",
			Help: "Jobs enqueued by the webhook intake, by kind.",
		}, []string{"kind"}),
		jobDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "meshbot_job_duration_seconds",
			Help:    "Time a worker spent on a job, by kind and outcome.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120},
		}, []string{"kind", "outcome"}),
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshbot_jobs_total",
			Help: "Jobs run by workers, by kind and outcome (succeeded, failed, permanent).",
		}, []string{"kind", "outcome"}),
		policy: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "meshbot_policy_info",
			Help: "The active policy: 1 for its version and source, absent otherwise.",
		}, []string{"version", "source"}),
		checkCalls: newCheckCalls(),
		checks:     newCheckCollectors(),
	}
	m.reg.MustRegister(m.checks.completed, m.checks.skipped)
	m.reg.MustRegister(m.deliveries, m.ack, m.enqueued, m.jobDuration, m.jobs, m.policy, m.checkCalls,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.policyRepo = newPolicyRepo(m.reg)
	if queue != nil {
		m.reg.MustRegister(&queueCollector{q: queue, log: log})
	}
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Delivery records one answered webhook delivery. event is "" when the
// delivery was refused before its signature was verified: an unverified
// header must not create label values. Otherwise it must come from a
// bounded set (the intake passes EventOther for names it does not know):
// every value is a time series kept for the life of the process.
func (m *Metrics) Delivery(event, outcome string, took time.Duration) {
	if m == nil {
		return
	}
	if event == "" {
		event = EventUnverified
	}
	m.deliveries.WithLabelValues(event, outcome).Inc()
	m.ack.WithLabelValues(outcome).Observe(took.Seconds())
}

// Enqueued counts a job the intake enqueued.
func (m *Metrics) Enqueued(kind string) {
	if m == nil {
		return
	}
	m.enqueued.WithLabelValues(kind).Inc()
}

// JobDone records a job a worker ran; its signature is worker.Options.Observe.
func (m *Metrics) JobDone(kind string, took time.Duration, err error) {
	if m == nil {
		return
	}
	outcome := JobOutcome(err)
	m.jobs.WithLabelValues(kind, outcome).Inc()
	m.jobDuration.WithLabelValues(kind, outcome).Observe(took.Seconds())
}

// SetPolicy records the active policy version; the previous one is dropped,
// so the gauge always names exactly one policy.
func (m *Metrics) SetPolicy(version, source string) {
	if m == nil {
		return
	}
	m.policy.Reset()
	m.policy.WithLabelValues(version, source).Set(1)
}

// queueCollector reads the queue's counts at scrape time: they live in the
// store (shared by every replica), not in this process.
type queueCollector struct {
	q   QueueStatter
	log *slog.Logger
}

var (
	queueDesc = prometheus.NewDesc("meshbot_queue_jobs",
		"Jobs in the queue by state: pending, in_flight, delayed (waiting for a retry), dead (dead-lettered).",
		[]string{"state"}, nil)
	queueUpDesc = prometheus.NewDesc("meshbot_queue_up",
		"1 when the queue's counts could be read from the store at this scrape.", nil, nil)
	queueAgeDesc = prometheus.NewDesc("meshbot_queue_oldest_ready_age_seconds",
		"How long the oldest job ready to be claimed (new, or a retry fallen due) has waited; 0 when none waits. meshbot has one queue, shared by every kind of job.", nil, nil)
)

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- queueDesc
	ch <- queueUpDesc
	ch <- queueAgeDesc
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s, err := c.q.Stats(ctx)
	if err != nil {
		c.log.Warn("metrics: queue stats", "err", err)
		ch <- prometheus.MustNewConstMetric(queueUpDesc, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(queueUpDesc, prometheus.GaugeValue, 1)
	for state, v := range map[string]int64{
		"pending": s.Pending, "in_flight": s.InFlight, "delayed": s.Delayed, "dead": s.Dead,
	} {
		ch <- prometheus.MustNewConstMetric(queueDesc, prometheus.GaugeValue, float64(v), state)
	}
	age := 0.0
	if !s.OldestReady.IsZero() {
		// Clocks of replicas and Redis may disagree by a little: never negative.
		age = max(time.Since(s.OldestReady).Seconds(), 0)
	}
	ch <- prometheus.MustNewConstMetric(queueAgeDesc, prometheus.GaugeValue, age)
}
