// Package render presents an engine.Report: as text for a terminal, JSON
// for scripts, SARIF for code scanning, GitHub Actions workflow commands,
// and a check run's output (package checkrun's Output, GitHub's terms).
// Nothing here judges; everything here only formats.
package render

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/meshbot/meshbot/internal/engine"
	"github.com/meshbot/meshbot/internal/mesh"
)

// Format is a rendering the command line can print.
type Format string

// The formats of `meshbot check --format`.
const (
	FormatText   Format = "text"
	FormatJSON   Format = "json"
	FormatSARIF  Format = "sarif"
	FormatGitHub Format = "github" // GitHub Actions workflow commands
)

// Formats lists every Format, in the order help text names them.
var Formats = []Format{FormatText, FormatJSON, FormatSARIF, FormatGitHub}

// ParseFormat reads a format's name.
func ParseFormat(s string) (Format, error) {
	for _, f := range Formats {
		if string(f) == s {
			return f, nil
		}
	}
	return "", fmt.Errorf("unknown format %q (want one of %s)", s, FormatNames(", "))
}

// FormatNames joins the formats' names with sep.
func FormatNames(sep string) string {
	names := make([]string, len(Formats))
	for i, f := range Formats {
		names[i] = string(f)
	}
	return strings.Join(names, sep)
}

// Write writes r in format f; version names meshbot in SARIF's tool.
func Write(w io.Writer, r *engine.Report, f Format, version string) error {
	switch f {
	case FormatText:
		return Text(w, r)
	case FormatJSON:
		return JSON(w, r)
	case FormatSARIF:
		return SARIF(w, r, version)
	case FormatGitHub:
		return WorkflowCommands(w, r)
	}
	return fmt.Errorf("unknown format %q (want one of %s)", f, FormatNames(", "))
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// Text is the report a person reads in a terminal: findings grouped by
// file, each with the consumers it would break, then the blast radius.
func Text(w io.Writer, r *engine.Report) error {
	var b strings.Builder
	verdict := "PASS"
	if r.Failed() {
		verdict = "FAIL"
	}
	fmt.Fprintf(&b, "meshbot %s: %s\n", verdict, r.Summary)
	fmt.Fprintf(&b, "read %s and %s; judged %s", plural(r.Checked.Descriptors, "descriptor"),
		plural(r.Checked.Contracts, "contract"), plural(r.Checked.Changed, r.FileWord()))
	if !r.Compared {
		b.WriteString(" (no --base: every file judged, nothing compared)")
	}
	if r.PolicyVersion != "" {
		fmt.Fprintf(&b, ", policy %s", r.PolicyVersion)
	}
	b.WriteString("\n")
	b.WriteString(filesLine(r.Files))
	file := "\x00"
	for _, f := range r.Findings {
		if f.Pos.File != file {
			file = f.Pos.File
			b.WriteString("\n" + file)
			if f.InBase {
				b.WriteString(" (base version)")
			}
			b.WriteString("\n")
		}
		loc := fmt.Sprint(f.Pos.Line)
		if f.Pos.Col > 0 {
			loc += fmt.Sprintf(":%d", f.Pos.Col)
		}
		fmt.Fprintf(&b, "  %-7s %-7s %s  %s\n", loc, f.Level, f.Rule, f.Message)
		for _, c := range f.Consumers {
			fmt.Fprintf(&b, "%18sbreaks %s%s via input port %s", "", c.Product, owner(c.Owner), c.InputPort)
			if len(c.Fields) > 0 {
				fmt.Fprintf(&b, " (uses %s)", strings.Join(c.Fields, ", "))
			}
			if c.Pos.File != "" {
				fmt.Fprintf(&b, " at %s", c.Pos)
			}
			b.WriteString("\n")
		}
		if f.Help != "" {
			fmt.Fprintf(&b, "%18show to fix: %s\n", "", f.Help)
		}
		if f.Link != "" && f.Source == engine.SourcePolicy {
			fmt.Fprintf(&b, "%18ssee %s\n", "", f.Link)
		}
	}
	if len(r.Impact) > 0 {
		b.WriteString("\nBlast radius of the changed products\n")
		for _, im := range r.Impact {
			fmt.Fprintf(&b, "  %s%s: %s", im.Product, owner(im.Owner), plural(im.InDegree, "direct consumer"))
			if len(im.Downstream) > 0 {
				fmt.Fprintf(&b, ", %d downstream: %s", len(im.Downstream), strings.Join(im.Downstream, ", "))
			}
			b.WriteString("\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func owner(o string) string {
	if o == "" {
		return ""
	}
	return " (" + o + ")"
}

// JSON writes the report as indented JSON (the shape is engine.Report's; it is meant for scripts).
func JSON(w io.Writer, r *engine.Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WorkflowCommands writes GitHub Actions workflow commands, which the runner
// turns into annotations on the pull request's files.
func WorkflowCommands(w io.Writer, r *engine.Report) error {
	var b strings.Builder
	for _, f := range r.Findings {
		msg := f.Message
		for _, c := range f.Consumers {
			msg += fmt.Sprintf("\nbreaks %s%s via %s", c.Product, owner(c.Owner), c.InputPort)
		}
		if f.Help != "" {
			msg += "\nhow to fix: " + f.Help
		}
		cmd := map[engine.Level]string{engine.LevelError: "error", engine.LevelWarning: "warning"}[f.Level]
		if cmd == "" {
			cmd = "notice"
		}
		props := []string{"file=" + escapeProperty(f.Pos.File)}
		if f.Pos.Line > 0 {
			props = append(props, fmt.Sprintf("line=%d", f.Pos.Line))
		}
		if f.Pos.Col > 0 {
			props = append(props, fmt.Sprintf("col=%d", f.Pos.Col))
		}
		props = append(props, "title="+escapeProperty(f.Rule))
		fmt.Fprintf(&b, "::%s %s::%s\n", cmd, strings.Join(props, ","), escapeData(msg))
	}
	fmt.Fprintf(&b, "meshbot: %s\n", r.Summary)
	_, err := io.WriteString(w, b.String())
	return err
}

// Escaping as the Actions runner expects it (toolkit's command.ts).
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

// filesLine says how many files were read and skipped, and why, in one
// line (--format json lists them).
func filesLine(f mesh.FileReport) string {
	if len(f.Read) == 0 && len(f.Skipped) == 0 {
		return ""
	}
	line := fmt.Sprintf("files: %d read, %d skipped", len(f.Read), len(f.Skipped))
	if len(f.Skipped) > 0 {
		n := map[string]int{}
		var reasons []string
		for _, s := range f.Skipped {
			if n[s.Reason] == 0 {
				reasons = append(reasons, s.Reason)
			}
			n[s.Reason]++
		}
		slices.SortStableFunc(reasons, func(a, b string) int { return cmp.Or(cmp.Compare(n[b], n[a]), strings.Compare(a, b)) })
		parts := make([]string, len(reasons))
		for i, why := range reasons {
			parts[i] = fmt.Sprintf("%d %s", n[why], why)
		}
		line += " (" + strings.Join(parts, "; ") + "; --format json lists them)"
	}
	return line + "\n"
}
