package policyrepo

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/meshbot/meshbot/internal/memfs"
)

// Folder is where the policy lives in the repository: policy/ when the
// repository has one, else the root.
const Folder = "policy/"

// Limits on a bundle, the same as policyeval's on a folder (it refuses
// more), checked before anything is downloaded.
const (
	maxFiles     = 2000
	maxBytes     = 16 << 20
	maxFileBytes = 4 << 20
)

// Bundle is a policy repository's policy at one commit: its Rego files and
// data files, by path inside the policy folder.
type Bundle struct {
	Repo   string            `json:"repo"`
	Commit string            `json:"commit"`
	Root   string            `json:"root"` // "policy/" or "" (the repository's root)
	Files  map[string][]byte `json:"files"`
}

// bundled says whether a file of the policy folder belongs to the bundle:
// Rego (tests included) and data files named data.json or data.yaml. Other
// YAML and JSON (a workflow, a mkdocs.yml, a renovate.json) is not policy
// data, so it is neither fetched nor mounted.
func bundled(rel string) bool {
	for _, seg := range strings.Split(path.Dir(rel), "/") {
		if strings.HasPrefix(seg, ".") && seg != "." {
			return false // .github and other hidden folders
		}
	}
	switch base := path.Base(rel); {
	case strings.HasPrefix(base, "."):
		return false
	case path.Ext(base) == ".rego":
		return true
	default:
		return base == "data.json" || base == "data.yaml" || base == "data.yml"
	}
}

// layout picks the bundle's files out of a repository's blobs: the root
// (policy/ when any blob lies under it) and, for each bundled file, its
// repository path by its path in the bundle.
func layout(blobs []string) (root string, files map[string]string) {
	for _, b := range blobs {
		if strings.HasPrefix(b, Folder) {
			root = Folder
			break
		}
	}
	files = map[string]string{}
	for _, b := range blobs {
		rel, ok := strings.CutPrefix(b, root)
		if !ok || !bundled(rel) {
			continue
		}
		files[rel] = b
	}
	return root, files
}

// RepoPath is where a file of the bundle lives in the repository.
func (b *Bundle) RepoPath(rel string) string {
	if rel == "" {
		return ""
	}
	return b.Root + rel
}

// FS is the bundle as a folder, as policyeval reads one.
func (b *Bundle) FS() (fs.FS, error) {
	f, err := memfs.New(b.Files)
	if err != nil {
		return nil, fmt.Errorf("policy bundle %s@%s: %w", b.Repo, b.Commit, err)
	}
	return f, nil
}

// Counts is how many Rego files (tests among them) and data files the
// bundle holds.
func (b *Bundle) Counts() (rego, tests, data int) {
	for p := range b.Files {
		switch {
		case strings.HasSuffix(p, "_test.rego"):
			tests++
			rego++
		case strings.HasSuffix(p, ".rego"):
			rego++
		default:
			data++
		}
	}
	return rego, tests, data
}

// Paths lists the bundle's files, sorted.
func (b *Bundle) Paths() []string {
	out := make([]string, 0, len(b.Files))
	for p := range b.Files {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// Encode is the bundle as the store keeps it: gzipped JSON. Rego and data
// compress several times over, and one value keeps the copy whole.
func (b *Bundle) Encode() ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(b); err != nil {
		return nil, fmt.Errorf("encode policy bundle %s: %w", b.Commit, err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("encode policy bundle %s: %w", b.Commit, err)
	}
	return buf.Bytes(), nil
}

// DecodeBundle reads what Encode wrote, refusing more than a bundle may
// hold (the store is trusted, but a bad record must not take a replica's
// memory with it).
func DecodeBundle(src []byte) (*Bundle, error) {
	zr, err := gzip.NewReader(bytes.NewReader(src))
	if err != nil {
		return nil, fmt.Errorf("decode policy bundle: %w", err)
	}
	// JSON's base64 makes the bytes a third larger; allow for it.
	raw, err := io.ReadAll(io.LimitReader(zr, maxBytes*2+1))
	if err != nil {
		return nil, fmt.Errorf("decode policy bundle: %w", err)
	}
	if len(raw) > maxBytes*2 {
		return nil, fmt.Errorf("decode policy bundle: larger than %d bytes", maxBytes*2)
	}
	var b Bundle
	if err := json.Unmarshal(raw, &b); err != nil {
		return nil, fmt.Errorf("decode policy bundle: %w", err)
	}
	if b.Commit == "" || len(b.Files) > maxFiles {
		return nil, fmt.Errorf("decode policy bundle: no commit, or more than %d files", maxFiles)
	}
	return &b, nil
}
