package commands

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/meshbot/meshbot/internal/engine"
	"github.com/meshbot/meshbot/internal/githubapp"
	"github.com/meshbot/meshbot/internal/store"
)

// The approve commands. Anyone who can read the repository may type them
// (a consumer's team often cannot write to the producer's repository); who
// may approve for which consumer is decided per consumer in Run.
var (
	approveCommand = Command{Name: "approve", Usage: "/mesh approve [<domain.product>]",
		Summary:    "accept, for a consumer your team owns, the breaking changes this pull request makes to it",
		Permission: githubapp.RoleRead, Who: "membership of the consumer's owning team, or write on its repository", Run: runApprove}
	unapproveCommand = Command{Name: "unapprove", Usage: "/mesh unapprove [<domain.product>]",
		Summary:    "withdraw a consumer's acceptance of this pull request's breaking changes",
		Permission: githubapp.RoleRead, Who: "whoever approved, or whoever may approve for that consumer", Run: runUnapprove}
)

// ApproveTarget reads the optional consumer of `/mesh approve` and
// `/mesh unapprove`: one product id or none. Flags and further words are
// mistakes, told back with the usage.
func ApproveTarget(inv Invocation) (string, error) {
	usage := fmt.Sprintf("`/mesh %s` takes at most one consumer, e.g. `/mesh %s finance.revenue`", inv.Name, inv.Name)
	for f := range inv.Flags {
		return "", Refuse("%s; it has no flag `--%s`.", usage, sanitize(f))
	}
	switch len(inv.Args) {
	case 0:
		return "", nil
	case 1:
		t := strings.TrimSpace(inv.Args[0])
		if t == "" || strings.ContainsAny(t, " \t`") {
			return "", Refuse("%s; `%s` is not a product id.", usage, sanitize(t))
		}
		return t, nil
	}
	return "", Refuse("%s; got %d words.", usage, len(inv.Args))
}

// asker answers may for one command, asking GitHub once per team and per
// repository: the consumers a pull request breaks often share them, and the
// commenter's role on the commented repository is the one the dispatcher
// read already (Env.Permission).
type asker struct {
	env   Env
	teams map[string]bool           // lower-cased org/slug -> active member
	roles map[string]githubapp.Role // lower-cased owner/name -> role
}

func newAsker(env Env) *asker {
	a := &asker{env: env, teams: map[string]bool{}, roles: map[string]githubapp.Role{}}
	if env.Permission != "" {
		a.roles[strings.ToLower(env.Job.Owner+"/"+env.Job.Repo)] = env.Permission
	}
	return a
}

func (a *asker) member(ctx context.Context, t team) (bool, error) {
	k := strings.ToLower(t.name())
	if m, ok := a.teams[k]; ok {
		return m, nil
	}
	m, err := a.env.GitHub.TeamMember(ctx, t.Org, t.Slug, a.env.Job.User)
	if err != nil {
		return false, err
	}
	a.teams[k] = m
	return m, nil
}

func (a *asker) role(ctx context.Context, owner, name string) (githubapp.Role, error) {
	k := strings.ToLower(owner + "/" + name)
	if r, ok := a.roles[k]; ok {
		return r, nil
	}
	r, err := a.env.GitHub.Permission(ctx, owner, name, a.env.Job.User)
	if errors.Is(err, githubapp.ErrNotFound) {
		r, err = githubapp.RoleNone, nil
	}
	if err != nil {
		return "", err
	}
	a.roles[k] = r
	return r, nil
}

// may says whether user may speak for consumer c: a member of its owning
// team, or a writer of its repository. why explains a no.
func (a *asker) may(ctx context.Context, c store.BrokenConsumer) (ok bool, why string, err error) {
	// A bare slug is a team of the consumer repository's organisation.
	var reasons []string
	if t, ok := teamOf(c.Owner, repoOwnerOf(c.Repo, a.env.Job.Owner)); ok {
		member, err := a.member(ctx, t)
		if err != nil {
			return false, "", fmt.Errorf("team %s: %w", t.name(), err)
		}
		if member {
			return true, "", nil
		}
		reasons = append(reasons, fmt.Sprintf("not a member of its owning team @%s", t.name()))
	}
	if owner, name, found := strings.Cut(c.Repo, "/"); found {
		role, err := a.role(ctx, owner, name)
		if err != nil {
			return false, "", fmt.Errorf("permission on %s: %w", c.Repo, err)
		}
		if rank(role, false) >= rank(githubapp.RoleWrite, true) {
			return true, "", nil
		}
		reasons = append(reasons, fmt.Sprintf("without write permission on %s (you have %s)", c.Repo, role))
	}
	if len(reasons) == 0 {
		reasons = append(reasons, "it names no owning team or repository meshbot could ask about")
	}
	return false, strings.Join(reasons, " and "), nil
}

