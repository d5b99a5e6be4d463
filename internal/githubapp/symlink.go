package githubapp

import "fmt"

// ModeSymlink is the mode of a tree entry that is a symbolic link: a blob
// holding the link's target.
const ModeSymlink = "120000"

// IsSymlink says whether the entry is a symbolic link.
func (e TreeEntry) IsSymlink() bool { return e.Mode == ModeSymlink }

// SymlinkError says the path asked for is a symbolic link. meshbot reads
// regular files only, so FileUpTo does not hand back what the link leads
// to. Target is where it points, as GitHub says (the link's text, or the
// path of the file GitHub followed it to), "" when unknown.
type SymlinkError struct {
	Path   string
	Target string
}

func (e *SymlinkError) Error() string {
	if e.Target == "" {
		return e.Path + " is a symbolic link"
	}
	return fmt.Sprintf("%s is a symbolic link to %s", e.Path, e.Target)
}

// contentSymlink tells, from the contents API's answer for path, whether
// path is a symbolic link. GitHub answers a link whose target is a
// regular file of the repository with that file (its own path, name and
// content) and any other link with an object of type "symlink" and its
// target; only a regular file at path answers with path itself.
func contentSymlink(path, typ, gotPath, target string) *SymlinkError {
	switch {
	case typ == "symlink":
		return &SymlinkError{Path: path, Target: target}
	case gotPath != "" && gotPath != path:
		return &SymlinkError{Path: path, Target: gotPath}
	}
	return nil
}
