// Package pullcheck performs the pull-request check: for a jobs.PullCheck it
// creates the check run `meshbot` at the head SHA, works out which
// descriptors and contracts the pull request touches, fetches their base and
// head versions at exact SHAs, runs the engine (internal/engine) with the
// installation's registry as consumers, and completes the check run.
//
// It talks to GitHub only through githubapp.Installation.
//
// Errors. Broken YAML and missing contracts are findings, not errors: the
// check still completes. A GitHub or store failure is returned, so the queue
// retries the job with its backoff and dead-letters it after the last
// attempt. A *githubapp.RateLimitError is returned as it is: the worker
// defers the job to the limit's reset without spending an attempt. A job
// that cannot succeed (a job without head SHA, a pull request that no
// longer exists: githubapp.ErrNotFound, a policy cut off by its time bound)
// is marked store.Permanent; an undecodable payload never reaches the
// handler (jobs.Registry refuses it).
//
// No check run is left in progress by a job that ends without success: on
// a permanent error or the job's last attempt (jobs.Meta.Last) the run
// this delivery created (or, when creating it was what failed, a new one)
// is completed with conclusion failure, the title TitleUnfinished and a
// summary saying what happened and what to do, since a required check
// that stays in progress blocks the pull request with no explanation. A
// job dead-lettered without its handler finishing (its workers died or
// hung until its attempts ran out, a payload that does not decode) gets
// the same from NewDeadHook, the kind's dead-letter hook (jobs.OnDead).
//
// At-least-once. A job runs again when its worker died or its ack was lost.
// On a retry (Attempt > 1) the check run this delivery created is looked up
// by external_id and reused, and when it already completed nothing is done.
//
// Supersession. A job whose head SHA is no longer the newest of its pull
// request (store.IsLatest) does nothing. When a newer push arrives while a
// check runs, the run is completed with conclusion "cancelled" and the title
// "Superseded by a newer commit": that is how GitHub shows work stopped on
// purpose (as Actions does for cancelled runs), it blocks nothing, because
// branch protection looks at the new head, and the run does not stay
// in progress for ever.
package pullcheck

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/meshbot/meshbot/internal/checkrun"
	"github.com/meshbot/meshbot/internal/engine"
	"github.com/meshbot/meshbot/internal/githubapp"
	"github.com/meshbot/meshbot/internal/jobs"
	"github.com/meshbot/meshbot/internal/mesh"
	"github.com/meshbot/meshbot/internal/metrics"
	"github.com/meshbot/meshbot/internal/policyeval"
	"github.com/meshbot/meshbot/internal/render"
	"github.com/meshbot/meshbot/internal/store"
)

// CheckName is the check run's name; branch protection rules require it.
const CheckName = "meshbot"

// Titles of the outcomes decided here rather than by the engine.
const (
	TitleNothingChanged = "No data products changed"
	TitleSuperseded     = "Superseded by a newer commit"
	TitleUnfinished     = "meshbot could not finish this check"
)

// Store is the state a check reads: the newest head SHA per pull request
// and the registry; and the queue, for re-indexing repositories whose
// registry record does not decode. A store.Store provides it.
type Store interface {
	store.Latest
	store.Registry
	store.Dedup
	store.Marks
	store.Approvals
}

// Deps are the check's collaborators.
type Deps struct {
	GitHub githubapp.Clients
	Store  Store
	// Policy is read once per job, so a swap applies from the next job on.
	Policy *policyeval.Swappable
	Now    func() time.Time // default time.Now; fixes "today" for sunset windows
	Logger *slog.Logger     // default slog.Default()
	// Concurrency bounds the file fetches of one check; default 8.
	Concurrency int
	// Metrics counts the check runs completed by conclusion and the checks
	// skipped because their verdict was given already; nil counts nothing.
	Metrics *metrics.Metrics
}

type checker struct {
	metrics *metrics.Metrics
	gh      githubapp.Clients
	store   Store
	policy  *policyeval.Swappable
	now     func() time.Time
	log     *slog.Logger
	limit   int
}

