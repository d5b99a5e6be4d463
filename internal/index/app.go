package index

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/go-github/v60/github"

	"github.com/meshbot/meshbot/internal/githubapp"
)

// FromApp adapts the App's installation clients to GitHub.
func FromApp(app *githubapp.App) GitHub { return appRepos{app} }

type appRepos struct{ app *githubapp.App }

func (a appRepos) Repos(installation int64) (Repos, error) {
	c, err := a.app.Installation(installation)
	if err != nil {
		return nil, err
	}
	return clientRepos{c}, nil
}

type clientRepos struct{ *githubapp.Client }

func (c clientRepos) BranchHead(ctx context.Context, owner, repo, branch string) (string, error) {
	// The ref endpoint rather than the branch one: go-github decodes its
	// errors, so a missing branch (an empty repository) is told from a
	// failure.
	ref, _, err := c.GitHub().Git.GetRef(ctx, owner, repo, "heads/"+branch)
	if err != nil {
		var er *github.ErrorResponse
		if errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusNotFound {
			return "", fmt.Errorf("branch %s of %s/%s: %w", branch, owner, repo, githubapp.ErrNotFound)
		}
		return "", fmt.Errorf("branch %s of %s/%s: %w", branch, owner, repo, err)
	}
	sha := ref.GetObject().GetSHA()
	if sha == "" {
		return "", fmt.Errorf("branch %s of %s/%s: no commit in the answer", branch, owner, repo)
	}
	return sha, nil
}

func (c clientRepos) InstallationRepos(ctx context.Context) ([]string, error) {
	list, err := c.Client.InstallationRepos(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(list))
	for _, r := range list {
		out = append(out, r.GetFullName())
	}
	return out, nil
}
