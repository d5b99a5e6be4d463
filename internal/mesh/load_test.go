package mesh

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

func file(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }

const portsDescriptor = `apiVersion: mesh/v1
kind: DataProduct
metadata:
  name: %s
  domain: d
spec:
  outputPorts:
    - name: a
      contract: ./contracts/shared.yaml
    - name: b
      contract: contracts/shared.yaml
    - name: gone
      contract: ./contracts/missing.yaml
    - name: out
      contract: ../../../outside.yaml
`

func TestLoad(t *testing.T) {
	seedDesc := readTestdata(t, "seed004.dataproduct.yaml")
	seedContract := readTestdata(t, "seed004.datacontract.yaml")
	fsys := fstest.MapFS{
		"orders/order-events/dataproduct.yaml":                        {Data: seedDesc},
		"orders/order-events/contracts/order-events.v2.yaml":          {Data: seedContract},
		"z/dataproduct.yml":                                           file(strings.Replace(portsDescriptor, "%s", "z", 1)),
		"z/contracts/shared.yaml":                                     {Data: seedContract},
		"customer/customer.odps.yaml":                                 {Data: readTestdata(t, "customer.odps.yaml")},
		"customer/datacontract.yaml":                                  {Data: readTestdata(t, "nested.datacontract.yaml")},
		"payments/payments.odcs.yaml":                                 {Data: readTestdata(t, "table.odcs.yaml")},
		"testdata/fixture/dataproduct.yaml":                           {Data: readTestdata(t, "product-md.dataproduct.yaml")},
		"vendor/x/dataproduct.yaml":                                   file("kind: Nope\n"),
		".git/dataproduct.yaml":                                       file("kind: Nope\n"),
		".github/x/dataproduct.yaml":                                  file("kind: Nope\n"),
		"web/node_modules/pkg/dataproduct.yaml":                       file("kind: Nope\n"),
		"broken/dataproduct.yaml":                                     file("a: [\n"),
		"docs/readme.yaml":                                            file("kind: Nope\n"),
		"orders/order-events/contracts/unreferenced-but-ignored.yaml": file("kind: Nope\n"),
	}
	m, err := Load(context.Background(), fsys)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, p := range m.Products {
		files = append(files, p.File)
	}
	wantFiles := "customer/customer.odps.yaml orders/order-events/dataproduct.yaml testdata/fixture/dataproduct.yaml vendor/x/dataproduct.yaml z/dataproduct.yml"
	if got := strings.Join(files, " "); got != wantFiles {
		t.Errorf("products %s\nwant     %s", got, wantFiles)
	}
	oe := m.Products[1].OutputPort("iceberg-curated")
	if oe.Contract == nil || oe.Contract.File != "orders/order-events/contracts/order-events.v2.yaml" || oe.Version != "2.0.0" {
		t.Errorf("seed port contract = %+v", oe.Contract)
	}
	z := m.Products[4]
	if z.OutputPorts[0].Contract == nil || z.OutputPorts[0].Contract != z.OutputPorts[1].Contract {
		t.Error("ports sharing a contract must share one parsed Contract")
	}
	if z.OutputPorts[2].Contract != nil || z.OutputPorts[3].Contract != nil {
		t.Error("missing or escaping contracts must stay nil")
	}
	cust := m.Products[0]
	if c := cust.OutputPorts[0].Contract; c == nil || c.File != "customer/datacontract.yaml" || cust.OutputPorts[0].ContractPath != c.File {
		t.Errorf("ODPS port not linked by contract id: %+v", cust.OutputPorts[0])
	}
	if cust.OutputPorts[1].Contract != nil {
		t.Error("ODPS port with an unknown contract id was linked")
	}
	for _, p := range []string{"customer/datacontract.yaml", "payments/payments.odcs.yaml", "z/contracts/shared.yaml", "orders/order-events/contracts/order-events.v2.yaml"} {
		if m.Contracts[p] == nil || m.Documents[p] == nil {
			t.Errorf("contract %s not loaded", p)
		}
	}
	if len(m.Contracts) != 4 {
		t.Errorf("%d contracts, want 4", len(m.Contracts))
	}
	if m.Documents["broken/dataproduct.yaml"] != nil || m.Documents["z/dataproduct.yml"] == nil {
		t.Error("documents map wrong")
	}
	type exp struct {
		code, file string
		line       int
	}
	// Problems come sorted by file and line.
	want := []exp{
		{"yaml-syntax", "broken/dataproduct.yaml", 2},
		{CodeContractMissing, "testdata/fixture/dataproduct.yaml", 22},
		{CodeUnknownFormat, "vendor/x/dataproduct.yaml", 1},
		{CodeContractMissing, "z/dataproduct.yml", 13},
		{CodeContractPathEscapes, "z/dataproduct.yml", 15},
	}
	if len(m.Problems) != len(want) {
		t.Fatalf("problems %v", m.Problems)
	}
	for i, w := range want {
		p := m.Problems[i]
		if p.Code != w.code || p.Pos.File != w.file || p.Pos.Line != w.line {
			t.Errorf("problem %d = %s %v, want %v", i, p.Code, p.Pos, w)
		}
	}
}