// New returns the handler of jobs.KindPullCheck.
func New(deps Deps) jobs.Handler[jobs.PullCheck] { return newChecker(deps).handle }

func newChecker(deps Deps) *checker {
	c := &checker{gh: deps.GitHub, store: deps.Store, policy: deps.Policy, now: deps.Now, log: deps.Logger, limit: deps.Concurrency, metrics: deps.Metrics}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.limit <= 0 {
		c.limit = 8
	}
	return c
}

// job is one check in progress.
type job struct {
	jobs.PullCheck
	attempt int
	cl      githubapp.Installation
	log     *slog.Logger
	runID   int64
	policy  *policyeval.Set // read once per job
	by      judgedBy
	breaks  store.Breaks // what the head breaks, for /mesh approve; set by judge
}

func (j *job) fullName() string { return j.Owner + "/" + j.Repo }

func (c *checker) handle(ctx context.Context, chk jobs.PullCheck, m jobs.Meta) error {
	log := c.log.With(slog.String("delivery", chk.Delivery), slog.Int64("installation", chk.Installation),
		slog.String("repo", chk.Owner+"/"+chk.Repo), slog.Int("pr", chk.PR), slog.String("sha", chk.HeadSHA))
	if chk.Owner == "" || chk.Repo == "" || chk.HeadSHA == "" {
		return store.Permanent(fmt.Errorf("check job %s: owner, repo and head SHA are required", m.ID))
	}
	if chk.PR == 0 {
		// Without a pull request there is no change to judge (a push to a
		// branch nobody proposed): no check run, rather than a neutral one
		// on every commit.
		log.Info("pullcheck: no pull request for this commit, nothing to check")
		return nil
	}
	if stale, err := c.superseded(ctx, chk); err != nil {
		return err
	} else if stale {
		log.Info("pullcheck: superseded by a newer head before it started, skipped")
		return nil
	}
	cl, err := c.gh.Installation(chk.Installation)
	if err != nil {
		return fmt.Errorf("check %s: installation client: %w", chk.Key(), err)
	}
	j := &job{PullCheck: chk, attempt: m.Attempt, cl: cl, log: log}
	err = c.check(ctx, j)
	if err != nil && ending(ctx, err, m) {
		if ferr := c.finishUnfinished(ctx, j, err, m); ferr != nil {
			return fmt.Errorf("%w (and the check run could not be completed: %v)", err, ferr)
		}
	}
	return err
}

// ending says whether err ends the job for good: permanent, or on its last
// attempt. A rate limit defers the job instead, and a cancelled context is
// shutdown, which hands the job back.
func ending(ctx context.Context, err error, m jobs.Meta) bool {
	var rl *githubapp.RateLimitError
	switch {
	case ctx.Err() != nil:
		return false
	case store.IsPermanent(err):
		return true
	case errors.As(err, &rl):
		return false
	}
	return m.Last
}

// finishUnfinished completes the job's check run, creating it if need be,
// with what went wrong and what to do about it.
func (c *checker) finishUnfinished(ctx context.Context, j *job, cause error, m jobs.Meta) error {
	out := unfinished(cause, m)
	if j.runID == 0 {
		id, err := j.cl.CreateCheckRun(ctx, j.Owner, j.Repo, githubapp.NewCheckRun{
			Name: CheckName, HeadSHA: j.HeadSHA, ExternalID: j.Delivery, StartedAt: c.now(),
			Title: out.Title, Summary: out.Summary,
		})
		if err != nil {
			return err
		}
		j.runID = id
	}
	if err := j.cl.CompleteCheckRun(ctx, j.Owner, j.Repo, j.runID, out); err != nil {
		return err
	}
	c.metrics.CheckRunCompleted(out.Conclusion)
	j.log.Warn("pullcheck: job ends without a verdict, check run completed saying so", slog.Int64("check_run", j.runID),
		slog.Bool("permanent", store.IsPermanent(cause)), slog.Int("attempt", m.Attempt), slog.Any("err", cause))
	return nil
}

