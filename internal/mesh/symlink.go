package mesh

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// CodeSymlink is the problem of a descriptor or contract that is a symbolic
// link, or whose path goes through one: meshbot reads regular files only.
const CodeSymlink = "symlink"

// SymlinkError says a path is, or goes through, a symbolic link. Reading
// refuses it: following a link could read a file outside the checkout, and
// on GitHub a link is a blob holding its target's name, not the target.
type SymlinkError struct {
	Link   string // the link: the path itself, or a folder on the way to it
	Target string // what the link points at, as written in it ("" if unknown)
}

func (e *SymlinkError) Error() string {
	if e.Target == "" {
		return e.Link + " is a symbolic link"
	}
	return e.Link + " is a symbolic link to " + e.Target
}

// SymlinkProblem is the finding on file, a symbolic link or reached
// through one: what it is and what to do.
func SymlinkProblem(file string, e *SymlinkError) Problem {
	what := "is a symbolic link"
	if e.Link != file {
		what = "is reached through the symbolic link " + e.Link
	}
	if e.Target != "" {
		what += " (to " + e.Target + ")"
	}
	return Problem{Code: CodeSymlink, Pos: Pos{File: file}, Message: fmt.Sprintf(
		"%s %s; meshbot reads regular files only: commit the file itself at this path (replace the link with a copy, or move the file here and link the other way), or name the real file in the descriptor", file, what)}
}

// symlinkOf says whether p, or a folder on the way to it, is a symbolic
// link in fsys. File systems that cannot tell (no fs.ReadLinkFS) have none.
func symlinkOf(fsys fs.FS, p string) *SymlinkError {
	rl, ok := fsys.(fs.ReadLinkFS)
	if !ok {
		return nil
	}
	parts := strings.Split(p, "/")
	for i := range parts {
		sub := path.Join(parts[:i+1]...)
		fi, err := rl.Lstat(sub)
		if err != nil {
			return nil // absent: the read says so
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			target, _ := rl.ReadLink(sub)
			return &SymlinkError{Link: sub, Target: target}
		}
	}
	return nil
}

// asSymlink finds a *SymlinkError in err.
func asSymlink(err error) (*SymlinkError, bool) {
	var se *SymlinkError
	ok := errors.As(err, &se)
	return se, ok
}
