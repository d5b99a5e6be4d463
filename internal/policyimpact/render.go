package policyimpact

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/meshbot/meshbot/internal/checkrun"
	"github.com/meshbot/meshbot/internal/engine"
)

// DefaultMaxChars is the section's size when RenderOptions.MaxChars is
// zero: half of what GitHub takes in a check run's summary, leaving the
// rest to the policy check's compile and test results.
const DefaultMaxChars = checkrun.MaxOutputChars / 2

// RenderOptions shape the markdown section.
type RenderOptions struct {
	// GitHubURL is GitHub's web root, for links to the products' files at
	// their indexed commit (default https://github.com/; GHES:
	// backstage.WebURL of GITHUB_API_URL).
	GitHubURL string
	// MaxChars bounds the section (default DefaultMaxChars, at most
	// checkrun.MaxOutputChars). Products that do not fit are counted, not
	// listed.
	MaxChars int
}

// maxMessage bounds one finding's message in the section.
const maxMessage = 300

// Title is the report in one line a guild member can act on: "would newly
// fail 4 products owned by 3 teams; 2 newly pass".
func Title(r *Report) string {
	var fails, passes, warns, unwarns, ownerless int
	teams := map[string]bool{}
	for _, c := range r.Changes {
		switch {
		case c.Kind.Fails():
			fails++
			if c.Owner == "" {
				ownerless++
			} else {
				teams[c.Owner] = true
			}
		case c.Kind.Passes():
			passes++
		case c.Kind == NewlyWarns:
			warns++
		case c.Kind == NoLongerWarns:
			unwarns++
		}
	}
	var t string
	switch {
	case fails > 0:
		t = "would newly fail " + count(fails, "product", "products") + " owned by " + count(len(teams), "team", "teams")
		if ownerless > 0 {
			t += fmt.Sprintf(" (%s with no owner)", number(ownerless))
		}
		if passes > 0 {
			t += "; " + number(passes) + " newly " + pick(passes, "passes", "pass")
		}
	case passes > 0:
		t = count(passes, "product", "products") + " would newly pass; none newly fails"
	case warns+unwarns > 0:
		var moves []string
		if warns > 0 {
			moves = append(moves, number(warns)+" newly "+pick(warns, "warns", "warn"))
		}
		if unwarns > 0 {
			moves = append(moves, number(unwarns)+" no longer "+pick(unwarns, "warns", "warn"))
		}
		t = "no product changes between pass and fail (" + count(r.Products, "product", "products") + "); " + strings.Join(moves, ", ")
	default:
		t = "no product changes verdict (" + count(r.Products, "product", "products") + ")"
	}
	if n := len(r.NotPreviewed); n > 0 {
		t += " (" + count(n, "repository", "repositories") + " not previewed)"
	}
	return t
}

// Markdown renders the report as a check run section, within
// opts.MaxChars characters.
func Markdown(r *Report, opts RenderOptions) string {
	if opts.GitHubURL == "" {
		opts.GitHubURL = "https://github.com/"
	}
	if opts.MaxChars <= 0 {
		opts.MaxChars = DefaultMaxChars
	}
	opts.MaxChars = min(opts.MaxChars, checkrun.MaxOutputChars)
	var head strings.Builder
	head.WriteString("### Policy impact\n\n")
	fmt.Fprintf(&head, "**%s.**\n\n", capitalize(Title(r)))
	fmt.Fprintf(&head, "The registry's data products were judged with the active policy (`%s`) and the proposed one (`%s`): %s in %s, read from the registry at their indexed commits (no GitHub calls). %s %s their verdict",
		r.ActiveVersion, r.ProposedVersion, count(r.Products, "product", "products"), count(r.Repos, "repository", "repositories"),
		number(r.Unchanged), pick(r.Unchanged, "keeps", "keep"))
	if r.FindingsMoved > 0 {
		fmt.Fprintf(&head, " (%s with different findings)", number(r.FindingsMoved))
	}
	head.WriteString(".\n")

	var foot strings.Builder
	if len(r.NotPreviewed) > 0 {
		fmt.Fprintf(&foot, "\n#### Not previewed (%s)\n\n", number(len(r.NotPreviewed)))
		for i, n := range r.NotPreviewed {
			if i == 10 {
				fmt.Fprintf(&foot, "- … and %s more\n", number(len(r.NotPreviewed)-i))
				break
			}
			fmt.Fprintf(&foot, "- `%s`: %s\n", n.Repo, n.Reason)
		}
	}
	perProduct := int64(0)
	if r.Products > 0 {
		perProduct = r.StoredBytes / int64(r.Products)
	}
	fmt.Fprintf(&foot, "\n<sub>The registry keeps %s of documents for previews (%s uncompressed; %s per product).</sub>\n",
		bytesText(r.StoredBytes), bytesText(r.SourceBytes), bytesText(perProduct))

	budget := opts.MaxChars - runes(head.String()) - runes(foot.String())
	var body strings.Builder
	listed := 0
	for _, k := range Kinds {
		changes := r.byKind(k)
		if len(changes) == 0 {
			continue
		}
		section := fmt.Sprintf("\n#### %s (%s)\n", kindHeading(k), number(len(changes)))
		owner, first := "", true
		for _, c := range changes {
			var blk strings.Builder
			if section != "" {
				blk.WriteString(section)
			}
			if first || c.Owner != owner {
				owner, first = c.Owner, false
				fmt.Fprintf(&blk, "\n**%s**\n\n", ownerName(owner))
			}
			productBlock(&blk, c, opts.GitHubURL)
			// Room is kept for the note on what was left out.
			if runes(body.String())+runes(blk.String())+200 > budget {
				goto full
			}
			body.WriteString(blk.String())
			section = ""
			listed++
		}
	}
full:
	if left := len(r.Changes) - listed; left > 0 {
		fmt.Fprintf(&body, "\n_… and %s more not listed here: the section is limited to %s characters._\n",
			count(left, "product", "products"), number(opts.MaxChars))
	}
	return checkrun.Truncate(head.String()+body.String()+foot.String(), opts.MaxChars)
}

