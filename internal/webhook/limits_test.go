package webhook

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/meshbot/meshbot/internal/metrics"
	"github.com/meshbot/meshbot/internal/store"
)

func TestReadBody(t *testing.T) {
	const limit = 100_000
	pattern := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('a' + i%26)
		}
		return b
	}
	bud := &budget{limit: 4 * limit}
	pools := &bufPools{}
	for _, tc := range []struct {
		name     string
		size     int
		declared int64 // -2: the real size
		err      error
	}{
		{"empty", 0, -2, nil},
		{"one byte", 1, -2, nil},
		{"a class exactly", 4096, -2, nil},
		{"a class and one", 4097, -2, nil},
		{"the cap", limit, -2, nil},
		{"over the cap", limit + 1, -2, errTooLarge},
		{"unknown length, small", 10, -1, nil},
		{"unknown length, grows through classes", 70_000, -1, nil},
		{"unknown length, grows to the cap", limit, -1, nil},
		{"unknown length, over the cap", limit + 1, -1, errTooLarge},
		{"longer than announced", 50_000, 10, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := pattern(tc.size)
			declared := tc.declared
			if declared == -2 {
				declared = int64(tc.size)
			}
			mac := hmac.New(sha256.New, testSecret)
			// One byte per read at first: the loop must not depend on
			// reads filling the buffer.
			r := io.MultiReader(iotest.OneByteReader(bytes.NewReader(src[:min(len(src), 3)])), bytes.NewReader(src[min(len(src), 3):]))
			b, err := readBody(r, declared, limit, mac, bud, pools)
			if tc.size > limit {
				tc.err = errTooLarge
			}
			if err != tc.err {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err == nil {
				if !bytes.Equal(b.bytes, src) {
					t.Fatalf("read %d bytes, not the %d sent", len(b.bytes), len(src))
				}
				if !Verify(testSecret, src, "sha256="+fmt.Sprintf("%x", mac.Sum(nil))) {
					t.Error("the streamed HMAC is not the HMAC of the body")
				}
				if used := bud.used.Load(); used < int64(len(src)) {
					t.Errorf("%d bytes reserved for a %d-byte body", used, len(src))
				}
				b.release()
				b.release()
			}
			if used := bud.used.Load(); used != 0 {
				t.Errorf("%d bytes still reserved after release", used)
			}
		})
	}
	// A reused buffer holds nothing of its previous body.
	b, err := readBody(bytes.NewReader(pattern(3000)), 3000, limit, hmac.New(sha256.New, testSecret), bud, pools)
	if err != nil {
		t.Fatal(err)
	}
	b.release()
	b, err = readBody(strings.NewReader("{}"), 2, limit, hmac.New(sha256.New, testSecret), bud, pools)
	if err != nil || string(b.bytes) != "{}" {
		t.Fatalf("after reuse: %q %v", b.bytes, err)
	}
	b.release()
}

func TestBudgetRefusesBeyondItsLimit(t *testing.T) {
	bud := &budget{limit: 10}
	if !bud.reserve(6) || bud.reserve(5) || !bud.reserve(4) || bud.reserve(1) {
		t.Fatal("reserve does not hold to the limit")
	}
	bud.release(6)
	if !bud.reserve(6) {
		t.Fatal("released bytes are not reusable")
	}
}

