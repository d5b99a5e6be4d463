package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/meshbot/meshbot/internal/mesh"
)

// redisStore keeps everything in one Redis, under Options.Prefix (P below).
//
// Queue. Jobs are entries of the stream P+"q:jobs" read through the consumer
// group "workers", so Redis itself tracks which worker holds which job:
//
//   - Enqueue is XADD; the job is as durable as Redis' persistence makes an
//     acknowledged write (run it with appendonly yes; appendfsync always
//     loses nothing even on kill -9, everysec at most a second on power loss).
//   - Claim reads new entries with XREADGROUP ">" (the entry joins the
//     group's pending list, the PEL, under the worker's name). Before that it
//     runs XAUTOCLAIM with min-idle = VisibilityTimeout: an entry nobody acked
//     or extended for that long belonged to a worker that died or hung, and
//     moves to this worker. The PEL's delivery counter is what turns repeated
//     takeovers into Attempt, so a job that kills every worker is
//     dead-lettered after MaxAttempts instead of looping forever. Both, and
//     moving due retries, run in one Lua script: a Claim with work waiting is
//     one round trip. Only when there is none does Claim block in
//     XREADGROUP, for at most a quarter of the visibility timeout (1s at
//     most) so that it comes back for expired leases and due retries.
//   - Extend is XCLAIM to the same worker with JUSTID: it resets the entry's
//     idle time without counting a delivery. A Lua script first checks the
//     PEL still names this worker, so a worker that lost its lease cannot
//     steal the job back.
//   - Ack is XACK and XDEL in one MULTI: the stream holds only unfinished
//     jobs, so it never needs trimming (trimming could drop unread work).
//   - Fail removes the entry and, in the same Lua script (checked against
//     the PEL like Extend), either adds the job with Attempt+1 to the ZSET
//     P+"q:delayed" scored by its not-before time in unix ms, or LPUSHes it to
//     the dead-letter list P+"q:dead". Claim moves due retries back into the
//     stream with a Lua script (ZRANGEBYSCORE, XADD, ZREM), atomic, so two
//     replicas never both move the same retry.
//
// A list with BRPOPLPUSH would need its own reaper to find abandoned jobs and
// its own bookkeeping of who holds what; the consumer group gives both, with
// delivery counts, in the server. Not-before times use the replicas' clocks:
// skew between replicas shifts a retry by that skew, nothing worse.
//
// EnqueueDelivery is one Lua script: SET NX of the delivery id, then the
// heads and the XADDs only when the id was new, so a delivery is recorded
// with all its work or not at all.
//
// Other state: dedup is SET D+"dedup:"+id NX EX; the newest head SHA is SET
// D+"latest:"+key EX LatestTTL; the registry is one hash per installation
// I+"reg" (field = repository, value = its products in the binary encoding
// of productcodec.go), a counter I+"ver" (INCR on every write, never
// deleted, so versions never repeat) and the set P+"installations".
//
// Hash slots. On Redis Cluster every key lives in the slot of its hash tag,
// and a Lua script or MULTI may only touch keys of one slot. The keys that
// scripts and transactions use together therefore share a tag:
//
//   - D = P+"{q}:": the stream, the delayed ZSET, the dead-letter list, the
//     dedup and latest keys. claimScript, settle, extend, Ack and Stats use
//     the queue keys together, and EnqueueDelivery writes the dedup key,
//     the heads and the jobs in one script, so all of them need one slot.
//     The queue is small and hot; the registry is what grows.
//   - I = P+"{i:ID}:", per installation: its registry hash and version
//     counter, written together in a MULTI. Installations spread over the
//     cluster.
//     A pull request's approvals (hash I+"approvals:"+owner/repo#N, field =
//     consumer) and what its last check broke (I+"breaks:"+owner/repo#N)
//     live there too (approvals.go).
//   - P+"installations" is in a slot of its own and written outside the
//     installation's MULTI: PutRepo adds the installation before and again
//     after its write, DeleteInstallation removes it before its delete, so
//     an installation that has products is always listed (one without may
//     be listed briefly, and lists as empty).
//
// A prefix that holds a hash tag itself ("{meshbot}:") puts every key in
// that one slot, which is correct but spreads nothing.
//
// Durability. Redis acknowledges a write before its replicas have it, so a
// master that dies right after acknowledging can take the write with it
// when a replica is promoted. With wait_replicas=N (REDIS_URL), Enqueue and
// EnqueueDelivery send WAIT N on the connection of their write and fail
// when fewer replicas confirmed it in time (the write may still survive: the
// caller retries and the handlers are idempotent). WAIT makes a loss need
// the master and those replicas to fail together; Redis does not promise
// more (a failover may still promote a replica that missed the write when
// several replicas exist and only some confirmed).
type redisStore struct {
	c    redis.UniversalClient
	cfg  *RedisConfig
	opts Options
	poll time.Duration // longest a Claim blocks before looking for takeovers and due retries again

	q, stream, delayed, dead, installations string
}

