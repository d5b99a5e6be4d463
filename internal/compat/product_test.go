package compat

import (
	"testing"
	"time"

	"github.com/meshbot/meshbot/internal/mesh"
)

func productOf(ports ...*mesh.OutputPort) *mesh.Product {
	return &mesh.Product{
		File: "orders/dataproduct.yaml", Name: "order-events", Domain: "orders", Owner: "team-orders",
		Lifecycle: mesh.LifecycleProduction, OutputPorts: ports, Pos: mesh.Pos{File: "orders/dataproduct.yaml", Line: 4},
		SLA:            mesh.SLA{Freshness: "<= 15m", FreshnessMax: 15 * time.Minute, Availability: "99.5%", AvailabilityPct: 99.5},
		Classification: mesh.Classification{ContainsPII: true, PIIFields: []string{"customer_id"}, Residency: "EU"},
	}
}

func portOf(name string, mods ...func(*mesh.OutputPort)) *mesh.OutputPort {
	p := &mesh.OutputPort{Name: name, Type: "iceberg", Location: "s3://eu-orders/events/", ContractRef: "./c.yaml", ContractPath: "orders/c.yaml",
		Pos: mesh.Pos{File: "orders/dataproduct.yaml", Line: 20}}
	for _, m := range mods {
		m(p)
	}
	return p
}

func day(s string) *mesh.Deprecation {
	d, _ := time.Parse(time.DateOnly, s)
	return &mesh.Deprecation{Sunset: s, SunsetDate: d}
}

func TestProductRules(t *testing.T) {
	type mod func(*mesh.Product)
	port := func(f func(*mesh.OutputPort)) mod { return func(p *mesh.Product) { f(p.OutputPorts[0]) } }
	tests := []struct {
		name string
		head mod
		base mod
		want []string // "rule port fields"
	}{
		{"unchanged", nil, nil, nil},
		{"owner changed", func(p *mesh.Product) { p.Owner = "team-fulfilment" }, nil, []string{"product-owner-changed"}},
		{"deprecated", func(p *mesh.Product) { p.Lifecycle = mesh.LifecycleDeprecated }, nil, []string{"product-deprecated"}},
		{"lifecycle changed", func(p *mesh.Product) { p.Lifecycle = mesh.LifecycleExperimental }, nil, []string{"product-lifecycle-changed"}},
		{"sunset moved earlier", func(p *mesh.Product) { p.Deprecation = day("2026-12-31") }, func(p *mesh.Product) { p.Deprecation = day("2027-03-31") },
			[]string{"deprecation-sunset-advanced"}},
		{"sunset moved later", func(p *mesh.Product) { p.Deprecation = day("2027-06-30") }, func(p *mesh.Product) { p.Deprecation = day("2027-03-31") }, nil},
		{"product became PII", func(p *mesh.Product) { p.Classification.PIIFields = []string{"email"} },
			func(p *mesh.Product) { p.Classification = mesh.Classification{Residency: "EU"} }, []string{"product-pii-added email"}},
		{"product no longer PII", func(p *mesh.Product) { p.Classification.ContainsPII, p.Classification.PIIFields = false, nil }, nil,
			[]string{"product-pii-removed"}},
		{"PII field listed", func(p *mesh.Product) { p.Classification.PIIFields = []string{"customer_id", "shipping_address"} }, nil,
			[]string{"product-pii-field-added shipping_address"}},
		{"residency changed", func(p *mesh.Product) { p.Classification.Residency = "US" }, nil, []string{"product-residency-changed"}},
		{"residency dropped", func(p *mesh.Product) { p.Classification.Residency = "" }, nil, []string{"product-classification-changed"}},
		{"SLA freshness loosened", func(p *mesh.Product) { p.SLA.Freshness, p.SLA.FreshnessMax = "<= 1h", time.Hour }, nil, []string{"sla-freshness-loosened"}},
		{"SLA availability lowered", func(p *mesh.Product) { p.SLA.Availability, p.SLA.AvailabilityPct = "99%", 99 }, nil, []string{"sla-availability-lowered"}},

		{"port removed", func(p *mesh.Product) { p.OutputPorts = nil }, nil, []string{"output-port-removed iceberg-curated"}},
		{"port added", func(p *mesh.Product) { p.OutputPorts = append(p.OutputPorts, portOf("kafka-realtime")) }, nil,
			[]string{"output-port-added kafka-realtime"}},
		{"port type changed", port(func(o *mesh.OutputPort) { o.Type = "delta" }), nil, []string{"output-port-type-changed iceberg-curated"}},
		{"port location changed", port(func(o *mesh.OutputPort) { o.Location = "s3://eu-orders/v2/" }), nil, []string{"output-port-location-changed iceberg-curated"}},
		{"port topic changed", port(func(o *mesh.OutputPort) { o.Topic = "orders.v3" }), port(func(o *mesh.OutputPort) { o.Topic = "orders.v2" }),
			[]string{"output-port-topic-changed iceberg-curated"}},
		{"port contract path changed", port(func(o *mesh.OutputPort) { o.ContractRef, o.ContractPath = "./c3.yaml", "orders/c3.yaml" }), nil,
			[]string{"output-port-contract-changed iceberg-curated"}},
		{"port contract dropped", port(func(o *mesh.OutputPort) { o.ContractRef, o.ContractPath = "", "" }), nil,
			[]string{"output-port-contract-removed iceberg-curated"}},
		{"port contract declared", nil, port(func(o *mesh.OutputPort) { o.ContractRef, o.ContractPath = "", "" }),
			[]string{"output-port-contract-added iceberg-curated"}},
		{"port deprecated", port(func(o *mesh.OutputPort) { o.Lifecycle = mesh.LifecycleDeprecated }), nil, []string{"output-port-deprecated iceberg-curated"}},
		{"port lifecycle changed", port(func(o *mesh.OutputPort) { o.Lifecycle = mesh.LifecycleExperimental }), nil,
			[]string{"output-port-lifecycle-changed iceberg-curated"}},
		{"port sunset moved earlier", port(func(o *mesh.OutputPort) { o.Deprecation = day("2026-01-01") }), port(func(o *mesh.OutputPort) { o.Deprecation = day("2026-06-01") }),
			[]string{"deprecation-sunset-advanced iceberg-curated"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, head := productOf(portOf("iceberg-curated")), productOf(portOf("iceberg-curated"))
			if tt.base != nil {
				tt.base(base)
			}
			if tt.head != nil {
				tt.head(head)
			}
			cs := Products(base, head)
			checkTable(t, cs)
			var got []string
			for _, c := range cs {
				s := c.Rule
				if c.Port != "" {
					s += " " + c.Port
				}
				for _, f := range c.Fields {
					s += " " + f
				}
				got = append(got, s)
				if c.Product != "orders.order-events" {
					t.Errorf("%s: product %q", c.Rule, c.Product)
				}
			}
			if d := diffLists(sortedCopy(got), sortedCopy(tt.want)); d != "" {
				t.Errorf("changes differ:%s", d)
			}
		})
	}
}

