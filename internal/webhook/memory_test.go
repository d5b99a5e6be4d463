package webhook

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	meshmetrics "github.com/meshbot/meshbot/internal/metrics"
	"github.com/meshbot/meshbot/internal/store"
)

// The flood: 40 clients each POST a 24 MB body at once to the real handler
// behind a loopback listener, without a valid signature, while the heap is
// sampled. Before the intake bounded unauthenticated bodies it read every one
// whole before checking the signature: 40 × 24 MB (and the garbage of
// growing each buffer) in flight at once.
const (
	floodClients = 40
	floodBody    = 24 << 20
)

// zeros is an endless body that costs the client no memory.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// memPeak is the growth over a baseline of two of the runtime's memory
// classes, sampled while a flood ran.
type memPeak struct {
	heap   uint64 // /memory/classes/heap/objects:bytes: live and not yet swept objects
	mapped uint64 // /memory/classes/total minus heap/released: what the runtime holds from the OS
}

// sampler reads the runtime's memory classes every millisecond until stopped
// and keeps the highest values.
type sampler struct {
	stop     chan struct{}
	done     chan struct{}
	base     memPeak
	peak     memPeak
	interval time.Duration
}

func readMem() memPeak {
	s := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
	}
	metrics.Read(s)
	return memPeak{heap: s[0].Value.Uint64(), mapped: s[1].Value.Uint64() - s[2].Value.Uint64()}
}

func startSampler() *sampler {
	runtime.GC()
	s := &sampler{stop: make(chan struct{}), done: make(chan struct{}), base: readMem(), interval: time.Millisecond}
	s.peak = s.base
	go func() {
		defer close(s.done)
		t := time.NewTicker(s.interval)
		defer t.Stop()
		for {
			m := readMem()
			s.peak.heap = max(s.peak.heap, m.heap)
			s.peak.mapped = max(s.peak.mapped, m.mapped)
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// growth stops the sampler and returns the peak growth over the baseline.
func (s *sampler) growth() memPeak {
	close(s.stop)
	<-s.done
	sub := func(a, b uint64) uint64 {
		if a < b {
			return 0
		}
		return a - b
	}
	return memPeak{heap: sub(s.peak.heap, s.base.heap), mapped: sub(s.peak.mapped, s.base.mapped)}
}

// floodResult counts the answers of a flood; errors are requests that got no
// answer (the server may close a connection it refused before the client
// finished sending).
type floodResult struct {
	codes  map[int]int
	errors int
	grew   memPeak
}

// loopbackIntake serves the intake's router on a loopback listener, with no
// server-wide timeouts so that only the handler's own bounds are exercised.
func loopbackIntake(t testing.TB, opts Options) (url string, in *Intake) {
	t.Helper()
	s := store.NewMemory(store.Options{})
	t.Cleanup(func() { s.Close() })
	opts.Secret, opts.Sink = testSecret, s
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Metrics == nil {
		opts.Metrics = meshmetrics.New(s, nil)
	}
	in, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: in.Router()}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String() + "/webhook", in
}

// flood sends clients concurrent POSTs of size bytes with the signature
// header sig ("" for none) and samples memory until every one is answered.
func flood(t testing.TB, url string, clients int, size int64, sig string) floodResult {
	t.Helper()
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxConnsPerHost: clients, DisableKeepAlives: true}}
	defer client.CloseIdleConnections()
	var (
		mu     sync.Mutex
		res    = floodResult{codes: map[int]int{}}
		wg     sync.WaitGroup
		ready  sync.WaitGroup
		start  = make(chan struct{})
		sent   atomic.Int64
		sample = startSampler()
	)
	for i := range clients {
		ready.Add(1)
		wg.Go(func() {
			req, err := http.NewRequest(http.MethodPost, url, io.LimitReader(zeros{}, size))
			if err != nil {
				panic(err)
			}
			req.ContentLength = size
			req.Header.Set("X-GitHub-Event", "push")
			req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("flood-%d", i))
			if sig != "" {
				req.Header.Set("X-Hub-Signature-256", sig)
			}
			ready.Done()
			<-start
			sent.Add(1)
			resp, err := client.Do(req)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				res.errors++
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			res.codes[resp.StatusCode]++
		})
	}
	ready.Wait()
	close(start)
	wg.Wait()
	res.grew = sample.growth()
	return res
}

// badSignature is well formed (so it cannot be refused by its shape) but
// signs nothing: checking it means reading the body.
var badSignature = "sha256=" + fmt.Sprintf("%064x", 0)

const mib = 1 << 20

// TestFloodOfUnauthenticatedBodies is the reproduction of issue 11 item 3:
// the heap must not grow with the number of unauthenticated bodies in
// flight. Without a signature header a body is refused unread; with a
// well-formed wrong one it is read only within the in-flight budget. The
// bound allows for the budget, the garbage collector's pacing (the heap may
// reach twice what is live before a collection) and the server's own
// buffers, and stays far below the 40 × 24 MB the old intake held.
func TestFloodOfUnauthenticatedBodies(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 2 × 40 × 24 MB over loopback")
	}
	url, _ := loopbackIntake(t, Options{})
	for _, tc := range []struct {
		name string
		sig  string
	}{
		{"unsigned", ""},
		{"wrong signature", badSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := flood(t, url, floodClients, floodBody, tc.sig)
			t.Logf("%d × %d MiB: answers %v, no answer %d; peak growth: heap %d MiB, mapped %d MiB",
				floodClients, floodBody/mib, r.codes, r.errors, r.grew.heap/mib, r.grew.mapped/mib)
			for code, n := range r.codes {
				if code < 400 {
					t.Errorf("%d deliveries answered %d", n, code)
				}
			}
			if limit := uint64(3*DefaultBodyBudget + 64*mib); r.grew.heap > limit {
				t.Errorf("heap grew by %d MiB under the flood, want at most %d MiB", r.grew.heap/mib, limit/mib)
			}
		})
	}
}

// BenchmarkFlood reports the peak memory growth of one flood of 40
// concurrent 24 MB bodies, unsigned and wrongly signed:
//
//	go test -run '^$' -bench BenchmarkFlood -benchtime 1x ./internal/webhook/
func BenchmarkFlood(b *testing.B) {
	for _, tc := range []struct {
		name string
		sig  string
	}{
		{"unsigned", ""},
		{"wrong-signature", badSignature},
	} {
		b.Run(tc.name, func(b *testing.B) {
			url, _ := loopbackIntake(b, Options{})
			var r floodResult
			for b.Loop() {
				r = flood(b, url, floodClients, floodBody, tc.sig)
			}
			b.ReportMetric(float64(r.grew.heap)/mib, "peak-heap-MiB")
			b.ReportMetric(float64(r.grew.mapped)/mib, "peak-mapped-MiB")
			b.ReportMetric(float64(r.errors), "unanswered")
		})
	}
}
