package impact

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/meshbot/meshbot/internal/mesh"
)

func TestReadRegistryFile(t *testing.T) {
	for _, name := range []string{"registry.yaml", "registry.json"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", name)
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			products, problems := ReadRegistry(name, src)
			if len(problems) != 0 {
				t.Fatalf("unexpected problems: %v", problems)
			}
			if len(products) != 2 {
				t.Fatalf("want 2 products, got %d", len(products))
			}
			m := products[0]
			if m.ID() != "marketing.campaign-attribution" || m.Owner != "team-marketing" || m.File != name {
				t.Errorf("first product: id %q owner %q file %q", m.ID(), m.Owner, m.File)
			}
			if len(m.InputPorts) != 2 {
				t.Fatalf("want 2 input ports, got %d", len(m.InputPorts))
			}
			ip := m.InputPorts[0]
			if ip.Name != "orders" || ip.Product != "orders.order-events" || ip.Port != "iceberg-curated" {
				t.Errorf("input port: %+v", ip)
			}
			var fields []string
			for _, f := range ip.Fields {
				fields = append(fields, f.Name)
				if f.Pos.File != name || f.Pos.Line == 0 {
					t.Errorf("field %q has no position: %v", f.Name, f.Pos)
				}
			}
			if !slices.Equal(fields, []string{"order_id", "status", "customer_id"}) {
				t.Errorf("fields = %v", fields)
			}
			// The default input port name is the producer id; no fields means the whole port.
			if ip2 := m.InputPorts[1]; ip2.Name != "pricing.price-list" || len(ip2.Fields) != 0 {
				t.Errorf("second input port: %+v", ip2)
			}
			if products[1].ID() != "ml.churn-features" {
				t.Errorf("second product id %q", products[1].ID())
			}
			g := Build(products)
			got := ids(g.Affected("orders.order-events", "iceberg-curated", []string{"order_event.status"}))
			if want := []string{"marketing.campaign-attribution#orders"}; !slices.Equal(got, want) {
				t.Errorf("Affected via registry = %v, want %v", got, want)
			}
		})
	}
}

func TestReadRegistryPositions(t *testing.T) {
	src := "consumers:\n" + // 1
		"  - product: a.b\n" + // 2
		"    owner: team-a\n" + // 3
		"    inputPorts:\n" + // 4
		"      - name: x\n" + // 5
		"        product: c.d\n" + // 6
		"        port: p\n" + // 7
		"        fields:\n" + // 8
		"          - f1\n" + // 9
		"          - m.f2\n" // 10
	products, problems := ReadRegistry("reg.yaml", []byte(src))
	if len(problems) != 0 || len(products) != 1 {
		t.Fatalf("products %d, problems %v", len(products), problems)
	}
	p := products[0]
	ip := p.InputPorts[0]
	checks := []struct {
		what string
		pos  mesh.Pos
		line int
	}{
		{"product", p.Pos, 2},
		{"owner loc", p.Locs["owner"], 3},
		{"input port", ip.Pos, 5},
		{"port loc", ip.Locs["port"], 7},
		{"field 0", ip.Fields[0].Pos, 9},
		{"field 1", ip.Fields[1].Pos, 10},
	}
	for _, c := range checks {
		if c.pos.File != "reg.yaml" || c.pos.Line != c.line {
			t.Errorf("%s at %v, want reg.yaml:%d", c.what, c.pos, c.line)
		}
	}
}

