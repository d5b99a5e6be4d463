package policyimpact

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/meshbot/meshbot/internal/meshgen"
	"github.com/meshbot/meshbot/internal/store"
	"github.com/meshbot/meshbot/internal/store/storetest"
	"github.com/meshbot/meshbot/internal/testutil"
)

// BenchmarkPreview10k is the policy repository's impact preview over an
// installation of 10,000 generated products (250 repositories of 40, each
// product a native descriptor with a 20-field DCS contract, consumers
// across repositories) with a changed policy of at least 20 rules: the bundled
// rules plus one, against the bundled rules with one warning tightened to a
// failure, that rule dropped and another added (testdata/bench). Read from
// the stored registry (memory, and Redis when MESHBOT_TEST_REDIS_URL is
// set); no GitHub. Target: under 3 s per op on 2 cores.
//
// Wall time on a shared machine is an upper bound; cpu-ms/op (this
// process's CPU time) and allocations are steadier.
func BenchmarkPreview10k(b *testing.B) {
	files := generated(b, meshgen.Options{Products: 10_000, Fields: 20, Consumers: true, Seed: 1})
	active, proposed := loadPolicy(b, "bench/active"), loadPolicy(b, "bench/proposed")
	// The figure is for a 20-rule policy; the bundled policy has
	// grown past that, which only makes the preview's work larger.
	if active.Rules() < 20 || proposed.Rules() < 20 {
		b.Fatalf("rules: active %d, proposed %d; want at least 20 each", active.Rules(), proposed.Rules())
	}
	run := func(b *testing.B, reg store.Store) {
		putRepos(b, reg, 1, files)
		ctx := context.Background()
		runtime.GC()
		resetPeakRSS()
		peak := testutil.WatchHeap(b)
		b.ReportAllocs()
		b.ResetTimer()
		cpu0 := testutil.CPUTime()
		var rep Report
		for b.Loop() {
			var err error
			if rep, err = preview(ctx, reg, 1, active, proposed, today, quiet()); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		if rep.Products != 10_000 || len(rep.NotPreviewed) > 0 || len(rep.Changes) == 0 {
			b.Fatalf("preview judged %d products, %d not previewed, %d changes", rep.Products, len(rep.NotPreviewed), len(rep.Changes))
		}
		b.ReportMetric(float64((testutil.CPUTime()-cpu0).Milliseconds())/float64(b.N), "cpu-ms/op")
		b.ReportMetric(float64(len(rep.Changes)), "changes")
		b.ReportMetric(float64(proposed.Rules()), "rules")
		b.ReportMetric(float64(rep.StoredBytes), "stored-B")
		b.ReportMetric(float64(rep.StoredBytes)/float64(rep.Products), "stored-B/product")
		b.ReportMetric(float64(peak())/(1<<20), "peak-heap-MiB")
		if rss := peakRSS(); rss > 0 {
			b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MiB")
		}
		b.Logf("%s", Title(&rep))
	}
	b.Run("memory", func(b *testing.B) {
		s := store.NewMemory(store.Options{})
		defer s.Close()
		run(b, s)
	})
	b.Run("redis", func(b *testing.B) {
		url := storetest.URL(b)
		if url == "" {
			b.Skip("skipping: MESHBOT_TEST_REDIS_URL is not set (export MESHBOT_TEST_REDIS_URL=$(scripts/redis-test.sh))")
		}
		run(b, storetest.Open(b, url, store.Options{}))
	})
}

// resetPeakRSS starts the kernel's high-water mark of resident memory
// afresh (Linux), so peakRSS measures the previews and not the setup.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSS is the process's peak resident memory (VmHWM), or 0 off Linux.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}
