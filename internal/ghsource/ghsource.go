// Package ghsource reads a repository's files on GitHub as mesh.Sources,
// so the App (a pull request's files, internal/pullcheck) and the indexer
// (a default branch, internal/index) load a mesh through the same loader
// and discovery as `meshbot check` does a folder. Files are read at exact
// commits through an installation client (internal/githubapp), lazily
// (only what the loader asks for), a bounded number at a time, and each
// (path, commit) at most once.
package ghsource

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/meshbot/meshbot/internal/githubapp"
	"github.com/meshbot/meshbot/internal/memfs"
	"github.com/meshbot/meshbot/internal/mesh"
)

// Reader fetches files of one repository.
type Reader struct {
	cl          githubapp.Installation
	owner, repo string
	sem         chan struct{}
	calls       atomic.Int64
	wg          sync.WaitGroup

	mu     sync.Mutex
	got    map[key]*read
	sizes  map[string]map[string]int64 // blob sizes by commit and path, from trees read
	links  map[string]map[string]bool  // symbolic links by commit and path, from trees read
	failed error                       // the first failure of GitHub itself
}

type key struct{ path, sha string }

type read struct {
	done chan struct{}
	b    []byte
	err  error
}

// NewReader reads owner/repo through cl, at most limit requests at a time.
func NewReader(cl githubapp.Installation, owner, repo string, limit int) *Reader {
	return &Reader{cl: cl, owner: owner, repo: repo, sem: make(chan struct{}, max(limit, 1)),
		got: map[key]*read{}, sizes: map[string]map[string]int64{}, links: map[string]map[string]bool{}}
}

// Calls is how many files were requested from GitHub.
func (r *Reader) Calls() int { return int(r.calls.Load()) }

// Err is the first error GitHub answered that is not about the file
// itself (not a 404, not a file too large): a load that met one saw an
// incomplete repository, so its verdict must not be posted. The loader
// turns read errors into problems; callers check Err after loading.
func (r *Reader) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}

// Wait waits for the reads Prefetch started.
func (r *Reader) Wait() { r.wg.Wait() }

// KnowSizes records the blob sizes of a tree read at sha, and its symbolic
// links: a file they say is over mesh.MaxFileBytes, or is a link, is not
// requested at all.
func (r *Reader) KnowSizes(sha string, entries []githubapp.TreeEntry) {
	m := make(map[string]int64, len(entries))
	links := map[string]bool{}
	for _, e := range entries {
		switch {
		case e.Type == "blob" && e.IsSymlink():
			links[e.Path] = true
		case e.Type == "blob":
			m[e.Path] = e.Size
		}
	}
	r.mu.Lock()
	r.sizes[sha] = m
	r.links[sha] = links
	r.mu.Unlock()
}

