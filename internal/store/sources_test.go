package store

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/meshbot/meshbot/internal/mesh"
	"github.com/meshbot/meshbot/internal/testutil"
)

// exampleSources are the files of the example mesh that ps were read from:
// their descriptors and the contracts their ports name.
func exampleSources(t testing.TB, ps []*mesh.Product) *Sources {
	t.Helper()
	root := filepath.Join(testutil.RepoRoot(t), "testdata", "mesh")
	src := &Sources{SHA: "0123456789abcdef0123456789abcdef01234567", Files: map[string][]byte{}}
	add := func(p string) {
		b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(p)))
		if err != nil {
			t.Fatal(err)
		}
		src.Files[p] = b
	}
	for _, p := range ps {
		add(p.File)
		for _, o := range p.OutputPorts {
			if o.ContractPath != "" {
				add(o.ContractPath)
			}
		}
	}
	return src
}

// TestSourcesRoundTrip: a record keeps the documents byte for byte beside
// the products, and a reader of products steps over them.
func TestSourcesRoundTrip(t *testing.T) {
	m := exampleMesh(t)
	src := exampleSources(t, m.Products)
	rec, err := encodeRecord(m.Products, src)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := decodeProducts(rec)
	if err != nil {
		t.Fatalf("decodeProducts of a record with sources: %v", err)
	}
	if plain, _ := encodeProducts(m.Products); !reflect.DeepEqual(ps, mustDecode(t, plain)) {
		t.Fatal("the products of a record with sources differ from those of one without")
	}
	rs := recordSources("octo/mesh", rec)
	if rs.Unreadable != nil {
		t.Fatal(rs.Unreadable)
	}
	files, err := rs.Files()
	if err != nil {
		t.Fatal(err)
	}
	if rs.SHA != src.SHA || !reflect.DeepEqual(files, src.Files) {
		t.Fatalf("sources came back as %s %v, want %s %v", rs.SHA, slices.Sorted(maps.Keys(files)), src.SHA, slices.Sorted(maps.Keys(src.Files)))
	}
	raw := 0
	for _, b := range src.Files {
		raw += len(b)
	}
	if rs.Bytes != raw || rs.Count != len(src.Files) || !slices.Equal(rs.Paths(), slices.Sorted(maps.Keys(src.Files))) {
		t.Errorf("Bytes %d Count %d Paths %v, want %d %d", rs.Bytes, rs.Count, rs.Paths(), raw, len(src.Files))
	}
	// Compressed, the documents take well under what they take as written.
	if rs.Stored <= 0 || rs.Stored*2 > raw {
		t.Errorf("Stored = %d bytes for %d bytes as written: not compressed", rs.Stored, raw)
	}

	// A record without sources says so, and so does an empty source set.
	plain, _ := encodeProducts(m.Products)
	if rs := recordSources("octo/mesh", plain); !errors.Is(rs.Unreadable, ErrNoSources) || !errors.Is(rs.Unreadable, ErrUnreadableRecord) {
		t.Errorf("sources of a record without them: %v, want ErrNoSources", rs.Unreadable)
	}
	empty, _ := encodeRecord(nil, &Sources{})
	if rs := recordSources("octo/empty", empty); rs.Unreadable != nil || rs.Count != 0 {
		t.Errorf("sources of an empty repository: %+v", rs)
	}
	// Sources of another format version are not read.
	old := append([]byte{recordMagic, formatVersion - 1}, rec[2:]...)
	if rs := recordSources("octo/mesh", old); !errors.Is(rs.Unreadable, ErrFormatVersion) {
		t.Errorf("sources of a version %d record: %v, want ErrFormatVersion", formatVersion-1, rs.Unreadable)
	}
}

