package commands

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/meshbot/meshbot/internal/githubapp"
	"github.com/meshbot/meshbot/internal/jobs"
	"github.com/meshbot/meshbot/internal/policyeval"
	"github.com/meshbot/meshbot/internal/store"
)

// Env is what a command runs with.
type Env struct {
	Job        jobs.Command // the comment: repository, issue, commenter
	GitHub     githubapp.Installation
	Queue      store.Queue
	Latest     store.Latest
	Logger     *slog.Logger
	Permission githubapp.Role        // the commenter's role on the repository
	Commands   []Command             // every registered command, for help
	Registry   store.Registry        // the mesh registry (deprecate)
	Policy     *policyeval.Swappable // the active policy: its governance data
	Now        func() time.Time      // the clock sunsets are judged by
	Approvals  store.Approvals       // what checks found broken, and the consumers' approvals
	Marks      store.Marks           // where deprecate records the thread reminders go to
}

// Command is one `/mesh` command. Adding a command is adding one entry to
// Builtin: the handler does the parsing, acknowledgement, permission check,
// reply and reactions for every command alike.
type Command struct {
	Name    string // what follows /mesh, lower case
	Usage   string // e.g. "/mesh recheck"
	Summary string // one line for help
	// Permission is the least role on the repository the commenter needs.
	// A role GitHub does not define is treated as admin, so a typo fails
	// closed.
	Permission githubapp.Role
	// Who says in help who may run it, where that is more than
	// Permission (a team decides); "" shows Permission.
	Who string
	// Run does the work and returns the reply (markdown). An error made with
	// Refuse is shown to the commenter as the reply; any other error is
	// retried when transient (the job fails) or reported when not.
	Run func(ctx context.Context, env Env, inv Invocation) (reply string, err error)
}

// Builtin is meshbot's command registry.
func Builtin() []Command {
	return []Command{
		{Name: "help", Usage: "/mesh help", Summary: "list the commands meshbot understands", Permission: githubapp.RoleRead, Run: runHelp},
		{Name: "recheck", Usage: "/mesh recheck", Summary: "run meshbot's check again on this pull request's head", Permission: githubapp.RoleWrite, Run: runRecheck},
		// Permission is the floor: the guild's governance data may ask for
		// more, and for membership of the owning team (deprecate.go).
		{Name: "deprecate", Usage: usageDeprecate, Summary: "propose retiring a product or output port: a pull request setting its sunset, and a note to its consumers' teams", Permission: githubapp.RoleWrite, Who: whoRetires, Run: runDeprecate},
		{Name: "undeprecate", Usage: usageUndeprecate, Summary: "propose withdrawing a deprecation: a pull request removing it", Permission: githubapp.RoleWrite, Who: whoRetires, Run: runUndeprecate},
		approveCommand, unapproveCommand,
	}
}

// Refuse makes an error whose message is the reply to the commenter: the
// command was understood but cannot be done here or now.
func Refuse(format string, args ...any) error {
	return refusal{fmt.Sprintf(format, args...)}
}

type refusal struct{ msg string }

func (r refusal) Error() string { return r.msg }

// rank places a role on GitHub's ladder none < read < triage < write <
// maintain < admin. An unknown role ranks as none for a user and as admin
// for a requirement (see Command.Permission).
func rank(role githubapp.Role, required bool) int {
	if r, ok := role.Rank(); ok {
		return r
	}
	if required {
		return githubapp.RoleAdminRank
	}
	return 0
}

// Deps are the handler's collaborators.
type Deps struct {
	GitHub githubapp.Clients
	Queue  store.Queue  // where recheck enqueues a check
	Latest store.Latest // recheck marks the head it asks for as the newest
	Logger *slog.Logger // default slog.Default()
	// Commands is the registry; default Builtin().
	Commands []Command
	// Registry is the mesh registry deprecate finds products and consumers
	// in.
	Registry store.Registry
	// Policy holds the governance data (who may deprecate, the minimum
	// notice); nil applies policyeval.DefaultGovernance.
	Policy *policyeval.Swappable
	// Now is the clock sunsets are judged by; default time.Now.
	Now func() time.Time
	// Approvals holds what checks found broken and the consumers'
	// approvals (/mesh approve).
	Approvals store.Approvals
	// Marks is where deprecate records the pull request that sunset
	// reminders are posted to (internal/reminders).
	Marks store.Marks
}

