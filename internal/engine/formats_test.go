package engine

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	yaml "go.yaml.in/yaml/v3"

	"github.com/meshbot/meshbot/internal/mesh"
	"github.com/meshbot/meshbot/internal/policyeval"
	"github.com/meshbot/meshbot/internal/testutil"
	"github.com/meshbot/meshbot/policy"
)

// judge runs the bundled policy on a checkout of files (path → YAML) with
// nothing to compare, and returns its policy findings.
func judge(t *testing.T, files map[string]string) []Finding {
	t.Helper()
	fsys := fstest.MapFS{}
	for p, src := range files {
		fsys[p] = &fstest.MapFile{Data: []byte(src)}
	}
	m, err := mesh.Load(context.Background(), fsys)
	if err != nil {
		t.Fatal(err)
	}
	set, err := policyeval.Load(context.Background(), policy.FS(), policyeval.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Evaluate(context.Background(), Request{Head: m, Policy: set, Today: time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	var out []Finding
	for _, f := range rep.Findings {
		if f.Source == SourcePolicy {
			out = append(out, f)
		}
	}
	return out
}

func shared(t *testing.T, rel string) string {
	t.Helper()
	src, err := os.ReadFile(testutil.Shared(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(src)
}

// edit applies f to the YAML document src and writes it back.
func edit(t *testing.T, src string, f func(doc map[string]any)) string {
	t.Helper()
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	f(doc)
	out, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func obj(v any, path ...any) map[string]any {
	for _, k := range path {
		switch k := k.(type) {
		case string:
			v = v.(map[string]any)[k]
		case int:
			v = v.([]any)[k]
		}
	}
	return v.(map[string]any)
}

const (
	odcsPath = "external/schemas/open-data-contract-standard/docs/examples/all/full-example.odcs.yaml"
	dcsPath  = "external/schemas/datacontract-specification/examples/orders-latest/datacontract.yaml"
	odpsPath = "external/schemas/open-data-product-standard/docs/examples/customer-data-product.odps.yaml"
)

const nativeDescriptor = `apiVersion: mesh/v1
kind: DataProduct
metadata:
  name: revenue
  domain: finance
  owner: team-finance
spec:
  lifecycle: production
  outputPorts:
    - name: iceberg-curated
      type: iceberg
      location: s3://eu-mesh-finance/revenue/
      contract: ./revenue.datacontract.yaml
  sla:
    freshness: "<= 1h"
  classification:
    contains_pii: false
    residency: EU
`

// The official examples of every format, and datacontract-cli's fixtures,
// get no alarm from the bundled policy.
func TestOfficialExamplesPass(t *testing.T) {
	cases := map[string]map[string]string{
		"dcs orders-latest":    {"o/datacontract.yaml": shared(t, dcsPath)},
		"odcs full example":    {"o/full.odcs.yaml": shared(t, odcsPath)},
		"odps customer":        {"o/customer.odps.yaml": shared(t, odpsPath)},
		"odps simple":          {"o/simple.odps.yaml": shared(t, "external/schemas/open-data-product-standard/docs/examples/simple-data-product.odps.yaml")},
		"native with contract": {"o/dataproduct.yaml": nativeDescriptor, "o/revenue.datacontract.yaml": shared(t, dcsPath)},
	}
	// The simple ODPS example declares no team at all: that is the gap
	// owner-required exists for, not a false alarm.
	allowed := map[string]string{"odps simple": "policy/owner-required"}
	fixtures, err := filepath.Glob(filepath.Join(testutil.Shared(t, "external/datacontract-cli/fixtures"), "*", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	more, _ := filepath.Glob(filepath.Join(testutil.Shared(t, "external/datacontract-cli/fixtures"), "*", "*", "*.yaml"))
	for _, f := range append(fixtures, more...) {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := "datacontract-cli " + filepath.Base(f)
		cases[name] = map[string]string{"o/datacontract.yaml": string(src)}
		// Many fixtures are minimal contracts made to test diffs, without
		// any owner: saying so is right, not a false alarm.
		var doc map[string]any
		if err := yaml.Unmarshal(src, &doc); err != nil {
			t.Fatal(err)
		}
		info, _ := doc["info"].(map[string]any)
		if info["owner"] == nil && doc["team"] == nil {
			allowed[name] = "policy/contract-owner-required"
		}
	}
	owned := 0
	for name := range cases {
		if allowed[name] == "" {
			owned++
		}
	}
	// fields-v2 tests a diff that adds field_pii (pii: true) and, apart,
	// field_classification: field_pii is personal data left unclassified.
	pii := "datacontract-cli datacontract-fields-v2.yaml"
	allowed[pii] = "policy/contract-owner-required policy/pii-classification-required"
	t.Logf("%d examples, %d of them must get no finding at all", len(cases), owned)
	if len(cases) < 20 {
		t.Fatalf("only %d examples found", len(cases))
	}
	for name, files := range cases {
		t.Run(name, func(t *testing.T) {
			for _, f := range judge(t, files) {
				if !slices.Contains(strings.Fields(allowed[name]), f.Rule) {
					t.Errorf("%s %s at %s: %s", f.Level, f.Rule, f.Pos, f.Message)
				}
			}
		})
	}
}

// An owner removed, PII unclassified, or freshness missing is caught in
// every format, by the same rule.
func TestBundledPolicyEveryFormat(t *testing.T) {
	odcs, dcs, odps := shared(t, odcsPath), shared(t, dcsPath), shared(t, odpsPath)
	// The simple ODPS example with a team, so only freshness is in question.
	simpleODPS := edit(t, shared(t, "external/schemas/open-data-product-standard/docs/examples/simple-data-product.odps.yaml"), func(d map[string]any) {
		d["team"] = map[string]any{"name": "data-team"}
	})
	// An ODCS contract published by the simple ODPS product's port.
	odcsFor := func(sla []any) string {
		return edit(t, odcs, func(d map[string]any) {
			d["id"] = "87654321-4321-4321-4321-cba987654321"
			d["slaProperties"] = sla
		})
	}
	for _, tc := range []struct {
		name  string
		files map[string]string
		rule  string // "" when nothing must fire
		file  string
	}{
		{"native owner removed", map[string]string{"o/dataproduct.yaml": edit(t, nativeDescriptor, func(d map[string]any) { delete(obj(d, "metadata"), "owner") }), "o/revenue.datacontract.yaml": dcs},
			"policy/owner-required", "o/dataproduct.yaml"},
		{"odps owner removed", map[string]string{"o/c.odps.yaml": edit(t, odps, func(d map[string]any) { delete(d, "team") })},
			"policy/owner-required", "o/c.odps.yaml"},
		{"dcs owner removed", map[string]string{"o/datacontract.yaml": edit(t, dcs, func(d map[string]any) { delete(obj(d, "info"), "owner") })},
			"policy/contract-owner-required", "o/datacontract.yaml"},
		{"odcs owner removed", map[string]string{"o/c.odcs.yaml": edit(t, odcs, func(d map[string]any) { delete(d, "team") })},
			"policy/contract-owner-required", "o/c.odcs.yaml"},
		{"dcs pii unclassified", map[string]string{"o/datacontract.yaml": edit(t, dcs, func(d map[string]any) {
			delete(obj(d, "models", "orders", "fields", "customer_email_address"), "classification")
		})}, "policy/pii-classification-required", "o/datacontract.yaml"},
		{"odcs pii classified", map[string]string{"o/c.odcs.yaml": edit(t, odcs, func(d map[string]any) {
			p := obj(d, "schema", 0, "properties", 0)
			p["customProperties"] = []any{map[string]any{"property": "pii", "value": true}}
			p["classification"] = "restricted"
		})}, "", ""},
		{"odcs pii unclassified", map[string]string{"o/c.odcs.yaml": edit(t, odcs, func(d map[string]any) {
			p := obj(d, "schema", 0, "properties", 0)
			p["customProperties"] = []any{map[string]any{"property": "pii", "value": true}}
			delete(p, "classification")
		})}, "policy/pii-classification-required", "o/c.odcs.yaml"},
		{"native freshness missing", map[string]string{"o/dataproduct.yaml": edit(t, nativeDescriptor, func(d map[string]any) { delete(obj(d, "spec", "sla"), "freshness") }), "o/revenue.datacontract.yaml": edit(t, dcs, func(d map[string]any) { delete(d, "servicelevels") })},
			"policy/freshness-sla-required", "o/dataproduct.yaml"},
		{"native freshness promised by its contract", map[string]string{"o/dataproduct.yaml": edit(t, nativeDescriptor, func(d map[string]any) { delete(obj(d, "spec", "sla"), "freshness") }), "o/revenue.datacontract.yaml": dcs},
			"", ""},
		{"odps freshness missing", map[string]string{"o/p.odps.yaml": simpleODPS, "o/c.odcs.yaml": odcsFor([]any{map[string]any{"property": "retention", "value": 3, "unit": "y"}})},
			"policy/freshness-sla-required", "o/p.odps.yaml"},
		{"odps freshness promised by its contract", map[string]string{"o/p.odps.yaml": simpleODPS, "o/c.odcs.yaml": odcsFor([]any{map[string]any{"property": "latency", "value": 4, "unit": "d"}})},
			"", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			found := judge(t, tc.files)
			hit := false
			for _, f := range found {
				if f.Rule == tc.rule && f.Pos.File == tc.file {
					hit = true
					continue
				}
				t.Errorf("unexpected %s at %s: %s", f.Rule, f.Pos, f.Message)
			}
			if tc.rule != "" && !hit {
				t.Errorf("%s not reported on %s", tc.rule, tc.file)
			}
		})
	}
}
