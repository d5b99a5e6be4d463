package githubapp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"
	"unicode/utf8"

	"github.com/google/go-github/v60/github"
)

// GitHub's limits on check-run output.
const (
	MaxOutputChars       = 65535 // title, summary and text, in characters
	AnnotationsPerCall   = 50
	maxAnnotationTitle   = 255       // characters
	maxAnnotationMessage = 64 * 1024 // bytes, message and raw_details
)

// Output is a check run's report.
type Output struct {
	Title, Summary, Text string
	Annotations          []Annotation
}

// Annotation pins a finding to a file and line range.
type Annotation struct {
	Path                   string
	StartLine, EndLine     int
	StartColumn, EndColumn int
	Level                  string // notice, warning or failure
	Title, Message         string
	RawDetails             string
}

// checkRunPatch is the PATCH body. go-github's UpdateCheckRunOptions always
// sends "name", which would rename the run to "" when it is not known.
type checkRunPatch struct {
	Name        string                   `json:"name,omitempty"`
	DetailsURL  *string                  `json:"details_url,omitempty"`
	ExternalID  *string                  `json:"external_id,omitempty"`
	Status      *string                  `json:"status,omitempty"`
	Conclusion  *string                  `json:"conclusion,omitempty"`
	CompletedAt *github.Timestamp        `json:"completed_at,omitempty"`
	Output      *github.CheckRunOutput   `json:"output,omitempty"`
	Actions     []*github.CheckRunAction `json:"actions,omitempty"`
}

// CreateCheckRun creates a check run.
func (c *Client) CreateCheckRun(ctx context.Context, owner, repo string, opts github.CreateCheckRunOptions) (*github.CheckRun, error) {
	cr, _, err := c.gh.Checks.CreateCheckRun(ctx, owner, repo, opts)
	if err != nil {
		return nil, wrap(err, "create check run %q on %s/%s@%s", opts.Name, owner, repo, opts.HeadSHA)
	}
	return cr, nil
}

// UpdateCheckRun updates a check run; an empty Name leaves the name as is.
func (c *Client) UpdateCheckRun(ctx context.Context, owner, repo string, id int64, opts github.UpdateCheckRunOptions) (*github.CheckRun, error) {
	return c.patchCheckRun(ctx, owner, repo, id, checkRunPatch{
		Name: opts.Name, DetailsURL: opts.DetailsURL, ExternalID: opts.ExternalID, Status: opts.Status,
		Conclusion: opts.Conclusion, CompletedAt: opts.CompletedAt, Output: opts.Output, Actions: opts.Actions,
	})
}

func (c *Client) patchCheckRun(ctx context.Context, owner, repo string, id int64, body checkRunPatch) (*github.CheckRun, error) {
	u := fmt.Sprintf("repos/%s/%s/check-runs/%d", url.PathEscape(owner), url.PathEscape(repo), id)
	req, err := c.gh.NewRequest(http.MethodPatch, u, body)
	if err != nil {
		return nil, fmt.Errorf("update check run %d on %s/%s: %w", id, owner, repo, err)
	}
	cr := new(github.CheckRun)
	if _, err := c.gh.Do(ctx, req, cr); err != nil {
		return nil, wrap(err, "update check run %d on %s/%s", id, owner, repo)
	}
	return cr, nil
}

// CompleteCheckRun writes the report and the conclusion. GitHub takes 50
// annotations per request and appends them on every update, so all but the
// last batch go out with status in_progress and the last one completes the
// run: the conclusion never shows before every annotation is in. Text that
// exceeds GitHub's limits is cut with a note saying how much is missing.
func (c *Client) CompleteCheckRun(ctx context.Context, owner, repo string, id int64, conclusion string, out Output) error {
	if conclusion == "" {
		return errors.New("complete check run: conclusion is required")
	}
	title := Truncate(out.Title, MaxOutputChars)
	summary := Truncate(out.Summary, MaxOutputChars)
	text := Truncate(out.Text, MaxOutputChars)
	anns := make([]*github.CheckRunAnnotation, 0, len(out.Annotations))
	for _, a := range out.Annotations {
		anns = append(anns, a.toGitHub())
	}
	batches := [][]*github.CheckRunAnnotation{nil}
	if len(anns) > 0 {
		batches = batches[:0]
		for len(anns) > 0 {
			n := min(len(anns), AnnotationsPerCall)
			batches = append(batches, anns[:n])
			anns = anns[n:]
		}
	}
	for i, batch := range batches {
		o := &github.CheckRunOutput{Title: &title, Summary: &summary, Annotations: batch}
		body := checkRunPatch{Output: o}
		if i == len(batches)-1 {
			if text != "" {
				o.Text = &text
			}
			body.Status = github.String("completed")
			body.Conclusion = &conclusion
			body.CompletedAt = &github.Timestamp{Time: time.Now().UTC().Truncate(time.Second)}
		} else {
			body.Status = github.String("in_progress")
		}
		if _, err := c.patchCheckRun(ctx, owner, repo, id, body); err != nil {
			return fmt.Errorf("complete check run (batch %d of %d): %w", i+1, len(batches), err)
		}
	}
	return nil
}

// Truncate cuts s to at most limit characters, ending with an honest note
// of how much was left out.
func Truncate(s string, limit int) string {
	n := utf8.RuneCountInString(s)
	if n <= limit {
		return s
	}
	note := func(more int) string {
		return fmt.Sprintf("\n\n… truncated: %d more characters; see the full report with `meshbot check`.", more)
	}
	// Sized with the note for the whole length, whose count has the most
	// digits, so the result always fits.
	keep := max(limit-utf8.RuneCountInString(note(n)), 0)
	return string([]rune(s)[:keep]) + note(n-keep)
}

func truncateBytes(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// toGitHub normalises an annotation to what GitHub accepts: lines from 1,
// end not before start, columns only on a single line, a known level, a
// message, and titles and messages within their limits.
func (a Annotation) toGitHub() *github.CheckRunAnnotation {
	start := max(a.StartLine, 1)
	end := max(a.EndLine, start)
	level := a.Level
	switch level {
	case "notice", "warning", "failure":
	case "error":
		level = "failure"
	case "":
		level = "notice"
	default:
		level = "warning"
	}
	msg := a.Message
	if msg == "" {
		msg = a.Title
	}
	if msg == "" {
		msg = "(no message)"
	}
	out := &github.CheckRunAnnotation{
		Path: github.String(a.Path), StartLine: github.Int(start), EndLine: github.Int(end),
		AnnotationLevel: github.String(level), Message: github.String(truncateBytes(msg, maxAnnotationMessage)),
	}
	if start == end && a.StartColumn > 0 {
		out.StartColumn = github.Int(a.StartColumn)
		out.EndColumn = github.Int(max(a.EndColumn, a.StartColumn))
	}
	if a.Title != "" {
		t := a.Title
		if utf8.RuneCountInString(t) > maxAnnotationTitle {
			t = string([]rune(t)[:maxAnnotationTitle-1]) + "…"
		}
		out.Title = github.String(t)
	}
	if a.RawDetails != "" {
		out.RawDetails = github.String(truncateBytes(a.RawDetails, maxAnnotationMessage))
	}
	return out
}