func (r *Report) byKind(k Kind) []Change {
	var out []Change
	for _, c := range r.Changes {
		if c.Kind == k {
			out = append(out, c)
		}
	}
	return out
}

func kindHeading(k Kind) string {
	switch k {
	case NewlyFails:
		return "Newly fail"
	case WarnToFail:
		return "Warning → failure"
	case FailToWarn:
		return "Failure → warning (newly pass)"
	case NewlyPasses:
		return "Newly pass"
	case NewlyWarns:
		return "Newly warn"
	case NoLongerWarns:
		return "No longer warn"
	}
	return string(k)
}

func ownerName(owner string) string {
	if owner == "" {
		return "no owning team"
	}
	return owner
}

// productBlock is one product: a link to its file, then the findings that
// moved it: those it no longer has when its verdict eases, those it gets
// at its new level otherwise.
func productBlock(b *strings.Builder, c Change, web string) {
	fmt.Fprintf(b, "- [`%s`](%s) in `%s`\n", c.Product, link(web, c.Repo, c.SHA, c.File, 0), c.Repo)
	var before, after []Finding
	if c.To < c.From {
		before = c.Before
	}
	if c.To != Pass {
		after = c.After
	}
	for _, f := range before {
		fmt.Fprintf(b, "  - no longer %s: `%s` at [`%s:%d`](%s): %s\n", levelWord(f), f.Rule, f.File, f.Line, link(web, c.Repo, c.SHA, f.File, f.Line), message(f.Message))
	}
	for _, f := range after {
		fmt.Fprintf(b, "  - %s: `%s` at [`%s:%d`](%s): %s\n", levelWord(f), f.Rule, f.File, f.Line, link(web, c.Repo, c.SHA, f.File, f.Line), message(f.Message))
	}
}

func levelWord(f Finding) string {
	if f.Level == engine.LevelError {
		return "fails"
	}
	return "warns"
}

// link points at a file of the repository at the indexed commit.
func link(web, repo, sha, file string, line int) string {
	segs := strings.Split(file, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	u := strings.TrimSuffix(web, "/") + "/" + repo + "/blob/" + sha + "/" + strings.Join(segs, "/")
	if line > 0 {
		u += "#L" + strconv.Itoa(line)
	}
	return u
}

// message is a finding's message on one line, bounded.
func message(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > maxMessage {
		s = string([]rune(s)[:maxMessage-1]) + "…"
	}
	return s
}

func runes(s string) int { return utf8.RuneCountInString(s) }

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func pick(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func count(n int, one, many string) string { return number(n) + " " + pick(n, one, many) }

// number writes n with thousands separators: 1,234.
func number(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var parts []string
	for len(s) > 3 {
		parts = append(parts, s[len(s)-3:])
		s = s[:len(s)-3]
	}
	parts = append(parts, s)
	slices.Reverse(parts)
	out := strings.Join(parts, ",")
	if neg {
		out = "-" + out
	}
	return out
}

func bytesText(n int64) string {
	switch {
	case n >= 10<<20:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 10<<10:
		return fmt.Sprintf("%d KiB", n>>10)
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
