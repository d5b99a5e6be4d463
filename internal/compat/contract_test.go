package compat

import (
	"testing"

	"github.com/meshbot/meshbot/internal/mesh"
)

// TestFieldRules compares one model "m" whose field list differs between
// base and head, and checks exactly which rules fire on which field paths.
func TestFieldRules(t *testing.T) {
	f := fieldOf
	tests := []struct {
		name       string
		base, head []*mesh.Field
		want       []string // "rule fields" as summary renders them
	}{
		{"identical", []*mesh.Field{f("a", "string", required)}, []*mesh.Field{f("a", "string", required)}, nil},
		{"field removed", []*mesh.Field{f("a", "string"), f("b", "long")}, []*mesh.Field{f("a", "string")},
			[]string{"field-removed m.b"}},
		{"likely rename", []*mesh.Field{f("cust_id", "string", required)}, []*mesh.Field{f("customer_id", "string", required)},
			[]string{"field-removed m.cust_id ->customer_id"}},
		{"not a rename when attributes differ", []*mesh.Field{f("cust_id", "string", required)}, []*mesh.Field{f("customer_id", "string")},
			[]string{"field-added-optional m.customer_id", "field-removed m.cust_id"}},
		{"rename pairs in order", []*mesh.Field{f("a", "int"), f("b", "string")}, []*mesh.Field{f("y", "string"), f("x", "int")},
			[]string{"field-removed m.a ->x", "field-removed m.b ->y"}},
		{"optional field added", nil, []*mesh.Field{f("a", "string")}, []string{"field-added-optional m.a"}},
		{"required field added", nil, []*mesh.Field{f("a", "string", required)}, []string{"field-added-required m.a"}},
		{"nested field removed lists the path", []*mesh.Field{f("p", "object", children(f("c", "string"), f("d", "int")))},
			[]*mesh.Field{f("p", "object", children(f("c", "string")))}, []string{"field-removed m.p.d"}},
		{"removed parent lists its descendants", []*mesh.Field{f("p", "object", children(f("c", "object", children(f("x", "int")))))}, nil,
			[]string{"field-removed m.p,m.p.c,m.p.c.x"}},
		{"array items are transparent", []*mesh.Field{f("recs", "array", items(f("items", "object", children(f("x", "int"), f("y", "int")))))},
			[]*mesh.Field{f("recs", "array", items(f("items", "object", children(f("x", "long")))))},
			[]string{"field-removed m.recs.y", "field-type-widened m.recs.x"}},
		{"array element type narrowed", []*mesh.Field{f("tags", "array", items(f("items", "long")))}, []*mesh.Field{f("tags", "array", items(f("items", "int")))},
			[]string{"field-type-narrowed m.tags"}},
		{"array items dropped", []*mesh.Field{f("recs", "array", items(f("items", "object", children(f("x", "int")))))}, []*mesh.Field{f("recs", "array")},
			[]string{"field-removed m.recs.x", "field-type-removed m.recs"}},

		{"int to long widened", []*mesh.Field{f("a", "int")}, []*mesh.Field{f("a", "long")}, []string{"field-type-widened m.a"}},
		{"long to int narrowed", []*mesh.Field{f("a", "long")}, []*mesh.Field{f("a", "int")}, []string{"field-type-narrowed m.a"}},
		{"int to string changed", []*mesh.Field{f("a", "int")}, []*mesh.Field{f("a", "string")}, []string{"field-type-changed m.a"}},
		{"date to timestamp reinterpreted", []*mesh.Field{f("a", "date")}, []*mesh.Field{f("a", "timestamp")}, []string{"field-type-reinterpreted m.a"}},
		{"text to string respelled", []*mesh.Field{f("a", "text")}, []*mesh.Field{f("a", "string")}, []string{"field-type-respelled m.a"}},
		{"type case is not a change", []*mesh.Field{f("a", "STRING")}, []*mesh.Field{f("a", "string")}, nil},
		{"type declared", []*mesh.Field{f("a", "")}, []*mesh.Field{f("a", "string")}, []string{"field-type-added m.a"}},
		{"type dropped", []*mesh.Field{f("a", "string")}, []*mesh.Field{f("a", "")}, []string{"field-type-removed m.a"}},
		{"physical type widened", []*mesh.Field{f("a", "string", physical("VARCHAR(10)"))}, []*mesh.Field{f("a", "string", physical("VARCHAR(20)"))},
			[]string{"field-type-widened m.a"}},
		{"physical type narrowed", []*mesh.Field{f("a", "number", physical("NUMBER(12,2)"))}, []*mesh.Field{f("a", "number", physical("NUMBER(10,2)"))},
			[]string{"field-type-narrowed m.a"}},
		{"logical and physical both change", []*mesh.Field{f("a", "integer", physical("INT"))}, []*mesh.Field{f("a", "string", physical("VARCHAR"))},
			[]string{"field-type-changed m.a", "field-type-changed m.a"}},

		{"format changed", []*mesh.Field{f("a", "string", format("email"))}, []*mesh.Field{f("a", "string", format("url"))}, []string{"field-format-changed m.a"}},
		{"format added", []*mesh.Field{f("a", "string")}, []*mesh.Field{f("a", "string", format("uuid"))}, []string{"field-constraint-tightened m.a"}},
		{"format dropped", []*mesh.Field{f("a", "string", format("uuid"))}, []*mesh.Field{f("a", "string")}, []string{"field-constraint-relaxed m.a"}},

		{"required relaxed", []*mesh.Field{f("a", "string", required)}, []*mesh.Field{f("a", "string")}, []string{"required-relaxed m.a"}},
		{"required tightened", []*mesh.Field{f("a", "string")}, []*mesh.Field{f("a", "string", required)}, []string{"required-tightened m.a"}},
		{"unique dropped", []*mesh.Field{f("a", "string", unique)}, []*mesh.Field{f("a", "string")}, []string{"unique-relaxed m.a"}},
		{"unique added", []*mesh.Field{f("a", "string")}, []*mesh.Field{f("a", "string", unique)}, []string{"unique-tightened m.a"}},
		{"primary key dropped", []*mesh.Field{f("a", "string", primaryKey)}, []*mesh.Field{f("a", "string")}, []string{"primary-key-removed m.a"}},
		{"primary key added", []*mesh.Field{f("a", "string")}, []*mesh.Field{f("a", "string", primaryKey)}, []string{"primary-key-added m.a"}},

		{"enum value removed", []*mesh.Field{f("s", "string", enum("placed", "fulfilled", "cancelled"))}, []*mesh.Field{f("s", "string", enum("placed", "fulfilled"))},
			[]string{"enum-value-removed m.s"}},
		{"enum value added at the end", []*mesh.Field{f("s", "string", enum("placed", "fulfilled"))}, []*mesh.Field{f("s", "string", enum("placed", "fulfilled", "returned"))},
			[]string{"enum-value-added m.s"}},
		{"enum value replaced", []*mesh.Field{f("s", "string", enum("a"))}, []*mesh.Field{f("s", "string", enum("b"))},
			[]string{"enum-value-added m.s", "enum-value-removed m.s"}},
		{"enum reordered only", []*mesh.Field{f("s", "string", enum("a", "b"))}, []*mesh.Field{f("s", "string", enum("b", "a"))}, nil},
		{"enum declared", []*mesh.Field{f("s", "string")}, []*mesh.Field{f("s", "string", enum("a"))}, []string{"field-constraint-tightened m.s"}},
		{"enum dropped", []*mesh.Field{f("s", "string", enum("a"))}, []*mesh.Field{f("s", "string")}, []string{"field-constraint-relaxed m.s"}},

		{"pattern changed", []*mesh.Field{f("c", "string", pattern("^[A-Z]{3}$"))}, []*mesh.Field{f("c", "string", pattern("^[A-Z]{2,3}$"))}, []string{"field-pattern-changed m.c"}},
		{"pattern added", []*mesh.Field{f("c", "string")}, []*mesh.Field{f("c", "string", pattern("^[A-Z]{3}$"))}, []string{"field-constraint-tightened m.c"}},
		{"pattern removed", []*mesh.Field{f("c", "string", pattern("^[A-Z]{3}$"))}, []*mesh.Field{f("c", "string")}, []string{"field-constraint-relaxed m.c"}},

		{"maxLength raised", []*mesh.Field{f("a", "string", maxLength(14))}, []*mesh.Field{f("a", "string", maxLength(20))}, []string{"field-constraint-relaxed m.a"}},
		{"maxLength lowered", []*mesh.Field{f("a", "string", maxLength(20))}, []*mesh.Field{f("a", "string", maxLength(14))}, []string{"field-constraint-tightened m.a"}},
		{"minLength raised", []*mesh.Field{f("a", "string", minLength(1))}, []*mesh.Field{f("a", "string", minLength(2))}, []string{"field-constraint-tightened m.a"}},
		{"minLength lowered", []*mesh.Field{f("a", "string", minLength(2))}, []*mesh.Field{f("a", "string", minLength(1))}, []string{"field-constraint-relaxed m.a"}},
		{"minimum raised, maximum lowered", []*mesh.Field{f("a", "int", minimum(0), maximum(100))}, []*mesh.Field{f("a", "int", minimum(1), maximum(99))},
			[]string{"field-constraint-tightened m.a", "field-constraint-tightened m.a"}},
		{"exclusive bounds loosened", []*mesh.Field{f("a", "int", exclMin(0), exclMax(10))}, []*mesh.Field{f("a", "int", exclMin(-1), exclMax(11))},
			[]string{"field-constraint-relaxed m.a", "field-constraint-relaxed m.a"}},
		{"bound added", []*mesh.Field{f("a", "int")}, []*mesh.Field{f("a", "int", maximum(10))}, []string{"field-constraint-tightened m.a"}},
		{"bound dropped", []*mesh.Field{f("a", "int", minimum(0))}, []*mesh.Field{f("a", "int")}, []string{"field-constraint-relaxed m.a"}},

		{"field became PII", []*mesh.Field{f("e", "string")}, []*mesh.Field{f("e", "string", pii)}, []string{"field-pii-added m.e"}},
		{"field no longer PII", []*mesh.Field{f("e", "string", pii)}, []*mesh.Field{f("e", "string")}, []string{"field-pii-removed m.e"}},
		{"classification set", []*mesh.Field{f("e", "string")}, []*mesh.Field{f("e", "string", class("confidential"))}, []string{"field-classification-changed m.e"}},
		{"classification raised", []*mesh.Field{f("e", "string", class("internal"))}, []*mesh.Field{f("e", "string", class("restricted"))}, []string{"field-classification-changed m.e"}},
		{"classification to an unknown class", []*mesh.Field{f("e", "string", class("Unclassified"))}, []*mesh.Field{f("e", "string", class("classified"))}, []string{"field-classification-changed m.e"}},
		{"classification lowered", []*mesh.Field{f("e", "string", class("restricted"))}, []*mesh.Field{f("e", "string", class("internal"))}, []string{"field-classification-lowered m.e"}},
		{"classification dropped", []*mesh.Field{f("e", "string", class("internal"))}, []*mesh.Field{f("e", "string")}, []string{"field-classification-lowered m.e"}},
		{"classification case only", []*mesh.Field{f("e", "string", class("Internal"))}, []*mesh.Field{f("e", "string", class("internal"))}, nil},

		{"references changed", []*mesh.Field{f("a", "string", refs("x.id"))}, []*mesh.Field{f("a", "string", refs("y.id"))}, []string{"field-references-changed m.a"}},
		{"$ref changed", []*mesh.Field{f("a", "string", ref("#/definitions/a"))}, []*mesh.Field{f("a", "string", ref("#/definitions/b"))}, []string{"field-references-changed m.a"}},
		{"description changed", []*mesh.Field{f("a", "string", describe("x"))}, []*mesh.Field{f("a", "string", describe("y"))}, []string{"description-changed m.a"}},

		{"field quality removed", []*mesh.Field{f("a", "int", quality(qr("positive", "{a>0}")))}, []*mesh.Field{f("a", "int")}, []string{"quality-removed m.a"}},
		{"field quality changed (named)", []*mesh.Field{f("a", "int", quality(qr("positive", "{a>0}")))}, []*mesh.Field{f("a", "int", quality(qr("positive", "{a>=0}")))},
			[]string{"quality-changed m.a"}},
		{"field quality changed (unnamed pairs in order)", []*mesh.Field{f("a", "int", quality(qr("", "{a>0}")))}, []*mesh.Field{f("a", "int", quality(qr("", "{a>=0}")))},
			[]string{"quality-changed m.a"}},
		{"field quality renamed is removed and added", []*mesh.Field{f("a", "int", quality(qr("p", "{a>0}")))}, []*mesh.Field{f("a", "int", quality(qr("q", "{a>0}")))},
			[]string{"quality-added m.a", "quality-removed m.a"}},
		{"field quality added", []*mesh.Field{f("a", "int")}, []*mesh.Field{f("a", "int", quality(qr("positive", "{a>0}")))}, []string{"quality-added m.a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := contractOf("c.yaml", "1.0.0", modelOf("m", tt.base...))
			head := contractOf("c.yaml", "1.0.0", modelOf("m", tt.head...))
			cs := Contracts(base, head)
			checkTable(t, cs)
			if d := diffLists(summary(structural(cs)), sortedCopy(tt.want)); d != "" {
				t.Errorf("changes differ:%s\n%v", d, cs)
			}
		})
	}
}

