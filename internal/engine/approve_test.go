package engine

import (
	"strings"
	"testing"

	"github.com/meshbot/meshbot/internal/mesh"
)

// TestApprovals: a consumer-impact failure becomes a notice once every
// consumer it breaks approved exactly what breaks it; other failures stay.
func TestApprovals(t *testing.T) {
	fin := Consumer{Product: "finance.revenue", Owner: "team-finance"}
	cust := Consumer{Product: "customer.c360", Owner: "team-customer"}
	moved := Finding{Rule: "compat/output-port-location-changed", Source: SourceCompat, Level: LevelError, Product: "orders.events", Port: "curated",
		Message: "moved.", Help: "keep it", Consumers: []Consumer{fin, cust}, Pos: mesh.Pos{File: "o.yaml", Line: 3}}
	retyped := Finding{Rule: "compat/output-port-type-changed", Source: SourceCompat, Level: LevelError, Product: "orders.events", Port: "curated",
		Message: "retyped.", Consumers: []Consumer{fin}, Pos: mesh.Pos{File: "o.yaml", Line: 4}}
	early := Finding{Rule: "deprecation/removed-before-sunset", Source: SourceDeprecation, Level: LevelError, Product: "orders.events", Port: "v1",
		Message: "early.", Consumers: []Consumer{fin}, Pos: mesh.Pos{File: "o.yaml", Line: 5}}
	policy := Finding{Rule: "policy/residency", Source: SourcePolicy, Level: LevelError, Message: "us bucket.", Pos: mesh.Pos{File: "o.yaml", Line: 6}}
	fpMoved, fpRetyped := Fingerprint(moved), Fingerprint(retyped)
	approve := func(consumer, by string, fps ...string) Approval {
		return Approval{Consumer: consumer, By: by, SHA: "abc1234def", Breaks: fps}
	}
	for _, tc := range []struct {
		name      string
		findings  []Finding
		approvals []Approval
		fails     bool
		valid     []string // consumers whose approval holds
		dropped   []string // consumers whose approval was dropped, with a word of why
		mentions  []string // in some finding's message
	}{
		{"no approval fails", []Finding{moved}, nil, true, nil, nil, nil},
		{"both consumers approve", []Finding{moved},
			[]Approval{approve("finance.revenue", "alice", fpMoved), approve("customer.c360", "carol", fpMoved)},
			false, []string{"customer.c360", "finance.revenue"}, nil,
			[]string{"finance.revenue: approved by @alice at abc1234", "customer.c360: approved by @carol at abc1234"}},
		{"one of two approves", []Finding{moved},
			[]Approval{approve("finance.revenue", "alice", fpMoved)},
			true, []string{"finance.revenue"}, nil,
			[]string{"still waiting for customer.c360 (owner team-customer)"}},
		{"approval of another break is dropped", []Finding{moved, retyped},
			[]Approval{approve("finance.revenue", "alice", fpMoved), approve("customer.c360", "carol", fpMoved)},
			true, []string{"customer.c360"}, []string{"finance.revenue differently now: new " + fpRetyped}, nil},
		{"approval of a break that went away is dropped", []Finding{retyped},
			[]Approval{approve("customer.c360", "carol", fpMoved), approve("finance.revenue", "alice", fpRetyped)},
			false, []string{"finance.revenue"}, []string{"no longer breaks customer.c360"}, nil},
		{"a sunset window and policy are not the consumers' to waive", []Finding{early, policy},
			[]Approval{approve("finance.revenue", "alice")},
			true, nil, []string{"no longer breaks finance.revenue"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := &Report{Findings: append([]Finding(nil), tc.findings...)}
			rep.Breaks = breaks(rep.Findings, func(string) string { return "" })
			applyApprovals(rep, tc.approvals)
			rep.Finish()
			if rep.Failed() != tc.fails {
				t.Errorf("failed = %v, want %v (%s)", rep.Failed(), tc.fails, rep.Summary)
			}
			if want := "breaking changes accepted by"; !tc.fails && len(tc.valid) > 0 && !strings.Contains(rep.Summary, want) {
				t.Errorf("summary %q lacks %q", rep.Summary, want)
			}
			var valid, dropped []string
			for _, a := range rep.Approvals {
				if a.Valid {
					valid = append(valid, a.Consumer)
				} else {
					dropped = append(dropped, a.Dropped)
				}
			}
			if strings.Join(valid, ",") != strings.Join(tc.valid, ",") {
				t.Errorf("valid %v, want %v", valid, tc.valid)
			}
			if len(dropped) != len(tc.dropped) {
				t.Fatalf("dropped %q, want %q", dropped, tc.dropped)
			}
			for i, d := range tc.dropped {
				if !strings.Contains(dropped[i], d) {
					t.Errorf("dropped %q lacks %q", dropped[i], d)
				}
			}
			var all strings.Builder
			for _, f := range rep.Findings {
				all.WriteString(f.Message + "\n")
				if (f.Rule == early.Rule || f.Rule == policy.Rule) && f.Level != LevelError {
					t.Errorf("%s became %s", f.Rule, f.Level)
				}
			}
			for _, m := range tc.mentions {
				if !strings.Contains(all.String(), m) {
					t.Errorf("findings lack %q:\n%s", m, all.String())
				}
			}
		})
	}
}

// A fingerprint is the rule and the target, not the line: a push that moves
// the finding keeps it, one that touches other fields does not.
func TestFingerprint(t *testing.T) {
	a := Finding{Rule: "compat/field-removed", Product: "o.e", Port: "p", Fields: []string{"m.b", "m.a"}, Pos: mesh.Pos{File: "x", Line: 3}}
	b := a
	b.Pos.Line, b.Fields, b.Message = 30, []string{"m.a", "m.b"}, "other words"
	if Fingerprint(a) != Fingerprint(b) {
		t.Errorf("%q != %q", Fingerprint(a), Fingerprint(b))
	}
	c := a
	c.Fields = []string{"m.a"}
	if Fingerprint(a) == Fingerprint(c) {
		t.Errorf("fields ignored: %q", Fingerprint(a))
	}
	if got := Fingerprint(a); got != "compat/field-removed on o.e/p (m.a, m.b)" {
		t.Errorf("fingerprint %q", got)
	}
}
