package store

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/meshbot/meshbot/internal/mesh"
)

// memory is the embedded store: the semantics of the Redis store (leases,
// takeover after the visibility timeout, retries with backoff, dead letters)
// inside one process, guarded by one mutex. Nothing survives a restart and
// nothing is shared with other replicas, so it suits one `meshbot serve`
// without REDIS_URL. Registry products are kept as given, not copied.
type memory struct {
	opts Options

	mu       sync.Mutex
	wake     chan struct{} // closed and replaced whenever a job becomes claimable
	closed   bool
	seq      uint64
	ready    []*memEntry          // FIFO
	inflight map[string]*memEntry // by ref
	delayed  []*memEntry          // retries, any order; notBefore says when
	dead     []DeadLetter         // oldest first
	dedup    map[string]time.Time // id → expiry
	sweepAt  time.Time
	latest   map[string]memLatest
	repos    map[int64]map[string][]*mesh.Product
	sources  map[int64]map[string]RepoSources // packed as Redis keeps them, so sizes agree
	versions map[int64]uint64
	marks    map[string]memMark // Marks: "mark:"+name and "lease:"+name
	appr     memApprovals
	policy   memPolicy // Policies
}

type memEntry struct {
	ref        string
	job        Job
	deliveries int       // claims of this entry; more than one means leases expired
	worker     string    // lease owner while in flight
	deadline   time.Time // lease expiry while in flight
	notBefore  time.Time // while delayed
	readySince time.Time // while ready: enqueued, or its retry fell due
}

type memLatest struct {
	sha     string
	expires time.Time
}

// NewMemory returns the embedded single-replica store.
func NewMemory(opts Options) Store {
	return &memory{
		opts:     opts.withDefaults(),
		wake:     make(chan struct{}),
		inflight: map[string]*memEntry{},
		dedup:    map[string]time.Time{},
		latest:   map[string]memLatest{},
		repos:    map[int64]map[string][]*mesh.Product{},
		sources:  map[int64]map[string]RepoSources{},
		versions: map[int64]uint64{},
	}
}

func (m *memory) Kind() string { return "memory" }

func (m *memory) Ping(context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	return nil
}

func (m *memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.closed {
		m.closed = true
		m.signal()
	}
	return nil
}

// signal wakes every waiting Claim. The caller holds mu.
func (m *memory) signal() {
	close(m.wake)
	m.wake = make(chan struct{})
}

func (m *memory) Enqueue(ctx context.Context, j Job) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("enqueue %s: %w", j.ID, err)
	}
	j, err := prepare(j, m.opts.Now())
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	m.push(j)
	return nil
}

// push appends a fresh entry to the ready queue. The caller holds mu.
func (m *memory) push(j Job) {
	m.seq++
	m.ready = append(m.ready, &memEntry{ref: strconv.FormatUint(m.seq, 10), job: j, readySince: m.opts.Now()})
	m.signal()
}

func (m *memory) Claim(ctx context.Context, worker string, wait time.Duration) (*Lease, error) {
	until := time.Now().Add(wait)
	for {
		m.mu.Lock()
		if m.closed {
			m.mu.Unlock()
			return nil, ErrClosed
		}
		// The wait is real time; due times are on the store's clock.
		now, clock := time.Now(), m.opts.Now()
		l, next := m.claimLocked(worker, clock)
		wake := m.wake
		m.mu.Unlock()
		if l != nil {
			return l, nil
		}
		if !now.Before(until) {
			return nil, nil
		}
		sleep := until.Sub(now)
		if !next.IsZero() {
			sleep = min(sleep, max(next.Sub(clock), time.Millisecond))
		}
		t := time.NewTimer(sleep)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("claim: %w", ctx.Err())
		case <-wake:
			t.Stop()
		case <-t.C:
		}
	}
}

// claimLocked takes over an expired lease, else promotes due retries and
// pops the oldest ready job. Without a job it returns the next moment one
// could appear without an Enqueue (a retry falling due or a lease expiring).
func (m *memory) claimLocked(worker string, now time.Time) (*Lease, time.Time) {
	var next time.Time
	earliest := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	// Takeover first, oldest first, so a dead worker's job is not starved by
	// a steady stream of new ones.
	for _, e := range slices.SortedFunc(maps.Values(m.inflight), byRef) {
		if e.deadline.After(now) {
			earliest(e.deadline)
			continue
		}
		if l := m.lease(e, worker, now); l != nil {
			return l, time.Time{}
		}
	}
	kept := m.delayed[:0]
	for _, e := range m.delayed {
		if e.notBefore.After(now) {
			kept = append(kept, e)
			earliest(e.notBefore)
			continue
		}
		m.seq++
		e.ref = strconv.FormatUint(m.seq, 10)
		e.readySince = e.notBefore
		m.ready = append(m.ready, e)
	}
	clear(m.delayed[len(kept):])
	m.delayed = kept
	for len(m.ready) > 0 {
		e := m.ready[0]
		m.ready[0] = nil
		m.ready = m.ready[1:]
		if l := m.lease(e, worker, now); l != nil {
			return l, time.Time{}
		}
	}
	return nil, next
}

