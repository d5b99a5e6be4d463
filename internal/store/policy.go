package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Policies is the governance guild's active policy, shared by every
// replica: which commit of the policy repository is active, and a copy of
// that commit's bundle, so a replica that learns of it (or starts) loads
// exactly the bytes the activating replica compiled and tested, without a
// GitHub call and while GitHub is down.
type Policies interface {
	// ActivatePolicy stores bundle under rec.Commit and records rec as the
	// active policy in one step, then tells every replica watching
	// (WatchPolicy). It returns rec as recorded, with Seq set: one more
	// than the previous record's.
	ActivatePolicy(ctx context.Context, rec PolicyRecord, bundle []byte) (PolicyRecord, error)
	// ActivePolicy is the recorded active policy; ok is false when no
	// policy was ever activated.
	ActivePolicy(ctx context.Context) (rec PolicyRecord, ok bool, err error)
	// PolicyBundle is the bundle stored for commit; ErrNoBundle when none
	// is (an old commit's bundle expires once another is active).
	PolicyBundle(ctx context.Context, commit string) ([]byte, error)
	// WatchPolicy delivers a signal each time any replica activates a
	// policy, until ctx ends (then the channel is closed). Signals may be
	// lost (a dropped connection, a slow reader): read ActivePolicy on each
	// and also poll it now and then.
	WatchPolicy(ctx context.Context) (<-chan struct{}, error)
}

// PolicyRecord is the active policy.
type PolicyRecord struct {
	Repo        string    `json:"repo"`    // owner/name of the policy repository
	Commit      string    `json:"commit"`  // the commit the bundle was read at
	Version     string    `json:"version"` // policyeval.Set.Version of the bundle
	Seq         uint64    `json:"seq"`     // grows with every activation; replicas switch only forward
	ActivatedAt time.Time `json:"activated_at"`
}

// ErrNoBundle: no bundle is stored for that commit.
var ErrNoBundle = errors.New("store: no policy bundle for that commit")

// oldBundleTTL is how long a bundle that is no longer active is kept: long
// enough for a replica that was told of it late to read it, short enough
// that years of merges do not pile up.
const oldBundleTTL = 24 * time.Hour

// Redis keys share the {policy} hash tag, so the activation script's keys
// are in one Cluster slot.
func (r *redisStore) policyKey(name string) string { return r.opts.Prefix + "{policy}:" + name }
func (r *redisStore) policyChannel() string        { return r.opts.Prefix + "policy:activated" }

// activateScript records the active policy: the bundle without expiry, the
// previous active bundle set to expire, the record with the next sequence
// number, and a notice on the channel.
// KEYS: active record, bundle of the new commit, bundle prefix.
// ARGV: record JSON without seq, bundle bytes, old bundle ttl ms, channel.
var activateScript = redis.NewScript(`
local prev = redis.call('GET', KEYS[1])
local seq = 1
if prev then
  local p = cjson.decode(prev)
  seq = (tonumber(p['seq']) or 0) + 1
  if p['commit'] and KEYS[3] .. p['commit'] ~= KEYS[2] then
    redis.call('PEXPIRE', KEYS[3] .. p['commit'], ARGV[3])
  end
end
redis.call('SET', KEYS[2], ARGV[2])
local rec = cjson.decode(ARGV[1])
rec['seq'] = seq
local out = cjson.encode(rec)
redis.call('SET', KEYS[1], out)
redis.call('PUBLISH', ARGV[4], rec['commit'])
return out
`)

func (r *redisStore) ActivatePolicy(ctx context.Context, rec PolicyRecord, bundle []byte) (PolicyRecord, error) {
	if rec.Commit == "" {
		return rec, errors.New("activate policy: no commit")
	}
	rec.Seq = 0
	in, err := json.Marshal(rec)
	if err != nil {
		return rec, fmt.Errorf("activate policy %s: %w", rec.Commit, err)
	}
	active := r.policyKey("active")
	var out string
	err = r.replicated(ctx, active, func(c redis.Cmdable) error {
		var err error
		out, err = activateScript.Run(ctx, c.(redis.Scripter),
			[]string{active, r.policyKey("bundle:" + rec.Commit), r.policyKey("bundle:")},
			in, bundle, oldBundleTTL.Milliseconds(), r.policyChannel()).Text()
		return err
	})
	if err != nil {
		return rec, fmt.Errorf("activate policy %s: %w", rec.Commit, err)
	}
	if err := json.Unmarshal([]byte(out), &rec); err != nil {
		return rec, fmt.Errorf("activate policy %s: recorded %q: %w", rec.Commit, out, err)
	}
	return rec, nil
}

