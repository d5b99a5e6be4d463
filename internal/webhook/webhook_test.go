package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/meshbot/meshbot/internal/metrics"
	"github.com/meshbot/meshbot/internal/store"
	"github.com/meshbot/meshbot/internal/store/storetest"
)

var testSecret = []byte("It's a Secret to Everybody")

// stores runs fn against the memory store and, when MESHBOT_TEST_REDIS_URL
// is set, against a Redis store under a key prefix of its own.
func stores(t *testing.T, fn func(t *testing.T, open func(t *testing.T) store.Store)) {
	t.Run("memory", func(t *testing.T) {
		fn(t, func(t *testing.T) store.Store {
			s := store.NewMemory(store.Options{})
			t.Cleanup(func() { s.Close() })
			return s
		})
	})
	t.Run("redis", func(t *testing.T) {
		url := storetest.Required(t)
		fn(t, func(t *testing.T) store.Store { return storetest.Open(t, url, store.Options{}) })
	})
}

func newIntake(t testing.TB, s store.Store) (*Intake, http.Handler) {
	t.Helper()
	in, err := New(Options{
		Secret:  testSecret,
		Sink:    s,
		Ready:   map[string]func(context.Context) error{"store": s.Ping},
		Metrics: metrics.New(s, nil),
		Logger:  slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	return in, in.Router()
}

type delivery struct {
	event, id string
	body      []byte
	signature string // "" = sign with testSecret; "-" = no header
	headers   map[string]string
}

func post(t testing.TB, h http.Handler, d delivery) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(d.body))
	req.Header.Set("Content-Type", "application/json")
	if d.event != "" {
		req.Header.Set("X-GitHub-Event", d.event)
	}
	if d.id != "" {
		req.Header.Set("X-GitHub-Delivery", d.id)
	}
	switch d.signature {
	case "":
		req.Header.Set("X-Hub-Signature-256", Sign(testSecret, d.body))
	case "-":
	default:
		req.Header.Set("X-Hub-Signature-256", d.signature)
	}
	for k, v := range d.headers {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// drain claims every job in s, acking each.
func drain(t testing.TB, s store.Store) []store.Job {
	t.Helper()
	ctx := context.Background()
	var out []store.Job
	for {
		l, err := s.Claim(ctx, "test", 20*time.Millisecond)
		if err != nil {
			t.Fatalf("claim: %v", err)
		}
		if l == nil {
			return out
		}
		out = append(out, l.Job)
		if err := s.Ack(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
}

func pending(t testing.TB, s store.Store) int64 {
	t.Helper()
	st, err := s.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st.Pending + st.InFlight + st.Delayed
}

func TestVerify(t *testing.T) {
	body := []byte(`{"zen":"Keep it logically awesome."}`)
	sha1mac := hmac.New(sha1.New, testSecret)
	sha1mac.Write(body)
	good := Sign(testSecret, body)
	tests := []struct {
		name, header string
		want         bool
	}{
		{"valid", good, true},
		{"missing", "", false},
		{"other secret", Sign([]byte("another secret"), body), false},
		{"other body", Sign(testSecret, append(body, ' ')), false},
		{"sha1 only", "sha1=" + hex.EncodeToString(sha1mac.Sum(nil)), false},
		{"sha1 digest under the sha256 prefix", "sha256=" + hex.EncodeToString(sha1mac.Sum(nil)), false},
		{"no prefix", strings.TrimPrefix(good, "sha256="), false},
		{"uppercase hex", "sha256=" + strings.ToUpper(strings.TrimPrefix(good, "sha256=")), true},
		{"not hex", "sha256=" + strings.Repeat("zz", 32), false},
		{"truncated", good[:len(good)-2], false},
		{"trailing garbage", good + "00", false},
	}
	for _, tt := range tests {
		if got := Verify(testSecret, body, tt.header); got != tt.want {
			t.Errorf("%s: Verify(%q) = %v, want %v", tt.name, tt.header, got, tt.want)
		}
	}
	// GitHub's documented example: secret, payload and signature from
	// "Validating webhook deliveries".
	if !Verify([]byte("It's a Secret to Everybody"), []byte("Hello, World!"),
		"sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17") {
		t.Error("GitHub's documented test vector does not verify")
	}
}

func TestWebhookRefuses(t *testing.T) {
	stores(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		s := open(t)
		_, h := newIntake(t, s)
		pr := example(t, "pull_request/opened.payload.json", nil)
		sha1mac := hmac.New(sha1.New, testSecret)
		sha1mac.Write(pr)
		tests := []struct {
			name string
			d    delivery
			code int
		}{
			{"missing signature", delivery{event: "pull_request", id: "a1", body: pr, signature: "-"}, 401},
			{"wrong secret", delivery{event: "pull_request", id: "a2", body: pr, signature: Sign([]byte("nope"), pr)}, 401},
			{"signature of other bytes", delivery{event: "pull_request", id: "a3", body: pr, signature: Sign(testSecret, pr[1:])}, 401},
			{"sha1 header only", delivery{event: "pull_request", id: "a4", body: pr, signature: "-",
				headers: map[string]string{"X-Hub-Signature": "sha1=" + hex.EncodeToString(sha1mac.Sum(nil))}}, 401},
			{"unsigned and malformed is still 401", delivery{event: "pull_request", id: "a5", body: []byte("{"), signature: "-"}, 401},
			{"malformed json", delivery{event: "pull_request", id: "b1", body: []byte(`{"action":`)}, 400},
			{"json array", delivery{event: "push", id: "b2", body: []byte(`[1]`)}, 400},
			{"missing event", delivery{id: "b3", body: pr}, 400},
			{"missing delivery id", delivery{event: "pull_request", body: pr}, 400},
			{"delivery id with a key separator", delivery{event: "pull_request", id: "a:b", body: pr}, 400},
		}
		for _, tt := range tests {
			rec := post(t, h, tt.d)
			if rec.Code != tt.code {
				t.Errorf("%s: got %d %s, want %d", tt.name, rec.Code, rec.Body, tt.code)
			}
		}
		if n := pending(t, s); n != 0 {
			t.Errorf("%d jobs enqueued by refused deliveries", n)
		}
		// Nothing refused was recorded as seen: the same id, correctly signed,
		// is accepted.
		if rec := post(t, h, delivery{event: "pull_request", id: "a1", body: pr}); rec.Code != http.StatusAccepted {
			t.Errorf("signed delivery after refusals: %d %s", rec.Code, rec.Body)
		}
	})
}

func TestWebhookSizeCap(t *testing.T) {
	s := store.NewMemory(store.Options{})
	defer s.Close()
	_, h := newIntake(t, s)
	// A JSON object of exactly 25 MB: accepted by size, ignored by routing.
	exact := make([]byte, MaxBody)
	copy(exact, `{"zen":"`)
	for i := 8; i < MaxBody-2; i++ {
		exact[i] = 'a'
	}
	copy(exact[MaxBody-2:], `"}`)
	if rec := post(t, h, delivery{event: "star", id: "s1", body: exact}); rec.Code != http.StatusAccepted {
		t.Errorf("25 MB delivery: %d %s", rec.Code, rec.Body)
	}
	over := append(exact[:len(exact):len(exact)], ' ')
	if rec := post(t, h, delivery{event: "star", id: "s2", body: over}); rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("25 MB + 1 with Content-Length: %d %s", rec.Code, rec.Body)
	}
	// Without a Content-Length the reader's cap is what stops it.
	req := httptest.NewRequest(http.MethodPost, "/webhook", io.MultiReader(bytes.NewReader(over)))
	req.ContentLength = -1
	req.Header.Set("X-GitHub-Event", "star")
	req.Header.Set("X-GitHub-Delivery", "s3")
	req.Header.Set("X-Hub-Signature-256", Sign(testSecret, over))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("25 MB + 1 chunked: %d %s", rec.Code, rec.Body)
	}
}

func TestWebhookPing(t *testing.T) {
	s := store.NewMemory(store.Options{})
	defer s.Close()
	_, h := newIntake(t, s)
	rec := post(t, h, delivery{event: "ping", id: "p1", body: example(t, "ping/with-app_id.payload.json", nil)})
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"msg":"pong"`) {
		t.Errorf("ping: %d %s", rec.Code, rec.Body)
	}
}

// TestWebhookRoutesExamples posts every published example, signed as GitHub
// signs it, and finds in the queue exactly the jobs Route makes of it.
func TestWebhookRoutesExamples(t *testing.T) {
	examples := []struct {
		file, event string
		edits       map[string]any
		jobs        int
	}{
		{"pull_request/opened.payload.json", "pull_request", nil, 1},
		{"pull_request/synchronize.payload.json", "pull_request", nil, 1},
		{"pull_request/reopened.payload.json", "pull_request", nil, 1},
		{"pull_request/ready_for_review.payload.json", "pull_request", map[string]any{"installation": map[string]any{"id": 7}}, 1},
		{"pull_request/closed.payload.json", "pull_request", nil, 0},
		{"check_suite/requested.payload.json", "check_suite", nil, 0},
		{"check_suite/rerequested.payload.json", "check_suite", nil, 1},
		{"check_run/rerequested.payload.json", "check_run", nil, 1},
		{"check_run/requested_action.payload.json", "check_run", nil, 0},
		{"push/with-new-branch.payload.json", "push", nil, 1},
		{"push/with-installation.payload.json", "push", nil, 0},
		{"push/payload.json", "push", nil, 0},
		{"installation/created.payload.json", "installation", nil, 1},
		{"installation/deleted.payload.json", "installation", nil, 1},
		{"installation_repositories/added.payload.json", "installation_repositories", nil, 1},
		{"issue_comment/created.with-installation.payload.json", "issue_comment", map[string]any{"comment.body": "/mesh recheck"}, 1},
		{"issue_comment/created.payload.json", "issue_comment", nil, 0},
		{"issue_comment/edited.payload.json", "issue_comment", nil, 0},
		{"issue_comment/deleted.payload.json", "issue_comment", nil, 0},
	}
	stores(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		s := open(t)
		_, h := newIntake(t, s)
		for i, ex := range examples {
			id := "d" + hex.EncodeToString([]byte{byte(i)})
			body := example(t, ex.file, ex.edits)
			rec := post(t, h, delivery{event: ex.event, id: id, body: body})
			if rec.Code != http.StatusAccepted {
				t.Errorf("%s: %d %s", ex.file, rec.Code, rec.Body)
				continue
			}
			want, err := Route(id, ex.event, body)
			if err != nil {
				t.Fatal(err)
			}
			if len(want.Jobs) != ex.jobs {
				t.Errorf("%s: Route made %d jobs, want %d", ex.file, len(want.Jobs), ex.jobs)
			}
			got := drain(t, s)
			if len(got) != len(want.Jobs) {
				t.Errorf("%s: %d jobs in the queue, want %d", ex.file, len(got), len(want.Jobs))
				continue
			}
			for k := range got {
				g, w := got[k], want.Jobs[k]
				if g.ID != w.ID || g.Kind != w.Kind || g.Key != w.Key || !bytes.Equal(g.Payload, w.Payload) {
					t.Errorf("%s: job %d = %+v, want %+v", ex.file, k, g, w)
				}
			}
			for _, hd := range want.Heads {
				if ok, err := s.IsLatest(context.Background(), hd.Key, hd.SHA); err != nil || !ok {
					t.Errorf("%s: head %v not recorded as latest (%v)", ex.file, hd, err)
				}
			}
			var resp map[string]any
			_ = json.Unmarshal(rec.Body.Bytes(), &resp)
			if ex.jobs == 0 && resp["ignored"] == nil {
				t.Errorf("%s: ignored delivery answered %s", ex.file, rec.Body)
			}
		}
	})
}

func TestWebhookRedelivery(t *testing.T) {
	stores(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		s := open(t)
		_, h := newIntake(t, s)
		body := example(t, "pull_request/opened.payload.json", nil)
		d := delivery{event: "pull_request", id: "f8e1e2a0-0000-11ef-8000-000000000001", body: body}
		for i := range 3 {
			rec := post(t, h, d)
			if rec.Code != http.StatusAccepted {
				t.Fatalf("delivery %d: %d %s", i, rec.Code, rec.Body)
			}
			if dup := strings.Contains(rec.Body.String(), "duplicate"); dup != (i > 0) {
				t.Errorf("delivery %d answered %s", i, rec.Body)
			}
		}
		if got := drain(t, s); len(got) != 1 {
			t.Errorf("%d jobs after three deliveries of one id, want 1", len(got))
		}
		// A new delivery id for the same event is new work.
		d.id = "f8e1e2a0-0000-11ef-8000-000000000002"
		if rec := post(t, h, d); rec.Code != http.StatusAccepted || strings.Contains(rec.Body.String(), "duplicate") {
			t.Errorf("new delivery: %d %s", rec.Code, rec.Body)
		}
		if got := drain(t, s); len(got) != 1 {
			t.Errorf("%d jobs after a new delivery, want 1", len(got))
		}
	})
}

// TestWebhookStoreDown: when the store is unreachable the delivery is
// answered 503 (GitHub shows it failed and it can be redelivered), and once
// the store is back the redelivery is accepted: nothing was recorded.
func TestWebhookStoreDown(t *testing.T) {
	t.Run("memory closed", func(t *testing.T) {
		s := store.NewMemory(store.Options{})
		_, h := newIntake(t, s)
		s.Close()
		body := example(t, "pull_request/opened.payload.json", nil)
		rec := post(t, h, delivery{event: "pull_request", id: "x1", body: body})
		if rec.Code != http.StatusServiceUnavailable {
			t.Errorf("closed store: %d %s", rec.Code, rec.Body)
		}
	})
	t.Run("redis unreachable", func(t *testing.T) {
		url := storetest.Required(t)
		s := storetest.Open(t, url, store.Options{})
		_, h := newIntake(t, s)
		body := example(t, "pull_request/opened.payload.json", nil)
		// Closing the client is Redis going away, as far as the intake can
		// tell: every command fails.
		down := storetest.Open(t, url, store.Options{})
		_, hDown := newIntake(t, down)
		down.Close()
		rec := post(t, hDown, delivery{event: "pull_request", id: "x2", body: body})
		if rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("redis down: %d %s", rec.Code, rec.Body)
		}
		rec = post(t, h, delivery{event: "pull_request", id: "x2", body: body})
		if rec.Code != http.StatusAccepted || strings.Contains(rec.Body.String(), "duplicate") {
			t.Errorf("redelivery once redis is back: %d %s", rec.Code, rec.Body)
		}
		if got := drain(t, s); len(got) != 1 {
			t.Errorf("%d jobs, want 1", len(got))
		}
	})
}

func TestHealthReadyMetrics(t *testing.T) {
	stores(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		s := open(t)
		_, h := newIntake(t, s)
		get := func(path string) *httptest.ResponseRecorder {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
			return rec
		}
		if rec := get("/healthz"); rec.Code != http.StatusOK {
			t.Errorf("healthz: %d", rec.Code)
		}
		if rec := get("/readyz"); rec.Code != http.StatusOK {
			t.Errorf("readyz: %d %s", rec.Code, rec.Body)
		}
		post(t, h, delivery{event: "pull_request", id: "m1", body: example(t, "pull_request/opened.payload.json", nil)})
		post(t, h, delivery{event: "pull_request", id: "m2", body: []byte("{}"), signature: "-"})
		rec := get("/metrics")
		if rec.Code != http.StatusOK {
			t.Fatalf("metrics: %d", rec.Code)
		}
		text := rec.Body.String()
		for _, want := range []string{
			`meshbot_webhook_deliveries_total{event="pull_request",outcome="accepted"} 1`,
			`meshbot_webhook_deliveries_total{event="unverified",outcome="unauthorized"} 1`,
			`meshbot_jobs_enqueued_total{kind="check"} 1`,
			`meshbot_queue_jobs{state="pending"} 1`,
			`meshbot_queue_up 1`,
			`meshbot_webhook_ack_seconds_bucket{outcome="accepted",le="+Inf"} 1`,
		} {
			if !strings.Contains(text, want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
		s.Close()
		if rec := get("/readyz"); rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "store") {
			t.Errorf("readyz with the store closed: %d %s", rec.Code, rec.Body)
		}
	})
}

func TestNewValidates(t *testing.T) {
	s := store.NewMemory(store.Options{})
	defer s.Close()
	if _, err := New(Options{Sink: s}); err == nil {
		t.Error("New without a secret succeeded")
	}
	if _, err := New(Options{Secret: testSecret}); err == nil {
		t.Error("New without a store succeeded")
	}
	in, err := New(Options{Secret: testSecret, Sink: s})
	if err != nil || in.dedupTTL != DefaultDedupTTL || in.maxBody != MaxBody {
		t.Errorf("defaults: %+v %v", in, err)
	}
}

// TestExampleEdits holds the test helper to what it says it edits.
func TestExampleEdits(t *testing.T) {
	b := example(t, "pull_request/opened.payload.json", map[string]any{"pull_request.number": 9, "-sender": nil})
	var p map[string]any
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	if n := p["pull_request"].(map[string]any)["number"]; !reflect.DeepEqual(n, float64(9)) {
		t.Errorf("number = %v", n)
	}
	if _, ok := p["sender"]; ok {
		t.Error("sender not deleted")
	}
}