// lease hands e to worker (Abandoned when its leases have expired so often
// that it exceeds MaxAttempts), or dead-letters it when its Abandoned
// leases expired too (nil then).
func (m *memory) lease(e *memEntry, worker string, now time.Time) *Lease {
	e.deliveries++
	j := e.job
	j.Attempt += e.deliveries - 1
	abandoned, gone := m.opts.abandonedLease(j.Attempt)
	if gone {
		delete(m.inflight, e.ref)
		m.dead = append(m.dead, m.opts.abandoned(j, now))
		return nil
	}
	e.worker = worker
	e.deadline = now.Add(m.opts.VisibilityTimeout)
	m.inflight[e.ref] = e
	return &Lease{Job: j, Worker: worker, Last: j.Attempt >= m.opts.MaxAttempts, Abandoned: abandoned, ref: e.ref}
}

func byRef(a, b *memEntry) int {
	return cmp.Or(cmp.Compare(len(a.ref), len(b.ref)), cmp.Compare(a.ref, b.ref))
}

// owned returns the in-flight entry of l if l's worker still holds it.
func (m *memory) owned(l *Lease) (*memEntry, error) {
	if m.closed {
		return nil, ErrClosed
	}
	e, ok := m.inflight[l.ref]
	if !ok || e.worker != l.Worker {
		return nil, fmt.Errorf("job %s: %w", l.Job.ID, ErrLeaseLost)
	}
	return e, nil
}

func (m *memory) Extend(_ context.Context, l *Lease) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, err := m.owned(l)
	if err != nil {
		return err
	}
	e.deadline = m.opts.Now().Add(m.opts.VisibilityTimeout)
	return nil
}

func (m *memory) Ack(_ context.Context, l *Lease) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	delete(m.inflight, l.ref)
	return nil
}

func (m *memory) Fail(_ context.Context, l *Lease, cause error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.owned(l); err != nil {
		return err
	}
	delete(m.inflight, l.ref)
	now := m.opts.Now()
	next, notBefore, dead := m.opts.failure(l, cause, now)
	if dead != nil {
		m.dead = append(m.dead, *dead)
		return nil
	}
	m.delayed = append(m.delayed, &memEntry{job: next, notBefore: notBefore})
	// A waiting Claim must recompute when to look again.
	m.signal()
	return nil
}

func (m *memory) Defer(_ context.Context, l *Lease, until time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.owned(l); err != nil {
		return err
	}
	delete(m.inflight, l.ref)
	// l.Job.Attempt already counts expired leases; the new entry starts
	// with no deliveries, so the attempt comes back unchanged.
	m.delayed = append(m.delayed, &memEntry{job: l.Job, notBefore: until})
	m.signal()
	return nil
}

func (m *memory) DeadLetters(_ context.Context, limit int) ([]DeadLetter, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []DeadLetter
	for i := len(m.dead) - 1; i >= 0 && len(out) < limit; i-- {
		out = append(out, m.dead[i])
	}
	return out, nil
}

func (m *memory) Stats(context.Context) (QueueStats, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var oldest time.Time
	older := func(t time.Time) {
		if oldest.IsZero() || t.Before(oldest) {
			oldest = t
		}
	}
	for _, e := range m.ready {
		older(e.readySince)
	}
	now := m.opts.Now()
	for _, e := range m.delayed {
		if !e.notBefore.After(now) { // due, promoted by the next Claim
			older(e.notBefore)
		}
	}
	return QueueStats{
		Pending:     int64(len(m.ready)),
		InFlight:    int64(len(m.inflight)),
		Delayed:     int64(len(m.delayed)),
		Dead:        int64(len(m.dead)),
		OldestReady: oldest,
	}, nil
}

func (m *memory) FirstDelivery(_ context.Context, id string, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, fmt.Errorf("dedup %s: ttl %v must be positive", id, ttl)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	m.sweep(now)
	if exp, ok := m.dedup[id]; ok && exp.After(now) {
		return false, nil
	}
	m.dedup[id] = now.Add(ttl)
	return true, nil
}

func (m *memory) EnqueueDelivery(ctx context.Context, d Delivery) (bool, error) {
	if d.TTL <= 0 {
		return false, fmt.Errorf("delivery %s: ttl %v must be positive", d.ID, d.TTL)
	}
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("delivery %s: %w", d.ID, err)
	}
	now := time.Now()
	jobs := make([]Job, len(d.Jobs))
	for i, j := range d.Jobs {
		var err error
		if jobs[i], err = prepare(j, now); err != nil {
			return false, fmt.Errorf("delivery %s: %w", d.ID, err)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return false, ErrClosed
	}
	m.sweep(now)
	if exp, ok := m.dedup[d.ID]; ok && exp.After(now) {
		return false, nil
	}
	m.dedup[d.ID] = now.Add(d.TTL)
	for _, h := range d.Heads {
		m.latest[h.Key] = memLatest{sha: h.SHA, expires: now.Add(m.opts.LatestTTL)}
	}
	for _, j := range jobs {
		m.push(j)
	}
	return true, nil
}