func (r *redisStore) ActivePolicy(ctx context.Context) (PolicyRecord, bool, error) {
	b, err := r.c.Get(ctx, r.policyKey("active")).Bytes()
	if err == redis.Nil {
		return PolicyRecord{}, false, nil
	}
	if err != nil {
		return PolicyRecord{}, false, fmt.Errorf("active policy: %w", err)
	}
	var rec PolicyRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return PolicyRecord{}, false, fmt.Errorf("active policy: record %q: %w", b, err)
	}
	return rec, true, nil
}

func (r *redisStore) PolicyBundle(ctx context.Context, commit string) ([]byte, error) {
	b, err := r.c.Get(ctx, r.policyKey("bundle:"+commit)).Bytes()
	if err == redis.Nil {
		return nil, fmt.Errorf("policy bundle %s: %w", commit, ErrNoBundle)
	}
	if err != nil {
		return nil, fmt.Errorf("policy bundle %s: %w", commit, err)
	}
	return b, nil
}

func (r *redisStore) WatchPolicy(ctx context.Context) (<-chan struct{}, error) {
	sub := r.c.Subscribe(ctx, r.policyChannel())
	// Receive the subscription's confirmation, so a notice published after
	// WatchPolicy returns is not missed.
	if _, err := sub.Receive(ctx); err != nil {
		sub.Close()
		return nil, fmt.Errorf("watch policy: subscribe: %w", err)
	}
	out := make(chan struct{}, 1)
	msgs := sub.Channel()
	go func() {
		defer close(out)
		defer sub.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case _, ok := <-msgs:
				if !ok {
					return
				}
				select {
				case out <- struct{}{}:
				default: // one pending signal says it all: the reader reads the record
				}
			}
		}
	}()
	return out, nil
}

// memPolicy is the memory store's record of the active policy.
type memPolicy struct {
	rec      PolicyRecord
	ok       bool
	bundles  map[string][]byte
	watchers map[chan struct{}]bool
}

func (m *memory) ActivatePolicy(_ context.Context, rec PolicyRecord, bundle []byte) (PolicyRecord, error) {
	if rec.Commit == "" {
		return rec, errors.New("activate policy: no commit")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	p := &m.policy
	if p.bundles == nil {
		p.bundles = map[string][]byte{}
	}
	// One process: only the active bundle is ever read again.
	clear(p.bundles)
	p.bundles[rec.Commit] = bundle
	rec.Seq = p.rec.Seq + 1
	p.rec, p.ok = rec, true
	for w := range p.watchers {
		select {
		case w <- struct{}{}:
		default:
		}
	}
	return rec, nil
}

func (m *memory) ActivePolicy(context.Context) (PolicyRecord, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.policy.rec, m.policy.ok, nil
}

func (m *memory) PolicyBundle(_ context.Context, commit string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.policy.bundles[commit]
	if !ok {
		return nil, fmt.Errorf("policy bundle %s: %w", commit, ErrNoBundle)
	}
	return b, nil
}

func (m *memory) WatchPolicy(ctx context.Context) (<-chan struct{}, error) {
	w := make(chan struct{}, 1)
	m.mu.Lock()
	if m.policy.watchers == nil {
		m.policy.watchers = map[chan struct{}]bool{}
	}
	m.policy.watchers[w] = true
	m.mu.Unlock()
	out := make(chan struct{}, 1)
	go func() {
		defer close(out)
		defer func() {
			m.mu.Lock()
			delete(m.policy.watchers, w)
			m.mu.Unlock()
		}()
		for {
			select {
			case <-ctx.Done():
				return
			case <-w:
				select {
				case out <- struct{}{}:
				default:
				}
			}
		}
	}()
	return out, nil
}
