// Package storetest gives tests a real Redis store of their own: the URL of
// the test Redis (`make test` starts one with scripts/redis-test.sh and sets
// MESHBOT_TEST_REDIS_URL) and a store under a fresh key prefix that is
// deleted when the test ends.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/meshbot/meshbot/internal/store"
)

const hint = "MESHBOT_TEST_REDIS_URL is not set; run `export MESHBOT_TEST_REDIS_URL=$(scripts/redis-test.sh)` (or `make test`) to run the Redis tests"

// URL is MESHBOT_TEST_REDIS_URL. Without it the test fails under CI=true (a
// broken set-up must not pass as skipped); elsewhere it logs why and returns
// "", so callers test the memory store only.
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("MESHBOT_TEST_REDIS_URL")
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal(hint)
		}
		t.Log(hint)
	}
	return u
}

// Required is URL for tests that need Redis: without it they are skipped
// (and fail under CI=true).
func Required(t testing.TB) string {
	t.Helper()
	u := URL(t)
	if u == "" {
		t.Skip("skipping: " + hint)
	}
	return u
}

// Open opens a Redis store under a key prefix of its own (opts.Prefix is
// replaced) and deletes the prefix's keys when t ends.
func Open(t testing.TB, url string, opts store.Options) store.Store {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	opts.Prefix = "meshbot-test:" + hex.EncodeToString(b[:]) + ":"
	s, err := store.NewRedis(context.Background(), url, opts)
	if err != nil {
		t.Fatalf("open Redis store at %s: %v", url, err)
	}
	t.Cleanup(func() {
		s.Close()
		cfg, err := store.ParseRedisURL(url)
		if err != nil {
			return
		}
		c := cfg.NewClient()
		defer c.Close()
		if err := DeletePrefix(context.Background(), c, opts.Prefix); err != nil {
			t.Logf("cleaning up %s*: %v", opts.Prefix, err)
		}
	})
	return s
}

// DeletePrefix deletes every key under prefix: on each master of a cluster,
// one key at a time (a DEL of several keys must stay in one hash slot).
func DeletePrefix(ctx context.Context, c redis.UniversalClient, prefix string) error {
	del := func(ctx context.Context, n *redis.Client) error {
		iter := n.Scan(ctx, 0, store.GlobEscape(prefix)+"*", 1000).Iterator()
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
	default:
		return fmt.Errorf("delete %s*: unexpected client %T", prefix, c)
	}
}
