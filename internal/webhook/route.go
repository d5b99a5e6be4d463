package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-github/v60/github"

	"github.com/meshbot/meshbot/internal/jobs"
	"github.com/meshbot/meshbot/internal/store"
)

// Head is a pull request's newest head SHA under its supersession key. The
// intake records it before enqueueing, so a worker holding an older SHA of
// the same pull request knows its verdict is stale.
type Head struct {
	Key string
	SHA string
}

// Work is what one delivery asks for: the jobs to enqueue, the heads to
// record with them, or why it is ignored.
type Work struct {
	Jobs  []store.Job
	Heads []Head
	// Ignored says why a well-formed delivery needs no work ("" when Jobs is
	// not empty).
	Ignored string
	// Installation and Repo identify the delivery in logs (Repo may be "").
	Installation int64
	Repo         string
	Action       string
}

// ErrMalformed wraps every reason a payload cannot be routed: the intake
// answers it with 400.
var ErrMalformed = errors.New("malformed payload")

// Events are the webhook events meshbot subscribes to in its App manifest
// (installation and installation_repositories reach every App without a
// subscription, and ping is GitHub's own). The manifest test holds the
// manifest to this list.
var subscribed = []string{"check_run", "check_suite", "issue_comment", "pull_request", "push"}

// SubscribedEvents returns the events the App manifest must subscribe to.
func SubscribedEvents() []string { return slices.Clone(subscribed) }

// HandledEvents returns every event Route turns into work.
func HandledEvents() []string {
	return append(SubscribedEvents(), "installation", "installation_repositories")
}

// maxPushCommits is how many commits GitHub lists in a push payload at most;
// a push that reaches it may touch files no listed commit names.
const maxPushCommits = 2048

const zeroSHA = "0000000000000000000000000000000000000000"

// envelope is what every delivery is read for before its event is known:
// the action and repository for logs, and the installation meshbot acts as.
// The events meshbot handles are then decoded into go-github's types.
type envelope struct {
	Action       string `json:"action"`
	Installation *struct {
		ID int64 `json:"id"`
	} `json:"installation"`
	Repository *struct {
		FullName string `json:"full_name"`
	} `json:"repository"`
}

// checkRunEvent is the part of a check_run delivery meshbot reads, in
// go-github's types. go-github's own CheckRunEvent also decodes the App
// that owns the run, whose timestamps GitHub's published example writes in
// a form go-github refuses ("2018-04-25 20:42:10"): a delivery must not be
// refused over a field meshbot never reads.
type checkRunEvent struct {
	Action   *string            `json:"action"`
	Repo     *github.Repository `json:"repository"`
	CheckRun *struct {
		ID           *int64                `json:"id"`
		HeadSHA      *string               `json:"head_sha"`
		PullRequests []*github.PullRequest `json:"pull_requests"`
	} `json:"check_run"`
}

// GetAction returns the action, "" when absent.
func (e *checkRunEvent) GetAction() string {
	if e.Action == nil {
		return ""
	}
	return *e.Action
}

// parseEvent decodes a delivery of an event Route handles into go-github's
// event type (checkRunEvent for check_run).
func parseEvent(event string, body []byte) (any, error) {
	if event == "check_run" {
		var e checkRunEvent
		if err := json.Unmarshal(body, &e); err != nil {
			return nil, err
		}
		return &e, nil
	}
	return github.ParseWebHook(event, body)
}

// splitRepo returns owner and name, from full_name when present
// (installation payloads carry no owner object), else from owner and name.
func splitRepo(fullName, ownerLogin, name string) (owner, repo string, ok bool) {
	if o, n, found := strings.Cut(fullName, "/"); found && o != "" && n != "" && !strings.Contains(n, "/") {
		return o, n, true
	}
	if ownerLogin != "" && name != "" {
		return ownerLogin, name, true
	}
	return "", "", false
}

func splitRepository(r *github.Repository) (owner, name string, ok bool) {
	return splitRepo(r.GetFullName(), r.GetOwner().GetLogin(), r.GetName())
}