const group = "workers"

// NewRedis connects to the Redis deployment REDIS_URL names (one server,
// a cluster or a Sentinel-managed master: see ParseRedisURL), checks it
// answers, moves keys of older releases to their current names and
// prepares the consumer group.
func NewRedis(ctx context.Context, url string, opts Options) (Store, error) {
	cfg, err := ParseRedisURL(url)
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	opts = opts.withDefaults()
	q := opts.Prefix + "{q}:"
	r := &redisStore{
		c:             cfg.NewClient(),
		cfg:           cfg,
		opts:          opts,
		poll:          min(max(opts.VisibilityTimeout/4, 10*time.Millisecond), time.Second),
		q:             q,
		stream:        q + "jobs",
		delayed:       q + "delayed",
		dead:          q + "dead",
		installations: opts.Prefix + "installations",
	}
	if err := r.c.Ping(ctx).Err(); err != nil {
		r.c.Close()
		return nil, fmt.Errorf("redis: connect to %s: %w", cfg, err)
	}
	if err := r.migrate(ctx); err != nil {
		r.c.Close()
		return nil, err
	}
	if err := r.ensureGroup(ctx); err != nil {
		r.c.Close()
		return nil, err
	}
	return r, nil
}

func (r *redisStore) Kind() string { return "redis" }

func (r *redisStore) Ping(ctx context.Context) error {
	if err := r.c.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: ping: %w", err)
	}
	return nil
}

func (r *redisStore) Close() error { return r.c.Close() }

// ensureGroup creates the stream and its group. It runs at start and again
// when Redis answers NOGROUP: a Redis that restarted without persistence has
// lost them (and its jobs; nothing here can bring those back).
func (r *redisStore) ensureGroup(ctx context.Context) error {
	err := r.c.XGroupCreateMkStream(ctx, r.stream, group, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("redis: create consumer group: %w", err)
	}
	return nil
}

// isNoGroup recognises Redis' NOGROUP error, also when a script relays it.
func isNoGroup(err error) bool { return err != nil && strings.Contains(err.Error(), "NOGROUP") }

func (r *redisStore) Enqueue(ctx context.Context, j Job) error {
	j, err := prepare(j, r.opts.Now())
	if err != nil {
		return err
	}
	err = r.replicated(ctx, r.stream, func(c redis.Cmdable) error {
		return c.XAdd(ctx, &redis.XAddArgs{Stream: r.stream, Values: []any{"j", encodeJob(j)}}).Err()
	})
	if err != nil {
		return fmt.Errorf("enqueue %s: %w", j.ID, err)
	}
	return nil
}

// ErrNotReplicated: a write was acknowledged by the master but not by as
// many replicas as wait_replicas asks for within wait_timeout.
var ErrNotReplicated = errors.New("redis: write not confirmed by enough replicas")

