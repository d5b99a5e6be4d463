package store

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"
)

// testPolicies: the active policy's record moves forward with every
// activation, its bundle is readable by commit, and watchers hear of it.
func testPolicies(t *testing.T, open factory) {
	s := open(t, fast)
	ctx := ctxT(t)
	if _, ok, err := s.ActivePolicy(ctx); err != nil || ok {
		t.Fatalf("ActivePolicy on an empty store = ok %v, %v; want none", ok, err)
	}
	if _, err := s.PolicyBundle(ctx, "c0"); !errors.Is(err, ErrNoBundle) {
		t.Fatalf("PolicyBundle(c0) = %v, want ErrNoBundle", err)
	}
	wctx, stop := context.WithCancel(ctx)
	watch, err := s.WatchPolicy(wctx)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	rec, err := s.ActivatePolicy(ctx, PolicyRecord{Repo: "acme/policy", Commit: "c1", Version: "v1", ActivatedAt: at}, []byte("bundle-1"))
	if err != nil {
		t.Fatal(err)
	}
	if rec.Seq != 1 || rec.Commit != "c1" {
		t.Fatalf("first activation recorded %+v, want seq 1 of c1", rec)
	}
	select {
	case <-watch:
	case <-time.After(5 * time.Second):
		t.Fatal("the watcher was not told of the activation")
	}
	rec2, err := s.ActivatePolicy(ctx, PolicyRecord{Repo: "acme/policy", Commit: "c2", Version: "v2", ActivatedAt: at.Add(time.Minute), Seq: 99}, []byte("bundle-2"))
	if err != nil {
		t.Fatal(err)
	}
	if rec2.Seq != 2 {
		t.Fatalf("second activation seq %d, want 2 (a caller's Seq is ignored)", rec2.Seq)
	}
	got, ok, err := s.ActivePolicy(ctx)
	if err != nil || !ok {
		t.Fatalf("ActivePolicy = ok %v, %v", ok, err)
	}
	if got.Commit != "c2" || got.Version != "v2" || got.Repo != "acme/policy" || got.Seq != 2 || !got.ActivatedAt.Equal(at.Add(time.Minute)) {
		t.Fatalf("ActivePolicy = %+v", got)
	}
	b, err := s.PolicyBundle(ctx, "c2")
	if err != nil || !bytes.Equal(b, []byte("bundle-2")) {
		t.Fatalf("PolicyBundle(c2) = %q, %v", b, err)
	}
	select {
	case <-watch:
	case <-time.After(5 * time.Second):
		t.Fatal("the watcher was not told of the second activation")
	}
	stop()
	select {
	case _, open := <-watch:
		for open {
			_, open = <-watch
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the watch channel was not closed when its context ended")
	}
}
