package mesh

import (
	"context"
	"reflect"
	"testing"
	"testing/fstest"
)

// What the index stores is what discovery read: documents found by their
// content under any name (in binary form, so LoadStored cannot sniff
// their bytes) and the .meshbot.yaml that chose them. LoadStored gives the
// Mesh Load gave, the file report included.
func TestLoadStoredByContentAndConfig(t *testing.T) {
	ctx := context.Background()
	files := map[string][]byte{
		ConfigFile:                     []byte("discovery:\n  include: ['**/*.yaml', '**/*.dpd']\n"),
		"legacy/payments.dpd":          []byte("apiVersion: mesh/v1\nkind: DataProduct\nmetadata: {name: payments, domain: legacy, owner: team-x}\nspec:\n  outputPorts:\n    - {name: p, type: iceberg, contract: ./pay.yaml}\n"),
		"legacy/pay.yaml":              []byte("dataContractSpecification: 1.1.0\nid: pay\ninfo: {title: Pay, version: 1.0.0, owner: team-x}\n"),
		"contracts/orders-v0.1.0.yaml": []byte("apiVersion: v3.0.2\nkind: DataContract\nid: orders\nversion: 0.1.0\nstatus: active\n"),
		"deploy/app.yaml":              []byte("apiVersion: apps/v1\nkind: Deployment\n"),
	}
	want, err := Load(ctx, fstest.MapFS(toMapFS(files)))
	if err != nil {
		t.Fatal(err)
	}
	if len(want.Products) != 1 || len(want.Contracts) != 2 {
		t.Fatalf("Load: %d products, %d contracts; the fixture moved", len(want.Products), len(want.Contracts))
	}
	stored := map[string][]byte{}
	for _, f := range want.Files.Read {
		stored[f.Path] = files[f.Path]
	}
	enc := EncodeFiles(want, stored)
	for p := range want.Documents {
		if !IsEncodedDocument(enc[p]) {
			t.Fatalf("%s not stored in binary form", p)
		}
	}
	got, err := LoadStored(ctx, fstest.MapFS(toMapFS(enc)))
	if err != nil {
		t.Fatal(err)
	}
	want.Files.Skipped = []SkippedFile{} // what was skipped is not stored
	if !reflect.DeepEqual(got, want) {
		t.Errorf("LoadStored differs from Load:\nproducts %d/%d contracts %d/%d\nfiles %+v\nwant  %+v\nproblems %v / %v",
			len(got.Products), len(want.Products), len(got.Contracts), len(want.Contracts), got.Files, want.Files, got.Problems, want.Problems)
	}
}
