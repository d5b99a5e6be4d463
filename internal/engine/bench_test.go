package engine

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/meshbot/meshbot/internal/gitsnap"
	"github.com/meshbot/meshbot/internal/mesh"
	"github.com/meshbot/meshbot/internal/meshgen"
	"github.com/meshbot/meshbot/internal/policyeval"
	"github.com/meshbot/meshbot/internal/testutil"
	"github.com/meshbot/meshbot/policy"
)

// BenchmarkCheck1000 is the whole of `meshbot check --base` on a generated
// mesh of 1,000 products, each with a 30-field contract and a changed head:
// load both checkouts, compare, compute impact, evaluate the bundled policy
// on every changed document. Target: under 1 s per op on 2 cores.
func BenchmarkCheck1000(b *testing.B) {
	dir := b.TempDir()
	base, head := filepath.Join(dir, "base"), filepath.Join(dir, "head")
	opts := meshgen.Options{Products: 1000, Fields: 30, Consumers: true, Seed: 1}
	if err := meshgen.Generate(base, opts); err != nil {
		b.Fatal(err)
	}
	opts.Change = true
	if err := meshgen.Generate(head, opts); err != nil {
		b.Fatal(err)
	}
	benchCheck(b, func(ctx context.Context) (*mesh.Mesh, *mesh.Mesh, error) {
		return mesh.LoadPair(ctx, os.DirFS(head), os.DirFS(base))
	})
}

// BenchmarkCheck1000GitBase is BenchmarkCheck1000 as `meshbot check --base
// main` runs it in a repository: the base is a git revision, listed with
// its blob ids, and only the blobs that differ from the work tree are read.
func BenchmarkCheck1000GitBase(b *testing.B) {
	if _, err := exec.LookPath("git"); err != nil {
		b.Skip("git not installed")
	}
	dir := b.TempDir()
	repo, head := filepath.Join(dir, "repo"), filepath.Join(dir, "head")
	opts := meshgen.Options{Products: 1000, Fields: 30, Consumers: true, Seed: 1}
	if err := meshgen.Generate(repo, opts); err != nil {
		b.Fatal(err)
	}
	git := func(args ...string) { testutil.Git(b, repo, args...) }
	git("init", "-q", "-b", "main")
	git("add", "-A")
	git("commit", "-qm", "base")
	opts.Change = true
	if err := meshgen.Generate(head, opts); err != nil {
		b.Fatal(err)
	}
	entries, err := os.ReadDir(repo)
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != ".git" {
			if err := os.RemoveAll(filepath.Join(repo, e.Name())); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := os.CopyFS(repo, os.DirFS(head)); err != nil {
		b.Fatal(err)
	}
	benchCheck(b, func(ctx context.Context) (*mesh.Mesh, *mesh.Mesh, error) {
		base, err := gitsnap.Open(ctx, repo, "main")
		if err != nil {
			return nil, nil, err
		}
		defer base.Close()
		return mesh.LoadPairSources(ctx, mesh.FS(os.DirFS(repo)), base)
	})
}

// benchCheck times load, the two checkouts as each benchmark reads them,
// followed by evaluating the bundled policy on the change, and reports the
// findings and the peak heap.
func benchCheck(b *testing.B, load func(context.Context) (head, base *mesh.Mesh, err error)) {
	ctx := context.Background()
	pol, err := policyeval.Load(ctx, policy.FS(), policyeval.Options{})
	if err != nil {
		b.Fatal(err)
	}
	peak := testutil.WatchHeap(b)
	b.ReportAllocs()
	b.ResetTimer()
	var findings int
	for b.Loop() {
		hm, bm, err := load(ctx)
		if err != nil {
			b.Fatal(err)
		}
		rep, err := Evaluate(ctx, Request{Head: hm, Base: bm, Policy: pol, Today: time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)})
		if err != nil {
			b.Fatal(err)
		}
		findings = len(rep.Findings)
	}
	b.StopTimer()
	b.ReportMetric(float64(findings), "findings")
	b.ReportMetric(float64(peak())/(1<<20), "peak-heap-MiB")
}
