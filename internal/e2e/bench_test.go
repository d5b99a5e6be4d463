package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"runtime"
	"runtime/metrics"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/meshbot/meshbot/internal/jobs"
	"github.com/meshbot/meshbot/internal/memfs"
	"github.com/meshbot/meshbot/internal/mesh"
	"github.com/meshbot/meshbot/internal/meshgen"
	"github.com/meshbot/meshbot/internal/pullcheck"
	"github.com/meshbot/meshbot/internal/store"
)

// genFiles is a generated mesh as a snapshot for the fake repository.
func genFiles(opts meshgen.Options) map[string][]byte {
	out := map[string][]byte{}
	for p, f := range meshgen.GenerateFS(opts) {
		out[p] = f.Data
	}
	return out
}

// changedPaths are the files head changes relative to base, sorted.
func changedPaths(base, head map[string][]byte) []string {
	var out []string
	for p, b := range head {
		if old, ok := base[p]; !ok || !bytes.Equal(old, b) {
			out = append(out, p)
		}
	}
	for p := range base {
		if _, ok := head[p]; !ok {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// overlay is base with head's version of paths.
func overlay(base, head map[string][]byte, paths []string) map[string][]byte {
	out := make(map[string][]byte, len(base))
	for p, b := range base {
		out[p] = b
	}
	for _, p := range paths {
		if b, ok := head[p]; ok {
			out[p] = b
		} else {
			delete(out, p)
		}
	}
	return out
}

// registerFiles indexes files as the registry entry of repo, as the index
// job would.
func registerFiles(b *testing.B, st store.Registry, repo string, files map[string][]byte) int {
	b.Helper()
	fsys := meshFS(files)
	m, err := mesh.Load(context.Background(), fsys)
	if err != nil {
		b.Fatal(err)
	}
	for _, p := range m.Products {
		p.Repo = repo
	}
	if err := st.PutRepo(context.Background(), inst, repo, m.Products); err != nil {
		b.Fatal(err)
	}
	return len(m.Products)
}

func meshFS(files map[string][]byte) fs.FS {
	fsys, err := memfs.New(files)
	if err != nil {
		panic(err)
	}
	return fsys
}

func percentile(ds []time.Duration, p float64) float64 {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p)
	return float64(s[i]) / float64(time.Millisecond)
}

// BenchmarkPullRequest20Files measures a signed delivery's way to a
// completed check run for a pull request changing 20 files of a generated
// mesh (descriptors and contracts of about ten products, consumed by
// others), through the intake, the queue, a worker and the fake GitHub.
// Target: p50 under 150 ms.
func BenchmarkPullRequest20Files(b *testing.B) {
	for _, be := range backends(b) {
		b.Run(be.name, func(b *testing.B) {
			w := newWorld(b, be.open(b))
			gen := meshgen.Options{Products: 150, Fields: 8, Consumers: true, Seed: 1}
			base := genFiles(gen)
			gen.Change = true
			full := genFiles(gen)
			paths := changedPaths(base, full)
			if len(paths) < 20 {
				b.Fatalf("the generated head changes %d files, want at least 20", len(paths))
			}
			paths = paths[:20]
			main := w.repo.Commit("main", base)
			w.main = main
			head := w.repo.Commit("pr", overlay(base, full, paths))
			w.repo.OpenPullRequest(1, "main", "pr")
			registerFiles(b, w.st, repoFull, base)
			// The pool reports each finished check; waiting on that rather
			// than polling the fake keeps the observer out of the timing.
			finished := make(chan error, 1)
			opts := poolOpts()
			opts.Observe = func(kind string, _ time.Duration, err error) {
				if kind == jobs.KindPullCheck.Name() {
					finished <- err
				}
			}
			w.startPool(w.handlers(nil), opts)

			// One delivery first: token exchange and caches are not what a
			// steady App pays per pull request.
			lat := make([]time.Duration, 0, b.N)
			deliverOne := func() time.Duration {
				t0 := time.Now()
				w.mustDeliver("pull_request", w.nextID(), w.pullRequest("synchronize", 1, head, "pr"))
				select {
				case err := <-finished:
					if err != nil {
						b.Fatal(err)
					}
				case <-time.After(30 * time.Second):
					b.Fatal("no check finished within 30s")
				}
				return time.Since(t0)
			}
			deliverOne()
			b.ResetTimer()
			for range b.N {
				lat = append(lat, deliverOne())
			}
			b.StopTimer()
			rs := w.runsAt(head)
			if last := rs[len(rs)-1]; last.Status != "completed" || last.Conclusion != "failure" {
				b.Fatalf("last check run %s %s: the generated breaking changes were not seen", last.Status, last.Conclusion)
			}
			b.ReportMetric(percentile(lat, 0.5), "p50-ms")
			b.ReportMetric(percentile(lat, 0.9), "p90-ms")
		})
	}
}

// BenchmarkRegistry10k holds a registry of 10,000 generated products (in
// 100 repositories of 100) in the memory store, reports the heap it takes,
// and times one pull-request check whose changed product is consumed
// through that registry (the handler alone: fetches from the fake GitHub,
// load, policy, compatibility, impact over 10,000 products, check run).
func BenchmarkRegistry10k(b *testing.B) {
	const products, perRepo = 10000, 100
	gen := meshgen.Options{Products: products, Fields: 8, Consumers: true, Seed: 3}
	base := genFiles(gen)
	gen.Change = true
	full := genFiles(gen)

	st := store.NewMemory(storeOpts)
	b.Cleanup(func() { st.Close() })
	heap0 := heapBytes()
	// The generated mesh is cut into repositories by product folder, so
	// that consumers live in other repositories than their producers.
	repos := map[string]map[string][]byte{}
	for p, data := range base {
		r := fmt.Sprintf("acme/repo-%03d", folderIndex(p)%(products/perRepo))
		if repos[r] == nil {
			repos[r] = map[string][]byte{}
		}
		repos[r][p] = data
	}
	n := 0
	for r, files := range repos {
		n += registerFiles(b, st, r, files)
	}
	heap1 := heapBytes()
	if n != products {
		b.Fatalf("registered %d products, want %d", n, products)
	}

	// The pull request: one changed product's files, in a repository the
	// fake serves (the registry's copy of that repository stays as indexed).
	w := newWorld(b, st)
	paths := changedPaths(base, full)
	first := paths[0]
	var one []string
	for _, p := range paths {
		if folderIndex(p) == folderIndex(first) {
			one = append(one, p)
		}
	}
	repo := fmt.Sprintf("acme/repo-%03d", folderIndex(first)%(products/perRepo))
	fr := w.fake.AddRepo(inst, repo, "main")
	main := fr.Commit("main", repos[repo])
	head := fr.Commit("pr", overlay(repos[repo], full, one))
	fr.OpenPullRequest(1, "main", "pr")
	h := pullcheck.New(w.deps)
	check := func(i int) {
		c := jobs.PullCheck{Delivery: fmt.Sprintf("bench-%d", i), Installation: inst, Owner: "acme", Repo: repo[len("acme/"):], PR: 1, HeadSHA: head, BaseSHA: main}
		if err := h(context.Background(), c, jobs.Meta{ID: c.Delivery, Attempt: 1}); err != nil {
			b.Fatal(err)
		}
	}
	check(-1)
	b.ResetTimer()
	for i := range b.N {
		check(i)
	}
	b.StopTimer()
	runs := w.fake.CheckRuns(repo)
	last := runs[len(runs)-1]
	b.ReportMetric(float64(heap1-heap0)/(1<<20), "registry-heap-MB")
	b.ReportMetric(float64(heapBytes())/(1<<20), "heap-MB")
	b.Logf("changed %v; last check run: %s — %s", one, last.Conclusion, last.Title)
}

// heapBytes is the live heap after a collection.
func heapBytes() uint64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func dirOf(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[:i]
		}
	}
	return "."
}

// folderIndex numbers a generated product by the digits in its folder.
func folderIndex(p string) int {
	n := 0
	for _, c := range dirOf(p) {
		if c >= '0' && c <= '9' {
			n = n*10 + int(c-'0')
		}
	}
	return n
}
