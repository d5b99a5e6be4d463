package compat

import (
	"os"
	"strings"
	"testing"

	"github.com/meshbot/meshbot/internal/mesh"
)

// odcsDoc is a minimal valid ODCS contract around body (YAML at top level).
func odcsDoc(api, body string) string {
	return "apiVersion: " + api + "\nkind: DataContract\nid: c1\nversion: 1.0.0\nstatus: active\n" + strings.TrimLeft(body, "\n")
}

// readODCS reads src as a contract and fails on any error-level problem:
// every document these tests use is valid in its version.
func readODCS(t *testing.T, file, src string) *mesh.Contract {
	t.Helper()
	c, _, probs := mesh.ReadContract(file, []byte(src))
	for _, p := range probs {
		if !p.Notice {
			t.Fatalf("%s: unexpected problem %s", file, p)
		}
	}
	return c
}

// TestODCSPairs compares real-shaped ODCS documents read by mesh, so that a
// spelling the reader gets wrong shows up as a false alarm here.
func TestODCSPairs(t *testing.T) {
	tests := []struct {
		name       string
		base, head string
		want       []string
	}{
		{"sla unit apart: same promise", `
slaProperties:
  - property: availability
    value: 99.5
    unit: percent
  - property: retention
    value: 90
    unit: days
`, `
slaProperties:
  - property: availability
    value: 99.5
    unit: percent
  - property: retention
    value: 90
    unit: days
`, nil},
		{"sla latency loosened 4d to 7d", `
slaProperties:
  - property: latency
    value: 4
    unit: d
`, `
slaProperties:
  - property: latency
    value: 7
    unit: d
`, []string{"sla-loosened"}},
		{"sla latency tightened", `
slaProperties:
  - property: latency
    value: 4
    unit: d
`, `
slaProperties:
  - property: latency
    value: 1
    unit: d
`, []string{"sla-improved"}},
		{"sla frequency loosened", `
slaProperties:
  - property: frequency
    value: 1
    unit: d
`, `
slaProperties:
  - property: frequency
    value: 7
    unit: d
`, []string{"sla-loosened"}},
		{"sla frequency dropped", `
slaProperties:
  - property: frequency
    value: 1
    unit: d
`, `
slaProperties: []
`, []string{"sla-loosened"}},
		{"sla retention 3y to 1y", `
slaProperties:
  - property: retention
    value: 3
    unit: y
`, `
slaProperties:
  - property: retention
    value: 1
    unit: y
`, []string{"sla-retention-shortened"}},
		{"sla availability percent sign in value", `
slaProperties:
  - property: availability
    value: 99%
    unit: "%"
`, `
slaProperties:
  - property: availability
    value: 95%
    unit: "%"
`, []string{"sla-availability-lowered"}},
		{"end of support earlier", `
slaProperties:
  - property: endOfSupport
    value: "2032-05-12T09:30:10-08:00"
`, `
slaProperties:
  - property: endOfSupport
    value: "2030-05-12T09:30:10-08:00"
`, []string{"sla-loosened"}},
		{"relationship removed", `
schema:
  - name: orders
    properties:
      - name: customer_id
        logicalType: string
        relationships:
          - to: customers.id
            type: foreignKey
`, `
schema:
  - name: orders
    properties:
      - name: customer_id
        logicalType: string
`, []string{"relationship-removed"}},
		{"relationship retargeted", `
schema:
  - name: orders
    properties:
      - name: customer_id
        logicalType: string
    relationships:
      - from: [orders.customer_id]
        to: [customers.id]
`, `
schema:
  - name: orders
    properties:
      - name: customer_id
        logicalType: string
    relationships:
      - from: orders.customer_id
        to: accounts.id
`, []string{"relationship-changed"}},
		{"relationship moved from property to schema level", `
schema:
  - name: orders
    properties:
      - name: customer_id
        logicalType: string
        relationships:
          - to: customers.id
`, `
schema:
  - name: orders
    properties:
      - name: customer_id
        logicalType: string
    relationships:
      - from: orders.customer_id
        to: customers.id
        type: foreignKey
`, nil},
		{"server host moved", `
servers:
  - server: prod
    type: postgres
    host: db1.example.com
    database: sales
    schema: public
`, `
servers:
  - server: prod
    type: postgres
    host: db2.example.com
    database: sales
    schema: public
    description: moved
`, []string{"contract-server-changed"}},
		{"server removed", `
servers:
  - server: prod
    type: s3
    location: s3://bucket/orders/
  - server: dev
    type: s3
    location: s3://dev/orders/
`, `
servers:
  - server: dev
    type: s3
    location: s3://dev/orders/
`, []string{"contract-server-removed"}},
		{"3.2 enum value removed", `
schema:
  - name: orders
    properties:
      - name: status
        logicalType: string
        enum:
          - value: pending
            label: Pending
          - value: done
`, `
schema:
  - name: orders
    properties:
      - name: status
        logicalType: string
        enum:
          - value: pending
            label: Waiting
`, []string{"enum-value-removed"}},
		{"3.2 map value type changed", `
schema:
  - name: products
    properties:
      - name: counts
        logicalType: map
        map:
          key: {logicalType: string}
          value: {logicalType: integer}
`, `
schema:
  - name: products
    properties:
      - name: counts
        logicalType: map
        map:
          key: {logicalType: string}
          value: {logicalType: string}
`, []string{"field-type-changed"}},
		{"3.2 field deprecated", `
schema:
  - name: orders
    properties:
      - name: legacy
        logicalType: string
`, `
schema:
  - name: orders
    properties:
      - name: legacy
        logicalType: string
        deprecated: true
`, []string{"field-deprecated"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := readODCS(t, "base.odcs.yaml", odcsDoc("v3.1.0", tt.base))
			h := readODCS(t, "head.odcs.yaml", odcsDoc("v3.1.0", tt.head))
			cs := Contracts(b, h)
			checkTable(t, cs)
			var got []string
			for _, c := range structural(cs) {
				if c.Rule == RuleVersionNotBumped || c.Rule == RuleBreakingInMajor {
					continue
				}
				got = append(got, c.Rule)
			}
			if d := diffLists(sortedCopy(got), sortedCopy(tt.want)); d != "" {
				t.Errorf("changes differ:%s\n%v", d, cs)
			}
		})
	}
}