// replicated runs write and, with wait_replicas set, WAITs for the replicas
// on the same connection (WAIT counts the writes of its own connection),
// which is a connection to the master of key's slot.
func (r *redisStore) replicated(ctx context.Context, key string, write func(redis.Cmdable) error) error {
	if r.cfg.WaitReplicas == 0 {
		return write(r.c)
	}
	var node *redis.Client
	switch c := r.c.(type) {
	case *redis.ClusterClient:
		n, err := c.MasterForKey(ctx, key)
		if err != nil {
			return err
		}
		node = n
	case *redis.Client:
		node = c
	default:
		return fmt.Errorf("redis: wait_replicas is not supported with %T", r.c)
	}
	conn := node.Conn()
	defer conn.Close()
	if err := write(conn); err != nil {
		return err
	}
	n, err := conn.Wait(ctx, r.cfg.WaitReplicas, r.cfg.WaitTimeout).Result()
	if err != nil {
		return fmt.Errorf("wait for replicas: %w", err)
	}
	if n < int64(r.cfg.WaitReplicas) {
		return fmt.Errorf("%w: %d of %d within %v", ErrNotReplicated, n, r.cfg.WaitReplicas, r.cfg.WaitTimeout)
	}
	return nil
}

// claimScript is one Claim without waiting, in one round trip: move due
// retries into the stream (atomic, so two replicas never both move one),
// take over one entry whose lease expired (XAUTOCLAIM COUNT 1 looks at no
// more than ten PEL entries per call, hence the loop), else read one new
// entry (XREADGROUP never blocks inside a script). It returns
// {id, fields, deliveries, next retry score} with id "" when there is nothing.
var claimScript = redis.NewScript(`
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[5], 'LIMIT', 0, 100)
for _, m in ipairs(due) do
  redis.call('XADD', KEYS[1], '*', 'j', m)
  redis.call('ZREM', KEYS[2], m)
end
local nxt = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
local nextDue = nxt[2] or ''
local cursor = '0-0'
for _ = 1, tonumber(ARGV[4]) do
  local r = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], cursor, 'COUNT', 1)
  cursor = r[1]
  local e = r[2][1]
  if e then
    if e[2] then
      local p = redis.call('XPENDING', KEYS[1], ARGV[1], e[1], e[1], 1)
      return {e[1], e[2], p[1][4], nextDue}
    end
    -- Redis 6.2 reports entries deleted from the stream here: drop them.
    redis.call('XACK', KEYS[1], ARGV[1], e[1])
  end
  if cursor == '0-0' then break end
end
local r = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', 1, 'STREAMS', KEYS[1], '>')
if r and r[1][2][1] then
  local e = r[1][2][1]
  return {e[1], e[2], 1, nextDue}
end
return {'', {}, 0, nextDue}
`)

// ownedCheck is the start of the scripts that act only for the lease owner.
const ownedCheck = `
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
if #p == 0 or p[1][2] ~= ARGV[3] then return 0 end
`

var extendScript = redis.NewScript(ownedCheck + `
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[3], 0, ARGV[2], 'JUSTID')
return 1
`)

// settleScript removes an owned entry and files the job: ARGV[4] "retry"
// adds ARGV[6] to the delayed ZSET at score ARGV[5], "dead" pushes ARGV[6]
// to the dead-letter list.
var settleScript = redis.NewScript(ownedCheck + `
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
if ARGV[4] == 'retry' then
  redis.call('ZADD', KEYS[2], ARGV[5], ARGV[6])
else
  redis.call('LPUSH', KEYS[3], ARGV[6])
end
return 1
`)

