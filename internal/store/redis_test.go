package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// testRedisURL is the Redis the suite runs against: MESHBOT_TEST_REDIS_URL,
// which `make test` sets from scripts/redis-test.sh. Without it the test is
// skipped, except under CI=true where that would hide a broken setup.
func testRedisURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("MESHBOT_TEST_REDIS_URL")
	if u == "" {
		msg := "MESHBOT_TEST_REDIS_URL is not set; run `export MESHBOT_TEST_REDIS_URL=$(scripts/redis-test.sh)` (or `make test`) to test the Redis store"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip("skipping: " + msg)
	}
	return u
}

// testClusterURL is the Redis Cluster the suite also runs against:
// MESHBOT_TEST_REDIS_CLUSTER_URL, which `make test` sets from
// scripts/redis-cluster-test.sh. Skipped without it, except under CI=true.
func testClusterURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("MESHBOT_TEST_REDIS_CLUSTER_URL")
	if u == "" {
		msg := "MESHBOT_TEST_REDIS_CLUSTER_URL is not set; run `export MESHBOT_TEST_REDIS_CLUSTER_URL=$(scripts/redis-cluster-test.sh)` (or `make test`) to test the store on Redis Cluster"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip("skipping: " + msg)
	}
	return u
}

// openRedis opens a Redis store under a prefix of its own and deletes every
// key under that prefix when t ends.
func openRedis(t testing.TB, url string, opts Options) Store {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	opts.Prefix = "meshbot-test:" + hex.EncodeToString(b[:]) + ":"
	s, err := NewRedis(context.Background(), url, opts)
	if err != nil {
		t.Fatalf("NewRedis: %v", err)
	}
	t.Cleanup(func() {
		if err := deletePrefix(context.Background(), s.(*redisStore).c, opts.Prefix); err != nil {
			t.Logf("cleaning up %s*: %v", opts.Prefix, err)
		}
		s.Close()
	})
	return s
}

// deletePrefix deletes the keys under prefix, on every master of a cluster
// and one key at a time (a DEL of several keys must stay in one slot).
// It is storetest.DeletePrefix again: this package's own tests cannot
// import storetest, which imports store.
func deletePrefix(ctx context.Context, c redis.UniversalClient, prefix string) error {
	del := func(ctx context.Context, n *redis.Client) error {
		iter := n.Scan(ctx, 0, GlobEscape(prefix)+"*", 1000).Iterator()
		for iter.Next(ctx) {
			if err := n.Del(ctx, iter.Val()).Err(); err != nil {
				return err
			}
		}
		return iter.Err()
	}
	switch c := c.(type) {
	case *redis.ClusterClient:
		return c.ForEachMaster(ctx, del)
	case *redis.Client:
		return del(ctx, c)
	}
	return fmt.Errorf("deletePrefix: %T", c)
}

func TestRedis(t *testing.T) {
	t.Parallel()
	url := testRedisURL(t)
	runStoreSuite(t, func(t *testing.T, opts Options) Store { return openRedis(t, url, opts) })
}

// TestRedisCluster runs the same suite on Redis Cluster, where every script
// and transaction fails with CROSSSLOT unless its keys share a hash slot.
func TestRedisCluster(t *testing.T) {
	t.Parallel()
	url := testClusterURL(t)
	runStoreSuite(t, func(t *testing.T, opts Options) Store { return openRedis(t, url, opts) })
}

func TestNewRedisErrors(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := NewRedis(ctx, "http://nope", Options{}); err == nil {
		t.Error("NewRedis accepted a non-redis URL")
	}
	// A port nothing listens on: the error says where it tried.
	addr := freeAddr(t)
	_, err := NewRedis(ctx, "redis://"+addr+"/0", Options{})
	if err == nil || !strings.Contains(err.Error(), addr) {
		t.Errorf("NewRedis on a closed port = %v", err)
	}
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// redisProcess is a redis-server of the test's own, persisting to dir with
// an fsync per write, so that kill -9 loses nothing acknowledged.
type redisProcess struct {
	t    *testing.T
	dir  string
	port string
	cmd  *exec.Cmd
}

func (p *redisProcess) start() {
	t := p.t
	t.Helper()
	p.cmd = exec.Command("redis-server", "--port", p.port, "--bind", "127.0.0.1",
		"--appendonly", "yes", "--appendfsync", "always", "--save", "", "--dir", p.dir,
		"--daemonize", "no", "--logfile", "redis.log")
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + p.port})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for c.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(p.dir + "/redis.log")
			t.Fatalf("redis-server on port %s did not answer within 10s; log:\n%s", p.port, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *redisProcess) kill() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Kill() // SIGKILL: no shutdown, no final save
	_ = p.cmd.Wait()
	p.cmd = nil
}

