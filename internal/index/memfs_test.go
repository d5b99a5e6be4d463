package index

import (
	"io/fs"
	"testing"
	"testing/fstest"
)

func TestMemFS(t *testing.T) {
	for _, files := range []map[string][]byte{
		{},
		{"a.yaml": []byte("x: 1\n")},
		{"a/b/c/dataproduct.yaml": []byte("k: v\n"), "a/b/other.yaml": nil, "z.json": []byte("{}"), "a/x": []byte("1")},
	} {
		m := newMemFS(files)
		var want []string
		for p := range files {
			want = append(want, p)
		}
		if err := fstest.TestFS(m, want...); err != nil {
			t.Errorf("%v: %v", want, err)
		}
		if _, err := m.Open("../x"); err == nil {
			t.Error("opened ../x")
		}
		if _, err := fs.ReadFile(m, "missing.yaml"); err == nil {
			t.Error("read a missing file")
		}
	}
}
