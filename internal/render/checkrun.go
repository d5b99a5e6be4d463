package render

import (
	"fmt"
	"strings"

	"github.com/meshbot/meshbot/internal/checkrun"
	"github.com/meshbot/meshbot/internal/engine"
)

// summaryBudget leaves room under checkrun.MaxOutputChars for the
// truncation note.
const summaryBudget = 60000

// MaxAnnotations bounds a check run's annotations. GitHub takes 50 per
// request, so 10,000 findings would cost 200 requests (and GitHub shows
// only some of them in the diff anyway); 1,000 is 20. Errors are annotated
// first, then warnings, then notices; the summary counts the rest.
const MaxAnnotations = 1000

// CheckRun turns a report into a check run's output. Warnings make the run
// neutral (it still passes branch protection) so they are seen; errors make
// it fail.
func CheckRun(r *engine.Report) checkrun.Output {
	out := checkrun.Output{Conclusion: checkrun.Success, Title: r.Summary}
	switch {
	case r.Failed():
		out.Conclusion = checkrun.Failure
	case r.Checked.Warnings > 0:
		out.Conclusion = checkrun.Neutral
	}
	annotated := byLevel(r.Findings)
	if len(annotated) > MaxAnnotations {
		annotated = annotated[:MaxAnnotations]
	}
	out.Summary = checkRunSummary(r, len(annotated))
	for _, f := range annotated {
		out.Annotations = append(out.Annotations, annotation(f))
	}
	return out
}

// byLevel orders findings errors first, then warnings, then notices,
// keeping the report's order within a level.
func byLevel(fs []engine.Finding) []engine.Finding {
	out := make([]engine.Finding, 0, len(fs))
	for _, l := range []engine.Level{engine.LevelError, engine.LevelWarning} {
		for _, f := range fs {
			if f.Level == l {
				out = append(out, f)
			}
		}
	}
	for _, f := range fs {
		if f.Level != engine.LevelError && f.Level != engine.LevelWarning {
			out = append(out, f)
		}
	}
	return out
}

// notAnnotated says which findings are not annotations, and where to see
// them.
func notAnnotated(r *engine.Report, annotated int) string {
	left := byLevel(r.Findings)[annotated:]
	var e, w, n int
	for _, f := range left {
		switch f.Level {
		case engine.LevelError:
			e++
		case engine.LevelWarning:
			w++
		default:
			n++
		}
	}
	return fmt.Sprintf("\n_%d of the %d findings are not annotated (%d error(s), %d warning(s), %d notice(s)): a check run carries at most %d annotations, errors first. `meshbot check` on a checkout of this pull request shows every finding._\n",
		len(left), len(r.Findings), e, w, n, MaxAnnotations)
}

// annotationLevel is a finding's level in GitHub's terms.
func annotationLevel(l engine.Level) checkrun.Level {
	switch l {
	case engine.LevelError:
		return checkrun.LevelFailure
	case engine.LevelWarning:
		return checkrun.LevelWarning
	}
	return checkrun.LevelNotice
}

func annotation(f engine.Finding) checkrun.Annotation {
	line := max(f.Pos.Line, 1)
	a := checkrun.Annotation{
		Path:      f.Pos.File,
		StartLine: line,
		EndLine:   line,
		Level:     annotationLevel(f.Level),
		Title:     f.Rule,
		Message:   f.Message,
	}
	if f.Title != "" {
		a.Title = f.Title + " (" + f.Rule + ")"
	}
	if f.InBase {
		a.Title += " — in the base version"
	}
	// GitHub accepts columns only on single-line annotations.
	if f.Pos.Col > 0 {
		a.StartColumn, a.EndColumn = f.Pos.Col, f.Pos.Col
	}
	var details []string
	for _, c := range f.Consumers {
		d := fmt.Sprintf("breaks %s%s via input port %s", c.Product, owner(c.Owner), c.InputPort)
		if len(c.Fields) > 0 {
			d += " (uses " + strings.Join(c.Fields, ", ") + ")"
		}
		details = append(details, d)
	}
	if f.Help != "" {
		details = append(details, "how to fix: "+f.Help)
	}
	if f.Link != "" {
		details = append(details, "see "+f.Link)
	}
	a.RawDetails = strings.Join(details, "\n")
	return a
}

