package metrics

import (
	"context"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/meshbot/meshbot/internal/checkrun"
	"github.com/meshbot/meshbot/internal/store"
)

func TestQueueAge(t *testing.T) {
	since := time.Time{}
	m := New(statsFunc(func(context.Context) (store.QueueStats, error) {
		return store.QueueStats{Pending: 1, OldestReady: since}, nil
	}), slog.New(slog.DiscardHandler))
	age := func() float64 {
		t.Helper()
		got := regexp.MustCompile(`(?m)^meshbot_queue_oldest_ready_age_seconds (\S+)$`).FindStringSubmatch(scrape(t, m))
		if got == nil {
			t.Fatal("no meshbot_queue_oldest_ready_age_seconds")
		}
		f, err := strconv.ParseFloat(got[1], 64)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	if a := age(); a != 0 {
		t.Errorf("nothing waiting: age %v, want 0", a)
	}
	since = time.Now().Add(-90 * time.Second)
	if a := age(); a < 90 || a > 100 {
		t.Errorf("a job waiting 90s: age %v", a)
	}
	since = time.Now().Add(time.Second) // a clock ahead of this one
	if a := age(); a != 0 {
		t.Errorf("a ready time in the future: age %v, want 0", a)
	}
}

// Conclusions and skip reasons are bounded label sets, present from the
// start (so a rate() has a series before the first event).
func TestCheckCounters(t *testing.T) {
	m := New(nil, nil)
	before := scrape(t, m)
	for _, want := range []string{`conclusion="success"} 0`, `conclusion="failure"} 0`, `conclusion="neutral"} 0`,
		`conclusion="cancelled"} 0`, `reason="replay"} 0`, `reason="retry"} 0`} {
		if !strings.Contains(before, want) {
			t.Errorf("fresh scrape lacks %s", want)
		}
	}
	m.CheckRunCompleted(checkrun.Failure)
	m.CheckRunCompleted(checkrun.Conclusion("timed_out"))
	m.CheckRunCompleted(checkrun.Conclusion("anything-else"))
	m.CheckSkipped(SkipRetry)
	m.CheckSkipped("made-up")
	text := scrape(t, m)
	for _, want := range []string{
		`meshbot_check_runs_completed_total{conclusion="failure"} 1`,
		`meshbot_check_runs_completed_total{conclusion="other"} 2`,
		`meshbot_check_replays_skipped_total{reason="retry"} 1`,
		`meshbot_check_replays_skipped_total{reason="replay"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
	if strings.Contains(text, "timed_out") || strings.Contains(text, "made-up") {
		t.Error("an unknown value became a label")
	}
	var nilM *Metrics
	nilM.CheckRunCompleted(checkrun.Success)
	nilM.CheckSkipped(SkipReplay)
}
