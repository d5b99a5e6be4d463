package impact

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/meshbot/meshbot/internal/mesh"
)

// in is shorthand for an input port: "producer/port" plus declared fields.
func in(name, target string, fields ...string) *mesh.InputPort {
	prod, port, _ := strings.Cut(target, "/")
	ip := &mesh.InputPort{Name: name, Product: prod, Port: port, Pos: mesh.Pos{File: "x", Line: 7}}
	for _, f := range fields {
		ip.Fields = append(ip.Fields, mesh.FieldRef{Name: f})
	}
	return ip
}

func product(id, owner string, outPorts []string, inputs ...*mesh.InputPort) *mesh.Product {
	domain, name, _ := strings.Cut(id, ".")
	p := &mesh.Product{Domain: domain, Name: name, Owner: owner, File: domain + "/" + name + "/dataproduct.yaml", InputPorts: inputs}
	for _, o := range outPorts {
		p.OutputPorts = append(p.OutputPorts, &mesh.OutputPort{Name: o})
	}
	return p
}

// exampleMesh mirrors testdata/mesh: order-events feeds revenue and
// customer-360 (a diamond through customer-profile), stock-levels reads the
// deprecated v1 port.
func exampleMesh() []*mesh.Product {
	return []*mesh.Product{
		product("orders.order-events", "team-orders", []string{"iceberg-curated", "kafka-realtime", "iceberg-v1"}),
		product("customer.customer-profile", "team-customer", []string{"iceberg-curated"},
			in("orders", "orders.order-events/kafka-realtime", "customer_id")),
		product("customer.customer-360", "team-customer-insights", []string{"iceberg-curated"},
			in("orders", "orders.order-events/iceberg-curated", "order_id", "customer_id", "total_minor", "currency", "status"),
			in("profiles", "customer.customer-profile/iceberg-curated", "customer_id", "segment")),
		product("finance.revenue", "team-finance", []string{"iceberg-curated"},
			in("orders", "orders.order-events/iceberg-curated", "order_id", "total_minor", "currency", "status")),
		product("inventory.stock-levels", "team-inventory", []string{"iceberg-curated"},
			in("orders", "orders.order-events/iceberg-v1", "order_id", "status")),
		product("finance.forecast", "team-finance", []string{"iceberg-curated"},
			in("revenue", "finance.revenue/iceberg-curated"),
			in("c360", "customer.customer-360/iceberg-curated", "customer_360.segment")),
	}
}

func ids(cs []Consumer) []string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.Product+"#"+c.InputPort)
	}
	return out
}

func TestConsumersOf(t *testing.T) {
	g := Build(exampleMesh())
	tests := []struct {
		product, port string
		want          []string
	}{
		{"orders.order-events", "iceberg-curated", []string{"customer.customer-360#orders", "finance.revenue#orders"}},
		{"orders.order-events", "iceberg-v1", []string{"inventory.stock-levels#orders"}},
		{"orders.order-events", "", []string{"customer.customer-360#orders", "customer.customer-profile#orders", "finance.revenue#orders", "inventory.stock-levels#orders"}},
		{"orders.order-events", "no-such-port", []string{}},
		{"finance.forecast", "", []string{}},
		{"nobody.knows", "", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.product+"/"+tt.port, func(t *testing.T) {
			got := ids(g.ConsumersOf(tt.product, tt.port))
			if !slices.Equal(got, tt.want) {
				t.Errorf("ConsumersOf(%q, %q) = %v, want %v", tt.product, tt.port, got, tt.want)
			}
		})
	}
}

func TestConsumerCarriesOwnerFileAndPosition(t *testing.T) {
	g := Build(exampleMesh())
	cs := g.ConsumersOf("orders.order-events", "iceberg-v1")
	if len(cs) != 1 {
		t.Fatalf("want one consumer of iceberg-v1, got %v", ids(cs))
	}
	c := cs[0]
	if c.Owner != "team-inventory" || c.File != "inventory/stock-levels/dataproduct.yaml" ||
		c.Pos.Line != 7 || c.Producer != "orders.order-events" || c.Port != "iceberg-v1" || len(c.Fields) != 2 {
		t.Errorf("consumer lost its details: %+v", c)
	}
}

func TestConsumersOfReturnsCopy(t *testing.T) {
	g := Build(exampleMesh())
	a := g.ConsumersOf("orders.order-events", "")
	a[0].Product = "mutated"
	if b := g.ConsumersOf("orders.order-events", ""); b[0].Product == "mutated" {
		t.Fatal("ConsumersOf exposes the graph's own slice")
	}
}