// openPR is the pull request the command is typed on, open, with what its
// newest check found broken.
func openPR(ctx context.Context, env Env, name string) (githubapp.PullRequest, store.Breaks, error) {
	in := env.Job
	if !in.IsPR {
		return githubapp.PullRequest{}, store.Breaks{}, Refuse("`/mesh %s` works on pull requests; #%d is an issue.", name, in.Issue)
	}
	if env.Approvals == nil {
		return githubapp.PullRequest{}, store.Breaks{}, store.Permanent(errors.New("this meshbot has no store for approvals"))
	}
	pr, err := env.GitHub.PullRequest(ctx, in.Owner, in.Repo, in.Issue)
	if err != nil {
		return pr, store.Breaks{}, err
	}
	if pr.Closed {
		return pr, store.Breaks{}, Refuse("pull request #%d is closed.", in.Issue)
	}
	br, err := env.Approvals.Breaks(ctx, in.Installation, store.PRKey(in.Owner, in.Repo, in.Issue))
	return pr, br, err
}

func runApprove(ctx context.Context, env Env, inv Invocation) (string, error) {
	target, err := ApproveTarget(inv)
	if err != nil {
		return "", err
	}
	pr, br, err := openPR(ctx, env, "approve")
	if err != nil {
		return "", err
	}
	head := engine.ShortSHA(pr.HeadSHA)
	if br.SHA != pr.HeadSHA {
		return "", Refuse("meshbot has not finished checking the head of this pull request (%s) yet; comment again once its check run has completed.", head)
	}
	if len(br.Consumers) == 0 {
		return "", Refuse("this pull request breaks no registered consumer at %s: there is nothing to approve.", head)
	}
	var chosen store.BrokenConsumer
	ask := newAsker(env)
	if target != "" {
		c, ok := brokenConsumer(br, target)
		if !ok {
			names := make([]string, 0, len(br.Consumers))
			for _, c := range br.Consumers {
				names = append(names, c.Consumer)
			}
			return "", Refuse("`%s` is not a consumer this pull request breaks at %s.%s It breaks:\n\n%s", sanitize(target), head, didYouMean(target, names), consumerList(br.Consumers))
		}
		ok, why, err := ask.may(ctx, c)
		if err != nil {
			return "", err
		}
		if !ok {
			return "", Refuse("you cannot approve for %s: you are %s.", c.Consumer, why)
		}
		chosen = c
	} else {
		var yes []store.BrokenConsumer
		var no []string
		for _, c := range br.Consumers {
			ok, why, err := ask.may(ctx, c)
			if err != nil {
				return "", err
			}
			if ok {
				yes = append(yes, c)
			} else {
				no = append(no, fmt.Sprintf("- %s: you are %s", c.Consumer, why))
			}
		}
		switch len(yes) {
		case 0:
			return "", Refuse("you cannot approve for any consumer this pull request breaks:\n\n%s", strings.Join(no, "\n"))
		case 1:
			chosen = yes[0]
		default:
			return "", Refuse("you may approve for several consumers this pull request breaks; say which, e.g. `/mesh approve %s`:\n\n%s", yes[0].Consumer, consumerList(yes))
		}
	}
	a := store.Approval{Consumer: chosen.Consumer, By: env.Job.User, SHA: pr.HeadSHA, Breaks: chosen.Breaks, At: time.Now().UTC()}
	if err := env.Approvals.Approve(ctx, env.Job.Installation, store.PRKey(env.Job.Owner, env.Job.Repo, env.Job.Issue), a); err != nil {
		return "", err
	}
	if err := enqueueCheck(ctx, env, pr, "approve"); err != nil {
		return "", err
	}
	env.Logger.InfoContext(ctx, "command: approval recorded", slog.String("consumer", a.Consumer), slog.String("head", pr.HeadSHA))
	return fmt.Sprintf("Recorded: **%s** accepts the breaking changes of this pull request at %s (approved by @%s), namely:\n\n%s\n\nmeshbot is checking again; the check run will show the approval. A push that changes how this pull request breaks %s drops it.",
		a.Consumer, head, a.By, bullets(a.Breaks), a.Consumer), nil
}