// Route turns one verified delivery into work. It is pure: the same
// (delivery, event, body) always gives the same Work. A body that is not a
// JSON object, or lacks what the event needs, returns an error wrapping
// ErrMalformed.
func Route(delivery, event string, body []byte) (Work, error) {
	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return Work{}, fmt.Errorf("%w: %s: not a JSON object", ErrMalformed, event)
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return Work{}, fmt.Errorf("%w: %s: %v", ErrMalformed, event, err)
	}
	w := Work{Action: env.Action}
	if env.Repository != nil {
		w.Repo = env.Repository.FullName
	}
	if !slices.Contains(HandledEvents(), event) {
		w.Ignored = "event " + event + " is not used by meshbot"
		return w, nil
	}
	if env.Installation == nil || env.Installation.ID <= 0 {
		// A repository or organisation webhook, not the App: meshbot cannot
		// act without an installation token.
		w.Ignored = "no installation: not delivered to a GitHub App"
		return w, nil
	}
	ev, err := parseEvent(event, body)
	if err != nil {
		return Work{}, fmt.Errorf("%w: %s: %v", ErrMalformed, event, err)
	}
	w.Installation = env.Installation.ID
	r := router{delivery: delivery, inst: env.Installation.ID, w: &w}
	switch e := ev.(type) {
	case *github.PullRequestEvent:
		err = r.pullRequest(e)
	case *github.CheckSuiteEvent:
		err = r.checkSuite(e)
	case *checkRunEvent:
		err = r.checkRun(e)
	case *github.PushEvent:
		err = r.push(e)
	case *github.InstallationEvent:
		err = r.installation(e)
	case *github.InstallationRepositoriesEvent:
		err = r.installationRepositories(e)
	case *github.IssueCommentEvent:
		err = r.issueComment(e)
	default:
		// HandledEvents and this switch disagree: a bug, not the sender's.
		return Work{}, fmt.Errorf("webhook: event %s decoded as %T, which Route does not handle", event, ev)
	}
	if err != nil {
		return Work{}, fmt.Errorf("%w: %s %s: %v", ErrMalformed, event, env.Action, err)
	}
	if len(w.Jobs) == 0 && w.Ignored == "" {
		w.Ignored = "nothing to do"
	}
	return w, nil
}

type router struct {
	delivery string
	inst     int64
	w        *Work
}

// nextID is the id of the delivery's next job.
func (r *router) nextID() string { return jobs.ID(r.delivery, len(r.w.Jobs)) }

// add takes a job from a jobs.Kind's New: r.add(jobs.KindX.New(r.nextID(), key, payload)).
func (r *router) add(j store.Job, err error) error {
	if err != nil {
		return err
	}
	r.w.Jobs = append(r.w.Jobs, j)
	return nil
}

func (r *router) ignore(format string, args ...any) error {
	r.w.Ignored = fmt.Sprintf(format, args...)
	return nil
}

// repo returns the owner and name of an event's repository.
func repo(r *github.Repository) (owner, name string, err error) {
	if r == nil {
		return "", "", errors.New("no repository")
	}
	owner, name, ok := splitRepository(r)
	if !ok {
		return "", "", errors.New("repository without owner and name")
	}
	return owner, name, nil
}

// check adds a PullCheck job; latest records the head as the pull request's
// newest, which only the events that carry the pull request's current head
// may do.
func (r *router) check(c jobs.PullCheck, latest bool) error {
	if !validSHA(c.HeadSHA) {
		return fmt.Errorf("head sha %q is not a commit id", c.HeadSHA)
	}
	if latest && c.PR != 0 {
		r.w.Heads = append(r.w.Heads, Head{Key: c.Key(), SHA: c.HeadSHA})
	}
	return r.add(jobs.KindPullCheck.New(r.nextID(), c.Key(), c))
}

func (r *router) pullRequest(e *github.PullRequestEvent) error {
	switch e.GetAction() {
	case "opened", "synchronize", "reopened", "ready_for_review":
	default:
		return r.ignore("pull_request %s needs no check", e.GetAction())
	}
	owner, name, err := repo(e.Repo)
	if err != nil {
		return err
	}
	pr := e.PullRequest
	if pr.GetNumber() <= 0 {
		return errors.New("no pull_request number")
	}
	return r.check(jobs.PullCheck{
		Delivery: r.delivery, Installation: r.inst, Owner: owner, Repo: name,
		PR: pr.GetNumber(), HeadSHA: pr.GetHead().GetSHA(), BaseSHA: pr.GetBase().GetSHA(), BaseRef: pr.GetBase().GetRef(),
	}, true)
}