func mustDecode(t *testing.T, b []byte) []*mesh.Product {
	t.Helper()
	ps, err := decodeProducts(b)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

// TestSourcesRejectCorruptInput: every truncation of a record with sources
// fails as a corrupt record, from the products' reader or the sources'
// reader (whichever part it cuts), never with a panic or wrong bytes.
func TestSourcesRejectCorruptInput(t *testing.T) {
	m := exampleMesh(t)
	rec, err := encodeRecord(m.Products[:2], exampleSources(t, m.Products[:2]))
	if err != nil {
		t.Fatal(err)
	}
	for i := 2; i < len(rec); i++ {
		_, perr := decodeProducts(rec[:i])
		rs := recordSources("r", rec[:i])
		serr := rs.Unreadable
		if serr == nil {
			_, serr = rs.Files()
		}
		if !errors.Is(perr, ErrCorruptRecord) && !errors.Is(serr, ErrCorruptRecord) {
			t.Fatalf("the first %d of %d bytes decode: products %v, sources %v", i, len(rec), perr, serr)
		}
	}
	sec, _ := packSources(Sources{SHA: "abc", Files: map[string][]byte{"a.yaml": []byte("a: 1\n"), "b.yaml": []byte("b: 2\n")}})
	for _, c := range []struct {
		name string
		sec  []byte
		want string
	}{
		{"trailing", append(slices.Clone(sec), 0), "trailing"},
		{"out of order", bytes.Replace(slices.Clone(sec), []byte("b.yaml"), []byte("a.yaml"), 1), "out of order"},
		{"huge count", []byte{0, 0xff, 0xff, 0x03}, "exceed"},
	} {
		if _, err := unpackSources("r", c.sec); !errors.Is(err, ErrCorruptRecord) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: unpackSources = %v, want a corrupt record (%s)", c.name, err, c.want)
		}
	}
	// Sizes that disagree with the stream are caught when inflating.
	rs, err := unpackSources("r", bytes.Replace(slices.Clone(sec), []byte("b.yaml\x05"), []byte("b.yaml\x04"), 1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rs.Files(); !errors.Is(err, ErrCorruptRecord) {
		t.Errorf("Files with a size one short of the stream = %v, want a corrupt record", err)
	}
}

// FuzzRecordSources: whatever a record holds, reading its sources either
// fails as an unreadable record or gives files that pack back to sources
// that read the same.
func FuzzRecordSources(f *testing.F) {
	f.Add(readSeed(f, fmt.Sprintf("example-mesh-v%d", formatVersion)))
	f.Add([]byte{recordMagic, formatVersion, 1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		rs := recordSources("r", b)
		if rs.Unreadable != nil {
			if !errors.Is(rs.Unreadable, ErrUnreadableRecord) {
				t.Fatalf("unreadable for another reason: %v", rs.Unreadable)
			}
			return
		}
		files, err := rs.Files()
		if err != nil {
			if !errors.Is(err, ErrCorruptRecord) {
				t.Fatalf("Files: %v", err)
			}
			return
		}
		sec, err := packSources(Sources{SHA: rs.SHA, Files: files})
		if err != nil {
			t.Fatal(err)
		}
		again, err := unpackSources("r", sec)
		if err != nil {
			t.Fatal(err)
		}
		files2, err := again.Files()
		if err != nil || again.SHA != rs.SHA || !reflect.DeepEqual(files, files2) {
			t.Fatalf("re-packed sources differ: %v", err)
		}
	})
}

// testRegistrySources is the contract of PutRepoSources and Sources, for
// both stores.
func testRegistrySources(t *testing.T, open factory) {
	s := open(t, Options{})
	ctx := ctxT(t)
	m := exampleMesh(t)
	src := exampleSources(t, m.Products)
	stored, err := s.PutRepoSources(ctx, 5, "octo/mesh", m.Products, *src)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutRepo(ctx, 5, "octo/plain", m.Products[:1]); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutRepoSources(ctx, 5, "octo/empty", nil, Sources{SHA: "e"}); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.Version(ctx, 5); v != 3 {
		t.Fatalf("Version after three puts = %d", v)
	}
	got, err := s.Sources(ctx, 5)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range got {
		names = append(names, r.Repo)
	}
	if !slices.Equal(names, []string{"octo/empty", "octo/mesh", "octo/plain"}) {
		t.Fatalf("Sources lists %v", names)
	}
	if got[0].Unreadable != nil || got[0].SHA != "e" || got[0].Count != 0 {
		t.Errorf("empty repository: %+v", got[0])
	}
	files, err := got[1].Files()
	if err != nil || got[1].SHA != src.SHA || !reflect.DeepEqual(files, src.Files) || got[1].Stored == 0 || got[1].Stored != stored {
		t.Errorf("octo/mesh: %s, %d files, stored %d (PutRepoSources said %d), %v", got[1].SHA, len(files), got[1].Stored, stored, err)
	}
	if !errors.Is(got[2].Unreadable, ErrNoSources) || !strings.Contains(got[2].Unreadable.Error(), "5/octo/plain") {
		t.Errorf("octo/plain (PutRepo): Unreadable = %v, want ErrNoSources naming the repository", got[2].Unreadable)
	}
	// The products come with the documents, from the same read; a record
	// without documents still has its products (consumers of the others).
	for i, want := range [][]*mesh.Product{nil, inRepo(t, "octo/mesh", m.Products), inRepo(t, "octo/plain", m.Products[:1])} {
		ps, err := got[i].Products()
		if err != nil || !reflect.DeepEqual(ps, want) {
			t.Errorf("%s: Products() = %d products, %v; want %d", got[i].Repo, len(ps), err, len(want))
		}
	}
	// The products are those of a plain PutRepo.
	rp, err := s.ProductsByRepo(ctx, 5)
	if err != nil || len(rp) != 3 || !reflect.DeepEqual(rp[1].Products, inRepo(t, "octo/mesh", m.Products)) {
		t.Fatalf("ProductsByRepo beside sources: %v", err)
	}
	// PutRepo replaces the record whole: the old documents go with it.
	if err := s.PutRepo(ctx, 5, "octo/mesh", m.Products); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Sources(ctx, 5); !errors.Is(got[1].Unreadable, ErrNoSources) {
		t.Errorf("after PutRepo, octo/mesh's sources: %v, want ErrNoSources", got[1].Unreadable)
	}
	if err := s.DeleteRepo(ctx, 5, "octo/empty"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutRepoSources(ctx, 5, "octo/mesh", m.Products, Sources{SHA: "x", Files: map[string][]byte{"big.yaml": make([]byte, mesh.MaxFileBytes+1)}}); err == nil {
		t.Error("PutRepoSources took a file over mesh.MaxFileBytes")
	}
	if got, _ := s.Sources(ctx, 5); len(got) != 2 || got[0].Repo != "octo/mesh" {
		t.Errorf("after DeleteRepo: %v", got)
	}
	if err := s.DeleteInstallation(ctx, 5); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Sources(ctx, 5); len(got) != 0 {
		t.Errorf("after DeleteInstallation: %d repositories", len(got))
	}
}
