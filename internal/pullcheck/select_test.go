package pullcheck

import (
	"fmt"
	"testing"

	"github.com/meshbot/meshbot/internal/mesh"
)

func TestSelectFiles(t *testing.T) {
	// The registry of this repository: which descriptors name which contract.
	registry := map[string][]string{
		"orders/order-events/contracts/order-events.v2.yaml": {"orders/order-events/dataproduct.yaml"},
		"shared/contracts/common.yaml":                       {"orders/order-events/dataproduct.yaml", "finance/revenue/dataproduct.yaml"},
		"legacy/contract.txt":                                {"legacy/dataproduct.yaml"},
	}
	contractOf := func(p string) []string { return registry[p] }
	exclude := mesh.Discovery{Exclude: []string{"deploy/**"}, From: mesh.ConfigFile}
	for _, tc := range []struct {
		name    string
		changes []change
		disc    mesh.Discovery
		want    string
	}{
		{"nothing relevant", []change{{Path: "README.md", Status: "modified"}, {Path: "src/main.go", Status: "added"}}, mesh.Discovery{},
			"[]"},
		{"any YAML or JSON, whatever its name: content decides", []change{{Path: "a/b.yaml"}, {Path: "c.YML"}, {Path: "d/e.json"}, {Path: "odcs.yaml"}}, mesh.Discovery{},
			"[a/b.yaml d/e.json odcs.yaml]"},
		{"renamed: both paths", []change{{Path: "new/product.yaml", Previous: "old/product.yaml", Status: "renamed"}}, mesh.Discovery{},
			"[new/product.yaml old/product.yaml]"},
		{"registered contract brings its descriptor", []change{{Path: "orders/order-events/contracts/order-events.v2.yaml", Status: "modified"}}, mesh.Discovery{},
			"[orders/order-events/contracts/order-events.v2.yaml orders/order-events/dataproduct.yaml]"},
		{"shared contract brings every user", []change{{Path: "shared/contracts/common.yaml", Status: "modified"}}, mesh.Discovery{},
			"[finance/revenue/dataproduct.yaml orders/order-events/dataproduct.yaml shared/contracts/common.yaml]"},
		{"a registered contract of any name brings its descriptor", []change{{Path: "legacy/contract.txt", Status: "modified"}}, mesh.Discovery{},
			"[legacy/dataproduct.yaml]"},
		{"the configuration, and what it excludes", []change{{Path: mesh.ConfigFile}, {Path: "deploy/app.yaml"}, {Path: "x.yaml"}}, exclude,
			"[.meshbot.yaml x.yaml]"},
		{"hidden folders are not read", []change{{Path: ".github/workflows/ci.yml"}}, mesh.Discovery{},
			"[]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := fmt.Sprint(selectFiles(tc.changes, tc.disc, contractOf))
			if got != tc.want {
				t.Errorf("selectFiles = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestNearby(t *testing.T) {
	tree := []string{
		"dataproduct.yaml",
		"orders/order-events/product.yaml",
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
		{[]string{"orders/order-events/contracts/order-events.v3.yaml"},
			"[dataproduct.yaml orders/order-events/contracts/order-events.v3.yaml orders/order-events/product.yaml]"},
		{[]string{"finance/revenue/sub/deeper/schema.json"}, "[dataproduct.yaml finance/revenue/dataproduct.yml finance/revenue/sub/deeper/schema.json]"},
		{[]string{"pricing/price-list/c.yaml"}, "[dataproduct.yaml pricing/price-list/price.odps.yaml]"},
		{[]string{"top.yaml"}, "[dataproduct.yaml]"},
		// A sibling folder's files are not "near".
		{[]string{"pricing/x.yaml"}, "[dataproduct.yaml]"},
	} {
		if got := fmt.Sprint(nearby(tc.files, tree, mesh.Discovery{})); got != tc.want {
			t.Errorf("nearby(%v) = %s, want %s", tc.files, got, tc.want)
		}
	}
	if got := fmt.Sprint(nearby([]string{"a/b.yaml"}, []string{"c/dataproduct.yaml"}, mesh.Discovery{})); got != "[]" {
		t.Errorf("unrelated tree: %s", got)
	}
}

func TestUnder(t *testing.T) {
	tree := []string{"p/a.odcs.yaml", "p/sub/datacontract.yml", "p/notes.md", "q/b.odcs.yaml", "pp/c.odcs.yaml"}
	if got := fmt.Sprint(under("p", tree, mesh.Discovery{})); got != "[p/a.odcs.yaml p/sub/datacontract.yml]" {
		t.Errorf("under(p) = %s", got)
	}
	if got := len(under(".", tree, mesh.Discovery{})); got != 4 {
		t.Errorf("under(.) = %d files, want 4", got)
	}
}
