package githubapp

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
)

// FuzzRetryDecision throws arbitrary status codes and rate-limit headers at
// the retry logic: no panic, no negative wait, and a wait over the cap is
// never slept but returned as a rate limit.
func FuzzRetryDecision(f *testing.F) {
	f.Add(403, "1", "", "")
	f.Add(429, "", "0", "1700000000")
	f.Add(403, "-5", "0", "not a number")
	f.Add(502, "", "", "")
	f.Add(403, "99999999999999999999", "0", "99999999999")
	rt := &retryTransport{baseDelay: 10 * time.Millisecond, maxWait: time.Minute, maxRetries: 4, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	f.Fuzz(func(t *testing.T, status int, retryAfter, remaining, reset string) {
		h := http.Header{}
		if retryAfter != "" {
			h.Set("Retry-After", retryAfter)
		}
		if remaining != "" {
			h.Set("X-RateLimit-Remaining", remaining)
		}
		if reset != "" {
			h.Set("X-RateLimit-Reset", reset)
		}
		resp := &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader(`{"message":"x"}`))}
		for attempt := range 6 {
			d := rt.decide(context.Background(), resp, nil, attempt)
			if d.wait < 0 {
				t.Fatalf("negative wait %s", d.wait)
			}
			if d.retry && d.rateLimit == nil && d.wait > rt.maxWait {
				t.Fatalf("backoff %s over the cap", d.wait)
			}
			if !d.retry && d.rateLimit != nil {
				t.Fatalf("rate limit without retry decision")
			}
		}
	})
}
