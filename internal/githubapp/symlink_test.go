package githubapp

import (
	"context"
	"errors"
	"testing"
)

// A symbolic link is never read as the file it leads to: GitHub answers a
// link to a regular file of the repository with that file, so only its
// path tells; any other link is an object of type "symlink".
func TestFileRefusesSymlinks(t *testing.T) {
	e := newEnv(t, envOpts{})
	sha := e.repo.CommitLinks("main", map[string][]byte{"c/real.yaml": []byte("a: 1\n")},
		map[string]string{"c/to-file.yaml": "real.yaml", "c/to-outside.yaml": "../../x.yaml"})
	ctx := context.Background()
	for _, tc := range []struct{ path, target string }{
		{"c/to-file.yaml", "c/real.yaml"},
		{"c/to-outside.yaml", "../../x.yaml"},
	} {
		b, err := e.client.FileUpTo(ctx, "acme", "mesh", tc.path, sha, 1<<20)
		var se *SymlinkError
		if !errors.As(err, &se) || se.Path != tc.path || se.Target != tc.target {
			t.Errorf("%s: %q, %v; want a SymlinkError to %s", tc.path, b, err, tc.target)
		}
		if _, err := e.client.File(ctx, "acme", "mesh", tc.path, sha); !errors.As(err, &se) {
			t.Errorf("File(%s) = %v, want a SymlinkError", tc.path, err)
		}
	}
	if b, err := e.client.FileUpTo(ctx, "acme", "mesh", "c/real.yaml", sha, 1<<20); err != nil || string(b) != "a: 1\n" {
		t.Errorf("the regular file: %q, %v", b, err)
	}
	tree, err := e.client.TreeAt(ctx, "acme", "mesh", sha)
	if err != nil {
		t.Fatal(err)
	}
	links := 0
	for _, en := range tree.Entries {
		if en.IsSymlink() {
			links++
		}
	}
	if links != 2 {
		t.Errorf("%d tree entries are links, want 2: %+v", links, tree.Entries)
	}
}
