package pullcheck

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/meshbot/meshbot/internal/metrics"
)

// The checks' results reach /metrics: runs completed by conclusion, and
// checks skipped because the verdict was given already (a replay under a
// new delivery id, a retry whose run had completed).
func TestCheckMetrics(t *testing.T) {
	e := newEnv(t, true)
	m := metrics.New(nil, quiet())
	deps := e.deps
	deps.Metrics = m
	h := New(deps)
	c := e.scenario("breaking-consumer", 70) // fails: a consumer breaks
	if err := e.run(h, c, 1); err != nil {
		t.Fatal(err)
	}
	ok := e.scenario("clean-change", 71)
	if err := e.run(h, ok, 1); err != nil {
		t.Fatal(err)
	}
	if err := e.run(h, ok, 2); err != nil { // its ack was lost: a retry
		t.Fatal(err)
	}
	c.Delivery = "replayed"
	if err := e.run(h, c, 1); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	text := rec.Body.String()
	for _, want := range []string{
		`meshbot_check_runs_completed_total{conclusion="failure"} 1`,
		`meshbot_check_runs_completed_total{conclusion="success"} 1`,
		`meshbot_check_replays_skipped_total{reason="replay"} 1`,
		`meshbot_check_replays_skipped_total{reason="retry"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