func (r *router) checkSuite(e *github.CheckSuiteEvent) error {
	switch e.GetAction() {
	case "requested", "rerequested":
	default:
		return r.ignore("check_suite %s needs no check", e.GetAction())
	}
	owner, name, err := repo(e.Repo)
	if err != nil {
		return err
	}
	cs := e.CheckSuite
	if cs == nil {
		return errors.New("no check_suite")
	}
	if len(cs.PullRequests) == 0 {
		// A push to a branch without a pull request: meshbot judges changes
		// proposed to a base, and there is none.
		return r.ignore("check_suite for %s belongs to no pull request", cs.GetHeadSHA())
	}
	for _, pr := range cs.PullRequests {
		if pr.GetNumber() <= 0 {
			return errors.New("check_suite pull request without number")
		}
		// The suite may be an older commit of the pull request; only its
		// current head becomes the newest.
		err := r.check(jobs.PullCheck{
			Delivery: r.delivery, Installation: r.inst, Owner: owner, Repo: name,
			PR: pr.GetNumber(), HeadSHA: cs.GetHeadSHA(), BaseSHA: pr.GetBase().GetSHA(), BaseRef: pr.GetBase().GetRef(),
			Requested: e.GetAction() == "rerequested",
		}, pr.GetHead().GetSHA() == cs.GetHeadSHA())
		if err != nil {
			return err
		}
	}
	return nil
}

func (r *router) checkRun(e *checkRunEvent) error {
	if e.GetAction() != "rerequested" {
		return r.ignore("check_run %s needs no check", e.GetAction())
	}
	owner, name, err := repo(e.Repo)
	if err != nil {
		return err
	}
	cr := e.CheckRun
	if cr == nil || cr.ID == nil || *cr.ID <= 0 {
		return errors.New("no check_run id")
	}
	head := ""
	if cr.HeadSHA != nil {
		head = *cr.HeadSHA
	}
	base := jobs.PullCheck{Delivery: r.delivery, Installation: r.inst, Owner: owner, Repo: name,
		HeadSHA: head, CheckRunID: *cr.ID}
	if len(cr.PullRequests) == 0 {
		return r.check(base, false)
	}
	for _, pr := range cr.PullRequests {
		if pr.GetNumber() <= 0 {
			return errors.New("check_run pull request without number")
		}
		c := base
		c.PR, c.BaseSHA, c.BaseRef = pr.GetNumber(), pr.GetBase().GetSHA(), pr.GetBase().GetRef()
		if err := r.check(c, pr.GetHead().GetSHA() == head); err != nil {
			return err
		}
	}
	return nil
}

func (r *router) push(e *github.PushEvent) error {
	if e.Repo == nil {
		return errors.New("no repository")
	}
	owner, name, ok := splitRepo(e.Repo.GetFullName(), e.Repo.GetOwner().GetLogin(), e.Repo.GetName())
	if !ok {
		return errors.New("repository without owner and name")
	}
	def := e.Repo.GetDefaultBranch()
	if def == "" || e.GetRef() != "refs/heads/"+def {
		return r.ignore("push to %s, not the default branch", e.GetRef())
	}
	if e.GetDeleted() || e.GetAfter() == zeroSHA {
		return r.ignore("default branch %s deleted", def)
	}
	if !validSHA(e.GetAfter()) {
		return fmt.Errorf("after %q is not a commit id", e.GetAfter())
	}
	ix := jobs.Index{Delivery: r.delivery, Installation: r.inst, Owner: owner, Repo: name, Ref: e.GetAfter()}
	// The listed commits name every touched file only for an ordinary
	// fast-forward: a created branch, a force push (which can drop commits
	// that are not listed) or a truncated list needs a full scan, which
	// empty Paths asks for.
	full := e.GetCreated() || e.GetForced() || e.GetBefore() == zeroSHA || len(e.Commits) == 0 || len(e.Commits) >= maxPushCommits
	if !full {
		seen := map[string]bool{}
		for _, c := range e.Commits {
			for _, list := range [][]string{c.Added, c.Modified, c.Removed} {
				for _, f := range list {
					if f != "" && !seen[f] {
						seen[f] = true
						ix.Paths = append(ix.Paths, f)
					}
				}
			}
		}
		slices.Sort(ix.Paths)
	}
	return r.add(jobs.KindIndex.New(r.nextID(), "", ix))
}

