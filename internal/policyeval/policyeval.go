// Package policyeval evaluates Rego policy against meshbot's documents the
// way conftest does (every package's deny/violation/warn rules, message strings
// or objects, exception rules), inside a sandbox (no network, no runtime
// environment, bounded time), and points every finding at a line of the
// document it judged.
//
// Policies see the document exactly as written as input, and meshbot's
// context for that document (type Context: path, kind, base version,
// changes, consumers, today) at data.meshbot.context.
//
// time.now_ns stays available, but policies should compare dates with
// data.meshbot.context.today: it is what the report shows and what tests mock.
package policyeval

import (
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/open-policy-agent/opa/v1/ir"

	"github.com/meshbot/meshbot/internal/mesh"
)

// DefaultTimeout bounds the evaluation of one document when Options.Timeout
// is zero.
const DefaultTimeout = 2 * time.Second

// Options tune Load.
type Options struct {
	Timeout time.Duration // per-document evaluation bound (default 2s)
	// Topdown evaluates with OPA's tree-walking evaluator instead of the
	// planned query; the differential tests compare the two.
	Topdown bool
	// Logger receives the one warning Load logs when a policy falls back
	// to topdown (default slog.Default()).
	Logger *slog.Logger

	// mutatePlan changes the plan before irvm prepares it: tests stand
	// in for a plan irvm refuses or evaluates wrongly with it.
	mutatePlan func(*ir.Policy)
}

// Input is one document to judge and what meshbot knows around it.
type Input struct {
	Doc     *mesh.Document // input = Doc.Value exactly as written
	Context Context
}

// Result is one message of a deny, violation or warn rule.
type Result struct {
	Severity  Severity       // deny (deny and violation rules) or warn
	Package   string         // e.g. "mesh.residency"
	Rule      string         // rule name as written: deny, deny_foo, violation_x, warn_y
	ID        string         // METADATA custom.id, else "<package>/<rule>"
	Title     string         // METADATA title when present
	Message   string         //
	Metadata  map[string]any // extra keys of an object message (besides msg and _loc)
	Related   []string       // METADATA related_resources refs
	Pos       mesh.Pos       // where the finding points in the judged document
	PolicyPos mesh.Pos       // the rule's location in the policy file
}

// Severity is what a rule's family makes of its messages.
type Severity string

// The severities of a Result: conftest's rule families.
const (
	SeverityDeny Severity = "deny" // deny and violation rules: the check fails
	SeverityWarn Severity = "warn" // warn rules: the check passes with a warning
)

// Problem is one compile error of a policy folder.
type Problem struct {
	File    string
	Line    int
	Col     int
	Message string
	Fix     string // how to fix it, when meshbot knows
	Sandbox string // the built-in the sandbox refuses, when that is the problem
}

func (p Problem) String() string {
	s := mesh.Pos{File: p.File, Line: p.Line, Col: p.Col}.String() + ": " + p.Message
	if p.Fix != "" {
		s += "\n  fix: " + p.Fix
	}
	return s
}

// CompileError is a policy folder that does not compile, with every error.
type CompileError struct{ Errors []Problem }

func (e *CompileError) Error() string {
	s := "policy does not compile:"
	for _, p := range e.Errors {
		s += "\n" + p.String()
	}
	return s
}

// Swappable holds the active Set. Replicas load a new policy and swap it in
// whole, so an evaluation never sees half of one policy and half of another;
// a failed Load never reaches Swap, leaving the previous Set active.
type Swappable struct{ p atomic.Pointer[Set] }

// NewSwappable starts with s active.
func NewSwappable(s *Set) *Swappable {
	w := &Swappable{}
	w.p.Store(s)
	return w
}

// Load returns the active Set.
func (w *Swappable) Load() *Set { return w.p.Load() }

// Swap makes s active and returns the previous Set.
func (w *Swappable) Swap(s *Set) *Set { return w.p.Swap(s) }