func (r *redisStore) Claim(ctx context.Context, worker string, wait time.Duration) (*Lease, error) {
	until := time.Now().Add(wait)
	for {
		l, next, err := r.claimNow(ctx, worker)
		if l != nil || err != nil {
			return l, err
		}
		now := time.Now()
		if !now.Before(until) {
			return nil, nil
		}
		// Block for new entries, but come back in time to take over expired
		// leases and move due retries, which XREADGROUP does not see. The
		// wait is real time; due times are on the store's clock.
		block := min(until.Sub(now), r.poll)
		if !next.IsZero() {
			block = min(block, next.Sub(r.opts.Now()))
		}
		if block > 0 {
			l, err = r.read(ctx, worker, block)
			if l != nil || err != nil {
				return l, err
			}
		}
	}
}

// claimNow runs claimScript until it leases a job or finds none; entries it
// dead-letters on the way do not count. next is when the next retry is due.
func (r *redisStore) claimNow(ctx context.Context, worker string) (l *Lease, next time.Time, err error) {
	for {
		res, err := claimScript.Run(ctx, r.c, []string{r.stream, r.delayed},
			group, worker, r.opts.VisibilityTimeout.Milliseconds(), 100, r.opts.Now().UnixMilli()).Slice()
		if isNoGroup(err) {
			if err := r.ensureGroup(ctx); err != nil {
				return nil, time.Time{}, err
			}
			continue
		}
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("claim: %w", err)
		}
		if len(res) != 4 {
			return nil, time.Time{}, fmt.Errorf("claim: unexpected reply %v", res)
		}
		if score, _ := res[3].(string); score != "" {
			ms, err := strconv.ParseFloat(score, 64)
			if err != nil {
				return nil, time.Time{}, fmt.Errorf("claim: next retry score %q: %w", score, err)
			}
			next = time.UnixMilli(int64(ms))
		}
		id, _ := res[0].(string)
		if id == "" {
			return nil, next, nil
		}
		fields, _ := res[1].([]any)
		deliveries, _ := res[2].(int64)
		l, err := r.lease(ctx, worker, id, fields, int(deliveries))
		if l != nil || err != nil {
			return l, next, err
		}
	}
}

// read waits up to block for a new entry; block under a millisecond polls.
func (r *redisStore) read(ctx context.Context, worker string, block time.Duration) (*Lease, error) {
	args := &redis.XReadGroupArgs{Group: group, Consumer: worker, Streams: []string{r.stream, ">"}, Count: 1, Block: -1}
	if block > 0 {
		// BLOCK 0 would wait forever.
		args.Block = max(block, time.Millisecond)
	}
	for {
		res, err := r.c.XReadGroup(ctx, args).Result()
		if errors.Is(err, redis.Nil) {
			return nil, nil
		}
		if isNoGroup(err) {
			if err := r.ensureGroup(ctx); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("claim: read: %w", err)
		}
		if len(res) == 0 || len(res[0].Messages) == 0 {
			return nil, nil
		}
		msg := res[0].Messages[0]
		fields := make([]any, 0, 2*len(msg.Values))
		for k, v := range msg.Values {
			fields = append(fields, k, v)
		}
		l, err := r.lease(ctx, worker, msg.ID, fields, 1)
		if l != nil || err != nil {
			return l, err
		}
		args.Block = -1 // the entry was dead-lettered; look once more without waiting
	}
}

// lease turns a claimed entry into a Lease (Abandoned when its attempts ran
// out through expired leases). An entry that cannot be decoded, or whose
// Abandoned leases expired too, is dead-lettered and nil returned.
func (r *redisStore) lease(ctx context.Context, worker, id string, fields []any, deliveries int) (*Lease, error) {
	var raw string
	for i := 0; i+1 < len(fields); i += 2 {
		if k, _ := fields[i].(string); k == "j" {
			raw, _ = fields[i+1].(string)
		}
	}
	l := &Lease{Worker: worker, ref: id}
	j, err := decodeJob([]byte(raw))
	if err != nil {
		l.Job = Job{ID: "stream:" + id, Attempt: 1, Payload: []byte(raw)}
		return nil, r.settle(ctx, l, "dead", 0, encodeDead(DeadLetter{Job: l.Job, Cause: err.Error(), At: time.Now()}))
	}
	j.Attempt += max(deliveries, 1) - 1
	l.Job = j
	abandoned, gone := r.opts.abandonedLease(j.Attempt)
	if gone {
		return nil, r.settle(ctx, l, "dead", 0, encodeDead(r.opts.abandoned(j, r.opts.Now())))
	}
	l.Last = j.Attempt >= r.opts.MaxAttempts
	l.Abandoned = abandoned
	return l, nil
}

