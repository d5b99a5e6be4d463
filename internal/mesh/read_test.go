package mesh

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// golden compares v, rendered as indented JSON, with testdata/golden/name.
func golden(t *testing.T, name string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "golden", name+".json")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test -update after checking the change):\n%s", path, diffLines(string(want), string(got)))
	}
}

func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			b.WriteString("line " + strconv.Itoa(i+1) + ":\n  want " + wl + "\n  got  " + gl + "\n")
			if b.Len() > 2000 {
				break
			}
		}
	}
	return b.String()
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", "read", name))
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func TestReadDescriptor(t *testing.T) {
	tests := []struct {
		file  string
		check func(t *testing.T, p *Product)
	}{
		{"seed004.dataproduct.yaml", func(t *testing.T, p *Product) {
			want(t, "format", p.Format, FormatNative)
			want(t, "apiVersion", p.APIVersion, "dataproduct.kloudvin.io/v1")
			want(t, "id", p.ID(), "orders.order-events")
			want(t, "owner", p.Owner, "orders-data@retailer.example")
			want(t, "pos line", p.Pos.Line, 5) // metadata.name
			want(t, "ports", len(p.OutputPorts), 2)
			o := p.OutputPort("iceberg-curated")
			want(t, "contract path", o.ContractPath, "contracts/order-events.v2.yaml")
			want(t, "contract key line", o.Locs["contract"].Line, 14)
			want(t, "kafka topic", p.OutputPort("kafka-realtime").Topic, "orders.order-events.v2")
			want(t, "freshness", p.SLA.FreshnessMax, 15*time.Minute)
			want(t, "availability", p.SLA.AvailabilityPct, 99.5)
			want(t, "completeness", p.SLA.CompletenessPct, 99.9)
			want(t, "sla.freshness loc", p.Locs["spec.sla.freshness"].Line, 19)
			want(t, "pii", p.Classification.ContainsPII, true)
			want(t, "pii fields", strings.Join(p.Classification.PIIFields, ","), "customer_id,shipping_address")
			want(t, "owner loc", p.Locs["metadata.owner"].Line, 7)
		}},
		{"product-md.dataproduct.yaml", func(t *testing.T, p *Product) {
			want(t, "id", p.ID(), "finance.revenue")
			want(t, "lifecycle", p.Lifecycle, LifecycleProduction)
			want(t, "sunset", p.Deprecation.SunsetDate, time.Date(2027, 3, 31, 0, 0, 0, 0, time.UTC))
			want(t, "replacement", p.Deprecation.Replacement, "finance.revenue-v2/iceberg-curated")
			want(t, "deprecation loc", p.Deprecation.Locs["sunset"].Line, 10)
			want(t, "spec.lifecycle loc", p.Locs["spec.lifecycle"].Line, 8)
			in := p.InputPorts[0]
			want(t, "input product", in.Product, "orders.order-events")
			want(t, "input port", in.Port, "iceberg-curated")
			want(t, "input fields", len(in.Fields), 4)
			want(t, "field pos", in.Fields[3].Pos.Line, 17)
			want(t, "field name", in.Fields[3].Name, "status")
			want(t, "freshness", p.SLA.FreshnessMax, time.Hour)
			want(t, "residency", p.Classification.Residency, "EU")
			want(t, "port lifecycle", p.OutputPorts[0].Lifecycle, LifecycleProduction)
		}},
		{"customer.odps.yaml", func(t *testing.T, p *Product) {
			want(t, "format", p.Format, FormatODPS)
			// The ODPS id identifies the product; its name is only shown.
			want(t, "id", p.ID(), "customer.7d3c9b0e-customer")
			want(t, "title", p.Title, "customer-360")
			want(t, "owner", p.Owner, "team-customer")
			want(t, "lifecycle", p.Lifecycle, "active")
			want(t, "description", p.Description, "Everything we know about a customer.")
			want(t, "input contract", p.InputPorts[0].ContractID, "payments-contract")
			want(t, "ports (same name, two versions)", len(p.OutputPorts), 2)
			want(t, "v2", p.OutputPorts[1].Version, "2.0.0")
			want(t, "contract id", p.OutputPorts[0].ContractID, "customers")
		}},
		{"search.dps.yaml", func(t *testing.T, p *Product) {
			want(t, "format", p.Format, FormatDPS)
			want(t, "id", p.ID(), "ecommerce.search-queries-all")
			want(t, "owner", p.Owner, "search-team")
			want(t, "pii", p.Classification.ContainsPII, true)
			want(t, "location", p.OutputPorts[0].Location, "SEARCH_DB.SEARCH_QUERIES_ALL_NPII_V1")
			want(t, "contract id", p.OutputPorts[0].ContractID, "search-queries-all")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			p, doc, probs := ReadDescriptor(tt.file, readTestdata(t, tt.file))
			if len(probs) > 0 {
				t.Fatalf("unexpected problems: %v", probs)
			}
			if p == nil || doc == nil {
				t.Fatal("no product or document")
			}
			if _, ok := doc.Value.(map[string]any); !ok {
				t.Fatalf("document value is %T", doc.Value)
			}
			tt.check(t, p)
			golden(t, strings.TrimSuffix(tt.file, ".yaml"), p)
		})
	}
}

