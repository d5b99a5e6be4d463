package store

import "testing"

func openMemory(t *testing.T, opts Options) Store {
	s := NewMemory(opts)
	t.Cleanup(func() { s.Close() })
	return s
}

func TestMemory(t *testing.T) {
	t.Parallel()
	runStoreSuite(t, openMemory)
}

// TestMemoryDeleteInstallationForgetsApprovals: the memory store keeps
// approvals without expiry, so an uninstalled installation's approvals and
// breaks go with its registry (Redis lets them expire with their TTL);
// another installation's stay.
func TestMemoryDeleteInstallationForgetsApprovals(t *testing.T) {
	s := openMemory(t, Options{})
	ctx := ctxT(t)
	const pr = "acme/orders#17"
	for _, inst := range []int64{7, 70} {
		if err := s.SetBreaks(ctx, inst, pr, Breaks{SHA: "abc", Consumers: []BrokenConsumer{{Consumer: "finance.revenue"}}}); err != nil {
			t.Fatal(err)
		}
		if err := s.Approve(ctx, inst, pr, Approval{Consumer: "finance.revenue", By: "fiona", SHA: "abc"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteInstallation(ctx, 7); err != nil {
		t.Fatal(err)
	}
	if b, _ := s.Breaks(ctx, 7, pr); b.SHA != "" {
		t.Errorf("breaks of a deleted installation: %+v", b)
	}
	if as, _ := s.ApprovalsOf(ctx, 7, pr); len(as) != 0 {
		t.Errorf("approvals of a deleted installation: %+v", as)
	}
	if b, _ := s.Breaks(ctx, 70, pr); b.SHA != "abc" {
		t.Errorf("installation 70 lost its breaks: %+v", b)
	}
	if as, _ := s.ApprovalsOf(ctx, 70, pr); len(as) != 1 {
		t.Errorf("installation 70 lost its approvals: %+v", as)
	}
}
