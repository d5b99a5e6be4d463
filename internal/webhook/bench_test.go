package webhook

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/meshbot/meshbot/internal/metrics"
	"github.com/meshbot/meshbot/internal/store"
	"github.com/meshbot/meshbot/internal/store/storetest"
)

// The acknowledgement benchmarks need a real Redis (MESHBOT_TEST_REDIS_URL,
// which `make bench` sets) and run only under -bench:
//
//	go test -run '^$' -bench BenchmarkAck -benchtime 1x ./internal/webhook/
//
// A real gin server on a loopback listener receives signed pull_request
// deliveries (GitHub's 28 KB example, each with its own delivery id) from an
// open-loop load generator: requests leave on a fixed schedule whether or
// not earlier ones were answered, and latency counts from the scheduled
// moment, so a stall shows up in the percentiles instead of slowing the
// generator down (coordinated omission). The generator shares the machine
// with the server and Redis.

type loadResult struct {
	sent, errors        int
	p50, p90, p99, pmax time.Duration
	// server: the same percentiles of the time the handler took, as the
	// server saw it (no client, scheduling or connection time).
	server [4]time.Duration
}

// timings records the server-side duration of every request.
type timings struct {
	mu sync.Mutex
	d  []time.Duration
}

func (t *timings) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		h.ServeHTTP(w, r)
		d := time.Since(start)
		t.mu.Lock()
		t.d = append(t.d, d)
		t.mu.Unlock()
	})
}

func (t *timings) take() []time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	d := t.d
	t.d = nil
	return d
}

func percentiles(lat []time.Duration) [4]time.Duration {
	if len(lat) == 0 {
		return [4]time.Duration{}
	}
	slices.Sort(lat)
	n := len(lat)
	pct := func(p float64) time.Duration { return lat[min(n-1, int(p*float64(n)))] }
	return [4]time.Duration{pct(.50), pct(.90), pct(.99), lat[n-1]}
}

// benchServer starts the intake on a Redis store behind a real listener
// and returns its URL.
func benchServer(b *testing.B) (string, *timings) {
	b.Helper()
	s := storetest.Open(b, storetest.Required(b), store.Options{})
	in, err := New(Options{Secret: testSecret, Sink: s, Metrics: metrics.New(s, nil), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	tm := &timings{}
	srv := &http.Server{Handler: tm.wrap(in.Router()), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String() + "/webhook", tm
}

// load sends rate deliveries per second for d and measures each answer.
func load(b *testing.B, url string, tm *timings, body []byte, sig string, rate int, d time.Duration, run string) loadResult {
	b.Helper()
	tm.take()
	client := &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: time.Minute},
	}
	defer client.CloseIdleConnections()
	n := int(float64(rate) * d.Seconds())
	lat := make([]time.Duration, n)
	failed := make([]bool, n)
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range n {
		at := start.Add(time.Duration(i) * interval)
		time.Sleep(time.Until(at))
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-GitHub-Event", "pull_request")
			req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("%s-%d", run, i))
			req.Header.Set("X-Hub-Signature-256", sig)
			resp, err := client.Do(req)
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			lat[i] = time.Since(at)
			failed[i] = err != nil || resp.StatusCode != http.StatusAccepted
		})
	}
	wg.Wait()
	r := loadResult{sent: n}
	for _, f := range failed {
		if f {
			r.errors++
		}
	}
	p := percentiles(lat)
	r.p50, r.p90, r.p99, r.pmax = p[0], p[1], p[2], p[3]
	r.server = percentiles(tm.take())
	return r
}

func report(b *testing.B, r loadResult) {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(r.p50), "p50-ms")
	b.ReportMetric(ms(r.p90), "p90-ms")
	b.ReportMetric(ms(r.p99), "p99-ms")
	b.ReportMetric(ms(r.pmax), "max-ms")
	b.ReportMetric(float64(r.errors), "errors")
	b.ReportMetric(ms(r.server[0]), "server-p50-ms")
	b.ReportMetric(ms(r.server[2]), "server-p99-ms")
}

// BenchmarkAck200 is the acknowledgement latency at a fixed 200 deliveries/s
// for 10 s (issue target: p99 under 10 ms).
func BenchmarkAck200(b *testing.B) { ackAt(b, 200) }

// BenchmarkAck500 is the same at 500 deliveries/s, the rate issue 11 asks
// the intake's changes to be compared at.
func BenchmarkAck500(b *testing.B) { ackAt(b, 500) }

func ackAt(b *testing.B, rate int) {
	url, tm := benchServer(b)
	body := example(b, "pull_request/opened.payload.json", nil)
	sig := Sign(testSecret, body)
	load(b, url, tm, body, sig, 50, time.Second, "warmup") // open the connections first
	b.ResetTimer()
	var r loadResult
	for i := range b.N {
		r = load(b, url, tm, body, sig, rate, 10*time.Second, fmt.Sprintf("ack%d-%d", rate, i))
	}
	b.StopTimer()
	report(b, r)
}

// BenchmarkAckMaxRate ramps the rate in 3 s steps until p99 exceeds 10 ms or
// a delivery fails, and reports the highest rate that held.
func BenchmarkAckMaxRate(b *testing.B) {
	url, tm := benchServer(b)
	body := example(b, "pull_request/opened.payload.json", nil)
	sig := Sign(testSecret, body)
	load(b, url, tm, body, sig, 50, time.Second, "warmup")
	b.ResetTimer()
	for i := range b.N {
		best := 0
		var held loadResult
		for _, rate := range []int{200, 400, 600, 800, 1000, 1200, 1500, 2000, 2500, 3000, 4000} {
			r := load(b, url, tm, body, sig, rate, 3*time.Second, fmt.Sprintf("ramp-%d-%d", i, rate))
			b.Logf("%5d/s: p50 %v p90 %v p99 %v max %v errors %d; server p50 %v p99 %v", rate, r.p50, r.p90, r.p99, r.pmax, r.errors, r.server[0], r.server[2])
			if r.errors > 0 || r.p99 > 10*time.Millisecond {
				break
			}
			best, held = rate, r
		}
		b.ReportMetric(float64(best), "max-rate/s")
		report(b, held)
	}
}

// BenchmarkWebhookCPU is the intake's own cost per delivery (verify, route,
// three store writes) with the handler called in-process on the memory
// store: what a replica's CPU pays per acknowledgement, apart from the
// network and Redis.
func BenchmarkWebhookCPU(b *testing.B) {
	s := store.NewMemory(store.Options{})
	defer s.Close()
	in, err := New(Options{Secret: testSecret, Sink: s, Metrics: metrics.New(s, nil), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	h := in.Router()
	body := example(b, "pull_request/opened.payload.json", nil)
	sig := Sign(testSecret, body)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		req := httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(body))
		req.Header.Set("X-GitHub-Event", "pull_request")
		req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("cpu-%d", i))
		req.Header.Set("X-Hub-Signature-256", sig)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusAccepted {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
}
