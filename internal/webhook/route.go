package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

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

// payload is the union of the fields Route reads from every event it handles.
type payload struct {
	Action       string `json:"action"`
	Installation *struct {
		ID int64 `json:"id"`
	} `json:"installation"`
	Repository *repository `json:"repository"`
	Sender     *user       `json:"sender"`

	PullRequest *pullRequest `json:"pull_request"`
	CheckSuite  *struct {
		HeadSHA      string        `json:"head_sha"`
		PullRequests []pullRequest `json:"pull_requests"`
	} `json:"check_suite"`
	CheckRun *struct {
		ID           int64         `json:"id"`
		HeadSHA      string        `json:"head_sha"`
		PullRequests []pullRequest `json:"pull_requests"`
	} `json:"check_run"`

	Ref     string `json:"ref"`
	Before  string `json:"before"`
	After   string `json:"after"`
	Created bool   `json:"created"`
	Deleted bool   `json:"deleted"`
	Forced  bool   `json:"forced"`
	Commits []struct {
		Added    []string `json:"added"`
		Modified []string `json:"modified"`
		Removed  []string `json:"removed"`
	} `json:"commits"`

	Repositories        []repository `json:"repositories"`
	RepositoriesAdded   []repository `json:"repositories_added"`
	RepositoriesRemoved []repository `json:"repositories_removed"`

	Issue *struct {
		Number      int              `json:"number"`
		PullRequest *json.RawMessage `json:"pull_request"`
	} `json:"issue"`
	Comment *struct {
		ID   int64  `json:"id"`
		Body string `json:"body"`
		User *user  `json:"user"`
	} `json:"comment"`
}

type repository struct {
	Name          string `json:"name"`
	FullName      string `json:"full_name"`
	DefaultBranch string `json:"default_branch"`
	Owner         *user  `json:"owner"`
}

// split returns owner and name, from full_name when present (installation
// payloads carry no owner object).
func (r repository) split() (owner, name string, ok bool) {
	if o, n, found := strings.Cut(r.FullName, "/"); found && o != "" && n != "" && !strings.Contains(n, "/") {
		return o, n, true
	}
	if r.Owner != nil && r.Owner.Login != "" && r.Name != "" {
		return r.Owner.Login, r.Name, true
	}
	return "", "", false
}

type user struct {
	Login string `json:"login"`
	Type  string `json:"type"`
}

type pullRequest struct {
	Number int `json:"number"`
	Head   struct {
		SHA string `json:"sha"`
	} `json:"head"`
	Base struct {
		SHA string `json:"sha"`
		Ref string `json:"ref"`
	} `json:"base"`
}

