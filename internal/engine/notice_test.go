package engine

import (
	"context"
	"testing"
	"testing/fstest"
	"time"

	"github.com/meshbot/meshbot/internal/mesh"
)

// TestNoticeProblemsDoNotFail: a document of a newer version of a known
// standard is read in full and mentioned once at notice level, and a port
// naming a contract id no contract here carries is a notice found from the
// head alone; neither fails the check, and the newer document's own
// findings are still judged (it is not treated as a broken file).
func TestNoticeProblemsDoNotFail(t *testing.T) {
	fsys := fstest.MapFS{
		"orders/dataproduct.yaml": {Data: []byte(`apiVersion: v1.0.0
kind: DataProduct
id: urn:dataproduct:orders
name: orders
status: active
team:
  name: team-orders
outputPorts:
  - name: events
    version: 1.0.0
    contractId: urn:contract:nowhere
`)},
		"orders/contract.odcs.yaml": {Data: []byte(`apiVersion: v3.9.0
kind: DataContract
id: urn:contract:orders
name: orders
version: 1.0.0
status: active
schema:
  - name: orders
    properties:
      - name: order_id
        logicalType: string
`)},
	}
	m, err := mesh.Load(context.Background(), fsys)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Evaluate(context.Background(), Request{Head: m, Today: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	var newer, dangling int
	for _, f := range rep.Findings {
		if f.Level == LevelError {
			t.Errorf("error finding %s at %s: %s", f.Rule, f.Pos, f.Message)
		}
		switch {
		case f.Pos.File == "orders/contract.odcs.yaml" && f.Level == LevelNotice:
			newer++
		case f.Pos.File == "orders/dataproduct.yaml" && f.Level == LevelNotice:
			dangling++
		}
	}
	if newer != 1 {
		t.Errorf("%d notices on the newer ODCS document, want 1: %+v", newer, rep.Findings)
	}
	if dangling != 1 {
		t.Errorf("%d notices on the port naming an unknown contract id, want 1: %+v", dangling, rep.Findings)
	}
	if rep.Failed() {
		t.Errorf("the check failed on notices only: %s", rep.Summary)
	}
}
