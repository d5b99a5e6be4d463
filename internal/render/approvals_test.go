package render

import (
	"strings"
	"testing"

	"github.com/meshbot/meshbot/internal/engine"
)

func TestCheckRunShowsApprovals(t *testing.T) {
	r := &engine.Report{Checked: engine.Counts{Changed: 1},
		Breaks: []engine.Break{{Consumer: "finance.revenue", Owner: "team-finance"}, {Consumer: "customer.c360", Owner: "team-customer"}},
		Approvals: []engine.ApprovalStatus{
			{Approval: engine.Approval{Consumer: "finance.revenue", By: "alice", SHA: "abc1234ffff"}, Valid: true},
			{Approval: engine.Approval{Consumer: "customer.c360", By: "carol", SHA: "0011223344"}, Dropped: "the change breaks customer.c360 differently now: new x"},
		}}
	r.Finish()
	s := CheckRun(r).Summary
	for _, want := range []string{
		"- ✅ finance.revenue: approved by @alice at abc1234\n",
		"- ⛔ customer.c360: approved by @carol at 0011223 — dropped: the change breaks customer.c360 differently now: new x",
		"Waiting for: customer.c360 (team-customer).",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "/mesh") {
			t.Errorf("a summary line reads as a command: %q", line)
		}
	}
	r.Approvals[1].Valid, r.Approvals[1].Dropped = true, ""
	if s := CheckRun(r).Summary; strings.Contains(s, "Waiting for") {
		t.Errorf("every consumer approved, still waiting:\n%s", s)
	}
}