// Route turns one verified delivery into work. It is pure: the same
// (delivery, event, body) always gives the same Work. A body that is not a
// JSON object, or lacks what the event needs, returns an error wrapping
// ErrMalformed.
func Route(delivery, event string, body []byte) (Work, error) {
	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return Work{}, fmt.Errorf("%w: %s: not a JSON object", ErrMalformed, event)
	}
	var p payload
	if err := json.Unmarshal(body, &p); err != nil {
		return Work{}, fmt.Errorf("%w: %s: %v", ErrMalformed, event, err)
	}
	w := Work{Action: p.Action}
	if p.Repository != nil {
		w.Repo = p.Repository.FullName
	}
	if !slices.Contains(HandledEvents(), event) {
		w.Ignored = "event " + event + " is not used by meshbot"
		return w, nil
	}
	if p.Installation == nil || p.Installation.ID <= 0 {
		// A repository or organisation webhook, not the App: meshbot cannot
		// act without an installation token.
		w.Ignored = "no installation: not delivered to a GitHub App"
		return w, nil
	}
	w.Installation = p.Installation.ID
	r := router{delivery: delivery, inst: p.Installation.ID, w: &w}
	var err error
	switch event {
	case "pull_request":
		err = r.pullRequest(&p)
	case "check_suite":
		err = r.checkSuite(&p)
	case "check_run":
		err = r.checkRun(&p)
	case "push":
		err = r.push(&p)
	case "installation":
		err = r.installation(&p)
	case "installation_repositories":
		err = r.installationRepositories(&p)
	case "issue_comment":
		err = r.issueComment(&p)
	}
	if err != nil {
		return Work{}, fmt.Errorf("%w: %s %s: %v", ErrMalformed, event, p.Action, err)
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

func (r *router) repo(p *payload) (owner, name string, err error) {
	if p.Repository == nil {
		return "", "", errors.New("no repository")
	}
	owner, name, ok := p.Repository.split()
	if !ok {
		return "", "", errors.New("repository without owner and name")
	}
	return owner, name, nil
}

// check adds a Check job; latest records the head as the pull request's
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

func (r *router) pullRequest(p *payload) error {
	switch p.Action {
	case "opened", "synchronize", "reopened", "ready_for_review":
	default:
		return r.ignore("pull_request %s needs no check", p.Action)
	}
	owner, name, err := r.repo(p)
	if err != nil {
		return err
	}
	pr := p.PullRequest
	if pr == nil || pr.Number <= 0 {
		return errors.New("no pull_request number")
	}
	return r.check(jobs.PullCheck{
		Delivery: r.delivery, Installation: r.inst, Owner: owner, Repo: name,
		PR: pr.Number, HeadSHA: pr.Head.SHA, BaseSHA: pr.Base.SHA, BaseRef: pr.Base.Ref,
	}, true)
}

func (r *router) checkSuite(p *payload) error {
	switch p.Action {
	case "requested", "rerequested":
	default:
		return r.ignore("check_suite %s needs no check", p.Action)
	}
	owner, name, err := r.repo(p)
	if err != nil {
		return err
	}
	cs := p.CheckSuite
	if cs == nil {
		return errors.New("no check_suite")
	}
	if len(cs.PullRequests) == 0 {
		// A push to a branch without a pull request: meshbot judges changes
		// proposed to a base, and there is none.
		return r.ignore("check_suite for %s belongs to no pull request", cs.HeadSHA)
	}
	for _, pr := range cs.PullRequests {
		if pr.Number <= 0 {
			return errors.New("check_suite pull request without number")
		}
		// The suite may be an older commit of the pull request; only its
		// current head becomes the newest.
		err := r.check(jobs.PullCheck{
			Delivery: r.delivery, Installation: r.inst, Owner: owner, Repo: name,
			PR: pr.Number, HeadSHA: cs.HeadSHA, BaseSHA: pr.Base.SHA, BaseRef: pr.Base.Ref,
		}, pr.Head.SHA == cs.HeadSHA)
		if err != nil {
			return err
		}
	}
	return nil
}

func (r *router) checkRun(p *payload) error {
	if p.Action != "rerequested" {
		return r.ignore("check_run %s needs no check", p.Action)
	}
	owner, name, err := r.repo(p)
	if err != nil {
		return err
	}
	cr := p.CheckRun
	if cr == nil || cr.ID <= 0 {
		return errors.New("no check_run id")
	}
	base := jobs.PullCheck{Delivery: r.delivery, Installation: r.inst, Owner: owner, Repo: name,
		HeadSHA: cr.HeadSHA, CheckRunID: cr.ID}
	if len(cr.PullRequests) == 0 {
		return r.check(base, false)
	}
	for _, pr := range cr.PullRequests {
		if pr.Number <= 0 {
			return errors.New("check_run pull request without number")
		}
		c := base
		c.PR, c.BaseSHA, c.BaseRef = pr.Number, pr.Base.SHA, pr.Base.Ref
		if err := r.check(c, pr.Head.SHA == cr.HeadSHA); err != nil {
			return err
		}
	}
	return nil
}

func (r *router) push(p *payload) error {
	owner, name, err := r.repo(p)
	if err != nil {
		return err
	}
	def := p.Repository.DefaultBranch
	if def == "" || p.Ref != "refs/heads/"+def {
		return r.ignore("push to %s, not the default branch", p.Ref)
	}
	if p.Deleted || p.After == zeroSHA {
		return r.ignore("default branch %s deleted", def)
	}
	if !validSHA(p.After) {
		return fmt.Errorf("after %q is not a commit id", p.After)
	}
	ix := jobs.Index{Delivery: r.delivery, Installation: r.inst, Owner: owner, Repo: name, Ref: p.After}
	// The listed commits name every touched file only for an ordinary
	// fast-forward: a created branch, a force push (which can drop commits
	// that are not listed) or a truncated list needs a full scan, which
	// empty Paths asks for.
	full := p.Created || p.Forced || p.Before == zeroSHA || len(p.Commits) == 0 || len(p.Commits) >= maxPushCommits
	if !full {
		seen := map[string]bool{}
		for _, c := range p.Commits {
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

func (r *router) indexRepos(repos []repository) error {
	for _, repo := range repos {
		owner, name, ok := repo.split()
		if !ok {
			return fmt.Errorf("repository %q without owner and name", repo.FullName)
		}
		if err := r.add(jobs.KindIndex.New(r.nextID(), "", jobs.Index{
			Delivery: r.delivery, Installation: r.inst, Owner: owner, Repo: name,
		})); err != nil {
			return err
		}
	}
	return nil
}

func (r *router) installation(p *payload) error {
	switch p.Action {
	case "created":
		if len(p.Repositories) == 0 {
			// "All repositories" installations list none here; the worker
			// lists them through the API.
			return r.ignore("installation created without a repository list")
		}
		return r.indexRepos(p.Repositories)
	case "deleted":
		return r.add(jobs.KindPurge.New(r.nextID(), "", jobs.Purge{Delivery: r.delivery, Installation: r.inst}))
	}
	return r.ignore("installation %s needs no work", p.Action)
}

func (r *router) installationRepositories(p *payload) error {
	switch p.Action {
	case "added":
		return r.indexRepos(p.RepositoriesAdded)
	case "removed":
		purge := jobs.Purge{Delivery: r.delivery, Installation: r.inst}
		for _, repo := range p.RepositoriesRemoved {
			owner, name, ok := repo.split()
			if !ok {
				return fmt.Errorf("removed repository %q without owner and name", repo.FullName)
			}
			purge.Repos = append(purge.Repos, owner+"/"+name)
		}
		if len(purge.Repos) == 0 {
			return r.ignore("no repositories removed")
		}
		return r.add(jobs.KindPurge.New(r.nextID(), "", purge))
	}
	return r.ignore("installation_repositories %s needs no work", p.Action)
}

func (r *router) issueComment(p *payload) error {
	if p.Action != "created" {
		return r.ignore("issue_comment %s is not a command", p.Action)
	}
	c := p.Comment
	if c == nil || p.Issue == nil {
		return errors.New("no comment or issue")
	}
	if c.User != nil && c.User.Type == "Bot" {
		// meshbot's own replies (and other bots') never run commands: no
		// loops between bots quoting each other.
		return r.ignore("comment by a bot")
	}
	if !HasCommandLine(c.Body) {
		return r.ignore("comment is not a /mesh command")
	}
	owner, name, err := r.repo(p)
	if err != nil {
		return err
	}
	if p.Issue.Number <= 0 || c.ID <= 0 {
		return errors.New("comment without issue number or id")
	}
	login := ""
	if c.User != nil {
		login = c.User.Login
	}
	return r.add(jobs.KindCommand.New(r.nextID(), "", jobs.Command{
		Delivery: r.delivery, Installation: r.inst, Owner: owner, Repo: name,
		Issue: p.Issue.Number, IsPR: p.Issue.PullRequest != nil && string(*p.Issue.PullRequest) != "null",
		CommentID: c.ID, User: login, Body: c.Body,
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
