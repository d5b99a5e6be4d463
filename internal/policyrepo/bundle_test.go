package policyrepo

import (
	"bytes"
	"context"
	"maps"
	"slices"
	"testing"

	"github.com/meshbot/meshbot/internal/store"
)

func TestLayout(t *testing.T) {
	tests := []struct {
		name  string
		blobs []string
		root  string
		files []string // bundle paths
	}{
		{"policy folder", []string{"README.md", "policy/a.rego", "policy/a_test.rego", "policy/data.yaml", "policy/x/data.json", "policy/x/notes.yaml", "other.rego"},
			"policy/", []string{"a.rego", "a_test.rego", "data.yaml", "x/data.json"}},
		{"root", []string{"README.md", "a.rego", "lib/b.rego", "data.yml", "mkdocs.yml", "renovate.json"},
			"", []string{"a.rego", "data.yml", "lib/b.rego"}},
		{"hidden folders skipped", []string{".github/workflows/x.rego", "a.rego", "lib/.cache/b.rego", ".hidden.rego"},
			"", []string{"a.rego"}},
		{"policy folder wins over root files", []string{"a.rego", "policy/b.rego"}, "policy/", []string{"b.rego"}},
		{"a file named policy is not the folder", []string{"policy", "policy.rego"}, "", []string{"policy.rego"}},
		{"nothing", []string{"README.md"}, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, files := layout(tt.blobs)
			got := slices.Sorted(maps.Keys(files))
			if root != tt.root || !slices.Equal(got, tt.files) {
				t.Fatalf("layout = %q %v, want %q %v", root, got, tt.root, tt.files)
			}
			for rel, rp := range files {
				if rp != root+rel {
					t.Errorf("%s comes from %s, want %s", rel, rp, root+rel)
				}
			}
		})
	}
}

func TestBundleRoundTrip(t *testing.T) {
	b := &Bundle{Repo: polRepo, Commit: "abc", Root: "policy/", Files: map[string][]byte{"a.rego": []byte("package a\n"), "x/data.json": []byte(`{"k":1}`)}}
	enc, err := b.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeBundle(enc)
	if err != nil {
		t.Fatal(err)
	}
	if got.Repo != b.Repo || got.Commit != b.Commit || got.Root != b.Root || len(got.Files) != 2 || !bytes.Equal(got.Files["x/data.json"], b.Files["x/data.json"]) {
		t.Fatalf("round trip gave %+v", got)
	}
	if _, err := DecodeBundle([]byte("not gzip")); err == nil {
		t.Error("DecodeBundle accepted garbage")
	}
}

// FuzzDecodeBundle: whatever the store holds, decoding never panics, and
// what decodes can be laid out as a folder or is refused.
func FuzzDecodeBundle(f *testing.F) {
	b := &Bundle{Repo: polRepo, Commit: "abc", Files: map[string][]byte{"a.rego": []byte("package a\n")}}
	enc, _ := b.Encode()
	f.Add(enc)
	f.Add([]byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, src []byte) {
		got, err := DecodeBundle(src)
		if err != nil {
			return
		}
		_, _ = got.FS()
	})
}

// FuzzLayout: any tree listing gives bundle paths that are the blobs'
// paths below the root, and only Rego and data files.
func FuzzLayout(f *testing.F) {
	f.Add("policy/a.rego\npolicy/data.yaml\nREADME.md")
	f.Add("a.rego\n.github/x.rego\nlib/data.json")
	f.Fuzz(func(t *testing.T, listing string) {
		blobs := bytes.Split([]byte(listing), []byte("\n"))
		var paths []string
		for _, p := range blobs {
			paths = append(paths, string(p))
		}
		root, files := layout(paths)
		for rel, rp := range files {
			if rp != root+rel || !bundled(rel) {
				t.Fatalf("layout gave %q from %q under root %q", rel, rp, root)
			}
		}
	})
}

// TestInstallOnlyForward: a replica never switches back to an older
// record, whatever order loads finish in.
func TestInstallOnlyForward(t *testing.T) {
	e := newEnv(t, store.NewMemory(store.Options{}))
	a, folder := e.replica()
	if !a.install(store.PolicyRecord{Repo: polRepo, Commit: "c2", Seq: 2}, folder, "followed") {
		t.Fatal("seq 2 not installed over the folder's policy")
	}
	if a.install(store.PolicyRecord{Repo: polRepo, Commit: "c1", Seq: 1}, folder, "followed") {
		t.Fatal("an older record replaced a newer one")
	}
	if c := a.Policy().Load().Origin().Commit; c != "c2" {
		t.Fatalf("judges with %s, want c2", c)
	}
	if err := a.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
}
