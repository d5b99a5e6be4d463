package githubapp

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/go-github/v60/github"
)

// The git data API and pull requests meshbot opens itself: `/mesh
// deprecate` proposes its edit as a commit on a branch of its own and a
// pull request from it, never a push to the default branch.

// FileMode is a tree entry's mode as the git data API takes it.
type FileMode string

// The modes of regular files.
const (
	ModeFile       FileMode = "100644"
	ModeExecutable FileMode = "100755"
)

// TreeChange puts a blob at a path of a tree.
type TreeChange struct {
	Path string
	Mode FileMode
	Blob string // the blob's SHA (CreateBlob)
}

// NewCommit is a commit to create; the App is its author and committer.
type NewCommit struct {
	Message string
	Tree    string   // the tree's SHA (CreateTree)
	Parents []string // one parent for an ordinary commit
}

// PullRequestRef is what meshbot keeps of a pull request it opened or found.
type PullRequestRef struct {
	Number int
	URL    string // html_url, for people
	Title  string
	Body   string
	Open   bool
}

// NewPull is a pull request to open from a branch of the same repository.
type NewPull struct {
	Title, Body string
	Head        string // the branch with the change
	Base        string // the branch it goes into
}

// ErrRefused says GitHub refused a write for good: 403 (the installation
// lacks the permission, or a rule protects the branch) or 422 (the request
// names what cannot be). Retrying does not help; a rate limit is not this.
var ErrRefused = errors.New("github: refused")

// wrapWrite is wrap for the writes of this file, marking GitHub's lasting
// refusals ErrRefused.
func wrapWrite(err error, format string, args ...any) error {
	w := wrap(err, format, args...)
	var rl *RateLimitError
	var er *github.ErrorResponse
	if !errors.As(w, &rl) && errors.As(err, &er) && er.Response != nil {
		switch er.Response.StatusCode {
		case http.StatusForbidden, http.StatusUnprocessableEntity:
			return fmt.Errorf("%w: %w", ErrRefused, w)
		}
	}
	return w
}

// CreateBlob stores content as a blob and returns its SHA. Content goes
// base64-encoded: a descriptor is text, but GitHub's utf-8 encoding would
// not carry arbitrary bytes unchanged.
func (c *client) CreateBlob(ctx context.Context, owner, repo string, content []byte) (string, error) {
	enc := base64.StdEncoding.EncodeToString(content)
	b, _, err := c.gh.Git.CreateBlob(ctx, owner, repo, &github.Blob{Content: &enc, Encoding: github.String("base64")})
	if err != nil {
		return "", wrapWrite(err, "create blob in %s/%s", owner, repo)
	}
	if b.GetSHA() == "" {
		return "", fmt.Errorf("create blob in %s/%s: no sha in the answer", owner, repo)
	}
	return b.GetSHA(), nil
}

// RootTree is the SHA of the root tree of commit sha: the base_tree of a
// tree that changes a few files of that commit. The trees endpoint takes a
// commit SHA for a tree-ish; asked without recursion it lists one folder.
func (c *client) RootTree(ctx context.Context, owner, repo, sha string) (string, error) {
	t, _, err := c.gh.Git.GetTree(ctx, owner, repo, sha, false)
	if err != nil {
		return "", wrap(err, "get root tree of %s/%s@%s", owner, repo, sha)
	}
	if t.GetSHA() == "" {
		return "", fmt.Errorf("get root tree of %s/%s@%s: no sha in the answer", owner, repo, sha)
	}
	return t.GetSHA(), nil
}

// CreateTree makes a tree that is base with changes applied (files added
// or replaced; every other path of base kept) and returns its SHA.
func (c *client) CreateTree(ctx context.Context, owner, repo, base string, changes []TreeChange) (string, error) {
	entries := make([]*github.TreeEntry, 0, len(changes))
	for _, ch := range changes {
		mode := ch.Mode
		if mode == "" {
			mode = ModeFile
		}
		entries = append(entries, &github.TreeEntry{
			Path: github.String(ch.Path), Mode: github.String(string(mode)), Type: github.String("blob"), SHA: github.String(ch.Blob),
		})
	}
	t, _, err := c.gh.Git.CreateTree(ctx, owner, repo, base, entries)
	if err != nil {
		return "", wrapWrite(err, "create tree on %s in %s/%s", base, owner, repo)
	}
	if t.GetSHA() == "" {
		return "", fmt.Errorf("create tree on %s in %s/%s: no sha in the answer", base, owner, repo)
	}
	return t.GetSHA(), nil
}

