package testutil

import (
	"io/fs"
	"testing"
	"testing/fstest"
)

// MapFS copies the files of fsys into a MapFS, so a test can add, replace
// or drop files of a read-only tree (the bundled policy, say) before
// loading it.
func MapFS(t testing.TB, fsys fs.FS) fstest.MapFS {
	t.Helper()
	out := fstest.MapFS{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		out[p] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatalf("copy into a MapFS: %v", err)
	}
	return out
}