func TestReadContract(t *testing.T) {
	tests := []struct {
		file  string
		check func(t *testing.T, c *Contract)
	}{
		{"seed004.datacontract.yaml", func(t *testing.T, c *Contract) {
			want(t, "format", c.Format, FormatDCS)
			want(t, "version", c.Version, "2.0.0")
			want(t, "id", c.ID, "orders.order-events")
			m := c.Model("order_event")
			want(t, "fields", len(m.Fields), 6)
			f := c.Fields()
			want(t, "order_id pk", f["order_event.order_id"].PrimaryKey, true)
			want(t, "order_id unique", f["order_event.order_id"].Unique, true)
			want(t, "status enum", strings.Join(f["order_event.status"].Enum, ","), "placed,fulfilled,cancelled")
			want(t, "total type", f["order_event.total_minor"].Type, "long")
			want(t, "currency pattern", f["order_event.currency"].Pattern, "^[A-Z]{3}$")
			want(t, "field line", f["order_event.currency"].Pos.Line, 15)
			want(t, "type loc", f["order_event.currency"].Locs["type"].Line, 15)
			want(t, "quality", len(c.Quality), 2)
			want(t, "quality line", c.Quality[1].Pos.Line, 21)
			want(t, "freshness", c.ServiceLevels.FreshnessMax, 15*time.Minute)
			want(t, "freshness loc", c.ServiceLevels.Locs["freshness.threshold"].Line, 26)
		}},
		{"nested.datacontract.yaml", func(t *testing.T, c *Contract) {
			f := c.Fields()
			id := f["customer.customer_id"]
			want(t, "ref type", id.Type, "string")
			want(t, "ref format", id.Format, "uuid")
			want(t, "ref pii", id.PII, true)
			want(t, "own required", id.Required, true)
			want(t, "legacy primary", id.PrimaryKey, true)
			want(t, "inherited type points at the definition", id.Locs["type"].Line, 43)
			want(t, "own key stays", id.Locs["required"].Line, 15)
			want(t, "lower-cased", f["customer.email"].Type, "text")
			want(t, "minLength", *f["customer.email"].MinLength, 3.0)
			want(t, "classification", f["customer.email"].Classification, "sensitive")
			want(t, "nested", f["customer.address.zip"].Pattern, "^[0-9]{5}$")
			want(t, "array items", f["customer.orders[]"].Type, "object")
			oid := f["customer.orders[].order_id"]
			want(t, "chained ref format", oid.Format, "uuid")
			want(t, "chained ref description", oid.Description, "An order id shares the uuid shape of customer ids.")
			want(t, "exclusiveMaximum", *f["customer.orders[].total"].ExclusiveMaximum, 1e6)
			want(t, "field count", len(f), 9)
			want(t, "model quality key", c.Models[0].Quality[0].Key, "no_duplicate_emails")
			want(t, "freshness", c.ServiceLevels.FreshnessMax, time.Hour)
			want(t, "availability", c.ServiceLevels.AvailabilityPct, 99.9)
			want(t, "retention", c.ServiceLevels.Retention, "P1Y")
			want(t, "latency", c.ServiceLevels.Latency, "25h")
		}},
		{"table.odcs.yaml", func(t *testing.T, c *Contract) {
			want(t, "format", c.Format, FormatODCS)
			want(t, "spec", c.SpecVersion, "v3.1.0")
			want(t, "owner", c.Owner, "team-payments")
			want(t, "version", c.Version, "2.1.0")
			f := c.Fields()
			pid := f["payments.payment_id"]
			want(t, "pk", pid.PrimaryKey, true)
			want(t, "physical", pid.PhysicalType, "varchar(36)")
			want(t, "maxLength", *pid.MaxLength, 36.0)
			want(t, "pattern loc", pid.Locs["logicalTypeOptions.pattern"].Line, 25)
			want(t, "minimum", *f["payments.amount"].Minimum, 0.0)
			want(t, "date minimum is not a number", f["payments.paid_on"].Minimum == nil, true)
			want(t, "pii via customProperties", f["payments.payer"].PII, true)
			want(t, "classification", f["payments.payer"].Classification, "restricted")
			want(t, "nested", f["payments.payer.email"].Type, "string")
			want(t, "items", f["payments.payer.tags[]"].Type, "string")
			want(t, "model type", c.Models[0].Type, "table")
			want(t, "freshness", c.ServiceLevels.FreshnessMax, time.Hour)
			want(t, "latency", c.ServiceLevels.Latency, "4d")
			want(t, "retention", c.ServiceLevels.Retention, "3y")
			want(t, "availability", c.ServiceLevels.AvailabilityPct, 99.95)
			want(t, "quality", len(c.Models[0].Quality), 1)
			want(t, "quality canonical", c.Models[0].Quality[0].Canonical, `{"metric":"rowCount","mustBeGreaterThan":0}`)
		}},
		{"team-array.odcs.yaml", func(t *testing.T, c *Contract) {
			want(t, "owner from v3.0 team list", c.Owner, "bob")
			want(t, "freshness", c.ServiceLevels.FreshnessMax, 30*time.Minute)
			want(t, "model type", c.Models[0].Type, "topic")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			c, doc, probs := ReadContract(tt.file, readTestdata(t, tt.file))
			if len(probs) > 0 {
				t.Fatalf("unexpected problems: %v", probs)
			}
			if c == nil || doc == nil {
				t.Fatal("no contract or document")
			}
			tt.check(t, c)
			golden(t, strings.TrimSuffix(tt.file, ".yaml"), c)
		})
	}
}

