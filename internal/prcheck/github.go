package prcheck

import (
	"context"
	"fmt"

	gh "github.com/google/go-github/v60/github"

	"github.com/meshbot/meshbot/internal/github"
)

// Client is what a pull-request check asks of an installation's GitHub
// client. *github.Client provides all of it but CheckRuns, which FromApp
// adds.
type Client interface {
	PullRequest(ctx context.Context, owner, repo string, n int) (*gh.PullRequest, error)
	PullFiles(ctx context.Context, owner, repo string, n int) ([]*gh.CommitFile, error)
	File(ctx context.Context, owner, repo, path, ref string) ([]byte, error)
	Tree(ctx context.Context, owner, repo, ref string) ([]github.TreeEntry, error)
	CreateCheckRun(ctx context.Context, owner, repo string, opts gh.CreateCheckRunOptions) (*gh.CheckRun, error)
	CompleteCheckRun(ctx context.Context, owner, repo string, id int64, conclusion string, out github.Output) error
	// CheckRuns lists the check runs named name at sha, newest first.
	CheckRuns(ctx context.Context, owner, repo, sha, name string) ([]*gh.CheckRun, error)
}

// GitHub hands out the client of an installation.
type GitHub interface {
	Installation(id int64) (Client, error)
}

// FromApp adapts the App's installation clients to GitHub.
func FromApp(app *github.App) GitHub { return appClients{app} }

type appClients struct{ app *github.App }

func (a appClients) Installation(id int64) (Client, error) {
	c, err := a.app.Installation(id)
	if err != nil {
		return nil, err
	}
	return appClient{c}, nil
}

type appClient struct{ *github.Client }

func (c appClient) CheckRuns(ctx context.Context, owner, repo, sha, name string) ([]*gh.CheckRun, error) {
	opts := &gh.ListCheckRunsOptions{CheckName: &name, Filter: gh.String("all"), ListOptions: gh.ListOptions{PerPage: 100}}
	var out []*gh.CheckRun
	for {
		res, resp, err := c.GitHub().Checks.ListCheckRunsForRef(ctx, owner, repo, sha, opts)
		if err != nil {
			return nil, fmt.Errorf("list check runs %q of %s/%s@%s: %w", name, owner, repo, sha, err)
		}
		out = append(out, res.CheckRuns...)
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}
