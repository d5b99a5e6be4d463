package engine

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/meshbot/meshbot/internal/mesh"
	"github.com/meshbot/meshbot/internal/policyeval"
	"github.com/meshbot/meshbot/internal/testutil"
	"github.com/meshbot/meshbot/policy"
)

// consumerYAML is finance.revenue reading orders.order-events/<port>; extra
// is appended to the spec (a description that changes, say).
func consumerYAML(port, extra string) string {
	return `apiVersion: mesh/v1
kind: DataProduct
metadata:
  name: revenue
  domain: finance
  owner: team-finance
spec:
  lifecycle: production
` + extra + `  inputPorts:
    - name: orders
      product: orders.order-events
      port: ` + port + `
      fields: [order_id]
`
}

const producerYAML = `apiVersion: mesh/v1
kind: DataProduct
metadata:
  name: order-events
  domain: orders
  owner: team-orders
spec:
  lifecycle: production
  outputPorts:
    - name: v1
      type: iceberg
      location: s3://b/v1/
      lifecycle: deprecated
      deprecation:
        sunset: 2027-03-31
        replacement: orders.order-events/v2
    - name: v2
      type: iceberg
      location: s3://b/v2/
`

func loadFS(t *testing.T, files map[string]string) *mesh.Mesh {
	t.Helper()
	if files == nil {
		return nil
	}
	fsys := fstest.MapFS{}
	for p, s := range files {
		fsys[p] = &fstest.MapFile{Data: []byte(s)}
	}
	m, err := mesh.Load(context.Background(), fsys)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// registered is a producer as the registry holds it.
func registered(t *testing.T, src string) []*mesh.Product {
	t.Helper()
	p, _, probs := mesh.ReadDescriptor("orders/dataproduct.yaml", []byte(src))
	if len(probs) > 0 || p == nil {
		t.Fatalf("producer fixture: %v", probs)
	}
	p.Repo = "acme/orders"
	return []*mesh.Product{p}
}

// TestDeprecatedReads: a consumer's pull request that adds or keeps an
// input port on a deprecated target warns before the sunset and fails from
// the sunset day on; a descriptor the change does not touch is not judged.
func TestDeprecatedReads(t *testing.T) {
	before := time.Date(2027, 1, 15, 0, 0, 0, 0, time.UTC)
	sunsetDay := time.Date(2027, 3, 31, 0, 0, 0, 0, time.UTC)
	after := time.Date(2027, 4, 1, 0, 0, 0, 0, time.UTC)
	deprecatedProduct := strings.Replace(strings.Replace(producerYAML, "  lifecycle: production\n", "  lifecycle: deprecated\n  deprecation:\n    sunset: 2027-06-30\n    replacement: orders.order-events-v3/events\n", 1), "      lifecycle: deprecated\n      deprecation:\n        sunset: 2027-03-31\n        replacement: orders.order-events/v2\n", "", 1)
	const file = "finance/dataproduct.yaml"
	for _, tc := range []struct {
		name     string
		base     map[string]string // nil: no base
		head     map[string]string
		registry string // the producer as registered elsewhere; "" for none
		today    time.Time
		rule     string // "" for no finding
		level    Level
		mentions []string
	}{
		{"adds an input port before the sunset", map[string]string{file: consumerYAML("v2", "")}, map[string]string{file: consumerYAML("v1", "")}, producerYAML, before,
			RuleReadsDeprecated, LevelWarning, []string{"adds an input port on output port v1 of orders.order-events", "sunset 2027-03-31", "replacement: orders.order-events/v2"}},
		{"keeps it while editing the descriptor", map[string]string{file: consumerYAML("v1", "")}, map[string]string{file: consumerYAML("v1", "  description: now with VAT\n")}, producerYAML, before,
			RuleReadsDeprecated, LevelWarning, []string{"still reads output port v1", "sunset 2027-03-31"}},
		{"descriptor untouched", map[string]string{file: consumerYAML("v1", ""), "x/dataproduct.yaml": consumerYAML("v2", "")}, map[string]string{file: consumerYAML("v1", ""), "x/dataproduct.yaml": consumerYAML("v2", "  description: x\n")}, producerYAML, after,
			"", "", nil},
		{"on the sunset day it fails", map[string]string{file: consumerYAML("v1", "")}, map[string]string{file: consumerYAML("v1", "  description: x\n")}, producerYAML, sunsetDay,
			RuleReadsPastSunset, LevelError, []string{"sunset 2027-03-31 has passed", "replacement: orders.order-events/v2"}},
		{"after the sunset it fails", nil, map[string]string{file: consumerYAML("v1", "")}, producerYAML, after,
			RuleReadsPastSunset, LevelError, []string{"has passed"}},
		{"the replacement port is fine", nil, map[string]string{file: consumerYAML("v2", "")}, producerYAML, after,
			"", "", nil},
		{"a deprecated product, port not marked", nil, map[string]string{file: consumerYAML("v2", "")}, deprecatedProduct, before,
			RuleReadsDeprecated, LevelWarning, []string{"still reads orders.order-events (input port orders)", "sunset 2027-06-30", "orders.order-events-v3/events"}},
		{"producer in the same repository", nil, map[string]string{file: consumerYAML("v1", ""), "orders/dataproduct.yaml": producerYAML}, "", after,
			RuleReadsPastSunset, LevelError, []string{"output port v1 of orders.order-events"}},
		{"the head's producer shadows the registry's", nil, map[string]string{file: consumerYAML("v1", ""), "orders/dataproduct.yaml": strings.Replace(producerYAML, "2027-03-31", "2028-03-31", 1)}, producerYAML, after,
			RuleReadsDeprecated, LevelWarning, []string{"sunset 2028-03-31"}},
		{"unknown producer", nil, map[string]string{file: consumerYAML("v1", "")}, "", after,
			"", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := Request{Head: loadFS(t, tc.head), Base: loadFS(t, tc.base), Today: tc.today}
			if tc.registry != "" {
				req.Consumers = [][]*mesh.Product{registered(t, tc.registry)}
			}
			rep, err := Evaluate(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			var got []Finding
			for _, f := range rep.Findings {
				if f.Source == SourceDeprecation && strings.HasPrefix(f.Rule, "deprecation/reads-") {
					got = append(got, f)
				}
			}
			if tc.rule == "" {
				if len(got) != 0 {
					t.Fatalf("want no finding, got %+v", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("want one %s, got %+v", tc.rule, got)
			}
			f := got[0]
			if f.Rule != tc.rule || f.Level != tc.level {
				t.Errorf("%s %s, want %s %s: %s", f.Rule, f.Level, tc.rule, tc.level, f.Message)
			}
			if f.Pos.File != file || f.Pos.Line == 0 {
				t.Errorf("at %s, want the input port in %s", f.Pos, file)
			}
			for _, m := range tc.mentions {
				if !strings.Contains(f.Message, m) {
					t.Errorf("message %q lacks %q", f.Message, m)
				}
			}
			if f.Help == "" {
				t.Error("no help")
			}
		})
	}
}

// An input port on an ODCS 3.2 contract marked deprecated warns, without a
// sunset to fail on.
func TestDeprecatedContractRead(t *testing.T) {
	producer := registered(t, producerYAML)
	producer[0].OutputPorts[1].Contract = &mesh.Contract{ID: "urn:c:orders", Deprecated: true}
	head := loadFS(t, map[string]string{"finance/dataproduct.yaml": consumerYAML("v2", "")})
	rep, err := Evaluate(context.Background(), Request{Head: head, Consumers: [][]*mesh.Product{producer}, Today: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	for _, f := range rep.Findings {
		if f.Rule == RuleReadsDeprecated {
			n++
			if f.Level != LevelWarning || !strings.Contains(f.Message, "the contract of output port v2") || !strings.Contains(f.Message, "without a sunset date") {
				t.Errorf("%s %s", f.Level, f.Message)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d warnings, want 1: %+v", n, rep.Findings)
	}
}

// The bundled policy's new-reader-notice, switched on by the guild's data,
// reads data.meshbot.context.reads as the engine fills it: a new input port
// on a port whose sunset is nearer than the notice fails, at its line.
func TestNewReaderNoticePolicy(t *testing.T) {
	ctx := context.Background()
	fsys := testutil.MapFS(t, policy.FS())
	fsys["data.yaml"] = &fstest.MapFile{Data: []byte("deprecation:\n  new_reader_notice_days: 90\n")}
	set, err := policyeval.Load(ctx, fsys, policyeval.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const file = "finance/dataproduct.yaml"
	for _, tc := range []struct {
		name  string
		today time.Time
		base  string
		fails bool
	}{
		{"added 45 days before the sunset", time.Date(2027, 2, 14, 0, 0, 0, 0, time.UTC), "v2", true},
		{"added 120 days before", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), "v2", false},
		{"kept 45 days before", time.Date(2027, 2, 14, 0, 0, 0, 0, time.UTC), "v1", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			head := loadFS(t, map[string]string{file: consumerYAML("v1", "  description: d\n")})
			base := loadFS(t, map[string]string{file: consumerYAML(tc.base, "")})
			rep, err := Evaluate(ctx, Request{Head: head, Base: base, Consumers: [][]*mesh.Product{registered(t, producerYAML)}, Policy: set, Today: tc.today})
			if err != nil {
				t.Fatal(err)
			}
			var got *Finding
			for i, f := range rep.Findings {
				if f.Rule == "policy/new-reader-notice" {
					got = &rep.Findings[i]
				}
			}
			if (got != nil) != tc.fails {
				t.Fatalf("new-reader-notice found: %v, want %v; findings %+v", got != nil, tc.fails, rep.Findings)
			}
			if got != nil && (got.Level != LevelError || got.Pos.Line != 11 || !strings.Contains(got.Message, "read orders.order-events/v2 instead")) {
				t.Errorf("%s at %s: %s", got.Level, got.Pos, got.Message)
			}
		})
	}
}

// An ODPS input port names only the contract it reads: the port publishing
// that contract is the one judged.
func TestDeprecatedReadByContractID(t *testing.T) {
	producer := registered(t, producerYAML)
	producer[0].OutputPorts[0].Contract = &mesh.Contract{ID: "urn:c:orders-v1"}
	head := loadFS(t, map[string]string{"finance/dataproduct.yaml": consumerYAML("v2", "")})
	in := head.Products[0].InputPorts[0]
	in.Product, in.Port, in.ContractID = "", "", "urn:c:orders-v1"
	rep, err := Evaluate(context.Background(), Request{Head: head, Consumers: [][]*mesh.Product{producer}, Today: time.Date(2027, 4, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Findings {
		if f.Rule == RuleReadsPastSunset && strings.Contains(f.Message, "output port v1 of orders.order-events") {
			return
		}
	}
	t.Fatalf("no %s on the port publishing urn:c:orders-v1: %+v", RuleReadsPastSunset, rep.Findings)
}
