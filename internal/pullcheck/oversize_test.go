package pullcheck

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meshbot/meshbot/internal/ghfake"
	"github.com/meshbot/meshbot/internal/jobs"
	"github.com/meshbot/meshbot/internal/testutil"
)

// meshFiles is testdata/mesh as a snapshot, path -> bytes.
func meshFiles(t testing.TB) map[string][]byte {
	t.Helper()
	return testutil.ReadTree(t, filepath.Join(testutil.RepoRoot(t), "testdata", "mesh"))
}

// generatedBranch commits the example mesh with gen over it on a new
// branch and opens pull request n.
func (e *env) generatedBranch(name string, n int, gen map[string]ghfake.Generated) jobs.PullCheck {
	e.t.Helper()
	files := meshFiles(e.t)
	for p := range gen {
		delete(files, p)
	}
	sha := e.repo.CommitGenerated(name, files, gen)
	e.repo.OpenPullRequest(n, "main", name)
	return jobs.PullCheck{Delivery: "delivery-" + name, Installation: inst, Owner: "acme", Repo: "mesh", PR: n, HeadSHA: sha}
}

// peakHeap samples the heap while fn runs and returns the highest
// HeapAlloc above the heap at the start. Sampling misses short peaks, so
// the figure is a lower bound; it is reported, not asserted.
func peakHeap(fn func()) (uint64, time.Duration) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	start := ms.HeapAlloc
	var peak uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	})
	t0 := time.Now()
	fn()
	took := time.Since(t0)
	close(stop)
	wg.Wait()
	if peak < start {
		return 0, took
	}
	return peak - start, took
}

const yamlLine = "# padding line of a contract grown far too large for meshbot to read\n"

// TestOversizedFilesAreNotDownloaded: contracts over mesh.MaxFileBytes are
// refused from the sizes GitHub reports, without their bytes, and the
// finding gives their real size.
func TestOversizedFilesAreNotDownloaded(t *testing.T) {
	const contract = "orders/data-products/order-events/contracts/order-events.v2.yaml"
	for i, tc := range []struct {
		name string
		gen  map[string]ghfake.Generated
	}{
		{"one-100MB", map[string]ghfake.Generated{contract: {Size: 100 << 20, Line: yamlLine}}},
		{"eight-30MB", func() map[string]ghfake.Generated {
			g := map[string]ghfake.Generated{}
			for k := range 8 {
				g[fmt.Sprintf("orders/data-products/order-events/contracts/big-%d.datacontract.yaml", k)] = ghfake.Generated{Size: 30 << 20, Line: yamlLine}
			}
			return g
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, true)
			c := e.generatedBranch(tc.name, 300+i, tc.gen)
			before := len(e.repoCalls())
			var err error
			peak, took := peakHeap(func() { err = e.run(New(e.deps), c, 1) })
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: peak heap %.1f MB above the start (took %s)", tc.name, float64(peak)/(1<<20), took)
			for _, call := range e.repoCalls()[before:] {
				if strings.Contains(call, "/git/blobs/") {
					t.Errorf("downloaded a blob: %s", call)
				}
			}
			run := e.only(c.HeadSHA)
			for p, g := range tc.gen {
				want := fmt.Sprintf("file is %d bytes", g.Size)
				found := false
				for _, a := range run.Annotations {
					if a.Path == p && strings.Contains(a.Message, want) {
						found = true
					}
				}
				if !found {
					t.Errorf("no annotation on %s saying %q; annotations: %+v", p, want, run.Annotations)
				}
			}
		})
	}
}
