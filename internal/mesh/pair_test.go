package mesh

import (
	"context"
	"testing"
	"testing/fstest"
)

func pairDescriptor(name, contract string) *fstest.MapFile {
	return file(`apiVersion: mesh/v1
kind: DataProduct
metadata: {name: ` + name + `, domain: d, owner: team-d}
spec:
  outputPorts:
    - {name: p, type: iceberg, location: s3://eu-x/` + name + `/, contract: ` + contract + `}
`)
}

func pairContract(version string) *fstest.MapFile {
	return file(`dataContractSpecification: 1.1.0
id: d.x
info: {title: x, version: ` + version + `}
models:
  m:
    fields:
      f: {type: string, required: true}
`)
}

func TestLoadPair(t *testing.T) {
	ctx := context.Background()
	base := fstest.MapFS{
		"a/dataproduct.yaml": pairDescriptor("a", "./c.yaml"),
		"a/c.yaml":           pairContract("1.0.0"),
		"b/dataproduct.yaml": pairDescriptor("b", "./v1.yaml"),
		"b/v1.yaml":          pairContract("1.0.0"),
		"b/v2.yaml":          pairContract("2.0.0"),
		"c/dataproduct.yaml": pairDescriptor("c", "./c.yaml"),
		"c/c.yaml":           pairContract("1.0.0"),
	}
	head := fstest.MapFS{}
	for k, v := range base {
		head[k] = v
	}
	head["b/dataproduct.yaml"] = pairDescriptor("b", "./v2.yaml") // the port moves to another unchanged file
	head["c/c.yaml"] = pairContract("1.1.0")                      // a contract changes

	hm, bm, err := LoadPair(ctx, head, base)
	if err != nil {
		t.Fatal(err)
	}
	if len(hm.Problems)+len(bm.Problems) != 0 {
		t.Fatalf("problems: %v %v", hm.Problems, bm.Problems)
	}
	// Untouched: one shared contract, never parsed.
	if hm.Contracts["a/c.yaml"] != bm.Contracts["a/c.yaml"] || !hm.Contracts["a/c.yaml"].Stub() {
		t.Error("an identical contract must be shared and left unparsed")
	}
	if hm.Documents["a/c.yaml"] != bm.Documents["a/c.yaml"] {
		t.Error("an identical contract's document must be shared")
	}
	// The port of b compares two different (each unchanged) files: both parsed.
	hb, bb := hm.Products[1].OutputPorts[0].Contract, bm.Products[1].OutputPorts[0].Contract
	if hb.Stub() || bb.Stub() || hb.Version != "2.0.0" || bb.Version != "1.0.0" || len(hb.Models) != 1 {
		t.Errorf("contracts a port compares must be parsed: head %+v, base %+v", hb, bb)
	}
	if hm.Documents["b/v2.yaml"].Index == nil {
		t.Error("a parsed stub must fill its shared document too")
	}
	// A changed contract is parsed on both sides, separately.
	if hm.Contracts["c/c.yaml"] == bm.Contracts["c/c.yaml"] || hm.Contracts["c/c.yaml"].Version != "1.1.0" || bm.Contracts["c/c.yaml"].Stub() {
		t.Error("a changed contract must be parsed on each side")
	}
}

// TestLoadPairLinksByID: contracts named by id (ODPS) are read for their ids.
func TestLoadPairLinksByID(t *testing.T) {
	odps := file(`apiVersion: v1.0.0
kind: DataProduct
id: d.o
name: o
domain: d
status: active
team: {name: team-d}
outputPorts:
  - {name: p, version: "1", contractId: d.x}
`)
	fsys := fstest.MapFS{"o/o.odps.yaml": odps, "o/datacontract.yaml": pairContract("1.0.0")}
	hm, bm, err := LoadPair(context.Background(), fsys, fsys)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []*Mesh{hm, bm} {
		if len(m.Products) != 1 || m.Products[0].OutputPorts[0].Contract == nil || m.Products[0].OutputPorts[0].Contract.ID != "d.x" {
			t.Fatalf("port not linked by id: %+v (problems %v)", m.Products, m.Problems)
		}
	}
}
