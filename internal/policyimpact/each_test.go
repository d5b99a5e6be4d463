package policyimpact

import (
	"context"
	"reflect"
	"testing"

	"github.com/meshbot/meshbot/internal/engine"
	"github.com/meshbot/meshbot/internal/meshgen"
	"github.com/meshbot/meshbot/internal/policyeval"
	"github.com/meshbot/meshbot/internal/store"
)

// separately is the plain way to a preview's reports: engine.Evaluate once
// per policy, nothing shared between them.
func separately(ctx context.Context, req engine.Request, policies []*policyeval.Set) ([]*engine.Report, error) {
	out := make([]*engine.Report, len(policies))
	for i, pol := range policies {
		req.Policy = pol
		rep, err := engine.Evaluate(ctx, req)
		if err != nil {
			return nil, err
		}
		out[i] = rep
	}
	return out, nil
}

// The preview judges both policies in one pass on shared inputs
// (engine.EvaluateEach); on a generated registry of the benchmark's shape,
// with the benchmark's changed policy, its report is the one judging each
// policy on its own gives.
func TestPreviewSharedIsPreviewSeparate(t *testing.T) {
	ctx := context.Background()
	reg := store.NewMemory(store.Options{})
	defer reg.Close()
	putRepos(t, reg, 1, generated(t, meshgen.Options{Products: 400, Fields: 12, Consumers: true, Seed: 7}))
	active, proposed := loadPolicy(t, "bench/active"), loadPolicy(t, "bench/proposed")
	for _, pols := range [][2]*policyeval.Set{{active, proposed}, {proposed, active}} {
		shared, err := previewWith(ctx, reg, 1, pols[0], pols[1], today, quiet(), engine.EvaluateEach)
		if err != nil {
			t.Fatal(err)
		}
		plain, err := previewWith(ctx, reg, 1, pols[0], pols[1], today, quiet(), separately)
		if err != nil {
			t.Fatal(err)
		}
		if plain.Products != 400 || len(plain.Changes) == 0 {
			t.Fatalf("the plain preview judged %d products with %d changes; the test needs changes to compare", plain.Products, len(plain.Changes))
		}
		shared.Elapsed, plain.Elapsed = 0, 0
		if !reflect.DeepEqual(shared, plain) {
			t.Errorf("%s → %s: the shared preview differs from the plain one: %d changes (%d moved) against %d (%d moved)\n%s\n%s",
				pols[0].Version(), pols[1].Version(), len(shared.Changes), shared.FindingsMoved, len(plain.Changes), plain.FindingsMoved, Title(&shared), Title(&plain))
		}
	}
}
