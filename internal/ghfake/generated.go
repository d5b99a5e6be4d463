package ghfake

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"strings"
)

// Generated is a file whose bytes the fake makes up as they are read: Line
// repeated, cut at Size bytes. It lets a test commit a 100 MB file without
// the fake holding 100 MB, so what the test measures is the App's memory,
// not the fake's. GitHub's answers about it are the same as for a stored
// file of those bytes (SHA, sizes, contents and blobs APIs), except that a
// pull request's file list counts no added or deleted lines for it.
type Generated struct {
	Size int64
	Line string
}

func (g Generated) reader() io.Reader {
	return io.LimitReader(&repeater{line: g.Line}, g.Size)
}

// repeater reads line over and over.
type repeater struct {
	line string
	off  int
}

func (r *repeater) Read(p []byte) (int, error) {
	if r.line == "" {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.line[r.off:])
		n += c
		r.off = (r.off + c) % len(r.line)
	}
	return n, nil
}

// CommitGenerated is Commit with some files generated rather than stored.
func (r *Repo) CommitGenerated(branch string, files map[string][]byte, generated map[string]Generated) string {
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	snap := make(map[string]string, len(files)+len(generated))
	for p, b := range files {
		snap[cleanPath(p)] = r.putBlob(b)
	}
	for p, g := range generated {
		snap[cleanPath(p)] = r.putGenerated(g)
	}
	return r.commitSnapshot(branch, snap, nil, "fixture snapshot")
}

func cleanPath(p string) string {
	return strings.Trim(path.Clean("/"+filepath.ToSlash(p)), "/")
}

func (r *Repo) putGenerated(g Generated) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", g.Size)
	if _, err := io.Copy(h, g.reader()); err != nil {
		panic(err) // hashing cannot fail
	}
	sha := hex.EncodeToString(h.Sum(nil))
	if r.generated == nil {
		r.generated = map[string]Generated{}
	}
	r.generated[sha] = g
	return sha
}

// blobSize is a blob's size, stored or generated.
func (r *Repo) blobSize(sha string) int64 {
	if g, ok := r.generated[sha]; ok {
		return g.Size
	}
	return int64(len(r.blobs[sha]))
}

// blobBytes is a blob's content; a generated one is built in full, for the
// answers that need all of it at once (base64 in JSON).
func (r *Repo) blobBytes(sha string) ([]byte, bool) {
	if g, ok := r.generated[sha]; ok {
		b, _ := io.ReadAll(g.reader())
		return b, true
	}
	b, ok := r.blobs[sha]
	return b, ok
}