// Reactions the handler leaves on the command's comment.
const (
	ReactSeen    = githubapp.ReactionEyes     // at once: the command was noticed
	ReactDone    = githubapp.ReactionThumbsUp // it ran
	ReactRefused = githubapp.ReactionConfused // unknown, not allowed, or failed
)

// maxReply keeps replies under GitHub's 65,536-character comment limit.
const maxReply = 60000

// New returns the handler of jobs.KindCommand jobs.
func New(deps Deps) jobs.Handler[jobs.Command] {
	h := &handler{deps: deps}
	if h.deps.Logger == nil {
		h.deps.Logger = slog.Default()
	}
	if h.deps.Commands == nil {
		h.deps.Commands = Builtin()
	}
	return h.handle
}

type handler struct{ deps Deps }

func (h *handler) find(name string) (Command, bool) {
	for _, c := range h.deps.Commands {
		if c.Name == name {
			return c, true
		}
	}
	return Command{}, false
}

func (h *handler) handle(ctx context.Context, in jobs.Command, _ jobs.Meta) error {
	log := h.deps.Logger.With(slog.String("delivery", in.Delivery), slog.Int64("installation", in.Installation),
		slog.String("repo", in.Owner+"/"+in.Repo), slog.Int("issue", in.Issue), slog.String("user", in.User))
	if strings.HasSuffix(in.User, "[bot]") {
		// Bots, meshbot included, do not command meshbot: no reply loops.
		log.DebugContext(ctx, "command: comment by a bot, ignored")
		return nil
	}
	inv, ok := Parse(in.Body)
	if !ok {
		return nil
	}
	if inv.Name == "" {
		inv.Name = "help"
	}
	log = log.With(slog.String("command", inv.Name))
	client, err := h.deps.GitHub.Installation(in.Installation)
	if err != nil {
		return fmt.Errorf("command %s: client of installation %d: %w", inv.Name, in.Installation, err)
	}
	if err := client.React(ctx, in.Owner, in.Repo, in.CommentID, ReactSeen); err != nil {
		return fmt.Errorf("command %s: acknowledge: %w", inv.Name, err)
	}
	finish := func(reply string, reaction githubapp.Reaction) error {
		if len(reply) > maxReply {
			reply = reply[:maxReply] + "\n\n…(cut to fit a comment)"
		}
		if err := client.Comment(ctx, in.Owner, in.Repo, in.Issue, reply); err != nil {
			return fmt.Errorf("command %s: reply: %w", inv.Name, err)
		}
		if err := client.React(ctx, in.Owner, in.Repo, in.CommentID, reaction); err != nil {
			return fmt.Errorf("command %s: react: %w", inv.Name, err)
		}
		log.InfoContext(ctx, "command: answered", slog.String("reaction", string(reaction)))
		return nil
	}

	cmd, ok := h.find(inv.Name)
	if !ok {
		var names []string
		for _, c := range h.deps.Commands {
			names = append(names, c.Name)
		}
		return finish(fmt.Sprintf("@%s, meshbot has no command `%s`.%s\n\n%s", in.User, sanitize(inv.Name), didYouMean(inv.Name, names), listing(h.deps.Commands)), ReactRefused)
	}
	perm, err := client.Permission(ctx, in.Owner, in.Repo, in.User)
	if err != nil {
		return fmt.Errorf("command %s: %w", inv.Name, err)
	}
	if rank(perm, false) < rank(cmd.Permission, true) {
		log.InfoContext(ctx, "command: refused for permission", slog.String("has", string(perm)), slog.String("needs", string(cmd.Permission)))
		return finish(fmt.Sprintf("@%s, `%s` needs **%s** permission on %s/%s; you have **%s**.",
			in.User, cmd.Usage, cmd.Permission, in.Owner, in.Repo, perm), ReactRefused)
	}
	env := Env{Job: in, GitHub: client, Queue: h.deps.Queue, Latest: h.deps.Latest, Logger: log, Permission: perm, Commands: h.deps.Commands,
		Registry: h.deps.Registry, Policy: h.deps.Policy, Now: h.deps.Now, Approvals: h.deps.Approvals, Marks: h.deps.Marks}
	reply, err := cmd.Run(ctx, env, inv)
	var ref refusal
	switch {
	case errors.As(err, &ref):
		return finish(fmt.Sprintf("@%s, %s", in.User, ref.msg), ReactRefused)
	case err != nil && (errors.Is(err, githubapp.ErrNotFound) || store.IsPermanent(err)):
		log.WarnContext(ctx, "command: failed", slog.Any("err", err))
		return finish(fmt.Sprintf("@%s, `%s` failed: %s", in.User, cmd.Usage, err), ReactRefused)
	case err != nil:
		// Transient (GitHub or the store unavailable, a rate limit): the
		// queue retries the job, and the person hears once it succeeds.
		return fmt.Errorf("command %s: %w", inv.Name, err)
	}
	return finish(reply, ReactDone)
}

