package compat

import (
	"strings"
	"testing"

	"github.com/meshbot/meshbot/internal/mesh"
)

// odcsDoc is a minimal valid ODCS contract around body (YAML at top level).
func odcsDoc(api, body string) string {
	return "apiVersion: " + api + "\nkind: DataContract\nid: c1\nversion: 1.0.0\nstatus: active\n" + strings.TrimLeft(body, "\n")
}

// readODCS reads src as a contract and fails on any error-level problem:
// every document these tests use is valid in its version.
func readODCS(t *testing.T, file, src string) *mesh.Contract {
	t.Helper()
	c, _, probs := mesh.ReadContract(file, []byte(src))
	for _, p := range probs {
		if !p.Notice {
			t.Fatalf("%s: unexpected problem %s", file, p)
		}
	}
	return c
}

// TestODCSPairs compares real-shaped ODCS documents read by mesh, so that a
// spelling the reader gets wrong shows up as a false alarm here.
func TestODCSPairs(t *testing.T) {
	tests := []struct {
		name       string
		base, head string
		want       []string
	}{
		{"sla unit apart: same promise", `
slaProperties:
  - property: availability
    value: 99.5
    unit: percent
  - property: retention
    value: 90
    unit: days
`, `
slaProperties:
  - property: availability
    value: 99.5
    unit: percent
  - property: retention
    value: 90
    unit: days
`, nil},
		{"sla latency loosened 4d to 7d", `
slaProperties:
  - property: latency
    value: 4
    unit: d
`, `
slaProperties:
  - property: latency
    value: 7
    unit: d
`, []string{"sla-loosened"}},
		{"sla latency tightened", `
slaProperties:
  - property: latency
    value: 4
    unit: d
`, `
slaProperties:
  - property: latency
    value: 1
    unit: d
`, []string{"sla-improved"}},
		{"sla frequency loosened", `
slaProperties:
  - property: frequency
    value: 1
    unit: d
`, `
slaProperties:
  - property: frequency
    value: 7
    unit: d
`, []string{"sla-loosened"}},
		{"sla frequency dropped", `
slaProperties:
  - property: frequency
    value: 1
    unit: d
`, `
slaProperties: []
`, []string{"sla-loosened"}},
		{"sla retention 3y to 1y", `
slaProperties:
  - property: retention
    value: 3
    unit: y
`, `
slaProperties:
  - property: retention
    value: 1
    unit: y
`, []string{"sla-retention-shortened"}},
		{"sla availability percent sign in value", `
slaProperties:
  - property: availability
    value: 99%
    unit: "%"
`, `
slaProperties:
  - property: availability
    value: 95%
    unit: "%"
`, []string{"sla-availability-lowered"}},
		{"end of support earlier", `
slaProperties:
  - property: endOfSupport
    value: "2032-05-12T09:30:10-08:00"
`, `
slaProperties:
  - property: endOfSupport
    value: "2030-05-12T09:30:10-08:00"
`, []string{"sla-loosened"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := readODCS(t, "base.odcs.yaml", odcsDoc("v3.1.0", tt.base))
			h := readODCS(t, "head.odcs.yaml", odcsDoc("v3.1.0", tt.head))
			cs := Contracts(b, h)
			checkTable(t, cs)
			var got []string
			for _, c := range structural(cs) {
				if c.Rule == RuleVersionNotBumped || c.Rule == RuleBreakingInMajor {
					continue
				}
				got = append(got, c.Rule)
			}
			if d := diffLists(sortedCopy(got), sortedCopy(tt.want)); d != "" {
				t.Errorf("changes differ:%s\n%v", d, cs)
			}
		})
	}
}
