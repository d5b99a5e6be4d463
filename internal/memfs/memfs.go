// Package memfs is a small read-only fs.FS held in memory: files fetched
// from GitHub (one side of a pull request, or a default branch being
// indexed), laid out so that mesh.Load can walk them as it walks a checkout.
//
// testing/fstest.MapFS would do the same, but it belongs to a testing
// package and rebuilds a directory's listing by scanning every path on each
// Open; here the tree is built once and a directory read is a slice copy.
package memfs

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"
)

// FS is an immutable tree of files. Folders exist exactly where some file
// lies below them.
type FS struct {
	files map[string][]byte
	links map[string]string        // symbolic links: path -> target, as written in the link
	dirs  map[string][]fs.DirEntry // sorted by name
	mtime time.Time
}

// New builds an FS from slash paths (relative, as fs.ValidPath wants them)
// to contents. It returns an error for an invalid path, for a path with a
// backslash (meshbot's readers take it for a separator, so such a name would
// mean two different files), and for a path that is both a file and a
// folder. The contents are not copied.
func New(files map[string][]byte) (*FS, error) { return NewLinked(files, nil) }

// NewLinked is New with symbolic links besides the files (path -> target;
// a target may be empty when it is not known): they are listed with
// fs.ModeSymlink, Lstat and ReadLink describe them (fs.ReadLinkFS), and
// opening or reading one fails, since the target is not in the FS. A
// GitHub tree entry of mode 120000 is such a link.
func NewLinked(files map[string][]byte, links map[string]string) (*FS, error) {
	f := &FS{files: make(map[string][]byte, len(files)), links: make(map[string]string, len(links)), dirs: map[string][]fs.DirEntry{".": nil}}
	children := map[string]map[string]fs.DirEntry{".": {}}
	type entry struct {
		p    string
		b    []byte
		link bool
	}
	all := make([]entry, 0, len(files)+len(links))
	for p, b := range files {
		all = append(all, entry{p: p, b: b})
	}
	for p, target := range links {
		if _, dup := files[p]; dup {
			return nil, &fs.PathError{Op: "memfs", Path: p, Err: errors.New("is both a file and a symbolic link")}
		}
		all = append(all, entry{p: p, b: []byte(target), link: true})
	}
	for _, e := range all {
		p, b := e.p, e.b
		if !ValidPath(p) {
			return nil, &fs.PathError{Op: "memfs", Path: p, Err: fs.ErrInvalid}
		}
		if e.link {
			f.links[p] = string(b)
		} else {
			f.files[p] = b
		}
		child, isDir := p, false
		for {
			parent := path.Dir(child)
			kids := children[parent]
			if kids == nil {
				kids = map[string]fs.DirEntry{}
				children[parent] = kids
			}
			name := path.Base(child)
			if _, seen := kids[name]; seen {
				break // the rest of the chain is already in place
			}
			switch {
			case isDir:
				kids[name] = fs.FileInfoToDirEntry(dirInfo{name: name, mtime: f.mtime})
			case e.link:
				kids[name] = fs.FileInfoToDirEntry(linkInfo{name: name, size: int64(len(b)), mtime: f.mtime})
			default:
				kids[name] = fs.FileInfoToDirEntry(fileInfo{name: name, size: int64(len(b)), mtime: f.mtime})
			}
			if parent == "." {
				break
			}
			child, isDir = parent, true
		}
	}
	for d, kids := range children {
		_, clash := f.files[d]
		if _, link := f.links[d]; link {
			clash = true
		}
		if clash {
			return nil, &fs.PathError{Op: "memfs", Path: d, Err: errors.New("is both a file and a folder")}
		}
		list := make([]fs.DirEntry, 0, len(kids))
		for _, e := range kids {
			list = append(list, e)
		}
		slices.SortFunc(list, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
		f.dirs[d] = list
	}
	return f, nil
}

// ValidPath reports whether New accepts p as a file's path.
func ValidPath(p string) bool {
	return fs.ValidPath(p) && p != "." && !strings.Contains(p, `\`)
}

var _ fs.ReadLinkFS = (*FS)(nil)

// Len is the number of files.
func (f *FS) Len() int { return len(f.files) }

func (f *FS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	if b, ok := f.files[name]; ok {
		return &file{Reader: bytes.NewReader(b), info: fileInfo{name: path.Base(name), size: int64(len(b)), mtime: f.mtime}}, nil
	}
	if entries, ok := f.dirs[name]; ok {
		return &dir{info: dirInfo{name: path.Base(name), mtime: f.mtime}, entries: entries, path: name}, nil
	}
	if err := f.linkOnPath(name); err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

// ReadFile returns a copy of a file's contents.
func (f *FS) ReadFile(name string) ([]byte, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "readfile", Path: name, Err: fs.ErrInvalid}
	}
	if b, ok := f.files[name]; ok {
		return slices.Clone(b), nil
	}
	if _, ok := f.dirs[name]; ok {
		return nil, &fs.PathError{Op: "readfile", Path: name, Err: errors.New("is a directory")}
	}
	if err := f.linkOnPath(name); err != nil {
		return nil, &fs.PathError{Op: "readfile", Path: name, Err: err}
	}
	return nil, &fs.PathError{Op: "readfile", Path: name, Err: fs.ErrNotExist}
}

// ReadDir lists a folder, sorted by name.
func (f *FS) ReadDir(name string) ([]fs.DirEntry, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrInvalid}
	}
	entries, ok := f.dirs[name]
	if !ok {
		if _, isFile := f.files[name]; isFile {
			return nil, &fs.PathError{Op: "readdir", Path: name, Err: errors.New("not a directory")}
		}
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
	}
	return slices.Clone(entries), nil
}

func (f *FS) Stat(name string) (fs.FileInfo, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrInvalid}
	}
	if b, ok := f.files[name]; ok {
		return fileInfo{name: path.Base(name), size: int64(len(b)), mtime: f.mtime}, nil
	}
	if _, ok := f.dirs[name]; ok {
		return dirInfo{name: path.Base(name), mtime: f.mtime}, nil
	}
	if err := f.linkOnPath(name); err != nil {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: err}
	}
	return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
}

// ErrLink is what opening, reading or Stat-ing a symbolic link (or a path
// through one) answers: its target is not in the FS.
var ErrLink = errors.New("is a symbolic link, whose target meshbot does not follow")

// linkOnPath is ErrLink when name or a folder on the way to it is a link.
func (f *FS) linkOnPath(name string) error {
	for p := name; p != "." && p != "/"; p = path.Dir(p) {
		if _, ok := f.links[p]; ok {
			return ErrLink
		}
	}
	return nil
}

// Lstat describes name without following a link (fs.ReadLinkFS).
func (f *FS) Lstat(name string) (fs.FileInfo, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "lstat", Path: name, Err: fs.ErrInvalid}
	}
	if t, ok := f.links[name]; ok {
		return linkInfo{name: path.Base(name), size: int64(len(t)), mtime: f.mtime}, nil
	}
	fi, err := f.Stat(name)
	if err != nil {
		return nil, &fs.PathError{Op: "lstat", Path: name, Err: errors.Unwrap(err)}
	}
	return fi, nil
}

// ReadLink is a link's target (fs.ReadLinkFS).
func (f *FS) ReadLink(name string) (string, error) {
	if !fs.ValidPath(name) {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	if t, ok := f.links[name]; ok {
		return t, nil
	}
	return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
}

type linkInfo struct {
	name  string
	size  int64
	mtime time.Time
}

func (i linkInfo) Name() string       { return i.name }
func (i linkInfo) Size() int64        { return i.size }
func (i linkInfo) Mode() fs.FileMode  { return fs.ModeSymlink | 0o777 }
func (i linkInfo) ModTime() time.Time { return i.mtime }
func (i linkInfo) IsDir() bool        { return false }
func (i linkInfo) Sys() any           { return nil }

type fileInfo struct {
	name  string
	size  int64
	mtime time.Time
}

func (i fileInfo) Name() string       { return i.name }
func (i fileInfo) Size() int64        { return i.size }
func (i fileInfo) Mode() fs.FileMode  { return 0o444 }
func (i fileInfo) ModTime() time.Time { return i.mtime }
func (i fileInfo) IsDir() bool        { return false }
func (i fileInfo) Sys() any           { return nil }

type dirInfo struct {
	name  string
	mtime time.Time
}

func (i dirInfo) Name() string       { return i.name }
func (i dirInfo) Size() int64        { return 0 }
func (i dirInfo) Mode() fs.FileMode  { return fs.ModeDir | 0o555 }
func (i dirInfo) ModTime() time.Time { return i.mtime }
func (i dirInfo) IsDir() bool        { return true }
func (i dirInfo) Sys() any           { return nil }

type file struct {
	*bytes.Reader
	info fileInfo
}

func (f *file) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *file) Close() error               { return nil }

type dir struct {
	info    dirInfo
	path    string
	entries []fs.DirEntry
	off     int
}

func (d *dir) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *dir) Close() error               { return nil }
func (d *dir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.path, Err: errors.New("is a directory")}
}

// ReadDir follows fs.ReadDirFile: n > 0 returns at most n entries and io.EOF
// at the end; n <= 0 returns the rest and a nil error.
func (d *dir) ReadDir(n int) ([]fs.DirEntry, error) {
	rest := d.entries[d.off:]
	if n <= 0 {
		d.off = len(d.entries)
		return slices.Clone(rest), nil
	}
	if len(rest) == 0 {
		return nil, io.EOF
	}
	n = min(n, len(rest))
	d.off += n
	return slices.Clone(rest[:n]), nil
}
