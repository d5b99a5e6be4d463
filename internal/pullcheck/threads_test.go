package pullcheck

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshbot/meshbot/internal/reminders"
	"github.com/meshbot/meshbot/internal/testutil"
)

// TestRecordsTheThreadOfAHandWrittenDeprecation: a pull request that
// writes a deprecation by hand (not through /mesh deprecate), or changes
// its terms, becomes the thread its sunset reminders go to; one that keeps
// a deprecation as it is on the base leaves the thread alone.
func TestRecordsTheThreadOfAHandWrittenDeprecation(t *testing.T) {
	e := newEnv(t, true)
	h := New(e.deps)
	ctx := context.Background()
	const desc = "orders/data-products/order-events/dataproduct.yaml"
	raw, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "testdata", "mesh", filepath.FromSlash(desc)))
	if err != nil {
		t.Fatal(err)
	}
	src := string(raw)
	thread := func(port string) string {
		th, ok, err := reminders.RecordedThread(ctx, e.store, inst, "orders.order-events", port)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return ""
		}
		return th.String()
	}

	// Only the description changes: iceberg-v1 stays deprecated as on main.
	if err := e.run(h, e.branch("redescribe", 21, map[string]string{desc: strings.Replace(src, "Authoritative stream", "The authoritative stream", 1)}), 1); err != nil {
		t.Fatal(err)
	}
	if got := thread("iceberg-v1"); got != "" {
		t.Errorf("a pull request that keeps a deprecation became its thread: %s", got)
	}

	// iceberg-curated deprecated by hand.
	curated := strings.Replace(src,
		"      contract: ./contracts/order-events.v2.yaml\n      lifecycle: production\n    - name: kafka-realtime",
		"      contract: ./contracts/order-events.v2.yaml\n      lifecycle: deprecated\n      deprecation:\n        sunset: 2027-06-30\n        replacement: orders.order-events/kafka-realtime\n    - name: kafka-realtime", 1)
	if curated == src {
		t.Fatal("the edit changed nothing")
	}
	if err := e.run(h, e.branch("deprecate-curated", 22, map[string]string{desc: curated}), 1); err != nil {
		t.Fatal(err)
	}
	if got := thread("iceberg-curated"); got != "acme/mesh#22" {
		t.Errorf("the thread of a hand-written deprecation is %q, want acme/mesh#22", got)
	}

	// iceberg-v1's sunset moved by hand.
	if err := e.run(h, e.branch("extend-v1", 23, map[string]string{desc: strings.Replace(src, "sunset: 2027-03-31", "sunset: 2027-05-31", 1)}), 1); err != nil {
		t.Fatal(err)
	}
	if got := thread("iceberg-v1"); got != "acme/mesh#23" {
		t.Errorf("the thread of a changed sunset is %q, want acme/mesh#23", got)
	}
	if got := thread("iceberg-curated"); got != "acme/mesh#22" {
		t.Errorf("another port's thread moved to %q", got)
	}
}
