package testutil

import (
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// WatchHeap samples the live heap every millisecond until the benchmark
// ends and returns a function giving the highest value seen (calling it
// stops the sampling). Benchmarks report it as their peak heap.
func WatchHeap(tb testing.TB) func() uint64 {
	var high atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				metrics.Read(s)
				if v := s[0].Value.Uint64(); v > high.Load() {
					high.Store(v)
				}
			}
		}
	})
	stop := sync.OnceFunc(func() { close(done); wg.Wait() })
	tb.Cleanup(stop)
	return func() uint64 { stop(); return high.Load() }
}
