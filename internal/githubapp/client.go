// Package githubapp is meshbot's GitHub client: App and per-installation
// authentication (ghinstallation), GitHub Enterprise Server base URLs,
// retries and rate limits, pagination, and fetching files at exact SHAs.
package githubapp

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v60/github"
)

// ErrNotFound is wrapped by every error that stems from a 404.
var ErrNotFound = errors.New("github: not found")

// DefaultBaseURL is api.github.com; GHES is https://HOST/api/v3/.
const DefaultBaseURL = "https://api.github.com/"

// Config configures an App.
type Config struct {
	AppID      int64
	PrivateKey []byte // PEM (PKCS#1 as GitHub issues it, or PKCS#8)
	BaseURL    string // GITHUB_API_URL; default DefaultBaseURL
	// HTTPClient supplies the transport; its Timeout is not used because a
	// rate-limit wait may legitimately outlast it (use contexts instead).
	HTTPClient *http.Client
	MaxRetries int // default 4; negative disables retries
	Logger     *slog.Logger
	// RetryBaseDelay is the first backoff step (default 500ms); MaxWait caps
	// any single wait (default 60s): a rate limit that needs longer is
	// returned as *RateLimitError instead of blocking.
	RetryBaseDelay time.Duration
	MaxWait        time.Duration
}

// App is a GitHub App: it mints installation clients and talks as the App.
type App struct {
	appID     int64
	key       *rsa.PrivateKey
	base      *url.URL
	rt        http.RoundTripper
	log       *slog.Logger
	appClient *github.Client
	// Installation clients are few (one per installation of the App) and
	// each carries its cached token, so they are kept for the process.
	clients sync.Map // int64 -> *Client
}