func runUnapprove(ctx context.Context, env Env, inv Invocation) (string, error) {
	target, err := ApproveTarget(inv)
	if err != nil {
		return "", err
	}
	pr, br, err := openPR(ctx, env, "unapprove")
	if err != nil {
		return "", err
	}
	in := env.Job
	key := store.PRKey(in.Owner, in.Repo, in.Issue)
	as, err := env.Approvals.ApprovalsOf(ctx, in.Installation, key)
	if err != nil {
		return "", err
	}
	if len(as) == 0 {
		return "", Refuse("no consumer has approved this pull request; there is nothing to withdraw.")
	}
	var chosen *store.Approval
	for i, a := range as {
		if (target == "" && a.By == in.User) || (target != "" && strings.EqualFold(a.Consumer, target)) {
			if chosen != nil {
				return "", Refuse("you gave several approvals here; say which to withdraw, e.g. `/mesh unapprove %s`.", chosen.Consumer)
			}
			chosen = &as[i]
		}
	}
	if chosen == nil {
		var names []string
		for _, a := range as {
			names = append(names, fmt.Sprintf("- %s (approved by @%s)", a.Consumer, a.By))
		}
		what := "you have not approved for any consumer here"
		if target != "" {
			what = fmt.Sprintf("no approval is recorded for `%s` here", sanitize(target))
		}
		return "", Refuse("%s. Approvals on this pull request:\n\n%s", what, strings.Join(names, "\n"))
	}
	if chosen.By != in.User {
		// Someone else's approval: withdrawn by whoever could have given it.
		c, ok := brokenConsumer(br, chosen.Consumer)
		if !ok {
			return "", Refuse("the approval for %s is @%s's, and %s is not broken by this pull request's head any more; only @%s can withdraw it.", chosen.Consumer, chosen.By, chosen.Consumer, chosen.By)
		}
		ok, why, err := newAsker(env).may(ctx, c)
		if err != nil {
			return "", err
		}
		if !ok {
			return "", Refuse("you cannot withdraw the approval for %s: you are %s.", c.Consumer, why)
		}
	}
	a, ok, err := env.Approvals.Unapprove(ctx, in.Installation, key, chosen.Consumer)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", Refuse("the approval for %s was already withdrawn.", chosen.Consumer)
	}
	if err := enqueueCheck(ctx, env, pr, "unapprove"); err != nil {
		return "", err
	}
	env.Logger.InfoContext(ctx, "command: approval withdrawn", slog.String("consumer", a.Consumer), slog.String("approved_by", a.By))
	return fmt.Sprintf("Withdrawn: %s no longer accepts this pull request's breaking changes (approved by @%s at %s). meshbot is checking again.",
		a.Consumer, a.By, engine.ShortSHA(a.SHA)), nil
}

func brokenConsumer(br store.Breaks, id string) (store.BrokenConsumer, bool) {
	for _, c := range br.Consumers {
		if strings.EqualFold(c.Consumer, id) {
			return c, true
		}
	}
	return store.BrokenConsumer{}, false
}

// consumerList is a bullet per consumer with its owning team. No line
// starts with /mesh.
func consumerList(cs []store.BrokenConsumer) string {
	lines := make([]string, 0, len(cs))
	for _, c := range cs {
		l := "- " + c.Consumer
		if c.Owner != "" {
			l += " (owner " + c.Owner + ")"
		}
		lines = append(lines, l)
	}
	return strings.Join(lines, "\n")
}

func bullets(ss []string) string {
	lines := make([]string, 0, len(ss))
	for _, s := range ss {
		lines = append(lines, "- `"+strings.ReplaceAll(s, "`", "'")+"`")
	}
	return strings.Join(lines, "\n")
}
