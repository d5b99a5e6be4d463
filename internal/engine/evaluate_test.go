package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/meshbot/meshbot/internal/compat"
	"github.com/meshbot/meshbot/internal/impact"
	"github.com/meshbot/meshbot/internal/mesh"
)

func product(domain, name, owner string, inputs ...*mesh.InputPort) *mesh.Product {
	return &mesh.Product{Domain: domain, Name: name, Owner: owner, File: domain + "/" + name + "/dataproduct.yaml", InputPorts: inputs}
}

func reads(product, port string, fields ...string) *mesh.InputPort {
	in := &mesh.InputPort{Name: "in-" + port, Product: product, Port: port}
	for _, f := range fields {
		in.Fields = append(in.Fields, mesh.FieldRef{Name: f})
	}
	return in
}

// TestChangeLevels: who a breaking change hits decides whether it fails.
func TestChangeLevels(t *testing.T) {
	g := impact.Build([]*mesh.Product{
		product("orders", "order-events", "team-orders"),
		product("finance", "revenue", "team-finance", reads("orders.order-events", "iceberg-curated", "order_id", "currency")),
		product("customer", "c360", "team-customer", reads("orders.order-events", "iceberg-curated", "order_id")),
	})
	today := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name      string
		change    compat.Change
		level     Level
		consumers []string
	}{
		{"field two consumers read", compat.Change{Rule: "field-removed", Severity: compat.Breaking, Product: "orders.order-events", Port: "iceberg-curated", Fields: []string{"order_event.order_id"}},
			LevelError, []string{"customer.c360", "finance.revenue"}},
		{"field one consumer reads", compat.Change{Rule: "field-removed", Severity: compat.Breaking, Product: "orders.order-events", Port: "iceberg-curated", Fields: []string{"order_event.currency"}},
			LevelError, []string{"finance.revenue"}},
		{"field nobody reads", compat.Change{Rule: "field-type-narrowed", Severity: compat.Breaking, Product: "orders.order-events", Port: "iceberg-curated", Fields: []string{"order_event.note"}},
			LevelWarning, nil},
		{"port nobody reads", compat.Change{Rule: "port-removed", Severity: compat.Breaking, Product: "orders.order-events", Port: "kafka"},
			LevelWarning, nil},
		{"port removed hits every consumer", compat.Change{Rule: "port-removed", Severity: compat.Breaking, Product: "orders.order-events", Port: "iceberg-curated"},
			LevelError, []string{"customer.c360", "finance.revenue"}},
		{"breaking inside a major version fails alone", compat.Change{Rule: compat.RuleBreakingInMajor, Severity: compat.Breaking, Product: "orders.order-events", Port: "kafka"},
			LevelError, nil},
		{"warning stays a warning", compat.Change{Rule: "quality-removed", Severity: compat.Warning, Product: "orders.order-events", Port: "iceberg-curated"},
			LevelWarning, nil},
		{"info is a notice", compat.Change{Rule: "field-added", Severity: compat.Info, Product: "orders.order-events", Port: "iceberg-curated"},
			LevelNotice, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := changeFinding(tc.change, g, nil, today)
			if f.Level != tc.level {
				t.Errorf("level %s, want %s", f.Level, tc.level)
			}
			var got []string
			for _, c := range f.Consumers {
				got = append(got, c.Product)
			}
			if strings.Join(got, ",") != strings.Join(tc.consumers, ",") {
				t.Errorf("consumers %v, want %v", got, tc.consumers)
			}
		})
	}
}

// TestDeprecationWindow: a removed product may go only once deprecated,
// after its sunset, with nobody left reading it.
func TestDeprecationWindow(t *testing.T) {
	today := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	sunset := func(s string) *mesh.Deprecation {
		d, _ := time.Parse(time.DateOnly, s)
		return &mesh.Deprecation{Sunset: s, SunsetDate: d, Replacement: "orders.order-events-v3"}
	}
	old := product("orders", "order-events", "team-orders")
	consumer := product("finance", "revenue", "team-finance", reads("orders.order-events", "", "order_id"))
	for _, tc := range []struct {
		name      string
		lifecycle string
		dep       *mesh.Deprecation
		consumers bool
		rule      string
		level     Level
	}{
		{"never deprecated, consumed", "production", nil, true, "compat/product-removed", LevelError},
		{"never deprecated, unused", "production", nil, false, "compat/product-removed", LevelWarning},
		{"before sunset, unused", "deprecated", sunset("2027-03-31"), false, "deprecation/removed-before-sunset", LevelError},
		{"before sunset, consumed", "deprecated", sunset("2027-03-31"), true, "deprecation/removed-before-sunset", LevelError},
		{"after sunset, consumed", "deprecated", sunset("2026-01-31"), true, "deprecation/removed-with-consumers", LevelError},
		{"after sunset, unused", "deprecated", sunset("2026-01-31"), false, "compat/product-removed", LevelNotice},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := *old
			p.Lifecycle, p.Deprecation = tc.lifecycle, tc.dep
			products := []*mesh.Product{}
			if tc.consumers {
				products = append(products, consumer)
			}
			g := impact.Build(products)
			base := &mesh.Mesh{Products: []*mesh.Product{&p}}
			f := changeFinding(compat.Change{Rule: compat.RuleProductRemoved, Severity: compat.Breaking, Product: "orders.order-events", InBase: true}, g, base, today)
			if f.Rule != tc.rule || f.Level != tc.level {
				t.Fatalf("got %s/%s, want %s/%s: %s", f.Rule, f.Level, tc.rule, tc.level, f.Message)
			}
		})
	}
}

