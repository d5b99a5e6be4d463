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

	"github.com/meshbot/meshbot/internal/checkrun"
)

// checkRunPatch is the PATCH body. go-github's UpdateCheckRunOptions always
// sends "name", which would rename the run to "".
type checkRunPatch struct {
	Status      *string                `json:"status,omitempty"`
	Conclusion  *string                `json:"conclusion,omitempty"`
	CompletedAt *github.Timestamp      `json:"completed_at,omitempty"`
	Output      *github.CheckRunOutput `json:"output,omitempty"`
}

func (c *client) CreateCheckRun(ctx context.Context, owner, repo string, run NewCheckRun) (int64, error) {
	opts := github.CreateCheckRunOptions{
		Name:    run.Name,
		HeadSHA: run.HeadSHA,
		Status:  github.String("in_progress"),
		Output:  &github.CheckRunOutput{Title: github.String(run.Title), Summary: github.String(run.Summary)},
	}
	if !run.StartedAt.IsZero() {
		opts.StartedAt = &github.Timestamp{Time: run.StartedAt.UTC().Truncate(time.Second)}
	}
	if run.ExternalID != "" {
		opts.ExternalID = github.String(run.ExternalID)
	}
	cr, _, err := c.gh.Checks.CreateCheckRun(ctx, owner, repo, opts)
	if err != nil {
		return 0, wrap(err, "create check run %q on %s/%s@%s", run.Name, owner, repo, run.HeadSHA)
	}
	return cr.GetID(), nil
}

func (c *client) CheckRuns(ctx context.Context, owner, repo, sha, name string) ([]CheckRun, error) {
	opts := &github.ListCheckRunsOptions{CheckName: &name, Filter: github.String("all"), ListOptions: github.ListOptions{PerPage: 100}}
	var out []CheckRun
	for {
		res, resp, err := c.gh.Checks.ListCheckRunsForRef(ctx, owner, repo, sha, opts)
		if err != nil {
			return nil, wrap(err, "list check runs %q of %s/%s@%s", name, owner, repo, sha)
		}
		for _, r := range res.CheckRuns {
			out = append(out, CheckRun{ID: r.GetID(), ExternalID: r.GetExternalID(), Completed: r.GetStatus() == "completed"})
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

func (c *client) patchCheckRun(ctx context.Context, owner, repo string, id int64, body checkRunPatch) error {
	u := fmt.Sprintf("repos/%s/%s/check-runs/%d", url.PathEscape(owner), url.PathEscape(repo), id)
	req, err := c.gh.NewRequest(http.MethodPatch, u, body)
	if err != nil {
		return fmt.Errorf("update check run %d on %s/%s: %w", id, owner, repo, err)
	}
	if _, err := c.gh.Do(ctx, req, nil); err != nil {
		return wrap(err, "update check run %d on %s/%s", id, owner, repo)
	}
	return nil
}

// CompleteCheckRun: GitHub takes 50 annotations per request and appends
// them on every update, so all but the last batch go out with status
// in_progress and the last one completes the run: the conclusion never
// shows before every annotation is in. Text over GitHub's limits is cut with
// a note saying how much is missing.
func (c *client) CompleteCheckRun(ctx context.Context, owner, repo string, id int64, out checkrun.Output) error {
	if out.Conclusion == "" {
		return errors.New("complete check run: conclusion is required")
	}
	conclusion := string(out.Conclusion)
	title := checkrun.Truncate(out.Title, checkrun.MaxOutputChars)
	summary := checkrun.Truncate(out.Summary, checkrun.MaxOutputChars)
	text := checkrun.Truncate(out.Text, checkrun.MaxOutputChars)
	batches := batchAnnotations(out.Annotations)
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
		if err := c.patchCheckRun(ctx, owner, repo, id, body); err != nil {
			return fmt.Errorf("complete check run (batch %d of %d): %w", i+1, len(batches), err)
		}
	}
	return nil
}

// batchAnnotations converts annotations to GitHub's and cuts them into
// batches of checkrun.AnnotationsPerCall; with none, one empty batch.
func batchAnnotations(in []checkrun.Annotation) [][]*github.CheckRunAnnotation {
	if len(in) == 0 {
		return [][]*github.CheckRunAnnotation{nil}
	}
	anns := make([]*github.CheckRunAnnotation, 0, len(in))
	for _, a := range in {
		anns = append(anns, toGitHub(a))
	}
	var batches [][]*github.CheckRunAnnotation
	for len(anns) > 0 {
		n := min(len(anns), checkrun.AnnotationsPerCall)
		batches = append(batches, anns[:n])
		anns = anns[n:]
	}
	return batches
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
func toGitHub(a checkrun.Annotation) *github.CheckRunAnnotation {
	start := max(a.StartLine, 1)
	end := max(a.EndLine, start)
	level := a.Level
	switch level {
	case checkrun.LevelNotice, checkrun.LevelWarning, checkrun.LevelFailure:
	case "error":
		level = checkrun.LevelFailure
	case "":
		level = checkrun.LevelNotice
	default:
		level = checkrun.LevelWarning
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
		AnnotationLevel: github.String(string(level)), Message: github.String(truncateBytes(msg, checkrun.MaxAnnotationMessage)),
	}
	if start == end && a.StartColumn > 0 {
		out.StartColumn = github.Int(a.StartColumn)
		out.EndColumn = github.Int(max(a.EndColumn, a.StartColumn))
	}
	if a.Title != "" {
		t := a.Title
		if utf8.RuneCountInString(t) > checkrun.MaxAnnotationTitle {
			t = string([]rune(t)[:checkrun.MaxAnnotationTitle-1]) + "…"
		}
		out.Title = github.String(t)
	}
	if a.RawDetails != "" {
		out.RawDetails = github.String(truncateBytes(a.RawDetails, checkrun.MaxAnnotationMessage))
	}
	return out
}
