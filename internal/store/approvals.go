package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Approvals is what `/mesh approve` and the pull-request check share, per
// installation and pull request ("owner/repo#17"): the consumers the
// newest checked head breaks, and the consumers' approvals of the change.
type Approvals interface {
	// SetBreaks records what the check of b.SHA found broken (an empty
	// Consumers: nothing), replacing the previous record.
	SetBreaks(ctx context.Context, installation int64, pr string, b Breaks) error
	// Breaks is the last record; zero (SHA "") when there is none.
	Breaks(ctx context.Context, installation int64, pr string) (Breaks, error)
	// Approve records a, replacing an earlier approval for its consumer.
	Approve(ctx context.Context, installation int64, pr string, a Approval) error
	// Unapprove removes the approval for consumer and returns it; ok is
	// false when there was none.
	Unapprove(ctx context.Context, installation int64, pr, consumer string) (a Approval, ok bool, err error)
	// ApprovalsOf lists the pull request's approvals, by consumer.
	ApprovalsOf(ctx context.Context, installation int64, pr string) ([]Approval, error)
}

// PRKey names a pull request in Approvals, within its installation:
// "owner/repo#17".
func PRKey(owner, repo string, pr int) string { return fmt.Sprintf("%s/%s#%d", owner, repo, pr) }

// Breaks is the consumers one checked head of a pull request breaks.
type Breaks struct {
	SHA       string           `json:"sha"`
	Consumers []BrokenConsumer `json:"consumers"`
}

// BrokenConsumer is one consumer a change breaks: who owns it, where it
// lives, and the fingerprints of the findings that break it.
type BrokenConsumer struct {
	Consumer string   `json:"consumer"`
	Owner    string   `json:"owner,omitempty"`
	Repo     string   `json:"repo,omitempty"`
	Breaks   []string `json:"breaks"`
}

// Approval is a consumer's acceptance of a pull request's breaking
// changes: who gave it, at which head, accepting which findings.
type Approval struct {
	Consumer string    `json:"consumer"`
	By       string    `json:"by"`
	SHA      string    `json:"sha"`
	Breaks   []string  `json:"breaks"`
	At       time.Time `json:"at"`
}

// approvalTTL bounds how long a pull request's approvals and breaks are
// kept after their last write: longer than any pull request stays open
// unattended, short enough that closed ones do not pile up.
const approvalTTL = 90 * 24 * time.Hour

func (r *redisStore) breaksKey(installation int64, pr string) string {
	return r.instTag(installation) + "breaks:" + pr
}

func (r *redisStore) approvalsKey(installation int64, pr string) string {
	return r.instTag(installation) + "approvals:" + pr
}

func (r *redisStore) SetBreaks(ctx context.Context, installation int64, pr string, b Breaks) error {
	v, err := json.Marshal(b)
	if err != nil {
		return fmt.Errorf("breaks %d/%s: %w", installation, pr, err)
	}
	if err := r.c.Set(ctx, r.breaksKey(installation, pr), v, approvalTTL).Err(); err != nil {
		return fmt.Errorf("breaks %d/%s: %w", installation, pr, err)
	}
	return nil
}

func (r *redisStore) Breaks(ctx context.Context, installation int64, pr string) (Breaks, error) {
	var b Breaks
	v, err := r.c.Get(ctx, r.breaksKey(installation, pr)).Bytes()
	if err == redis.Nil {
		return b, nil
	}
	if err == nil {
		err = json.Unmarshal(v, &b)
	}
	if err != nil {
		return Breaks{}, fmt.Errorf("breaks %d/%s: %w", installation, pr, err)
	}
	return b, nil
}

func (r *redisStore) Approve(ctx context.Context, installation int64, pr string, a Approval) error {
	v, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("approve %d/%s for %s: %w", installation, pr, a.Consumer, err)
	}
	key := r.approvalsKey(installation, pr)
	_, err = r.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, key, a.Consumer, v)
		p.Expire(ctx, key, approvalTTL)
		return nil
	})
	if err != nil {
		return fmt.Errorf("approve %d/%s for %s: %w", installation, pr, a.Consumer, err)
	}
	return nil
}

