package githubapp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/google/go-github/v60/github"
)

// The kinds of failure callers act on differently. Each is wrapped, so test
// with errors.Is; a rate limit is a *RateLimitError (errors.As).
var (
	// ErrNotFound: GitHub answered 404 (gone, or out of the App's reach).
	ErrNotFound = errors.New("github: not found")
	// ErrEmptyRepository: GitHub answered 409 for a repository without
	// commits ("Git Repository is empty").
	ErrEmptyRepository = errors.New("github: repository is empty")
	// ErrUnavailable: GitHub failed (5xx) or could not be reached, and the
	// retries did not help; the work may succeed later.
	ErrUnavailable = errors.New("github: unavailable")
)

// wrap adds what was being done to an API error and gives it its kind:
// 404 ErrNotFound, 409 ErrEmptyRepository, 5xx and network failures
// ErrUnavailable, and go-github's own rate-limit refusals (it stops calling
// once a response said the quota is spent) *RateLimitError, as the retry
// transport's are.
func wrap(err error, format string, args ...any) error {
	what := fmt.Sprintf(format, args...)
	var rle *github.RateLimitError
	if errors.As(err, &rle) {
		rl := &RateLimitError{Reset: rle.Rate.Reset.Time}
		if rle.Response != nil && rle.Response.Request != nil {
			rl.Method, rl.URL = rle.Response.Request.Method, rle.Response.Request.URL.Redacted()
		}
		return fmt.Errorf("%s: %w", what, rl)
	}
	var are *github.AbuseRateLimitError
	if errors.As(err, &are) {
		wait := time.Minute
		if are.RetryAfter != nil {
			wait = *are.RetryAfter
		}
		rl := &RateLimitError{Reset: time.Now().Add(wait), Secondary: true}
		if are.Response != nil && are.Response.Request != nil {
			rl.Method, rl.URL = are.Response.Request.Method, are.Response.Request.URL.Redacted()
		}
		return fmt.Errorf("%s: %w", what, rl)
	}
	var rl *RateLimitError
	if errors.As(err, &rl) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", what, err)
	}
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		switch code := er.Response.StatusCode; {
		case code == http.StatusNotFound:
			return fmt.Errorf("%s: %w (%s)", what, ErrNotFound, er.Message)
		case code == http.StatusConflict:
			return fmt.Errorf("%s: %w (%s)", what, ErrEmptyRepository, er.Message)
		case code >= 500:
			return fmt.Errorf("%s: %w: %w", what, ErrUnavailable, err)
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	if errors.As(err, new(*url.Error)) {
		// No answer from GitHub at all: the transport gave up on the network.
		return fmt.Errorf("%s: %w: %w", what, ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}
