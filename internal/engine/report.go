// Package engine judges a change to a data mesh: given a head and a base
// checkout it runs the readers' problems, the breaking-change rules, the
// consumer impact and the policy, and returns one Report. It knows nothing of
// GitHub, HTTP or the command line (a test enforces it); package render
// presents the Report.
package engine

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/meshbot/meshbot/internal/mesh"
)

// Level is how much a finding matters. Only errors fail a check.
type Level string

const (
	LevelError   Level = "error"
	LevelWarning Level = "warning"
	LevelNotice  Level = "notice"
)

func (l Level) rank() int {
	switch l {
	case LevelError:
		return 0
	case LevelWarning:
		return 1
	}
	return 2
}

// Source says which part of meshbot produced a finding.
type Source string

// The parts of meshbot that produce findings.
const (
	SourceInput       Source = "input"       // a file that could not be read or resolved
	SourcePolicy      Source = "policy"      // a Rego rule
	SourceCompat      Source = "compat"      // a breaking-change rule
	SourceDeprecation Source = "deprecation" // the deprecation window of a removed product
)

// Conclusion is the verdict of a Report. Only errors fail; how warnings are
// shown (a neutral check run, say) is the renderer's business.
type Conclusion string

// The two verdicts.
const (
	Success Conclusion = "success"
	Failure Conclusion = "failure"
)

// Finding is one thing a person should know about a change, pinned to a file
// and line.
type Finding struct {
	Rule      string     `json:"rule"`
	Source    Source     `json:"source"`
	Level     Level      `json:"level"`
	Title     string     `json:"title,omitempty"`
	Message   string     `json:"message"`
	Pos       mesh.Pos   `json:"location"`
	InBase    bool       `json:"in_base,omitempty"` // the location is in the base version (the thing was removed)
	Help      string     `json:"help,omitempty"`
	Link      string     `json:"link,omitempty"`
	Product   string     `json:"product,omitempty"`
	Port      string     `json:"port,omitempty"`
	Fields    []string   `json:"fields,omitempty"`
	Consumers []Consumer `json:"consumers,omitempty"` // who breaks
}

// Consumer is a registered consumer that a finding would break.
type Consumer struct {
	Product   string   `json:"product"`
	Owner     string   `json:"owner,omitempty"`
	InputPort string   `json:"input_port,omitempty"`
	Fields    []string `json:"fields,omitempty"` // the fields it depends on that the change touches
	Pos       mesh.Pos `json:"location"`
}

// Impact is the reach of one changed product.
type Impact struct {
	Product    string   `json:"product"`
	Owner      string   `json:"owner,omitempty"`
	InDegree   int      `json:"in_degree"`
	Downstream []string `json:"downstream"`
}

// Report is the verdict on a change.
type Report struct {
	Conclusion    Conclusion `json:"conclusion"` // warnings do not fail
	Summary       string     `json:"summary"`    // one line, the check run's title
	Findings      []Finding  `json:"findings"`
	Impact        []Impact   `json:"impact"`
	PolicyVersion string     `json:"policy_version"`
	Compared      bool       `json:"compared"` // a base version was given: files are "changed", else all are judged
	Checked       Counts     `json:"checked"`
	// Breaks are the consumers the change breaks, before approvals: what
	// `/mesh approve` may accept.
	Breaks []Break `json:"-"`
	// Approvals say which approvals hold on this head and which were
	// dropped, and why.
	Approvals []ApprovalStatus `json:"approvals,omitempty"`
	// Files are the head's files read, and those skipped with the reason.
	Files mesh.FileReport `json:"files"`
}

// Counts says how much was looked at.
type Counts struct {
	Descriptors int `json:"descriptors"`
	Contracts   int `json:"contracts"`
	Changed     int `json:"changed_files"`
	Errors      int `json:"errors"`
	Warnings    int `json:"warnings"`
	Notices     int `json:"notices"`
}

// Failed reports whether any finding fails the check.
func (r *Report) Failed() bool { return r.Checked.Errors > 0 }

// Finish sorts and de-duplicates the findings, counts them, and sets
// Conclusion and Summary. Evaluate calls it; so does anyone who assembles a
// Report by hand (the renderers' tests).
func (r *Report) Finish() {
	slices.SortStableFunc(r.Findings, func(a, b Finding) int {
		return cmp.Or(
			cmp.Compare(a.Pos.File, b.Pos.File),
			cmp.Compare(a.Pos.Line, b.Pos.Line),
			cmp.Compare(a.Pos.Col, b.Pos.Col),
			cmp.Compare(a.Level.rank(), b.Level.rank()),
			cmp.Compare(a.Rule, b.Rule),
			cmp.Compare(a.Message, b.Message),
		)
	})
	r.Findings = slices.CompactFunc(r.Findings, func(a, b Finding) bool {
		return a.Rule == b.Rule && a.Pos == b.Pos && a.Message == b.Message
	})
	r.Checked.Errors, r.Checked.Warnings, r.Checked.Notices = 0, 0, 0
	for _, f := range r.Findings {
		switch f.Level {
		case LevelError:
			r.Checked.Errors++
		case LevelWarning:
			r.Checked.Warnings++
		default:
			r.Checked.Notices++
		}
	}
	slices.SortFunc(r.Impact, func(a, b Impact) int { return cmp.Compare(a.Product, b.Product) })
	// Scripts read these as lists: empty is [], never null.
	if r.Findings == nil {
		r.Findings = []Finding{}
	}
	if r.Impact == nil {
		r.Impact = []Impact{}
	}
	r.Conclusion = Success
	if r.Failed() {
		r.Conclusion = Failure
	}
	r.Summary = summaryLine(r)
}

// summaryLine is the report in one line: the check run's title and the
// first line a terminal shows.
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
	}
	accepted := 0
	for _, a := range r.Approvals {
		if a.Valid {
			accepted++
		}
	}
	switch {
	case accepted > 0:
		// Not "nothing to report": the change breaks consumers who said yes.
		parts = append(parts, "breaking changes accepted by "+plural(accepted, "consumer"))
		return "Passes with " + strings.Join(parts, ", ")
	case len(parts) > 0:
		return "Passes with " + strings.Join(parts, ", ")
	}
	return fmt.Sprintf("Passes: %s checked, nothing to report", plural(r.Checked.Changed, r.FileWord()))
}

// FileWord names what Checked.Changed counts: changed files when a base was
// compared, else every file.
func (r *Report) FileWord() string {
	if r.Compared {
		return "changed file"
	}
	return "file"
}

// plural is "1 word" or "n words".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// Reroot prefixes every location in a file of the checked folder with
// prefix (the folder's path inside its repository, "contracts/"), so that
// annotations land on the repository's files; ours says which files belong
// to the folder (consumers read from other checkouts keep their paths).
func (r *Report) Reroot(prefix string, ours func(file string) bool) {
	if prefix == "" {
		return
	}
	fix := func(p *mesh.Pos) {
		if p.File != "" && ours(p.File) {
			p.File = prefix + p.File
		}
	}
	for i := range r.Files.Read {
		r.Files.Read[i].Path = prefix + r.Files.Read[i].Path
	}
	for i := range r.Files.Skipped {
		r.Files.Skipped[i].Path = prefix + r.Files.Skipped[i].Path
	}
	for i := range r.Findings {
		f := &r.Findings[i]
		fix(&f.Pos)
		for j := range f.Consumers {
			fix(&f.Consumers[j].Pos)
		}
	}
}
