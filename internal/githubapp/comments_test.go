package githubapp

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

// CommentBodies reads every page, oldest first, and stops at its limit.
func TestCommentBodies(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.repo.OpenIssue(9)
	for i := range 250 {
		e.fake.AddComment("acme/mesh", 9, "alice", fmt.Sprintf("c%d", i))
	}
	ctx := context.Background()
	all, err := e.client.CommentBodies(ctx, "acme", "mesh", 9, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 250 || all[0] != "c0" || all[249] != "c249" {
		t.Fatalf("%d bodies, first %q last %q", len(all), all[0], all[len(all)-1])
	}
	some, err := e.client.CommentBodies(ctx, "acme", "mesh", 9, 120)
	if err != nil || len(some) != 120 || some[119] != "c119" {
		t.Errorf("limit 120: %d bodies, %v", len(some), err)
	}
	if _, err := e.client.CommentBodies(ctx, "acme", "mesh", 77, 10); !errors.Is(err, ErrNotFound) {
		t.Errorf("a missing issue: %v", err)
	}
}