// TestODCSRespelling: a contract moved from ODCS 3.0 to 3.1 spellings with
// the same meaning gives one notice for the document, nothing per field.
func TestODCSRespelling(t *testing.T) {
	base := odcsDoc("v3.0.2", `
schema:
  - name: orders
    type: table
    logicalType: object
    properties:
      - name: amount
        logicalType: number
        logicalTypeOptions:
          minimum: 0
          exclusiveMinimum: true
          maximum: 1000
          exclusiveMaximum: false
        quality:
          - rule: nullCheck
            type: library
    quality:
      - rule: duplicateCount
        type: library
`)
	head := odcsDoc("v3.1.0", `
schema:
  - name: orders
    physicalType: table
    logicalType: object
    properties:
      - name: amount
        logicalType: number
        logicalTypeOptions:
          exclusiveMinimum: 0
          maximum: 1000
        quality:
          - metric: nullValues
            mustBe: 0
            type: library
    quality:
      - metric: duplicateValues
        type: library
`)
	cs := Contracts(readODCS(t, "base.odcs.yaml", base), readODCS(t, "head.odcs.yaml", head))
	if len(cs) != 1 || cs[0].Rule != RuleSpecVersionChanged || cs[0].Severity != Info {
		t.Fatalf("want one spec-version-changed notice, got %v", cs)
	}
}

// TestPhysicalName: consumers may name a column by its logical name or its
// physical one; a logical rename keeping the column breaks only the first.
func TestPhysicalName(t *testing.T) {
	doc := func(name, typ string) string {
		return odcsDoc("v3.1.0", `
schema:
  - name: orders
    properties:
      - name: `+name+`
        physicalName: AMT
        logicalType: `+typ+`
`)
	}
	cs := structural(Contracts(readODCS(t, "b.odcs.yaml", doc("amount", "number")), readODCS(t, "h.odcs.yaml", doc("total", "number"))))
	if len(cs) != 1 || cs[0].Rule != RuleFieldRemoved {
		t.Fatalf("want one field-removed, got %v", cs)
	}
	for _, c := range cs {
		if c.Rule != RuleFieldRemoved {
			continue
		}
		if strings.Join(c.Fields, ",") != "orders.amount" || c.RenamedTo != "total" || c.InBase || !strings.Contains(c.Message, "physical column AMT is unchanged") {
			t.Errorf("rename: %+v", c)
		}
	}
	cs = Contracts(readODCS(t, "b.odcs.yaml", doc("amount", "number")), readODCS(t, "h.odcs.yaml", doc("amount", "string")))
	found := false
	for _, c := range cs {
		if c.Rule == RuleFieldTypeChanged {
			found = true
			if strings.Join(c.Fields, ",") != "orders.amount,orders.AMT" {
				t.Errorf("a change to the field must name both its paths, got %v", c.Fields)
			}
		}
	}
	if !found {
		t.Errorf("no type change in %v", cs)
	}
}

// TestParityODCSBreaking holds meshbot's verdict next to datacontract-cli's
// newest ODCS breaking-change detector (its breaking command, branch
// breaking_change at d3a19ca8, tests/test_breaking.py) on the fixture pairs
// that detector is tested with, copied to testdata/corpus/pairs. Where the
// rules differ the reason is given: that detector judges from the
// producer's side (a tightened constraint or a newly required field is an
// error), meshbot from the reader's.
func TestParityODCSBreaking(t *testing.T) {
	const dir = "../../testdata/corpus/pairs/datacontract-cli/"
	tests := []struct {
		name, v1, v2  string
		theirBreaking bool   // test_breaking.py: exit code 1 / is_breaking
		theirCounts   string // their summary line, for the record
		ours          []string
		why           string // where the rule sets disagree on a change
	}{
		{"integration", "changelog_integration_v1.yaml", "changelog_integration_v2.yaml", true, "4 Error, 1 Warning, 3 Info",
			[]string{"field-removed", "field-type-narrowed"},
			"both break on the removed customer_id and order_date's string -> date; total_amount becoming required is an error for them and a warning for us (readers get a stronger promise), latency is unchanged, availability 99.9% -> 99.5% is a warning for us"},
		{"warning only", "warning_only_v1.yaml", "warning_only_v2.yaml", false, "1 Warning, 1 Info", nil,
			"an optional property added: not breaking for either"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			read := func(f string) *mesh.Contract {
				src, err := os.ReadFile(dir + f)
				if err != nil {
					t.Fatal(err)
				}
				return readODCS(t, f, string(src))
			}
			var breaking []string
			for _, c := range Contracts(read(tt.v1), read(tt.v2)) {
				if c.Severity == Breaking && c.Rule != RuleBreakingInMajor {
					breaking = append(breaking, c.Rule)
				}
			}
			if d := diffLists(sortedCopy(breaking), sortedCopy(tt.ours)); d != "" {
				t.Errorf("our breaking rules differ (%s):%s", tt.why, d)
			}
			if (len(breaking) > 0) != tt.theirBreaking {
				t.Errorf("verdicts differ: they say breaking=%t (%s), we found %v; %s", tt.theirBreaking, tt.theirCounts, breaking, tt.why)
			}
		})
	}
}