// rawRequest writes a POST /webhook head announcing length body bytes.
func rawRequest(t *testing.T, conn net.Conn, length int, sig string) {
	t.Helper()
	head := fmt.Sprintf("POST /webhook HTTP/1.1\r\nHost: meshbot\r\nContent-Type: application/json\r\n"+
		"X-GitHub-Event: star\r\nX-GitHub-Delivery: raw-%p\r\nX-Hub-Signature-256: %s\r\nContent-Length: %d\r\n\r\n", conn, sig, length)
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond for up to 10 s: what it waits for happens in another
// goroutine; the bound only keeps a broken build from hanging.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// starBody is a signed-able JSON object of n bytes (an event Route ignores).
func starBody(n int) []byte {
	b := bytes.Repeat([]byte("a"), n)
	copy(b, `{"zen":"`)
	copy(b[n-2:], `"}`)
	return b
}

func TestBodyBudgetAnswers503(t *testing.T) {
	// Two held bodies of 10 kB (16 KiB buffers each) fill a 40,000-byte
	// budget; a third is refused unread, and once they are gone the same
	// delivery goes through.
	url, in := loopbackIntake(t, Options{MaxBody: 10_000, BodyBudget: 40_000, BodyTimeout: time.Minute})
	addr := strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/webhook")
	var held []net.Conn
	for range 2 {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		rawRequest(t, conn, 10_000, badSignature)
		io.WriteString(conn, "{")
		held = append(held, conn)
	}
	waitFor(t, "two reservations", func() bool { return in.budget.used.Load() == 2*16384 })

	body := starBody(10_000)
	send := func(id string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		req.Header.Set("X-GitHub-Event", "star")
		req.Header.Set("X-GitHub-Delivery", id)
		req.Header.Set("X-Hub-Signature-256", Sign(testSecret, body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	resp := send("budget-1")
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "60" {
		t.Fatalf("with the budget spent: %d, Retry-After %q; want 503 with Retry-After 60", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	for _, conn := range held {
		io.WriteString(conn, strings.Repeat("a", 9_999))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("held body with a wrong signature: %d", resp.StatusCode)
		}
	}
	waitFor(t, "the budget to empty", func() bool { return in.budget.used.Load() == 0 })
	if resp := send("budget-2"); resp.StatusCode != http.StatusAccepted {
		t.Errorf("after the held bodies: %d, want 202", resp.StatusCode)
	}
}

// TestSlowBody is a slow-loris client: it announces a body and trickles it
// one byte at a time. With a well-formed signature the intake reads until
// BodyTimeout has passed, answers 408 and closes the connection; without one
// it answers 401 at once, and the server's reading of the unread rest after
// that answer is bounded by the same deadline. Either way the connection is
// closed long before the body could have arrived.
func TestSlowBody(t *testing.T) {
	url, in := loopbackIntake(t, Options{BodyTimeout: 300 * time.Millisecond})
	addr := strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/webhook")
	for _, tc := range []struct {
		name, sig string
		code      int
	}{
		{"wrong signature", badSignature, http.StatusRequestTimeout},
		{"unsigned", "", http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			const announced, trickled = 1000, 200 // 200 bytes at one per 20 ms: 4 s
			rawRequest(t, conn, announced, tc.sig)
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Go(func() {
				for range trickled {
					select {
					case <-stop:
						return
					case <-time.After(20 * time.Millisecond):
					}
					if _, err := conn.Write([]byte("a")); err != nil {
						return
					}
				}
			})
			defer wg.Wait()
			defer close(stop)
			conn.SetReadDeadline(time.Now().Add(20 * time.Second))
			br := bufio.NewReader(conn)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("no answer while the body trickled in: %v", err)
			}
			if resp.StatusCode != tc.code {
				t.Errorf("slow body: %d, want %d", resp.StatusCode, tc.code)
			}
			io.Copy(io.Discard, resp.Body)
			// The client never sends the whole body: an end of the
			// connection shows the server stopped waiting for it.
			if _, err := br.ReadByte(); err != io.EOF {
				t.Errorf("connection not closed by the server: %v", err)
			}
			if used := in.budget.used.Load(); used != 0 {
				t.Errorf("%d bytes still reserved", used)
			}
		})
	}
}

// TestBodyDeadlineLifted: a connection kept alive past BodyTimeout between
// two deliveries still serves the second (the deadline set for the first
// body does not outlive it, even with no server-wide timeouts).
func TestBodyDeadlineLifted(t *testing.T) {
	url, _ := loopbackIntake(t, Options{BodyTimeout: 200 * time.Millisecond})
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}
	defer client.CloseIdleConnections()
	body := starBody(1000)
	for i := range 2 {
		if i > 0 {
			time.Sleep(400 * time.Millisecond)
		}
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		req.Header.Set("X-GitHub-Event", "star")
		req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("keepalive-%d", i))
		req.Header.Set("X-Hub-Signature-256", Sign(testSecret, body))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("delivery %d: %v", i, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Errorf("delivery %d: %d", i, resp.StatusCode)
		}
	}
}

// TestEventLabelsBounded: signed deliveries naming events nobody knows add
// one label value, "other", however many names they use.
func TestEventLabelsBounded(t *testing.T) {
	s := store.NewMemory(store.Options{})
	defer s.Close()
	_, h := newIntake(t, s)
	body := []byte(`{"zen":"x"}`)
	for i := range 200 {
		post(t, h, delivery{event: fmt.Sprintf("made_up_%d", i), id: fmt.Sprintf("l%d", i), body: body})
	}
	post(t, h, delivery{event: "pull_request", id: "l-pr", body: body})
	post(t, h, delivery{event: "made_up_unsigned", id: "l-u", body: body, signature: "-"})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	allowed := append(HandledEvents(), "ping", metrics.EventOther, metrics.EventUnverified)
	var got []string
	for _, m := range regexp.MustCompile(`meshbot_webhook_deliveries_total\{event="([^"]*)"`).FindAllStringSubmatch(rec.Body.String(), -1) {
		if !slices.Contains(allowed, m[1]) {
			t.Errorf("event label %q", m[1])
		}
		got = append(got, m[1])
	}
	if !slices.Contains(got, metrics.EventOther) || !slices.Contains(got, "pull_request") || len(got) > 4 {
		t.Errorf("event labels %v", got)
	}
	if !strings.Contains(rec.Body.String(), `meshbot_webhook_deliveries_total{event="other",outcome="ignored"} 200`) {
		t.Error("the 200 unknown events are not counted under other")
	}
}

// records is a slog handler that keeps every record's message and attributes.
type records struct {
	mu   sync.Mutex
	msgs []map[string]any
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *records) WithGroup(string) slog.Handler            { return r }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	m := map[string]any{"msg": rec.Message}
	rec.Attrs(func(a slog.Attr) bool {
		m[a.Key] = a.Value.Any()
		return true
	})
	r.mu.Lock()
	r.msgs = append(r.msgs, m)
	r.mu.Unlock()
	return nil
}

