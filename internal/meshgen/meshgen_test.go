package meshgen

import (
	"bytes"
	"context"
	"flag"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/meshbot/meshbot/internal/impact"
	"github.com/meshbot/meshbot/internal/mesh"
	"github.com/meshbot/meshbot/internal/policyeval"
	"github.com/meshbot/meshbot/policy"
)

func TestDeterministic(t *testing.T) {
	opts := Options{Products: 60, Fields: 12, Consumers: true, Change: true, Seed: 7}
	a, b := GenerateFS(opts), GenerateFS(opts)
	if len(a) != len(b) {
		t.Fatalf("two runs wrote %d and %d files", len(a), len(b))
	}
	for name, f := range a {
		if g, ok := b[name]; !ok || !bytes.Equal(f.Data, g.Data) {
			t.Fatalf("%s differs between two runs with the same seed", name)
		}
	}
	other := GenerateFS(Options{Products: 60, Fields: 12, Consumers: true, Change: true, Seed: 8})
	same := 0
	for name, f := range a {
		if g, ok := other[name]; ok && bytes.Equal(f.Data, g.Data) {
			same++
		}
	}
	if same == len(a) {
		t.Error("a different seed produced the same mesh")
	}
}

func TestGenerateWritesWhatGenerateFSHolds(t *testing.T) {
	opts := Options{Products: 15, Fields: 6, Consumers: true, Seed: 3}
	dir := t.TempDir()
	if err := Generate(dir, opts); err != nil {
		t.Fatal(err)
	}
	want := GenerateFS(opts)
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		rel, _ := filepath.Rel(dir, p)
		got, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if f, ok := want[filepath.ToSlash(rel)]; !ok || !bytes.Equal(f.Data, got) {
			t.Errorf("%s on disk differs from GenerateFS", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != len(want) {
		t.Errorf("wrote %d files, GenerateFS has %d", n, len(want))
	}
}

func TestInvalidOptions(t *testing.T) {
	for _, o := range []Options{{Products: 0, Fields: 10}, {Products: 5, Fields: 3}} {
		if err := Generate(t.TempDir(), o); err == nil {
			t.Errorf("Generate(%+v) succeeded", o)
		}
	}
}

var kebab = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)

// TestLoadsCleanAndCounts: every generated file parses and reads without a
// problem, the counts are as asked, consumers name real fields, and the
// documents keep the bundled policy's rules.
func TestLoadsCleanAndCounts(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{"small without consumers", Options{Products: 5, Fields: 4, Seed: 1}},
		{"with consumers", Options{Products: 120, Fields: 20, Consumers: true, Seed: 2}},
		{"head variant", Options{Products: 120, Fields: 20, Consumers: true, Change: true, Seed: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := GenerateFS(tt.opts)
			for name, f := range fsys {
				if _, err := mesh.ParseYAML(name, f.Data); err != nil {
					t.Fatalf("%s does not parse: %v", name, err)
				}
			}
			m, err := mesh.Load(context.Background(), fsys)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range m.Problems {
				t.Errorf("problem: %v (%s)", p, p.Code)
			}
			if len(m.Products) != tt.opts.Products || len(m.Contracts) != tt.opts.Products {
				t.Fatalf("%d products and %d contracts, want %d of each", len(m.Products), len(m.Contracts), tt.opts.Products)
			}
			edges := 0
			for _, p := range m.Products {
				checkPolicyShape(t, p)
				c := p.OutputPorts[0].Contract
				if c == nil || len(c.Models) != 1 {
					t.Fatalf("%s: contract not linked or not one model", p.ID())
				}
				if n := len(c.Models[0].Fields); n < tt.opts.Fields-1 || n > tt.opts.Fields+1 {
					t.Errorf("%s: %d fields, want about %d", p.ID(), n, tt.opts.Fields)
				}
				edges += len(p.InputPorts)
			}
			if tt.opts.Consumers != (edges > 0) {
				t.Errorf("Consumers=%v but %d input ports", tt.opts.Consumers, edges)
			}
			if !tt.opts.Change {
				g := impact.Build(m.Products)
				if u := g.Unresolved(); len(u) > 0 {
					t.Errorf("%d input ports name missing products or ports, first %+v", len(u), u[0])
				}
				for _, p := range m.Products {
					for _, in := range p.InputPorts {
						fields := g.Product(in.Product).OutputPort(in.Port).Contract.Fields()
						for _, f := range in.Fields {
							if _, ok := fields[strings.ReplaceAll(strings.SplitN(in.Product, ".", 2)[1], "-", "_")+"."+f.Name]; !ok {
								t.Errorf("%s reads %s.%s, which the contract lacks", p.ID(), in.Product, f.Name)
							}
						}
					}
				}
			}
		})
	}
}