func TestAffected(t *testing.T) {
	g := Build(exampleMesh())
	tests := []struct {
		name          string
		product, port string
		fields        []string
		want          []string
	}{
		{"qualified change hits bare consumer fields", "orders.order-events", "iceberg-curated",
			[]string{"order_event.total_minor"}, []string{"customer.customer-360#orders", "finance.revenue#orders"}},
		{"field only customer-360 reads", "orders.order-events", "iceberg-curated",
			[]string{"order_event.customer_id"}, []string{"customer.customer-360#orders"}},
		{"field nobody reads", "orders.order-events", "iceberg-curated",
			[]string{"order_event.occurred_at", "order_event.shipping_address.city"}, []string{}},
		{"bare change path", "orders.order-events", "iceberg-curated",
			[]string{"currency"}, []string{"customer.customer-360#orders", "finance.revenue#orders"}},
		{"no fields hits every consumer of the port", "orders.order-events", "iceberg-curated",
			nil, []string{"customer.customer-360#orders", "finance.revenue#orders"}},
		{"blank field list counts as no fields", "orders.order-events", "iceberg-curated",
			[]string{" ", ""}, []string{"customer.customer-360#orders", "finance.revenue#orders"}},
		{"consumer without field list depends on everything", "finance.revenue", "iceberg-curated",
			[]string{"revenue.anything"}, []string{"finance.forecast#revenue"}},
		{"model-qualified consumer field, change in same model", "customer.customer-360", "iceberg-curated",
			[]string{"customer_360.segment"}, []string{"finance.forecast#c360"}},
		{"model-qualified consumer field, change in other model", "customer.customer-360", "iceberg-curated",
			[]string{"other_model.segment"}, []string{}},
		{"bare change, qualified consumer", "customer.customer-360", "iceberg-curated",
			[]string{"segment"}, []string{"finance.forecast#c360"}},
		{"whole model removed hits qualified consumer", "customer.customer-360", "iceberg-curated",
			[]string{"customer_360"}, []string{"finance.forecast#c360"}},
		{"other port untouched", "orders.order-events", "kafka-realtime",
			[]string{"order_event.total_minor"}, []string{}},
		{"any port", "orders.order-events", "",
			[]string{"order_event.status"}, []string{"customer.customer-360#orders", "finance.revenue#orders", "inventory.stock-levels#orders"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ids(g.Affected(tt.product, tt.port, tt.fields))
			if !slices.Equal(got, tt.want) {
				t.Errorf("Affected(%q, %q, %q) = %v, want %v", tt.product, tt.port, tt.fields, got, tt.want)
			}
		})
	}
}

func TestMatches(t *testing.T) {
	tests := []struct {
		change, ref string
		want        bool
	}{
		{"m.field", "field", true},
		{"m.field", "m.field", true},
		{"m.field", "other.field", false},
		{"m.field", "fieldx", false},
		{"m.fieldx", "field", false},
		{"m.address.city", "address", true},      // consumer of the parent
		{"m.address.city", "m.address", true},    // consumer of the parent, qualified
		{"m.address", "address.city", true},      // parent changed under a nested consumer
		{"m.address", "m.address.city", true},    // same, qualified
		{"m.address.city", "address.zip", false}, // sibling
		{"m.address.city", "city", false},        // not a top-level city
		{"m.city", "address.city", false},        // a top-level city is not address.city
		{"m", "m.field", true},                   // model removed
		{"m", "field", false},                    // a bare ref is a field, not a model
		{"field", "field", true},                 // bare change
		{"field", "m.field", true},               // bare change, qualified consumer
		{"field", "m.other", false},              // bare change, other field
		{"address", "m.address.city", true},      // bare parent change, qualified nested consumer
		{"address", "address.city", true},        // bare parent change
		{"m.a.b.c", "a.b", true},                 // deep nesting
		{"m.a.b", "a.b.c.d", true},               // deep nesting, consumer deeper
		{"m.a.b", "a.c", false},                  // diverging nesting
		{"M.Field", "field", false},              // names are case-sensitive as in the contract
	}
	for _, tt := range tests {
		t.Run(tt.change+"~"+tt.ref, func(t *testing.T) {
			if got := matches(tt.change, tt.ref); got != tt.want {
				t.Errorf("matches(%q, %q) = %v, want %v", tt.change, tt.ref, got, tt.want)
			}
			if got := FieldMatches(tt.ref, []string{"x.unrelated", tt.change}); got != tt.want {
				t.Errorf("FieldMatches(%q, [x.unrelated %q]) = %v, want %v", tt.ref, tt.change, got, tt.want)
			}
		})
	}
}

