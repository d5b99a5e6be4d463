package compat

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/meshbot/meshbot/internal/impact"
	"github.com/meshbot/meshbot/internal/mesh"
)

func loadMap(t *testing.T, files map[string]string) *mesh.Mesh {
	t.Helper()
	fsys := fstest.MapFS{}
	for p, s := range files {
		fsys[p] = &fstest.MapFile{Data: []byte(s)}
	}
	m, err := mesh.Load(context.Background(), fsys)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

const odpsProduct = `apiVersion: v1.0.0
kind: DataProduct
id: orders-dp
name: NAME
status: active
outputPorts:
  - name: orders
    version: 1.0.0
    contractId: CID
`

const odcsContract = `apiVersion: v3.1.0
kind: DataContract
id: orders-contract
version: 1.0.0
status: active
schema:
  - name: orders
    properties:
      - name: id
        logicalType: string
`

func odpsMesh(t *testing.T, name, cid string) *mesh.Mesh {
	return loadMap(t, map[string]string{
		"orders.odps.yaml": strings.NewReplacer("NAME", name, "CID", cid).Replace(odpsProduct),
		"orders.odcs.yaml": odcsContract,
	})
}

func TestODPSDisplayNameIsNotIdentity(t *testing.T) {
	r := Compare(odpsMesh(t, "Orders", "orders-contract"), odpsMesh(t, "Customer orders", "orders-contract"))
	for _, c := range r.Changes {
		if c.Rule == RuleProductRemoved || c.Rule == RuleProductAdded {
			t.Errorf("renaming the display name is not a new product: %v", c)
		}
	}
}

func TestDanglingContractID(t *testing.T) {
	r := Compare(odpsMesh(t, "Orders", "orders-contract"), odpsMesh(t, "Orders", "orders-contract-v2"))
	var got []Change
	for _, c := range r.Changes {
		if c.Rule == RulePortContractRemoved {
			got = append(got, c)
		}
	}
	if len(got) != 1 || !strings.Contains(got[0].Message, "now names contract orders-contract-v2, which is not in the repository") || got[0].Pos.Line != 9 {
		t.Fatalf("want one port-contract finding naming the dangling id on its line, got %v", r.Changes)
	}
}

// TestStandaloneContractConsumers: a contract no port publishes is still
// read by ODPS products naming its id; its changes are reported under the
// id those consumers are registered by, so the consumer graph finds them.
func TestStandaloneContractConsumers(t *testing.T) {
	consumer := `apiVersion: v1.0.0
kind: DataProduct
id: finance-dp
status: active
inputPorts:
  - name: orders-in
    version: 1.0.0
    contractId: orders-contract
`
	base := loadMap(t, map[string]string{"finance.odps.yaml": consumer, "orders.odcs.yaml": odcsContract})
	head := loadMap(t, map[string]string{"finance.odps.yaml": consumer,
		"orders.odcs.yaml": strings.Replace(odcsContract, "      - name: id\n        logicalType: string\n", "      - name: key\n        logicalType: string\n", 1)})
	var removed *Change
	for i, c := range Compare(base, head).Changes {
		if c.Rule == RuleFieldRemoved {
			removed = &Compare(base, head).Changes[i]
		}
	}
	if removed == nil || removed.Product != mesh.ContractConsumerID("orders-contract") {
		t.Fatalf("want the removal reported under the contract's id, got %+v", removed)
	}
	got := impact.Build(head.Products).Affected(removed.Product, removed.Port, removed.Fields)
	if len(got) != 1 || got[0].Product != "finance-dp" {
		t.Errorf("consumers of the standalone contract = %+v", got)
	}
}
