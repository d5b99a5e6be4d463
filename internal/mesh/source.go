package mesh

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"
)

// Source is one version of a mesh's files: a folder, a revision of a git
// repository, a GitHub tree at a commit. Load and LoadPair read every mesh
// through one, so what is a descriptor or a contract is decided in one place
// (Discovery) whatever the files come from.
type Source interface {
	// List names the files of the source. Folders a Source does not walk
	// (see SkipFolder) may come back as one entry with Folder set. A source
	// holding only part of a tree (the files of a pull request the App
	// fetched) lists that part.
	List(ctx context.Context) ([]File, error)
	// Read returns a file's content, or at most MaxFileBytes+1 bytes of it
	// (enough for ParseYAML to refuse it). A file that does not exist is an
	// error wrapping fs.ErrNotExist; one that is, or lies below, a symbolic
	// link is a *SymlinkError (never followed). Read is called
	// concurrently.
	Read(ctx context.Context, path string) ([]byte, error)
}

// File is one entry of a Source's listing.
type File struct {
	Path string // slash path relative to the source's root
	// Version identifies the content without reading it: a git blob id
	// (GitBlobID), or a token two sources of one pair agree on. Empty when
	// the source cannot tell without reading.
	Version string
	Folder  bool  // a folder listed without its content (SkipFolder, or Err)
	Err     error // why a folder could not be listed
	// Link says the entry is a symbolic link (a git tree's mode 120000):
	// the loader never reads it. Target is what it points at, as written
	// in it ("" when the source does not know without reading).
	Link   bool
	Target string
}

// GitBlobID is git's object id of a blob with content b (SHA-1 object
// format): what `git ls-tree` and GitHub's trees list for a file. LoadPair
// computes it for a head file read from a folder when the base lists its
// files by blob id, so only the base blobs that differ are read.
func GitBlobID(b []byte) string {
	h := sha1.New()
	h.Write([]byte("blob " + strconv.Itoa(len(b)) + "\x00"))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

// isGitBlobID tells a git object id from a source's own token.
func isGitBlobID(v string) bool {
	if len(v) != 40 {
		return false
	}
	for _, c := range v {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// FS is a Source over a file system (a checkout: os.DirFS, an os.Root's
// FS, memfs). Regular files are listed, and symbolic links as links (on a
// file system that tells them apart, fs.ReadLinkFS: os.DirFS and memfs
// do), never followed. Folders SkipFolder names are listed, not walked.
func FS(fsys fs.FS) Source { return &fsSource{fsys: fsys} }

type fsSource struct {
	fsys fs.FS
	// regular are the files List saw as regular files in real folders:
	// reading one needs no look for links on its way.
	regular map[string]bool
}

func (s *fsSource) List(ctx context.Context) ([]File, error) {
	var out []File
	regular := map[string]bool{}
	err := fs.WalkDir(s.fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == "." {
				return err
			}
			// One unreadable folder costs its files, not the whole
			// checkout: Read reports it on the folder.
			out = append(out, File{Path: p, Folder: true, Err: errors.Unwrap(err)})
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && SkipFolder(d.Name()) != "" {
				out = append(out, File{Path: p, Folder: true})
				return fs.SkipDir
			}
			return nil
		}
		switch {
		case d.Type().IsRegular():
			out = append(out, File{Path: p})
			regular[p] = true
		case d.Type()&fs.ModeSymlink != 0:
			target := ""
			if rl, ok := s.fsys.(fs.ReadLinkFS); ok {
				target, _ = rl.ReadLink(p)
			}
			out = append(out, File{Path: p, Link: true, Target: target})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walk checkout: %w", err)
	}
	s.regular = regular
	return out, nil
}

func (s *fsSource) Read(_ context.Context, p string) ([]byte, error) {
	if !s.regular[p] {
		// Not seen by the walk (a path a descriptor names): it may be, or
		// go through, a link, which opening would follow.
		if se := symlinkOf(s.fsys, p); se != nil {
			return nil, se
		}
	}
	f, err := s.fsys.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, &fs.PathError{Op: "read", Path: p, Err: errors.New("is a folder")}
	}
	return io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
}

// SkipFolder says why the files below a folder of this name are not read
// ("" when they are): folders starting with a dot (.git, .github, .venv)
// hold tooling, node_modules other people's packages. testdata and vendor
// are walked: a repository may keep its mesh anywhere.
func SkipFolder(name string) string {
	switch {
	case name == "node_modules":
		return "node_modules folder (other people's packages) is not read"
	case strings.HasPrefix(name, "."):
		return "hidden folder is not read"
	}
	return ""
}

// TooLargeError is what a Source's Read may answer for a file it did not
// fetch because it is over MaxFileBytes (GitHub said how large it is):
// the load reports the file as too large, as it does one it read.
type TooLargeError struct {
	Size int64 // -1 when unknown
}

func (e *TooLargeError) Error() string { return tooLargeMessage(e.Size) }

func tooLargeMessage(size int64) string {
	if size < 0 {
		return fmt.Sprintf("file is over %d bytes; meshbot reads at most %d bytes per file", MaxFileBytes, MaxFileBytes)
	}
	return fmt.Sprintf("file is %d bytes; meshbot reads at most %d bytes per file", size, MaxFileBytes)
}

// Parallel is implemented by a Source whose reads are worth running more
// at a time than there are processors (network round trips).
type Parallel interface {
	Parallel() int
}
