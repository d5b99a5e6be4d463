package jobs

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/meshbot/meshbot/internal/store"
)

// DeadReason is why a job was dead-lettered.
type DeadReason string

// The reasons a job is dead-lettered.
const (
	// DeadFailed: its handler failed permanently, or on its last attempt.
	DeadFailed DeadReason = "failed"
	// DeadAbandoned: its workers died or hung (their leases expired) until
	// its attempts ran out; its handler never finished.
	DeadAbandoned DeadReason = "abandoned"
	// DeadUndecodable: its payload does not decode as its kind's payload
	// type; its handler never ran. The hook gets what did decode.
	DeadUndecodable DeadReason = "undecodable"
)

// Dead is what a dead-letter hook knows of the job besides its payload.
type Dead struct {
	ID      string
	Attempt int
	Reason  DeadReason
	Cause   string // the error that ended it
}

// DeadHook is told that a job of its kind is being dead-lettered, whatever
// the reason, so that the job leaves behind what its handler would have
// (a check run completed rather than in progress). It runs before the job
// enters the dead-letter list; an error makes the worker try it again a
// bounded number of times, then log it and dead-letter the job anyway. It
// must be idempotent: it may run after the handler already did its part.
type DeadHook[P Payload] func(ctx context.Context, p P, d Dead) error

// OnDead makes r run hook when a job of kind k is dead-lettered; a second
// call replaces the first.
func OnDead[P Payload](r *Registry, k Kind[P], hook DeadHook[P]) {
	if r.dead == nil {
		r.dead = map[string]func(store.Job, Dead) (deadRun, bool){}
	}
	r.dead[k.name] = func(j store.Job, d Dead) (deadRun, bool) {
		var p P
		if err := json.Unmarshal(j.Payload, &p); err != nil && d.Reason != DeadUndecodable {
			// A payload that decoded when the handler ran decodes now; one
			// that never did is handed over as far as it went.
			return deadRun{}, false
		}
		return deadRun{attrs: p.LogAttrs(), run: func(ctx context.Context) error { return hook(ctx, p, d) }}, true
	}
}

type deadRun struct {
	attrs []slog.Attr
	run   func(ctx context.Context) error
}

// DeadHook returns what to run, and the payload's log attributes, when j is
// dead-lettered for reason with cause; ok is false when its kind has no
// hook.
func (r *Registry) DeadHook(j store.Job, reason DeadReason, cause error) (run func(ctx context.Context) error, attrs []slog.Attr, ok bool) {
	h, ok := r.dead[j.Kind]
	if !ok {
		return nil, nil, false
	}
	msg := ""
	if cause != nil {
		msg = cause.Error()
	}
	dr, ok := h(j, Dead{ID: j.ID, Attempt: j.Attempt, Reason: reason, Cause: msg})
	if !ok {
		return nil, nil, false
	}
	return dr.run, dr.attrs, true
}
