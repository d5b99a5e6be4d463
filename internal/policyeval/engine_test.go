package policyeval

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/meshbot/meshbot/internal/mesh"
	"github.com/meshbot/meshbot/internal/testutil"
	"github.com/meshbot/meshbot/policy"
)

// enginePair is one policy folder loaded twice: planned (irvm) and topdown.
type enginePair struct {
	name         string
	plan, topdwn *Set
}

func loadPair(t testing.TB, name string, fsys fs.FS) enginePair {
	t.Helper()
	plan, err := Load(context.Background(), fsys, Options{Timeout: testTimeout})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if plan.Engine() != "irvm" {
		t.Fatalf("%s: evaluates with %s; the planned query should run", name, plan.Engine())
	}
	td, err := Load(context.Background(), fsys, Options{Topdown: true, Timeout: testTimeout})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if td.Engine() != "topdown" {
		t.Fatalf("%s: Options.Topdown ignored", name)
	}
	return enginePair{name: name, plan: plan, topdwn: td}
}

// inlinePolicies exercise what the bundled policy does not: complete deny
// rules, message objects with _loc and metadata, exceptions, warn, context.
const inlinePolicy = `package inline
import rego.v1

deny_owner := {"msg": "owner missing", "_loc": {"line": 1}} if not input.metadata.owner
warn_name contains sprintf("name %v is long", [input.metadata.name]) if count(input.metadata.name) > 12
violation contains {"msg": "no ports", "severity": "high"} if count(object.get(input, ["spec", "outputPorts"], [])) == 0
deny contains sprintf("changed %d things", [count(data.meshbot.context.changes)]) if count(data.meshbot.context.changes) > 0
deny contains "consumed" if {
	some c in data.meshbot.context.consumers
	c.owner != ""
}
exception contains rules if { input.metadata.name == "legacy"; rules := ["owner"] }
`

func policyPairs(t testing.TB) []enginePair {
	return []enginePair{
		loadPair(t, "bundled", policy.FS()),
		loadPair(t, "seed004", seedPolicy(t)),
		loadPair(t, "failing", os.DirFS("testdata/failing")),
		loadPair(t, "inline", fstest.MapFS{"inline.rego": &fstest.MapFile{Data: []byte(inlinePolicy)}}),
	}
}

// corpus is every YAML document the tests have: the example mesh, the
// scenario overlays, this package's fixtures and, where ../shared is
// present, the official examples and schemas of every standard and
// datacontract-cli's fixtures.
func corpus(t *testing.T) []*mesh.Document {
	root := testutil.RepoRoot(t)
	dirs := []string{
		filepath.Join(root, "testdata", "mesh"),
		filepath.Join(root, "testdata", "scenarios"),
		"testdata",
		testutil.Shared(t, "external/schemas"),
		testutil.Shared(t, "external/datacontract-cli"),
	}
	var docs []*mesh.Document
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			if ext := filepath.Ext(p); ext != ".yaml" && ext != ".yml" && ext != ".json" {
				return nil
			}
			src, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			doc, err := mesh.ParseYAML(p, src)
			if err != nil {
				return nil // broken on purpose: the engines never see it
			}
			docs = append(docs, doc)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(docs) < 80 {
		t.Fatalf("only %d documents found, want 80 or more", len(docs))
	}
	return docs
}

// The planned query must judge exactly as OPA's topdown does: same findings,
// same messages, same locations, same errors, on every document we have.
func TestEnginesAgree(t *testing.T) {
	pairs := policyPairs(t)
	docs := corpus(t)
	contexts := func(doc *mesh.Document) []Context {
		return []Context{
			{Path: doc.Path, Kind: "descriptor", Today: "2027-01-15"},
			{Path: doc.Path, Kind: "contract", Today: "2030-01-01", Base: doc.Value,
				Changes:   []Change{{Rule: "field-removed", Severity: "breaking"}},
				Consumers: []Consumer{{Product: "sales.forecast", Owner: "team-sales", Fields: []string{"order_id"}}}},
		}
	}
	compared, findings := 0, 0
	for _, p := range pairs {
		for _, doc := range docs {
			for _, c := range contexts(doc) {
				in := Input{Doc: doc, Context: c}
				want, werr := p.topdwn.Eval(context.Background(), in)
				got, gerr := p.plan.Eval(context.Background(), in)
				if (werr != nil) != (gerr != nil) {
					t.Fatalf("%s on %s: topdown error %v, planned error %v", p.name, doc.Path, werr, gerr)
				}
				if !reflect.DeepEqual(want, got) {
					t.Fatalf("%s on %s (%s):\ntopdown %+v\nplanned %+v", p.name, doc.Path, c.Kind, want, got)
				}
				compared++
				findings += len(want)
			}
		}
	}
	if findings == 0 {
		t.Fatal("no evaluation produced a finding: the comparison shows nothing")
	}
	t.Logf("%d evaluations compared, %d findings, identical", compared, findings)
}

