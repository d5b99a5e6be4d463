package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Releases before hash-tagged keys named them P+"q:jobs", P+"q:delayed",
// P+"q:dead", P+"dedup:"+id, P+"latest:"+key, P+"reg:"+ID and
// P+"regver:"+ID. migrate moves whatever is found under those names to the
// current ones when a store opens, so an upgrade keeps the queue (jobs in
// flight included: the stream moves with its consumer group), the
// de-duplication, the newest heads and the registry.
//
// A rolling upgrade runs old and new replicas side by side for a while, and
// old replicas keep writing the old names; moving merges into keys that
// already exist (stream entries appended, retries and dead letters kept,
// registry entries the new names lack added, version counters summed so
// they never go back, newer dedup and head keys kept). Whatever the last old
// replica writes after the last new replica started waits for the next
// start of a replica; README, Upgrading, says how to avoid that.
//
// Those releases could not run on Redis Cluster, so on a cluster there is
// nothing to move (and a scan would have to visit every master).
var moveScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('RENAME', KEYS[1], KEYS[2])
  return 1
end
local t = redis.call('TYPE', KEYS[1])['ok']
if t == 'stream' then
  for _, e in ipairs(redis.call('XRANGE', KEYS[1], '-', '+')) do
    redis.call('XADD', KEYS[2], '*', unpack(e[2]))
  end
elseif t == 'zset' then
  redis.call('ZUNIONSTORE', KEYS[2], 2, KEYS[2], KEYS[1], 'AGGREGATE', 'MIN')
elseif t == 'list' then
  for _, e in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
    redis.call('RPUSH', KEYS[2], e)
  end
elseif t == 'hash' then
  local fs = redis.call('HGETALL', KEYS[1])
  for i = 1, #fs, 2 do
    redis.call('HSETNX', KEYS[2], fs[i], fs[i + 1])
  end
elseif t == 'string' and ARGV[1] == 'counter' then
  redis.call('INCRBY', KEYS[2], redis.call('GET', KEYS[1]))
end
redis.call('DEL', KEYS[1])
return 2
`)

func (r *redisStore) migrate(ctx context.Context) error {
	if r.cfg.Topology == TopologyCluster {
		return nil
	}
	p := r.opts.Prefix
	move := func(old, cur, kind string) error {
		if err := moveScript.Run(ctx, r.c, []string{old, cur}, kind).Err(); err != nil {
			return fmt.Errorf("redis: move %s to %s: %w", old, cur, err)
		}
		return nil
	}
	for old, cur := range map[string]string{p + "q:jobs": r.stream, p + "q:delayed": r.delayed, p + "q:dead": r.dead} {
		if err := move(old, cur, ""); err != nil {
			return err
		}
	}
	for _, m := range []struct {
		old  string
		cur  func(rest string) (string, bool)
		kind string
	}{
		{"dedup:", func(id string) (string, bool) { return r.q + "dedup:" + id, true }, ""},
		{"latest:", func(key string) (string, bool) { return r.q + "latest:" + key, true }, ""},
		{"reg:", func(id string) (string, bool) { return r.instKey(id, "reg") }, ""},
		{"regver:", func(id string) (string, bool) { return r.instKey(id, "ver") }, "counter"},
	} {
		iter := r.c.Scan(ctx, 0, GlobEscape(p+m.old)+"*", 1000).Iterator()
		for iter.Next(ctx) {
			key := iter.Val()
			cur, ok := m.cur(strings.TrimPrefix(key, p+m.old))
			if !ok {
				continue
			}
			if err := move(key, cur, m.kind); err != nil {
				return err
			}
		}
		if err := iter.Err(); err != nil {
			return fmt.Errorf("redis: look for keys of an older release: %w", err)
		}
	}
	return nil
}

// instKey names an installation's key from the id of an old key; keys
// that hold no installation id are not meshbot's and stay.
func (r *redisStore) instKey(id, name string) (string, bool) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return "", false
	}
	return r.instTag(n) + name, true
}

// GlobEscape quotes the characters SCAN MATCH treats as a pattern.
func GlobEscape(s string) string {
	var b strings.Builder
	for _, c := range s {
		if strings.ContainsRune(`*?[]\`, c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}
