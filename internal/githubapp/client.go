package githubapp

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"

	"github.com/google/go-github/v60/github"
)

// client is an installation's Installation: go-github over the
// installation's token transport and the retry transport.
type client struct {
	gh  *github.Client
	log *slog.Logger
}

var _ Installation = (*client)(nil)

func (c *client) DefaultBranch(ctx context.Context, owner, repo string) (string, error) {
	r, _, err := c.gh.Repositories.Get(ctx, owner, repo)
	if err != nil {
		return "", wrap(err, "get repository %s/%s", owner, repo)
	}
	return r.GetDefaultBranch(), nil
}

func (c *client) BranchHead(ctx context.Context, owner, repo, branch string) (string, error) {
	// The ref endpoint rather than the branch one: a missing branch (an
	// empty repository) is a 404 or 409 there, told apart from a failure.
	ref, _, err := c.gh.Git.GetRef(ctx, owner, repo, "heads/"+branch)
	if err != nil {
		return "", wrap(err, "branch %s of %s/%s", branch, owner, repo)
	}
	sha := ref.GetObject().GetSHA()
	if sha == "" {
		return "", fmt.Errorf("branch %s of %s/%s: no commit in the answer", branch, owner, repo)
	}
	return sha, nil
}

func (c *client) PullRequest(ctx context.Context, owner, repo string, number int) (PullRequest, error) {
	pr, _, err := c.gh.PullRequests.Get(ctx, owner, repo, number)
	if err != nil {
		return PullRequest{}, wrap(err, "get pull request %s/%s#%d", owner, repo, number)
	}
	return PullRequest{
		Number: pr.GetNumber(), Closed: pr.GetState() == "closed",
		HeadSHA: pr.GetHead().GetSHA(), BaseSHA: pr.GetBase().GetSHA(), BaseRef: pr.GetBase().GetRef(),
	}, nil
}

func (c *client) ChangedFiles(ctx context.Context, owner, repo string, number int) ([]ChangedFile, error) {
	opts := &github.ListOptions{PerPage: 100}
	var all []ChangedFile
	for {
		files, resp, err := c.gh.PullRequests.ListFiles(ctx, owner, repo, number, opts)
		if err != nil {
			return nil, wrap(err, "list files of %s/%s#%d (page %d)", owner, repo, number, max(opts.Page, 1))
		}
		for _, f := range files {
			all = append(all, ChangedFile{Path: f.GetFilename(), Previous: f.GetPreviousFilename(), Status: FileStatus(f.GetStatus())})
		}
		if resp.NextPage == 0 || len(all) >= MaxChangedFiles {
			break
		}
		opts.Page = resp.NextPage
	}
	if len(all) > MaxChangedFiles {
		all = all[:MaxChangedFiles]
	}
	return all, nil
}

// File fetches through the contents API; files it does not inline (over
// 1 MB) are fetched through the blobs API. It is FileUpTo with no limit.
func (c *client) File(ctx context.Context, owner, repo, path, ref string) ([]byte, error) {
	return c.FileUpTo(ctx, owner, repo, path, ref, math.MaxInt64-1)
}

// Tree asks for the recursive tree; GitHub truncates very large ones, and
// then the tree is walked one directory at a time.
func (c *client) Tree(ctx context.Context, owner, repo, ref string) ([]TreeEntry, error) {
	t, _, err := c.gh.Git.GetTree(ctx, owner, repo, ref, true)
	if err != nil {
		return nil, wrap(err, "get tree %s/%s@%s", owner, repo, ref)
	}
	if !t.GetTruncated() {
		return entries(t, ""), nil
	}
	c.log.InfoContext(ctx, "github: recursive tree truncated, walking directories",
		slog.String("repo", owner+"/"+repo), slog.String("ref", ref))
	var out []TreeEntry
	var walk func(sha, prefix string) error
	walk = func(sha, prefix string) error {
		t, _, err := c.gh.Git.GetTree(ctx, owner, repo, sha, false)
		if err != nil {
			return wrap(err, "get tree %s/%s %s (%s)", owner, repo, sha, prefix)
		}
		for _, e := range entries(t, prefix) {
			out = append(out, e)
			if e.Type == "tree" {
				if err := walk(e.SHA, e.Path+"/"); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(t.GetSHA(), ""); err != nil {
		return nil, err
	}
	return out, nil
}

func entries(t *github.Tree, prefix string) []TreeEntry {
	out := make([]TreeEntry, 0, len(t.Entries))
	for _, e := range t.Entries {
		out = append(out, TreeEntry{Path: prefix + e.GetPath(), SHA: e.GetSHA(), Size: int64(e.GetSize()), Type: e.GetType(), Mode: e.GetMode()})
	}
	return out
}

func (c *client) Repositories(ctx context.Context) ([]string, error) {
	opts := &github.ListOptions{PerPage: 100}
	var all []string
	for {
		list, resp, err := c.gh.Apps.ListRepos(ctx, opts)
		if err != nil {
			return nil, wrap(err, "list installation repositories (page %d)", max(opts.Page, 1))
		}
		for _, r := range list.Repositories {
			all = append(all, r.GetFullName())
		}
		if resp.NextPage == 0 {
			return all, nil
		}
		opts.Page = resp.NextPage
	}
}

func (c *client) Comment(ctx context.Context, owner, repo string, issue int, body string) error {
	if _, _, err := c.gh.Issues.CreateComment(ctx, owner, repo, issue, &github.IssueComment{Body: &body}); err != nil {
		return wrap(err, "comment on %s/%s#%d", owner, repo, issue)
	}
	return nil
}

func (c *client) React(ctx context.Context, owner, repo string, commentID int64, r Reaction) error {
	if _, _, err := c.gh.Reactions.CreateIssueCommentReaction(ctx, owner, repo, commentID, string(r)); err != nil {
		return wrap(err, "react %q to comment %d in %s/%s", r, commentID, owner, repo)
	}
	return nil
}

// Permission reads role_name, which is precise; the older permission field
// folds maintain into write and triage into read, so it is the fallback
// (also for custom roles, whose base role it reports).
func (c *client) Permission(ctx context.Context, owner, repo, user string) (Role, error) {
	// go-github v60 does not decode role_name, so the call is made here.
	u := fmt.Sprintf("repos/%s/%s/collaborators/%s/permission", url.PathEscape(owner), url.PathEscape(repo), url.PathEscape(user))
	req, err := c.gh.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return "", fmt.Errorf("permission of %s on %s/%s: %w", user, owner, repo, err)
	}
	var out struct {
		Permission Role `json:"permission"`
		RoleName   Role `json:"role_name"`
	}
	if _, err := c.gh.Do(ctx, req, &out); err != nil {
		return "", wrap(err, "permission of %s on %s/%s", user, owner, repo)
	}
	if _, ok := out.RoleName.Rank(); ok {
		return out.RoleName, nil
	}
	if _, ok := out.Permission.Rank(); ok {
		return out.Permission, nil
	}
	return "", fmt.Errorf("permission of %s on %s/%s: unknown permission %q (role %q)", user, owner, repo, out.Permission, out.RoleName)
}