// CreateCommit creates a commit object (no branch moves) and returns its
// SHA.
func (c *client) CreateCommit(ctx context.Context, owner, repo string, nc NewCommit) (string, error) {
	parents := make([]*github.Commit, 0, len(nc.Parents))
	for _, p := range nc.Parents {
		parents = append(parents, &github.Commit{SHA: github.String(p)})
	}
	cm, _, err := c.gh.Git.CreateCommit(ctx, owner, repo, &github.Commit{
		Message: github.String(nc.Message), Tree: &github.Tree{SHA: github.String(nc.Tree)}, Parents: parents,
	}, nil)
	if err != nil {
		return "", wrapWrite(err, "create commit in %s/%s", owner, repo)
	}
	if cm.GetSHA() == "" {
		return "", fmt.Errorf("create commit in %s/%s: no sha in the answer", owner, repo)
	}
	return cm.GetSHA(), nil
}

// SetBranch points branch at sha, creating the branch when it does not
// exist and moving it by force when it does: the branch is meshbot's own,
// rebuilt from the default branch's head on every request. created says
// which happened.
func (c *client) SetBranch(ctx context.Context, owner, repo, branch, sha string) (created bool, err error) {
	ref := &github.Reference{Ref: github.String("refs/heads/" + branch), Object: &github.GitObject{SHA: github.String(sha)}}
	_, _, err = c.gh.Git.UpdateRef(ctx, owner, repo, ref, true)
	if err == nil {
		return false, nil
	}
	if !isUnprocessable(err) {
		return false, wrap(err, "move branch %s of %s/%s to %s", branch, owner, repo, sha)
	}
	// 422 "Reference does not exist": create it. A 422 for another reason
	// (the sha is not a commit) fails the create alike and is reported.
	if _, _, err := c.gh.Git.CreateRef(ctx, owner, repo, ref); err != nil {
		return false, wrapWrite(err, "create branch %s of %s/%s at %s", branch, owner, repo, sha)
	}
	return true, nil
}

func isUnprocessable(err error) bool {
	var er *github.ErrorResponse
	return errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusUnprocessableEntity
}

// OpenPullByHead finds the open pull request from branch of owner/repo
// (GitHub allows one open pull request per head and base); ok is false
// when there is none.
func (c *client) OpenPullByHead(ctx context.Context, owner, repo, branch string) (pr PullRequestRef, ok bool, err error) {
	list, _, err := c.gh.PullRequests.List(ctx, owner, repo, &github.PullRequestListOptions{
		State: "open", Head: owner + ":" + branch, ListOptions: github.ListOptions{PerPage: 100},
	})
	if err != nil {
		return PullRequestRef{}, false, wrap(err, "list pull requests from %s in %s/%s", branch, owner, repo)
	}
	for _, p := range list {
		// GitHub filters by head already; the check keeps a server that
		// ignored the filter from handing back someone else's pull request.
		if p.GetHead().GetRef() == branch && p.GetState() == "open" {
			return pullRef(p), true, nil
		}
	}
	return PullRequestRef{}, false, nil
}

// CreatePull opens a pull request.
func (c *client) CreatePull(ctx context.Context, owner, repo string, np NewPull) (PullRequestRef, error) {
	p, _, err := c.gh.PullRequests.Create(ctx, owner, repo, &github.NewPullRequest{
		Title: github.String(np.Title), Body: github.String(np.Body), Head: github.String(np.Head), Base: github.String(np.Base),
	})
	if err != nil {
		return PullRequestRef{}, wrapWrite(err, "open pull request %s→%s in %s/%s", np.Head, np.Base, owner, repo)
	}
	return pullRef(p), nil
}

// UpdatePull rewrites a pull request's title and body.
func (c *client) UpdatePull(ctx context.Context, owner, repo string, number int, title, body string) (PullRequestRef, error) {
	p, _, err := c.gh.PullRequests.Edit(ctx, owner, repo, number, &github.PullRequest{Title: github.String(title), Body: github.String(body)})
	if err != nil {
		return PullRequestRef{}, wrapWrite(err, "update pull request %s/%s#%d", owner, repo, number)
	}
	return pullRef(p), nil
}

func pullRef(p *github.PullRequest) PullRequestRef {
	return PullRequestRef{Number: p.GetNumber(), URL: p.GetHTMLURL(), Title: p.GetTitle(), Body: p.GetBody(), Open: p.GetState() == "open"}
}
