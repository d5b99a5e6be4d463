package metrics

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/meshbot/meshbot/internal/store"
)

type statsFunc func(context.Context) (store.QueueStats, error)

func (f statsFunc) Stats(ctx context.Context) (store.QueueStats, error) { return f(ctx) }

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("scrape: %d", rec.Code)
	}
	return rec.Body.String()
}

func TestMetrics(t *testing.T) {
	down := false
	q := statsFunc(func(context.Context) (store.QueueStats, error) {
		if down {
			return store.QueueStats{}, errors.New("redis: connection refused")
		}
		return store.QueueStats{Pending: 3, InFlight: 2, Delayed: 1, Dead: 4}, nil
	})
	m := New(q, slog.New(slog.DiscardHandler))
	m.Delivery("", OutcomeUnauthorized, time.Millisecond)
	m.Delivery("push", OutcomeAccepted, 2*time.Millisecond)
	m.Enqueued("index")
	m.JobDone("check", 30*time.Millisecond, nil)
	m.JobDone("check", time.Second, errors.New("github: 502"))
	m.JobDone("index", time.Second, store.Permanent(errors.New("no app")))
	m.SetPolicy("v1", "bundled")
	m.SetPolicy("v2", "/policy")
	text := scrape(t, m)
	for _, want := range []string{
		`meshbot_webhook_deliveries_total{event="unverified",outcome="unauthorized"} 1`,
		`meshbot_webhook_deliveries_total{event="push",outcome="accepted"} 1`,
		`meshbot_jobs_enqueued_total{kind="index"} 1`,
		`meshbot_jobs_total{kind="check",outcome="succeeded"} 1`,
		`meshbot_jobs_total{kind="check",outcome="failed"} 1`,
		`meshbot_jobs_total{kind="index",outcome="permanent"} 1`,
		`meshbot_policy_info{source="/policy",version="v2"} 1`,
		`meshbot_queue_jobs{state="pending"} 3`,
		`meshbot_queue_jobs{state="in_flight"} 2`,
		`meshbot_queue_jobs{state="delayed"} 1`,
		`meshbot_queue_jobs{state="dead"} 4`,
		`meshbot_queue_up 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
	if strings.Contains(text, `version="v1"`) {
		t.Error("the replaced policy version is still reported")
	}
	down = true
	text = scrape(t, m)
	if !strings.Contains(text, "meshbot_queue_up 0") || strings.Contains(text, "meshbot_queue_jobs{") {
		t.Errorf("with the store down: %s", text)
	}
}

func TestNilMetricsIsNoOp(t *testing.T) {
	var m *Metrics
	m.Delivery("push", OutcomeAccepted, time.Millisecond)
	m.Enqueued("check")
	m.JobDone("check", time.Millisecond, nil)
	m.SetPolicy("v", "s")
}

func TestRegistriesAreSeparate(t *testing.T) {
	a, b := New(nil, nil), New(nil, nil)
	a.Enqueued("check")
	if strings.Contains(scrape(t, b), `meshbot_jobs_enqueued_total{kind="check"}`) {
		t.Error("a count recorded in one Metrics shows in another")
	}
}
