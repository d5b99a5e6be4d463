package policyeval

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshbot/meshbot/internal/mesh"
	"github.com/meshbot/meshbot/policy"
)

var update = flag.Bool("update", false, "rewrite golden files")

// testTimeout replaces Options.Timeout's 2 s default in tests that check
// results: on a loaded machine (8 evaluations at once on 2 shared cores) a
// document's evaluation can take longer than that in wall time, and the test
// then failed on the cut-off instead of the results. TestEvalTimeout tests
// the cut-off itself.
const testTimeout = time.Minute

func loadBundled(t testing.TB) *Set {
	t.Helper()
	s, err := Load(context.Background(), policy.FS(), Options{Timeout: testTimeout})
	if err != nil {
		t.Fatalf("load bundled policy: %v", err)
	}
	return s
}

func readFixture(t testing.TB, name string) *mesh.Document {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", "bundled", name))
	if err != nil {
		t.Fatal(err)
	}
	return parseDoc(t, name, string(src))
}

// The bundled policy's own Rego unit tests pass through Test.
func TestBundledPolicyTestsPass(t *testing.T) {
	rep, err := Test(context.Background(), policy.FS())
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := rep.Write(&out, false); err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Passed < 30 {
		t.Fatalf("bundled policy tests:\n%s", out.String())
	}
	if want := fmt.Sprintf("PASS: %d/%d\n", rep.Passed, rep.Passed); out.String() != want {
		t.Errorf("output %q, want %q", out.String(), want)
	}
	for _, r := range rep.Results {
		if r.Pos.File == "" || r.Pos.Line == 0 || !strings.HasPrefix(r.Name, "test_") {
			t.Errorf("result without location or name: %+v", r)
		}
	}
}

