package commands

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/meshbot/meshbot/internal/githubapp"
	"github.com/meshbot/meshbot/internal/impact"
	"github.com/meshbot/meshbot/internal/mesh"
	"github.com/meshbot/meshbot/internal/yamledit"
)

// fileChange is a file's new content.
type fileChange struct {
	Path    string
	Content []byte
}

// The edits themselves are internal/yamledit's: it changes only the
// deprecation keys and leaves every other byte of the file as written.

func deprecateFile(src []byte, format mesh.Format, t targetRef, r deprecateReq) ([]byte, []string, error) {
	d := yamledit.Deprecation{Sunset: r.Sunset.Format(dateLayout), Reason: r.Reason}
	if r.Replacement != nil {
		d.Replacement = r.Replacement.String()
	}
	return yamledit.Deprecate(src, format, yamledit.Target{Product: t.Product, Port: t.Port}, d)
}

func undeprecateFile(src []byte, format mesh.Format, t targetRef) ([]byte, []string, error) {
	return yamledit.Undeprecate(src, format, yamledit.Target{Product: t.Product, Port: t.Port})
}

// editTarget applies edit to the target's descriptor and to the ODCS
// contracts its ports publish (ODCS 3.2 carries `deprecated` of its own), at
// the head read by locate. It returns the files that changed and what the
// formats could not express, each note prefixed with its file.
func editTarget(ctx context.Context, env Env, loc located, t targetRef,
	edit func(src []byte, format mesh.Format) ([]byte, []string, error)) ([]fileChange, []string, error) {
	var changed []fileChange
	var notes []string
	apply := func(path string, src []byte, format mesh.Format) error {
		out, n, err := edit(src, format)
		if err != nil {
			// The file read as a descriptor or contract, yet the editor
			// cannot change it: nothing a retry mends.
			return Refuse("meshbot could not edit `%s`: %v. Nothing was changed.", path, err)
		}
		for _, s := range n {
			notes = append(notes, fmt.Sprintf("`%s`: %s", path, s))
		}
		if !bytes.Equal(out, src) {
			changed = append(changed, fileChange{Path: path, Content: out})
		}
		return nil
	}
	if err := apply(loc.head.File, loc.src, loc.head.Format); err != nil {
		return nil, nil, err
	}
	var contracts []string
	for _, o := range loc.head.OutputPorts {
		path := o.ContractPath
		if path == "" && loc.registered.OutputPort(o.Name) != nil {
			// An ODPS port names its contract by id; indexing found the
			// file that carries it.
			path = loc.registered.OutputPort(o.Name).ContractPath
		}
		if (t.Port == "" || o.Name == t.Port) && path != "" && !slices.Contains(contracts, path) {
			contracts = append(contracts, path)
		}
	}
	for _, path := range contracts {
		src, err := env.GitHub.File(ctx, env.Job.Owner, env.Job.Repo, path, loc.headSHA)
		if errors.Is(err, githubapp.ErrNotFound) {
			continue // a dangling contract path is the check's finding, not this command's
		}
		if err != nil {
			return nil, nil, err
		}
		c, _, _ := mesh.ReadContract(path, src)
		if c == nil || c.Format != mesh.FormatODCS {
			continue // DCS has no deprecation of its own: the descriptor says it
		}
		if err := apply(path, src, mesh.FormatODCS); err != nil {
			return nil, nil, err
		}
	}
	return changed, notes, nil
}

// proposal is a change meshbot proposes as a pull request from a branch of
// its own.
type proposal struct {
	Branch  string // meshbot's branch, stable per target
	Base    string // the default branch
	BaseSHA string // its head, the new commit's parent
	Title   string
	Body    string
	Message string
	Files   []fileChange
}

// propose commits p.Files on top of p.BaseSHA, points p.Branch at the
// commit (by force: the branch is meshbot's, rebuilt from the default
// branch on every request) and opens the pull request, or updates the one
// already open from the branch. Run again, it leaves one pull request with
// the newest terms: a retried job or a repeated command does not open a
// second.
func propose(ctx context.Context, gh githubapp.Installation, owner, repo string, p proposal) (pr githubapp.PullRequestRef, created bool, err error) {
	root, err := gh.RootTree(ctx, owner, repo, p.BaseSHA)
	if err != nil {
		return pr, false, err
	}
	changes := make([]githubapp.TreeChange, 0, len(p.Files))
	for _, f := range p.Files {
		blob, err := gh.CreateBlob(ctx, owner, repo, f.Content)
		if err != nil {
			return pr, false, err
		}
		changes = append(changes, githubapp.TreeChange{Path: f.Path, Mode: githubapp.ModeFile, Blob: blob})
	}
	tree, err := gh.CreateTree(ctx, owner, repo, root, changes)
	if err != nil {
		return pr, false, err
	}
	commit, err := gh.CreateCommit(ctx, owner, repo, githubapp.NewCommit{Message: p.Message, Tree: tree, Parents: []string{p.BaseSHA}})
	if err != nil {
		return pr, false, err
	}
	if _, err := gh.SetBranch(ctx, owner, repo, p.Branch, commit); err != nil {
		return pr, false, err
	}
	open, ok, err := gh.OpenPullByHead(ctx, owner, repo, p.Branch)
	if err != nil {
		return pr, false, err
	}
	if ok {
		pr, err = gh.UpdatePull(ctx, owner, repo, open.Number, p.Title, p.Body)
		return pr, false, err
	}
	pr, err = gh.CreatePull(ctx, owner, repo, githubapp.NewPull{Title: p.Title, Body: p.Body, Head: p.Branch, Base: p.Base})
	return pr, err == nil, err
}