func (r *records) take() []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.msgs
	r.msgs = nil
	return m
}

func TestRefusalsLoggedAtABoundedRate(t *testing.T) {
	s := store.NewMemory(store.Options{})
	defer s.Close()
	rec := &records{}
	in, err := New(Options{Secret: testSecret, Sink: s, Logger: slog.New(rec), RefusalLogInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		in.refusals.mu.Lock()
		in.refusals.timer.Stop()
		in.refusals.mu.Unlock()
	}()
	h := in.Router()
	body := []byte(`{"zen":"x"}`)
	for i := range 100 {
		post(t, h, delivery{event: "push", id: fmt.Sprintf("r%d", i), body: body, signature: "-"})
	}
	for i := range 20 {
		post(t, h, delivery{event: "push", id: fmt.Sprintf("w%d", i), body: body, signature: badSignature})
	}
	big := httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(body))
	big.ContentLength = MaxBody + 1
	h.ServeHTTP(httptest.NewRecorder(), big)
	if got := rec.take(); len(got) != 1 || got[0]["outcome"] != metrics.OutcomeUnauthorized {
		t.Fatalf("121 refusals logged %d lines, want the first alone: %v", len(got), got)
	}
	in.refusals.flush() // the end of the interval
	got := rec.take()
	if len(got) != 1 {
		t.Fatalf("summary: %d lines: %v", len(got), got)
	}
	want := map[string]any{"refused": int64(120), metrics.OutcomeUnauthorized: int64(119), metrics.OutcomeTooLarge: int64(1), "remotes": int64(1)}
	for k, v := range want {
		if got[0][k] != v {
			t.Errorf("summary %s = %v, want %v (%v)", k, got[0][k], v, got[0])
		}
	}
	in.refusals.flush() // a quiet interval: no line, and the next refusal is logged at once
	if got := rec.take(); len(got) != 0 {
		t.Fatalf("a quiet interval logged %v", got)
	}
	post(t, h, delivery{event: "push", id: "again", body: body, signature: "-"})
	if got := rec.take(); len(got) != 1 {
		t.Fatalf("first refusal after a quiet interval: %v", got)
	}
	// Signed deliveries are not refusals and are logged as before.
	post(t, h, delivery{event: "push", id: "signed", body: body})
	for _, m := range rec.take() {
		if strings.Contains(fmt.Sprint(m["msg"]), "refused") {
			t.Errorf("signed delivery logged as a refusal: %v", m)
		}
	}
}
