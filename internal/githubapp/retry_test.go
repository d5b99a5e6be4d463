package githubapp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
)

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func TestRetries(t *testing.T) {
	for _, tc := range []struct {
		name      string
		fail      int
		status    int
		headers   func() http.Header
		wantErr   bool
		wantRL    bool // a *RateLimitError
		attempts  int  // requests to GET /repos/acme/mesh
		minWait   time.Duration
		maxElapse time.Duration
	}{
		{name: "502 twice", fail: 2, status: 502, attempts: 3, maxElapse: 2 * time.Second},
		{name: "503 then ok", fail: 1, status: 503, attempts: 2, maxElapse: 2 * time.Second},
		{name: "502 beyond max retries", fail: 5, status: 502, wantErr: true, attempts: 5, maxElapse: 2 * time.Second},
		{name: "plain 403 not retried", fail: 1, status: 403, wantErr: true, attempts: 1, maxElapse: time.Second},
		{name: "404 not retried", fail: 1, status: 404, wantErr: true, attempts: 1, maxElapse: time.Second},
		{name: "secondary Retry-After 1s", fail: 1, status: 403, headers: func() http.Header { return hdr("Retry-After", "1") },
			attempts: 2, minWait: time.Second, maxElapse: 3 * time.Second},
		{name: "429 Retry-After 1s", fail: 1, status: 429, headers: func() http.Header { return hdr("Retry-After", "1") },
			attempts: 2, minWait: time.Second, maxElapse: 3 * time.Second},
		{name: "secondary beyond the cap", fail: 1, status: 403, headers: func() http.Header { return hdr("Retry-After", "3600") },
			wantErr: true, wantRL: true, attempts: 1, maxElapse: time.Second},
		{name: "primary beyond the cap", fail: 1, status: 403, headers: func() http.Header {
			return hdr("X-RateLimit-Remaining", "0", "X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10))
		}, wantErr: true, wantRL: true, attempts: 1, maxElapse: time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOpts{})
			ctx := context.Background()
			if _, err := e.client.DefaultBranch(ctx, "acme", "mesh"); err != nil { // token first
				t.Fatal(err)
			}
			var h http.Header
			if tc.headers != nil {
				h = tc.headers()
			}
			before := e.count("GET", "/repos/acme/mesh")
			e.fake.FailNext(tc.fail, tc.status, h)
			start := time.Now()
			_, err := e.client.DefaultBranch(ctx, "acme", "mesh")
			elapsed := time.Since(start)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			var rl *RateLimitError
			if errors.As(err, &rl) != tc.wantRL {
				t.Fatalf("err = %v (%T), want RateLimitError: %v", err, err, tc.wantRL)
			}
			if tc.wantRL && time.Until(rl.Reset) < time.Minute {
				t.Errorf("reset %s is not the hour GitHub asked for", rl.Reset)
			}
			if got := e.count("GET", "/repos/acme/mesh") - before; got != tc.attempts {
				t.Errorf("%d attempts, want %d", got, tc.attempts)
			}
			if elapsed < tc.minWait || elapsed > tc.maxElapse {
				t.Errorf("took %s, want between %s and %s", elapsed, tc.minWait, tc.maxElapse)
			}
		})
	}
}

func TestPrimaryLimitResetHonoured(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	if _, err := e.client.DefaultBranch(ctx, "acme", "mesh"); err != nil {
		t.Fatal(err)
	}
	reset := time.Now().Add(2 * time.Second).Truncate(time.Second)
	e.fake.FailNext(1, 403, hdr("X-RateLimit-Remaining", "0", "X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10)))
	if _, err := e.client.DefaultBranch(ctx, "acme", "mesh"); err != nil {
		t.Fatal(err)
	}
	reqs := e.fake.Requests()
	last := reqs[len(reqs)-1]
	if last.Status != 200 || last.Time.Before(reset) {
		t.Errorf("retried at %s (status %d), before the reset at %s", last.Time.Format(time.StampMilli), last.Status, reset.Format(time.StampMilli))
	}
}

// A success that spends the last of the quota makes go-github refuse
// further calls by itself until the reset; that refusal is a RateLimitError
// too, without another request.
func TestQuotaSpentOnSuccess(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	if _, err := e.client.DefaultBranch(ctx, "acme", "mesh"); err != nil {
		t.Fatal(err)
	}
	reset := time.Now().Add(30 * time.Minute)
	e.fake.FailNext(1, 200, hdr("X-RateLimit-Limit", "5000", "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10)))
	if _, err := e.client.DefaultBranch(ctx, "acme", "mesh"); err != nil {
		t.Fatalf("the last allowed call: %v", err)
	}
	before := len(e.fake.Requests())
	_, err := e.client.DefaultBranch(ctx, "acme", "mesh")
	var rl *RateLimitError
	if !errors.As(err, &rl) || rl.Reset.Unix() != reset.Unix() {
		t.Fatalf("err = %v, want a RateLimitError until %s", err, reset)
	}
	if n := len(e.fake.Requests()) - before; n != 0 {
		t.Errorf("%d requests sent while the quota was spent", n)
	}
}

func TestRetryTokenExchangeAndBodies(t *testing.T) {
	e := newEnv(t, envOpts{})
	sha := e.repo.Commit("main", map[string][]byte{"a": []byte("a")})
	ctx := context.Background()
	// The very first request is the token exchange: it is retried too.
	e.fake.FailNext(1, 502, nil)
	id, err := e.client.CreateCheckRun(ctx, "acme", "mesh", NewCheckRun{Name: "meshbot", HeadSHA: sha})
	if err != nil {
		t.Fatal(err)
	}
	if n := e.count("POST", "/app/installations/7/access_tokens"); n != 2 {
		t.Errorf("token exchange attempts = %d, want 2", n)
	}
	// A request with a body is replayed whole.
	e.fake.FailNext(2, 504, nil)
	if err := e.client.patchCheckRun(ctx, "acme", "mesh", id, checkRunPatch{
		Output: &github.CheckRunOutput{Title: github.String("t"), Summary: github.String("replayed")},
	}); err != nil {
		t.Fatal(err)
	}
	runs := e.fake.CheckRuns("acme/mesh")
	if len(runs) != 1 || runs[0].Summary != "replayed" || runs[0].Name != "meshbot" {
		t.Errorf("check runs %+v", runs)
	}
	if n := e.count("PATCH", fmt.Sprintf("/repos/acme/mesh/check-runs/%d", id)); n != 3 {
		t.Errorf("%d PATCH attempts, want 3", n)
	}
}

func TestRetryWaitCancelled(t *testing.T) {
	e := newEnv(t, envOpts{})
	if _, err := e.client.DefaultBranch(context.Background(), "acme", "mesh"); err != nil {
		t.Fatal(err)
	}
	e.fake.FailNext(1, 403, hdr("Retry-After", "4"))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := e.client.DefaultBranch(ctx, "acme", "mesh")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the context's deadline", err)
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("cancellation took %s", el)
	}
}

func TestBackoffBounds(t *testing.T) {
	rt := &retryTransport{baseDelay: 100 * time.Millisecond, maxWait: time.Second}
	for attempt, want := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		want *= time.Millisecond
		for range 50 {
			d := rt.backoff(attempt)
			if d < want/2 || d > want {
				t.Fatalf("attempt %d: backoff %s outside [%s, %s]", attempt, d, want/2, want)
			}
		}
	}
}
