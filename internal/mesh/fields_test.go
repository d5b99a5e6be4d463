package mesh

import (
	"slices"
	"testing"
)

func TestWalkOrderAndPaths(t *testing.T) {
	c, _, probs := ReadContract("nested.datacontract.yaml", readTestdata(t, "nested.datacontract.yaml"))
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	var got []string
	c.Models[0].Walk(func(path string, f *Field) { got = append(got, path) })
	want := []string{
		"customer_id", "email", "address", "address.city", "address.zip",
		"orders", "orders[]", "orders[].order_id", "orders[].total",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("walk = %v\nwant %v", got, want)
	}
	var under []string
	c.Models[0].Fields[2].Walk("customer", func(path string, f *Field) { under = append(under, path) })
	if !slices.Equal(under, []string{"customer.address", "customer.address.city", "customer.address.zip"}) {
		t.Fatalf("walk with prefix = %v", under)
	}
	var none []string
	(*Field)(nil).Walk("", func(path string, f *Field) { none = append(none, path) })
	if len(none) != 0 {
		t.Fatal("nil field walked")
	}
}