var levelIcon = map[engine.Level]string{engine.LevelError: "❌", engine.LevelWarning: "⚠️", engine.LevelNotice: "ℹ️"}

func checkRunSummary(r *engine.Report, annotated int) string {
	var b strings.Builder
	if r.Checked.Changed == 0 && len(r.Findings) == 0 {
		b.WriteString("No data product descriptor or contract changed in this pull request.\n")
		if r.PolicyVersion != "" {
			fmt.Fprintf(&b, "\nPolicy version `%s`.\n", r.PolicyVersion)
		}
		return b.String()
	}
	fmt.Fprintf(&b, "meshbot judged %s (%s, %s in the change).", plural(r.Checked.Changed, "changed file"),
		plural(r.Checked.Descriptors, "descriptor"), plural(r.Checked.Contracts, "contract"))
	if r.PolicyVersion != "" {
		fmt.Fprintf(&b, " Policy version `%s`.", r.PolicyVersion)
	}
	b.WriteString("\n\n")
	fmt.Fprintf(&b, "**%d** error(s), **%d** warning(s), **%d** notice(s).\n", r.Checked.Errors, r.Checked.Warnings, r.Checked.Notices)
	if annotated < len(r.Findings) {
		b.WriteString(notAnnotated(r, annotated))
	}

	var rows []string
	for _, f := range r.Findings {
		loc := f.Pos.String()
		if f.InBase {
			loc += " (base)"
		}
		rows = append(rows, fmt.Sprintf("| %s | `%s` | `%s` | %s |", levelIcon[f.Level], f.Rule, loc, cell(f.Message)))
	}
	if len(rows) > 0 {
		b.WriteString("\n### Findings\n\n| | Rule | Where | What |\n|---|---|---|---|\n")
		writeRows(&b, rows, "findings")
	}

	var breaks []string
	for _, f := range r.Findings {
		if f.Level != engine.LevelError {
			continue
		}
		for _, c := range f.Consumers {
			breaks = append(breaks, fmt.Sprintf("| %s | %s | %s | %s | `%s` at `%s` |", c.Product, cell(c.Owner), cell(c.InputPort),
				cell(strings.Join(c.Fields, ", ")), f.Rule, f.Pos))
		}
	}
	if len(breaks) > 0 {
		b.WriteString("\n### Consumers that would break\n\n| Consumer | Owning team | Input port | Fields it uses | Because of |\n|---|---|---|---|---|\n")
		writeRows(&b, breaks, "consumers")
	}
	b.WriteString(approvalsSection(r))

	if len(r.Impact) > 0 {
		var impact []string
		for _, im := range r.Impact {
			impact = append(impact, fmt.Sprintf("| %s | %s | %d | %s |", im.Product, cell(im.Owner), im.InDegree, cell(strings.Join(im.Downstream, ", "))))
		}
		b.WriteString("\n### Blast radius\n\n| Changed product | Owner | Direct consumers | Downstream (transitive) |\n|---|---|---|---|\n")
		writeRows(&b, impact, "products")
	}
	return b.String()
}

// writeRows adds table rows while the summary stays within GitHub's limit,
// and says honestly how many it left out.
func writeRows(b *strings.Builder, rows []string, what string) {
	for i, row := range rows {
		if b.Len()+len(row)+1 > summaryBudget {
			fmt.Fprintf(b, "\n_… %d more %s not shown: the summary is limited to %d characters; `meshbot check` shows every finding._\n", len(rows)-i, what, checkrun.MaxOutputChars)
			return
		}
		b.WriteString(row + "\n")
	}
}

// cell makes text safe inside a markdown table cell.
func cell(s string) string {
	return strings.NewReplacer("|", "\\|", "\n", " ", "\r", " ").Replace(s)
}