func TestFieldMatchesWithoutChanges(t *testing.T) {
	if !FieldMatches("total_minor", nil) || !FieldMatches("total_minor", []string{"", " "}) {
		t.Error("no change paths means the whole port changed: every field is hit")
	}
	if FieldMatches("", []string{"m.total_minor"}) {
		t.Error("a blank ref cannot be hit by a named change")
	}
}

func TestCleanPathRejectsEmptySegments(t *testing.T) {
	for _, p := range []string{"", " ", ".", "a..b", ".a", "a."} {
		if s, ok := cleanPath(p); ok {
			t.Errorf("cleanPath(%q) = %q, want rejected", p, s)
		}
	}
	if s, ok := cleanPath(" a.b "); !ok || s != "a.b" {
		t.Errorf("cleanPath trims: got %q", s)
	}
	// Malformed paths never match, even against themselves.
	if FieldMatches("a..b", []string{"m.a"}) || FieldMatches("a.", []string{"m.a"}) {
		t.Error("a malformed ref matched")
	}
}

func TestDownstreamAndInDegree(t *testing.T) {
	tests := []struct {
		name     string
		products []*mesh.Product
		of       string
		down     []string
		inDegree int
	}{
		{"example mesh", exampleMesh(), "orders.order-events",
			[]string{"customer.customer-360", "customer.customer-profile", "finance.forecast", "finance.revenue", "inventory.stock-levels"}, 4},
		{"leaf", exampleMesh(), "finance.forecast", nil, 0},
		{"diamond counted once", exampleMesh(), "customer.customer-profile",
			[]string{"customer.customer-360", "finance.forecast"}, 1},
		{"two-cycle", []*mesh.Product{
			product("a.x", "t", []string{"p"}, in("from-b", "b.y/p")),
			product("b.y", "t", []string{"p"}, in("from-a", "a.x/p")),
		}, "a.x", []string{"b.y"}, 1},
		{"three-cycle with tail", []*mesh.Product{
			product("a.x", "t", []string{"p"}, in("i", "c.z/p")),
			product("b.y", "t", []string{"p"}, in("i", "a.x/p")),
			product("c.z", "t", []string{"p"}, in("i", "b.y/p")),
			product("d.w", "t", []string{"p"}, in("i", "c.z/p")),
		}, "a.x", []string{"b.y", "c.z", "d.w"}, 1},
		{"self-loop is not its own consumer", []*mesh.Product{
			product("a.x", "t", []string{"p"}, in("self", "a.x/p")),
			product("b.y", "t", []string{"p"}, in("i", "a.x/p")),
		}, "a.x", []string{"b.y"}, 1},
		{"two ports of one consumer count once", []*mesh.Product{
			product("a.x", "t", []string{"p", "q"}),
			product("b.y", "t", nil, in("i", "a.x/p"), in("j", "a.x/q")),
		}, "a.x", []string{"b.y"}, 1},
		{"missing producer still has consumers", []*mesh.Product{
			product("b.y", "t", nil, in("i", "gone.away/p")),
		}, "gone.away", []string{"b.y"}, 1},
		{"unknown product", exampleMesh(), "no.such", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := Build(tt.products)
			if got := g.Downstream(tt.of); !slices.Equal(got, tt.down) {
				t.Errorf("Downstream(%q) = %v, want %v", tt.of, got, tt.down)
			}
			if got := g.InDegree(tt.of); got != tt.inDegree {
				t.Errorf("InDegree(%q) = %d, want %d", tt.of, got, tt.inDegree)
			}
		})
	}
}

func TestBuildFirstSourceWins(t *testing.T) {
	head := []*mesh.Product{
		product("finance.revenue", "team-finance", []string{"iceberg-curated"},
			in("orders", "orders.order-events/iceberg-curated", "order_id")),
	}
	registry := []*mesh.Product{
		product("finance.revenue", "team-stale", []string{"iceberg-curated"},
			in("orders", "orders.order-events/iceberg-curated", "total_minor")),
		product("marketing.attribution", "team-marketing", nil,
			in("orders", "orders.order-events/iceberg-curated", "total_minor")),
		nil,
	}
	g := Build(head, nil, registry)
	if got := g.Product("finance.revenue").Owner; got != "team-finance" {
		t.Errorf("head should win over registry, owner = %q", got)
	}
	if got := ids(g.Affected("orders.order-events", "iceberg-curated", []string{"order_event.total_minor"})); !slices.Equal(got, []string{"marketing.attribution#orders"}) {
		t.Errorf("shadowed registry entry still counted: %v", got)
	}
	if n := len(g.Products()); n != 2 {
		t.Errorf("Products() has %d entries, want 2", n)
	}
	if g.Product("missing.one") != nil {
		t.Error("Product of an unknown id should be nil")
	}
}

