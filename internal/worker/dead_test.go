package worker

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshbot/meshbot/internal/jobs"
	"github.com/meshbot/meshbot/internal/store"
)

// deadCalls records the dead-letter hook's calls.
type deadCalls struct {
	mu    sync.Mutex
	calls []jobs.Dead
	pay   []jobs.PullCheck
}

func (d *deadCalls) hook(fail error) jobs.DeadHook[jobs.PullCheck] {
	return func(_ context.Context, p jobs.PullCheck, dd jobs.Dead) error {
		d.mu.Lock()
		defer d.mu.Unlock()
		d.calls = append(d.calls, dd)
		d.pay = append(d.pay, p)
		return fail
	}
}

func (d *deadCalls) get() ([]jobs.Dead, []jobs.PullCheck) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]jobs.Dead(nil), d.calls...), append([]jobs.PullCheck(nil), d.pay...)
}

// Issue 11.5: every way a job reaches the dead-letter list runs its kind's
// dead-letter hook, once, before the job is there.
func TestDeadHookRunsForEveryDeadLetter(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Run("abandoned", func(t *testing.T) {
				s := b.open(t, fast)
				var d deadCalls
				var ran atomic.Int64
				reg := checks(func(context.Context, jobs.PullCheck, jobs.Meta) error { ran.Add(1); return nil })
				jobs.OnDead(reg, jobs.KindPullCheck, d.hook(nil))
				enqueue(t, s, "crasher", jobs.KindPullCheck, jobs.PullCheck{Owner: "acme", PR: 3})
				// Its workers die: MaxAttempts leases, none settled.
				for i := range fast.MaxAttempts {
					l, err := s.Claim(context.Background(), "dies-"+string(rune('a'+i)), 5*time.Second)
					if err != nil || l == nil || l.Abandoned {
						t.Fatalf("lease %d: %+v %v", i, l, err)
					}
				}
				start(t, New(s, reg, poolOpts()))
				eventually(t, 5*time.Second, "dead-lettered", func() bool { return stats(t, s).Dead == 1 })
				calls, pay := d.get()
				if len(calls) != 1 || calls[0].Reason != jobs.DeadAbandoned || calls[0].ID != "crasher" || pay[0].Owner != "acme" ||
					!strings.Contains(calls[0].Cause, "abandoned") {
					t.Errorf("hook calls = %+v %+v", calls, pay)
				}
				if ran.Load() != 0 {
					t.Errorf("the abandoned job's handler ran again")
				}
			})
			t.Run("last attempt and permanent", func(t *testing.T) {
				s := b.open(t, fast)
				var d deadCalls
				reg := checks(func(_ context.Context, c jobs.PullCheck, _ jobs.Meta) error {
					if c.PR == 1 {
						return store.Permanent(errors.New("hopeless"))
					}
					return errors.New("down")
				})
				jobs.OnDead(reg, jobs.KindPullCheck, d.hook(nil))
				enqueue(t, s, "perm", jobs.KindPullCheck, jobs.PullCheck{PR: 1})
				enqueue(t, s, "flaky", jobs.KindPullCheck, jobs.PullCheck{PR: 2})
				start(t, New(s, reg, poolOpts()))
				eventually(t, 5*time.Second, "both dead-lettered", func() bool { return stats(t, s).Dead == 2 })
				calls, _ := d.get()
				got := map[string]jobs.Dead{}
				for _, c := range calls {
					got[c.ID] = c
				}
				if len(calls) != 2 || got["perm"].Reason != jobs.DeadFailed || got["perm"].Attempt != 1 ||
					got["flaky"].Reason != jobs.DeadFailed || got["flaky"].Attempt != fast.MaxAttempts || got["flaky"].Cause != "down" {
					t.Errorf("hook calls = %+v", calls)
				}
			})
			t.Run("undecodable", func(t *testing.T) {
				s := b.open(t, fast)
				var d deadCalls
				reg := checks(func(context.Context, jobs.PullCheck, jobs.Meta) error { return nil })
				jobs.OnDead(reg, jobs.KindPullCheck, d.hook(nil))
				// pr is not a number: the payload does not decode, but what
				// does is handed to the hook.
				if err := s.Enqueue(context.Background(), store.Job{ID: "garbled", Kind: "check",
					Payload: []byte(`{"owner":"acme","repo":"mesh","pr":"seven","head_sha":"abc"}`)}); err != nil {
					t.Fatal(err)
				}
				start(t, New(s, reg, poolOpts()))
				eventually(t, 5*time.Second, "dead-lettered", func() bool { return stats(t, s).Dead == 1 })
				calls, pay := d.get()
				if len(calls) != 1 || calls[0].Reason != jobs.DeadUndecodable || pay[0].Owner != "acme" || pay[0].HeadSHA != "abc" {
					t.Errorf("hook calls = %+v %+v", calls, pay)
				}
			})
		})
	}
}

// A hook that keeps failing (GitHub down) is tried a bounded number of
// times, logged, and the job is dead-lettered anyway.
func TestDeadHookBoundedWhenItFails(t *testing.T) {
	s := store.NewMemory(fast)
	defer s.Close()
	var d deadCalls
	reg := checks(func(context.Context, jobs.PullCheck, jobs.Meta) error { return store.Permanent(errors.New("hopeless")) })
	jobs.OnDead(reg, jobs.KindPullCheck, d.hook(errors.New("github: 502")))
	var logs syncBuffer
	opts := poolOpts()
	opts.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	opts.DeadHookBackoff = 5 * time.Millisecond
	enqueue(t, s, "j", jobs.KindPullCheck, jobs.PullCheck{})
	start(t, New(s, reg, opts))
	eventually(t, 5*time.Second, "dead-lettered", func() bool { return stats(t, s).Dead == 1 })
	if calls, _ := d.get(); len(calls) != deadHookTries {
		t.Errorf("hook tried %d times, want %d", len(calls), deadHookTries)
	}
	if !strings.Contains(logs.String(), "dead-letter hook failed, dead-lettering the job without it") {
		t.Errorf("the hook's failure is not logged:\n%s", logs.String())
	}
}
