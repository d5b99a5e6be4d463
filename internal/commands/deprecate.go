package commands

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/meshbot/meshbot/internal/engine"
	"github.com/meshbot/meshbot/internal/githubapp"
	"github.com/meshbot/meshbot/internal/impact"
	"github.com/meshbot/meshbot/internal/mesh"
	"github.com/meshbot/meshbot/internal/policyeval"
	"github.com/meshbot/meshbot/internal/reminders"
)

// The usages of the retirement commands, as product.md fixes them.
const (
	usageDeprecate   = `/mesh deprecate <domain.product>[/<port>] --sunset YYYY-MM-DD [--replacement <domain.product>/<port>] [--reason "..."]`
	usageUndeprecate = `/mesh undeprecate <domain.product>[/<port>]`
)

// whoRetires is who may run them, as help says it (the defaults of the
// guild's governance data).
const whoRetires = "write, and membership of the product's owning team, unless the guild's policy says otherwise"

// undeprecating says which of the two commands runs.
type undeprecating bool

func (u undeprecating) name() string {
	if u {
		return "undeprecate"
	}
	return "deprecate"
}

func runDeprecate(ctx context.Context, env Env, inv Invocation) (string, error) {
	return retire(ctx, env, inv, false)
}

func runUndeprecate(ctx context.Context, env Env, inv Invocation) (string, error) {
	return retire(ctx, env, inv, true)
}

// located is the target as found: its product in the registry and at the
// head of the default branch, and the descriptor's bytes there.
type located struct {
	registered *mesh.Product // from the registry
	head       *mesh.Product // read from the default branch's head
	src        []byte        // the descriptor at head
	branch     string        // the default branch
	headSHA    string
}

// retire runs `/mesh deprecate` and `/mesh undeprecate`: parse strictly,
// find the target, check who asks, check the terms, then propose the edit
// as a pull request and tell the consumers.
func retire(ctx context.Context, env Env, inv Invocation, undo undeprecating) (string, error) {
	gov, err := governance(env)
	if err != nil {
		return "", err
	}
	rules := gov.Deprecate
	today := env.today()
	earliest := today.AddDate(0, 0, max(rules.MinimumNoticeDays, 1))
	req, perr := parseStrict(inv.Text, !bool(undo))
	if perr != nil {
		return "", Refuse("%s", mistake(undo, perr.problems, perr.fixed, earliest))
	}
	if env.Registry == nil {
		return "", errors.New("commands: no registry to find products in")
	}
	products, err := env.Registry.Products(ctx, env.Job.Installation)
	if err != nil {
		return "", fmt.Errorf("%s: read the registry: %w", undo.name(), err)
	}
	graph := impact.Build(products)

	target, problem := resolve(graph, req.Target)
	if problem != "" {
		fixed := req
		fixed.Target = target
		return "", Refuse("%s", mistake(undo, []string{problem}, fixed, earliest))
	}
	p := graph.Product(target.Product)
	repo := env.Job.Owner + "/" + env.Job.Repo
	if !strings.EqualFold(p.Repo, repo) {
		return "", Refuse("`%s` lives in %s; comment `/mesh %s` there, where its descriptor is.", target, p.Repo, undo.name())
	}
	if err := authorize(ctx, env, rules, p, undo); err != nil {
		return "", err
	}
	loc, err := locate(ctx, env, p, target)
	if err != nil {
		return "", err
	}
	current := deprecationOf(loc.head, target.Port)

	var edit func(src []byte, format mesh.Format) ([]byte, []string, error)
	var terms deprecateReq
	if undo {
		if current == nil {
			return undeprecatedAlready(ctx, env, target, loc)
		}
		edit = func(src []byte, format mesh.Format) ([]byte, []string, error) {
			return undeprecateFile(src, format, target)
		}
	} else {
		if err := checkSunset(req.Sunset, today, rules.MinimumNoticeDays); err != nil {
			return "", err
		}
		if req.Replacement != nil {
			r, err := checkReplacement(graph, target, *req.Replacement, earliest, req)
			if err != nil {
				return "", err
			}
			req.Replacement = &r
		}
		if current.sameTerms(req) {
			return fmt.Sprintf("`%s` is already deprecated on %s with these terms (sunset %s%s); nothing to change.",
				target, loc.branch, current.Sunset, replacementNote(current.Replacement)), nil
		}
		terms = req
		edit = func(src []byte, format mesh.Format) ([]byte, []string, error) {
			return deprecateFile(src, format, target, req)
		}
	}
	changed, notes, err := editTarget(ctx, env, loc, target, edit)
	if err != nil {
		return "", err
	}
	if len(changed) == 0 {
		return fmt.Sprintf("`%s` on %s already says what `/mesh %s` would write; nothing to change.", target, loc.branch, undo.name()), nil
	}
	consumers := graph.ConsumersOf(target.Product, target.Port)
	pr, created, err := propose(ctx, env.GitHub, env.Job.Owner, env.Job.Repo, proposal{
		Branch:  branchFor(undo, target),
		Base:    loc.branch,
		BaseSHA: loc.headSHA,
		Title:   proposalTitle(undo, target, terms),
		Body:    proposalBody(env, undo, target, terms, notes, consumers, graph),
		Message: proposalTitle(undo, target, terms) + "\n\n" + fmt.Sprintf("Requested by @%s in %s#%d.", env.Job.User, repo, env.Job.Issue),
		Files:   changed,
	})
	if errors.Is(err, githubapp.ErrRefused) {
		return "", Refuse("GitHub refused meshbot's pull request (%v). If meshbot was installed before `/mesh deprecate` existed, an organisation owner approves its new permissions (contents: write) on the installation's settings page; a rule protecting `meshbot/` branches refuses it too. Nothing was changed on %s.", err, loc.branch)
	}
	if err != nil {
		return "", err
	}
	if !undo && env.Marks != nil {
		// Sunset reminders go to this pull request, where the consumers
		// were first told. Not recording it costs reminders, not the
		// proposal, so a failure is logged and the reply still sent.
		if err := reminders.RecordThread(ctx, env.Marks, env.Job.Installation, target.Product, target.Port,
			reminders.Thread{Repo: repo, Number: pr.Number}); err != nil {
			env.Logger.WarnContext(ctx, "command: reminder thread not recorded", slog.Any("err", err))
		}
	}
	env.Logger.InfoContext(ctx, "command: retirement proposed", slog.String("target", target.String()),
		slog.Int("pull_request", pr.Number), slog.Bool("created", created), slog.Int("consumers", len(consumers)))
	return reply(env, undo, target, terms, pr, created, notes, consumers, graph), nil
}

