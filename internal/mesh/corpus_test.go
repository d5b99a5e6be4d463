package mesh

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// corpusDir holds real public documents and their histories (see
// testdata/corpus/SOURCES.tsv for where each comes from).
const corpusDir = "../../testdata/corpus"

// corpusFiles lists the corpus' YAML documents, slash paths under corpusDir.
func corpusFiles(t testing.TB) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(corpusDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			rel, _ := filepath.Rel(corpusDir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 200 {
		t.Fatalf("corpus holds only %d documents", len(out))
	}
	return out
}

// isDescriptorDoc tells a product descriptor from a contract by content,
// as the corpus keeps each file under its upstream name.
func isDescriptorDoc(v any) bool {
	m, _ := v.(map[string]any)
	return m["kind"] == "DataProduct" || m["dataProductSpecification"] != nil
}

// corpusInvalid are corpus documents their own official schema rejects:
// meshbot must report them, with the code given.
var corpusInvalid = map[string]string{
	// DCS 1.2.1 types primaryKey as a boolean; the fixture writes 1.
	"docs/datacontract-cli/tests__fixtures__clickhouse__datacontract.yaml": CodeWrongType,
}

// TestCorpusLoads: every real public document, and every version in its
// history, reads with no error-level problem. A notice (a newer version
// read with the closest known one) is allowed.
func TestCorpusLoads(t *testing.T) {
	files := corpusFiles(t)
	errs := 0
	for _, rel := range files {
		src, err := os.ReadFile(filepath.Join(corpusDir, rel))
		if err != nil {
			t.Fatal(err)
		}
		doc, err := ParseYAML(rel, src)
		if err != nil {
			t.Errorf("%v", err)
			errs++
			continue
		}
		var probs []Problem
		if isDescriptorDoc(doc.Value) {
			_, _, probs = ReadDescriptor(rel, src)
		} else {
			_, _, probs = ReadContract(rel, src)
		}
		if code, invalid := corpusInvalid[rel]; invalid {
			if len(probs) == 0 || probs[0].Code != code {
				t.Errorf("%s is invalid upstream; want a %s problem, got %v", rel, code, probs)
			}
			continue
		}
		for _, p := range probs {
			if !p.Notice {
				t.Errorf("%s [%s]", p, p.Code)
				errs++
			}
		}
	}
	t.Logf("%d documents, %d error-level problems", len(files), errs)
}
