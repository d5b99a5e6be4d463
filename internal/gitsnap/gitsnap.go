// Package gitsnap materialises one revision of a folder of a git repository
// as a plain folder, so that `meshbot check --base REF` reads a base version
// exactly as it reads any other checkout.
package gitsnap

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
)

// MaxBytes caps what one snapshot may extract. Descriptors and contracts are
// small; a repository with more than this in the checked folder is better
// served by pointing --base at a folder.
const MaxBytes = 512 << 20

// IsRef reports whether ref names a revision of the repository holding dir.
func IsRef(ctx context.Context, dir, ref string) bool {
	if ref == "" || strings.HasPrefix(ref, "-") {
		return false
	}
	cmd := exec.CommandContext(ctx, "git", "-C", dir, "rev-parse", "--verify", "--quiet", ref+"^{commit}")
	return cmd.Run() == nil
}

// Snapshot writes the content of dir at revision ref into a new temporary
// folder and returns it with a function that removes it. dir may be any
// folder inside the work tree; the snapshot holds that folder's subtree.
func Snapshot(ctx context.Context, dir, ref string) (string, func(), error) {
	if !IsRef(ctx, dir, ref) {
		return "", nil, fmt.Errorf("%q is not a revision of the git repository at %s", ref, dir)
	}
	prefix, err := git(ctx, dir, "rev-parse", "--show-prefix")
	if err != nil {
		return "", nil, fmt.Errorf("locate %s in its repository: %w", dir, err)
	}
	top, err := git(ctx, dir, "rev-parse", "--show-toplevel")
	if err != nil {
		return "", nil, fmt.Errorf("locate the repository of %s: %w", dir, err)
	}
	tree := ref + ":" + strings.TrimSpace(string(prefix))
	tmp, err := os.MkdirTemp("", "meshbot-base-")
	if err != nil {
		return "", nil, fmt.Errorf("create snapshot folder: %w", err)
	}
	cleanup := func() { os.RemoveAll(tmp) }
	cmd := exec.CommandContext(ctx, "git", "-C", strings.TrimSpace(string(top)), "archive", "--format=tar", tree)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		cleanup()
		return "", nil, fmt.Errorf("git archive %s: %w", tree, err)
	}
	if err := cmd.Start(); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("git archive %s: %w", tree, err)
	}
	extractErr := extract(out, tmp)
	if extractErr != nil {
		_, _ = io.Copy(io.Discard, out)
	}
	waitErr := cmd.Wait()
	if extractErr != nil {
		cleanup()
		return "", nil, fmt.Errorf("extract %s: %w", tree, extractErr)
	}
	if waitErr != nil {
		cleanup()
		return "", nil, fmt.Errorf("git archive %s: %w: %s", tree, waitErr, strings.TrimSpace(stderr.String()))
	}
	return tmp, cleanup, nil
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

func extract(r io.Reader, dst string) error {
	tr := tar.NewReader(r)
	var total int64
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := path.Clean(h.Name)
		if name == "." || path.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../") {
			return fmt.Errorf("archive entry %q leaves the snapshot", h.Name)
		}
		target := filepath.Join(dst, filepath.FromSlash(name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			total += h.Size
			if total > MaxBytes {
				return fmt.Errorf("snapshot exceeds %d bytes", MaxBytes)
			}
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, io.LimitReader(tr, h.Size))
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		default:
			// Symlinks and submodules are not followed: a descriptor's
			// contract must live in the repository itself.
		}
	}
}
