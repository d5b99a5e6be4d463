package pullcheck

import (
	"context"
	"testing"

	"github.com/meshbot/meshbot/internal/mesh"
)

// TestReplaySkipped: the same delivery body under new delivery ids judges
// the head once; an explicit request (/mesh recheck, a GitHub re-run) and a
// changed registry judge it again.
func TestReplaySkipped(t *testing.T) {
	e := newEnv(t, true)
	c := e.scenario("breaking-consumer", 500)
	h := New(e.deps)
	for i, d := range []string{"d-1", "d-2", "d-3"} {
		c.Delivery = d
		if err := e.run(h, c, 1); err != nil {
			t.Fatalf("delivery %d: %v", i, err)
		}
	}
	if n := len(e.runs(c.HeadSHA)); n != 1 {
		t.Fatalf("%d check runs after three deliveries of one body, want 1", n)
	}

	// An explicit request runs again.
	c.Delivery, c.Requested = "d-recheck", true
	if err := e.run(h, c, 1); err != nil {
		t.Fatal(err)
	}
	c.Requested = false
	c.Delivery, c.CheckRunID = "d-rerun", e.runs(c.HeadSHA)[0].ID
	if err := e.run(h, c, 1); err != nil {
		t.Fatal(err)
	}
	c.CheckRunID = 0
	if n := len(e.runs(c.HeadSHA)); n != 3 {
		t.Fatalf("%d check runs after a recheck and a re-run, want 3", n)
	}

	// A new registry version judges again (consumers may have changed).
	ctx := context.Background()
	if err := e.store.PutRepo(ctx, inst, "acme/other", []*mesh.Product{}); err != nil {
		t.Fatal(err)
	}
	c.Delivery = "d-4"
	if err := e.run(h, c, 1); err != nil {
		t.Fatal(err)
	}
	if n := len(e.runs(c.HeadSHA)); n != 4 {
		t.Fatalf("%d check runs after the registry changed, want 4", n)
	}
	// And a replay of that is skipped again.
	c.Delivery = "d-5"
	if err := e.run(h, c, 1); err != nil {
		t.Fatal(err)
	}
	if n := len(e.runs(c.HeadSHA)); n != 4 {
		t.Fatalf("%d check runs after a replay, want 4", n)
	}
}
