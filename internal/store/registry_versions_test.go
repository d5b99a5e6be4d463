package store

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// testUnreadableRecords: repositories whose record was written by another
// release (older or newer format version) or is corrupt are reported per
// repository; the rest of the installation reads as before, and indexing
// the repository again heals it.
func testUnreadableRecords(t *testing.T, url string) {
	s := openRedis(t, url, Options{})
	rs := s.(*redisStore)
	ctx := ctxT(t)
	m := exampleMesh(t)
	good := m.Products[:2]
	const inst = 42
	repos := []string{"octo/a-good", "octo/b-old", "octo/c-corrupt", "octo/d-future", "octo/e-good"}
	for _, r := range repos {
		if err := s.PutRepo(ctx, inst, r, good); err != nil {
			t.Fatal(err)
		}
	}
	cur, err := rs.c.HGet(ctx, rs.regKey(inst), "octo/a-good").Bytes()
	if err != nil {
		t.Fatal(err)
	}
	withVersion := func(v byte) []byte { return append([]byte{recordMagic, v}, cur[2:]...) }
	raw := map[string][]byte{
		"octo/b-old":     withVersion(0),
		"octo/c-corrupt": cur[:len(cur)/2],
		"octo/d-future":  withVersion(formatVersion + 1),
	}
	for r, b := range raw {
		if err := rs.c.HSet(ctx, rs.regKey(inst), r, b).Err(); err != nil {
			t.Fatal(err)
		}
	}

	got, err := s.ProductsByRepo(ctx, inst)
	if err != nil {
		t.Fatalf("ProductsByRepo with unreadable records: %v", err)
	}
	var names []string
	for _, r := range got {
		names = append(names, r.Repo)
	}
	if !slices.Equal(names, repos) {
		t.Fatalf("ProductsByRepo lists %v, want every repository %v", names, repos)
	}
	want := map[string]error{"octo/b-old": ErrFormatVersion, "octo/c-corrupt": ErrCorruptRecord, "octo/d-future": ErrFormatVersion}
	for _, r := range got {
		if cause, bad := want[r.Repo]; bad {
			if !errors.Is(r.Unreadable, cause) || !errors.Is(r.Unreadable, ErrUnreadableRecord) || r.Products != nil {
				t.Errorf("%s: Unreadable = %v with %d products, want %v and none", r.Repo, r.Unreadable, len(r.Products), cause)
			}
			continue
		}
		if r.Unreadable != nil || !reflect.DeepEqual(r.Products, inRepo(t, r.Repo, good)) {
			t.Errorf("%s: a readable repository came back as %v, %d products", r.Repo, r.Unreadable, len(r.Products))
		}
	}
	var unreadable []string
	for _, r := range Unreadable(got) {
		unreadable = append(unreadable, r.Repo)
	}
	if !slices.Equal(unreadable, []string{"octo/b-old", "octo/c-corrupt", "octo/d-future"}) {
		t.Errorf("Unreadable = %v", unreadable)
	}

	flat, err := s.Products(ctx, inst)
	if err != nil {
		t.Fatalf("Products with unreadable records: %v", err)
	}
	wantFlat := append(inRepo(t, "octo/a-good", good), inRepo(t, "octo/e-good", good)...)
	if !reflect.DeepEqual(flat, wantFlat) {
		t.Errorf("Products = %d products, want the %d of the readable repositories", len(flat), len(wantFlat))
	}

	// A re-index writes the current version and the repository reads again.
	for r := range raw {
		if err := s.PutRepo(ctx, inst, r, good); err != nil {
			t.Fatal(err)
		}
	}
	got, err = s.ProductsByRepo(ctx, inst)
	if err != nil {
		t.Fatal(err)
	}
	if bad := Unreadable(got); len(bad) > 0 {
		t.Fatalf("after re-indexing, still unreadable: %v", bad[0].Unreadable)
	}
}

func TestRedisUnreadableRecords(t *testing.T) {
	t.Parallel()
	testUnreadableRecords(t, testRedisURL(t))
}

func TestRedisClusterUnreadableRecords(t *testing.T) {
	t.Parallel()
	testUnreadableRecords(t, testClusterURL(t))
}

