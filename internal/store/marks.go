package store

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Marks is what periodic work shared by every replica keeps in the store:
// whether a delivery id is already known (without recording it), named
// values that outlive a process (a sweep's high-water mark), and named
// leases held by one holder until they expire or are released (so that one
// replica, not each, does the work of a period).
type Marks interface {
	// SeenDelivery reports whether the dedup remembers delivery id; unlike
	// FirstDelivery it records nothing, so a delivery still to come is not
	// dropped as a duplicate because someone looked.
	SeenDelivery(ctx context.Context, id string) (bool, error)
	// Mark reads the value stored under name; "" when there is none.
	Mark(ctx context.Context, name string) (string, error)
	// SetMark stores value under name, for ttl (0: until replaced).
	SetMark(ctx context.Context, name, value string, ttl time.Duration) error
	// Acquire takes the lease name for holder for ttl, when nobody holds it
	// or holder already does (which extends it), and reports whether holder
	// holds it now.
	Acquire(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	// Release gives the lease up if holder holds it; otherwise it does
	// nothing (the lease expired and someone else may hold it now).
	Release(ctx context.Context, name, holder string) error
}

func (r *redisStore) SeenDelivery(ctx context.Context, id string) (bool, error) {
	n, err := r.c.Exists(ctx, r.q+"dedup:"+id).Result()
	if err != nil {
		return false, fmt.Errorf("dedup %s: %w", id, err)
	}
	return n == 1, nil
}

func (r *redisStore) Mark(ctx context.Context, name string) (string, error) {
	v, err := r.c.Get(ctx, r.q+"mark:"+name).Result()
	if err == redis.Nil {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("mark %s: %w", name, err)
	}
	return v, nil
}

func (r *redisStore) SetMark(ctx context.Context, name, value string, ttl time.Duration) error {
	if ttl < 0 {
		return fmt.Errorf("mark %s: ttl %v is negative", name, ttl)
	}
	key := r.q + "mark:" + name
	err := r.replicated(ctx, key, func(c redis.Cmdable) error { return c.Set(ctx, key, value, ttl).Err() })
	if err != nil {
		return fmt.Errorf("mark %s: %w", name, err)
	}
	return nil
}

// acquireScript: take the lease when free, or extend it for its holder.
// KEYS: lease key; ARGV: holder, ttl ms.
var acquireScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`)

// releaseScript deletes the lease only for its holder. KEYS: lease key;
// ARGV: holder.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
`)

func (r *redisStore) Acquire(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	if ttl <= 0 || holder == "" {
		return false, fmt.Errorf("lease %s: holder %q and ttl %v are required", name, holder, ttl)
	}
	key := r.q + "lease:" + name
	var n int
	err := r.replicated(ctx, key, func(c redis.Cmdable) error {
		var err error
		n, err = acquireScript.Run(ctx, c.(redis.Scripter), []string{key}, holder, max(ttl.Milliseconds(), 1)).Int()
		return err
	})
	if err != nil {
		return false, fmt.Errorf("lease %s: %w", name, err)
	}
	return n == 1, nil
}

func (r *redisStore) Release(ctx context.Context, name, holder string) error {
	key := r.q + "lease:" + name
	err := r.replicated(ctx, key, func(c redis.Cmdable) error {
		return releaseScript.Run(ctx, c.(redis.Scripter), []string{key}, holder).Err()
	})
	if err != nil {
		return fmt.Errorf("release lease %s: %w", name, err)
	}
	return nil
}

type memMark struct {
	value   string
	expires time.Time // zero: never
}

func (v memMark) live(now time.Time) bool { return v.expires.IsZero() || v.expires.After(now) }

func (m *memory) SeenDelivery(_ context.Context, id string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	exp, ok := m.dedup[id]
	return ok && exp.After(time.Now()), nil
}

func (m *memory) Mark(_ context.Context, name string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if v, ok := m.marks["mark:"+name]; ok && v.live(time.Now()) {
		return v.value, nil
	}
	return "", nil
}

func (m *memory) SetMark(_ context.Context, name, value string, ttl time.Duration) error {
	if ttl < 0 {
		return fmt.Errorf("mark %s: ttl %v is negative", name, ttl)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	v := memMark{value: value}
	if ttl > 0 {
		v.expires = time.Now().Add(ttl)
	}
	m.setMarkLocked("mark:"+name, v)
	return nil
}

func (m *memory) Acquire(_ context.Context, name, holder string, ttl time.Duration) (bool, error) {
	if ttl <= 0 || holder == "" {
		return false, fmt.Errorf("lease %s: holder %q and ttl %v are required", name, holder, ttl)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	if v, ok := m.marks["lease:"+name]; ok && v.live(now) && v.value != holder {
		return false, nil
	}
	m.setMarkLocked("lease:"+name, memMark{value: holder, expires: now.Add(ttl)})
	return true, nil
}

func (m *memory) Release(_ context.Context, name, holder string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if v, ok := m.marks["lease:"+name]; ok && v.value == holder {
		delete(m.marks, "lease:"+name)
	}
	return nil
}

// setMarkLocked stores v, first dropping expired entries so the map stays
// bounded by what is live. The caller holds mu.
func (m *memory) setMarkLocked(key string, v memMark) {
	if m.marks == nil {
		m.marks = map[string]memMark{}
	}
	now := time.Now()
	for k, old := range m.marks {
		if !old.live(now) {
			delete(m.marks, k)
		}
	}
	m.marks[key] = v
}
