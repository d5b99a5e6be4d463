package githubapp

import (
	"context"

	"github.com/google/go-github/v60/github"
)

// CommentBodies pages through the issue's comments, 100 at a time (GitHub's
// maximum), until limit bodies are read or the list ends.
func (c *client) CommentBodies(ctx context.Context, owner, repo string, issue, limit int) ([]string, error) {
	opts := &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: 100}}
	var out []string
	for len(out) < limit {
		page, resp, err := c.gh.Issues.ListComments(ctx, owner, repo, issue, opts)
		if err != nil {
			return nil, wrap(err, "list comments of %s/%s#%d (page %d)", owner, repo, issue, max(opts.Page, 1))
		}
		for _, cm := range page {
			out = append(out, cm.GetBody())
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}