// A failing test is reported with its name and location.
func TestTestReportsFailures(t *testing.T) {
	rep, err := Test(context.Background(), os.DirFS("testdata/failing"))
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() || rep.Passed != 1 || rep.Failed != 1 {
		t.Fatalf("report %+v", rep)
	}
	var failed TestResult
	for _, r := range rep.Results {
		if r.Outcome == TestFail {
			failed = r
		}
	}
	if failed.Name != "test_owner_present_denied" || failed.Package != "fixture.owner_test" ||
		failed.Pos != (mesh.Pos{File: "owner_test.rego", Line: 10, Col: 1}) || failed.Trace == "" {
		t.Errorf("failed test %+v", failed)
	}
	var out bytes.Buffer
	if err := rep.Write(&out, false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"owner_test.rego:10:1: data.fixture.owner_test.test_owner_present_denied (FAIL)",
		"PASS: 1/2\nFAIL: 1/2\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestTestRefusesBrokenPolicy(t *testing.T) {
	_, err := Test(context.Background(), os.DirFS("testdata/seed004/broken"))
	if ce, ok := err.(*CompileError); !ok || ce.Errors[0].Fix == "" {
		t.Errorf("want *CompileError with a fix, got %v", err)
	}
}

// Every bundled rule on a descriptor that breaks most of them, as the
// findings a report would show: position, severity, id, message.
func TestBundledGolden(t *testing.T) {
	s := loadBundled(t)
	tests := []struct {
		name   string
		doc    string
		ctx    Context
		golden string
	}{
		// messy.yaml as the engine models it: no owner, no freshness, ports
		// without contracts.
		{"messy", "messy.yaml", Context{Kind: "descriptor", Today: "2027-02-01", Product: &Product{
			ID: "finance.Revenue_Ledger", Name: "Revenue_Ledger", Domain: "finance", Format: "mesh/v1", Lifecycle: "deprecated",
			ContainsPII: true, PIIFields: []string{"customer_id"}, Residency: "EU", Line: 4,
			OutputPorts: messyPorts[1:],
		}}, "messy.golden"},
		{"removed ports", "messy.yaml", Context{
			Kind: "descriptor", Today: "2027-02-01", Product: &Product{
				ID: "finance.Revenue_Ledger", Name: "Revenue_Ledger", Domain: "finance", Format: "mesh/v1", Lifecycle: "deprecated",
				ContainsPII: true, PIIFields: []string{"customer_id"}, Residency: "EU", Line: 4, OutputPorts: messyPorts,
			},
			Base: readFixture(t, "base.yaml").Value,
			Consumers: []Consumer{
				{Product: "sales.forecast", Owner: "team-sales", InputPort: "revenue", Port: "legacy-csv", Fields: []string{"total"}, File: "sales/dataproduct.yaml"},
			},
		}, "removed.golden"},
		{"contract", "contract.yaml", Context{Kind: "contract", Today: "2027-02-01"}, "contract.golden"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := readFixture(t, tc.doc)
			res := evalDoc(t, s, doc, tc.ctx)
			var b strings.Builder
			for _, r := range res {
				fmt.Fprintf(&b, "%s %s %s %s\n", r.Pos, r.Severity, r.ID, r.Message)
				if r.Title == "" || len(r.Related) == 0 || r.PolicyPos.Line == 0 {
					t.Errorf("%s: bundled rule without METADATA title/link or position: %+v", r.ID, r)
				}
			}
			golden := filepath.Join("testdata", "bundled", tc.golden)
			if *update {
				if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if b.String() != string(want) {
				t.Errorf("findings differ from %s:\n got:\n%s\nwant:\n%s", golden, b.String(), want)
			}
		})
	}
}

// The seed's example descriptor and a clean product under the bundled policy.
// messyPorts are messy.yaml's output ports as meshbot's model reads them.
var messyPorts = []Port{
	{Name: "iceberg-curated", Type: "iceberg", Location: "s3://eu-mesh-finance/revenue/", Contract: "contracts/revenue.v1.yaml", ContractRead: true, Freshness: "1h", Lifecycle: "production", Line: 17, Column: 7},
	{Name: "iceberg-raw", Type: "iceberg", Location: "s3://us-mesh-finance/revenue-raw", Lifecycle: "deprecated", Line: 22, Column: 7, LocationLine: 24, LocationColumn: 7},
	{Name: "kafka-events", Type: "kafka", Location: "finance.revenue.v1", Lifecycle: "beta", Line: 28, Column: 7},
}

// productOf is a descriptor's product in the normalised model, as the
// engine builds it for data.meshbot.context.product (contracts unread).
func productOf(t *testing.T, doc *mesh.Document, src []byte) *Product {
	t.Helper()
	p, _, _ := mesh.ReadDescriptor(doc.Path, src)
	if p == nil {
		t.Fatalf("%s is not a descriptor", doc.Path)
	}
	v := &Product{ID: p.ID(), Name: p.Name, Domain: p.Domain, Owner: p.Owner, Format: string(p.Format), Lifecycle: p.Lifecycle,
		Freshness: p.SLA.Freshness, ContainsPII: p.Classification.ContainsPII, PIIFields: p.Classification.PIIFields,
		Residency: p.Classification.Residency, Line: p.Pos.Line}
	for _, o := range p.OutputPorts {
		loc := o.Location
		if loc == "" {
			loc = o.Topic
		}
		c := o.ContractPath
		if c == "" {
			c = o.ContractID
		}
		at := o.Locs.At("location", o.Locs.At("topic", mesh.Pos{}))
		v.OutputPorts = append(v.OutputPorts, Port{Name: o.Name, Type: o.Type, Location: loc, Contract: c, Lifecycle: o.Lifecycle,
			Line: o.Pos.Line, Column: o.Pos.Col, LocationLine: at.Line, LocationColumn: at.Col})
	}
	return v
}

func TestBundledOnSeedDescriptor(t *testing.T) {
	s := loadBundled(t)
	doc := readDoc(t, "testdata/seed004/dataproduct.yaml")
	src, err := os.ReadFile("testdata/seed004/dataproduct.yaml")
	if err != nil {
		t.Fatal(err)
	}
	res := evalDoc(t, s, doc, Context{Kind: "descriptor", Today: "2027-01-15", Product: productOf(t, doc, src)})
	got := map[string]mesh.Pos{}
	for _, r := range res {
		got[r.ID] = r.Pos
	}
	// The seed's owner is an e-mail address, not a team slug; it is present,
	// so only the PII contract rule fires, on kafka-realtime.
	port, _ := doc.Index.Lookup("spec", "outputPorts", 1)
	if len(res) != 1 || got["pii-contract-required"] != port {
		t.Errorf("findings %+v", res)
	}
	clean := parseDoc(t, "dp.yaml", `apiVersion: mesh/v1
kind: DataProduct
metadata: {name: revenue, domain: finance, owner: team-finance}
spec:
  lifecycle: production
  outputPorts:
    - {name: iceberg-curated, type: iceberg, location: "s3://eu-mesh/revenue/", contract: ./c.yaml}
  sla: {freshness: "<= 1h"}
  classification: {contains_pii: true, residency: EU}
`)
	cleanSrc := []byte("apiVersion: mesh/v1\nkind: DataProduct\nmetadata: {name: revenue, domain: finance, owner: team-finance}\nspec:\n  lifecycle: production\n  outputPorts:\n    - {name: iceberg-curated, type: iceberg, location: \"s3://eu-mesh/revenue/\", contract: ./c.yaml}\n  sla: {freshness: \"<= 1h\"}\n  classification: {contains_pii: true, residency: EU}\n")
	if res := evalDoc(t, s, clean, Context{Kind: "descriptor", Today: "2027-01-15", Product: productOf(t, clean, cleanSrc)}); len(res) != 0 {
		t.Errorf("clean product has findings: %+v", res)
	}
}
