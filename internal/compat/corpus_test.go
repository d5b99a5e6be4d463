package compat

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/meshbot/meshbot/internal/mesh"
)

const corpusHistory = "../../testdata/corpus/history"

// TestCorpusHistory compares every pair of successive real versions of a
// public document (testdata/corpus/history/<repo>/<file>/NN-<commit>.yaml)
// and checks the findings against a golden file reviewed by hand: what the
// authors changed, read from git log, and what meshbot says about it.
func TestCorpusHistory(t *testing.T) {
	repos, err := os.ReadDir(corpusHistory)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	pairs := 0
	for _, repo := range repos {
		docs, err := os.ReadDir(filepath.Join(corpusHistory, repo.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range docs {
			dir := filepath.Join(corpusHistory, repo.Name(), d.Name())
			versions, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			names := make([]string, 0, len(versions))
			for _, v := range versions {
				names = append(names, v.Name())
			}
			slices.Sort(names)
			for i := 1; i < len(names); i++ {
				pairs++
				bf, hf := repo.Name()+"/"+d.Name()+"/"+names[i-1], repo.Name()+"/"+d.Name()+"/"+names[i]
				fmt.Fprintf(&b, "== %s -> %s\n", bf, names[i])
				for _, c := range comparePair(t, bf, hf) {
					fmt.Fprintf(&b, "%s %s %s", c.Pos, c.Severity, c.Rule)
					if len(c.Fields) > 0 {
						fmt.Fprintf(&b, " fields=%s", strings.Join(c.Fields, ","))
					}
					fmt.Fprintf(&b, "\n    %s\n", c.Message)
				}
			}
		}
	}
	if pairs < 60 {
		t.Fatalf("only %d history pairs", pairs)
	}
	golden := filepath.Join("testdata", "golden", "corpus-history.golden")
	got := b.String()
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("corpus history findings differ from %s (review, then run with -update):\n%s", golden, got)
	}
}

// comparePair reads two versions of one document and compares them. Every
// version must read without error-level problems (TestCorpusLoads in mesh
// checks the same documents one by one).
func comparePair(t *testing.T, base, head string) []Change {
	t.Helper()
	read := func(rel string) (*mesh.Contract, *mesh.Product) {
		src, err := os.ReadFile(filepath.Join(corpusHistory, filepath.FromSlash(rel)))
		if err != nil {
			t.Fatal(err)
		}
		doc, err := mesh.ParseYAML(rel, src)
		if err != nil {
			t.Fatalf("%v", err)
		}
		m, _ := doc.Value.(map[string]any)
		var probs []mesh.Problem
		var c *mesh.Contract
		var p *mesh.Product
		if m["kind"] == "DataProduct" || m["dataProductSpecification"] != nil {
			p, _, probs = mesh.ReadDescriptor(rel, src)
		} else {
			c, _, probs = mesh.ReadContract(rel, src)
		}
		for _, pr := range probs {
			if !pr.Notice {
				t.Errorf("%s: %v", rel, pr)
			}
		}
		return c, p
	}
	bc, bp := read(base)
	hc, hp := read(head)
	switch {
	case bc != nil && hc != nil:
		return Contracts(bc, hc)
	case bp != nil && hp != nil:
		return Products(bp, hp)
	}
	t.Fatalf("%s and %s are not two versions of one kind of document", base, head)
	return nil
}
