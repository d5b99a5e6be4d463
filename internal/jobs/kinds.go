package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/meshbot/meshbot/internal/store"
)

// The kinds of job, each with its payload type. Adding a kind is adding a
// payload type and a line here, and registering its handler where the
// worker's registry is built (cmd/meshbot).
var (
	KindPullCheck = Kind[PullCheck]{"check"} // judge a pull request's head and post the check run
	KindIndex     = Kind[Index]{"index"}     // (re)index a repository's default branch into the registry
	KindPurge     = Kind[Purge]{"purge"}     // drop repositories or a whole installation from the registry
	KindCommand   = Kind[Command]{"command"} // a `/mesh` comment command
	// KindPolicyRecheck re-checks a repository's open pull requests under a newly active policy.
	KindPolicyRecheck = Kind[PolicyRecheck]{"policy-recheck"}
)

// Payload is what every job's payload offers: what identifies it in logs.
type Payload interface {
	LogAttrs() []slog.Attr
}

// Kind is a kind of job and, by its type parameter, its payload type.
type Kind[P Payload] struct{ name string }

// Name is the kind's name in the store and in metrics.
func (k Kind[P]) Name() string { return k.name }

// New wraps a payload into a job. id must be unique per job: a delivery
// that makes several jobs gives each its own suffix (ID). key is the
// supersession key, if any.
func (k Kind[P]) New(id, key string, p P) (store.Job, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return store.Job{}, fmt.Errorf("encode %s job %s: %w", k.name, id, err)
	}
	return store.Job{ID: id, Kind: k.name, Key: key, Payload: b}, nil
}

// Meta is what a handler knows of its job besides the payload.
type Meta struct {
	ID      string
	Attempt int // 1 on the first run
	// Last is set on the job's last attempt: a failure now dead-letters it,
	// so the handler should leave a result behind that says so.
	Last bool
}

// Handler performs one kind of job. Returning an error makes the queue retry
// the job with backoff, and dead-letter it after the last attempt;
// store.Permanent errors are dead-lettered at once.
type Handler[P Payload] func(ctx context.Context, p P, m Meta) error

// ErrUnknownKind is returned (permanent) for a job of a kind nothing is
// registered for.
var ErrUnknownKind = errors.New("unknown job kind")

// Registry maps the kinds the worker runs to their handlers.
type Registry struct {
	kinds    map[string]func(store.Job, bool) (Decoded, error)
	fallback func(ctx context.Context, j store.Job) error
	dead     map[string]func(store.Job, Dead) (deadRun, bool) // OnDead hooks by kind
}

// Otherwise makes r run h for jobs of every kind nothing is registered for
// (meshbot without a GitHub App fails them all the same way), instead of
// refusing them as unknown.
func (r *Registry) Otherwise(h func(ctx context.Context, j store.Job) error) { r.fallback = h }

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{kinds: map[string]func(store.Job, bool) (Decoded, error){}}
}

// Register makes r run h for jobs of kind k; a second registration of the
// same kind replaces the first.
func Register[P Payload](r *Registry, k Kind[P], h Handler[P]) {
	r.kinds[k.name] = func(j store.Job, last bool) (Decoded, error) {
		var p P
		if err := json.Unmarshal(j.Payload, &p); err != nil {
			return Decoded{}, store.Permanent(fmt.Errorf("decode %s job %s: %w", j.Kind, j.ID, err))
		}
		m := Meta{ID: j.ID, Attempt: j.Attempt, Last: last}
		return Decoded{Attrs: p.LogAttrs(), run: func(ctx context.Context) error { return h(ctx, p, m) }}, nil
	}
}

// Decoded is a job whose payload is read, ready to run.
type Decoded struct {
	Attrs []slog.Attr // from the payload, for logs
	run   func(ctx context.Context) error
}

// Run performs the job.
func (d Decoded) Run(ctx context.Context) error { return d.run(ctx) }

// Decode reads j's payload as its kind's payload type. A kind nothing is
// registered for, or a payload that does not decode, is a permanent error:
// retrying cannot fix either.
func (r *Registry) Decode(j store.Job) (Decoded, error) { return r.decode(j, false) }

// DecodeLease is Decode for a claimed job: its handler learns from
// Meta.Last whether this is its last attempt.
func (r *Registry) DecodeLease(l *store.Lease) (Decoded, error) { return r.decode(l.Job, l.Last) }

func (r *Registry) decode(j store.Job, last bool) (Decoded, error) {
	decode, ok := r.kinds[j.Kind]
	if !ok && r.fallback != nil {
		h := r.fallback
		return Decoded{run: func(ctx context.Context) error { return h(ctx, j) }}, nil
	}
	if !ok {
		return Decoded{}, store.Permanent(fmt.Errorf("%w %q", ErrUnknownKind, j.Kind))
	}
	return decode(j, last)
}
