package pullcheck

import (
	"context"
	"strings"
	"testing"

	"github.com/meshbot/meshbot/internal/store"
)

// The check records what its head breaks for /mesh approve: nothing for a
// change that touches no data product, the consumers and their findings'
// fingerprints for a breaking one.
func TestRecordsBreaks(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	docs := e.branch("docs", 3, map[string]string{"README.md": "# A new readme\n"})
	if err := e.run(New(e.deps), docs, 1); err != nil {
		t.Fatal(err)
	}
	if b, err := e.store.Breaks(ctx, inst, store.PRKey("acme", "mesh", 3)); err != nil || b.SHA != docs.HeadSHA || len(b.Consumers) != 0 {
		t.Fatalf("breaks of a docs change = %+v, %v; want none at its head", b, err)
	}

	c := e.scenario("breaking-consumer", 4)
	if err := e.run(New(e.deps), c, 1); err != nil {
		t.Fatal(err)
	}
	b, err := e.store.Breaks(ctx, inst, store.PRKey("acme", "mesh", 4))
	if err != nil || b.SHA != c.HeadSHA {
		t.Fatalf("breaks = %+v, %v", b, err)
	}
	var got []string
	for _, bc := range b.Consumers {
		got = append(got, bc.Consumer+" "+bc.Owner+" "+bc.Repo)
		if len(bc.Breaks) == 0 || !strings.HasPrefix(bc.Breaks[0], "compat/field-removed on orders.order-events") {
			t.Errorf("%s breaks %q", bc.Consumer, bc.Breaks)
		}
	}
	if strings.Join(got, "; ") != "customer.customer-360 team-customer-insights acme/mesh; finance.revenue team-finance acme/mesh" {
		t.Fatalf("broken consumers %q", got)
	}

	// Both consumers approve: their findings become notices, but the
	// breaking change inside the major version still fails the check.
	for _, bc := range b.Consumers {
		if err := e.store.Approve(ctx, inst, store.PRKey("acme", "mesh", 4), store.Approval{Consumer: bc.Consumer, By: "someone", SHA: c.HeadSHA, Breaks: bc.Breaks}); err != nil {
			t.Fatal(err)
		}
	}
	c.Delivery, c.Requested = "delivery-approved", true
	if err := e.run(New(e.deps), c, 1); err != nil {
		t.Fatal(err)
	}
	rs := e.runs(c.HeadSHA)
	run := rs[len(rs)-1]
	if run.Conclusion != "failure" || !strings.Contains(run.Summary, "compat/breaking-change-in-major-version") {
		t.Errorf("version discipline waived by approvals: %s %s\n%s", run.Conclusion, run.Title, run.Summary)
	}
	for _, want := range []string{"✅ customer.customer-360: approved by @someone", "✅ finance.revenue: approved by @someone"} {
		if !strings.Contains(run.Summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, run.Summary)
		}
	}
	if strings.Contains(run.Summary, "Consumers that would break") {
		t.Errorf("approved consumers still listed as breaking:\n%s", run.Summary)
	}
}
