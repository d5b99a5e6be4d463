package yamledit

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshbot/meshbot/internal/mesh"
)

// corpusFile is one real document with the targets it offers.
type corpusFile struct {
	path    string
	src     []byte
	format  mesh.Format
	targets []Target
}

// corpus reads every descriptor and contract of the repository's public
// corpus (testdata/corpus, sources in SOURCES.tsv) and of the example
// mesh (testdata/mesh) that meshbot reads as one of its formats.
func corpus(t testing.TB) []corpusFile {
	t.Helper()
	var out []corpusFile
	for _, root := range []string{"../../testdata/corpus", "../../testdata/mesh"} {
		err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() || !(strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
				return err
			}
			src, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if pr, _, _ := mesh.ReadDescriptor(p, src); pr != nil && pr.Format != "" {
				f := corpusFile{path: p, src: src, format: pr.Format, targets: []Target{{Product: pr.ID()}}}
				seen := map[string]bool{}
				for _, o := range pr.OutputPorts {
					if o.Name != "" && !seen[o.Name] {
						seen[o.Name] = true
						f.targets = append(f.targets, Target{Product: pr.ID(), Port: o.Name})
					}
				}
				out = append(out, f)
				return nil
			}
			if c, _, _ := mesh.ReadContract(p, src); c != nil && c.Format != "" {
				out = append(out, corpusFile{path: p, src: src, format: c.Format, targets: []Target{{Product: "any.product", Port: "port"}}})
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(out) < 50 {
		t.Fatalf("only %d corpus documents found", len(out))
	}
	return out
}

// TestCorpus deprecates and undeprecates every product, port and contract
// of the real corpus: each edit succeeds, changes only deprecation lines,
// is read back by internal/mesh as intended, and is idempotent.
func TestCorpus(t *testing.T) {
	counts := map[mesh.Format]int{}
	for _, f := range corpus(t) {
		for _, tg := range f.targets {
			out, notes, err := Deprecate(f.src, f.format, tg, terms)
			if err != nil {
				t.Errorf("%s %s: %v", f.path, tg, err)
				continue
			}
			counts[f.format]++
			onlyDeprecationLines(t, f.src, out)
			if bytes.Equal(out, f.src) {
				if len(notes) == 0 {
					t.Errorf("%s %s: nothing written and no note says why", f.path, tg)
				}
				continue
			}
			assertDeprecated(t, out, f.format, tg, terms)
			again, _, err := Deprecate(out, f.format, tg, terms)
			if err != nil || !bytes.Equal(again, out) {
				t.Errorf("%s %s: not idempotent (err %v)", f.path, tg, err)
			}
			changed := Deprecation{Sunset: "2028-01-01", Reason: "changed: terms"}
			upd, _, err := Deprecate(out, f.format, tg, changed)
			if err != nil {
				t.Errorf("%s %s: update: %v", f.path, tg, err)
				continue
			}
			assertDeprecated(t, upd, f.format, tg, changed)
			undone, _, err := Undeprecate(upd, f.format, tg)
			if err != nil {
				t.Errorf("%s %s: undeprecate: %v", f.path, tg, err)
				continue
			}
			assertNotDeprecated(t, undone, f.format, tg)
			onlyDeprecationLines(t, f.src, undone)
		}
	}
	t.Logf("edits per format: %v", counts)
}