func want[T comparable](t *testing.T, what string, got, wanted T) {
	t.Helper()
	if got != wanted {
		t.Errorf("%s = %v, want %v", what, got, wanted)
	}
}

// TestHostile: each broken file gives its Problem on the line of the
// offending key, never a panic, and the reader still returns what it could.
func TestHostile(t *testing.T) {
	type exp struct {
		code string
		line int
	}
	tests := []struct {
		file     string
		contract bool
		want     []exp
		nilValue bool // nothing could be read
	}{
		{"syntax.yaml", false, []exp{{"yaml-syntax", 5}}, true}, // [x opens on line 4; the parser fails on line 5
		{"dupkey.yaml", false, []exp{{"duplicate-key", 6}}, true},
		{"alias-bomb.yaml", false, []exp{{"too-many-nodes", 1}}, true},
		{"deep.yaml", true, []exp{{"too-deep", 2}}, true},
		{"empty.yaml", false, []exp{{"empty-file", 1}}, true},
		{"multi-doc.yaml", false, []exp{{"multiple-documents", 4}}, true},
		{"top-list.yaml", false, []exp{{CodeWrongType, 1}}, true},
		{"top-list.yaml", true, []exp{{CodeWrongType, 1}}, true},
		{"ports-string.yaml", false, []exp{{CodeWrongType, 7}}, false},
		{"fields-number.yaml", false, []exp{{CodeWrongType, 11}}, false},
		{"missing-name.yaml", false, []exp{{CodeMissingKey, 3}}, false},
		{"unknown-format.yaml", false, []exp{{CodeUnknownFormat, 1}}, false},
		{"unknown-format.yaml", true, []exp{{CodeUnknownFormat, 1}}, false},
		{"contract-as-descriptor.yaml", false, []exp{{CodeUnknownFormat, 2}}, false},
		{"seed004.dataproduct.yaml", true, []exp{{CodeUnknownFormat, 3}}, false},
		{"escape.yaml", false, []exp{{CodeContractPathEscapes, 9}, {CodeContractPathEscapes, 11}}, false},
		{"bad-date.yaml", false, []exp{{CodeBadDate, 9}}, false},
		{"bad-sla.yaml", false, []exp{{CodeBadValue, 7}, {CodeBadDuration, 9}, {CodeBadValue, 10}}, false},
		{"required-maybe.yaml", true, []exp{{CodeWrongType, 10}}, false},
		{"model-fields-number.yaml", true, []exp{{CodeWrongType, 7}}, false},
		{"bad-ref.yaml", true, []exp{{CodeBadRef, 9}, {CodeRefCycle, 14}}, false},
		{"dcs-version.yaml", true, []exp{{CodeUnsupportedVersion, 1}}, false},
		{"odcs-missing.yaml", true, []exp{{CodeMissingKey, 1}, {CodeMissingKey, 6}, {CodeMissingKey, 8}}, false},
		{"odcs-wrong.yaml", true, []exp{{CodeWrongType, 8}, {CodeBadDuration, 11}}, false},
	}
	for _, tt := range tests {
		name := tt.file
		if tt.contract {
			name += "/contract"
		}
		t.Run(name, func(t *testing.T) {
			dir := "hostile"
			if strings.HasPrefix(tt.file, "seed004") {
				dir = "."
			}
			src := readTestdata(t, filepath.Join(dir, tt.file))
			var probs []Problem
			var isNil bool
			if tt.contract {
				c, _, p := ReadContract(tt.file, src)
				probs, isNil = p, c == nil
			} else {
				d, _, p := ReadDescriptor(tt.file, src)
				probs, isNil = p, d == nil
			}
			if isNil != tt.nilValue {
				t.Errorf("nil result = %v, want %v", isNil, tt.nilValue)
			}
			var got []exp
			for _, p := range probs {
				got = append(got, exp{p.Code, p.Pos.Line})
				if p.Pos.File != tt.file {
					t.Errorf("problem in file %q, want %q", p.Pos.File, tt.file)
				}
				if p.Message == "" {
					t.Errorf("problem %s has no message", p.Code)
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("problems %v, want %v (%v)", got, tt.want, probs)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("problem %d = %v, want %v (%v)", i, got[i], tt.want[i], probs[i])
				}
			}
		})
	}
}

