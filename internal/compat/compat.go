// Package compat is meshbot's breaking-change engine. It compares a base and
// a head version of descriptors and data contracts and classifies every
// difference with a stable rule id, a severity and a source position.
//
// Severities are judged from a consumer's (reader's) point of view: a change
// is breaking when data a consumer may now receive, or where it must read it
// from, no longer matches what the base version promised. Whether a breaking
// change fails a check is decided elsewhere (internal/impact knows who
// consumes which field); this package only says what changed and how bad it
// is in general. RULES.md documents every rule and why it has its severity.
package compat

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/meshbot/meshbot/internal/mesh"
)

// Severity orders changes: Info < Warning < Breaking.
type Severity int

const (
	Info Severity = iota
	Warning
	Breaking
)

func (s Severity) String() string {
	switch s {
	case Info:
		return "info"
	case Warning:
		return "warning"
	case Breaking:
		return "breaking"
	}
	return fmt.Sprintf("severity(%d)", int(s))
}

// MarshalText writes the severity's name, so JSON and YAML output read
// "breaking" rather than 2.
func (s Severity) MarshalText() ([]byte, error) {
	switch s {
	case Info, Warning, Breaking:
		return []byte(s.String()), nil
	}
	return nil, fmt.Errorf("marshal severity: unknown value %d", int(s))
}

// UnmarshalText reads a name written by MarshalText.
func (s *Severity) UnmarshalText(b []byte) error {
	switch string(b) {
	case "info":
		*s = Info
	case "warning":
		*s = Warning
	case "breaking":
		*s = Breaking
	default:
		return fmt.Errorf("unmarshal severity: unknown name %q (want info, warning or breaking)", b)
	}
	return nil
}

// Change is one classified difference between base and head.
type Change struct {
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	Message  string   `json:"message"`
	// Pos is in head. A removal points at what held the removed thing in
	// head (the parent field, the list, the contract), a line that exists
	// there, and BasePos at where it was in base. Only what has no place
	// left in head (a deleted file, a removed product) is positioned in
	// base, with InBase set.
	Pos      mesh.Pos `json:"pos"`
	InBase   bool     `json:"inBase,omitempty"` // Pos is a position in the base version
	BasePos  mesh.Pos `json:"basePos,omitzero"` // where a removed element was in base
	Product  string   `json:"product,omitempty"`
	Port     string   `json:"port,omitempty"`
	Contract string   `json:"contract,omitempty"`
	// Fields are the affected field paths, "model.field" and
	// "model.parent.child"; array items are transparent, so a field of the
	// elements of array "records" is "model.records.field". A removed or
	// renamed parent lists its descendants too, so consumer matching can be
	// exact. Empty for changes that are not about fields.
	Fields    []string `json:"fields,omitempty"`
	Old       string   `json:"old,omitempty"`
	New       string   `json:"new,omitempty"`
	RenamedTo string   `json:"renamedTo,omitempty"`
}

func (c Change) String() string {
	return fmt.Sprintf("%s: %s [%s] %s", c.Pos, c.Severity, c.Rule, c.Message)
}

// Version is the version verdict for one compared contract.
type Version struct {
	Product     string   `json:"product,omitempty"`
	Port        string   `json:"port,omitempty"`
	Contract    string   `json:"contract"`
	Old         string   `json:"old"`
	New         string   `json:"new"`
	MajorBumped bool     `json:"majorBumped"`
	Breaking    bool     `json:"breaking"` // the contract has breaking changes (the version rule itself aside)
	Pos         mesh.Pos `json:"pos"`      // the head's version key
}

// Report is everything Compare found.
type Report struct {
	Changes  []Change  `json:"changes"`
	Versions []Version `json:"versions"`
}

// Max is the highest severity in the report, Info when it is empty.
func (r *Report) Max() Severity {
	m := Info
	for _, c := range r.Changes {
		m = max(m, c.Severity)
	}
	return m
}

// Breaking lists the breaking changes.
func (r *Report) Breaking() []Change {
	var out []Change
	for _, c := range r.Changes {
		if c.Severity == Breaking {
			out = append(out, c)
		}
	}
	return out
}

// Sort orders changes by file, line, column and rule, with the message as a
// last tie-break so that output is stable across runs.
func Sort(cs []Change) {
	slices.SortStableFunc(cs, func(a, b Change) int {
		return cmp.Or(
			strings.Compare(a.Pos.File, b.Pos.File),
			cmp.Compare(a.Pos.Line, b.Pos.Line),
			cmp.Compare(a.Pos.Col, b.Pos.Col),
			strings.Compare(a.Rule, b.Rule),
			strings.Compare(a.Message, b.Message),
		)
	})
}
