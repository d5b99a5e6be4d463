package mesh

import (
	"strings"
	"testing"
	"time"
)

// The seed corpora live in testdata/fuzz/<FuzzName>/: seed 004's shapes, the
// official examples, an alias bomb, deep nesting, duplicate keys and the
// hostile testdata. The properties checked hold for any input.

func FuzzParseYAML(f *testing.F) {
	f.Add([]byte("a: {b: [1, 2]}\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		doc, err := ParseYAML("f.yaml", src)
		if err != nil {
			p := asProblem("f.yaml", err)
			if p.Code == "" || p.Pos.File != "f.yaml" {
				t.Fatalf("error without code or file: %#v", err)
			}
			return
		}
		if doc.Index == nil {
			t.Fatal("document without index")
		}
		if m, ok := doc.Value.(map[string]any); ok {
			for k := range m {
				if _, found := doc.Index.Lookup(k); !found {
					t.Fatalf("key %q not indexed", k)
				}
			}
		}
	})
}

func FuzzReadDescriptor(f *testing.F) {
	f.Add([]byte("apiVersion: mesh/v1\nkind: DataProduct\nmetadata: {name: a}\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		p, doc, probs := ReadDescriptor("d/dataproduct.yaml", src)
		checkProblems(t, probs)
		if p == nil {
			return
		}
		if doc == nil {
			t.Fatal("product without document")
		}
		for _, o := range p.OutputPorts {
			if o.ContractPath != "" && (strings.HasPrefix(o.ContractPath, "../") || strings.HasPrefix(o.ContractPath, "/")) {
				t.Fatalf("escaping contract path accepted: %q", o.ContractPath)
			}
		}
		if p.SLA.FreshnessMax < 0 {
			t.Fatal("negative freshness")
		}
	})
}

func FuzzReadContract(f *testing.F) {
	f.Add([]byte("dataContractSpecification: 1.1.0\nid: c\ninfo: {version: 1.0.0}\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		c, _, probs := ReadContract("c.yaml", src)
		checkProblems(t, probs)
		if c == nil {
			return
		}
		for path, fl := range c.Fields() {
			if fl == nil || path == "" {
				t.Fatal("empty field entry")
			}
		}
		if c.ServiceLevels.FreshnessMax < 0 || c.ServiceLevels.FreshnessMax > 1<<62*time.Nanosecond {
			t.Fatalf("freshness %v", c.ServiceLevels.FreshnessMax)
		}
	})
}

func checkProblems(t *testing.T, probs []Problem) {
	t.Helper()
	for _, p := range probs {
		if p.Code == "" || p.Message == "" || p.Pos.Line < 1 || p.Pos.File == "" {
			t.Fatalf("malformed problem %#v", p)
		}
	}
}
