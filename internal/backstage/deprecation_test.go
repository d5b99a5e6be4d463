package backstage

import (
	"strings"
	"testing"

	"github.com/meshbot/meshbot/internal/mesh"
)

// A port whose deprecation is recorded only in its contract (an ODPS v0.9
// port, whose descriptor has no place for it; a DCS or ODCS contract) is
// shown deprecated, with the contract's sunset and replacement.
func TestContractDeprecation(t *testing.T) {
	dep := &mesh.Deprecation{Sunset: "2027-03-31", Replacement: "x.new/p", Reason: "v2"}
	tests := []struct {
		name          string
		port          string // the port's own lifecycle
		contract      *mesh.Contract
		wantLifecycle string
		wantSunset    string
		wantRef       string
	}{
		{"ODCS status and custom property", "", &mesh.Contract{Format: mesh.FormatODCS, Status: "deprecated", Deprecation: dep}, "deprecated", "2027-03-31", "api:o/x.new--p"},
		{"DCS info.status alone", "", &mesh.Contract{Format: mesh.FormatDCS, Status: "Deprecated"}, "deprecated", "", ""},
		{"ODCS deprecated: true", "", &mesh.Contract{Format: mesh.FormatODCS, Status: "active", Deprecated: true}, "deprecated", "", ""},
		{"active contract", "", &mesh.Contract{Format: mesh.FormatODCS, Status: "active"}, "production", "", ""},
		{"the port's own lifecycle wins", "experimental", &mesh.Contract{Format: mesh.FormatODCS, Status: "deprecated"}, "experimental", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &mesh.Product{Repo: "o/r", File: "x/dataproduct.yaml", Domain: "x", Name: "old", Owner: "t", Lifecycle: "production",
				OutputPorts: []*mesh.OutputPort{{Name: "p", Type: "iceberg", Lifecycle: tc.port, Contract: tc.contract, ContractPath: "x/c.yaml"}}}
			q := &mesh.Product{Repo: "o/r", File: "y/dataproduct.yaml", Domain: "x", Name: "new", Owner: "t",
				OutputPorts: []*mesh.OutputPort{{Name: "p", Type: "iceberg"}}}
			es := Entities([]*mesh.Product{p, q}, Options{})
			checkEntities(t, []*mesh.Product{p, q}, es)
			a := find(es, KindAPI, "x.old--p")
			if a.Spec.Lifecycle != tc.wantLifecycle || a.Metadata.Annotations[AnnotationLifecycle] != tc.wantLifecycle {
				t.Errorf("lifecycle %q (annotation %q), want %q", a.Spec.Lifecycle, a.Metadata.Annotations[AnnotationLifecycle], tc.wantLifecycle)
			}
			if got := a.Metadata.Annotations[AnnotationSunset]; got != tc.wantSunset {
				t.Errorf("sunset %q, want %q", got, tc.wantSunset)
			}
			if got := a.Metadata.Annotations[AnnotationReplacementRef]; got != tc.wantRef {
				t.Errorf("replacement ref %q, want %q", got, tc.wantRef)
			}
			if c := find(es, KindComponent, "x.old"); c.Spec.Lifecycle != "production" {
				t.Errorf("the product's lifecycle %q changed with its port's contract", c.Spec.Lifecycle)
			}
		})
	}
}

// What /mesh deprecate writes in an ODPS descriptor (status and the custom
// property) reaches Backstage through internal/mesh.
func TestODPSDeprecationShown(t *testing.T) {
	src := `apiVersion: v1.0.0
kind: DataProduct
id: old
domain: x
status: deprecated
customProperties:
  - property: deprecation
    value: {sunset: 2027-03-31, replacement: x.new}
outputPorts:
  - {name: p, version: 1.0.0}
`
	p, _, probs := mesh.ReadDescriptor("x/old.odps.yaml", []byte(src))
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	p.Repo = "o/r"
	es := Entities([]*mesh.Product{p}, Options{})
	checkEntities(t, []*mesh.Product{p}, es)
	c := find(es, KindComponent, "x.old")
	if c.Spec.Lifecycle != "deprecated" || c.Metadata.Annotations[AnnotationSunset] != "2027-03-31" || c.Metadata.Annotations[AnnotationReplacement] != "x.new" {
		t.Errorf("component %q %v", c.Spec.Lifecycle, c.Metadata.Annotations)
	}
	if a := find(es, KindAPI, "x.old--p"); a.Spec.Lifecycle != "deprecated" || a.Metadata.Annotations[AnnotationSunset] != "2027-03-31" {
		t.Errorf("api %q %v", a.Spec.Lifecycle, a.Metadata.Annotations)
	}
}

// The standards' status words (ODPS, DPS, DCS: proposed, draft, in
// development, active, deprecated, retired) become Backstage's lifecycles
// (experimental, production, deprecated), which its catalog filters and
// colours by; the word as written stays in the meshbot.io/lifecycle
// annotation. A word of the organisation's own is kept.
func TestLifecycleWords(t *testing.T) {
	for _, tc := range []struct{ written, product, port string }{
		{"active", "production", "production"},
		{"Active", "production", "production"},
		{"proposed", "experimental", "experimental"},
		{"draft", "experimental", "experimental"},
		{"in development", "experimental", "experimental"},
		{"retired", "deprecated", "deprecated"},
		{"deprecated", "deprecated", "deprecated"},
		{"production", "production", "production"},
		{"experimental", "experimental", "experimental"},
		{"beta", "beta", "beta"},
	} {
		t.Run(tc.written, func(t *testing.T) {
			p := &mesh.Product{Repo: "o/r", File: "x/dataproduct.yaml", Domain: "x", Name: "p", Owner: "t", Lifecycle: tc.written,
				OutputPorts: []*mesh.OutputPort{{Name: "out", Type: "iceberg"}}}
			es := Entities([]*mesh.Product{p}, Options{})
			checkEntities(t, []*mesh.Product{p}, es)
			c, a := find(es, KindComponent, "x.p"), find(es, KindAPI, "x.p--out")
			if c.Spec.Lifecycle != tc.product || a.Spec.Lifecycle != tc.port {
				t.Errorf("product %q, port %q; want %q, %q", c.Spec.Lifecycle, a.Spec.Lifecycle, tc.product, tc.port)
			}
			if got := c.Metadata.Annotations[AnnotationLifecycle]; !strings.EqualFold(got, tc.written) {
				t.Errorf("annotation %q, want the word as written, %q", got, tc.written)
			}
		})
	}
}
