package githubapp

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RateLimitError says GitHub refused the request for rate limiting and the
// wait is longer than the client is willing to block: whoever owns the work
// should put it back and try again after Reset.
type RateLimitError struct {
	Reset        time.Time
	Secondary    bool  // a secondary (abuse) limit rather than the hourly quota
	Installation int64 // whose budget; 0 for the App's own calls
	// Local is set when the request was not sent: an earlier answer said
	// the installation's budget is spent until Reset (Budgets).
	Local  bool
	Method string
	URL    string
}

func (e *RateLimitError) Error() string {
	kind := "primary"
	if e.Secondary {
		kind = "secondary"
	}
	how := ""
	if e.Local {
		how = " (not sent: the installation's budget is spent)"
	}
	return fmt.Sprintf("github %s rate limit on %s %s%s: retry after %s", kind, e.Method, e.URL, how, e.Reset.UTC().Format(time.RFC3339))
}

// RetryAt is when the work may be tried again. The worker defers a job
// whose error has it, without spending one of the job's attempts: a spent
// rate limit is nobody's fault and ends at a known time.
func (e *RateLimitError) RetryAt() time.Time { return e.Reset }

// retryTransport sits under ghinstallation, so installation-token requests
// are retried like every other call.
type retryTransport struct {
	next       http.RoundTripper
	maxRetries int
	baseDelay  time.Duration
	maxWait    time.Duration
	log        *slog.Logger
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		// A body that cannot be replayed is buffered once so that every
		// attempt sends the same bytes.
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("buffer request body: %w", err)
		}
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(b))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	ctx := req.Context()
	for attempt := 0; ; attempt++ {
		r := req
		if attempt > 0 {
			r = req.Clone(ctx)
			if req.GetBody != nil {
				body, err := req.GetBody()
				if err != nil {
					return nil, fmt.Errorf("replay request body: %w", err)
				}
				r.Body = body
			}
		}
		resp, err := t.next.RoundTrip(r)
		d := t.decide(ctx, resp, err, attempt)
		if d.rateLimit != nil && (d.wait > t.maxWait || attempt >= t.maxRetries) {
			discard(resp)
			d.rateLimit.Method, d.rateLimit.URL = req.Method, req.URL.Redacted()
			return nil, d.rateLimit
		}
		if !d.retry || attempt >= t.maxRetries {
			return resp, err
		}
		discard(resp)
		t.log.LogAttrs(ctx, slog.LevelWarn, "github: retrying request",
			slog.String("method", req.Method), slog.String("path", req.URL.Path),
			slog.String("reason", d.reason), slog.Int("attempt", attempt+1),
			slog.Duration("wait", d.wait))
		if err := sleep(ctx, d.wait); err != nil {
			return nil, fmt.Errorf("%s %s: gave up waiting to retry (%s): %w", req.Method, req.URL.Path, d.reason, err)
		}
	}
}

type decision struct {
	retry     bool
	wait      time.Duration
	reason    string
	rateLimit *RateLimitError // set when the wait is dictated by a rate limit
}

func (t *retryTransport) decide(ctx context.Context, resp *http.Response, err error, attempt int) decision {
	if err != nil {
		if ctx.Err() != nil {
			return decision{}
		}
		return decision{retry: true, wait: t.backoff(attempt), reason: "network: " + err.Error()}
	}
	switch code := resp.StatusCode; {
	case code == 500 || code == 502 || code == 503 || code == 504:
		return decision{retry: true, wait: t.backoff(attempt), reason: resp.Status}
	case code == http.StatusForbidden || code == http.StatusTooManyRequests:
		now := time.Now()
		if ra := resp.Header.Get("Retry-After"); ra != "" {
			secs, perr := strconv.Atoi(strings.TrimSpace(ra))
			if perr == nil && secs >= 0 {
				wait := time.Duration(secs) * time.Second
				return decision{retry: true, wait: wait, reason: "secondary rate limit (Retry-After)",
					rateLimit: &RateLimitError{Reset: now.Add(wait), Secondary: true}}
			}
		}
		if resp.Header.Get("X-RateLimit-Remaining") == "0" {
			reset, perr := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64)
			if perr == nil {
				at := time.Unix(reset, 0)
				wait := max(at.Sub(now), 0)
				return decision{retry: true, wait: wait, reason: "primary rate limit",
					rateLimit: &RateLimitError{Reset: at}}
			}
		}
		if code == http.StatusTooManyRequests || secondaryLimitBody(resp) {
			// GitHub asks for at least a minute when it names a secondary
			// limit without saying how long.
			wait := time.Minute
			return decision{retry: true, wait: wait, reason: "secondary rate limit",
				rateLimit: &RateLimitError{Reset: now.Add(wait), Secondary: true}}
		}
	}
	return decision{}
}

// secondaryLimitBody peeks at a 403's message, leaving the body readable.
func secondaryLimitBody(resp *http.Response) bool {
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return err == nil && bytes.Contains(bytes.ToLower(b), []byte("secondary rate limit"))
}

// backoff is exponential with equal jitter: half fixed, half random, so
// replicas that failed together do not retry together.
func (t *retryTransport) backoff(attempt int) time.Duration {
	d := t.baseDelay << min(attempt, 20)
	if d <= 0 || d > t.maxWait {
		d = t.maxWait
	}
	half := d / 2
	return half + rand.N(half+1)
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-tm.C:
		return nil
	}
}

func discard(resp *http.Response) {
	if resp == nil || resp.Body == nil {
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
}
