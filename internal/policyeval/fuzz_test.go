package policyeval

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/meshbot/meshbot/internal/mesh"
)

// FuzzLoad feeds arbitrary policy source (the guild's repository is outside
// input) to Load: it compiles or returns a CompileError, never panics, and a
// Set that loads evaluates without panicking, with the same results from
// irvm and from topdown.
func FuzzLoad(f *testing.F) {
	f.Add("package a\ndeny contains \"x\" if input.kind == \"DataProduct\"\n")
	f.Add("package a\ndeny contains msg if {\n\tnot input.spec.outputPorts[_].contract\n\tmsg := \"m\"\n}\n")
	f.Add("package a\nexception contains r if { r := [\"x\"] }\ndeny_x := {\"msg\": \"m\", \"_loc\": {\"line\": 2}} if true\n")
	f.Add("package a\nimport data.b\nwarn if http.send({})\n")
	f.Add("package a\nwarn contains x if { some x in input.spec.outputPorts; x.type == \"iceberg\" }\n")
	f.Add("package a\nn := count([p | some p in input.spec.outputPorts])\ndeny contains sprintf(\"%d\", [n]) if n > 1\n")
	f.Add("package a\ndefault v := 1\nv := 2 if input.kind\ndeny contains v if true\nexception contains [\"\"] if v == 2\n")
	f.Fuzz(func(t *testing.T, src string) {
		s, err := Load(context.Background(), fstest.MapFS{"p.rego": &fstest.MapFile{Data: []byte(src)}}, Options{})
		if err != nil {
			var ce *CompileError
			if errors.As(err, &ce) {
				for _, p := range ce.Errors {
					if p.Message == "" {
						t.Fatalf("problem without message: %+v", p)
					}
				}
			}
			return
		}
		doc, err := mesh.ParseYAML("dp.yaml", []byte(sampleDoc))
		if err != nil {
			t.Fatal(err)
		}
		s.timeout = 200_000_000 // 200ms: fuzzed policies may loop
		got, gerr := s.Eval(context.Background(), Input{Doc: doc})
		td, err := Load(context.Background(), fstest.MapFS{"p.rego": &fstest.MapFile{Data: []byte(src)}}, Options{Topdown: true})
		if err != nil {
			t.Fatalf("loads for irvm, not for topdown: %v", err)
		}
		td.timeout = s.timeout
		want, werr := td.Eval(context.Background(), Input{Doc: doc})
		if errors.Is(gerr, context.DeadlineExceeded) || errors.Is(werr, context.DeadlineExceeded) {
			return // one engine ran out of time: nothing to compare
		}
		if (gerr != nil) != (werr != nil) || !reflect.DeepEqual(got, want) {
			t.Fatalf("irvm %+v (%v)\ntopdown %+v (%v)", got, gerr, want, werr)
		}
	})
}

// FuzzEvalBundled feeds arbitrary YAML documents (a PR's files) through the
// bundled policy: no error, no panic, every finding pointing into the
// document.
func FuzzEvalBundled(f *testing.F) {
	f.Add(sampleDoc)
	f.Add("kind: DataProduct\nspec:\n  outputPorts: [1, {name: 2}, [x]]\n")
	f.Add("kind: DataProduct\nmetadata: {name: 1, domain: [x]}\nspec: {lifecycle: {a: b}, deprecation: 3}\n")
	s := loadBundled(f)
	f.Fuzz(func(t *testing.T, src string) {
		doc, err := mesh.ParseYAML("dp.yaml", []byte(src))
		if err != nil {
			return
		}
		res, err := s.Eval(context.Background(), Input{Doc: doc, Context: Context{Kind: "descriptor", Today: "2027-01-01", Base: doc.Value}})
		if err != nil {
			t.Fatalf("eval: %v", err)
		}
		for _, r := range res {
			if r.Pos.File != "dp.yaml" || r.Message == "" || strings.HasPrefix(r.ID, "meshbot__") {
				t.Fatalf("finding %+v", r)
			}
		}
	})
}
