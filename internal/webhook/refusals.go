package webhook

import (
	"log/slog"
	"sort"
	"sync"
	"time"
)

// DefaultRefusalLogInterval is how often refusals of unauthenticated
// requests are summed up in the log.
const DefaultRefusalLogInterval = time.Minute

// maxRemotes bounds the distinct client addresses a summary counts.
const maxRemotes = 1000

// refusalLog logs requests refused before their signature was verified at a
// bounded rate: whoever can reach /webhook can send them as fast as the
// network allows, and a line for each would turn a flood into a log flood.
// The first refusal after a quiet interval is logged as it happens; the ones
// after it are counted and summed up in one line per interval for as long as
// they keep coming.
type refusalLog struct {
	log      *slog.Logger
	interval time.Duration

	mu      sync.Mutex
	armed   bool // a summary is due at the end of the current interval
	counts  map[string]int
	remotes map[string]struct{}
	timer   *time.Timer
}

func newRefusalLog(log *slog.Logger, interval time.Duration) *refusalLog {
	if interval <= 0 {
		interval = DefaultRefusalLogInterval
	}
	return &refusalLog{log: log, interval: interval, counts: map[string]int{}, remotes: map[string]struct{}{}}
}

// refused records one refusal; outcome is its metrics outcome.
func (l *refusalLog) refused(outcome, remote string, bytes int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.armed {
		l.armed = true
		l.timer = time.AfterFunc(l.interval, l.flush)
		l.log.Warn("webhook: refused an unauthenticated request; further refusals are summed up every "+l.interval.String(),
			"outcome", outcome, "remote", remote, "content_length", bytes)
		return
	}
	l.counts[outcome]++
	if len(l.remotes) < maxRemotes {
		l.remotes[remote] = struct{}{}
	}
}

// flush writes the summary of the interval that ended, if anything was
// refused in it, and keeps summing up for another interval; after a quiet
// one the next refusal is logged as it happens again.
func (l *refusalLog) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	total := 0
	for _, n := range l.counts {
		total += n
	}
	if total == 0 {
		l.armed = false
		return
	}
	outcomes := make([]string, 0, len(l.counts))
	for o := range l.counts {
		outcomes = append(outcomes, o)
	}
	sort.Strings(outcomes)
	attrs := []any{"refused", total, "interval", l.interval.String(), "remotes", len(l.remotes)}
	if len(l.remotes) == maxRemotes {
		attrs = append(attrs, "remotes_capped", true)
	}
	for _, o := range outcomes {
		attrs = append(attrs, o, l.counts[o])
	}
	l.log.Warn("webhook: refused unauthenticated requests", attrs...)
	clear(l.counts)
	clear(l.remotes)
	l.timer = time.AfterFunc(l.interval, l.flush)
}
