package compat

import (
	"slices"
	"testing"

	"github.com/meshbot/meshbot/internal/mesh"
)

func meshOf(products []*mesh.Product, contracts ...*mesh.Contract) *mesh.Mesh {
	m := &mesh.Mesh{Products: products, Contracts: map[string]*mesh.Contract{}}
	for _, c := range contracts {
		m.Contracts[c.File] = c
	}
	return m
}

func productNamed(domain, name string, ports ...*mesh.OutputPort) *mesh.Product {
	return &mesh.Product{File: domain + "/dataproduct.yaml", Domain: domain, Name: name, OutputPorts: ports, Pos: mesh.Pos{File: domain + "/dataproduct.yaml", Line: 3}}
}

func portWith(name string, c *mesh.Contract) *mesh.OutputPort {
	p := &mesh.OutputPort{Name: name, Type: "iceberg", Location: "s3://x/", Pos: mesh.Pos{Line: 12}}
	if c != nil {
		p.ContractRef, p.ContractPath, p.Contract = "./"+c.File, c.File, c
	}
	return p
}

func TestCompare(t *testing.T) {
	c1 := contractOf("orders/c1.yaml", "1.0.0", modelOf("e", fieldOf("id", "string"), fieldOf("total", "long")))
	c2 := contractOf("orders/c2.yaml", "1.1.0", modelOf("e", fieldOf("id", "string")))
	sBase := contractOf("shared/s.yaml", "1.0.0", modelOf("x", fieldOf("a", "int")))
	sHead := contractOf("shared/s.yaml", "1.1.0", modelOf("x", fieldOf("a", "long")))
	gone := contractOf("shared/gone.yaml", "1.0.0")
	added := contractOf("shared/new.yaml", "1.0.0")

	base := meshOf([]*mesh.Product{
		productNamed("orders", "order-events", portWith("iceberg", c1)),
		productNamed("pricing", "prices"),
	}, c1, sBase, gone)
	head := meshOf([]*mesh.Product{
		productNamed("orders", "order-events", portWith("iceberg", c2)),
		productNamed("customer", "profile"),
	}, c2, sHead, added)

	r := Compare(base, head)
	checkTable(t, r.Changes)
	type key struct{ rule, product, port, contract string }
	var got []key
	for _, c := range r.Changes {
		got = append(got, key{c.Rule, c.Product, c.Port, c.Contract})
	}
	want := []key{
		{RuleContractAdded, "", "", "shared/new.yaml"},
		{RuleContractRemoved, "", "", "shared/gone.yaml"},
		{RuleProductAdded, "customer.profile", "", ""},
		{RuleProductRemoved, "pricing.prices", "", ""},
		{RulePortContractChanged, "orders.order-events", "iceberg", ""},
		{RuleFieldRemoved, "orders.order-events", "iceberg", "orders/c2.yaml"},
		{RuleBreakingInMajor, "orders.order-events", "iceberg", "orders/c2.yaml"},
		{RuleFieldTypeWidened, "", "", "shared/s.yaml"},
	}
	less := func(a, b key) int {
		if a.rule != b.rule {
			if a.rule < b.rule {
				return -1
			}
			return 1
		}
		if a.contract < b.contract {
			return -1
		}
		return 0
	}
	slices.SortFunc(got, less)
	slices.SortFunc(want, less)
	if !slices.Equal(got, want) {
		t.Errorf("changes:\n got %v\nwant %v", got, want)
	}
	if !slices.IsSortedFunc(r.Changes, func(a, b Change) int {
		if a.Pos.File != b.Pos.File {
			if a.Pos.File < b.Pos.File {
				return -1
			}
			return 1
		}
		return a.Pos.Line - b.Pos.Line
	}) {
		t.Errorf("changes are not sorted by file and line: %v", r.Changes)
	}
	if len(r.Versions) != 2 {
		t.Fatalf("want a version record per compared contract (port pair and standalone), got %+v", r.Versions)
	}
	for _, v := range r.Versions {
		switch v.Contract {
		case "orders/c2.yaml":
			if v.Old != "1.0.0" || v.New != "1.1.0" || v.MajorBumped || !v.Breaking || v.Product != "orders.order-events" || v.Port != "iceberg" {
				t.Errorf("port contract version = %+v", v)
			}
		case "shared/s.yaml":
			if v.Breaking || v.Product != "" {
				t.Errorf("standalone version = %+v", v)
			}
		default:
			t.Errorf("unexpected version record %+v", v)
		}
	}
}

func TestCompareSkipsUnreadableContracts(t *testing.T) {
	c := contractOf("o/c.yaml", "1", modelOf("m", fieldOf("a", "int")))
	broken := portWith("p", nil)
	broken.ContractRef, broken.ContractPath = "./c.yaml", "o/c.yaml" // the reader reported a Problem; Contract is nil
	base := meshOf([]*mesh.Product{productNamed("o", "p", portWith("p", c))}, c)
	head := meshOf([]*mesh.Product{productNamed("o", "p", broken)})
	head.Contracts["o/c.yaml"] = nil
	if r := Compare(base, head); len(r.Changes) != 0 || len(r.Versions) != 0 {
		t.Errorf("an unreadable head contract is a Problem, not a change: %+v", r)
	}
}

func TestCompareNilAndDuplicates(t *testing.T) {
	p := productNamed("o", "p")
	dup := productNamed("o", "p")
	dup.Owner = "someone-else"
	if r := Compare(nil, meshOf([]*mesh.Product{p, dup})); len(r.Changes) != 1 || r.Changes[0].Rule != RuleProductAdded {
		t.Errorf("nil base: %+v", r.Changes)
	}
	if r := Compare(meshOf([]*mesh.Product{p}), nil); len(r.Changes) != 1 || r.Changes[0].Rule != RuleProductRemoved || !r.Changes[0].InBase {
		t.Errorf("nil head: %+v", r.Changes)
	}
	if r := Compare(meshOf([]*mesh.Product{p, dup}), meshOf([]*mesh.Product{p})); len(r.Changes) != 0 {
		t.Errorf("a duplicate id is the reader's problem, not a change: %+v", r.Changes)
	}
}

func TestReportHelpers(t *testing.T) {
	r := &Report{}
	if r.Max() != Info || len(r.Breaking()) != 0 {
		t.Error("an empty report is info with nothing breaking")
	}
	r.Changes = []Change{{Rule: RuleFieldAddedOptional, Severity: Info}, {Rule: RuleFieldRemoved, Severity: Breaking}, {Rule: RuleEnumValueAdded, Severity: Warning}}
	if r.Max() != Breaking || len(r.Breaking()) != 1 || r.Breaking()[0].Rule != RuleFieldRemoved {
		t.Errorf("Max %s, Breaking %v", r.Max(), r.Breaking())
	}
}

// A wide table exercises the map lookup and out-of-order fields.
func TestWideTableReordered(t *testing.T) {
	var base, head []*mesh.Field
	for i := range 40 {
		base = append(base, fieldOf(string(rune('a'+i%26))+string(rune('a'+i/26)), "int"))
	}
	for i := 39; i >= 1; i-- { // reversed, first field dropped
		head = append(head, fieldOf(base[i].Name, "int"))
	}
	cs := structural(Contracts(contractOf("c.yaml", "1", modelOf("m", base...)), contractOf("c.yaml", "1", modelOf("m", head...))))
	if d := diffLists(summary(cs), []string{"field-removed m.aa"}); d != "" {
		t.Error(d)
	}
}
