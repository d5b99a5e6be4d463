package policyrepo

import (
	"context"
	"io/fs"
	"log/slog"
	"testing"

	"github.com/meshbot/meshbot/internal/policyeval"
	"github.com/meshbot/meshbot/internal/store"
	"github.com/meshbot/meshbot/policy"
)

// BenchmarkFollowerSwitch is what a replica does when told of an
// activation: read the record and the stored bundle (the bundled policy,
// as a policy repository would hold it), decode, compile, prepare and
// swap. Wall-clock figures depend on the machine's load; allocations do
// not.
func BenchmarkFollowerSwitch(b *testing.B) {
	ctx := context.Background()
	bundle := &Bundle{Repo: polRepo, Commit: "c", Files: map[string][]byte{}}
	err := fs.WalkDir(policy.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !bundled(p) {
			return err
		}
		bundle.Files[p], err = fs.ReadFile(policy.FS(), p)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	enc, err := bundle.Encode()
	if err != nil {
		b.Fatal(err)
	}
	st := store.NewMemory(store.Options{})
	defer st.Close()
	set, err := policyeval.Load(ctx, policy.FS(), policyeval.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		a := NewActive(policyeval.NewSwappable(set), st, ActiveOptions{Repo: polRepo, Logger: slog.New(slog.DiscardHandler)})
		bundle.Commit = "c" + string(rune('a'+i%26))
		enc, _ := bundle.Encode()
		if _, err := st.ActivatePolicy(ctx, store.PolicyRecord{Repo: polRepo, Commit: bundle.Commit}, enc); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := a.Sync(ctx); err != nil {
			b.Fatal(err)
		}
		if a.Record().Commit != bundle.Commit {
			b.Fatal("did not switch")
		}
	}
	b.ReportMetric(float64(len(enc)), "stored-B")
}
