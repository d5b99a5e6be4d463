package checks

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Formats the command line can print.
var Formats = []string{"text", "json", "sarif", "github"}

// Render writes the report in format.
func Render(w io.Writer, r *Report, format, version string) error {
	switch format {
	case "text", "":
		return RenderText(w, r)
	case "json":
		return RenderJSON(w, r)
	case "sarif":
		return RenderSARIF(w, r, version)
	case "github":
		return RenderGitHub(w, r)
	}
	return fmt.Errorf("unknown format %q (want one of %s)", format, strings.Join(Formats, ", "))
}

func summaryLine(r *Report) string {
	if r.Checked.Changed == 0 && len(r.Findings) == 0 {
		return "No data products changed"
	}
	parts := []string{}
	if n := r.Checked.Errors; n > 0 {
		parts = append(parts, plural(n, "error"))
	}
	if n := r.Checked.Warnings; n > 0 {
		parts = append(parts, plural(n, "warning"))
	}
	breaking := map[string]bool{}
	for _, f := range r.Findings {
		if f.Level == LevelError {
			for _, c := range f.Consumers {
				breaking[c.Product] = true
			}
		}
	}
	switch {
	case r.Failed() && len(breaking) > 0:
		return fmt.Sprintf("Fails: %s; breaks %s", strings.Join(parts, ", "), plural(len(breaking), "registered consumer"))
	case r.Failed():
		return "Fails: " + strings.Join(parts, ", ")
	case len(parts) > 0:
		return "Passes with " + strings.Join(parts, ", ")
	}
	return fmt.Sprintf("Passes: %s checked, nothing to report", plural(r.Checked.Changed, r.fileWord()))
}

func (r *Report) fileWord() string {
	if r.Compared {
		return "changed file"
	}
	return "file"
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// RenderText is the report a person reads in a terminal: findings grouped by
// file, each with the consumers it would break, then the blast radius.
func RenderText(w io.Writer, r *Report) error {
	var b strings.Builder
	verdict := "PASS"
	if r.Failed() {
		verdict = "FAIL"
	}
	fmt.Fprintf(&b, "meshbot %s: %s\n", verdict, r.Summary)
	fmt.Fprintf(&b, "read %s and %s; judged %s", plural(r.Checked.Descriptors, "descriptor"),
		plural(r.Checked.Contracts, "contract"), plural(r.Checked.Changed, r.fileWord()))
	if !r.Compared {
		b.WriteString(" (no --base: every file judged, nothing compared)")
	}
	if r.PolicyVersion != "" {
		fmt.Fprintf(&b, ", policy %s", r.PolicyVersion)
	}
	b.WriteString("\n")
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
		if f.Link != "" && f.Source == SourcePolicy {
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

// RenderJSON writes the report as indented JSON (the shape is the Report
// type's; it is meant for scripts).
func RenderJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// RenderGitHub writes GitHub Actions workflow commands, which the runner
// turns into annotations on the pull request's files.
func RenderGitHub(w io.Writer, r *Report) error {
	var b strings.Builder
	for _, f := range r.Findings {
		msg := f.Message
		for _, c := range f.Consumers {
			msg += fmt.Sprintf("\nbreaks %s%s via %s", c.Product, owner(c.Owner), c.InputPort)
		}
		if f.Help != "" {
			msg += "\nhow to fix: " + f.Help
		}
		cmd := map[Level]string{LevelError: "error", LevelWarning: "warning"}[f.Level]
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

// SARIF 2.1.0, the subset GitHub code scanning reads.
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri"`
	Version        string      `json:"version,omitempty"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID               string       `json:"id"`
	Name             string       `json:"name,omitempty"`
	ShortDescription sarifMessage `json:"shortDescription"`
	HelpURI          string       `json:"helpUri,omitempty"`
	Properties       *sarifProps  `json:"properties,omitempty"`
}

type sarifProps struct {
	Tags []string `json:"tags,omitempty"`
}

type sarifMessage struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID    string          `json:"ruleId"`
	RuleIndex int             `json:"ruleIndex"`
	Level     string          `json:"level"`
	Message   sarifMessage    `json:"message"`
	Locations []sarifLocation `json:"locations"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn,omitempty"`
}

// RenderSARIF writes a SARIF 2.1.0 log that `github/codeql-action/upload-sarif`
// accepts: one rule per distinct finding rule, file URIs relative to the
// checkout root (%SRCROOT%).
func RenderSARIF(w io.Writer, r *Report, version string) error {
	run := sarifRun{
		Tool: sarifTool{Driver: sarifDriver{
			Name:           "meshbot",
			InformationURI: "https://github.com/meshbot/meshbot",
			Version:        version,
			Rules:          []sarifRule{},
		}},
		Results: []sarifResult{},
	}
	index := map[string]int{}
	for _, f := range r.Findings {
		if _, ok := index[f.Rule]; !ok {
			index[f.Rule] = -1
		}
	}
	ids := make([]string, 0, len(index))
	for id := range index {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for i, id := range ids {
		index[id] = i
		rule := sarifRule{ID: id, ShortDescription: sarifMessage{Text: id}}
		for _, f := range r.Findings {
			if f.Rule == id {
				if f.Title != "" {
					rule.Name = f.Title
					rule.ShortDescription.Text = f.Title
				}
				rule.HelpURI = f.Link
				rule.Properties = &sarifProps{Tags: []string{"meshbot", f.Source}}
				break
			}
		}
		run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, rule)
	}
	for _, f := range r.Findings {
		level := map[Level]string{LevelError: "error", LevelWarning: "warning"}[f.Level]
		if level == "" {
			level = "note"
		}
		msg := f.Message
		for _, c := range f.Consumers {
			msg += fmt.Sprintf(" Breaks %s%s via input port %s.", c.Product, owner(c.Owner), c.InputPort)
		}
		if f.Help != "" {
			msg += " How to fix: " + f.Help
		}
		loc := sarifLocation{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: f.Pos.File, URIBaseID: "%SRCROOT%"}}}
		if f.Pos.Line > 0 {
			loc.PhysicalLocation.Region = &sarifRegion{StartLine: f.Pos.Line, StartColumn: f.Pos.Col}
		}
		run.Results = append(run.Results, sarifResult{
			RuleID: f.Rule, RuleIndex: index[f.Rule], Level: level,
			Message: sarifMessage{Text: msg}, Locations: []sarifLocation{loc},
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(sarifLog{
		Schema:  "https://json.schemastore.org/sarif-2.1.0.json",
		Version: "2.1.0",
		Runs:    []sarifRun{run},
	})
}