// sanitize keeps a user's word from breaking out of inline code.
func sanitize(s string) string {
	s = strings.NewReplacer("`", "", "\n", " ", "\r", " ").Replace(s)
	if r := []rune(s); len(r) > 40 {
		s = string(r[:40]) + "…"
	}
	return s
}

// listing is the table of commands. No line of it starts with /mesh, so a
// reply never reads as a command.
func listing(cmds []Command) string {
	var b strings.Builder
	b.WriteString("| command | what it does | who may run it |\n|---|---|---|\n")
	for _, c := range cmds {
		who := c.Who
		if who == "" {
			who = string(c.Permission)
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", c.Usage, c.Summary, who)
	}
	return b.String()
}

func runHelp(_ context.Context, env Env, _ Invocation) (string, error) {
	return "meshbot understands these commands in issue and pull-request comments:\n\n" + listing(env.Commands), nil
}

func runRecheck(ctx context.Context, env Env, _ Invocation) (string, error) {
	in := env.Job
	if !in.IsPR {
		return "", Refuse("`/mesh recheck` works on pull requests; #%d is an issue.", in.Issue)
	}
	pr, err := env.GitHub.PullRequest(ctx, in.Owner, in.Repo, in.Issue)
	if err != nil {
		return "", err
	}
	if pr.Closed {
		return "", Refuse("pull request #%d is closed; meshbot checks open pull requests.", in.Issue)
	}
	if err := enqueueCheck(ctx, env, pr, "recheck"); err != nil {
		return "", err
	}
	return fmt.Sprintf("Re-running meshbot on %s.", pr.HeadSHA), nil
}

// enqueueCheck asks for a check of pr's head as `/mesh recheck` does, for
// the command named why (the job id's suffix).
func enqueueCheck(ctx context.Context, env Env, pr githubapp.PullRequest, why string) error {
	in := env.Job
	head := pr.HeadSHA
	if head == "" {
		return fmt.Errorf("pull request #%d has no head SHA", in.Issue)
	}
	check := jobs.PullCheck{
		Delivery: in.Delivery, Installation: in.Installation, Owner: in.Owner, Repo: in.Repo,
		PR: in.Issue, HeadSHA: head, BaseSHA: pr.BaseSHA, BaseRef: pr.BaseRef, Requested: true,
	}
	key := check.Key()
	if err := env.Latest.SetLatest(ctx, key, head); err != nil {
		return fmt.Errorf("%s: mark %s newest: %w", why, head, err)
	}
	id := in.Delivery
	if id == "" {
		id = fmt.Sprintf("comment-%d", in.CommentID)
	}
	job, err := jobs.KindPullCheck.New(id+"."+why, key, check)
	if err != nil {
		return err
	}
	if err := env.Queue.Enqueue(ctx, job); err != nil {
		return fmt.Errorf("%s: enqueue: %w", why, err)
	}
	env.Logger.InfoContext(ctx, "command: check enqueued", slog.String("for", why), slog.String("head", head))
	return nil
}
