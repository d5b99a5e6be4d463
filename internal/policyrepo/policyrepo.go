// Package policyrepo follows the governance guild's policy repository
// (MESHBOT_POLICY_REPO): it checks the guild's pull requests there (compile,
// sandbox, Rego tests, and an impact preview when one is wired in), and
// activates what is pushed to the default branch on every replica.
//
// Layout. The policy is the Rego files (`*.rego`, tests `*_test.rego`) and
// data files (`data.json`, `data.yaml`, mounted under data by folder path)
// under `policy/`, or under the repository's root when it has no `policy/`
// folder. Hidden folders are skipped; other YAML and JSON files are not
// policy data.
//
// Activation. A push to the default branch is fetched at its commit,
// compiled and tested by the replica whose worker takes the job. A sound
// bundle is stored in the store with the record of the active commit (one
// step), swapped in locally, and announced; every other replica hears of it
// through the store (Redis pub/sub, and a poll of the record as the
// fallback), reads the bundle from the store and swaps it in. Replicas load
// the copy in the store rather than fetch from GitHub: they judge with
// exactly the bytes that were tested, a switch costs no GitHub call and no
// rate limit per replica, and a replica starts with the active policy while
// GitHub is down. A refused bundle changes nothing anywhere: a failing check
// run on its commit, a log line and meshbot_policy_refusals_total say why.
//
// Jobs. The pull-request check and the activation arrive as the ordinary
// check and index jobs of the policy repository (Divert* send them here,
// whoever enqueued them: the webhook, `/mesh recheck`, the recovery sweep).
// After an activation, one jobs.KindPolicyRecheck per repository holding
// data products re-checks its open pull requests.
package policyrepo

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/meshbot/meshbot/internal/githubapp"
	"github.com/meshbot/meshbot/internal/policyeval"
	"github.com/meshbot/meshbot/internal/store"
)

// CheckName is the policy check run's name, the same as a data product
// check's: branch protection requires one name.
const CheckName = "meshbot"

// Preview evaluates the proposed policy against the installation's
// registry; the policy check run shows its Section. The impact preview
// is wired in here.
type Preview func(ctx context.Context, installation int64, proposed *policyeval.Set) (Section, error)

// Observer is told of switches and refusals (/metrics); *metrics.Metrics
// is one.
type Observer interface {
	PolicyCommit(repo, commit, version, how string)
	PolicyRefused(reason string)
}

// Store is what the policy repository keeps: the active policy, the newest
// head of pull requests, the registry (which repositories to re-check), and
// the queue with its dedup (re-checks enqueued once per policy commit).
type Store interface {
	store.Policies
	store.Latest
	store.Registry
	store.Dedup
}

// PullLister lists a repository's open pull requests; *githubapp.App is
// one.
type PullLister interface {
	Rechecker(installation int64) (githubapp.Rechecker, error)
}

// Deps are the collaborators of a Service.
type Deps struct {
	Repo   string // owner/name of the policy repository
	GitHub githubapp.Clients
	Pulls  PullLister
	Store  Store
	Active *Active
	// Budgets, when set, keeps re-checks from spending an installation's
	// last requests (interactive checks need them): a re-check waits for
	// the reset when fewer than RecheckReserve remain.
	Budgets *githubapp.Budgets
	Preview Preview  // nil: no impact preview
	Metrics Observer // nil: none
	Logger  *slog.Logger
	Now     func() time.Time
}

// RecheckReserve is how many requests of an installation's hourly budget
// re-checks leave to the checks people are waiting for.
const RecheckReserve = 500

// Service handles the policy repository's jobs.
type Service struct {
	d     Deps
	owner string
	name  string
}

// New returns the Service of deps.Repo; nil when no repository is
// configured (the Divert wrappers then change nothing).
func New(d Deps) *Service {
	owner, name, ok := strings.Cut(d.Repo, "/")
	if !ok {
		return nil
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Service{d: d, owner: owner, name: name}
}

// is says whether owner/repo is the policy repository (GitHub's names are
// case-insensitive).
func (s *Service) is(owner, repo string) bool {
	return s != nil && strings.EqualFold(owner, s.owner) && strings.EqualFold(repo, s.name)
}

// SetPreview wires the impact preview in (before the workers start).
func (s *Service) SetPreview(p Preview) {
	if s != nil {
		s.d.Preview = p
	}
}
