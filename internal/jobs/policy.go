package jobs

import (
	"log/slog"
)

// PolicyRecheck asks to re-check the open pull requests of one repository
// that holds data products, after the policy repository's commit became
// the active policy. One job per repository keeps the work resumable: a
// repository GitHub refuses (rate limit, outage) is retried or deferred on
// its own while the others proceed.
type PolicyRecheck struct {
	Installation int64  `json:"installation"`
	Owner        string `json:"owner"`
	Repo         string `json:"repo"`
	// Commit is the policy repository's commit that became active; a job
	// whose commit is no longer active does nothing (the newer policy's
	// own re-checks cover the repository).
	Commit string `json:"commit"`
}

// LogAttrs identifies the re-check in logs.
func (p PolicyRecheck) LogAttrs() []slog.Attr {
	return []slog.Attr{slog.Int64("installation", p.Installation), slog.String("repo", p.Owner+"/"+p.Repo),
		slog.String("policy_commit", p.Commit)}
}