func TestReadRegistryProblems(t *testing.T) {
	tests := []struct {
		name     string
		src      string
		products int
		want     []string // "code@line" of each problem, in order
	}{
		{"not a mapping", "- a\n- b\n", 0, []string{"wrong-type@1"}},
		{"no consumers key", "kind: Registry\n", 0, []string{"missing-key@1"}},
		{"consumers not a list", "consumers: yes\n", 0, []string{"wrong-type@1"}},
		{"empty consumers", "consumers:\n", 0, nil},
		{"entry not a mapping", "consumers:\n  - just-a-string\n", 0, []string{"wrong-type@2"}},
		{"product missing", "consumers:\n  - owner: t\n", 0, []string{"missing-key@2"}},
		{"product not a string", "consumers:\n  - product: [a]\n", 0, []string{"wrong-type@2"}},
		{"product empty", "consumers:\n  - product: ''\n", 0, []string{"missing-key@2"}},
		{"product without name", "consumers:\n  - product: 'a.'\n", 0, []string{"bad-value@2"}},
		{"inputPorts not a list", "consumers:\n  - product: a.b\n    inputPorts: {}\n", 1, []string{"wrong-type@3"}},
		{"input port missing port", "consumers:\n  - product: a.b\n    inputPorts:\n      - product: c.d\n", 1, []string{"missing-key@4"}},
		{"field not a string", "consumers:\n  - product: a.b\n    inputPorts:\n      - product: c.d\n        port: p\n        fields: [ok, 3, {x: y}]\n", 1,
			[]string{"wrong-type@6", "wrong-type@6"}},
		{"fields not a list", "consumers:\n  - product: a.b\n    inputPorts:\n      - {product: c.d, port: p, fields: f}\n", 1, []string{"wrong-type@4"}},
		{"misspelt key", "consumers:\n  - product: a.b\n    inputPorts:\n      - product: c.d\n        port: p\n        fileds: [x]\n", 1, []string{"unknown-key@6"}},
		{"unknown top-level key", "version: 1\nconsumers: []\n", 0, []string{"unknown-key@1"}},
		{"duplicate consumer", "consumers:\n  - product: a.b\n  - product: a.b\n", 1, []string{"duplicate-product@3"}},
		{"yaml syntax", "consumers: [\n", 0, []string{"yaml-syntax@*"}},
		{"duplicate key", "consumers: []\nconsumers: []\n", 0, []string{"duplicate-key@2"}},
		{"empty file", "", 0, []string{"empty-file@1"}},
		{"json", `{"consumers": [{"product": "a.b", "inputPorts": [{"product": "c.d", "port": "p", "fields": ["x"]}]}]}`, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			products, problems := ReadRegistry("r.yaml", []byte(tt.src))
			if len(products) != tt.products {
				t.Errorf("got %d products, want %d", len(products), tt.products)
			}
			var got []string
			for _, p := range problems {
				if p.Pos.File != "r.yaml" || p.Message == "" {
					t.Errorf("problem without file or message: %+v", p)
				}
				got = append(got, fmt.Sprintf("%s@%d", p.Code, p.Pos.Line))
			}
			if len(got) != len(tt.want) {
				t.Fatalf("problems = %v, want %v", got, tt.want)
			}
			for i := range got {
				if w := tt.want[i]; strings.HasSuffix(w, "@*") {
					if !strings.HasPrefix(got[i], strings.TrimSuffix(w, "*")) {
						t.Errorf("problem %d = %s, want %s", i, got[i], w)
					}
				} else if got[i] != w {
					t.Errorf("problem %d = %s, want %s", i, got[i], w)
				}
			}
		})
	}
}

func FuzzReadRegistry(f *testing.F) {
	for _, name := range []string{"registry.yaml", "registry.json"} {
		src, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		products, problems := ReadRegistry("fuzz.yaml", src)
		for _, p := range problems {
			if p.Pos.File != "fuzz.yaml" || p.Pos.Line < 1 || p.Code == "" || p.Message == "" {
				t.Fatalf("problem lacks position, code or message: %+v", p)
			}
		}
		seen := map[string]bool{}
		for _, p := range products {
			if p.Name == "" || seen[p.ID()] {
				t.Fatalf("product with empty or duplicate id %q", p.ID())
			}
			seen[p.ID()] = true
			for _, in := range p.InputPorts {
				if in.Product == "" || in.Port == "" || in.Name == "" {
					t.Fatalf("input port missing product, port or name: %+v", in)
				}
				for _, f := range in.Fields {
					if f.Name == "" || f.Pos.Line < 1 {
						t.Fatalf("field without name or position: %+v", f)
					}
				}
			}
		}
		// Whatever was read must index without trouble.
		g := Build(products)
		for _, p := range products {
			g.Downstream(p.ID())
		}
	})
}

func TestReadRegistryJSONWithTabs(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "registry-tabs.json"))
	if err != nil {
		t.Fatal(err)
	}
	products, problems := ReadRegistry("registry-tabs.json", src)
	if len(problems) != 0 || len(products) != 1 || products[0].Pos.Line != 3 {
		t.Fatalf("tab-indented JSON: products %d, problems %v", len(products), problems)
	}
}
