package store

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// serverProc is a redis-server (or sentinel) of the test's own on a free
// port, killed when the test ends.
type serverProc struct {
	port string
	cmd  *exec.Cmd
}

func startServer(t *testing.T, args ...string) *serverProc {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		msg := "redis-server is not installed (scripts/redis-test.sh installs it)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip("skipping: " + msg)
	}
	_, port, _ := net.SplitHostPort(freeAddr(t))
	dir := t.TempDir()
	p := &serverProc{port: port}
	var cmdArgs []string
	if len(args) > 0 && args[0] == "--sentinel" {
		// A sentinel needs a config file it can rewrite.
		conf := filepath.Join(dir, "sentinel.conf")
		if err := os.WriteFile(conf, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		cmdArgs = append([]string{conf}, args...)
	} else {
		cmdArgs = args
	}
	cmdArgs = append(cmdArgs, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", dir, "--daemonize", "no", "--logfile", "redis.log")
	p.cmd = exec.Command("redis-server", cmdArgs...)
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start redis-server %v: %v", args, err)
	}
	t.Cleanup(p.kill)
	c := redis.NewClient(&redis.Options{Addr: p.addr()})
	defer c.Close()
	waitFor(t, 10*time.Second, "redis-server on "+port+" to answer", func() bool {
		return c.Ping(context.Background()).Err() == nil
	})
	return p
}

func (p *serverProc) addr() string { return "127.0.0.1:" + p.port }

func (p *serverProc) kill() {
	if p.cmd != nil {
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
		p.cmd = nil
	}
}

// TestRedisSentinel runs the store suite through Sentinel (the
// redis+sentinel:// form), then kills the master: once Sentinel has
// promoted the replica, the same store serves from it.
func TestRedisSentinel(t *testing.T) {
	t.Parallel()
	master := startServer(t)
	replica := startServer(t, "--replicaof", "127.0.0.1", master.port)
	sentinel := startServer(t, "--sentinel")
	ctx := ctxT(t)
	sc := redis.NewSentinelClient(&redis.Options{Addr: sentinel.addr()})
	defer sc.Close()
	for _, cmd := range [][]any{
		{"sentinel", "monitor", "mymaster", "127.0.0.1", master.port, 1},
		{"sentinel", "set", "mymaster", "down-after-milliseconds", 1000},
		{"sentinel", "set", "mymaster", "failover-timeout", 3000},
	} {
		if err := sc.Process(ctx, redis.NewCmd(ctx, cmd...)); err != nil {
			t.Fatalf("%v: %v", cmd, err)
		}
	}
	rc := redis.NewClient(&redis.Options{Addr: replica.addr()})
	defer rc.Close()
	waitFor(t, 20*time.Second, "the replica to sync", func() bool {
		info, err := rc.Info(ctx, "replication").Result()
		return err == nil && strings.Contains(info, "master_link_status:up")
	})

	url := fmt.Sprintf("redis+sentinel://%s/mymaster/0", sentinel.addr())
	runStoreSuite(t, func(t *testing.T, opts Options) Store { return openRedis(t, url, opts) })

	s := openRedis(t, url+"?wait_replicas=1", Options{})
	mustEnqueue(t, s, Job{ID: "before-failover"})
	master.kill()
	waitFor(t, 30*time.Second, "Sentinel to promote the replica", func() bool {
		addr, err := sc.GetMasterAddrByName(ctx, "mymaster").Result()
		return err == nil && len(addr) == 2 && addr[1] == replica.port
	})
	// The promoted master has no replica to confirm writes: a store that
	// does not wait for one carries on with the same keys.
	var s2 Store
	waitFor(t, 30*time.Second, "a store on the new master to enqueue", func() bool {
		var err error
		if s2 == nil {
			if s2, err = NewRedis(ctx, url, Options{Prefix: s.(*redisStore).opts.Prefix}); err != nil {
				return false
			}
			t.Cleanup(func() { s2.Close() })
		}
		return s2.Enqueue(ctx, Job{ID: "after-failover"}) == nil
	})
	var got []string
	for range 2 {
		l := mustClaim(t, s2, "w", 5*time.Second)
		got = append(got, l.Job.ID)
		if err := s2.Ack(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	if got[0] != "before-failover" || got[1] != "after-failover" {
		t.Fatalf("claimed %v after the failover, want the job enqueued before it and the one after", got)
	}
}
