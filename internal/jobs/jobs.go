// Package jobs defines the work meshbot's webhook intake enqueues and its
// workers perform: each kind of job (kinds.go) with its payload type, and
// the Registry through which a worker decodes a job once and runs its
// handler. The store keeps a payload as opaque JSON bytes under the kind's
// name; names and JSON field names are a wire format (jobs queued before an
// upgrade run after it) and do not change.
package jobs

import (
	"fmt"
	"log/slog"
	"strconv"
)

// PullCheck asks for the check run of one head SHA.
type PullCheck struct {
	Delivery     string `json:"delivery"`
	Installation int64  `json:"installation"`
	Owner        string `json:"owner"`
	Repo         string `json:"repo"`
	PR           int    `json:"pr,omitempty"` // 0 when the SHA belongs to no pull request
	HeadSHA      string `json:"head_sha"`
	BaseSHA      string `json:"base_sha,omitempty"`
	BaseRef      string `json:"base_ref,omitempty"`
	// CheckRunID is set when GitHub asked to re-run an existing check run.
	CheckRunID int64 `json:"check_run_id,omitempty"`
	// Requested is set when someone asked for this check (/mesh recheck,
	// GitHub's "Re-run all checks"): it runs even when the head was already
	// judged with the same policy and registry.
	Requested bool `json:"requested,omitempty"`
}

// LogAttrs identifies the check in logs.
func (c PullCheck) LogAttrs() []slog.Attr {
	attrs := []slog.Attr{slog.String("delivery", c.Delivery), slog.Int64("installation", c.Installation),
		slog.String("repo", c.Owner+"/"+c.Repo)}
	if c.PR != 0 {
		attrs = append(attrs, slog.Int("pr", c.PR))
	}
	return attrs
}

// Key is the supersession key: a newer head SHA for the same pull request
// makes work on an older one stale.
func (c PullCheck) Key() string {
	if c.PR == 0 {
		return fmt.Sprintf("%d/%s/%s@%s", c.Installation, c.Owner, c.Repo, c.HeadSHA)
	}
	return fmt.Sprintf("%d/%s/%s#%d", c.Installation, c.Owner, c.Repo, c.PR)
}

// Index asks to re-read a repository's default branch into the registry.
type Index struct {
	Delivery     string `json:"delivery"`
	Installation int64  `json:"installation"`
	Owner        string `json:"owner"`
	Repo         string `json:"repo"`
	// Ref is the commit to read (a push's after SHA); empty means the tip of
	// the default branch.
	Ref string `json:"ref,omitempty"`
	// Paths are the files a push touched; empty means scan the whole tree.
	Paths []string `json:"paths,omitempty"`
}

// LogAttrs identifies the indexing in logs.
func (in Index) LogAttrs() []slog.Attr {
	attrs := []slog.Attr{slog.String("delivery", in.Delivery), slog.Int64("installation", in.Installation)}
	if in.Repo != "" {
		attrs = append(attrs, slog.String("repo", in.Owner+"/"+in.Repo))
	}
	return attrs
}

// Purge drops repositories (or, with no Repos, the whole installation) from
// the registry.
type Purge struct {
	Delivery     string   `json:"delivery"`
	Installation int64    `json:"installation"`
	Repos        []string `json:"repos,omitempty"` // owner/name
}

// LogAttrs identifies the purge in logs.
func (p Purge) LogAttrs() []slog.Attr {
	return []slog.Attr{slog.String("delivery", p.Delivery), slog.Int64("installation", p.Installation)}
}

// Command is a `/mesh` comment command.
type Command struct {
	Delivery     string `json:"delivery"`
	Installation int64  `json:"installation"`
	Owner        string `json:"owner"`
	Repo         string `json:"repo"`
	Issue        int    `json:"issue"`
	IsPR         bool   `json:"is_pr"`
	CommentID    int64  `json:"comment_id"`
	User         string `json:"user"`
	Body         string `json:"body"`
}

// LogAttrs identifies the command's comment in logs.
func (c Command) LogAttrs() []slog.Attr {
	return []slog.Attr{slog.String("delivery", c.Delivery), slog.Int64("installation", c.Installation),
		slog.String("repo", c.Owner+"/"+c.Repo), slog.Int("pr", c.Issue)}
}

// ID builds a job id from a delivery id and an index within it.
func ID(delivery string, i int) string {
	if i == 0 {
		return delivery
	}
	return delivery + "." + strconv.Itoa(i)
}
