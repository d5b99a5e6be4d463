package policyrepo

import (
	"fmt"
	"strings"

	"github.com/meshbot/meshbot/internal/checkrun"
	"github.com/meshbot/meshbot/internal/policyeval"
)

// Section is a part of the policy check run that another component
// contributes (the impact preview): a one-line Title a guild member can act
// on, which becomes the check run's title when the bundle is sound, a
// markdown Summary and Text, and annotations.
type Section struct {
	Title       string
	Summary     string
	Text        string
	Annotations []checkrun.Annotation
}

// maxTraceLines bounds the evaluation trace quoted for one failing test.
const maxTraceLines = 40

// report is the check run's output for a verdict. calls is how many
// GitHub requests fetching the bundle took; preview is nil when there is
// none (or when the bundle did not compile).
func report(v *Verdict, calls int64, preview *Section, previewErr error) checkrun.Output {
	b := v.Bundle
	out := checkrun.Output{Conclusion: checkrun.Success}
	var sum strings.Builder
	rego, tests, data := b.Counts()
	where := "`" + b.Root + "`"
	if b.Root == "" {
		where = "the repository's root"
	}
	fmt.Fprintf(&sum, "Policy bundle of %s at `%s`: %d Rego file(s) (%d of tests), %d data file(s), fetched with %d GitHub request(s).",
		where, short(b.Commit), rego, tests, data, calls)
	if v.Set != nil {
		fmt.Fprintf(&sum, " Version `%s`, %d rule bodies, judged by %s.", v.Set.Version(), v.Set.Rules(), v.Set.Engine())
	}
	sum.WriteString("\n\n")

	switch v.Reason() {
	case ReasonLoad:
		out.Conclusion = checkrun.Failure
		out.Title = "The policy folder cannot be loaded"
		fmt.Fprintf(&sum, "### Compile\n\n%s\n\nPut Rego files (`*.rego`, tests in `*_test.rego`) and data files (`data.json`, `data.yaml`) under `policy/`, or at the repository's root when there is no `policy/` folder.\n\n", quote(v.LoadErr.Error()))
	case ReasonCompile, ReasonSandbox:
		out.Conclusion = checkrun.Failure
		out.Title = compileTitle(v.Problems)
		sum.WriteString("### Compile\n\n")
		for _, p := range v.Problems {
			fmt.Fprintf(&sum, "- `%s:%d`: %s\n", b.RepoPath(p.File), p.Line, oneLine(p.Message))
			switch {
			case p.Fix == "":
			case p.Sandbox != "": // advice, not code
				fmt.Fprintf(&sum, "  - fix: %s\n", oneLine(p.Fix))
			default:
				fmt.Fprintf(&sum, "  - fix: `%s`\n", oneLine(p.Fix))
			}
			if p.File != "" { // a problem of no file is in the summary only
				out.Annotations = append(out.Annotations, problemAnnotation(b, p))
			}
		}
		sum.WriteString("\n")
	default:
		sum.WriteString("### Compile\n\nThe bundle compiles (Rego v1).\n\n")
	}
	sum.WriteString(sandboxNote(v))
	if v.Tests != nil {
		writeTests(&sum, &out, v)
	}
	if out.Conclusion == checkrun.Success {
		out.Title = fmt.Sprintf("Policy compiles; %d of %d tests pass", v.Tests.Passed, len(v.Tests.Results))
		if len(v.Tests.Results) == 0 {
			out.Title = "Policy compiles; it has no tests"
		}
	}
	switch {
	case previewErr != nil:
		fmt.Fprintf(&sum, "### Impact\n\nThe impact preview could not be computed: %s\n\n", quote(previewErr.Error()))
	case preview != nil:
		if preview.Title != "" && out.Conclusion == checkrun.Success {
			out.Title = preview.Title
		}
		sum.WriteString("### Impact\n\n")
		if preview.Summary != "" {
			sum.WriteString(preview.Summary + "\n\n")
		}
		out.Text = preview.Text
		out.Annotations = append(out.Annotations, preview.Annotations...)
	}
	out.Title = checkrun.Truncate(out.Title, checkrun.MaxAnnotationTitle)
	out.Summary = checkrun.Truncate(sum.String(), checkrun.MaxOutputChars)
	out.Text = checkrun.Truncate(out.Text, checkrun.MaxOutputChars)
	return out
}

