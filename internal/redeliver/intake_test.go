package redeliver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/meshbot/meshbot/internal/ghfake"
	"github.com/meshbot/meshbot/internal/ghfake/ghfaketest"
	"github.com/meshbot/meshbot/internal/store"
	"github.com/meshbot/meshbot/internal/testutil"
	"github.com/meshbot/meshbot/internal/webhook"
)

// TestThroughTheIntake: pull_request deliveries fail while meshbot is down;
// two replicas sweep at once when it is back; GitHub redelivers to the real
// intake, which enqueues each pull request's check once; the next sweep
// asks for nothing and GitHub sends nothing more.
func TestThroughTheIntake(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(testutil.Shared(t, "external/github/webhooks"), "pull_request", "opened.payload.json"))
	if err != nil {
		t.Fatal(err)
	}
	gin.SetMode(gin.TestMode)
	backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		secret := []byte("s3cret")
		in, err := webhook.New(webhook.Options{Secret: secret, Sink: st, Logger: quiet()})
		if err != nil {
			t.Fatal(err)
		}
		router := in.Router()
		f := ghfaketest.New(t, appID)
		f.AddInstallation(7, "acme")
		payloads := map[string][]byte{}
		for n := 1; n <= 3; n++ {
			var doc map[string]any
			if err := json.Unmarshal(src, &doc); err != nil {
				t.Fatal(err)
			}
			doc["installation"] = map[string]any{"id": 7, "node_id": "MDIz"}
			doc["number"] = n
			doc["pull_request"].(map[string]any)["number"] = n
			doc["pull_request"].(map[string]any)["head"].(map[string]any)["sha"] = fmt.Sprintf("%040d", n)
			b, _ := json.Marshal(doc)
			guid := fmt.Sprintf("guid-%d", n)
			payloads[guid] = b
			f.AddDelivery(ghfake.HookDelivery{GUID: guid, At: t0.Add(-time.Duration(10-n) * time.Minute), StatusCode: 0,
				Event: "pull_request", Action: "opened", Installation: 7})
		}
		var mu sync.Mutex
		codes := map[string][]int{}
		f.SetReceiver(func(d ghfake.HookDelivery) int {
			body := payloads[d.GUID]
			req := httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-GitHub-Event", d.Event)
			req.Header.Set("X-GitHub-Delivery", d.GUID)
			req.Header.Set("X-Hub-Signature-256", webhook.Sign(secret, body))
			w := httptest.NewRecorder()
			router.ServeHTTP(w, req)
			mu.Lock()
			codes[d.GUID] = append(codes[d.GUID], w.Code)
			mu.Unlock()
			return w.Code
		})

		c := &clock{now: t0}
		app := newApp(t, f)
		a := newSweeper(t, app, st, "a", c, Options{})
		b := newSweeper(t, newApp(t, f), st, "b", c, Options{})
		var wg sync.WaitGroup
		for _, s := range []*Sweeper{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := s.Sweep(ctx); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if n := f.FlushRedeliveries(t0.Add(time.Minute)); n != 3 {
			t.Fatalf("GitHub redelivered %d, want 3", n)
		}
		for guid := range payloads {
			if got := codes[guid]; len(got) != 1 || got[0] != http.StatusAccepted {
				t.Errorf("%s: intake answered %v, want one 202", guid, got)
			}
		}
		s, err := st.Stats(ctx)
		if err != nil || s.Pending != 3 {
			t.Fatalf("queue = %+v, %v; want the 3 checks", s, err)
		}
		c.Add(time.Hour)
		r, err := b.Sweep(ctx)
		if err != nil || r.Asked != 0 || r.Listed != 3 {
			t.Errorf("next sweep = %+v, %v; want the 3 redeliveries listed and nothing asked", r.Deliveries, err)
		}
		if n := f.FlushRedeliveries(t0.Add(time.Hour)); n != 0 {
			t.Errorf("GitHub redelivered %d more", n)
		}
	})
}