// sweep drops expired delivery ids and head SHAs at most once a minute: the
// maps stay bounded by what one TTL sees without a scan on every call. The
// caller holds mu.
func (m *memory) sweep(now time.Time) {
	if now.Before(m.sweepAt) {
		return
	}
	maps.DeleteFunc(m.dedup, func(_ string, exp time.Time) bool { return !exp.After(now) })
	maps.DeleteFunc(m.latest, func(_ string, l memLatest) bool { return !l.expires.After(now) })
	m.sweepAt = now.Add(time.Minute)
}

func (m *memory) SetLatest(_ context.Context, key, sha string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	m.sweep(now)
	m.latest[key] = memLatest{sha: sha, expires: now.Add(m.opts.LatestTTL)}
	return nil
}

func (m *memory) IsLatest(_ context.Context, key, sha string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.latest[key]
	if !ok || !l.expires.After(time.Now()) {
		return true, nil
	}
	return l.sha == sha, nil
}

func (m *memory) PutRepo(ctx context.Context, installation int64, repo string, products []*mesh.Product) error {
	_, err := m.put(ctx, installation, repo, products, nil)
	return err
}

func (m *memory) PutRepoSources(ctx context.Context, installation int64, repo string, products []*mesh.Product, src Sources) (int, error) {
	return m.put(ctx, installation, repo, products, &src)
}

func (m *memory) put(_ context.Context, installation int64, repo string, products []*mesh.Product, src *Sources) (int, error) {
	stored, err := stamped(repo, products)
	if err != nil {
		return 0, fmt.Errorf("registry: put %d/%s: %w", installation, repo, err)
	}
	var rs RepoSources
	if src != nil {
		sec, err := packSources(*src)
		if err != nil {
			return 0, fmt.Errorf("registry: put %d/%s: %w", installation, repo, err)
		}
		if rs, err = unpackSources(repo, sec); err != nil {
			return 0, fmt.Errorf("registry: put %d/%s: %w", installation, repo, err)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.repos[installation] == nil {
		m.repos[installation] = map[string][]*mesh.Product{}
		m.sources[installation] = map[string]RepoSources{}
	}
	m.repos[installation][repo] = stored
	if src != nil {
		m.sources[installation][repo] = rs
	} else {
		delete(m.sources[installation], repo)
	}
	m.versions[installation]++
	return rs.Stored, nil
}

func (m *memory) DeleteRepo(_ context.Context, installation int64, repo string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.repos[installation], repo)
	delete(m.sources[installation], repo)
	m.versions[installation]++
	return nil
}

func (m *memory) DeleteInstallation(_ context.Context, installation int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.repos, installation)
	delete(m.sources, installation)
	m.versions[installation]++
	m.appr.forget(installation)
	return nil
}

func (m *memory) Sources(_ context.Context, installation int64) ([]RepoSources, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	repos := m.repos[installation]
	out := make([]RepoSources, 0, len(repos))
	for _, r := range slices.Sorted(maps.Keys(repos)) {
		rs, ok := m.sources[installation][r]
		if !ok {
			rs = RepoSources{Repo: r, Unreadable: fmt.Errorf("registry: %d/%s: %w", installation, r, ErrNoSources)}
		}
		rs.products, rs.kept = slices.Clone(repos[r]), true
		out = append(out, rs)
	}
	return out, nil
}

func (m *memory) ProductsByRepo(_ context.Context, installation int64) ([]RepoProducts, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	repos := m.repos[installation]
	out := make([]RepoProducts, 0, len(repos))
	for _, r := range slices.Sorted(maps.Keys(repos)) {
		out = append(out, RepoProducts{Repo: r, Products: slices.Clone(repos[r])})
	}
	return out, nil
}

func (m *memory) Products(ctx context.Context, installation int64) ([]*mesh.Product, error) {
	rs, err := m.ProductsByRepo(ctx, installation)
	if err != nil {
		return nil, err
	}
	return flatten(rs), nil
}

func (m *memory) Repos(_ context.Context, installation int64) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Sorted(maps.Keys(m.repos[installation])), nil
}

func (m *memory) Installations(context.Context) ([]int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Sorted(maps.Keys(m.repos)), nil
}

func (m *memory) Version(_ context.Context, installation int64) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.versions[installation], nil
}

// stamped returns ps as the registry keeps them: Repo set to repo (on a
// shallow copy when it differs; the caller's products are not modified) and
// in file order (stable, so products of one multi-document file keep their
// order).
func stamped(repo string, ps []*mesh.Product) ([]*mesh.Product, error) {
	out := slices.Clone(ps)
	for i, p := range out {
		if p == nil {
			return nil, fmt.Errorf("product %d is nil", i)
		}
		if p.Repo != repo {
			cp := *p
			cp.Repo = repo
			out[i] = &cp
		}
	}
	slices.SortStableFunc(out, func(a, b *mesh.Product) int { return cmp.Compare(a.File, b.File) })
	return out, nil
}

func flatten(rs []RepoProducts) []*mesh.Product {
	n := 0
	for _, r := range rs {
		n += len(r.Products)
	}
	out := make([]*mesh.Product, 0, n)
	for _, r := range rs {
		out = append(out, r.Products...)
	}
	return out
}