// Read returns p at commit sha. A file that does not exist there is an
// error wrapping fs.ErrNotExist; one over mesh.MaxFileBytes is a
// *mesh.TooLargeError and is not downloaded; a symbolic link is a
// *mesh.SymlinkError, not downloaded when a tree showed it.
func (r *Reader) Read(ctx context.Context, p, sha string) ([]byte, error) {
	r.mu.Lock()
	k := key{p, sha}
	rd := r.got[k]
	if rd == nil {
		rd = &read{done: make(chan struct{})}
		r.got[k] = rd
		r.mu.Unlock()
		rd.b, rd.err = r.fetch(ctx, p, sha)
		close(rd.done)
		return rd.b, rd.err
	}
	r.mu.Unlock()
	select {
	case <-rd.done:
		return rd.b, rd.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Prefetch starts reading p at sha, so that a later Read finds it.
func (r *Reader) Prefetch(ctx context.Context, p, sha string) {
	r.mu.Lock()
	_, started := r.got[key{p, sha}]
	r.mu.Unlock()
	if started {
		return
	}
	r.wg.Go(func() { _, _ = r.Read(ctx, p, sha) })
}

func (r *Reader) fetch(ctx context.Context, p, sha string) ([]byte, error) {
	if !memfs.ValidPath(p) {
		return nil, &fs.PathError{Op: "read", Path: p, Err: fs.ErrInvalid}
	}
	r.mu.Lock()
	size, known := r.sizes[sha][p]
	link := r.links[sha][p]
	r.mu.Unlock()
	if link {
		return nil, &mesh.SymlinkError{Link: p}
	}
	if known && size > mesh.MaxFileBytes {
		return nil, &mesh.TooLargeError{Size: size}
	}
	select {
	case r.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-r.sem }()
	r.calls.Add(1)
	b, err := r.cl.FileUpTo(ctx, r.owner, r.repo, p, sha, mesh.MaxFileBytes)
	var tl *githubapp.TooLargeError
	var se *githubapp.SymlinkError
	switch {
	case err == nil:
		return b, nil
	case errors.As(err, &tl):
		return nil, &mesh.TooLargeError{Size: tl.Size}
	case errors.As(err, &se):
		// GitHub answered the link's target (or the file it leads to):
		// meshbot reads regular files only.
		return nil, &mesh.SymlinkError{Link: p, Target: se.Target}
	case errors.Is(err, githubapp.ErrNotFound):
		return nil, &fs.PathError{Op: "read", Path: p, Err: fs.ErrNotExist}
	}
	err = fmt.Errorf("fetch %s@%s: %w", p, sha, err)
	r.mu.Lock()
	if r.failed == nil {
		r.failed = err
	}
	r.mu.Unlock()
	return nil, err
}

// Files is a mesh.Source of chosen files of the repository (the App's view
// of a pull request): each is read at the commit At says, or is absent
// when At says it is not on this side. Listing starts reading every listed
// file, so the loader finds them fetched, in parallel.
type Files struct {
	R     *Reader
	Files []mesh.File
	// At is the commit to read p at; ok is false when p does not exist on
	// this side (added or removed by the change).
	At func(ctx context.Context, p string) (sha string, ok bool, err error)
	// Known are contents had without asking GitHub (the repository's
	// configuration, from the registry).
	Known map[string][]byte
}

func (s *Files) List(ctx context.Context) ([]mesh.File, error) {
	for _, f := range s.Files {
		if f.Folder || f.Link || s.Known[f.Path] != nil {
			continue
		}
		if sha, ok, err := s.At(ctx, f.Path); err != nil {
			return nil, err
		} else if ok {
			s.R.Prefetch(ctx, f.Path, sha)
		}
	}
	return s.Files, nil
}

func (s *Files) Read(ctx context.Context, p string) ([]byte, error) {
	if b, ok := s.Known[p]; ok {
		return b, nil
	}
	sha, ok, err := s.At(ctx, p)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, &fs.PathError{Op: "read", Path: p, Err: fs.ErrNotExist}
	}
	return s.R.Read(ctx, p, sha)
}

// Parallel lets the loader run as many reads at once as the Reader allows.
func (s *Files) Parallel() int { return cap(s.R.sem) }

// Tree is the mesh.Source of a whole tree at a commit (the indexer's view
// of a default branch): listed with one request, files read on demand.
type Tree struct {
	R   *Reader
	SHA string

	blobs map[string]bool
}

func (t *Tree) List(ctx context.Context) ([]mesh.File, error) {
	entries, err := t.R.cl.Tree(ctx, t.R.owner, t.R.repo, t.SHA)
	if err != nil {
		return nil, err
	}
	t.R.KnowSizes(t.SHA, entries)
	t.blobs = make(map[string]bool, len(entries))
	var out []mesh.File
	for _, e := range entries {
		// Submodules are not followed: a descriptor's contract must live
		// in the repository itself. Symbolic links are listed as links,
		// never read (KnowSizes).
		if e.Type != "blob" {
			continue
		}
		if e.IsSymlink() {
			out = append(out, mesh.File{Path: e.Path, Version: e.SHA, Link: true})
			continue
		}
		t.blobs[e.Path] = true
		out = append(out, mesh.File{Path: e.Path, Version: e.SHA})
	}
	return out, nil
}

func (t *Tree) Read(ctx context.Context, p string) ([]byte, error) {
	if !t.blobs[p] {
		return nil, &fs.PathError{Op: "read", Path: p, Err: fs.ErrNotExist}
	}
	return t.R.Read(ctx, p, t.SHA)
}

// Parallel lets the loader run as many reads at once as the Reader allows.
func (t *Tree) Parallel() int { return cap(t.R.sem) }

// ConfigMark names the store mark (store.Marks) under which the index
// records a repository's discovery configuration (mesh.ConfigFile) at its
// default branch, so a pull-request check knows it without a request.
func ConfigMark(installation int64, repo string) string {
	return "discovery-config:" + strconv.FormatInt(installation, 10) + ":" + strings.ToLower(repo)
}

// EncodeConfig is the mark of a configuration file's content, or of its
// absence (src nil).
func EncodeConfig(src []byte) string {
	if src == nil {
		return "none"
	}
	return "file:" + string(src)
}

// DecodeConfig reads a mark EncodeConfig wrote: the content (nil when the
// repository has no configuration), and whether anything was recorded.
func DecodeConfig(mark string) (src []byte, recorded bool) {
	switch {
	case mark == "none":
		return nil, true
	case strings.HasPrefix(mark, "file:"):
		return []byte(strings.TrimPrefix(mark, "file:")), true
	}
	return nil, false
}
