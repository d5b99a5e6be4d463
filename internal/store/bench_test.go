package store

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/meshbot/meshbot/internal/mesh"
	"github.com/meshbot/meshbot/internal/meshgen"
	"github.com/meshbot/meshbot/internal/testutil"
)

// eachStore runs fn against the memory store and, when
// MESHBOT_TEST_REDIS_URL and MESHBOT_TEST_REDIS_CLUSTER_URL are set, the
// Redis one on a single server and on Redis Cluster.
func eachStore(b *testing.B, opts Options, fn func(b *testing.B, s Store)) {
	b.Run("memory", func(b *testing.B) {
		s := NewMemory(opts)
		defer s.Close()
		fn(b, s)
	})
	b.Run("redis", func(b *testing.B) {
		url := os.Getenv("MESHBOT_TEST_REDIS_URL")
		if url == "" {
			b.Skip("skipping: MESHBOT_TEST_REDIS_URL is not set (export MESHBOT_TEST_REDIS_URL=$(scripts/redis-test.sh))")
		}
		fn(b, openRedis(b, url, opts))
	})
	b.Run("cluster", func(b *testing.B) {
		url := os.Getenv("MESHBOT_TEST_REDIS_CLUSTER_URL")
		if url == "" {
			b.Skip("skipping: MESHBOT_TEST_REDIS_CLUSTER_URL is not set (export MESHBOT_TEST_REDIS_CLUSTER_URL=$(scripts/redis-cluster-test.sh))")
		}
		fn(b, openRedis(b, url, opts))
	})
}

// payload is the size of a typical check job: ids, SHAs and paths.
var payload = bytes.Repeat([]byte("x"), 300)

func BenchmarkEnqueue(b *testing.B) {
	eachStore(b, Options{}, func(b *testing.B, s Store) {
		ctx := context.Background()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			if err := s.Enqueue(ctx, Job{ID: fmt.Sprint("d-", i), Kind: "check", Key: "1/o/r#1", Payload: payload}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkEnqueueDelivery is the webhook intake's store call: dedup, head
// and job of one pull-request delivery.
func BenchmarkEnqueueDelivery(b *testing.B) {
	eachStore(b, Options{}, func(b *testing.B, s Store) {
		ctx := context.Background()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			id := fmt.Sprint("d-", i)
			d := Delivery{ID: id, TTL: time.Hour, Heads: []Head{{"1/o/r#1", id}},
				Jobs: []Job{{ID: id, Kind: "check", Key: "1/o/r#1", Payload: payload}}}
			if ok, err := s.EnqueueDelivery(ctx, d); err != nil || !ok {
				b.Fatal(ok, err)
			}
		}
	})
}

func BenchmarkClaimAck(b *testing.B) {
	eachStore(b, Options{}, func(b *testing.B, s Store) {
		ctx := context.Background()
		for i := range b.N {
			if err := s.Enqueue(ctx, Job{ID: fmt.Sprint("d-", i), Kind: "check", Payload: payload}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			l, err := s.Claim(ctx, "w", time.Second)
			if err != nil || l == nil {
				b.Fatalf("Claim = %v, %v", l, err)
			}
			if err := s.Ack(ctx, l); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRegistryProducts10k reads an installation of 100 repositories of
// 100 generated products each (one DCS contract of 12 fields per product,
// consumers between them): what a check with consumer impact loads.
func BenchmarkRegistryProducts10k(b *testing.B) {
	const repos, perRepo = 100, 100
	m, err := mesh.Load(context.Background(), meshgen.GenerateFS(meshgen.Options{Products: perRepo, Fields: 12, Consumers: true, Seed: 1}))
	if err != nil || len(m.Products) != perRepo {
		b.Fatalf("generate: %d products, %v", len(m.Products), err)
	}
	eachStore(b, Options{}, func(b *testing.B, s Store) {
		ctx := context.Background()
		var stored int
		for r := range repos {
			repo := fmt.Sprintf("octo/domain-%03d", r)
			if err := s.PutRepo(ctx, 1, repo, m.Products); err != nil {
				b.Fatal(err)
			}
			if rs, ok := s.(*redisStore); ok {
				n, err := rs.c.HStrLen(ctx, rs.regKey(1), repo).Result()
				if err != nil {
					b.Fatal(err)
				}
				stored += int(n)
			}
		}
		b.ReportAllocs()
		// This machine is shared: CPU time per read says more than wall time.
		cpu0 := testutil.CPUTime()
		for b.Loop() {
			ps, err := s.Products(ctx, 1)
			if err != nil || len(ps) != repos*perRepo {
				b.Fatalf("Products: %d, %v", len(ps), err)
			}
		}
		b.ReportMetric(float64((testutil.CPUTime()-cpu0).Milliseconds())/float64(b.N), "cpu-ms/op")
		if stored > 0 {
			b.ReportMetric(float64(stored), "stored-B")
		}
		// What 10,000 decoded products keep alive.
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		ps, _ := s.Products(ctx, 1)
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)), "live-B")
		runtime.KeepAlive(ps)
	})
}