// checkPolicyShape mirrors the bundled policy's rules on the model.
func checkPolicyShape(t *testing.T, p *mesh.Product) {
	t.Helper()
	if p.Owner == "" || !kebab.MatchString(p.Name) || !kebab.MatchString(p.Domain) || p.SLA.Freshness == "" {
		t.Errorf("%s: owner %q, name, domain or freshness break the policy", p.ID(), p.Owner)
	}
	for _, o := range p.OutputPorts {
		if !kebab.MatchString(o.Name) {
			t.Errorf("%s/%s: port name is not lower-kebab", p.ID(), o.Name)
		}
		if p.Classification.ContainsPII && o.ContractRef == "" {
			t.Errorf("%s/%s: PII product port without contract", p.ID(), o.Name)
		}
		if o.Type == "iceberg" && !strings.HasSuffix(o.Location, "/") {
			t.Errorf("%s/%s: iceberg location %q must end with /", p.ID(), o.Name, o.Location)
		}
		if p.Classification.Residency == "EU" && !strings.Contains(o.Location, "eu-") {
			t.Errorf("%s/%s: EU data at %q", p.ID(), o.Name, o.Location)
		}
	}
	for _, in := range p.InputPorts {
		if !kebab.MatchString(in.Name) {
			t.Errorf("%s#%s: input port name is not lower-kebab", p.ID(), in.Name)
		}
	}
}

func TestChangeVariant(t *testing.T) {
	base := Options{Products: 400, Fields: 12, Consumers: true, Seed: 11}
	head := base
	head.Change = true
	changed, err := Changed(head)
	if err != nil {
		t.Fatal(err)
	}
	if none, _ := Changed(base); len(none) != 0 {
		t.Errorf("the base variant reports %d changes", len(none))
	}
	// About one in ChangeEvery, with every kind represented.
	if n := len(changed); n < base.Products/ChangeEvery/2 || n > base.Products/ChangeEvery*2 {
		t.Errorf("%d of %d products changed, want about %d", n, base.Products, base.Products/ChangeEvery)
	}
	kinds := map[string]int{}
	for _, k := range changed {
		kinds[k]++
	}
	for _, k := range changeKinds {
		if kinds[k] == 0 {
			t.Errorf("no product got change %s", k)
		}
	}
	bfs, hfs := GenerateFS(base), GenerateFS(head)
	if len(bfs) != len(hfs) {
		t.Fatalf("base has %d files, head %d", len(bfs), len(hfs))
	}
	for name, f := range bfs {
		id := idOf(name)
		differs := !bytes.Equal(f.Data, hfs[name].Data)
		_, isChanged := changed[id]
		if differs && !isChanged {
			t.Errorf("%s differs but %s is not reported changed", name, id)
		}
		if isChanged && strings.HasSuffix(name, ".v1.yaml") && !differs {
			t.Errorf("%s (%s) has an unchanged contract", id, changed[id])
		}
	}
}

// idOf maps "<domain>/data-products/<name>/..." to "<domain>.<name>".
func idOf(name string) string {
	parts := strings.Split(name, "/")
	return parts[0] + "." + parts[2]
}

func BenchmarkGenerateFS(b *testing.B) {
	opts := Options{Products: 1000, Fields: 30, Consumers: true, Change: true, Seed: 1}
	b.ReportAllocs()
	for b.Loop() {
		GenerateFS(opts)
	}
}

// TestPassesBundledPolicy: the bundled policy denies nothing in a generated
// mesh, base or head, so benchmarks measure clean documents and conftest and
// meshbot judge the same input.
func TestPassesBundledPolicy(t *testing.T) {
	ctx := context.Background()
	set, err := policyeval.Load(ctx, policy.FS(), policyeval.Options{})
	if err != nil {
		t.Fatalf("bundled policy: %v", err)
	}
	for _, change := range []bool{false, true} {
		fsys := GenerateFS(Options{Products: 40, Fields: 12, Consumers: true, Change: change, Seed: 5})
		for _, name := range slices.Sorted(maps.Keys(fsys)) {
			doc, err := mesh.ParseYAML(name, fsys[name].Data)
			if err != nil {
				t.Fatal(err)
			}
			kind := policyeval.KindContract
			if strings.HasSuffix(name, "/dataproduct.yaml") {
				kind = policyeval.KindDescriptor
			}
			results, err := set.Eval(ctx, policyeval.Input{Doc: doc, Context: policyeval.Context{Path: name, Kind: kind, Today: "2026-11-21"}})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			for _, r := range results {
				if r.Severity == policyeval.SeverityDeny {
					t.Errorf("%s (change=%v): %s: %s", name, change, r.ID, r.Message)
				}
			}
		}
	}
}

var update = flag.Bool("update", false, "rewrite testdata/golden")

// TestGolden pins the generated documents: benchmark numbers are only
// comparable across commits while the mesh they measure stays the same.
func TestGolden(t *testing.T) {
	for _, change := range []bool{false, true} {
		variant := "base"
		if change {
			variant = "head"
		}
		fsys := GenerateFS(Options{Products: 4, Fields: 8, Consumers: true, Change: change, Seed: 42})
		dir := filepath.Join("testdata", "golden", variant)
		if *update {
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
			for name, f := range fsys {
				p := filepath.Join(dir, filepath.FromSlash(name))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, f.Data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			continue
		}
		onDisk := 0
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			onDisk++
			rel, _ := filepath.Rel(dir, p)
			want, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if got, ok := fsys[filepath.ToSlash(rel)]; !ok || !bytes.Equal(got.Data, want) {
				t.Errorf("%s/%s differs from the golden file (go test ./internal/meshgen -update, then review the diff)", variant, rel)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("golden %s: %v (go test ./internal/meshgen -update)", variant, err)
		}
		if onDisk != len(fsys) {
			t.Errorf("%s: %d golden files, %d generated", variant, onDisk, len(fsys))
		}
	}
}