func (r *redisStore) settle(ctx context.Context, l *Lease, mode string, score int64, member []byte) error {
	ok, err := settleScript.Run(ctx, r.c, []string{r.stream, r.delayed, r.dead},
		group, l.ref, l.Worker, mode, score, member).Int()
	if err != nil {
		return fmt.Errorf("job %s: %w", l.Job.ID, err)
	}
	if ok == 0 {
		return fmt.Errorf("job %s: %w", l.Job.ID, ErrLeaseLost)
	}
	return nil
}

func (r *redisStore) Extend(ctx context.Context, l *Lease) error {
	ok, err := extendScript.Run(ctx, r.c, []string{r.stream}, group, l.ref, l.Worker).Int()
	if err != nil {
		return fmt.Errorf("extend job %s: %w", l.Job.ID, err)
	}
	if ok == 0 {
		return fmt.Errorf("extend job %s: %w", l.Job.ID, ErrLeaseLost)
	}
	return nil
}

func (r *redisStore) Ack(ctx context.Context, l *Lease) error {
	_, err := r.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.XAck(ctx, r.stream, group, l.ref)
		p.XDel(ctx, r.stream, l.ref)
		return nil
	})
	if err != nil {
		return fmt.Errorf("ack job %s: %w", l.Job.ID, err)
	}
	return nil
}

func (r *redisStore) Fail(ctx context.Context, l *Lease, cause error) error {
	next, notBefore, dead := r.opts.failure(l, cause, r.opts.Now())
	var err error
	if dead != nil {
		err = r.settle(ctx, l, "dead", 0, encodeDead(*dead))
	} else {
		err = r.settle(ctx, l, "retry", notBefore.UnixMilli(), encodeJob(next))
	}
	if err != nil {
		return fmt.Errorf("fail: %w", err)
	}
	return nil
}

// Defer files the job in the delayed ZSET like a retry, but as it was
// claimed: l.Job.Attempt already counts expired leases and the new stream
// entry starts with no deliveries, so the attempt comes back unchanged.
func (r *redisStore) Defer(ctx context.Context, l *Lease, until time.Time) error {
	if err := r.settle(ctx, l, "retry", until.UnixMilli(), encodeJob(l.Job)); err != nil {
		return fmt.Errorf("defer: %w", err)
	}
	return nil
}

func (r *redisStore) DeadLetters(ctx context.Context, limit int) ([]DeadLetter, error) {
	if limit <= 0 {
		return nil, nil
	}
	raws, err := r.c.LRange(ctx, r.dead, 0, int64(limit)-1).Result()
	if err != nil {
		return nil, fmt.Errorf("dead letters: %w", err)
	}
	out := make([]DeadLetter, 0, len(raws))
	for _, raw := range raws {
		d, err := decodeDead([]byte(raw))
		if err != nil {
			return nil, fmt.Errorf("dead letters: %w", err)
		}
		out = append(out, d)
	}
	return out, nil
}

