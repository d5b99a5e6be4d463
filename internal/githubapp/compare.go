package githubapp

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/go-github/v60/github"
)

// TooLargeError says a file is over the caller's limit; it was not
// downloaded. Size is GitHub's figure, or -1 when GitHub gave none and the
// download was cut at the limit.
type TooLargeError struct {
	Path  string
	Size  int64
	Limit int64
}

func (e *TooLargeError) Error() string {
	if e.Size < 0 {
		return fmt.Sprintf("%s is over %d bytes", e.Path, e.Limit)
	}
	return fmt.Sprintf("%s is %d bytes, over %d", e.Path, e.Size, e.Limit)
}

// Tree is a commit's recursive tree as GitHub answers it in one call.
type Tree struct {
	Entries []TreeEntry
	// Truncated is GitHub's flag: the tree has more entries than one answer
	// holds (about 100,000 entries or 7 MB), and Entries are only some.
	Truncated bool
}

// Blobs are the tree's files by path.
func (t Tree) Blobs() map[string]TreeEntry {
	out := make(map[string]TreeEntry, len(t.Entries))
	for _, e := range t.Entries {
		if e.Type == "blob" {
			out[e.Path] = e
		}
	}
	return out
}

// FileUpTo is File for callers with a size limit: a file over limit bytes
// answers *TooLargeError without its bytes being downloaded, a symbolic
// link *SymlinkError (never what it leads to). The contents
// API says a file's size before its content is asked for; where the bytes
// come from the blobs API, at most limit+1 of them are read.
func (c *client) FileUpTo(ctx context.Context, owner, repo, path, ref string, limit int64) ([]byte, error) {
	fc, _, _, err := c.gh.Repositories.GetContents(ctx, owner, repo, path, &github.RepositoryContentGetOptions{Ref: ref})
	if err != nil {
		return nil, wrap(err, "fetch %s@%s", path, ref)
	}
	if fc == nil {
		return nil, fmt.Errorf("fetch %s@%s: is a directory", path, ref)
	}
	if se := contentSymlink(path, fc.GetType(), fc.GetPath(), fc.GetTarget()); se != nil {
		return nil, se
	}
	if fc.GetType() != "file" && fc.GetType() != "" {
		return nil, fmt.Errorf("fetch %s@%s: is a %s, not a file", path, ref, fc.GetType())
	}
	if size := int64(fc.GetSize()); size > limit {
		return nil, &TooLargeError{Path: path, Size: size, Limit: limit}
	}
	if fc.GetEncoding() == "none" || (fc.Content != nil && *fc.Content == "" && fc.GetSize() > 0) {
		return c.blobUpTo(ctx, owner, repo, path, fc.GetSHA(), limit)
	}
	s, err := fc.GetContent()
	if err != nil {
		return nil, fmt.Errorf("decode %s@%s: %w", path, ref, err)
	}
	if int64(len(s)) > limit {
		return nil, &TooLargeError{Path: path, Size: int64(len(s)), Limit: limit}
	}
	return []byte(s), nil
}

// blobUpTo reads a blob raw, never more than limit+1 bytes of it.
func (c *client) blobUpTo(ctx context.Context, owner, repo, path, sha string, limit int64) ([]byte, error) {
	u := fmt.Sprintf("repos/%s/%s/git/blobs/%s", url.PathEscape(owner), url.PathEscape(repo), url.PathEscape(sha))
	req, err := c.gh.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch blob %s of %s: %w", sha, path, err)
	}
	req.Header.Set("Accept", "application/vnd.github.raw")
	resp, err := c.gh.BareDo(ctx, req)
	if err != nil {
		return nil, wrap(err, "fetch blob %s of %s", sha, path)
	}
	defer resp.Body.Close()
	if n, err := strconv.ParseInt(resp.Header.Get("Content-Length"), 10, 64); err == nil && n > limit {
		return nil, &TooLargeError{Path: path, Size: n, Limit: limit}
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("fetch blob %s of %s: %w", sha, path, err)
	}
	if int64(len(b)) > limit {
		return nil, &TooLargeError{Path: path, Size: -1, Limit: limit}
	}
	return b, nil
}

// TreeAt lists a commit's tree recursively in one call. Unlike Tree it does
// not walk a truncated tree folder by folder (thousands of calls for the
// trees GitHub truncates): it says so, and the caller decides.
func (c *client) TreeAt(ctx context.Context, owner, repo, sha string) (Tree, error) {
	t, _, err := c.gh.Git.GetTree(ctx, owner, repo, sha, true)
	if err != nil {
		return Tree{}, wrap(err, "get tree %s/%s@%s", owner, repo, sha)
	}
	return Tree{Entries: entries(t, ""), Truncated: t.GetTruncated()}, nil
}

// MergeBase is the commit a pull request's change is measured from: the
// best common ancestor of base and head, as GitHub's three-dot comparison
// (and its pull-request file list) uses.
func (c *client) MergeBase(ctx context.Context, owner, repo, base, head string) (string, error) {
	// One commit per page keeps the answer small; the merge base is in every
	// page. GitHub lists at most 300 files of the comparison regardless.
	cmp, _, err := c.gh.Repositories.CompareCommits(ctx, owner, repo, base, head, &github.ListOptions{PerPage: 1})
	if err != nil {
		return "", wrap(err, "compare %s...%s in %s/%s", base, head, owner, repo)
	}
	sha := cmp.GetMergeBaseCommit().GetSHA()
	if sha == "" {
		return "", fmt.Errorf("compare %s...%s in %s/%s: no merge base in the answer", base, head, owner, repo)
	}
	return strings.TrimSpace(sha), nil
}
