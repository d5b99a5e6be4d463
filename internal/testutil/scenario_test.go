package testutil_test

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/meshbot/meshbot/internal/impact"
	"github.com/meshbot/meshbot/internal/mesh"
	"github.com/meshbot/meshbot/internal/policyeval"
	"github.com/meshbot/meshbot/internal/testutil"
	"github.com/meshbot/meshbot/policy"
)

func write(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for p, body := range files {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func tree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for p, b := range testutil.ReadTree(t, root) {
		out[p] = string(b)
	}
	return out
}

func TestMaterializeScenario(t *testing.T) {
	meshFiles := map[string]string{
		"a/dataproduct.yaml":        "a",
		"a/contracts/a.v1.yaml":     "a1",
		"b/dataproduct.yaml":        "b",
		"b/contracts/old/gone.yaml": "gone",
	}
	tests := []struct {
		name     string
		scenario map[string]string
		want     map[string]string
		wantErr  string
	}{
		{
			name: "overlay and delete",
			scenario: map[string]string{
				"scenario.yaml":         "description: d\ndelete: [b/contracts/old, a/contracts/a.v1.yaml]\nexpect: {exit: 1, rules: [x]}\n",
				"a/dataproduct.yaml":    "a changed",
				"a/contracts/a.v2.yaml": "a2",
			},
			want: map[string]string{
				"a/dataproduct.yaml":    "a changed",
				"a/contracts/a.v2.yaml": "a2",
				"b/dataproduct.yaml":    "b",
			},
		},
		{
			name:     "no changes",
			scenario: map[string]string{"scenario.yaml": "description: nothing\nexpect: {exit: 0}\n"},
			want:     meshFiles,
		},
		{
			name:     "deleting a missing file is an error",
			scenario: map[string]string{"scenario.yaml": "description: d\ndelete: [c/nope.yaml]\nexpect: {exit: 0}\n"},
			wantErr:  "c/nope.yaml",
		},
		{
			name:     "deleting outside the mesh is refused",
			scenario: map[string]string{"scenario.yaml": "description: d\ndelete: [../a]\nexpect: {exit: 0}\n"},
			wantErr:  "inside the mesh",
		},
		{
			name:     "absolute deletion is refused",
			scenario: map[string]string{"scenario.yaml": "description: d\ndelete: [/etc]\nexpect: {exit: 0}\n"},
			wantErr:  "inside the mesh",
		},
		{
			name:     "unknown key in scenario.yaml",
			scenario: map[string]string{"scenario.yaml": "description: d\ndeletes: [a]\n"},
			wantErr:  "deletes",
		},
		{
			name:     "missing description",
			scenario: map[string]string{"scenario.yaml": "expect: {exit: 0}\n"},
			wantErr:  "description",
		},
		{
			name:     "exit out of range",
			scenario: map[string]string{"scenario.yaml": "description: d\nexpect: {exit: 3}\n"},
			wantErr:  "expect.exit",
		},
		{
			name:     "no scenario.yaml",
			scenario: map[string]string{"a/dataproduct.yaml": "x"},
			wantErr:  "scenario.yaml",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp := t.TempDir()
			meshDir, scenDir, dst := filepath.Join(tmp, "mesh"), filepath.Join(tmp, "scen"), filepath.Join(tmp, "out")
			write(t, meshDir, meshFiles)
			write(t, scenDir, tt.scenario)
			err := testutil.MaterializeScenario(meshDir, scenDir, dst)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := tree(t, dst)
			if len(got) != len(tt.want) {
				t.Errorf("got files %v, want %v", keys(got), keys(tt.want))
			}
			for p, body := range tt.want {
				if got[p] != body {
					t.Errorf("%s = %q, want %q", p, got[p], body)
				}
			}
			// The source mesh is never touched.
			if src := tree(t, meshDir); len(src) != len(meshFiles) {
				t.Errorf("mesh changed: %v", keys(src))
			}
		})
	}
}

func TestReadTreeLeavesOutGit(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{"a/b.yaml": "b", "c": "c", ".git/HEAD": "ref"})
	if got, want := tree(t, dir), map[string]string{"a/b.yaml": "b", "c": "c"}; !maps.Equal(got, want) {
		t.Fatalf("ReadTree = %v, want %v", got, want)
	}
}

