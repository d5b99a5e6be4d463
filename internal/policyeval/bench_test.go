package policyeval

import (
	"context"
	"os"
	"slices"
	"testing"
	"testing/fstest"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"

	"github.com/meshbot/meshbot/internal/mesh"
	"github.com/meshbot/meshbot/internal/meshgen"
	"github.com/meshbot/meshbot/internal/testutil"
	"github.com/meshbot/meshbot/policy"
)

// loadBench loads the bundled policy with a generous bound: benchmarks
// measure speed, and a loaded shared machine must not trip Options.Timeout.
func loadBench(b *testing.B) *Set {
	s, err := Load(context.Background(), policy.FS(), Options{Timeout: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func benchInput(b testing.TB) Input {
	doc := readDoc(b, "testdata/seed004/dataproduct.yaml")
	src, err := os.ReadFile("testdata/seed004/dataproduct.yaml")
	if err != nil {
		b.Fatal(err)
	}
	// The bundled rules judge the normalised model: without it they would
	// have nothing to evaluate.
	return Input{Doc: doc, Context: Context{
		Path: doc.Path, Kind: "descriptor", Today: "2027-01-15", Product: productOf(b, doc.Path, string(src)),
		Consumers: []Consumer{{Product: "sales.forecast", Owner: "team-sales", InputPort: "orders", Port: "iceberg-curated", Fields: []string{"order_id"}}},
	}}
}

// BenchmarkEval is meshbot's path: one planned query for every rule body of
// the bundled policy, run by irvm, with the context mounted.
func BenchmarkEval(b *testing.B) {
	benchEval(b, loadBench(b))
}

// BenchmarkEvalTopdown is the same query through OPA's topdown, the
// engine Eval used before irvm and still uses for plans irvm refuses.
func BenchmarkEvalTopdown(b *testing.B) {
	s, err := Load(context.Background(), policy.FS(), Options{Timeout: time.Minute, Topdown: true})
	if err != nil {
		b.Fatal(err)
	}
	benchEval(b, s)
}

func benchEval(b *testing.B, s *Set) {
	in := benchInput(b)
	ctx := context.Background()
	b.ReportAllocs()
	start := testutil.CPUTime()
	for b.Loop() {
		if _, err := s.Eval(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(testutil.CPUTime()-start)/float64(b.N), "cpu-ns/op")
}

// BenchmarkEvalParallel shows evaluations do not serialise.
func BenchmarkEvalParallel(b *testing.B) {
	s := loadBench(b)
	in := benchInput(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Eval(context.Background(), in); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkEvalConftestPerRule is conftest's pattern for comparison: one
// query per package and rule name (data.<pkg>.<rule>), input the document,
// no context and no per-body attribution.
func BenchmarkEvalConftestPerRule(b *testing.B) {
	pf, err := readPolicy(policy.FS())
	if err != nil {
		b.Fatal(err)
	}
	compiler, err := compile(pf.modules, false)
	if err != nil {
		b.Fatal(err)
	}
	store := inmem.NewFromObjectWithOpts(pf.data, inmem.OptRoundTripOnWrite(false))
	seen := map[string]bool{}
	var queries []rego.PreparedEvalQuery
	for path, m := range pf.modules {
		if isTestFile(path) {
			continue
		}
		for _, r := range m.Rules {
			name := ruleName(r)
			if severityOf(name) == "" {
				continue
			}
			ref := m.Package.Path.Append(ast.StringTerm(name)).String()
			if seen[ref] {
				continue
			}
			seen[ref] = true
			pq, err := rego.New(rego.Query(ref), rego.Compiler(compiler), rego.Store(store)).PrepareForEval(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			queries = append(queries, pq)
		}
	}
	in := benchInput(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ReportMetric(float64(len(queries)), "queries")
	for b.Loop() {
		v, err := toAST(in.Doc.Value)
		if err != nil {
			b.Fatal(err)
		}
		for _, q := range queries {
			if _, err := q.Eval(ctx, rego.EvalParsedInput(v)); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkToAST(b *testing.B) {
	in := benchInput(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := toAST(in.Doc.Value); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoadBundled(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load(context.Background(), policy.FS(), Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// seedPolicy is seed 004's residency.rego and its dataproduct.rego as
// meshbot's fix leaves it.
func seedPolicy(t testing.TB) fstest.MapFS {
	fsys := fstest.MapFS{}
	for _, p := range []string{"residency/residency.rego", "fixed/dataproduct.rego"} {
		src, err := os.ReadFile("testdata/seed004/" + p)
		if err != nil {
			t.Fatal(err)
		}
		fsys[p] = &fstest.MapFile{Data: src}
	}
	return fsys
}

// BenchmarkEvalSeed004 is the like-for-like figure against conftest and the
// issue's reference: seed 004's own policies (residency.rego and the fixed
// dataproduct.rego, four rule bodies) on seed 004's descriptor, through
// meshbot's Eval, planned (irvm) and through topdown.
func BenchmarkEvalSeed004(b *testing.B) {
	for _, engine := range []struct {
		name    string
		topdown bool
	}{{"irvm", false}, {"topdown", true}} {
		b.Run(engine.name, func(b *testing.B) {
			s, err := Load(context.Background(), seedPolicy(b), Options{Timeout: time.Minute, Topdown: engine.topdown})
			if err != nil {
				b.Fatal(err)
			}
			in := benchInput(b)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Eval(ctx, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEvalPerDocument is the measure: the bundled policy on
// every document of the generated 1,000-product mesh (1,000 descriptors,
// 1,000 contracts of 30 fields), each evaluation timed on its own, with the
// context a check gives it. It reports the median and p90 per document,
// overall and per kind.
func BenchmarkEvalPerDocument(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	if err := meshgen.Generate(dir, meshgen.Options{Products: 1000, Fields: 30, Consumers: true, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	m, err := mesh.Load(ctx, os.DirFS(dir))
	if err != nil {
		b.Fatal(err)
	}
	descriptors := map[string]bool{}
	for _, p := range m.Products {
		descriptors[p.File] = true
	}
	type job struct {
		in   Input
		kind Kind
	}
	var jobs []job
	for path, doc := range m.Documents {
		kind := KindContract
		if descriptors[path] {
			kind = KindDescriptor
		}
		jobs = append(jobs, job{Input{Doc: doc, Context: Context{Path: path, Kind: kind, Today: "2026-11-21", Base: doc.Value}}, kind})
	}
	if len(jobs) < 2000 {
		b.Fatalf("%d documents, want 2,000", len(jobs))
	}
	s := loadBench(b)
	times := map[string][]time.Duration{}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, j := range jobs {
			start := time.Now()
			if _, err := s.Eval(ctx, j.in); err != nil {
				b.Fatal(err)
			}
			d := time.Since(start)
			times[string(j.kind)] = append(times[string(j.kind)], d)
			times["all"] = append(times["all"], d)
		}
	}
	b.StopTimer()
	for kind, ds := range times {
		slices.Sort(ds)
		b.ReportMetric(float64(ds[len(ds)/2].Nanoseconds())/1e3, "µs-p50-"+kind)
		b.ReportMetric(float64(ds[len(ds)*9/10].Nanoseconds())/1e3, "µs-p90-"+kind)
	}
}
