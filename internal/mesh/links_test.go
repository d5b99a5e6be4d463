package mesh

import (
	"context"
	"testing"
	"testing/fstest"
)

func TestDanglingContractIDs(t *testing.T) {
	fsys := fstest.MapFS{
		"orders.odps.yaml": {Data: []byte(`apiVersion: v1.0.0
kind: DataProduct
id: orders-dp
status: active
outputPorts:
  - name: here
    version: 1.0.0
    contractId: orders-contract
  - name: gone
    version: 1.0.0
    contractId: orders-contract-v2
`)},
		"orders.odcs.yaml": {Data: []byte("apiVersion: v3.1.0\nkind: DataContract\nid: orders-contract\nversion: 1.0.0\nstatus: active\n")},
	}
	m, err := Load(context.Background(), fsys)
	if err != nil {
		t.Fatal(err)
	}
	got := DanglingContractIDs(m)
	if len(got) != 1 || got[0].Code != CodeContractIDUnknown || !got[0].Notice || got[0].Pos.Line != 11 {
		t.Fatalf("want one notice on line 11, got %+v", got)
	}
}