func TestSummaryLine(t *testing.T) {
	r := &Report{}
	r.Finish()
	if r.Summary != "No data products changed" || r.Conclusion != "success" {
		t.Fatalf("empty report: %q %q", r.Summary, r.Conclusion)
	}
	r = &Report{Checked: Counts{Changed: 2}, Findings: []Finding{
		{Rule: "a", Level: LevelError, Consumers: []Consumer{{Product: "x"}, {Product: "y"}}},
		{Rule: "b", Level: LevelWarning},
	}}
	r.Finish()
	if r.Summary != "Fails: 1 error, 1 warning; breaks 2 registered consumers" || r.Conclusion != "failure" {
		t.Fatalf("summary %q, conclusion %q", r.Summary, r.Conclusion)
	}
}

// A removed port that was deprecated is judged by its window, once: before
// its sunset (its own, or its product's), after it while consumers remain,
// or retired as planned. A port never deprecated keeps the breaking change.
func TestPortDeprecationWindow(t *testing.T) {
	sunset := time.Date(2027, 3, 31, 0, 0, 0, 0, time.UTC)
	dep := &mesh.Deprecation{Sunset: "2027-03-31", SunsetDate: sunset, Replacement: "finance.revenue-v2/iceberg"}
	deprecatedPort := &mesh.OutputPort{Name: "v1", Lifecycle: mesh.LifecycleDeprecated, Deprecation: dep}
	plainPort := &mesh.OutputPort{Name: "v1"}
	withPort := func(o *mesh.OutputPort) *mesh.Product {
		p := product("finance", "revenue", "team-finance")
		p.OutputPorts = []*mesh.OutputPort{o}
		return p
	}
	deprecatedProduct := withPort(plainPort)
	deprecatedProduct.Lifecycle, deprecatedProduct.Deprecation = mesh.LifecycleDeprecated, dep
	reader := []Consumer{{Product: "sales.forecast", Owner: "team-sales"}}
	for _, tc := range []struct {
		name      string
		p         *mesh.Product
		today     time.Time
		consumers []Consumer
		rule      string
		level     Level
		mentions  []string
	}{
		{"before sunset with a consumer", withPort(deprecatedPort), sunset.AddDate(0, -1, 0), reader,
			"deprecation/removed-before-sunset", LevelError, []string{"2027-03-31", "sales.forecast (owner team-sales)"}},
		{"before sunset, nobody reads", withPort(deprecatedPort), sunset.AddDate(0, -1, 0), nil,
			"deprecation/removed-before-sunset", LevelError, []string{"2027-03-31"}},
		{"on the sunset day, nobody reads", withPort(deprecatedPort), sunset, nil,
			"compat/output-port-removed", LevelNotice, []string{"after its sunset"}},
		{"after sunset with a consumer", withPort(deprecatedPort), sunset.AddDate(0, 0, 1), reader,
			"deprecation/removed-with-consumers", LevelError, []string{"sales.forecast (owner team-sales)"}},
		{"port of a deprecated product uses its sunset", deprecatedProduct, sunset.AddDate(0, -1, 0), nil,
			"deprecation/removed-before-sunset", LevelError, []string{"2027-03-31"}},
		{"never deprecated", withPort(plainPort), sunset, reader,
			"compat/output-port-removed", LevelError, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := Finding{Rule: "compat/output-port-removed", Level: LevelError, Consumers: tc.consumers, Message: "removed"}
			portDeprecationWindow(&f, tc.p, "v1", tc.today)
			if f.Rule != tc.rule || f.Level != tc.level {
				t.Errorf("%s %s, want %s %s", f.Rule, f.Level, tc.rule, tc.level)
			}
			for _, m := range tc.mentions {
				if !strings.Contains(f.Message, m) {
					t.Errorf("message %q lacks %q", f.Message, m)
				}
			}
			if strings.Contains(f.Help, "/mesh deprecate") && tc.rule != "compat/output-port-removed" {
				t.Errorf("help %q asks to deprecate a deprecated port", f.Help)
			}
		})
	}
}