func (r *redisStore) Stats(ctx context.Context) (QueueStats, error) {
	var xlen, delayed, dead *redis.IntCmd
	var pending *redis.XPendingCmd
	read := func() error {
		_, err := r.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
			xlen = p.XLen(ctx, r.stream)
			pending = p.XPending(ctx, r.stream, group)
			delayed = p.ZCard(ctx, r.delayed)
			dead = p.LLen(ctx, r.dead)
			return nil
		})
		return err
	}
	err := read()
	if isNoGroup(err) {
		if err := r.ensureGroup(ctx); err != nil {
			return QueueStats{}, err
		}
		err = read()
	}
	if err != nil {
		return QueueStats{}, fmt.Errorf("queue stats: %w", err)
	}
	inflight := pending.Val().Count
	st := QueueStats{
		// Acked entries are deleted, so the stream holds exactly the
		// unread and the in-flight ones.
		Pending:  xlen.Val() - inflight,
		InFlight: inflight,
		Delayed:  delayed.Val(),
		Dead:     dead.Val(),
	}
	if st.OldestReady, err = r.oldestReady(ctx, st); err != nil {
		return QueueStats{}, fmt.Errorf("queue stats: %w", err)
	}
	return st, nil
}

// oldestReady is since when the oldest job ready to be claimed waits: the
// first stream entry the group has not delivered yet (its id is the Redis
// server's time of the XADD: the enqueue, or the move of a due retry), or
// a retry that fell due and waits in the delayed set for the next Claim to
// move it.
func (r *redisStore) oldestReady(ctx context.Context, st QueueStats) (time.Time, error) {
	var oldest time.Time
	if st.Pending > 0 {
		groups, err := r.c.XInfoGroups(ctx, r.stream).Result()
		if err != nil {
			return time.Time{}, err
		}
		for _, g := range groups {
			if g.Name != group {
				continue
			}
			next, err := r.c.XRangeN(ctx, r.stream, "("+g.LastDeliveredID, "+", 1).Result()
			if err != nil {
				return time.Time{}, err
			}
			if len(next) == 1 {
				oldest = streamIDTime(next[0].ID)
			}
		}
	}
	if st.Delayed > 0 {
		due, err := r.c.ZRangeByScoreWithScores(ctx, r.delayed, &redis.ZRangeBy{
			Min: "-inf", Max: strconv.FormatInt(r.opts.Now().UnixMilli(), 10), Count: 1}).Result()
		if err != nil {
			return time.Time{}, err
		}
		if len(due) == 1 {
			if t := time.UnixMilli(int64(due[0].Score)); oldest.IsZero() || t.Before(oldest) {
				oldest = t
			}
		}
	}
	return oldest, nil
}

// streamIDTime is the time in a stream entry id ("<ms>-<seq>").
func streamIDTime(id string) time.Time {
	ms, _, _ := strings.Cut(id, "-")
	n, err := strconv.ParseInt(ms, 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.UnixMilli(n)
}

func (r *redisStore) FirstDelivery(ctx context.Context, id string, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, fmt.Errorf("dedup %s: ttl %v must be positive", id, ttl)
	}
	ok, err := r.c.SetNX(ctx, r.q+"dedup:"+id, 1, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("dedup %s: %w", id, err)
	}
	return ok, nil
}

// deliveryScript: SET NX the delivery id and, only if it was new, SET the
// heads and XADD the jobs. KEYS: dedup key, stream, then one latest key per
// head; ARGV: dedup ttl ms, latest ttl ms, number of heads, head SHAs, then
// the encoded jobs.
var deliveryScript = redis.NewScript(`
if not redis.call('SET', KEYS[1], 1, 'NX', 'PX', ARGV[1]) then return 0 end
local heads = tonumber(ARGV[3])
for i = 1, heads do
  redis.call('SET', KEYS[2 + i], ARGV[3 + i], 'PX', ARGV[2])
end
for i = 4 + heads, #ARGV do
  redis.call('XADD', KEYS[2], '*', 'j', ARGV[i])
end
return 1
`)

