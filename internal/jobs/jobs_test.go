package jobs

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/meshbot/meshbot/internal/store"
)

// queuedBefore are jobs as the code before typed kinds encoded them (kind
// and payload bytes produced by that code's jobs.New): jobs already queued
// in Redis when meshbot is upgraded must still decode into the same values.
var queuedBefore = []struct{ kind, payload string }{
	{"check", "{\"delivery\":\"d-1\",\"installation\":7,\"owner\":\"acme\",\"repo\":\"mesh\",\"pr\":12,\"head_sha\":\"0123456789abcdef0123456789abcdef01234567\",\"base_sha\":\"89abcdef0123456789abcdef0123456789abcdef\",\"base_ref\":\"main\",\"check_run_id\":99}"},
	{"index", "{\"delivery\":\"d-2\",\"installation\":7,\"owner\":\"acme\",\"repo\":\"mesh\",\"ref\":\"0123456789abcdef0123456789abcdef01234567\",\"paths\":[\"a/dataproduct.yaml\",\"b.yaml\"]}"},
	{"purge", "{\"delivery\":\"d-3\",\"installation\":7,\"repos\":[\"acme/gone\"]}"},
	{"command", "{\"delivery\":\"d-4\",\"installation\":7,\"owner\":\"acme\",\"repo\":\"mesh\",\"issue\":5,\"is_pr\":true,\"comment_id\":42,\"user\":\"alice\",\"body\":\"/mesh recheck\"}"},
}

func TestJobsQueuedBeforeStillRun(t *testing.T) {
	want := map[string]any{
		"check": PullCheck{Delivery: "d-1", Installation: 7, Owner: "acme", Repo: "mesh", PR: 12,
			HeadSHA: "0123456789abcdef0123456789abcdef01234567", BaseSHA: "89abcdef0123456789abcdef0123456789abcdef", BaseRef: "main", CheckRunID: 99},
		"index":   Index{Delivery: "d-2", Installation: 7, Owner: "acme", Repo: "mesh", Ref: "0123456789abcdef0123456789abcdef01234567", Paths: []string{"a/dataproduct.yaml", "b.yaml"}},
		"purge":   Purge{Delivery: "d-3", Installation: 7, Repos: []string{"acme/gone"}},
		"command": Command{Delivery: "d-4", Installation: 7, Owner: "acme", Repo: "mesh", Issue: 5, IsPR: true, CommentID: 42, User: "alice", Body: "/mesh recheck"},
	}
	got := map[string]any{}
	var metas []Meta
	r := NewRegistry()
	record := func(kind string) func(p any, m Meta) error {
		return func(p any, m Meta) error { got[kind] = p; metas = append(metas, m); return nil }
	}
	Register(r, KindPullCheck, func(_ context.Context, p PullCheck, m Meta) error { return record("check")(p, m) })
	Register(r, KindIndex, func(_ context.Context, p Index, m Meta) error { return record("index")(p, m) })
	Register(r, KindPurge, func(_ context.Context, p Purge, m Meta) error { return record("purge")(p, m) })
	Register(r, KindCommand, func(_ context.Context, p Command, m Meta) error { return record("command")(p, m) })
	for i, q := range queuedBefore {
		d, err := r.Decode(store.Job{ID: "old-" + q.kind, Kind: q.kind, Payload: []byte(q.payload), Attempt: i + 1})
		if err != nil {
			t.Fatalf("%s: %v", q.kind, err)
		}
		if err := d.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got[q.kind], want[q.kind]) {
			t.Errorf("%s: decoded %+v, want %+v", q.kind, got[q.kind], want[q.kind])
		}
		if m := metas[len(metas)-1]; m.ID != "old-"+q.kind || m.Attempt != i+1 {
			t.Errorf("%s: meta %+v", q.kind, m)
		}
	}
	// And today's encoding is the same bytes, so a rollback reads them too.
	for _, q := range queuedBefore {
		var j store.Job
		var err error
		switch p := want[q.kind].(type) {
		case PullCheck:
			j, err = KindPullCheck.New("x", "", p)
		case Index:
			j, err = KindIndex.New("x", "", p)
		case Purge:
			j, err = KindPurge.New("x", "", p)
		case Command:
			j, err = KindCommand.New("x", "", p)
		}
		if err != nil || j.Kind != q.kind || string(j.Payload) != q.payload {
			t.Errorf("%s encodes as %s %s (%v), want %s", q.kind, j.Kind, j.Payload, err, q.payload)
		}
	}
}

func TestDecodeRefusals(t *testing.T) {
	r := NewRegistry()
	ran := false
	Register(r, KindPurge, func(context.Context, Purge, Meta) error { ran = true; return nil })
	for _, tc := range []struct {
		name string
		job  store.Job
		want error
	}{
		{"unknown kind", store.Job{ID: "a", Kind: "teleport", Payload: []byte("{}")}, ErrUnknownKind},
		{"registered elsewhere only", store.Job{ID: "b", Kind: "check", Payload: []byte("{}")}, ErrUnknownKind},
		{"undecodable payload", store.Job{ID: "c", Kind: "purge", Payload: []byte("{not json")}, nil},
		{"wrong type", store.Job{ID: "d", Kind: "purge", Payload: []byte(`{"installation":"seven"}`)}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.Decode(tc.job)
			if err == nil || !store.IsPermanent(err) {
				t.Fatalf("err = %v, want a permanent error", err)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
	if ran {
		t.Error("a refused job ran")
	}
}

// TestOtherwise: a registry with a fallback runs it for every kind nothing
// is registered for (meshbot without an App fails them all alike), and
// still runs registered kinds through their own handlers.
func TestOtherwise(t *testing.T) {
	r := NewRegistry()
	var got []string
	Register(r, KindPurge, func(context.Context, Purge, Meta) error { got = append(got, "purge handler"); return nil })
	r.Otherwise(func(_ context.Context, j store.Job) error { got = append(got, "fallback "+j.Kind); return nil })
	for _, j := range []store.Job{
		{ID: "a", Kind: "check", Payload: []byte("{}")},
		{ID: "b", Kind: "purge", Payload: []byte("{}")},
		{ID: "c", Kind: "teleport", Payload: []byte("not even json")},
	} {
		d, err := r.Decode(j)
		if err != nil {
			t.Fatalf("Decode(%s): %v", j.Kind, err)
		}
		if err := d.Run(context.Background()); err != nil {
			t.Fatalf("Run(%s): %v", j.Kind, err)
		}
	}
	if want := []string{"fallback check", "purge handler", "fallback teleport"}; !slices.Equal(got, want) {
		t.Errorf("ran %q, want %q", got, want)
	}
}