// governance is the active policy's rules, or the defaults without one.
func governance(env Env) (policyeval.Governance, error) {
	if env.Policy == nil || env.Policy.Load() == nil {
		return policyeval.DefaultGovernance(), nil
	}
	g, err := env.Policy.Load().Governance()
	if err != nil {
		// The guild's data is wrong: nobody can fix that by retrying, and
		// the commenter should know why nothing happens.
		return g, Refuse("the governance data of the active policy is not usable (%v); ask the guild to fix it.", err)
	}
	return g, nil
}

func (e Env) today() time.Time {
	now := time.Now
	if e.Now != nil {
		now = e.Now
	}
	y, m, d := now().UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// mistake is the reply to a command line meshbot will not guess at: what
// was wrong, and the command as it could be written.
func mistake(undo undeprecating, problems []string, fixed deprecateReq, sunsetHint time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "`/mesh %s` was not run:\n\n", undo.name())
	for _, p := range problems {
		fmt.Fprintf(&b, "- %s\n", p)
	}
	fmt.Fprintf(&b, "\nFor example: %s\n\nUsage: `%s`", codeSpan(fixed.commandLine(undo.name(), !bool(undo), sunsetHint)), usageOf(undo))
	return b.String()
}

// codeSpan shows s as inline code, with a fence of backticks longer than
// any run in s (a reason may hold one).
func codeSpan(s string) string {
	longest, run := 0, 0
	for _, c := range s {
		if c == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	if longest == 0 {
		return "`" + s + "`"
	}
	fence := strings.Repeat("`", longest+1)
	return fence + " " + s + " " + fence
}

func usageOf(undo undeprecating) string {
	if undo {
		return usageUndeprecate
	}
	return usageDeprecate
}

// resolve finds a target in the registry. problem says what is missing,
// with the nearest registered name; the returned target carries that name
// for the corrected example.
func resolve(g *impact.Graph, t targetRef) (targetRef, string) {
	p := g.Product(t.Product)
	if p == nil {
		ids := productIDs(g)
		if s := suggest(t.Product, ids); s != "" {
			return targetRef{Product: s, Port: t.Port}, fmt.Sprintf("no product `%s` is registered; did you mean `%s`?", sanitize(t.Product), s)
		}
		return t, fmt.Sprintf("no product `%s` is registered in this installation's repositories", sanitize(t.Product))
	}
	if t.Port == "" || p.OutputPort(t.Port) != nil {
		return t, ""
	}
	var ports []string
	for _, o := range p.OutputPorts {
		ports = append(ports, o.Name)
	}
	if s := suggest(t.Port, ports); s != "" {
		return targetRef{Product: t.Product, Port: s}, fmt.Sprintf("`%s` has no output port `%s`; did you mean `%s`?", t.Product, sanitize(t.Port), s)
	}
	list := "none"
	if len(ports) > 0 {
		list = "`" + strings.Join(ports, "`, `") + "`"
	}
	return t, fmt.Sprintf("`%s` has no output port `%s`; its ports are %s", t.Product, sanitize(t.Port), list)
}

func productIDs(g *impact.Graph) []string {
	var ids []string
	for _, p := range g.Products() {
		ids = append(ids, p.ID())
	}
	slices.Sort(ids)
	return ids
}

// team is a GitHub team: an organisation and a slug.
type team struct{ Org, Slug string }

func (t team) mention() string { return "@" + t.Org + "/" + t.Slug }
func (t team) name() string    { return t.Org + "/" + t.Slug }

// teamOf reads a product's owner as a team: "team-x" (of defaultOrg),
// "@acme/team-x" or "acme/team-x". ok is false for no owner or one that
// cannot be a team (an e-mail address, blanks).
func teamOf(owner, defaultOrg string) (team, bool) {
	s := strings.TrimPrefix(strings.TrimSpace(owner), "@")
	org, slug, hasOrg := strings.Cut(s, "/")
	if !hasOrg {
		org, slug = defaultOrg, s
	}
	if !slugLike(org) || !slugLike(slug) {
		return team{}, false
	}
	return team{Org: org, Slug: slug}, true
}

func slugLike(s string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// authorize applies the guild's rules: the least role on the repository,
// then membership of the owning team (repository admins exempt when the
// rules say so).
func authorize(ctx context.Context, env Env, rules policyeval.DeprecateRules, p *mesh.Product, undo undeprecating) error {
	need := githubapp.Role(rules.Role)
	if rank(env.Permission, false) < rank(need, true) {
		return Refuse("the guild's policy lets only people with **%s** permission on %s/%s run `/mesh %s`; you have **%s**. Nothing was changed.",
			need, env.Job.Owner, env.Job.Repo, undo.name(), env.Permission)
	}
	if !rules.OwningTeam {
		return nil
	}
	t, ok := teamOf(p.Owner, repoOwnerOf(p.Repo, env.Job.Owner))
	if !ok {
		return nil // no team owns it: the repository role decides
	}
	if rules.RepositoryAdmins && env.Permission == githubapp.RoleAdmin {
		return nil
	}
	member, err := env.GitHub.TeamMember(ctx, t.Org, t.Slug, env.Job.User)
	if err != nil {
		return fmt.Errorf("%s: membership of %s: %w", undo.name(), t.name(), err)
	}
	if !member {
		// The team is named, not mentioned: a refusal is no reason to
		// notify them.
		return Refuse("`%s` is owned by the team `%s`, and only its active members may %s it; you are not one. Nothing was changed — ask a member of `%s` to run the command.",
			p.ID(), t.name(), undo.name(), t.name())
	}
	return nil
}

func repoOwnerOf(repo, fallback string) string {
	if o, _, ok := strings.Cut(repo, "/"); ok && o != "" {
		return o
	}
	return fallback
}

// locate reads the target's descriptor at the head of the default branch:
// the registry may be behind a push not yet indexed, and the edit must
// apply to what is there now.
func locate(ctx context.Context, env Env, p *mesh.Product, t targetRef) (located, error) {
	in := env.Job
	branch, err := env.GitHub.DefaultBranch(ctx, in.Owner, in.Repo)
	if err != nil {
		return located{}, err
	}
	sha, err := env.GitHub.BranchHead(ctx, in.Owner, in.Repo, branch)
	if err != nil {
		return located{}, err
	}
	behind := Refuse("`%s` is registered in `%s`, but the head of %s (%s) does not have it there; the registry may be behind a recent push. Try again once it is indexed.",
		t, p.File, branch, engine.ShortSHA(sha))
	src, err := env.GitHub.File(ctx, in.Owner, in.Repo, p.File, sha)
	if errors.Is(err, githubapp.ErrNotFound) {
		return located{}, behind
	}
	if err != nil {
		return located{}, err
	}
	head, _, _ := mesh.ReadDescriptor(p.File, src)
	if head == nil || head.ID() != p.ID() || (t.Port != "" && head.OutputPort(t.Port) == nil) {
		return located{}, behind
	}
	return located{registered: p, head: head, src: src, branch: branch, headSHA: sha}, nil
}

// current is a target's deprecation as its descriptor holds it.
type current struct {
	Sunset, Replacement, Reason string
}

// deprecationOf is the target's deprecation at head, nil when it is not
// deprecated. A lifecycle of deprecated without a deprecation block (a
// format that has no place for one) counts, with empty terms.
func deprecationOf(p *mesh.Product, port string) *current {
	lifecycle, dep := p.Lifecycle, p.Deprecation
	if port != "" {
		o := p.OutputPort(port)
		lifecycle, dep = o.Lifecycle, o.Deprecation
	}
	if dep != nil {
		return &current{Sunset: dep.Sunset, Replacement: dep.Replacement, Reason: dep.Reason}
	}
	if strings.EqualFold(lifecycle, mesh.LifecycleDeprecated) {
		return &current{}
	}
	return nil
}

// sameTerms: the command would write what is there. A command without a
// reason keeps the reason written.
func (c *current) sameTerms(r deprecateReq) bool {
	if c == nil || c.Sunset != r.Sunset.Format(dateLayout) {
		return false
	}
	repl := ""
	if r.Replacement != nil {
		repl = r.Replacement.String()
	}
	return c.Replacement == repl && (r.Reason == "" || r.Reason == c.Reason)
}

func replacementNote(r string) string {
	if r == "" {
		return ""
	}
	return ", replacement `" + r + "`"
}

// checkSunset holds the sunset to the future and the guild's notice.
func checkSunset(sunset, today time.Time, noticeDays int) error {
	days := int(sunset.Sub(today).Hours() / 24)
	earliest := today.AddDate(0, 0, max(noticeDays, 1))
	switch {
	case !sunset.After(today):
		return Refuse("the sunset %s is not in the future (today is %s). Pick %s or later. Nothing was changed.",
			sunset.Format(dateLayout), today.Format(dateLayout), earliest.Format(dateLayout))
	case sunset.Before(earliest):
		return Refuse("the sunset %s is %d days away; the guild's policy asks for at least %d days' notice so consumers can move: %s or later. Nothing was changed.",
			sunset.Format(dateLayout), days, noticeDays, earliest.Format(dateLayout))
	}
	return nil
}

// checkReplacement: the replacement is registered, is not what is being
// deprecated, and is not deprecated itself. It returns the replacement as
// registered.
func checkReplacement(g *impact.Graph, target, r targetRef, earliest time.Time, req deprecateReq) (targetRef, error) {
	found, problem := resolve(g, r)
	if problem != "" {
		fixed := req
		fixed.Replacement = &found
		return r, Refuse("%s", mistake(false, []string{"replacement: " + problem}, fixed, earliest))
	}
	if r.Product == target.Product && (target.Port == "" || r.Port == target.Port) {
		return r, Refuse("the replacement `%s` is part of what is being deprecated (`%s`); name what consumers should move to.", r, target)
	}
	p := g.Product(r.Product)
	if deprecationOf(p, "") != nil {
		return r, Refuse("the replacement `%s` is itself deprecated; name one consumers can stay on.", r.Product)
	}
	if r.Port != "" && deprecationOf(p, r.Port) != nil {
		return r, Refuse("the replacement `%s` is itself deprecated; name one consumers can stay on.", r)
	}
	return r, nil
}

// undeprecatedAlready answers `/mesh undeprecate` on a target that is not
// deprecated on the default branch, pointing at a deprecation still under
// review if there is one.
func undeprecatedAlready(ctx context.Context, env Env, t targetRef, loc located) (string, error) {
	pending, ok, err := env.GitHub.OpenPullByHead(ctx, env.Job.Owner, env.Job.Repo, branchFor(false, t))
	if err != nil {
		return "", err
	}
	msg := fmt.Sprintf("`%s` is not deprecated on %s; nothing to undo.", t, loc.branch)
	if ok {
		msg += fmt.Sprintf(" Its deprecation is still proposed in #%d: close that pull request to withdraw it.", pending.Number)
	}
	return msg, nil
}
