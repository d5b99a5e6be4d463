package backstage

import (
	"context"
	"io"
	"net/http"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshbot/meshbot/internal/store"
	"github.com/meshbot/meshbot/internal/testutil"
)

// peakHeap samples the live heap while a benchmark runs, to report the
// peak above what was live before it (the products themselves).
type peakHeap struct {
	base, peak atomic.Uint64
	stop       chan struct{}
	done       chan struct{}
}

func heapObjects() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func startPeakHeap() *peakHeap {
	runtime.GC()
	p := &peakHeap{stop: make(chan struct{}), done: make(chan struct{})}
	p.base.Store(heapObjects())
	go func() {
		defer close(p.done)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			if h := heapObjects(); h > p.peak.Load() {
				p.peak.Store(h)
			}
			select {
			case <-p.stop:
				return
			case <-t.C:
			}
		}
	}()
	return p
}

func (p *peakHeap) report(b *testing.B) {
	close(p.stop)
	<-p.done
	peak := p.peak.Load()
	if peak < p.base.Load() {
		peak = p.base.Load()
	}
	b.ReportMetric(float64(peak-p.base.Load())/(1<<20), "peak-heap-MB")
}

// BenchmarkWrite10k: building and serialising the entities of a
// 10,000-product registry (32,505 entities), as the endpoint does on a
// cache miss (gzip) and for a client without gzip (plain).
func BenchmarkWrite10k(b *testing.B) {
	ps := generatedProducts(b)
	for _, gz := range []bool{true, false} {
		name := "plain"
		if gz {
			name = "gzip"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			var n int64
			peak := startPeakHeap()
			start := testutil.CPUTime()
			for b.Loop() {
				cw := &countingWriter{w: io.Discard}
				if _, err := Write(context.Background(), cw, ps, WriteOptions{Gzip: gz}); err != nil {
					b.Fatal(err)
				}
				n = cw.n
			}
			b.ReportMetric(float64(testutil.CPUTime()-start)/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(n)/(1<<20), "body-MB")
			peak.report(b)
		})
	}
}

// discard is a ResponseWriter that keeps nothing, so the benchmark measures
// the handler rather than a recorder's buffer.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// BenchmarkHandler10k: the endpoint on a 10,000-product registry: a
// revalidation (If-None-Match, 304), a cached body (gzip, and plain for a
// client without gzip), and a miss (the registry moved: build, cache,
// answer), and pages of 1,000 entities cut from the cached body (the first,
// and the last, which inflates from the chunk before it).
func BenchmarkHandler10k(b *testing.B) {
	ps := generatedProducts(b)
	st := store.NewMemory(store.Options{})
	defer st.Close()
	ctx := context.Background()
	if err := st.PutRepo(ctx, instAcme, repoAcme, ps); err != nil {
		b.Fatal(err)
	}
	h := router(st, HandlerOptions{Token: token})
	request := func(query string, headers map[string]string) *http.Request {
		r, _ := http.NewRequest(http.MethodGet, Path+query, nil)
		r.Header.Set("Authorization", "Bearer "+token)
		for k, v := range headers {
			r.Header.Set(k, v)
		}
		return r
	}
	first := do(b, h, req{auth: "Bearer " + token, headers: map[string]string{"Accept-Encoding": "gzip"}})
	etag := first.Header().Get("ETag")
	page := decode(b, do(b, h, req{auth: "Bearer " + token, query: "?limit=1000"}))
	last := "?limit=1000&cursor=" + encodeCursor(page.Snapshot, page.Total-1000)
	gzipped := map[string]string{"Accept-Encoding": "gzip"}
	cases := []struct {
		name    string
		query   string
		headers map[string]string
		bump    bool
	}{
		{"if-none-match", "", map[string]string{"Accept-Encoding": "gzip", "If-None-Match": etag}, false},
		{"cached-gzip", "", gzipped, false},
		{"cached-plain", "", nil, false},
		{"page-first-gzip", "?limit=1000", gzipped, false},
		{"page-last-gzip", last, gzipped, false},
		{"page-last-plain", last, nil, false},
		{"miss-gzip", "", gzipped, true},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if tc.bump {
					// An empty repository moves the version without
					// changing the products.
					b.StopTimer()
					if err := st.PutRepo(ctx, instAcme, "acme/empty", nil); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
				w := &discard{h: http.Header{}}
				h.ServeHTTP(w, request(tc.query, tc.headers))
			}
		})
	}
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}