func TestCopyTreeRefusesSymlinks(t *testing.T) {
	tmp := t.TempDir()
	src := filepath.Join(tmp, "src")
	write(t, src, map[string]string{"f": "x"})
	if err := os.Symlink("/etc/passwd", filepath.Join(src, "link")); err != nil {
		t.Skipf("symlinks unsupported: %v", err)
	}
	if err := testutil.CopyTree(src, filepath.Join(tmp, "dst")); err == nil || !strings.Contains(err.Error(), "regular files") {
		t.Fatalf("err = %v, want a refusal", err)
	}
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func load(t *testing.T, dir string) *mesh.Mesh {
	t.Helper()
	m, err := mesh.Load(context.Background(), os.DirFS(dir))
	if err != nil {
		t.Fatalf("load %s: %v", dir, err)
	}
	return m
}

// TestExampleMeshIsClean: the base of every scenario reads without a single
// problem, every port has its contract, and every consumer expectation names
// an existing product, port and field.
func TestExampleMeshIsClean(t *testing.T) {
	m := load(t, filepath.Join(testutil.RepoRoot(t), "testdata", "mesh"))
	for _, p := range m.Problems {
		t.Errorf("problem: %v (%s)", p, p.Code)
	}
	var ids []string
	formats := map[mesh.Format]bool{}
	for _, p := range m.Products {
		ids = append(ids, p.ID())
		formats[p.Format] = true
		for _, o := range p.OutputPorts {
			if o.Contract == nil {
				t.Errorf("%s/%s has no contract", p.ID(), o.Name)
				continue
			}
			formats[o.Contract.Format] = true
		}
	}
	slices.Sort(ids)
	want := []string{"customer.customer-360", "customer.customer-profile", "finance.revenue", "inventory.stock-levels", "orders.order-events", "orders.order-history-csv", "pricing.price-list"}
	if !slices.Equal(ids, want) {
		t.Errorf("products = %v, want %v", ids, want)
	}
	for _, f := range []mesh.Format{mesh.FormatNative, mesh.FormatODPS, mesh.FormatDCS, mesh.FormatODCS} {
		if !formats[f] {
			t.Errorf("no document in format %s: the example mesh must mix formats", f)
		}
	}
	g := impact.Build(m.Products)
	for _, c := range g.Unresolved() {
		t.Errorf("%s#%s reads %s/%s, which does not exist", c.Product, c.InputPort, c.Producer, c.Port)
	}
	for _, p := range m.Products {
		for _, in := range p.InputPorts {
			if in.Product == "" {
				continue
			}
			port := g.Product(in.Product).OutputPort(in.Port)
			if port == nil || port.Contract == nil {
				continue
			}
			fields := port.Contract.Fields()
			for _, f := range in.Fields {
				if !declared(fields, f.Name) {
					t.Errorf("%s#%s declares %q, which %s/%s's contract does not have", p.ID(), in.Name, f.Name, in.Product, in.Port)
				}
			}
		}
	}
	// What the scenarios rely on.
	if got := consumerIDs(g.ConsumersOf("orders.order-events", "iceberg-curated")); !slices.Equal(got, []string{"customer.customer-360", "finance.revenue"}) {
		t.Errorf("iceberg-curated consumers = %v", got)
	}
	if got := consumerIDs(g.ConsumersOf("orders.order-events", "iceberg-v1")); !slices.Equal(got, []string{"inventory.stock-levels"}) {
		t.Errorf("iceberg-v1 consumers = %v", got)
	}
	if p := g.Product("orders.order-events").OutputPort("iceberg-v1"); p == nil || p.Deprecation == nil || p.Deprecation.Sunset != "2027-03-31" {
		t.Errorf("iceberg-v1 must be deprecated with sunset 2027-03-31: %+v", p)
	}
}

// declared: a consumer's field name is a bare field, a model-qualified
// field, or a nested path of the contract.
func declared(fields map[string]*mesh.Field, name string) bool {
	for path := range fields {
		if path == name || strings.HasSuffix(path, "."+name) {
			return true
		}
	}
	return false
}

func consumerIDs(cs []impact.Consumer) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Product)
	}
	return out
}

// TestScenarioHeadsLoad: every scenario's head is readable, and the two
// scenarios about unusable input produce exactly their problems.
func TestScenarioHeadsLoad(t *testing.T) {
	root := testutil.RepoRoot(t)
	entries, err := os.ReadDir(filepath.Join(root, "testdata", "scenarios"))
	if err != nil {
		t.Fatal(err)
	}
	wantProblems := map[string][]string{
		"broken-yaml":      {"duplicate-key@customer/data-products/customer-profile/contracts/customer-profile.v1.yaml", "yaml-syntax@inventory/data-products/stock-levels/dataproduct.yaml"},
		"missing-contract": {"contract-missing@finance/data-products/revenue/dataproduct.yaml", "contract-path-escapes@inventory/data-products/stock-levels/dataproduct.yaml"},
	}
	seen := 0
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		seen++
		name := e.Name()
		t.Run(name, func(t *testing.T) {
			if _, err := testutil.ReadScenarioSpec(filepath.Join(root, "testdata", "scenarios", name)); err != nil {
				t.Fatal(err)
			}
			_, head := testutil.Scenario(t, name)
			m := load(t, head)
			var got []string
			for _, p := range m.Problems {
				if p.Pos.Line == 0 {
					t.Errorf("problem without a line: %v", p)
				}
				got = append(got, p.Code+"@"+p.Pos.File)
			}
			slices.Sort(got)
			want := wantProblems[name]
			if !slices.Equal(got, want) {
				t.Errorf("problems = %v, want %v", got, want)
			}
		})
	}
	if seen < 8 {
		t.Errorf("found %d scenarios, want at least 8", seen)
	}
}

// TestExampleMeshPassesBundledPolicy: no document of the example mesh is
// denied, so every finding in a scenario comes from the scenario's change.
func TestExampleMeshPassesBundledPolicy(t *testing.T) {
	ctx := context.Background()
	set, err := policyeval.Load(ctx, policy.FS(), policyeval.Options{})
	if err != nil {
		t.Fatalf("bundled policy: %v", err)
	}
	m := load(t, filepath.Join(testutil.RepoRoot(t), "testdata", "mesh"))
	if len(m.Documents) < 12 {
		t.Fatalf("only %d documents read", len(m.Documents))
	}
	for _, name := range slices.Sorted(maps.Keys(m.Documents)) {
		kind := policyeval.KindContract
		if m.Contracts[name] == nil {
			kind = policyeval.KindDescriptor
		}
		results, err := set.Eval(ctx, policyeval.Input{Doc: m.Documents[name], Context: policyeval.Context{Path: name, Kind: kind, Today: "2026-11-21"}})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, r := range results {
			t.Errorf("%s: %s %s: %s", name, r.Severity, r.ID, r.Message)
		}
	}
}