// TestRemovalPointsAtHead: a removal is annotated in head, where the parent
// that held the removed field is, never at the base file's line number.
func TestRemovalPointsAtHead(t *testing.T) {
	base := contractOf("c.yaml", "1", modelOf("m", fieldOf("a", "string", located("c.yaml", 7))))
	head := contractOf("c.yaml", "1", modelOf("m", fieldOf("b", "int", located("c.yaml", 9))))
	cs := structural(Contracts(base, head))
	if len(cs) != 2 {
		t.Fatalf("want a removal and an addition, got %v", cs)
	}
	for _, c := range cs {
		switch c.Rule {
		case RuleFieldRemoved:
			if c.InBase || c.Pos != head.Models[0].Pos || c.BasePos.Line != 7 || c.Old != "a" {
				t.Errorf("removal should point at the head model and remember base line 7: %+v", c)
			}
		case RuleFieldAddedOptional:
			if c.InBase || c.Pos.Line != 9 || c.New != "b" {
				t.Errorf("addition should point at head line 9: %+v", c)
			}
		default:
			t.Errorf("unexpected %s", c)
		}
	}
}

func TestAttributeChangesPointAtTheirKey(t *testing.T) {
	hf := fieldOf("a", "long", located("c.yaml", 20))
	hf.Locs = mesh.Locs{"type": {File: "c.yaml", Line: 21, Col: 9}, "logicalTypeOptions.pattern": {File: "c.yaml", Line: 23, Col: 11}}
	hf.Pattern = "x"
	base := contractOf("c.yaml", "1", modelOf("m", fieldOf("a", "int", pattern("y"))))
	head := contractOf("c.yaml", "1", modelOf("m", hf))
	got := map[string]int{}
	for _, c := range structural(Contracts(base, head)) {
		got[c.Rule] = c.Pos.Line
	}
	if got[RuleFieldTypeWidened] != 21 || got[RuleFieldPatternChanged] != 23 {
		t.Errorf("positions by rule = %v; want type at 21 and the ODCS pattern key at 23", got)
	}
}

