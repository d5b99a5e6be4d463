package policyeval

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/meshbot/meshbot/internal/mesh"
)

func parseDoc(t testing.TB, path, src string) *mesh.Document {
	t.Helper()
	doc, err := mesh.ParseYAML(path, []byte(src))
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	return doc
}

func readDoc(t testing.TB, file string) *mesh.Document {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return parseDoc(t, "orders/data-products/order-events/dataproduct.yaml", string(src))
}

func loadDir(t testing.TB, dir string) *Set {
	t.Helper()
	s, err := Load(context.Background(), os.DirFS(dir), Options{Timeout: testTimeout})
	if err != nil {
		t.Fatalf("load %s: %v", dir, err)
	}
	return s
}

func loadFiles(t testing.TB, files map[string]string) (*Set, error) {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, src := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(src)}
	}
	return Load(context.Background(), fsys, Options{Timeout: testTimeout})
}

func evalDoc(t testing.TB, s *Set, doc *mesh.Document, c Context) []Result {
	t.Helper()
	if c.Path == "" {
		c.Path = doc.Path
	}
	res, err := s.Eval(context.Background(), Input{Doc: doc, Context: c})
	if err != nil {
		t.Fatalf("eval: %v", err)
	}
	return res
}

// The residency policy of seed 004 runs unchanged and points at the
// location key of the offending port.
func TestSeedResidencyRunsUnchanged(t *testing.T) {
	s := loadDir(t, "testdata/seed004/residency")
	doc := parseDoc(t, "dp/dataproduct.yaml", `apiVersion: mesh/v1
kind: DataProduct
metadata:
  name: customers
  domain: customer
spec:
  outputPorts:
    - name: eu-table
      type: iceberg
      location: s3://eu-west-1-mesh/customers/
    - name: us-copy
      type: iceberg
      location: s3://us-east-1-mesh/customers/
    - name: eu-topic
      type: kafka
      location: kafka://eu-central-1/customers
  classification:
    residency: EU
`)
	res := evalDoc(t, s, doc, Context{Kind: "descriptor"})
	if len(res) != 1 {
		t.Fatalf("want 1 finding, got %d: %+v", len(res), res)
	}
	r := res[0]
	if r.Message != "output port us-copy stores EU-resident data outside the EU region" {
		t.Errorf("message = %q", r.Message)
	}
	if r.Severity != SeverityDeny || r.Package != "mesh.residency" || r.Rule != "deny" || r.ID != "mesh.residency/deny" {
		t.Errorf("identity = %+v", r)
	}
	want, _ := doc.Index.Lookup("spec", "outputPorts", 1, "location")
	if r.Pos != want {
		t.Errorf("pos = %v, want the us-copy location key %v", r.Pos, want)
	}
	if r.PolicyPos.File != "residency.rego" || r.PolicyPos.Line != 4 {
		t.Errorf("policy pos = %v", r.PolicyPos)
	}
}

// The seed's dataproduct.rego does not compile on OPA v1; the error names
// file, line and the fix.
func TestSeedDataproductRejectedWithFix(t *testing.T) {
	_, err := Load(context.Background(), os.DirFS("testdata/seed004/broken"), Options{})
	var ce *CompileError
	if !errors.As(err, &ce) {
		t.Fatalf("want *CompileError, got %v", err)
	}
	if len(ce.Errors) != 1 {
		t.Fatalf("want 1 problem, got %+v", ce.Errors)
	}
	p := ce.Errors[0]
	if p.File != "dataproduct.rego" || p.Line != 6 || p.Col == 0 {
		t.Errorf("position = %s:%d:%d", p.File, p.Line, p.Col)
	}
	if p.Fix != "some port in input.spec.outputPorts; not port.contract" {
		t.Errorf("fix = %q", p.Fix)
	}
	if !strings.Contains(p.Message, `"no port has a contract"`) {
		t.Errorf("message does not explain the meaning: %q", p.Message)
	}
	if !strings.Contains(err.Error(), "dataproduct.rego:6:") {
		t.Errorf("error text lacks file:line: %s", err)
	}
}

// The fixed seed policy runs and denies what it should on a PII product.
func TestSeedDataproductFixed(t *testing.T) {
	s := loadDir(t, "testdata/seed004/fixed")

	clean := readDoc(t, "testdata/seed004/dataproduct.yaml")
	res := evalDoc(t, s, clean, Context{Kind: "descriptor"})
	// The seed's own descriptor: kafka-realtime has no contract, and the
	// product holds PII.
	if len(res) != 1 || res[0].Message != "PII data products must declare a data contract on every output port" {
		t.Fatalf("findings = %+v", res)
	}
	if want, _ := clean.Index.Lookup("spec", "outputPorts", 1); res[0].Pos != want {
		t.Errorf("pos = %v, want the port lacking a contract %v", res[0].Pos, want)
	}

	bad := parseDoc(t, "dataproduct.yaml", `kind: DataProduct
spec:
  outputPorts:
    - name: curated
      type: iceberg
      location: s3://mesh/curated
      contract: ./c.yaml
  classification:
    contains_pii: true
  sla:
    availability: "99%"
`)
	res = evalDoc(t, s, bad, Context{Kind: "descriptor"})
	got := map[string]mesh.Pos{}
	for _, r := range res {
		got[r.Message] = r.Pos
	}
	loc, _ := bad.Index.Lookup("spec", "outputPorts", 0, "location")
	sla, _ := bad.Index.Lookup("spec", "sla")
	want := map[string]mesh.Pos{
		"output port curated: iceberg location must be a directory prefix": loc,
		"every data product must publish a freshness SLA":                  sla,
	}
	if len(got) != len(want) {
		t.Fatalf("findings = %+v", res)
	}
	for msg, pos := range want {
		if got[msg] != pos {
			t.Errorf("%q at %v, want %v", msg, got[msg], pos)
		}
	}
}