func TestOversizedFile(t *testing.T) {
	src := []byte("kind: DataProduct\ndescription: \"" + strings.Repeat("x", MaxFileBytes) + "\"\n")
	p, _, probs := ReadDescriptor("big.yaml", src)
	if p != nil || len(probs) != 1 || probs[0].Code != "file-too-large" {
		t.Fatalf("got %v %v", p, probs)
	}
}

func TestUnknownFormatNamesExpectations(t *testing.T) {
	_, _, probs := ReadDescriptor("x.yaml", []byte("kind: Pipeline\n"))
	if len(probs) != 1 || !strings.Contains(probs[0].Message, "Pipeline") || !strings.Contains(probs[0].Message, "ODPS") {
		t.Fatalf("got %v", probs)
	}
	_, _, probs = ReadContract("x.yaml", []byte("kind: DataContract\napiVersion: v2.2.0\nid: a\nversion: 1.0.0\nstatus: active\n"))
	if len(probs) != 1 || probs[0].Code != CodeUnsupportedVersion || probs[0].Pos.Line != 2 {
		t.Fatalf("ODCS v2: got %v", probs)
	}
}

func TestResolveContractPath(t *testing.T) {
	tests := []struct {
		desc, ref, want string
		refused         bool
	}{
		{"a/b/dataproduct.yaml", "./contracts/x.yaml", "a/b/contracts/x.yaml", false},
		{"a/b/dataproduct.yaml", "../shared/x.yaml", "a/shared/x.yaml", false},
		{"dataproduct.yaml", "x.yaml", "x.yaml", false},
		{"a/dataproduct.yaml", "../../x.yaml", "", true},
		{"dataproduct.yaml", "../x.yaml", "", true},
		{"a/dataproduct.yaml", "/etc/passwd", "", true},
		{"a/dataproduct.yaml", `C:\contracts\x.yaml`, "", true},
		{"a/dataproduct.yaml", `..\..\x.yaml`, "", true},
		{"a/dataproduct.yaml", "a/../../..", "", true},
		{"a/dataproduct.yaml", "https://example.com/c.yaml", "", false},
	}
	for _, tt := range tests {
		got, why := ResolveContractPath(tt.desc, tt.ref)
		if got != tt.want || (why != "") != tt.refused {
			t.Errorf("ResolveContractPath(%q, %q) = %q, %q; want %q refused=%v", tt.desc, tt.ref, got, why, tt.want, tt.refused)
		}
	}
}
