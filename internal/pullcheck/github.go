package pullcheck

import (
	"context"
	"fmt"

	"github.com/google/go-github/v60/github"

	"github.com/meshbot/meshbot/internal/githubapp"
)

// Client is what a pull-request check asks of an installation's GitHub
// client. *githubapp.Client provides all of it but CheckRuns, which FromApp
// adds.
type Client interface {
	PullRequest(ctx context.Context, owner, repo string, n int) (*github.PullRequest, error)
	PullFiles(ctx context.Context, owner, repo string, n int) ([]*github.CommitFile, error)
	File(ctx context.Context, owner, repo, path, ref string) ([]byte, error)
	Tree(ctx context.Context, owner, repo, ref string) ([]githubapp.TreeEntry, error)
	CreateCheckRun(ctx context.Context, owner, repo string, opts github.CreateCheckRunOptions) (*github.CheckRun, error)
	CompleteCheckRun(ctx context.Context, owner, repo string, id int64, conclusion string, out githubapp.Output) error
	// CheckRuns lists the check runs named name at sha, newest first.
	CheckRuns(ctx context.Context, owner, repo, sha, name string) ([]*github.CheckRun, error)
}

// GitHub hands out the client of an installation.
type GitHub interface {
	Installation(id int64) (Client, error)
}

// FromApp adapts the App's installation clients to GitHub.
func FromApp(app *githubapp.App) GitHub { return appClients{app} }

type appClients struct{ app *githubapp.App }

func (a appClients) Installation(id int64) (Client, error) {
	c, err := a.app.Installation(id)
	if err != nil {
		return nil, err
	}
	return appClient{c}, nil
}

type appClient struct{ *githubapp.Client }

func (c appClient) CheckRuns(ctx context.Context, owner, repo, sha, name string) ([]*github.CheckRun, error) {
	opts := &github.ListCheckRunsOptions{CheckName: &name, Filter: github.String("all"), ListOptions: github.ListOptions{PerPage: 100}}
	var out []*github.CheckRun
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