func TestLoadContractReadAsBothPathAndStandalone(t *testing.T) {
	// A standalone contract that a port also names is parsed once.
	fsys := fstest.MapFS{
		"p/dataproduct.yaml":  file("apiVersion: mesh/v1\nkind: DataProduct\nmetadata: {name: p}\nspec:\n  outputPorts:\n    - name: a\n      contract: datacontract.yaml\n"),
		"p/datacontract.yaml": {Data: readTestdata(t, "seed004.datacontract.yaml")},
	}
	m, err := Load(context.Background(), fsys)
	if err != nil || len(m.Problems) > 0 {
		t.Fatal(err, m.Problems)
	}
	if m.Products[0].OutputPorts[0].Contract != m.Contracts["p/datacontract.yaml"] {
		t.Fatal("port not linked to the standalone contract")
	}
}

func TestLoadOnDisk(t *testing.T) {
	dir := t.TempDir()
	write := func(p, s string) {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a/dataproduct.yaml", "apiVersion: mesh/v1\nkind: DataProduct\nmetadata: {name: a}\nspec:\n  outputPorts:\n    - name: x\n      contract: c\n")
	if err := os.MkdirAll(filepath.Join(dir, "a", "c"), 0o755); err != nil { // a folder, not a file
		t.Fatal(err)
	}
	write("outside.yaml", "secret: 1\n")
	if err := os.Symlink(filepath.Join(dir, "outside.yaml"), filepath.Join(dir, "a", "linked.odps.yaml")); err != nil {
		t.Skip("no symlinks here:", err)
	}
	m, err := Load(context.Background(), os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Products) != 1 {
		t.Errorf("symlinked descriptor read: %d products", len(m.Products))
	}
	// The linked descriptor is not read, and is a finding (issue 11.5).
	if len(m.Problems) != 2 || m.Problems[0].Code != CodeReadError || m.Problems[0].Pos.Line != 7 ||
		m.Problems[1].Code != CodeSymlink || m.Problems[1].Pos.File != "a/linked.odps.yaml" {
		t.Errorf("contract path naming a folder, and a linked descriptor: %v", m.Problems)
	}
}

func TestLoadErrors(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	fsys := fstest.MapFS{"dataproduct.yaml": file("kind: DataProduct\n")}
	if _, err := Load(ctx, fsys); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled load: %v", err)
	}
	if _, err := Load(context.Background(), os.DirFS(filepath.Join(t.TempDir(), "absent"))); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("absent root: %v", err)
	}
	m, err := Load(context.Background(), fstest.MapFS{})
	if err != nil || len(m.Products) != 0 || len(m.Problems) != 0 {
		t.Errorf("empty checkout: %v %v", m, err)
	}
}

func TestLoadReusingSharesIdenticalContracts(t *testing.T) {
	ctx := context.Background()
	desc := func(name string) *fstest.MapFile {
		return file(`apiVersion: mesh/v1
kind: DataProduct
metadata: {name: ` + name + `, domain: d, owner: team-d}
spec:
  outputPorts:
    - {name: p, type: iceberg, location: s3://eu-x/a/, contract: ./c.yaml}
`)
	}
	contract := func(v string) *fstest.MapFile {
		return file(`dataContractSpecification: 1.1.0
id: d.a
info: {title: a, version: ` + v + `}
models:
  m:
    fields:
      f: {type: string}
`)
	}
	base := fstest.MapFS{"a/dataproduct.yaml": desc("a"), "a/c.yaml": contract("1.0.0"), "b/dataproduct.yaml": desc("b"), "b/c.yaml": contract("1.0.0")}
	head := fstest.MapFS{"a/dataproduct.yaml": desc("a"), "a/c.yaml": contract("1.0.0"), "b/dataproduct.yaml": desc("b"), "b/c.yaml": contract("2.0.0")}
	bm, err := Load(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	hm, err := LoadReusing(ctx, head, bm)
	if err != nil {
		t.Fatal(err)
	}
	if len(bm.Problems)+len(hm.Problems) != 0 {
		t.Fatalf("problems: %v %v", bm.Problems, hm.Problems)
	}
	if hm.Contracts["a/c.yaml"] != bm.Contracts["a/c.yaml"] {
		t.Error("identical contract was parsed again instead of shared")
	}
	if hm.Contracts["b/c.yaml"] == bm.Contracts["b/c.yaml"] || hm.Contracts["b/c.yaml"].Version != "2.0.0" {
		t.Error("changed contract was shared")
	}
	if hm.Products[0] == bm.Products[0] || hm.Products[1].OutputPorts[0].Contract != hm.Contracts["b/c.yaml"] {
		t.Error("head products must be its own, linked to head's contracts")
	}
}
