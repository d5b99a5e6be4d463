// Package checks judges a change to a data mesh: it runs the readers' problems,
// the policy, the breaking-change rules and the consumer impact over a base
// and a head checkout and returns one report, which it also renders (text,
// JSON, SARIF, GitHub annotations and check-run output).
package checks

import (
	"cmp"
	"slices"

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
const (
	SourceInput       = "input"       // a file that could not be read or resolved
	SourcePolicy      = "policy"      // a Rego rule
	SourceCompat      = "compat"      // a breaking-change rule
	SourceDeprecation = "deprecation" // the deprecation window of a removed product
)

// Finding is one thing a person should know about a change, pinned to a file
// and line.
type Finding struct {
	Rule      string     `json:"rule"`
	Source    string     `json:"source"`
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
	Conclusion    string    `json:"conclusion"` // failure | success (warnings do not fail)
	Summary       string    `json:"summary"`    // one line, the check run's title
	Findings      []Finding `json:"findings"`
	Impact        []Impact  `json:"impact"`
	PolicyVersion string    `json:"policy_version"`
	Compared      bool      `json:"compared"` // a base version was given: files are "changed", else all are judged
	Checked       Counts    `json:"checked"`
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

func (r *Report) finish() {
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
	r.Conclusion = "success"
	if r.Failed() {
		r.Conclusion = "failure"
	}
	r.Summary = summaryLine(r)
}