func TestModelRules(t *testing.T) {
	withType := func(m *mesh.Model, typ string) *mesh.Model { m.Type = typ; return m }
	withQuality := func(m *mesh.Model, q ...mesh.QualityRule) *mesh.Model { m.Quality = q; return m }
	tests := []struct {
		name       string
		base, head []*mesh.Model
		want       []string
	}{
		{"model removed lists its fields", []*mesh.Model{modelOf("a", fieldOf("x", "int")), modelOf("b", fieldOf("y", "int", children(fieldOf("z", "int"))))},
			[]*mesh.Model{modelOf("a", fieldOf("x", "int"))}, []string{"model-removed b.y,b.y.z"}},
		{"model added", nil, []*mesh.Model{modelOf("a")}, []string{"model-added"}},
		{"model type changed", []*mesh.Model{modelOf("a", fieldOf("x", "int"))}, []*mesh.Model{withType(modelOf("a", fieldOf("x", "int")), "object")},
			[]string{"model-type-changed a.x"}},
		{"model type declared", []*mesh.Model{withType(modelOf("a"), "")}, []*mesh.Model{modelOf("a")}, []string{"model-type-declaration-changed"}},
		{"model quality removed", []*mesh.Model{withQuality(modelOf("a"), qr("rows", "{rows>0}"))}, []*mesh.Model{modelOf("a")}, []string{"quality-removed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := Contracts(contractOf("c.yaml", "1", tt.base...), contractOf("c.yaml", "1", tt.head...))
			checkTable(t, cs)
			if d := diffLists(summary(structural(cs)), sortedCopy(tt.want)); d != "" {
				t.Errorf("changes differ:%s", d)
			}
		})
	}
}

