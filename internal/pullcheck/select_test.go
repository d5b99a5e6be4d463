package pullcheck

import (
	"fmt"
	"testing"
)

func TestClassify(t *testing.T) {
	// The registry of this repository: which descriptors name which contract.
	registry := map[string][]string{
		"orders/order-events/contracts/order-events.v2.yaml": {"orders/order-events/dataproduct.yaml"},
		"shared/contracts/common.yaml":                       {"orders/order-events/dataproduct.yaml", "finance/revenue/dataproduct.yaml"},
		"pricing/price-list/contracts/price-list.odcs.yaml":  {"pricing/price-list/dataproduct.yaml"},
	}
	contractOf := func(p string) []string { return registry[p] }
	for _, tc := range []struct {
		name    string
		changes []change
		want    string
	}{
		{"nothing relevant", []change{{Path: "README.md", Status: "modified"}, {Path: "src/main.go", Status: "added"}},
			"d=[] c=[] u=[]"},
		{"descriptor modified", []change{{Path: "finance/revenue/dataproduct.yaml", Status: "modified"}},
			"d=[finance/revenue/dataproduct.yaml] c=[] u=[]"},
		{"descriptor removed still counts", []change{{Path: "finance/revenue/dataproduct.yml", Status: "removed"}},
			"d=[finance/revenue/dataproduct.yml] c=[] u=[]"},
		{"odps descriptor", []change{{Path: "pricing/x.odps.yaml", Status: "added"}},
			"d=[pricing/x.odps.yaml] c=[] u=[]"},
		{"descriptor renamed: both paths", []change{{Path: "new/dataproduct.yaml", Previous: "old/dataproduct.yaml", Status: "renamed"}},
			"d=[new/dataproduct.yaml old/dataproduct.yaml] c=[] u=[]"},
		{"registered contract brings its descriptor", []change{{Path: "orders/order-events/contracts/order-events.v2.yaml", Status: "modified"}},
			"d=[orders/order-events/dataproduct.yaml] c=[] u=[]"},
		{"shared contract brings every user", []change{{Path: "shared/contracts/common.yaml", Status: "modified"}},
			"d=[finance/revenue/dataproduct.yaml orders/order-events/dataproduct.yaml] c=[] u=[]"},
		{"contract renamed away: the old path is known", []change{{Path: "orders/order-events/contracts/v2.yaml", Previous: "orders/order-events/contracts/order-events.v2.yaml", Status: "renamed"}},
			"d=[orders/order-events/dataproduct.yaml] c=[] u=[orders/order-events/contracts/v2.yaml]"},
		{"unknown yaml, yml and json wait for the tree", []change{{Path: "a/b.yaml"}, {Path: "c.YML"}, {Path: "d/e.json"}, {Path: "f.txt"}},
			"d=[] c=[] u=[a/b.yaml c.YML d/e.json]"},
		{"registered standalone contract", []change{{Path: "pricing/price-list/contracts/price-list.odcs.yaml", Status: "modified"}},
			"d=[pricing/price-list/dataproduct.yaml] c=[pricing/price-list/contracts/price-list.odcs.yaml] u=[]"},
		{"unregistered standalone contract is loaded and searched for", []change{{Path: "x/datacontract.yaml", Status: "added"}},
			"d=[] c=[x/datacontract.yaml] u=[x/datacontract.yaml]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := classify(tc.changes, contractOf)
			got := fmt.Sprintf("d=%v c=%v u=%v", p.descriptors, p.contracts, p.unexplained)
			if got != tc.want {
				t.Errorf("classify =\n  %s\nwant\n  %s", got, tc.want)
			}
			if p.empty() != (tc.want == "d=[] c=[] u=[]") {
				t.Errorf("empty() = %v", p.empty())
			}
		})
	}
}

func TestNearbyDescriptors(t *testing.T) {
	tree := []string{
		"dataproduct.yaml",
		"orders/order-events/dataproduct.yaml",
		"orders/order-events/contracts/order-events.v3.yaml",
		"finance/revenue/dataproduct.yml",
		"finance/revenue/sub/deeper/schema.json",
		"pricing/price-list/price.odps.yaml",
		"pricing/other/dataproduct.yaml",
		"docs/readme.md",
	}
	for _, tc := range []struct {
		files []string
		want  string
	}{
		{[]string{"orders/order-events/contracts/order-events.v3.yaml"}, "[dataproduct.yaml orders/order-events/dataproduct.yaml]"},
		{[]string{"finance/revenue/sub/deeper/schema.json"}, "[dataproduct.yaml finance/revenue/dataproduct.yml]"},
		{[]string{"pricing/price-list/c.yaml"}, "[dataproduct.yaml pricing/price-list/price.odps.yaml]"},
		{[]string{"top.yaml"}, "[dataproduct.yaml]"},
		// A sibling folder's descriptor is not "near".
		{[]string{"pricing/x.yaml"}, "[dataproduct.yaml]"},
	} {
		if got := fmt.Sprint(nearbyDescriptors(tc.files, tree)); got != tc.want {
			t.Errorf("nearbyDescriptors(%v) = %s, want %s", tc.files, got, tc.want)
		}
	}
	if got := fmt.Sprint(nearbyDescriptors([]string{"a/b.yaml"}, []string{"c/dataproduct.yaml"})); got != "[]" {
		t.Errorf("unrelated tree: %s", got)
	}
}

func TestContractsUnder(t *testing.T) {
	tree := []string{"p/a.odcs.yaml", "p/sub/datacontract.yml", "p/notes.yaml", "q/b.odcs.yaml", "pp/c.odcs.yaml"}
	if got := fmt.Sprint(contractsUnder("p", tree)); got != "[p/a.odcs.yaml p/sub/datacontract.yml]" {
		t.Errorf("contractsUnder(p) = %s", got)
	}
	if got := len(contractsUnder(".", tree)); got != 4 {
		t.Errorf("contractsUnder(.) = %d files, want 4", got)
	}
}
