package memfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
)

func TestFSConformance(t *testing.T) {
	f, err := New(map[string][]byte{
		"orders/data-products/order-events/dataproduct.yaml":               []byte("kind: DataProduct\n"),
		"orders/data-products/order-events/contracts/order-events.v2.yaml": []byte("x: 1\n"),
		"finance/revenue/dataproduct.yaml":                                 []byte("kind: DataProduct\n"),
		"top.yaml":                                                         nil,
	})
	if err != nil {
		t.Fatal(err)
	}
	// TestFS opens, reads, stats and lists every file and folder, and checks
	// ReadDir(n) paging and that the listings agree with each other.
	if err := fstest.TestFS(f, "orders/data-products/order-events/dataproduct.yaml",
		"orders/data-products/order-events/contracts/order-events.v2.yaml",
		"finance/revenue/dataproduct.yaml", "top.yaml"); err != nil {
		t.Fatal(err)
	}
	if f.Len() != 4 {
		t.Errorf("Len = %d, want 4", f.Len())
	}
}

func TestWalkOrder(t *testing.T) {
	f, err := New(map[string][]byte{"b/x": nil, "a/z/y": nil, "a/b": nil, "c": nil})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	if err := fs.WalkDir(f, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		got = append(got, p)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := ". a a/b a/z a/z/y b b/x c"
	if strings.Join(got, " ") != want {
		t.Errorf("walk = %q, want %q", strings.Join(got, " "), want)
	}
}

func TestNewRefuses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string][]byte
	}{
		{"absolute", map[string][]byte{"/etc/passwd": nil}},
		{"dotdot", map[string][]byte{"../x": nil}},
		{"trailing slash", map[string][]byte{"a/": nil}},
		{"dot", map[string][]byte{".": nil}},
		{"backslash", map[string][]byte{`a\b`: nil}},
		{"empty", map[string][]byte{"": nil}},
		{"file and folder", map[string][]byte{"a": nil, "a/b": nil}},
		{"file and deep folder", map[string][]byte{"a/b": nil, "a/b/c/d": nil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.files); err == nil {
				t.Errorf("New(%v) = nil error", tc.files)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	f, err := New(map[string][]byte{"a/b.yaml": []byte("hello")})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		op   func() error
		want error
	}{
		{"open missing", func() error { _, err := f.Open("a/c"); return err }, fs.ErrNotExist},
		{"open invalid", func() error { _, err := f.Open("a/../b"); return err }, fs.ErrInvalid},
		{"stat missing", func() error { _, err := f.Stat("nope"); return err }, fs.ErrNotExist},
		{"readdir missing", func() error { _, err := f.ReadDir("x"); return err }, fs.ErrNotExist},
		{"readfile missing", func() error { _, err := f.ReadFile("a/x"); return err }, fs.ErrNotExist},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.op(); !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := f.ReadDir("a/b.yaml"); err == nil {
		t.Error("ReadDir of a file succeeded")
	}
	if _, err := f.ReadFile("a"); err == nil {
		t.Error("ReadFile of a folder succeeded")
	}
	d, err := f.Open("a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Read(make([]byte, 1)); err == nil {
		t.Error("Read of a folder succeeded")
	}
	rd := d.(fs.ReadDirFile)
	if es, err := rd.ReadDir(5); err != nil || len(es) != 1 {
		t.Fatalf("ReadDir(5) = %v, %v", es, err)
	}
	if es, err := rd.ReadDir(5); err != io.EOF || len(es) != 0 {
		t.Errorf("ReadDir(5) at end = %v, %v; want io.EOF", es, err)
	}
	// ReadFile hands out a copy: the FS cannot be changed through it.
	b, _ := f.ReadFile("a/b.yaml")
	b[0] = 'X'
	if again, _ := f.ReadFile("a/b.yaml"); string(again) != "hello" {
		t.Errorf("ReadFile shares its buffer: %q", again)
	}
}

// FuzzNew feeds path lists as they come from GitHub (pull request files,
// trees): New must refuse or build an FS that passes fstest.TestFS.
func FuzzNew(f *testing.F) {
	f.Add("a/b\nc")
	f.Add("a\na/b")
	f.Add("./x\n../y")
	f.Fuzz(func(t *testing.T, list string) {
		files := map[string][]byte{}
		var names []string
		for _, p := range strings.Split(list, "\n") {
			files[p] = []byte(p)
			names = append(names, p)
		}
		fsys, err := New(files)
		if err != nil {
			return
		}
		if err := fstest.TestFS(fsys, names...); err != nil {
			t.Fatal(err)
		}
	})
}

func TestLinks(t *testing.T) {
	f, err := NewLinked(map[string][]byte{"a/real.yaml": []byte("x: 1\n")},
		map[string]string{"a/link.yaml": "real.yaml", "dir": "a"})
	if err != nil {
		t.Fatal(err)
	}
	var walked []string
	if err := fs.WalkDir(f, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		walked = append(walked, fmt.Sprintf("%s %v", p, d.Type()))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(walked, ","); got != ". d---------,a d---------,a/link.yaml L---------,a/real.yaml ----------,dir L---------" {
		t.Errorf("walk = %s", got)
	}
	if fi, err := f.Lstat("a/link.yaml"); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("Lstat = %v, %v", fi, err)
	}
	if fi, err := f.Lstat("a/real.yaml"); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("Lstat of a file = %v, %v", fi, err)
	}
	if target, err := f.ReadLink("a/link.yaml"); err != nil || target != "real.yaml" {
		t.Errorf("ReadLink = %q, %v", target, err)
	}
	for _, p := range []string{"a/link.yaml", "dir/real.yaml"} {
		if _, err := f.Open(p); !errors.Is(err, ErrLink) {
			t.Errorf("Open(%s) = %v, want ErrLink: a link is never followed", p, err)
		}
		if _, err := fs.ReadFile(f, p); !errors.Is(err, ErrLink) {
			t.Errorf("ReadFile(%s) = %v, want ErrLink", p, err)
		}
	}
	if _, err := NewLinked(map[string][]byte{"x": nil}, map[string]string{"x": "y"}); err == nil {
		t.Error("a path both a file and a link was accepted")
	}
	if _, err := NewLinked(map[string][]byte{"x/y": nil}, map[string]string{"x": "z"}); err == nil {
		t.Error("a link with files below it was accepted")
	}
}
