package githubapp

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"

	"github.com/meshbot/meshbot/internal/ghfake"
)

func TestFileUpTo(t *testing.T) {
	e := newEnv(t, envOpts{})
	small := bytes.Repeat([]byte("a: 1\n"), 1000) // 5,000 bytes
	sha := e.repo.CommitGenerated("main", map[string][]byte{"small.yaml": small},
		map[string]ghfake.Generated{"big.yaml": {Size: 3 << 20, Line: "x: 1\n"}})
	ctx := context.Background()
	for _, tc := range []struct {
		path  string
		limit int64
		want  []byte
		size  int64 // of the *TooLargeError; 0: none
	}{
		{"small.yaml", 1 << 20, small, 0},
		{"small.yaml", 5000, small, 0},
		{"small.yaml", 4999, nil, 5000},
		{"big.yaml", 1 << 20, nil, 3 << 20},
	} {
		before := e.count("GET", "/repos/acme/mesh/git/blobs/")
		b, err := e.client.FileUpTo(ctx, "acme", "mesh", tc.path, sha, tc.limit)
		var tl *TooLargeError
		switch {
		case tc.size != 0:
			if !errors.As(err, &tl) || tl.Size != tc.size {
				t.Errorf("%s (limit %d): err = %v, want a TooLargeError of %d bytes", tc.path, tc.limit, err, tc.size)
			}
		case err != nil:
			t.Errorf("%s (limit %d): %v", tc.path, tc.limit, err)
		case !bytes.Equal(b, tc.want):
			t.Errorf("%s (limit %d): %d bytes, want %d", tc.path, tc.limit, len(b), len(tc.want))
		}
		if n := e.count("GET", "/repos/acme/mesh/git/blobs/") - before; n != 0 {
			t.Errorf("%s (limit %d): %d blob downloads, want none", tc.path, tc.limit, n)
		}
	}
	// A blob read without a size to go by stops at limit+1 bytes.
	_, err := e.client.blobUpTo(ctx, "acme", "mesh", "small.yaml", gitBlobSHA(small), 100)
	var tl *TooLargeError
	if !errors.As(err, &tl) {
		t.Errorf("blob over the limit: err = %v, want a TooLargeError", err)
	}
	if _, err := e.client.FileUpTo(ctx, "acme", "mesh", "absent.yaml", sha, 1<<20); !errors.Is(err, ErrNotFound) {
		t.Errorf("absent file: err = %v, want ErrNotFound", err)
	}
}

func TestTreeAtSaysTruncated(t *testing.T) {
	for _, tc := range []struct {
		max       int
		truncated bool
	}{{0, false}, {3, true}} {
		e := newEnv(t, envOpts{maxTreeEntries: tc.max})
		sha := e.repo.Commit("main", map[string][]byte{"a/b.yaml": []byte("1"), "a/c.yaml": []byte("22"), "d.yaml": []byte("333")})
		tr, err := e.client.TreeAt(context.Background(), "acme", "mesh", sha)
		if err != nil {
			t.Fatal(err)
		}
		if tr.Truncated != tc.truncated {
			t.Errorf("max %d: truncated = %v, want %v", tc.max, tr.Truncated, tc.truncated)
		}
		if !tc.truncated {
			blobs := tr.Blobs()
			if len(blobs) != 3 || blobs["a/c.yaml"].Size != 2 {
				t.Errorf("blobs = %+v", blobs)
			}
		}
		if n := e.count("GET", "/repos/acme/mesh/git/trees/"); n != 1 {
			t.Errorf("max %d: %d tree calls, want 1", tc.max, n)
		}
	}
}

func TestMergeBase(t *testing.T) {
	e := newEnv(t, envOpts{})
	root := e.repo.Commit("main", map[string][]byte{"a": []byte("1")})
	head := e.repo.Commit("feature", map[string][]byte{"a": []byte("2")})
	base := e.repo.Commit("main", map[string][]byte{"a": []byte("1"), "b": []byte("3")})
	got, err := e.client.MergeBase(context.Background(), "acme", "mesh", base, head)
	if err != nil {
		t.Fatal(err)
	}
	if got != root {
		t.Errorf("merge base = %s, want %s", got, root)
	}
}

// gitBlobSHA is git's object id of a blob (git hash-object).
func gitBlobSHA(b []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(b))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}