// maxErrorText bounds the error quoted in a summary (GitHub's limit is
// 65,535 characters; a wrapped error with a stack is no help past this).
const maxErrorText = 2000

// unfinished is the output of a check that could not be judged.
func unfinished(cause error, m jobs.Meta) checkrun.Output {
	var what, todo string
	switch {
	case errors.Is(cause, context.DeadlineExceeded):
		what = "The data-mesh policy did not finish within its time bound, so no verdict could be reached."
		todo = "Ask the policy's owners to make the policy cheaper (or its time bound longer); then comment `/mesh recheck` on the pull request."
	case errors.Is(cause, githubapp.ErrNotFound):
		what = "GitHub no longer finds the pull request or a file meshbot needs (deleted, renamed, or out of the App's reach)."
		todo = "If the pull request is still open, push a new commit or comment `/mesh recheck` on it."
	case store.IsPermanent(cause):
		what = "meshbot hit an error that retrying cannot fix."
		todo = "Fix the cause below if it is in this repository, then push a new commit or comment `/mesh recheck`; otherwise tell meshbot's operators."
	default:
		what = fmt.Sprintf("meshbot gave up after %d attempts: GitHub or meshbot's store kept failing.", m.Attempt)
		todo = "Comment `/mesh recheck` on the pull request to try again. If it keeps failing, tell meshbot's operators: the job is in the dead-letter list."
	}
	msg := strings.ReplaceAll(cause.Error(), "`", "'")
	if len(msg) > maxErrorText {
		msg = strings.ToValidUTF8(msg[:maxErrorText], "") + "…"
	}
	return checkrun.Output{Conclusion: checkrun.Failure, Title: TitleUnfinished, Summary: fmt.Sprintf(
		"%s\n\n**What to do:** %s\n\n**Error:** `%s`", what, todo, msg)}
}

// check is the job proper: start the check run, judge, complete it.
func (c *checker) check(ctx context.Context, j *job) error {
	chk := j.PullCheck
	if err := c.versions(ctx, j); err != nil {
		return err
	}
	if skip, err := c.replayed(ctx, j); err != nil || skip {
		return err
	}
	done, err := c.start(ctx, j)
	if err != nil {
		return err
	}
	if done {
		j.log.Info("pullcheck: this delivery's check run is already complete", slog.Int64("check_run", j.runID))
		c.metrics.CheckSkipped(metrics.SkipRetry)
		return nil
	}
	start := time.Now()
	out, err := c.judge(ctx, j)
	if err != nil {
		if errors.Is(err, githubapp.ErrNotFound) {
			// The pull request or its repository is gone; retrying will
			// not bring it back. handle completes the run, saying so.
			return store.Permanent(err)
		}
		return err
	}
	if stale, err := c.superseded(ctx, chk); err != nil {
		return err
	} else if stale {
		j.log.Info("pullcheck: superseded while running, cancelling the check run")
		out = checkrun.Output{Conclusion: checkrun.Cancelled, Title: TitleSuperseded, Summary: fmt.Sprintf(
			"A newer commit was pushed to pull request #%d while meshbot was checking %s; the check run of the newest commit has the verdict.", chk.PR, chk.HeadSHA)}
	}
	if out.Conclusion != checkrun.Cancelled {
		if err := c.recordBreaks(ctx, j); err != nil {
			return err
		}
	}
	if err := j.cl.CompleteCheckRun(ctx, chk.Owner, chk.Repo, j.runID, out); err != nil {
		return fmt.Errorf("check %s: %w", chk.Key(), err)
	}
	c.metrics.CheckRunCompleted(out.Conclusion)
	j.log.Info("pullcheck: check run completed", slog.Int64("check_run", j.runID), slog.String("conclusion", string(out.Conclusion)),
		slog.String("title", out.Title), slog.Int("annotations", len(out.Annotations)), slog.Duration("took", time.Since(start)))
	c.judged(ctx, j)
	return nil
}