func (r *redisStore) EnqueueDelivery(ctx context.Context, d Delivery) (bool, error) {
	if d.TTL <= 0 {
		return false, fmt.Errorf("delivery %s: ttl %v must be positive", d.ID, d.TTL)
	}
	now := time.Now()
	keys := make([]string, 0, 2+len(d.Heads))
	keys = append(keys, r.q+"dedup:"+d.ID, r.stream)
	args := make([]any, 0, 3+len(d.Heads)+len(d.Jobs))
	args = append(args, max(d.TTL.Milliseconds(), 1), r.opts.LatestTTL.Milliseconds(), len(d.Heads))
	for _, h := range d.Heads {
		keys = append(keys, r.q+"latest:"+h.Key)
		args = append(args, h.SHA)
	}
	for _, j := range d.Jobs {
		j, err := prepare(j, now)
		if err != nil {
			return false, fmt.Errorf("delivery %s: %w", d.ID, err)
		}
		args = append(args, encodeJob(j))
	}
	var n int
	err := r.replicated(ctx, r.stream, func(c redis.Cmdable) error {
		var err error
		n, err = deliveryScript.Run(ctx, c.(redis.Scripter), keys, args...).Int()
		return err
	})
	if err != nil {
		return false, fmt.Errorf("delivery %s: %w", d.ID, err)
	}
	return n == 1, nil
}

func (r *redisStore) SetLatest(ctx context.Context, key, sha string) error {
	if err := r.c.Set(ctx, r.q+"latest:"+key, sha, r.opts.LatestTTL).Err(); err != nil {
		return fmt.Errorf("set latest %s: %w", key, err)
	}
	return nil
}

func (r *redisStore) IsLatest(ctx context.Context, key, sha string) (bool, error) {
	cur, err := r.c.Get(ctx, r.q+"latest:"+key).Result()
	if errors.Is(err, redis.Nil) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("is latest %s: %w", key, err)
	}
	return cur == sha, nil
}

// instTag is the hash-tagged start of an installation's keys.
func (r *redisStore) instTag(installation int64) string {
	return r.opts.Prefix + "{i:" + strconv.FormatInt(installation, 10) + "}:"
}

func (r *redisStore) regKey(installation int64) string { return r.instTag(installation) + "reg" }

func (r *redisStore) verKey(installation int64) string { return r.instTag(installation) + "ver" }

// listInstallation adds the installation to P+"installations" (see the
// type's comment for why outside the registry's MULTI).
func (r *redisStore) listInstallation(ctx context.Context, installation int64) error {
	return r.c.SAdd(ctx, r.installations, installation).Err()
}

func (r *redisStore) PutRepo(ctx context.Context, installation int64, repo string, products []*mesh.Product) error {
	_, err := r.put(ctx, installation, repo, products, nil)
	return err
}

func (r *redisStore) PutRepoSources(ctx context.Context, installation int64, repo string, products []*mesh.Product, src Sources) (int, error) {
	return r.put(ctx, installation, repo, products, &src)
}

func (r *redisStore) put(ctx context.Context, installation int64, repo string, products []*mesh.Product, src *Sources) (int, error) {
	ps, err := stamped(repo, products)
	if err != nil {
		return 0, fmt.Errorf("registry: put %d/%s: %w", installation, repo, err)
	}
	b, stored, err := encodeRecordSized(ps, src)
	if err != nil {
		return 0, fmt.Errorf("registry: put %d/%s: %w", installation, repo, err)
	}
	if err := r.listInstallation(ctx, installation); err != nil {
		return 0, fmt.Errorf("registry: put %d/%s: %w", installation, repo, err)
	}
	_, err = r.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, r.regKey(installation), repo, b)
		p.Incr(ctx, r.verKey(installation))
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("registry: put %d/%s: %w", installation, repo, err)
	}
	// Again after the write: a DeleteInstallation between the first add and
	// the write has removed it.
	if err := r.listInstallation(ctx, installation); err != nil {
		return 0, fmt.Errorf("registry: put %d/%s: %w", installation, repo, err)
	}
	return stored, nil
}