// TestRedisRestartLosesNothing kills Redis with SIGKILL in the middle of a
// queue's life and restarts it on the same data: every job not acked is
// still there (pending, in flight or waiting for a retry) and acked jobs do
// not come back.
func TestRedisRestartLosesNothing(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("redis-server"); err != nil {
		msg := "redis-server is not installed (scripts/redis-test.sh installs it)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip("skipping: " + msg)
	}
	_, port, _ := net.SplitHostPort(freeAddr(t))
	p := &redisProcess{t: t, dir: t.TempDir(), port: port}
	p.start()
	t.Cleanup(p.kill)

	opts := Options{VisibilityTimeout: 300 * time.Millisecond, BackoffBase: 100 * time.Millisecond}
	s := openRedis(t, "redis://127.0.0.1:"+port+"/0", opts)
	ctx := ctxT(t)
	const n = 20
	for i := range n {
		mustEnqueue(t, s, Job{ID: fmt.Sprintf("job-%02d", i), Payload: []byte(strconv.Itoa(i))})
	}
	// job-00..03 done, job-04..06 in flight, job-07 waiting for a retry,
	// job-08..19 never claimed.
	for i := range 8 {
		l := mustClaim(t, s, "w1", 0)
		switch {
		case i < 4:
			if err := s.Ack(ctx, l); err != nil {
				t.Fatal(err)
			}
		case i == 7:
			if err := s.Fail(ctx, l, errors.New("transient")); err != nil {
				t.Fatal(err)
			}
		}
	}
	wantStats(t, s, QueueStats{Pending: 12, InFlight: 3, Delayed: 1})

	p.kill()
	p.start()

	// The same store object carries on: go-redis reconnects. The first
	// command may still meet a dead pooled connection; give it a moment.
	deadline := time.Now().Add(10 * time.Second)
	for s.Ping(ctx) != nil {
		if time.Now().After(deadline) {
			t.Fatal("store did not reconnect after the restart")
		}
		time.Sleep(50 * time.Millisecond)
	}
	wantStats(t, s, QueueStats{Pending: 12, InFlight: 3, Delayed: 1})

	var got []string
	for {
		l, err := s.Claim(ctx, "w2", 2*time.Second)
		if err != nil {
			t.Fatalf("Claim after restart: %v", err)
		}
		if l == nil {
			break
		}
		if want := strconv.Itoa(mustAtoi(t, l.Job.ID[len("job-"):])); string(l.Job.Payload) != want {
			t.Errorf("job %s came back with payload %q", l.Job.ID, l.Job.Payload)
		}
		got = append(got, l.Job.ID)
		if err := s.Ack(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(got)
	var want []string
	for i := 4; i < n; i++ {
		want = append(want, fmt.Sprintf("job-%02d", i))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("after the restart claimed %v\nwant exactly %v", got, want)
	}
	wantStats(t, s, QueueStats{})
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// A Redis that restarted without persistence has lost the stream and its
// consumer group; the store recreates the group and jobs enqueued since are
// claimed, none lost.
func TestRedisRecreatesLostGroup(t *testing.T) {
	t.Parallel()
	s := openRedis(t, testRedisURL(t), Options{})
	rs := s.(*redisStore)
	ctx := ctxT(t)
	if err := rs.c.Del(ctx, rs.stream).Err(); err != nil {
		t.Fatal(err)
	}
	mustEnqueue(t, s, Job{ID: "after-loss"})
	wantStats(t, s, QueueStats{Pending: 1})
	l := mustClaim(t, s, "w1", time.Second)
	if l.Job.ID != "after-loss" {
		t.Fatalf("claimed %s", l.Job.ID)
	}
	if err := s.Ack(ctx, l); err != nil {
		t.Fatal(err)
	}
	wantStats(t, s, QueueStats{})
}
