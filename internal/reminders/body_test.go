package reminders

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/meshbot/meshbot/internal/impact"
	"github.com/meshbot/meshbot/internal/mesh"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// The reminder as consumers read it (testdata/*.md).
func TestBodyGolden(t *testing.T) {
	sunset := time.Date(2027, 1, 5, 0, 0, 0, 0, time.UTC)
	full := &mesh.Deprecation{Sunset: "2027-01-05", SunsetDate: sunset, Replacement: "finance.revenue-v2/iceberg", Reason: "superseded by the v2 ledger."}
	for _, c := range []struct {
		name string
		d    due
	}{
		{"product-30-days", due{product: "finance.revenue", dep: full, days: 30, left: 30, repo: "acme/orders",
			consumer: impact.Consumer{Product: "orders.analytics", Owner: "team-orders", InputPort: "rev", File: "analytics/dataproduct.yaml"}}},
		{"port-1-day-no-owner", due{product: "finance.ledger", port: "daily", dep: &mesh.Deprecation{Sunset: "2027-01-05", SunsetDate: sunset}, days: 7, left: 1,
			consumer: impact.Consumer{Product: "risk.scoring"}}},
	} {
		got := []byte(body(c.d, markerOpen+c.d.key(7)+markerClose))
		p := filepath.Join("testdata", c.name+".md")
		if *update {
			if err := os.WriteFile(p, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("%v (run with -update)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s:\n%s\nwant\n%s", c.name, got, want)
		}
	}
}
