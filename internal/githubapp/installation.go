package githubapp

import (
	"context"
	"time"

	"github.com/meshbot/meshbot/internal/checkrun"
)

// Clients hands out the client of an installation of the App. *App is the
// real one; tests wrap it to inject faults, and run against internal/ghfake.
type Clients interface {
	Installation(id int64) (Installation, error)
}

// Installation is everything meshbot asks of GitHub, as one installation of
// the App, in the domain's terms. Errors wrap ErrNotFound,
// ErrEmptyRepository, ErrUnavailable or *RateLimitError where GitHub said
// so, so callers decide between "gone", "nothing there yet", "retry later"
// and "wait for the quota" without reading status codes.
//
// Grouped by the App permission each group needs (see
// plugin-manifest/github-app.yml and internal/webhook/manifest_test.go).
type Installation interface {
	// Pull requests (pull_requests: read).

	// PullRequest fetches pull request number of owner/repo.
	PullRequest(ctx context.Context, owner, repo string, number int) (PullRequest, error)
	// ChangedFiles lists the files a pull request changes, in GitHub's
	// order, up to MaxChangedFiles (GitHub lists no more).
	ChangedFiles(ctx context.Context, owner, repo string, number int) ([]ChangedFile, error)

	// Contents (contents: read; metadata: read for the repository list).

	// DefaultBranch is the repository's default branch.
	DefaultBranch(ctx context.Context, owner, repo string) (string, error)
	// BranchHead is the commit SHA branch points at. A repository without
	// commits answers ErrNotFound or ErrEmptyRepository.
	BranchHead(ctx context.Context, owner, repo, branch string) (string, error)
	// Tree lists every entry under ref, recursively.
	Tree(ctx context.Context, owner, repo, ref string) ([]TreeEntry, error)
	// File returns a file's bytes at ref (best an exact commit SHA); a file
	// absent at ref answers ErrNotFound, a symbolic link *SymlinkError.
	File(ctx context.Context, owner, repo, path, ref string) ([]byte, error)
	// FileUpTo is File that refuses a file over limit bytes with a
	// *TooLargeError, without downloading it.
	FileUpTo(ctx context.Context, owner, repo, path, ref string, limit int64) ([]byte, error)
	// TreeAt lists the tree of commit sha recursively in one call, and
	// says when GitHub truncated it.
	TreeAt(ctx context.Context, owner, repo, sha string) (Tree, error)
	// MergeBase is the merge base of base and head (what a pull request's
	// change is measured from).
	MergeBase(ctx context.Context, owner, repo, base, head string) (string, error)
	// Repositories lists every repository the installation can see, as
	// owner/name.
	Repositories(ctx context.Context) ([]string, error)

	// Check runs (checks: write).

	// CreateCheckRun creates a check run in progress and returns its id.
	CreateCheckRun(ctx context.Context, owner, repo string, run NewCheckRun) (int64, error)
	// CompleteCheckRun writes out (annotations in GitHub's batches, text
	// within GitHub's limits) and completes the run with out.Conclusion.
	CompleteCheckRun(ctx context.Context, owner, repo string, id int64, out checkrun.Output) error
	// CheckRuns lists the check runs named name at sha, newest first.
	CheckRuns(ctx context.Context, owner, repo, sha, name string) ([]CheckRun, error)

	// Conversation (issues or pull_requests: write; metadata: read).

	// Comment posts a comment on an issue or pull request.
	Comment(ctx context.Context, owner, repo string, issue int, body string) error
	// React adds a reaction to an issue or pull-request comment.
	React(ctx context.Context, owner, repo string, commentID int64, r Reaction) error
	// Permission is user's role on the repository.
	Permission(ctx context.Context, owner, repo, user string) (Role, error)

	// Organisation (members: read).

	// TeamMember says whether user is an active member of org's team slug;
	// "no" also when the team does not exist or is out of the App's reach.
	TeamMember(ctx context.Context, org, slug, user string) (bool, error)

	// Proposed changes (contents: write; pull_requests: write): the git
	// data API and meshbot's own pull requests (gitdata.go).

	// CreateBlob stores content and returns the blob's SHA.
	CreateBlob(ctx context.Context, owner, repo string, content []byte) (string, error)
	// RootTree is the SHA of commit sha's root tree.
	RootTree(ctx context.Context, owner, repo, sha string) (string, error)
	// CreateTree is base with changes applied; it returns the tree's SHA.
	CreateTree(ctx context.Context, owner, repo, base string, changes []TreeChange) (string, error)
	// CreateCommit creates a commit object and returns its SHA.
	CreateCommit(ctx context.Context, owner, repo string, c NewCommit) (string, error)
	// SetBranch points branch at sha, creating it or moving it by force.
	SetBranch(ctx context.Context, owner, repo, branch, sha string) (created bool, err error)
	// OpenPullByHead finds the open pull request from branch, if any.
	OpenPullByHead(ctx context.Context, owner, repo, branch string) (PullRequestRef, bool, error)
	// CreatePull opens a pull request.
	CreatePull(ctx context.Context, owner, repo string, p NewPull) (PullRequestRef, error)
	// UpdatePull rewrites a pull request's title and body.
	UpdatePull(ctx context.Context, owner, repo string, number int, title, body string) (PullRequestRef, error)

	// Deprecation reminders (issues or pull_requests: read, for the thread
	// a reminder is posted to; posting is Comment's). In comments.go.

	// CommentBodies lists the bodies of an issue's or pull request's
	// comments, oldest first, up to limit of them.
	CommentBodies(ctx context.Context, owner, repo string, issue, limit int) ([]string, error)
}

