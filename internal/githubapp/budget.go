package githubapp

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Budgets keeps, per installation, what GitHub said of its primary rate
// limit (the X-RateLimit-* headers of every answer, or the refusal that
// spent it) and counts the calls made. An installation whose budget is
// known to be spent is not called again before its reset: its requests
// fail at once with a *RateLimitError, so the queue defers the job instead
// of spending a request (and a worker) to hear the same refusal. The
// record is per process; another replica learns the limit from its own
// first refusal.
type Budgets struct {
	now func() time.Time

	mu   sync.Mutex
	inst map[int64]*budget
}

type budget struct {
	calls     int64     // requests sent to GitHub for the installation
	remaining int64     // -1 until an answer said
	reset     time.Time // when remaining refills
	spent     bool      // a refusal said the budget is gone until reset
	refused   int64     // requests refused here, without calling GitHub
	waiting   int64     // jobs deferred to reset (JobWaiting)
}

// NewBudgets returns an empty record; now is its clock (nil: time.Now).
func NewBudgets(now func() time.Time) *Budgets {
	if now == nil {
		now = time.Now
	}
	return &Budgets{now: now, inst: map[int64]*budget{}}
}

// Budget is one installation's record, for /metrics.
type Budget struct {
	Installation int64
	Calls        int64     // requests sent to GitHub
	Refused      int64     // requests refused locally because the budget was spent
	Remaining    int64     // -1 when GitHub has not said yet
	Reset        time.Time // zero when unknown
	Waiting      int64     // jobs deferred until the current reset
}

// Snapshot lists every installation seen, by id.
func (b *Budgets) Snapshot() []Budget {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	out := make([]Budget, 0, len(b.inst))
	for id, r := range b.inst {
		b.expire(r, now)
		out = append(out, Budget{Installation: id, Calls: r.calls, Refused: r.refused, Remaining: r.remaining, Reset: r.reset, Waiting: r.waiting})
	}
	slices.SortFunc(out, func(x, y Budget) int { return int(x.Installation - y.Installation) })
	return out
}

// JobWaiting records that a job was deferred because of err, when err is a
// primary rate limit of an installation: it counts among that
// installation's jobs waiting for the reset until the reset passes.
func (b *Budgets) JobWaiting(err error) {
	var rl *RateLimitError
	if b == nil || !errors.As(err, &rl) || rl.Installation == 0 || rl.Secondary {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.get(rl.Installation)
	b.expire(r, b.now())
	if r.reset.IsZero() || rl.Reset.After(r.reset) {
		r.reset = rl.Reset
	}
	r.waiting++
}

// get returns the installation's record. The caller holds mu.
func (b *Budgets) get(id int64) *budget {
	r := b.inst[id]
	if r == nil {
		r = &budget{remaining: -1}
		b.inst[id] = r
	}
	return r
}

// expire forgets a spent budget and its waiting jobs once the reset has
// passed: those jobs are due again. The caller holds mu.
func (b *Budgets) expire(r *budget, now time.Time) {
	if !r.reset.IsZero() && !now.Before(r.reset) {
		r.spent, r.waiting = false, 0
	}
}

// admit counts a call and says whether it may go to GitHub; when not, it
// returns the reset to wait for.
func (b *Budgets) admit(id int64) (time.Time, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.get(id)
	b.expire(r, b.now())
	if r.spent {
		r.refused++
		return r.reset, false
	}
	r.calls++
	return time.Time{}, true
}

// observe records what an answer said of the budget.
func (b *Budgets) observe(id int64, resp *http.Response, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.get(id)
	var rl *RateLimitError
	switch {
	case errors.As(err, &rl) && !rl.Secondary:
		r.remaining, r.reset, r.spent = 0, rl.Reset, true
	case resp != nil:
		rem, perr := strconv.ParseInt(resp.Header.Get("X-RateLimit-Remaining"), 10, 64)
		if perr != nil {
			return
		}
		r.remaining = rem
		if reset, perr := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); perr == nil {
			r.reset = time.Unix(reset, 0)
		}
	}
}

// budgetTransport sits above an installation's token transport, so a spent
// budget costs neither a token refresh nor a request.
type budgetTransport struct {
	id   int64
	b    *Budgets
	next http.RoundTripper
}

func (t *budgetTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if reset, ok := t.b.admit(t.id); !ok {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, &RateLimitError{Reset: reset, Installation: t.id, Method: req.Method, URL: req.URL.Redacted(), Local: true}
	}
	if n, ok := req.Context().Value(callCountKey{}).(*CallCount); ok {
		n.n.Add(1)
	}
	resp, err := t.next.RoundTrip(req)
	var rl *RateLimitError
	if errors.As(err, &rl) {
		rl.Installation = t.id
	}
	t.b.observe(t.id, resp, err)
	return resp, err
}

// CallCount counts the GitHub requests made under one context: the calls
// one job made.
type CallCount struct{ n atomic.Int64 }

// N is the number of requests sent so far.
func (c *CallCount) N() int64 { return c.n.Load() }

type callCountKey struct{}

// CountCalls returns a context under which every request an Installation
// sends to GitHub is counted in the returned CallCount.
func CountCalls(ctx context.Context) (context.Context, *CallCount) {
	c := &CallCount{}
	return context.WithValue(ctx, callCountKey{}, c), c
}
