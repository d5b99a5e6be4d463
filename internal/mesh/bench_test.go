package mesh

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/meshbot/meshbot/internal/testutil"
)

// contract30 renders a DCS 1.1 contract with 30 fields, the size the Load
// target is set for.
func contract30(i int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "dataContractSpecification: 1.1.0\nid: d%d.p%d\ninfo:\n  title: Product %d\n  version: 1.%d.0\n  owner: team-%d\n", i%20, i, i, i%7, i%20)
	b.WriteString("models:\n  events:\n    type: table\n    fields:\n")
	types := []string{"string", "long", "timestamp", "decimal", "boolean"}
	for f := range 30 {
		fmt.Fprintf(&b, "      field_%02d:\n        type: %s\n        required: %v\n        description: Field %d of product %d.\n", f, types[f%len(types)], f%3 == 0, f, i)
		if f == 0 {
			b.WriteString("        primaryKey: true\n        unique: true\n")
		}
		if f%10 == 4 {
			b.WriteString("        enum: [a, b, c]\n")
		}
	}
	b.WriteString("    quality:\n      - type: sql\n        query: SELECT COUNT(*) FROM events\n        mustBeGreaterThan: 0\n")
	b.WriteString("servicelevels:\n  freshness: { threshold: 15m }\n  availability: { percentage: 99.9% }\n")
	return []byte(b.String())
}

func descriptor(i int) []byte {
	return fmt.Appendf(nil, `apiVersion: mesh/v1
kind: DataProduct
metadata:
  name: p%d
  domain: d%d
  owner: team-%d
spec:
  lifecycle: production
  inputPorts:
    - name: upstream
      product: d%d.p%d
      port: main
      fields: [field_00, field_01, field_02]
  outputPorts:
    - name: main
      type: iceberg
      location: s3://mesh/p%d/
      contract: ./contracts/p%d.yaml
  sla:
    freshness: "<= 15m"
    availability: "99.5%%"
  classification:
    contains_pii: false
    residency: EU
`, i, i%20, i%20, (i+1)%20, (i+1)%1000, i, i)
}

// meshFS is a checkout of n products, each with its own 30-field contract.
func meshFS(n int) fstest.MapFS {
	fsys := fstest.MapFS{}
	for i := range n {
		dir := fmt.Sprintf("domains/d%d/p%d", i%20, i)
		fsys[dir+"/dataproduct.yaml"] = &fstest.MapFile{Data: descriptor(i)}
		fsys[fmt.Sprintf("%s/contracts/p%d.yaml", dir, i)] = &fstest.MapFile{Data: contract30(i)}
	}
	return fsys
}

// BenchmarkLoad loads one side (1,000 products, 1,000 contracts) per
// iteration; a pull request check loads two (base and head).
func BenchmarkLoad(b *testing.B) {
	fsys := meshFS(1000)
	start := testutil.CPUTime()
	for b.Loop() {
		m, err := Load(context.Background(), fsys)
		if err != nil || len(m.Products) != 1000 || len(m.Contracts) != 1000 || len(m.Problems) != 0 {
			b.Fatalf("load: %v %d %d %v", err, len(m.Products), len(m.Contracts), m.Problems)
		}
	}
	// CPU time is what the 0.5 s target for base+head on 2 cores is made
	// of, and unlike wall time it barely moves when the machine is shared.
	b.ReportMetric(float64(testutil.CPUTime()-start)/float64(b.N), "cpu-ns/op")
}

func BenchmarkReadContract(b *testing.B) {
	src := contract30(1)
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		c, _, probs := ReadContract("c.yaml", src)
		if len(probs) > 0 || len(c.Models[0].Fields) != 30 {
			b.Fatal(probs)
		}
	}
}

func BenchmarkReadDescriptor(b *testing.B) {
	src := descriptor(1)
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		if _, _, probs := ReadDescriptor("d.yaml", src); len(probs) > 0 {
			b.Fatal(probs)
		}
	}
}

// TestGeneratedMeshIsClean keeps the benchmark's input honest: it must load
// without problems and link every port to its contract.
func TestGeneratedMeshIsClean(t *testing.T) {
	m, err := Load(context.Background(), meshFS(50))
	if err != nil || len(m.Problems) != 0 {
		t.Fatal(err, m.Problems)
	}
	for _, p := range m.Products {
		if c := p.OutputPorts[0].Contract; c == nil || len(c.Fields()) != 30 {
			t.Fatalf("%s: contract not linked", p.File)
		}
	}
}