// unapproveScript removes a hash field and returns what it held, in one
// step: two people withdrawing at once get one "withdrawn", one "none".
var unapproveScript = redis.NewScript(`
local v = redis.call('HGET', KEYS[1], ARGV[1])
if v then redis.call('HDEL', KEYS[1], ARGV[1]) end
return v
`)

func (r *redisStore) Unapprove(ctx context.Context, installation int64, pr, consumer string) (Approval, bool, error) {
	v, err := unapproveScript.Run(ctx, r.c, []string{r.approvalsKey(installation, pr)}, consumer).Text()
	if err == redis.Nil {
		return Approval{}, false, nil
	}
	var a Approval
	if err == nil {
		err = json.Unmarshal([]byte(v), &a)
	}
	if err != nil {
		return Approval{}, false, fmt.Errorf("unapprove %d/%s for %s: %w", installation, pr, consumer, err)
	}
	return a, true, nil
}

func (r *redisStore) ApprovalsOf(ctx context.Context, installation int64, pr string) ([]Approval, error) {
	m, err := r.c.HGetAll(ctx, r.approvalsKey(installation, pr)).Result()
	if err != nil {
		return nil, fmt.Errorf("approvals %d/%s: %w", installation, pr, err)
	}
	out := make([]Approval, 0, len(m))
	for consumer, v := range m {
		var a Approval
		if err := json.Unmarshal([]byte(v), &a); err != nil {
			return nil, fmt.Errorf("approvals %d/%s: %s: %w", installation, pr, consumer, err)
		}
		out = append(out, a)
	}
	sortApprovals(out)
	return out, nil
}

func sortApprovals(as []Approval) {
	slices.SortFunc(as, func(a, b Approval) int { return cmp.Compare(a.Consumer, b.Consumer) })
}

// memApprovals is the memory store's share: one process, no expiry (a
// restart forgets everything anyway).
type memApprovals struct {
	breaks    map[string]Breaks
	approvals map[string]map[string]Approval
}

func memPR(installation int64, pr string) string { return fmt.Sprintf("%d/%s", installation, pr) }

// forget drops an installation's breaks and approvals: nothing expires in
// memory, so an uninstalled installation's would stay for good.
func (a *memApprovals) forget(installation int64) {
	prefix := memPR(installation, "")
	for k := range a.breaks {
		if strings.HasPrefix(k, prefix) {
			delete(a.breaks, k)
		}
	}
	for k := range a.approvals {
		if strings.HasPrefix(k, prefix) {
			delete(a.approvals, k)
		}
	}
}

func (m *memory) SetBreaks(_ context.Context, installation int64, pr string, b Breaks) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.appr.breaks == nil {
		m.appr.breaks = map[string]Breaks{}
	}
	b.Consumers = slices.Clone(b.Consumers)
	m.appr.breaks[memPR(installation, pr)] = b
	return nil
}

func (m *memory) Breaks(_ context.Context, installation int64, pr string) (Breaks, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.appr.breaks[memPR(installation, pr)], nil
}

func (m *memory) Approve(_ context.Context, installation int64, pr string, a Approval) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.appr.approvals == nil {
		m.appr.approvals = map[string]map[string]Approval{}
	}
	k := memPR(installation, pr)
	if m.appr.approvals[k] == nil {
		m.appr.approvals[k] = map[string]Approval{}
	}
	a.Breaks = slices.Clone(a.Breaks)
	m.appr.approvals[k][a.Consumer] = a
	return nil
}

func (m *memory) Unapprove(_ context.Context, installation int64, pr, consumer string) (Approval, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := memPR(installation, pr)
	a, ok := m.appr.approvals[k][consumer]
	delete(m.appr.approvals[k], consumer)
	return a, ok, nil
}

func (m *memory) ApprovalsOf(_ context.Context, installation int64, pr string) ([]Approval, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Approval, 0, len(m.appr.approvals[memPR(installation, pr)]))
	for _, a := range m.appr.approvals[memPR(installation, pr)] {
		out = append(out, a)
	}
	sortApprovals(out)
	return out, nil
}