func (c *checker) superseded(ctx context.Context, chk jobs.PullCheck) (bool, error) {
	latest, err := c.store.IsLatest(ctx, chk.Key(), chk.HeadSHA)
	if err != nil {
		return false, fmt.Errorf("check %s: newest head: %w", chk.Key(), err)
	}
	return !latest, nil
}

// start creates the check run in progress, or on a retry finds the one this
// delivery created. done reports that it was already completed.
func (c *checker) start(ctx context.Context, j *job) (done bool, err error) {
	if j.attempt > 1 {
		runs, err := j.cl.CheckRuns(ctx, j.Owner, j.Repo, j.HeadSHA, CheckName)
		if err != nil {
			return false, fmt.Errorf("check %s: %w", j.Key(), err)
		}
		for _, r := range runs {
			if deliveryOf(r.ExternalID) == j.Delivery && j.Delivery != "" {
				j.runID = r.ID
				j.log.Info("pullcheck: retry, reusing the check run of this delivery", slog.Int64("check_run", j.runID), slog.Int("attempt", j.attempt))
				return r.Completed, nil
			}
		}
	}
	id, err := j.cl.CreateCheckRun(ctx, j.Owner, j.Repo, githubapp.NewCheckRun{
		Name:       CheckName,
		HeadSHA:    j.HeadSHA,
		ExternalID: j.by.externalID(j.Delivery),
		StartedAt:  c.now(),
		Title:      "Checking data products",
		Summary:    "meshbot is reading the descriptors and contracts this pull request changes.",
	})
	if err != nil {
		return false, fmt.Errorf("check %s: %w", j.Key(), err)
	}
	j.runID = id
	j.log.Info("pullcheck: check run created", slog.Int64("check_run", j.runID))
	return false, nil
}

// judge decides the conclusion and output of the check run.
func (c *checker) judge(ctx context.Context, j *job) (checkrun.Output, error) {
	changed, err := changesOf(ctx, j)
	if err != nil {
		return checkrun.Output{}, fmt.Errorf("check %s: %w", j.Key(), err)
	}
	if changed.partial != "" {
		return partialOutput(changed.partial), nil
	}
	changes := changed.changes
	reg := &registryView{load: func() ([]store.RepoProducts, error) {
		rs, err := c.store.ProductsByRepo(ctx, j.Installation)
		if err == nil {
			c.reindex(ctx, j, rs)
		}
		return rs, err
	}, repo: j.fullName()}
	v := newView(j, c.limit, changed)
	defer v.r.Wait() // no fetch outlives the job
	disc, err := c.discovery(ctx, j, v, changes)
	if err != nil {
		return checkrun.Output{}, fmt.Errorf("check %s: %w", j.Key(), err)
	}
	var files []string
	if considered(changes, disc) {
		if err := reg.get(); err != nil {
			return checkrun.Output{}, fmt.Errorf("check %s: registry: %w", j.Key(), err)
		}
		files = selectFiles(changes, disc, func(p string) []string { return reg.users[p] })
	}
	if len(files) == 0 {
		j.log.Info("pullcheck: no data product file changed", slog.Int("files", len(changes)))
		return nothingChanged(len(changes)), nil
	}
	// Load what the change touches; then what those files lead to (the
	// descriptor of a contract nobody registered, a contract named by id),
	// until nothing new is needed. Reloading reads nothing twice.
	var head, base *mesh.Mesh
	v.choose(files...)
	for round := 1; ; round++ {
		if head, base, err = v.load(ctx); err != nil {
			return checkrun.Output{}, fmt.Errorf("check %s: %w", j.Key(), err)
		}
		if round == maxRounds {
			break
		}
		more, err := v.more(ctx, head, base, reg, disc)
		if err != nil {
			return checkrun.Output{}, fmt.Errorf("check %s: %w", j.Key(), err)
		}
		if !v.choose(more...) {
			break
		}
	}
	if empty(head) && empty(base) {
		j.log.Info("pullcheck: the changed files belong to no data product", slog.Any("files", files))
		return nothingChanged(len(changes)), nil
	}
	consumers, err := reg.all()
	if err != nil {
		return checkrun.Output{}, fmt.Errorf("check %s: registry: %w", j.Key(), err)
	}
	req := engine.Request{Head: head, Base: base, Consumers: [][]*mesh.Product{consumers}, Today: c.now()}
	req.Policy = j.policy
	if req.Approvals, err = c.approvals(ctx, j); err != nil {
		return checkrun.Output{}, fmt.Errorf("check %s: approvals: %w", j.Key(), err)
	}
	rep, err := engine.Evaluate(ctx, req)
	if err != nil {
		err = fmt.Errorf("check %s: evaluate: %w", j.Key(), err)
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			// The policy's own time bound, not the job's: the same
			// policy on the same files would be cut off again.
			err = store.Permanent(err)
		}
		return checkrun.Output{}, err
	}
	out := render.CheckRun(rep)
	j.breaks = brokenAt(j.HeadSHA, rep.Breaks)
	out.Summary = checkrun.Truncate(out.Summary+judgedByPolicy(j.policy), checkrun.MaxOutputChars)
	c.recordThreads(ctx, j, head, base)
	j.log.Info("pullcheck: evaluated", slog.Int("descriptors", len(head.Products)), slog.Int("contracts", len(head.Contracts)),
		slog.Int("consumers", len(consumers)), slog.Int("findings", len(rep.Findings)), slog.Int("fetched", v.fetched()))
	return out, nil
}