func TestPortRemovalPointsAtHead(t *testing.T) {
	base := productOf(portOf("a"), portOf("b", func(o *mesh.OutputPort) { o.Pos.Line = 33 }))
	head := productOf(portOf("a"))
	cs := Products(base, head)
	if len(cs) != 1 || cs[0].Rule != RulePortRemoved || cs[0].InBase || cs[0].Pos != head.Pos || cs[0].BasePos.Line != 33 || cs[0].Port != "b" || len(cs[0].Fields) != 0 {
		t.Fatalf("got %+v", cs)
	}
}

// A deprecation's notice names its terms: the producer's reviewers and the
// consumers reading the pull request see the date and where to move.
func TestDeprecatedNamesTheTerms(t *testing.T) {
	dep := day("2027-01-31")
	dep.Replacement = "orders.order-events/kafka-realtime"
	base := productOf(portOf("iceberg-curated"))
	head := productOf(portOf("iceberg-curated", func(o *mesh.OutputPort) { o.Lifecycle, o.Deprecation = mesh.LifecycleDeprecated, dep }))
	cs := Products(base, head)
	want := "output port iceberg-curated of orders.order-events is now deprecated (sunset 2027-01-31, replacement orders.order-events/kafka-realtime); consumers should plan their migration before its sunset"
	if len(cs) != 1 || cs[0].Message != want {
		t.Fatalf("got %+v\nwant the message %q", cs, want)
	}
	base, head = productOf(portOf("p")), productOf(portOf("p"))
	head.Lifecycle = mesh.LifecycleDeprecated
	if cs := Products(base, head); len(cs) != 1 || cs[0].Message != "product orders.order-events is now deprecated (no sunset date given); consumers should plan their migration before its sunset" {
		t.Fatalf("without terms: %+v", cs)
	}
}