func compileTitle(ps []policyeval.Problem) string {
	var refused []string
	for _, p := range ps {
		if p.Sandbox != "" && !contains(refused, p.Sandbox) {
			refused = append(refused, p.Sandbox)
		}
	}
	if len(refused) > 0 {
		return "The policy calls built-ins the sandbox refuses: " + strings.Join(refused, ", ")
	}
	return fmt.Sprintf("The policy does not compile: %d error(s)", len(ps))
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// sandboxNote says what the sandbox refuses, and whether this bundle
// stays inside it.
func sandboxNote(v *Verdict) string {
	list := "`" + strings.Join(policyeval.SandboxedBuiltins(), "`, `") + "`"
	switch v.Reason() {
	case ReasonSandbox:
		return "### Sandbox\n\nPolicies run without network or runtime-environment access: " + list +
			" are refused (see the annotations). Ship reference data as `data.json`/`data.yaml` in the policy folder instead.\n\n"
	case ReasonNone, ReasonTests:
		return "### Sandbox\n\nNo rule calls a refused built-in (" + list + ").\n\n"
	}
	return ""
}

func problemAnnotation(b *Bundle, p policyeval.Problem) checkrun.Annotation {
	a := checkrun.Annotation{
		Path: b.RepoPath(p.File), StartLine: max(p.Line, 1), EndLine: max(p.Line, 1),
		Level: checkrun.LevelFailure, Title: "Policy does not compile", Message: p.Message,
	}
	if p.Sandbox != "" {
		a.Title = "Refused by the sandbox: " + p.Sandbox
	}
	if p.Fix != "" {
		a.Message += "\n\nFix: " + p.Fix
		a.RawDetails = p.Fix
	}
	return a
}

func writeTests(sum *strings.Builder, out *checkrun.Output, v *Verdict) {
	rep, b := v.Tests, v.Bundle
	fmt.Fprintf(sum, "### Tests\n\n%d passed, %d failed, %d errored, %d skipped, on OPA's test runner (topdown) and on irvm, the engine that judges pull requests; %d disagreed, %d could not run on irvm.\n\n",
		rep.Passed, rep.Failed, rep.Errored, rep.Skipped, rep.Disagreed, rep.NotOnIRVM)
	bad := 0
	for _, t := range rep.Results {
		at := fmt.Sprintf("%s:%d", b.RepoPath(t.Pos.File), t.Pos.Line)
		if t.Disagree {
			// Both engines must agree: a test irvm judges otherwise would
			// let a policy pass its tests and judge pull requests wrongly.
			bad++
			msg := fmt.Sprintf("data.%s.%s: %s on topdown, %s on irvm", t.Package, t.Name, t.Outcome, t.IRVM)
			if t.IRVMNote != "" {
				msg += " (" + t.IRVMNote + ")"
			}
			fmt.Fprintf(sum, "- `%s` %s\n", at, msg)
			out.Annotations = append(out.Annotations, checkrun.Annotation{
				Path: b.RepoPath(t.Pos.File), StartLine: max(t.Pos.Line, 1), EndLine: max(t.Pos.Line, 1),
				Level: checkrun.LevelFailure, Title: "Policy test judged differently by the two engines: " + t.Name,
				Message: msg + "\n\nmeshbot cannot activate a policy its production engine would evaluate differently; write the rule another way or report it.",
			})
			continue
		}
		if t.Outcome != policyeval.TestFail && t.Outcome != policyeval.TestError {
			continue
		}
		bad++
		fmt.Fprintf(sum, "- `%s` `data.%s.%s`: %s\n", at, t.Package, t.Name, t.Outcome)
		msg := fmt.Sprintf("data.%s.%s %s", t.Package, t.Name, strings.ToLower(t.Outcome)+"ed")
		if t.Outcome == policyeval.TestFail {
			msg = fmt.Sprintf("data.%s.%s failed", t.Package, t.Name)
		}
		if t.Error != "" {
			msg += ": " + t.Error
			fmt.Fprintf(sum, "  - %s\n", oneLine(t.Error))
		}
		if t.Output != "" {
			msg += "\n\nprint output:\n" + t.Output
			fmt.Fprintf(sum, "\n  ```\n%s  ```\n", indent(t.Output, "  "))
		}
		out.Annotations = append(out.Annotations, checkrun.Annotation{
			Path: b.RepoPath(t.Pos.File), StartLine: max(t.Pos.Line, 1), EndLine: max(t.Pos.Line, 1),
			Level: checkrun.LevelFailure, Title: "Policy test " + strings.ToLower(t.Outcome) + ": " + t.Name,
			Message: msg, RawDetails: b.repoPaths(firstLines(t.Trace, maxTraceLines)),
		})
	}
	if bad > 0 {
		out.Conclusion = checkrun.Failure
		out.Title = fmt.Sprintf("%d of %d policy tests fail", bad, len(rep.Results))
		sum.WriteString("\n")
	}
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func quote(s string) string { return "`" + strings.ReplaceAll(oneLine(s), "`", "'") + "`" }

func indent(s, pre string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(s, "\n") {
		if l != "" {
			b.WriteString(pre + l)
		}
	}
	if !strings.HasSuffix(s, "\n") {
		b.WriteString("\n")
	}
	return b.String()
}

func firstLines(s string, n int) string {
	lines := strings.SplitAfter(s, "\n")
	if len(lines) <= n {
		return s
	}
	return strings.Join(lines[:n], "") + fmt.Sprintf("… %d more lines of trace\n", len(lines)-n)
}

// repoPaths rewrites the locations OPA's trace starts its lines with
// (mesh/guild.rego:7) to the repository's paths (policy/mesh/guild.rego:7),
// the paths the annotations and the guild's editors use.
func (b *Bundle) repoPaths(trace string) string {
	if b.Root == "" {
		return trace
	}
	lines := strings.SplitAfter(trace, "\n")
	for i, l := range lines {
		if file, _, ok := strings.Cut(l, ":"); ok {
			if _, known := b.Files[file]; known {
				lines[i] = b.Root + l
			}
		}
	}
	return strings.Join(lines, "")
}
