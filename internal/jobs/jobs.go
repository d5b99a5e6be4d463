// Package jobs defines the work meshbot's webhook intake enqueues and its
// workers perform. A job's payload is one of the structs below as JSON; the
// store treats it as opaque bytes.
package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/meshbot/meshbot/internal/store"
)

// Kinds of job.
const (
	KindPullCheck = "check"   // judge a pull request's head and post a check run
	KindIndex     = "index"   // (re)index a repository's default branch into the registry
	KindPurge     = "purge"   // drop repositories or a whole installation from the registry
	KindCommand   = "command" // a `/mesh` comment command
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

// Purge drops repositories (or, with no Repos, the whole installation) from
// the registry.
type Purge struct {
	Delivery     string   `json:"delivery"`
	Installation int64    `json:"installation"`
	Repos        []string `json:"repos,omitempty"` // owner/name
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

// Handler performs one kind of job. Returning an error makes the queue retry
// the job with backoff, and dead-letter it after the last attempt.
type Handler func(ctx context.Context, j store.Job) error

// New wraps a payload into a job. id must be unique per job: a delivery that
// makes several jobs gives each its own suffix.
func New(id, kind, key string, payload any) (store.Job, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return store.Job{}, fmt.Errorf("encode %s job %s: %w", kind, id, err)
	}
	return store.Job{ID: id, Kind: kind, Key: key, Payload: b}, nil
}

// Decode reads a job's payload into v.
func Decode(j store.Job, v any) error {
	if err := json.Unmarshal(j.Payload, v); err != nil {
		return fmt.Errorf("decode %s job %s: %w", j.Kind, j.ID, err)
	}
	return nil
}

// ID builds a job id from a delivery id and an index within it.
func ID(delivery string, i int) string {
	if i == 0 {
		return delivery
	}
	return delivery + "." + strconv.Itoa(i)
}