func (r *redisStore) DeleteRepo(ctx context.Context, installation int64, repo string) error {
	_, err := r.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HDel(ctx, r.regKey(installation), repo)
		p.Incr(ctx, r.verKey(installation))
		return nil
	})
	if err != nil {
		return fmt.Errorf("registry: delete %d/%s: %w", installation, repo, err)
	}
	return nil
}

func (r *redisStore) DeleteInstallation(ctx context.Context, installation int64) error {
	if err := r.c.SRem(ctx, r.installations, installation).Err(); err != nil {
		return fmt.Errorf("registry: delete installation %d: %w", installation, err)
	}
	_, err := r.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, r.regKey(installation))
		p.Incr(ctx, r.verKey(installation))
		return nil
	})
	if err != nil {
		return fmt.Errorf("registry: delete installation %d: %w", installation, err)
	}
	return nil
}

func (r *redisStore) ProductsByRepo(ctx context.Context, installation int64) ([]RepoProducts, error) {
	all, err := r.c.HGetAll(ctx, r.regKey(installation)).Result()
	if err != nil {
		return nil, fmt.Errorf("registry: read %d: %w", installation, err)
	}
	out := make([]RepoProducts, 0, len(all))
	for repo := range all {
		out = append(out, RepoProducts{Repo: repo})
	}
	slices.SortFunc(out, func(a, b RepoProducts) int { return strings.Compare(a.Repo, b.Repo) })
	// Decoding dominates for big registries; repositories decode independently.
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i := range out {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			ps, err := decodeProducts([]byte(all[out[i].Repo]))
			if err != nil {
				out[i].Unreadable = fmt.Errorf("registry: %d/%s: %w", installation, out[i].Repo, err)
				return
			}
			out[i].Products = ps
		})
	}
	wg.Wait()
	return out, nil
}

func (r *redisStore) Products(ctx context.Context, installation int64) ([]*mesh.Product, error) {
	rs, err := r.ProductsByRepo(ctx, installation)
	if err != nil {
		return nil, err
	}
	return flatten(rs), nil
}

func (r *redisStore) Sources(ctx context.Context, installation int64) ([]RepoSources, error) {
	all, err := r.c.HGetAll(ctx, r.regKey(installation)).Result()
	if err != nil {
		return nil, fmt.Errorf("registry: sources of %d: %w", installation, err)
	}
	out := make([]RepoSources, 0, len(all))
	for _, repo := range slices.Sorted(maps.Keys(all)) {
		rs := recordSources(repo, []byte(all[repo]))
		if rs.Unreadable != nil {
			rs.Unreadable = fmt.Errorf("registry: %d/%s: %w", installation, repo, rs.Unreadable)
		}
		out = append(out, rs)
	}
	return out, nil
}

func (r *redisStore) Repos(ctx context.Context, installation int64) ([]string, error) {
	repos, err := r.c.HKeys(ctx, r.regKey(installation)).Result()
	if err != nil {
		return nil, fmt.Errorf("registry: repos of %d: %w", installation, err)
	}
	slices.Sort(repos)
	return repos, nil
}

func (r *redisStore) Installations(ctx context.Context) ([]int64, error) {
	ms, err := r.c.SMembers(ctx, r.installations).Result()
	if err != nil {
		return nil, fmt.Errorf("registry: installations: %w", err)
	}
	out := make([]int64, 0, len(ms))
	for _, m := range ms {
		id, err := strconv.ParseInt(m, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("registry: installation %q: %w", m, err)
		}
		out = append(out, id)
	}
	slices.Sort(out)
	return out, nil
}

func (r *redisStore) Version(ctx context.Context, installation int64) (uint64, error) {
	v, err := r.c.Get(ctx, r.verKey(installation)).Uint64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("registry: version of %d: %w", installation, err)
	}
	return v, nil
}
