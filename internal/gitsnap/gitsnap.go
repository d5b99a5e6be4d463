// Package gitsnap reads one revision of a folder of a git repository as a
// mesh.Source, so that `meshbot check --base REF` reads a base version
// through the same loader as any other: the revision's files are listed
// with their blob ids (`git ls-tree`), and only the blobs the loader asks
// for are read (`git cat-file --batch`), which, for a base compared with a
// head, are the ones that differ from the head.
package gitsnap

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os/exec"
	"strconv"
	"strings"
	"sync"

	"github.com/meshbot/meshbot/internal/mesh"
)

// IsRef reports whether ref names a revision of the repository holding dir.
func IsRef(ctx context.Context, dir, ref string) bool {
	if ref == "" || strings.HasPrefix(ref, "-") {
		return false
	}
	cmd := exec.CommandContext(ctx, "git", "-C", dir, "rev-parse", "--verify", "--quiet", ref+"^{commit}")
	return cmd.Run() == nil
}

// Source is dir's subtree at revision ref. dir may be any folder inside the
// work tree; paths are relative to it. Close ends the reader process.
type Source struct {
	top, tree string
	blobs     map[string]string // path -> blob id, from List

	mu  sync.Mutex
	cat *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

// Open returns the Source of dir at ref.
func Open(ctx context.Context, dir, ref string) (*Source, error) {
	if !IsRef(ctx, dir, ref) {
		return nil, fmt.Errorf("%q is not a revision of the git repository at %s", ref, dir)
	}
	prefix, err := git(ctx, dir, "rev-parse", "--show-prefix")
	if err != nil {
		return nil, fmt.Errorf("locate %s in its repository: %w", dir, err)
	}
	top, err := git(ctx, dir, "rev-parse", "--show-toplevel")
	if err != nil {
		return nil, fmt.Errorf("locate the repository of %s: %w", dir, err)
	}
	return &Source{top: strings.TrimSpace(string(top)), tree: ref + ":" + strings.TrimSuffix(strings.TrimSpace(string(prefix)), "/")}, nil
}

// List names every blob of the tree with its id. Symbolic links (mode
// 120000) are listed as links, with their target, and never read as files;
// submodules are not listed: a descriptor's contract must live in the
// repository itself.
func (s *Source) List(ctx context.Context) ([]mesh.File, error) {
	out, err := git(ctx, s.top, "ls-tree", "-r", "-z", "--full-name", s.tree)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", s.tree, err)
	}
	s.blobs = map[string]string{}
	var files []mesh.File
	for _, rec := range bytes.Split(out, []byte{0}) {
		if len(rec) == 0 {
			continue
		}
		meta, p, ok := strings.Cut(string(rec), "\t")
		f := strings.Fields(meta)
		if !ok || len(f) != 3 || f[1] != "blob" {
			continue
		}
		if f[0] == "120000" {
			// A link's blob is its target's name: read for the finding
			// (links are few), never as the file.
			target, err := s.blob(ctx, p, f[2])
			if err != nil {
				return nil, err
			}
			files = append(files, mesh.File{Path: p, Version: f[2], Link: true, Target: string(target)})
			continue
		}
		s.blobs[p] = f[2]
		files = append(files, mesh.File{Path: p, Version: f[2]})
	}
	return files, nil
}

// Read returns a listed file's blob, at most mesh.MaxFileBytes+1 bytes of
// it. Reads share one `git cat-file --batch` process, one at a time.
func (s *Source) Read(ctx context.Context, p string) ([]byte, error) {
	id, ok := s.blobs[p]
	if !ok {
		return nil, &fs.PathError{Op: "read", Path: p, Err: fs.ErrNotExist}
	}
	return s.blob(ctx, p, id)
}

// blob reads blob id (the file at p) through the shared reader process.
func (s *Source) blob(ctx context.Context, p, id string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.cat == nil {
		if err := s.start(); err != nil {
			return nil, err
		}
	}
	if _, err := fmt.Fprintln(s.in, id); err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	head, err := s.out.ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	f := strings.Fields(head)
	if len(f) != 3 || f[1] != "blob" {
		return nil, fmt.Errorf("read %s: git cat-file answered %q", p, strings.TrimSpace(head))
	}
	size, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("read %s: git cat-file answered %q", p, strings.TrimSpace(head))
	}
	keep := min(size, mesh.MaxFileBytes+1)
	b := make([]byte, keep)
	if _, err := io.ReadFull(s.out, b); err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	// The rest of an oversized blob, and the newline after every blob.
	if _, err := s.out.Discard(int(size-keep) + 1); err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	return b, nil
}

func (s *Source) start() error {
	// Not bound to a request's context: the process serves every Read
	// until Close.
	cmd := exec.Command("git", "-C", s.top, "cat-file", "--batch")
	in, err := cmd.StdinPipe()
	if err != nil {
		return fmt.Errorf("git cat-file: %w", err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("git cat-file: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("git cat-file: %w", err)
	}
	s.cat, s.in, s.out = cmd, in, bufio.NewReaderSize(out, 64<<10)
	return nil
}

// Close ends the reader process, if one was started.
func (s *Source) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cat == nil {
		return nil
	}
	s.in.Close()
	err := s.cat.Wait()
	s.cat = nil
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return fmt.Errorf("git cat-file: %w", err)
	}
	return err
}

func git(ctx context.Context, dir string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}