// TestRedisMigratesOldKeys: a store opened on the keys of a release before
// hash tags (P+"q:jobs", P+"reg:ID", ...) carries on with their jobs, in
// flight ones included, their dead letters, dedup, heads and registry.
func TestRedisMigratesOldKeys(t *testing.T) {
	t.Parallel()
	url := testRedisURL(t)
	ctx := ctxT(t)
	cfg, err := ParseRedisURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.NewClient()
	p := fmt.Sprintf("meshbot-test:migrate-%d:", time.Now().UnixNano())
	t.Cleanup(func() {
		if err := deletePrefix(context.Background(), c, p); err != nil {
			t.Logf("cleaning up %s*: %v", p, err)
		}
		c.Close()
	})

	// The old layout, as the previous release wrote it.
	enc := func(j Job) string { j.Attempt = max(j.Attempt, 1); return string(encodeJob(j)) }
	if err := c.XGroupCreateMkStream(ctx, p+"q:jobs", group, "0").Err(); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"in-flight", "pending"} {
		if err := c.XAdd(ctx, &redis.XAddArgs{Stream: p + "q:jobs", Values: []any{"j", enc(Job{ID: id})}}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	// in-flight is claimed by an old worker that then dies.
	if err := c.XReadGroup(ctx, &redis.XReadGroupArgs{Group: group, Consumer: "old-worker", Streams: []string{p + "q:jobs", ">"}, Count: 1, Block: -1}).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.ZAdd(ctx, p+"q:delayed", redis.Z{Score: 0, Member: enc(Job{ID: "retry", Attempt: 2})}).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.LPush(ctx, p+"q:dead", string(encodeDead(DeadLetter{Job: Job{ID: "dead", Attempt: 5}, Cause: "gave up"}))).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, p+"dedup:delivery-1", 1, 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, p+"latest:7/octo/r#1", "newsha", 0).Err(); err != nil {
		t.Fatal(err)
	}
	legacy := []byte{legacyMagic}
	body, err := encodeProducts(exampleMesh(t).Products[:1])
	if err != nil {
		t.Fatal(err)
	}
	legacy = append(legacy, body[2:]...)
	if err := c.HSet(ctx, p+"reg:7", "octo/r", legacy).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, p+"regver:7", 5, 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.SAdd(ctx, p+"installations", 7).Err(); err != nil {
		t.Fatal(err)
	}

	opts := Options{Prefix: p, VisibilityTimeout: 100 * time.Millisecond}
	s, err := NewRedis(ctx, url, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	wantStats(t, s, QueueStats{Pending: 1, InFlight: 1, Delayed: 1, Dead: 1})
	var claimed []string
	for len(claimed) < 3 {
		l := mustClaim(t, s, "new-worker", 2*time.Second)
		claimed = append(claimed, l.Job.ID)
		if err := s.Ack(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(claimed)
	if !slices.Equal(claimed, []string{"in-flight", "pending", "retry"}) {
		t.Errorf("claimed %v after the move, want in-flight, pending and retry", claimed)
	}
	if dl, err := s.DeadLetters(ctx, 10); err != nil || len(dl) != 1 || dl[0].Job.ID != "dead" {
		t.Errorf("DeadLetters = %v, %v", dl, err)
	}
	if first, err := s.FirstDelivery(ctx, "delivery-1", time.Hour); err != nil || first {
		t.Errorf("FirstDelivery of a delivery the old release recorded = %v, %v", first, err)
	}
	if ok, err := s.IsLatest(ctx, "7/octo/r#1", "oldsha"); err != nil || ok {
		t.Errorf("IsLatest of an older SHA = %v, %v: the old release's head was lost", ok, err)
	}
	if v, err := s.Version(ctx, 7); err != nil || v < 5 {
		t.Errorf("Version = %d, %v: it went back", v, err)
	}
	rs, err := s.ProductsByRepo(ctx, 7)
	if err != nil || len(rs) != 1 || rs[0].Unreadable != nil || len(rs[0].Products) != 1 {
		t.Fatalf("registry after the move: %v, %v", rs, err)
	}
	if insts, err := s.Installations(ctx); err != nil || !slices.Equal(insts, []int64{7}) {
		t.Errorf("Installations = %v, %v", insts, err)
	}
	n, err := c.Exists(ctx, p+"q:jobs", p+"q:delayed", p+"q:dead", p+"dedup:delivery-1", p+"latest:7/octo/r#1", p+"reg:7", p+"regver:7").Result()
	if err != nil || n != 0 {
		t.Errorf("%d old keys left after the move (%v)", n, err)
	}
}