// maxRounds bounds how many times a check follows files to more files.
const maxRounds = 3

// empty says whether a load found nothing of a mesh: no descriptor, no
// contract, no problem.
func empty(m *mesh.Mesh) bool {
	return len(m.Products) == 0 && len(m.Contracts) == 0 && len(m.Problems) == 0
}

func nothingChanged(files int) checkrun.Output {
	return checkrun.Output{Conclusion: checkrun.Success, Title: TitleNothingChanged, Summary: fmt.Sprintf(
		"None of the %d changed file(s) is a data product descriptor, a data contract, or a contract a data product names, so there is nothing for meshbot to judge.", files)}
}

// registryView reads the installation's registry once per job.
type registryView struct {
	load   func() ([]store.RepoProducts, error)
	repo   string
	loaded bool
	repos  []store.RepoProducts
	err    error
	users  map[string][]string          // contract path -> descriptors of this repo naming it
	ports  map[string]map[string]string // descriptor -> port -> contract path
}

func (r *registryView) get() error {
	if r.loaded {
		return r.err
	}
	r.loaded = true
	r.repos, r.err = r.load()
	if r.err != nil {
		return r.err
	}
	r.users = map[string][]string{}
	r.ports = map[string]map[string]string{}
	for _, rp := range r.repos {
		if !strings.EqualFold(rp.Repo, r.repo) {
			continue
		}
		for _, p := range rp.Products {
			for _, o := range p.OutputPorts {
				if o.ContractPath == "" {
					continue
				}
				r.users[o.ContractPath] = append(r.users[o.ContractPath], p.File)
				if r.ports[p.File] == nil {
					r.ports[p.File] = map[string]string{}
				}
				r.ports[p.File][o.Name] = o.ContractPath
			}
		}
	}
	return nil
}

// portContract is the contract path the registry resolved for a port.
func (r *registryView) portContract(descriptor, port string) string {
	if r.get() != nil {
		return ""
	}
	return r.ports[descriptor][port]
}

func (r *registryView) all() ([]*mesh.Product, error) {
	if err := r.get(); err != nil {
		return nil, err
	}
	n := 0
	for _, rp := range r.repos {
		n += len(rp.Products)
	}
	out := make([]*mesh.Product, 0, n)
	for _, rp := range r.repos {
		out = append(out, rp.Products...)
	}
	return out, nil
}
