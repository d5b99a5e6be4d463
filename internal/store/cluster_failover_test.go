package store

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestRedisClusterFailover kills the master that holds the queue while
// jobs are enqueued and worked off, on the cluster scripts/redis-cluster-test.sh
// runs (three masters, a replica each).
//
// With a replica: the store keeps serving once the replica is promoted, and
// no job whose Enqueue returned nil is lost. That holds because the store
// runs with wait_replicas=1: Redis replicates asynchronously, so without
// WAIT a master may acknowledge a write and die before its replica has it,
// and the promoted replica never saw the job. With WAIT the write is on the
// replica before Enqueue returns; Redis still promises no more than that
// (a replica that did not confirm can win an election when there are
// several). While no master serves the slot, and while the promoted master
// has no replica to confirm writes, Enqueue returns an error, which the
// webhook answers with 503 so that GitHub redelivers.
//
// Without a replica (the master and its replica both dead): every operation
// on the queue's slot fails with an error that says so, Enqueue never
// returns nil, and installations whose keys live on other masters are still
// served (the script runs the cluster with cluster-require-full-coverage
// no; with yes, Redis' default, the whole cluster refuses until the slot
// is back).
//
// The test does not run in parallel with the others: it takes a master
// away. It puts the cluster back with the script before it ends.
func TestRedisClusterFailover(t *testing.T) {
	// Its known failure (one `make test` in about five: an acked job never
	// claimed, job-01407 of ~1,450) was reproduced once in 27 runs with
	// whereAre, and was the test's own race: the drain below could finish,
	// and the consumer stop, while the producer was still inside its last
	// Enqueue, which then returned nil. The job (job-00558 that time) sat
	// in the stream as its newest entry, never delivered (group lag 1),
	// nothing lost by the store. The drain now waits for the producer.
	// MESHBOT_TEST_REDIS_FAILOVER=0 skips the test (it takes ~25 s and
	// kills a master).
	if os.Getenv("MESHBOT_TEST_REDIS_FAILOVER") == "0" {
		t.Skip("MESHBOT_TEST_REDIS_FAILOVER=0")
	}
	url := testClusterURL(t)
	script, err := filepath.Abs("../../scripts/redis-cluster-test.sh")
	if err != nil {
		t.Fatal(err)
	}
	runDir, _ := filepath.Abs("../../.run/redis-cluster")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	s := openRedis(t, url+"?wait_replicas=1&wait_timeout=2s", Options{VisibilityTimeout: 500 * time.Millisecond})
	rs := s.(*redisStore)
	cc := rs.c.(*redis.ClusterClient)
	cfg, _ := ParseRedisURL(url)
	basePort := portOf(t, cfg.Addrs[0])

	// The cluster must be whole (a previous run may have left a node down)
	// and ours to kill nodes of.
	restart := func() {
		t.Helper()
		// Its own deadline: it also runs as a cleanup, after ctx is done.
		rctx, rcancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer rcancel()
		cmd := exec.CommandContext(rctx, script)
		cmd.Env = append(os.Environ(), "MESHBOT_TEST_REDIS_CLUSTER_PORT="+strconv.Itoa(basePort))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", script, err, out)
		}
		// The client's view of the slots may predate the change.
		cc.ReloadState(rctx)
	}
	pidOf := func(addr string) int {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(runDir, strconv.Itoa(portOf(t, addr)), "redis.pid"))
		if err != nil {
			msg := fmt.Sprintf("node %s was not started by scripts/redis-cluster-test.sh (%v); this test kills only nodes of the cluster the script runs", addr, err)
			if os.Getenv("CI") == "true" {
				t.Fatal(msg)
			}
			t.Skip("skipping: " + msg)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		return pid
	}
	restart()
	t.Cleanup(restart)

	master := queueMaster(ctx, t, cc, rs.stream)
	masterID := nodeID(ctx, t, cc, master)
	replica := replicaOf(ctx, t, cc, masterID)
	if replica == "" {
		t.Fatalf("the queue's master %s has no replica; the script starts one per master", master)
	}
	masterPid := pidOf(master)
	t.Logf("queue slot on master %s (pid %d), replica %s", master, masterPid, replica)

	// Work: one producer, one consumer, recording what each call returned.
	var (
		mu        sync.Mutex
		acked     = map[string]bool{} // Enqueue returned nil
		refused   = map[string]error{}
		claimed   = map[string]int{}
		claimErrs []error
		abandoned []string // jobs leased Abandoned: their leases kept expiring
		killedAt  time.Time
	)
	ackedCount := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	stop := make(chan struct{})
	var wg, producer sync.WaitGroup
	producer.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			id := fmt.Sprintf("job-%05d", i)
			ectx, ecancel := context.WithTimeout(ctx, 5*time.Second)
			err := s.Enqueue(ectx, Job{ID: id, Kind: "check"})
			ecancel()
			mu.Lock()
			if err == nil {
				acked[id] = true
			} else {
				refused[id] = err
			}
			mu.Unlock()
			if err != nil {
				time.Sleep(50 * time.Millisecond) // the outage lasts seconds; do not spin
			}
		}
	})
	consumerDone := make(chan struct{})
	wg.Go(func() {
		for {
			select {
			case <-consumerDone:
				return
			default:
			}
			l, err := s.Claim(ctx, "worker", 100*time.Millisecond)
			if err != nil {
				mu.Lock()
				claimErrs = append(claimErrs, err)
				mu.Unlock()
				time.Sleep(50 * time.Millisecond)
				continue
			}
			if l == nil {
				continue
			}
			mu.Lock()
			claimed[l.Job.ID]++
			if l.Abandoned {
				abandoned = append(abandoned, fmt.Sprintf("%s@%d", l.Job.ID, l.Job.Attempt))
			}
			mu.Unlock()
			_ = s.Ack(ctx, l) // a lost ack only makes the job run again
		}
	})

	waitFor(t, 30*time.Second, "50 jobs enqueued before the kill", func() bool { return ackedCount() >= 50 })
	before := ackedCount()
	mu.Lock()
	killedAt = time.Now()
	mu.Unlock()
	if err := syscall.Kill(masterPid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Deterministic wait: the replica reports itself master and the cluster
	// state is ok again, polled with a deadline.
	waitFor(t, 60*time.Second, "the replica "+replica+" to be promoted", func() bool {
		return isMaster(ctx, replica) && clusterOK(ctx, replica)
	})
	failedOverIn := time.Since(killedAt)
	cc.ReloadState(ctx)
	// The promoted master has no replica until the killed node rejoins (as
	// its replica), so WAIT-confirmed enqueues resume after that.
	restart()
	waitFor(t, 60*time.Second, "50 more jobs enqueued after the failover", func() bool { return ackedCount() >= before+50 })
	close(stop)
	// The producer may be inside an Enqueue that is acknowledged after stop
	// closed: wait for it, so that the drain below knows every acked job.
	producer.Wait()

	// Every acknowledged job comes out of the queue: the consumer keeps
	// going until it has seen them all (jobs in flight at the kill come back
	// after the visibility timeout).
	missing := func() []string {
		mu.Lock()
		defer mu.Unlock()
		var out []string
		for id := range acked {
			if claimed[id] == 0 {
				out = append(out, id)
			}
		}
		return out
	}
	deadline := time.Now().Add(60 * time.Second)
	for len(missing()) > 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	close(consumerDone)
	wg.Wait()
	if m := missing(); len(m) > 0 {
		t.Fatalf("%d acknowledged jobs lost after the failover, e.g. %v; where they are: %s", len(m), m[:min(5, len(m))],
			whereAre(ctx, s, cc, rs, m[:min(5, len(m))]))
	}
	dups := 0
	for _, n := range claimed {
		dups += n - 1
	}
	var sample []string
	for _, err := range refused {
		if len(sample) < 3 {
			sample = append(sample, err.Error())
		}
	}
	t.Logf("with a replica: failover in %v; %d enqueues acknowledged, all claimed (%d claimed twice, %d leased Abandoned %v); %d refused during the outage (%v); %d claim errors",
		failedOverIn.Round(100*time.Millisecond), len(acked), dups, len(abandoned), abandoned, len(refused), sample, len(claimErrs))

	// Without a replica: kill the queue's master and its replica together.
	master = queueMaster(ctx, t, cc, rs.stream)
	masterID = nodeID(ctx, t, cc, master)
	replica = replicaOf(ctx, t, cc, masterID)
	other := otherInstallation(ctx, t, cc, rs, master)
	if err := s.PutRepo(ctx, other, "octo/elsewhere", nil); err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{master, replica} {
		if addr == "" {
			continue
		}
		if err := syscall.Kill(pidOf(addr), syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 30*time.Second, "the cluster to see "+master+" fail", func() bool {
		return !clusterOK(ctx, addrOtherThan(cfg.Addrs, master, replica)) || nodeFailed(ctx, addrOtherThan(cfg.Addrs, master, replica), masterID)
	})
	for i := range 5 {
		ectx, ecancel := context.WithTimeout(ctx, 5*time.Second)
		err := s.Enqueue(ectx, Job{ID: fmt.Sprintf("lost-slot-%d", i)})
		ecancel()
		if err == nil {
			t.Fatal("Enqueue returned nil with the queue's slot served by no node: the job would be silently dropped")
		}
		if i == 0 {
			t.Logf("without a replica, Enqueue says: %v", err)
		}
	}
	if _, err := s.Claim(ctx, "worker", 0); err == nil {
		t.Error("Claim succeeded with the queue's slot served by no node")
	}
	if rp, err := s.ProductsByRepo(ctx, other); err != nil || len(rp) != 1 {
		t.Errorf("installation %d on a live master: ProductsByRepo = %v, %v; the other slots must keep serving", other, rp, err)
	}
}

func portOf(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", limit, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func queueMaster(ctx context.Context, t *testing.T, cc *redis.ClusterClient, key string) string {
	t.Helper()
	n, err := cc.MasterForKey(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	return n.Options().Addr
}

func nodeClient(addr string) *redis.Client {
	return redis.NewClient(&redis.Options{Addr: addr, DialTimeout: time.Second, ReadTimeout: time.Second, MaxRetries: -1})
}

func nodeID(ctx context.Context, t *testing.T, _ *redis.ClusterClient, addr string) string {
	t.Helper()
	c := nodeClient(addr)
	defer c.Close()
	id, err := c.ClusterMyID(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// replicaOf is the address of a replica of the master with id, from the
// master's own CLUSTER NODES, or "".
func replicaOf(ctx context.Context, t *testing.T, cc *redis.ClusterClient, id string) string {
	t.Helper()
	nodes, err := cc.ClusterNodes(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(nodes, "\n") {
		f := strings.Fields(line)
		if len(f) >= 8 && f[3] == id && strings.Contains(f[2], "slave") && !strings.Contains(f[2], "fail") {
			addr, _, _ := strings.Cut(f[1], "@")
			return addr
		}
	}
	return ""
}

func isMaster(ctx context.Context, addr string) bool {
	c := nodeClient(addr)
	defer c.Close()
	info, err := c.Info(ctx, "replication").Result()
	return err == nil && strings.Contains(info, "role:master")
}

func clusterOK(ctx context.Context, addr string) bool {
	c := nodeClient(addr)
	defer c.Close()
	info, err := c.ClusterInfo(ctx).Result()
	return err == nil && strings.Contains(info, "cluster_state:ok")
}

// nodeFailed: addr's view of the cluster marks the node with id as failed.
func nodeFailed(ctx context.Context, addr, id string) bool {
	c := nodeClient(addr)
	defer c.Close()
	nodes, err := c.ClusterNodes(ctx).Result()
	if err != nil {
		return false
	}
	for _, line := range strings.Split(nodes, "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == id {
			return strings.Contains(f[2], "fail")
		}
	}
	return false
}

func addrOtherThan(addrs []string, not ...string) string {
	for _, a := range addrs {
		skip := false
		for _, n := range not {
			if a == n {
				skip = true
			}
		}
		if !skip {
			return a
		}
	}
	return ""
}

// otherInstallation is an installation id whose registry keys live on a
// master other than addr.
func otherInstallation(ctx context.Context, t *testing.T, cc *redis.ClusterClient, rs *redisStore, addr string) int64 {
	t.Helper()
	for id := int64(1); id < 1000; id++ {
		n, err := cc.MasterForKey(ctx, rs.regKey(id))
		if err != nil {
			t.Fatal(err)
		}
		if n.Options().Addr != addr {
			return id
		}
	}
	t.Fatal("every installation hashes to the queue's master")
	return 0
}

// whereAre says where jobs the consumer never claimed are: dead-lettered
// (with the cause), still in the stream (delivered to whom, how often), or
// nowhere on the queue's master.
func whereAre(ctx context.Context, s Store, cc *redis.ClusterClient, rs *redisStore, ids []string) string {
	var out []string
	dead, err := s.DeadLetters(ctx, 100000)
	if err != nil {
		return "dead letters: " + err.Error()
	}
	entries, err := cc.XRange(ctx, rs.stream, "-", "+").Result()
	if err != nil {
		return "stream: " + err.Error()
	}
	for _, id := range ids {
		where := "nowhere on the queue's master"
		for _, d := range dead {
			if d.Job.ID == id {
				where = fmt.Sprintf("dead-lettered at attempt %d: %s", d.Job.Attempt, d.Cause)
			}
		}
		for _, e := range entries {
			raw, _ := e.Values["j"].(string)
			j, err := decodeJob([]byte(raw))
			if err != nil || j.ID != id {
				continue
			}
			where = "in the stream as " + e.ID
			pend, err := cc.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: rs.stream, Group: group, Start: e.ID, End: e.ID, Count: 1}).Result()
			if err == nil && len(pend) == 1 {
				where += fmt.Sprintf(", pending with %s, delivered %d times, idle %v", pend[0].Consumer, pend[0].RetryCount, pend[0].Idle)
			} else {
				where += ", not delivered"
			}
		}
		out = append(out, id+": "+where)
	}
	if groups, err := cc.XInfoGroups(ctx, rs.stream).Result(); err == nil {
		out = append(out, fmt.Sprintf("groups %+v", groups))
	}
	return strings.Join(out, "; ")
}