func TestUnresolved(t *testing.T) {
	g := Build([]*mesh.Product{
		product("a.x", "t", []string{"p"}),
		product("b.y", "t", nil, in("ok", "a.x/p"), in("no-port", "a.x/q"), in("no-product", "z.z/p")),
	})
	got := ids(g.Unresolved())
	want := []string{"b.y#no-port", "b.y#no-product"}
	if !slices.Equal(got, want) {
		t.Errorf("Unresolved() = %v, want %v", got, want)
	}
}

// syntheticGraph builds n products in a DAG: each product reads up to three
// pseudo-randomly chosen earlier products, naming two fields each.
func syntheticGraph(n int) []*mesh.Product {
	id := func(i int) string { return fmt.Sprintf("d%d.p%d", i%50, i) }
	out := make([]*mesh.Product, n)
	for i := range n {
		var inputs []*mesh.InputPort
		for k := 1; k <= 3 && i > 0; k++ {
			j := (i*k*31 + 7) % i
			inputs = append(inputs, in(fmt.Sprintf("in-%d", k), id(j)+"/out",
				fmt.Sprintf("m.f%d", i%11), fmt.Sprintf("f%d", (i+3)%11)))
		}
		out[i] = product(id(i), "team", []string{"out"}, inputs...)
	}
	return out
}

func BenchmarkBuild(b *testing.B) {
	products := syntheticGraph(10_000)
	b.ReportAllocs()
	for b.Loop() {
		Build(products)
	}
}

func BenchmarkAffected(b *testing.B) {
	g := Build(syntheticGraph(10_000))
	fields := []string{"m.f3", "m.f7", "m.nested.f1"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		j := i % 10_000
		g.Affected(fmt.Sprintf("d%d.p%d", j%50, j), "out", fields)
	}
}

func BenchmarkDownstream(b *testing.B) {
	g := Build(syntheticGraph(10_000))
	b.ReportAllocs()
	for b.Loop() {
		g.Downstream("d0.p0")
	}
}

// TestODPSConsumersByContractID: an ODPS input port names only the contract
// it reads; it is a consumer of whichever output port publishes that
// contract, and of the contract itself when no port does.
func TestODPSConsumersByContractID(t *testing.T) {
	read := func(path, src string) *mesh.Product {
		t.Helper()
		p, _, probs := mesh.ReadDescriptor(path, []byte(src))
		if len(probs) != 0 {
			t.Fatalf("%s: %v", path, probs)
		}
		return p
	}
	producer := read("orders.odps.yaml", `apiVersion: v1.0.0
kind: DataProduct
id: orders-dp
name: Orders
status: active
outputPorts:
  - name: orders
    version: 1.0.0
    contractId: orders-contract
`)
	consumer := read("finance.odps.yaml", `apiVersion: v1.0.0
kind: DataProduct
id: finance-dp
status: active
inputPorts:
  - name: orders-in
    version: 1.0.0
    contractId: orders-contract
  - name: rates-in
    version: 1.0.0
    contractId: fx-rates
`)
	g := Build([]*mesh.Product{producer, consumer})
	got := g.ConsumersOf("orders-dp", "orders")
	if len(got) != 1 || got[0].Product != "finance-dp" || got[0].InputPort != "orders-in" {
		t.Fatalf("consumers of orders-dp/orders = %+v", got)
	}
	if g.InDegree("orders-dp") != 1 || len(g.Downstream("orders-dp")) != 1 {
		t.Errorf("in-degree %d downstream %v", g.InDegree("orders-dp"), g.Downstream("orders-dp"))
	}
	alone := g.Affected(ContractProducer("fx-rates"), "", []string{"rates.rate"})
	if len(alone) != 1 || alone[0].InputPort != "rates-in" {
		t.Errorf("consumers of the standalone contract fx-rates = %+v", alone)
	}
	if consumer.InputPorts[0].Product != "" {
		t.Error("Build must not change the product's own input port")
	}
}