// MaxChangedFiles is how many files GitHub lists for one pull request.
const MaxChangedFiles = 3000

// PullRequest is what meshbot reads of a pull request.
type PullRequest struct {
	Number  int
	Closed  bool // closed or merged
	HeadSHA string
	BaseSHA string
	BaseRef string // the base branch
}

// FileStatus is how a pull request changes a file, as GitHub lists it.
type FileStatus string

// GitHub's file statuses.
const (
	FileAdded     FileStatus = "added"
	FileRemoved   FileStatus = "removed"
	FileModified  FileStatus = "modified"
	FileRenamed   FileStatus = "renamed"
	FileCopied    FileStatus = "copied"
	FileChanged   FileStatus = "changed" // mode only
	FileUnchanged FileStatus = "unchanged"
)

// InBase says whether the file's path (not Previous) exists in the base.
func (s FileStatus) InBase() bool { return s != FileAdded && s != FileCopied && s != FileRenamed }

// InHead says whether the file's path exists in the head.
func (s FileStatus) InHead() bool { return s != FileRemoved }

// ChangedFile is one file of a pull request.
type ChangedFile struct {
	Path     string // in the head (for a removal, where it was)
	Previous string // for a rename or copy, its path in the base
	Status   FileStatus
}

// TreeEntry is one entry of a recursive tree.
type TreeEntry struct {
	Path string
	SHA  string
	Size int64
	Type string // blob, tree or commit (a submodule)
	Mode string
}

// NewCheckRun is a check run to create, in progress.
type NewCheckRun struct {
	Name    string
	HeadSHA string
	// ExternalID ties the run to what created it (meshbot: the delivery),
	// so a retry finds it again; empty sends none.
	ExternalID string
	StartedAt  time.Time
	// Title and Summary say what is happening while the run is in progress.
	Title, Summary string
}

// CheckRun is what meshbot reads of an existing check run.
type CheckRun struct {
	ID         int64
	ExternalID string
	Completed  bool
}

// Reaction is a reaction to a comment.
type Reaction string

// The reactions meshbot leaves.
const (
	ReactionEyes     Reaction = "eyes"
	ReactionThumbsUp Reaction = "+1"
	ReactionConfused Reaction = "confused"
)

// Role is a user's role on a repository, GitHub's ladder from none to admin.
type Role string

// GitHub's repository roles, weakest first.
const (
	RoleNone     Role = "none"
	RoleRead     Role = "read"
	RoleTriage   Role = "triage"
	RoleWrite    Role = "write"
	RoleMaintain Role = "maintain"
	RoleAdmin    Role = "admin"
)

// RoleAdminRank is the highest rank, admin's.
const RoleAdminRank = 5

// roles ranks the known roles; an unknown role has no rank.
var roles = map[Role]int{RoleNone: 0, RoleRead: 1, RoleTriage: 2, RoleWrite: 3, RoleMaintain: 4, RoleAdmin: RoleAdminRank}

// Rank places r on the ladder (none is 0, admin 5); ok is false for a role
// GitHub does not define.
func (r Role) Rank() (rank int, ok bool) {
	rank, ok = roles[r]
	return rank, ok
}