// NewApp validates cfg and prepares the App.
func NewApp(cfg Config) (*App, error) {
	if cfg.AppID <= 0 {
		return nil, errors.New("github app: app id is required")
	}
	key, err := parseKey(cfg.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("github app: %w", err)
	}
	base, err := baseURL(cfg.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("github app: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	next := http.DefaultTransport
	if cfg.HTTPClient != nil && cfg.HTTPClient.Transport != nil {
		next = cfg.HTTPClient.Transport
	}
	retries := cfg.MaxRetries
	switch {
	case retries == 0:
		retries = 4
	case retries < 0:
		retries = 0
	}
	rt := &retryTransport{
		next: next, maxRetries: retries, log: log,
		baseDelay: orDefault(cfg.RetryBaseDelay, 500*time.Millisecond),
		maxWait:   orDefault(cfg.MaxWait, 60*time.Second),
	}
	a := &App{appID: cfg.AppID, key: key, base: base, rt: rt, log: log}
	a.appClient = newGH(&http.Client{Transport: a.appsTransport()}, base)
	return a, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

func parseKey(pemBytes []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("private key: no PEM block")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("private key: neither PKCS#1 nor PKCS#8: %w", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("private key: %T is not RSA", k)
	}
	return rk, nil
}

// baseURL takes GITHUB_API_URL literally (GHES users give .../api/v3/),
// adding only the trailing slash go-github needs.
func baseURL(s string) (*url.URL, error) {
	if s == "" {
		s = DefaultBaseURL
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("base url %q: %w", s, err)
	}
	if u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("base url %q: want http(s)://host/path", s)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	return u, nil
}

// appsTransport is built per use: ghinstallation's installation transport
// writes into its AppsTransport on every token refresh, so sharing one
// between installations would race.
func (a *App) appsTransport() *ghinstallation.AppsTransport {
	atr := ghinstallation.NewAppsTransportFromPrivateKey(a.rt, a.appID, a.key)
	atr.BaseURL = strings.TrimSuffix(a.base.String(), "/")
	return atr
}

func newGH(hc *http.Client, base *url.URL) *github.Client {
	c := github.NewClient(hc)
	u := *base
	c.BaseURL = &u
	c.UserAgent = "meshbot"
	return c
}

// AppClient talks as the App itself (JWT), e.g. to list installations.
func (a *App) AppClient() *github.Client { return a.appClient }

// Installation returns the client of an installation; the same *Client
// (and so the same cached token) for the same id.
func (a *App) Installation(id int64) (*Client, error) {
	if id <= 0 {
		return nil, fmt.Errorf("github: installation id %d", id)
	}
	if c, ok := a.clients.Load(id); ok {
		return c.(*Client), nil
	}
	itr := ghinstallation.NewFromAppsTransport(a.appsTransport(), id)
	c := &Client{gh: newGH(&http.Client{Transport: itr}, a.base), log: a.log.With(slog.Int64("installation", id))}
	actual, _ := a.clients.LoadOrStore(id, c)
	return actual.(*Client), nil
}

// Client is an installation's client.
type Client struct {
	gh  *github.Client
	log *slog.Logger
}

// GitHub exposes the underlying go-github client for calls this package
// does not wrap; it shares the token, retries and rate-limit handling.
func (c *Client) GitHub() *github.Client { return c.gh }

// wrap adds what was being done to an API error, maps 404 to ErrNotFound
// and go-github's own rate-limit refusals (it stops calling once a response
// said the quota is spent) to *RateLimitError, so callers see one kind.
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
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusNotFound {
		return fmt.Errorf("%s: %w (%s)", what, ErrNotFound, er.Message)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// Repo fetches a repository.
func (c *Client) Repo(ctx context.Context, owner, repo string) (*github.Repository, error) {
	r, _, err := c.gh.Repositories.Get(ctx, owner, repo)
	if err != nil {
		return nil, wrap(err, "get repository %s/%s", owner, repo)
	}
	return r, nil
}

// DefaultBranch is the repository's default branch.
func (c *Client) DefaultBranch(ctx context.Context, owner, repo string) (string, error) {
	r, err := c.Repo(ctx, owner, repo)
	if err != nil {
		return "", err
	}
	return r.GetDefaultBranch(), nil
}

// PullRequest fetches a pull request.
func (c *Client) PullRequest(ctx context.Context, owner, repo string, n int) (*github.PullRequest, error) {
	pr, _, err := c.gh.PullRequests.Get(ctx, owner, repo, n)
	if err != nil {
		return nil, wrap(err, "get pull request %s/%s#%d", owner, repo, n)
	}
	return pr, nil
}

// MaxPullFiles is how many files GitHub lists for one pull request.
const MaxPullFiles = 3000

// PullFiles lists every file of a pull request (GitHub stops at 3,000).
func (c *Client) PullFiles(ctx context.Context, owner, repo string, n int) ([]*github.CommitFile, error) {
	opts := &github.ListOptions{PerPage: 100}
	var all []*github.CommitFile
	for {
		files, resp, err := c.gh.PullRequests.ListFiles(ctx, owner, repo, n, opts)
		if err != nil {
			return nil, wrap(err, "list files of %s/%s#%d (page %d)", owner, repo, n, max(opts.Page, 1))
		}
		all = append(all, files...)
		if resp.NextPage == 0 || len(all) >= MaxPullFiles {
			break
		}
		opts.Page = resp.NextPage
	}
	if len(all) > MaxPullFiles {
		all = all[:MaxPullFiles]
	}
	return all, nil
}

// File returns a file's bytes at ref (best an exact commit SHA). Files the
// contents API does not inline (over 1 MB) are fetched through the blobs
// API.
func (c *Client) File(ctx context.Context, owner, repo, path, ref string) ([]byte, error) {
	fc, _, _, err := c.gh.Repositories.GetContents(ctx, owner, repo, path, &github.RepositoryContentGetOptions{Ref: ref})
	if err != nil {
		return nil, wrap(err, "fetch %s@%s", path, ref)
	}
	if fc == nil {
		return nil, fmt.Errorf("fetch %s@%s: is a directory", path, ref)
	}
	if fc.GetType() != "file" && fc.GetType() != "" {
		return nil, fmt.Errorf("fetch %s@%s: is a %s, not a file", path, ref, fc.GetType())
	}
	if fc.GetEncoding() == "none" || (fc.Content != nil && *fc.Content == "" && fc.GetSize() > 0) {
		b, _, err := c.gh.Git.GetBlobRaw(ctx, owner, repo, fc.GetSHA())
		if err != nil {
			return nil, wrap(err, "fetch blob %s of %s@%s", fc.GetSHA(), path, ref)
		}
		if len(b) != fc.GetSize() {
			return nil, fmt.Errorf("fetch blob of %s@%s: got %d bytes, contents API said %d", path, ref, len(b), fc.GetSize())
		}
		return b, nil
	}
	s, err := fc.GetContent()
	if err != nil {
		return nil, fmt.Errorf("decode %s@%s: %w", path, ref, err)
	}
	return []byte(s), nil
}

// TreeEntry is one entry of a recursive tree.
type TreeEntry struct {
	Path string
	SHA  string
	Size int64
	Type string // blob, tree or commit (a submodule)
	Mode string
}

// Tree lists every entry under ref recursively. GitHub truncates very large
// recursive trees; then the tree is walked one directory at a time.
func (c *Client) Tree(ctx context.Context, owner, repo, ref string) ([]TreeEntry, error) {
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

// InstallationRepos lists every repository the installation can see.
func (c *Client) InstallationRepos(ctx context.Context) ([]*github.Repository, error) {
	opts := &github.ListOptions{PerPage: 100}
	var all []*github.Repository
	for {
		list, resp, err := c.gh.Apps.ListRepos(ctx, opts)
		if err != nil {
			return nil, wrap(err, "list installation repositories (page %d)", max(opts.Page, 1))
		}
		all = append(all, list.Repositories...)
		if resp.NextPage == 0 {
			return all, nil
		}
		opts.Page = resp.NextPage
	}
}

// Comment posts a comment on an issue or pull request.
func (c *Client) Comment(ctx context.Context, owner, repo string, issue int, body string) (*github.IssueComment, error) {
	cm, _, err := c.gh.Issues.CreateComment(ctx, owner, repo, issue, &github.IssueComment{Body: &body})
	if err != nil {
		return nil, wrap(err, "comment on %s/%s#%d", owner, repo, issue)
	}
	return cm, nil
}

// React adds a reaction (+1, eyes, rocket, ...) to an issue comment.
func (c *Client) React(ctx context.Context, owner, repo string, commentID int64, content string) error {
	_, _, err := c.gh.Reactions.CreateIssueCommentReaction(ctx, owner, repo, commentID, content)
	if err != nil {
		return wrap(err, "react %q to comment %d in %s/%s", content, commentID, owner, repo)
	}
	return nil
}

var roles = map[string]bool{"admin": true, "maintain": true, "write": true, "triage": true, "read": true, "none": true}

// Permission is user's role on the repository: admin, maintain, write,
// triage, read or none. role_name is precise; the older permission field
// folds maintain into write and triage into read, so it is the fallback
// (also for custom roles, whose base role it reports).
func (c *Client) Permission(ctx context.Context, owner, repo, user string) (string, error) {
	// go-github v60 does not decode role_name, so the call is made here.
	u := fmt.Sprintf("repos/%s/%s/collaborators/%s/permission", url.PathEscape(owner), url.PathEscape(repo), url.PathEscape(user))
	req, err := c.gh.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return "", fmt.Errorf("permission of %s on %s/%s: %w", user, owner, repo, err)
	}
	var out struct {
		Permission string `json:"permission"`
		RoleName   string `json:"role_name"`
	}
	if _, err := c.gh.Do(ctx, req, &out); err != nil {
		return "", wrap(err, "permission of %s on %s/%s", user, owner, repo)
	}
	if roles[out.RoleName] {
		return out.RoleName, nil
	}
	if roles[out.Permission] {
		return out.Permission, nil
	}
	return "", fmt.Errorf("permission of %s on %s/%s: unknown permission %q (role %q)", user, owner, repo, out.Permission, out.RoleName)
}
