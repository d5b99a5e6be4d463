package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshbot/meshbot/internal/config"
	"github.com/meshbot/meshbot/internal/jobs"
	"github.com/meshbot/meshbot/internal/store"
	"github.com/meshbot/meshbot/internal/testutil"
	"github.com/meshbot/meshbot/internal/webhook"
)

// TestServeShutdownAnswersInFlight starts serve on a real listener, begins
// a delivery, shuts the server down while its body is still arriving, and
// checks that the delivery still gets its 202, that new connections are
// refused meanwhile, and that its job ran before serve returned (the memory
// store dies with the process, so serve drains it).
func TestServeShutdownAnswersInFlight(t *testing.T) {
	body, err := os.ReadFile(filepath.Join(testutil.Shared(t, "external/github/webhooks"), "pull_request", "opened.payload.json"))
	if err != nil {
		t.Fatal(err)
	}
	secret := "shutdown-secret"
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"MESHBOT_ADDR": "127.0.0.1:0", "GITHUB_WEBHOOK_SECRET": secret}[k]
	}, os.ReadFile)
	if err != nil {
		t.Fatal(err)
	}
	st := store.NewMemory(store.Options{})
	defer st.Close()

	ran := make(chan string, 10)
	record := jobs.NewRegistry()
	jobs.Register(record, jobs.KindPullCheck, func(_ context.Context, _ jobs.PullCheck, m jobs.Meta) error { ran <- m.ID; return nil })
	addr := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, cfg, st, serveDeps{
			Logger:    slog.New(slog.DiscardHandler),
			Jobs:      record,
			Listening: func(a string) { addr <- a },
			Workers:   1,
		})
	}()
	var a string
	select {
	case a = <-addr:
	case err := <-done:
		t.Fatalf("serve: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not start")
	}

	conn, err := net.Dial("tcp", a)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	head := fmt.Sprintf("POST /webhook HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"+
		"X-GitHub-Event: pull_request\r\nX-GitHub-Delivery: 0b0b0b0b-shutdown\r\nX-Hub-Signature-256: %s\r\n\r\n",
		a, len(body), webhook.Sign([]byte(secret), body))
	half := len(body) / 2
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write(body[:half]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // let the server start reading the request

	cancel() // SIGTERM
	// Shutdown has begun once the listener refuses new connections.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", a, 100*time.Millisecond)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the listener still accepts connections after shutdown began")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("serve returned with a delivery in flight: %v", err)
	default:
	}

	if _, err := conn.Write(body[half:]); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("in-flight delivery: %d %s", resp.StatusCode, b)
	}

	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
	select {
	case id := <-ran:
		if !strings.HasPrefix(id, "0b0b0b0b-shutdown") {
			t.Errorf("ran job %s", id)
		}
	default:
		t.Error("the job of the in-flight delivery did not run before serve returned")
	}
	if s, err := st.Stats(context.Background()); err != nil || s != (store.QueueStats{}) {
		t.Errorf("queue after shutdown: %+v, %v", s, err)
	}
}

func TestServeRefusesBadConfig(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"arguments", nil, []string{"extra"}, "takes no arguments"},
		{"app without secret", map[string]string{"GITHUB_APP_ID": "5", "GITHUB_PRIVATE_KEY": "-----BEGIN RSA PRIVATE KEY-----\nx\n-----END RSA PRIVATE KEY-----\n"}, nil, "GITHUB_WEBHOOK_SECRET"},
		{"bad redis", map[string]string{"REDIS_URL": "redis://127.0.0.1:1/0"}, nil, "REDIS_URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{config.EnvAddr, config.EnvAppID, config.EnvPrivateKey, config.EnvPrivateKeyFile,
				config.EnvWebhookSecret, config.EnvAPIURL, config.EnvRedisURL, config.EnvPolicyRepo, config.EnvPolicyDir, config.EnvBackstageToken} {
				t.Setenv(k, tt.env[k])
			}
			var out, errb strings.Builder
			if code := run(context.Background(), append([]string{"serve"}, tt.args...), &out, &errb); code != exitUnusable {
				t.Errorf("exit %d, want %d; stderr %s", code, exitUnusable, errb.String())
			}
			if !strings.Contains(errb.String(), tt.want) {
				t.Errorf("stderr %q does not mention %q", errb.String(), tt.want)
			}
		})
	}
}