// FuzzEnginesAgree compares the engines on arbitrary YAML under the bundled
// and the inline policy.
func FuzzEnginesAgree(f *testing.F) {
	f.Add(sampleDoc)
	f.Add("kind: DataProduct\nspec:\n  outputPorts: [1, {name: 2}, [x]]\n")
	f.Add("kind: DataProduct\nmetadata: {name: legacy, domain: [x]}\nspec: {lifecycle: {a: b}, deprecation: 3}\n")
	f.Add("dataContractSpecification: 1.1.0\nmodels: {a: {fields: {b: {type: int, required: true}}}}\n")
	pairs := policyPairs(f)
	pairs = []enginePair{pairs[0], pairs[3]}
	f.Fuzz(func(t *testing.T, src string) {
		doc, err := mesh.ParseYAML("dp.yaml", []byte(src))
		if err != nil {
			return
		}
		in := Input{Doc: doc, Context: Context{Kind: "descriptor", Today: "2027-01-01", Base: doc.Value}}
		for _, p := range pairs {
			want, werr := p.topdwn.Eval(context.Background(), in)
			got, gerr := p.plan.Eval(context.Background(), in)
			if (werr != nil) != (gerr != nil) || !reflect.DeepEqual(want, got) {
				t.Fatalf("%s: topdown %+v (%v)\nplanned %+v (%v)", p.name, want, werr, got, gerr)
			}
			if werr != nil && !strings.Contains(werr.Error(), "conflict") {
				t.Fatalf("%s: %v", p.name, werr)
			}
		}
	})
}

// walk, the one relation built-in (many outputs per call), runs in irvm
// and agrees with topdown.
func TestEngineWalk(t *testing.T) {
	src := `package walked
import rego.v1
deny contains sprintf("empty string at %v", [concat(".", path)]) if {
	walk(input, [path, value])
	value == ""
}
`
	p := loadPair(t, "walk", fstest.MapFS{"w.rego": &fstest.MapFile{Data: []byte(src)}})
	doc := parseDoc(t, "dp.yaml", "kind: DataProduct\nmetadata:\n  name: \"\"\nspec:\n  outputPorts: [{name: \"\"}, {name: a}]\n")
	want := evalDoc(t, p.topdwn, doc, Context{})
	got := evalDoc(t, p.plan, doc, Context{})
	// The port's empty name has a number in its path, which concat refuses:
	// undefined in both engines.
	if len(got) != 1 || got[0].Message != "empty string at metadata.name" || !reflect.DeepEqual(got, want) {
		t.Fatalf("irvm %+v\ntopdown %+v", got, want)
	}
}

// One Set serves every worker of a check at once: concurrent evaluations
// must give what sequential ones give, on either engine (run with -race
// too).
func TestEvalConcurrent(t *testing.T) {
	pair := loadPair(t, "bundled", policy.FS())
	docs := corpus(t)
	for _, s := range []*Set{pair.plan, pair.topdwn} {
		t.Run(s.Engine(), func(t *testing.T) { evalConcurrently(t, s, docs) })
	}
}

func evalConcurrently(t *testing.T, s *Set, docs []*mesh.Document) {
	want := make([][]Result, len(docs))
	for i, doc := range docs {
		want[i] = evalDoc(t, s, doc, Context{Kind: "descriptor", Today: "2027-01-15", Base: doc.Value})
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range docs {
				i := (j + w*7) % len(docs)
				got, err := s.Eval(context.Background(), Input{Doc: docs[i], Context: Context{Path: docs[i].Path, Kind: "descriptor", Today: "2027-01-15", Base: docs[i].Value}})
				if err != nil || !reflect.DeepEqual(got, want[i]) {
					errs <- fmt.Sprintf("%s: %v\n got %+v\nwant %+v", docs[i].Path, err, got, want[i])
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