// indexRepos adds one index job per repository, so that one repository
// GitHub keeps failing on is retried on its own while the others are
// indexed. A redelivery carries the same delivery id and payload, so the
// jobs' ids are the same and the intake's dedup drops it.
func (r *router) indexRepos(repos []*github.Repository) error {
	for _, repo := range repos {
		owner, name, ok := splitRepository(repo)
		if !ok {
			return fmt.Errorf("repository %q without owner and name", repo.GetFullName())
		}
		if err := r.add(jobs.KindIndex.New(r.nextID(), "", jobs.Index{
			Delivery: r.delivery, Installation: r.inst, Owner: owner, Repo: name,
		})); err != nil {
			return err
		}
	}
	return nil
}

func (r *router) installation(e *github.InstallationEvent) error {
	switch e.GetAction() {
	case "created":
		if len(e.Repositories) == 0 {
			// No list in the payload: one scan job, which lists the
			// repositories through the API and enqueues a job for each.
			return r.add(jobs.KindIndex.New(r.nextID(), "", jobs.Index{Delivery: r.delivery, Installation: r.inst}))
		}
		return r.indexRepos(e.Repositories)
	case "deleted":
		return r.add(jobs.KindPurge.New(r.nextID(), "", jobs.Purge{Delivery: r.delivery, Installation: r.inst}))
	}
	return r.ignore("installation %s needs no work", e.GetAction())
}

func (r *router) installationRepositories(e *github.InstallationRepositoriesEvent) error {
	switch e.GetAction() {
	case "added":
		return r.indexRepos(e.RepositoriesAdded)
	case "removed":
		purge := jobs.Purge{Delivery: r.delivery, Installation: r.inst}
		for _, repo := range e.RepositoriesRemoved {
			owner, name, ok := splitRepository(repo)
			if !ok {
				return fmt.Errorf("removed repository %q without owner and name", repo.GetFullName())
			}
			purge.Repos = append(purge.Repos, owner+"/"+name)
		}
		if len(purge.Repos) == 0 {
			return r.ignore("no repositories removed")
		}
		return r.add(jobs.KindPurge.New(r.nextID(), "", purge))
	}
	return r.ignore("installation_repositories %s needs no work", e.GetAction())
}

func (r *router) issueComment(e *github.IssueCommentEvent) error {
	if e.GetAction() != "created" {
		return r.ignore("issue_comment %s is not a command", e.GetAction())
	}
	c, issue := e.Comment, e.Issue
	if c == nil || issue == nil {
		return errors.New("no comment or issue")
	}
	if c.GetUser().GetType() == "Bot" {
		// meshbot's own replies (and other bots') never run commands: no
		// loops between bots quoting each other.
		return r.ignore("comment by a bot")
	}
	if !HasCommandLine(c.GetBody()) {
		return r.ignore("comment is not a /mesh command")
	}
	owner, name, err := repo(e.Repo)
	if err != nil {
		return err
	}
	if issue.GetNumber() <= 0 || c.GetID() <= 0 {
		return errors.New("comment without issue number or id")
	}
	return r.add(jobs.KindCommand.New(r.nextID(), "", jobs.Command{
		Delivery: r.delivery, Installation: r.inst, Owner: owner, Repo: name,
		Issue: issue.GetNumber(), IsPR: issue.IsPullRequest(),
		CommentID: c.GetID(), User: c.GetUser().GetLogin(), Body: c.GetBody(),
	}))
}

// HasCommandLine reports whether any line of a comment starts with the word
// /mesh. It is the intake's cheap filter only: the commands package parses
// the comment in the worker (and ignores a /mesh line inside a code block,
// at no API cost), so there is one parser of commands, not two.
func HasCommandLine(body string) bool {
	for line := range strings.Lines(body) {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "/mesh")
		if ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t') {
			return true
		}
	}
	return false
}

func validSHA(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
