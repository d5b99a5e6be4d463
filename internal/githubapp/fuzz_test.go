package githubapp

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
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

// FuzzTruncate: the result fits, is valid UTF-8 where the input was, and
// anything within the limit is untouched.
func FuzzTruncate(f *testing.F) {
	f.Add("hello", 3)
	f.Add(strings.Repeat("é", 300), 120)
	f.Add("", 0)
	f.Fuzz(func(t *testing.T, s string, limit int) {
		if limit < 0 || limit > 1<<16 {
			return
		}
		got := Truncate(s, limit)
		n := utf8.RuneCountInString(s)
		if n <= limit && got != s {
			t.Fatalf("changed a text within the limit")
		}
		if n > limit {
			if utf8.ValidString(s) && !utf8.ValidString(got) {
				t.Fatalf("cut inside a character")
			}
			if limit >= 100 && utf8.RuneCountInString(got) > limit {
				t.Fatalf("%d characters over the limit %d", utf8.RuneCountInString(got), limit)
			}
			if !strings.Contains(got, "truncated:") {
				t.Fatalf("no note")
			}
		}
	})
}
