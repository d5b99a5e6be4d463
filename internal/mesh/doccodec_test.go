package mesh

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/meshbot/meshbot/internal/testutil"
)

// corpus is every YAML and JSON file under the repository's testdata and
// this package's, by slash path.
func corpus(t *testing.T) map[string][]byte {
	t.Helper()
	root := testutil.RepoRoot(t)
	out := map[string][]byte{}
	for _, dir := range []string{"testdata", filepath.Join("internal", "mesh", "testdata")} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			switch strings.ToLower(filepath.Ext(p)) {
			case ".yaml", ".yml", ".json":
			default:
				return nil
			}
			b, err := os.ReadFile(p)
			rel, _ := filepath.Rel(root, p)
			out[filepath.ToSlash(rel)] = b
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// What the corpus may lack: anchors, aliases, merge keys, every scalar type.
	out["inline/anchors.yaml"] = []byte(`base: &b {x: 1, y: [a, b], z: null}
merged:
  <<: *b
  y: [c]
  w: 2.5
again: *b
list: [*b, true, false, -7, 1e3, "quoted", 2026-12-01, .inf]
empty: {}
none: []
`)
	out["inline/scalar.yaml"] = []byte("just a string\n")
	out["inline/empty-doc.yaml"] = []byte("---\n")
	return out
}

// TestDocumentRoundTrip: every document of the corpus that parses comes
// back from its binary form equal to what ParseYAML made, value and index
// alike, and encodes again to the same bytes.
func TestDocumentRoundTrip(t *testing.T) {
	parsed := 0
	for p, src := range corpus(t) {
		doc, err := ParseYAML(p, src)
		if err != nil {
			continue
		}
		parsed++
		b, err := EncodeDocument(doc)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		back, err := DecodeDocument(p, b)
		if err != nil {
			t.Errorf("%s: decode: %v", p, err)
			continue
		}
		if !reflect.DeepEqual(back, doc) {
			t.Errorf("%s: the decoded document differs from the parsed one", p)
		}
		if again, err := EncodeDocument(back); err != nil || !bytes.Equal(again, b) {
			t.Errorf("%s: re-encoding differs (%v)", p, err)
		}
	}
	if parsed < 100 {
		t.Fatalf("only %d documents of the corpus parse; the corpus moved", parsed)
	}
}

// TestLoadStoredMatchesLoad: a checkout whose documents were replaced by
// their binary form (EncodeFiles) loads into the same Mesh as the original,
// broken files and their problems included.
func TestLoadStoredMatchesLoad(t *testing.T) {
	ctx := context.Background()
	for name, files := range map[string]map[string][]byte{
		"example":   testutil.ReadTree(t, filepath.Join(testutil.RepoRoot(t), "testdata", "mesh")),
		"generated": mapFiles(meshFS(40)),
		"broken": {
			"a/dataproduct.yaml":    []byte("apiVersion: mesh/v1\nkind: DataProduct\nmetadata: {name: [unclosed\n"),
			"b/dataproduct.yaml":    []byte("apiVersion: mesh/v1\nkind: DataProduct\nmetadata: {name: b, domain: x, owner: team-x}\nspec:\n  outputPorts:\n    - {name: p, type: iceberg, contract: ./missing.yaml}\n"),
			"c/x.datacontract.yaml": []byte("- a list\n- not a contract\n"),
		},
	} {
		t.Run(name, func(t *testing.T) {
			want, err := Load(ctx, fstest.MapFS(toMapFS(files)))
			if err != nil {
				t.Fatal(err)
			}
			enc := EncodeFiles(want, files)
			encoded := 0
			for p := range enc {
				if IsEncodedDocument(enc[p]) {
					encoded++
				}
			}
			if encoded != len(want.Documents) {
				t.Errorf("%d of %d documents encoded", encoded, len(want.Documents))
			}
			got, err := LoadStored(ctx, fstest.MapFS(toMapFS(enc)))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("LoadStored differs from Load: %d/%d products, %d/%d documents, problems %v / %v",
					len(got.Products), len(want.Products), len(got.Documents), len(want.Documents), got.Problems, want.Problems)
			}
		})
	}
}

// TestLoadStoredRefusesOtherVersions: a document stored by another
// version of the form is a problem on its file, never parsed as YAML.
func TestLoadStoredRefusesOtherVersions(t *testing.T) {
	doc, err := ParseYAML("c/datacontract.yaml", []byte("dataContractSpecification: 1.1.0\nid: x\n"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := EncodeDocument(doc)
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.Replace(b, []byte(docMagic), []byte(docMagicPrefix+"0\n"), 1)
	m, err := LoadStored(context.Background(), fstest.MapFS{"c/datacontract.yaml": {Data: b}})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Problems) != 1 || !strings.Contains(m.Problems[0].Message, "another meshbot version") {
		t.Fatalf("problems %v, want one naming the other version", m.Problems)
	}
}

func mapFiles(m fstest.MapFS) map[string][]byte {
	out := map[string][]byte{}
	for p, f := range m {
		out[p] = f.Data
	}
	return out
}

func toMapFS(files map[string][]byte) map[string]*fstest.MapFile {
	out := map[string]*fstest.MapFile{}
	for p, b := range files {
		out[p] = &fstest.MapFile{Data: b}
	}
	return out
}

// FuzzDecodeDocument: whatever bytes the registry hands back, decoding
// fails cleanly or gives a document that survives another round trip.
func FuzzDecodeDocument(f *testing.F) {
	for _, src := range []string{"a: 1\nb: [x, {c: true}]\n", "<<: {x: 1}\ny: 2.5\n", "s\n"} {
		doc, err := ParseYAML("f.yaml", []byte(src))
		if err != nil {
			f.Fatal(err)
		}
		b, err := EncodeDocument(doc)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		doc, err := DecodeDocument("f.yaml", b)
		if err != nil {
			return
		}
		again, err := EncodeDocument(doc)
		if err != nil {
			t.Fatalf("a decoded document does not encode: %v", err)
		}
		back, err := DecodeDocument("f.yaml", again)
		if err != nil || !reflect.DeepEqual(back, doc) {
			t.Fatalf("decode → encode → decode changed the document (%v)", err)
		}
	})
}