func TestContractLevelRules(t *testing.T) {
	type mod func(*mesh.Contract)
	tests := []struct {
		name       string
		base, head mod
		want       []string
	}{
		{"quality removed", func(c *mesh.Contract) { c.Quality = []mesh.QualityRule{qr("", "{rows>0}")} }, nil, []string{"quality-removed"}},
		{"quality added", nil, func(c *mesh.Contract) { c.Quality = []mesh.QualityRule{qr("", "{rows>0}")} }, []string{"quality-added"}},
		{"owner changed", func(c *mesh.Contract) { c.Owner = "a" }, func(c *mesh.Contract) { c.Owner = "b" }, []string{"contract-owner-changed"}},
		{"status changed", func(c *mesh.Contract) { c.Status = "active" }, func(c *mesh.Contract) { c.Status = "deprecated" }, []string{"contract-status-changed"}},
		{"freshness loosened", sla(mesh.SLA{Freshness: "15m"}), sla(mesh.SLA{Freshness: "1h"}), []string{"sla-freshness-loosened"}},
		{"freshness loosened (reader-parsed)", sla(mesh.SLA{Freshness: "<= 15m", FreshnessMax: 15 * 60e9}), sla(mesh.SLA{Freshness: "<= 1h", FreshnessMax: 3600e9}),
			[]string{"sla-freshness-loosened"}},
		{"freshness tightened", sla(mesh.SLA{Freshness: "1h"}), sla(mesh.SLA{Freshness: "15m"}), []string{"sla-improved"}},
		{"freshness dropped", sla(mesh.SLA{Freshness: "1h"}), sla(mesh.SLA{}), []string{"sla-freshness-loosened"}},
		{"freshness promised", sla(mesh.SLA{}), sla(mesh.SLA{Freshness: "1h"}), []string{"sla-improved"}},
		{"freshness respelled", sla(mesh.SLA{Freshness: "1h"}), sla(mesh.SLA{Freshness: "60m"}), []string{"sla-changed"}},
		{"freshness unreadable", sla(mesh.SLA{Freshness: "daily"}), sla(mesh.SLA{Freshness: "hourly"}), []string{"sla-changed"}},
		{"availability lowered", sla(mesh.SLA{Availability: "99.9%"}), sla(mesh.SLA{Availability: "99.5%"}), []string{"sla-availability-lowered"}},
		{"availability raised", sla(mesh.SLA{Availability: "99.5%"}), sla(mesh.SLA{Availability: "99.9%"}), []string{"sla-improved"}},
		{"completeness lowered", sla(mesh.SLA{Completeness: ">= 99.9%"}), sla(mesh.SLA{Completeness: ">= 99%"}), []string{"sla-completeness-lowered"}},
		{"retention shortened", sla(mesh.SLA{Retention: "1y"}), sla(mesh.SLA{Retention: "P3M"}), []string{"sla-retention-shortened"}},
		{"retention lengthened", sla(mesh.SLA{Retention: "30d"}), sla(mesh.SLA{Retention: "1y"}), []string{"sla-improved"}},
		{"latency loosened", sla(mesh.SLA{Latency: "1h"}), sla(mesh.SLA{Latency: "2h"}), []string{"sla-loosened"}},
		{"latency tightened", sla(mesh.SLA{Latency: "2h"}), sla(mesh.SLA{Latency: "1h"}), []string{"sla-improved"}},
		{"latency unreadable", sla(mesh.SLA{Latency: "fast"}), sla(mesh.SLA{Latency: "slow"}), []string{"sla-changed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, h := contractOf("c.yaml", "1"), contractOf("c.yaml", "1")
			for _, p := range []struct {
				c *mesh.Contract
				m mod
			}{{b, tt.base}, {h, tt.head}} {
				if p.m != nil {
					p.m(p.c)
				}
			}
			cs := Contracts(b, h)
			checkTable(t, cs)
			if d := diffLists(summary(structural(cs)), sortedCopy(tt.want)); d != "" {
				t.Errorf("changes differ:%s", d)
			}
		})
	}
}

func sla(s mesh.SLA) func(*mesh.Contract) { return func(c *mesh.Contract) { c.ServiceLevels = s } }
