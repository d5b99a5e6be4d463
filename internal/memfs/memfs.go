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
	dirs  map[string][]fs.DirEntry // sorted by name
	mtime time.Time
}

// New builds an FS from slash paths (relative, as fs.ValidPath wants them)
// to contents. It returns an error for an invalid path, for a path with a
// backslash (meshbot's readers take it for a separator, so such a name would
// mean two different files), and for a path that is both a file and a
// folder. The contents are not copied.
func New(files map[string][]byte) (*FS, error) {
	f := &FS{files: make(map[string][]byte, len(files)), dirs: map[string][]fs.DirEntry{".": nil}}
	children := map[string]map[string]fs.DirEntry{".": {}}
	for p, b := range files {
		if !ValidPath(p) {
			return nil, &fs.PathError{Op: "memfs", Path: p, Err: fs.ErrInvalid}
		}
		f.files[p] = b
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
			if isDir {
				kids[name] = fs.FileInfoToDirEntry(dirInfo{name: name, mtime: f.mtime})
			} else {
				kids[name] = fs.FileInfoToDirEntry(fileInfo{name: name, size: int64(len(b)), mtime: f.mtime})
			}
			if parent == "." {
				break
			}
			child, isDir = parent, true
		}
	}
	for d, kids := range children {
		if _, clash := f.files[d]; clash {
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
	return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
}

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