// branchFor is meshbot's branch for a target: one per command and target,
// so a repeated command finds its pull request again. Products and ports
// live under different prefixes, so that no branch name is a folder of
// another (git refuses refs/heads/a when refs/heads/a/b exists).
func branchFor(undo undeprecating, t targetRef) string {
	if t.Port == "" {
		return "meshbot/" + undo.name() + "/product/" + refSafe(t.Product)
	}
	return "meshbot/" + undo.name() + "/port/" + refSafe(t.Product) + "/" + refSafe(t.Port)
}

// refSafe keeps a name within what git allows in one ref component.
func refSafe(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	out := strings.Trim(strings.ReplaceAll(b.String(), "..", "-"), ".")
	out = strings.TrimSuffix(out, ".lock")
	if out == "" {
		return "-"
	}
	return out
}

func proposalTitle(undo undeprecating, t targetRef, r deprecateReq) string {
	if undo {
		return fmt.Sprintf("Undeprecate %s", t)
	}
	return fmt.Sprintf("Deprecate %s (sunset %s)", t, r.Sunset.Format(dateLayout))
}

// proposalBody describes the change for its reviewers. Consumer teams are
// named, not mentioned: the command's reply mentions them once.
func proposalBody(env Env, undo undeprecating, t targetRef, r deprecateReq, notes []string, consumers []impact.Consumer, g *impact.Graph) string {
	var b strings.Builder
	if undo {
		fmt.Fprintf(&b, "Withdraws the deprecation of `%s`: its lifecycle and deprecation block are removed.\n\n", t)
	} else {
		fmt.Fprintf(&b, "Marks `%s` deprecated.\n\n", t)
		b.WriteString(terms(r))
	}
	writeNotes(&b, notes)
	if len(consumers) == 0 {
		b.WriteString("\nNo registered consumer reads it.\n")
	} else {
		b.WriteString("\nRegistered consumers:\n\n| consumer | input port | owner |\n|---|---|---|\n")
		for _, c := range consumers {
			owner := "—"
			if tm, ok := consumerTeam(c, g); ok {
				owner = "`" + tm.name() + "`"
			}
			fmt.Fprintf(&b, "| `%s` | `%s` | %s |\n", c.Product, c.InputPort, owner)
		}
	}
	fmt.Fprintf(&b, "\nRequested by @%s in #%d with `/mesh %s`. Repeating the command updates this pull request.\n", env.Job.User, env.Job.Issue, undo.name())
	return b.String()
}

// writeNotes lists what the formats could not express, each note with its
// file.
func writeNotes(b *strings.Builder, notes []string) {
	if len(notes) == 0 {
		return
	}
	b.WriteString("\nThe file's format could not express:\n")
	for _, n := range notes {
		fmt.Fprintf(b, "- %s\n", n)
	}
}

func terms(r deprecateReq) string {
	var b strings.Builder
	fmt.Fprintf(&b, "- sunset: **%s**\n", r.Sunset.Format(dateLayout))
	if r.Replacement != nil {
		fmt.Fprintf(&b, "- replacement: `%s`\n", r.Replacement)
	} else {
		b.WriteString("- replacement: none named\n")
	}
	if r.Reason != "" {
		fmt.Fprintf(&b, "- reason: %s\n", inline(r.Reason))
	}
	return b.String()
}

// inline keeps a person's words from turning into markup or a command.
func inline(s string) string {
	return strings.NewReplacer("\r", " ", "\n", " ", "@", "@\u200b", "<", "&lt;", ">", "&gt;").Replace(s)
}

// consumerTeam is the team that owns a consumer, in the organisation of
// the consumer's repository unless the owner names one.
func consumerTeam(c impact.Consumer, g *impact.Graph) (team, bool) {
	org := ""
	if p := g.Product(c.Product); p != nil {
		org = repoOwnerOf(p.Repo, "")
	}
	return teamOf(c.Owner, org)
}

// reply is the command's answer: the pull request, the terms, what could
// not be written, and every registered consumer with its team mentioned so
// GitHub notifies them.
func reply(env Env, undo undeprecating, t targetRef, r deprecateReq, pr githubapp.PullRequestRef, created bool, notes []string, consumers []impact.Consumer, g *impact.Graph) string {
	var b strings.Builder
	verb := "opened"
	if !created {
		verb = "updated"
	}
	fmt.Fprintf(&b, "@%s, ", env.Job.User)
	if undo {
		fmt.Fprintf(&b, "%s %s to withdraw the deprecation of `%s`. It takes effect when merged.\n\n", verb, pr.URL, t)
	} else {
		fmt.Fprintf(&b, "%s %s to deprecate `%s`. It takes effect when merged.\n\n", verb, pr.URL, t)
		b.WriteString(terms(r))
		if r.Replacement == nil {
			b.WriteString("\nNo `--replacement` was named: meshbot's bundled policy (`deprecation-replacement-required`) fails a deprecation without one. If there is one, repeat the command with `--replacement <domain.product>/<port>`; it updates the same pull request.\n")
		}
	}
	writeNotes(&b, notes)
	if len(consumers) == 0 {
		b.WriteString("\nNo registered consumer reads it.")
		return b.String()
	}
	if undo {
		b.WriteString("\nRegistered consumers, who may keep reading it:\n")
	} else {
		b.WriteString("\nRegistered consumers, who need to move before the sunset:\n")
	}
	for _, c := range consumers {
		owner := "no team named as owner"
		if tm, ok := consumerTeam(c, g); ok {
			owner = "owned by " + tm.mention()
		}
		fmt.Fprintf(&b, "- `%s` (input port `%s`), %s\n", c.Product, c.InputPort, owner)
	}
	return strings.TrimRight(b.String(), "\n")
}
