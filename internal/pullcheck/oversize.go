package pullcheck

import (
	"cmp"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/meshbot/meshbot/internal/memfs"
	"github.com/meshbot/meshbot/internal/mesh"
)

// codeFileTooLarge is the code mesh.ParseYAML gives a file over
// mesh.MaxFileBytes; a file refused before download gets the same.
const codeFileTooLarge = "file-too-large"

// tooLarge is what reading a refused file answers: its real size, as GitHub
// reported it (-1: GitHub gave none and the download was cut).
type tooLarge struct{ size int64 }

func (e tooLarge) Error() string { return tooLargeMessage(e.size) }

func tooLargeMessage(size int64) string {
	if size < 0 {
		return fmt.Sprintf("file is over %d bytes; meshbot reads at most %d bytes per file", mesh.MaxFileBytes, mesh.MaxFileBytes)
	}
	return fmt.Sprintf("file is %d bytes; meshbot reads at most %d bytes per file", size, mesh.MaxFileBytes)
}

// sizedFS is a checkout in which the files GitHub said were too large are
// present (so descriptors naming them find them) but cannot be read: Load
// then reports them as it reports any unreadable file, and withSizes gives
// those problems the code and message of a file over the limit.
type sizedFS struct {
	*memfs.FS
	big map[string]int64
}

// checkout builds one side: files, plus big (path -> size) unread, plus
// links (path -> target) as symbolic links.
func checkout(files map[string][]byte, big map[string]int64, links map[string]string) (fs.FS, error) {
	if len(big) == 0 {
		return memfs.NewLinked(files, links)
	}
	all := make(map[string][]byte, len(files)+len(big))
	for p, b := range files {
		all[p] = b
	}
	for p := range big {
		all[p] = nil
	}
	m, err := memfs.NewLinked(all, links)
	if err != nil {
		return nil, err
	}
	return sizedFS{FS: m, big: big}, nil
}

func (s sizedFS) Open(name string) (fs.File, error) {
	if size, ok := s.big[name]; ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: tooLarge{size}}
	}
	return s.FS.Open(name)
}

func (s sizedFS) ReadFile(name string) ([]byte, error) {
	if size, ok := s.big[name]; ok {
		return nil, &fs.PathError{Op: "readfile", Path: name, Err: tooLarge{size}}
	}
	return s.FS.ReadFile(name)
}

// withSizes turns Load's read errors on refused files into what a file over
// the limit is when it is downloaded: a file-too-large problem on the file
// itself, with its real size, and nothing on a port that names it (Load
// says nothing there either for a contract it read but could not parse).
func withSizes(m *mesh.Mesh, big map[string]int64) {
	if len(big) == 0 {
		return
	}
	reported := set{}
	kept := m.Problems[:0]
	for _, p := range m.Problems {
		if p.Code != mesh.CodeReadError {
			kept = append(kept, p)
			continue
		}
		if size, ok := big[p.Pos.File]; ok {
			kept = append(kept, mesh.Problem{Code: codeFileTooLarge, Pos: mesh.Pos{File: p.Pos.File}, Message: tooLargeMessage(size)})
			reported.add(p.Pos.File)
			continue
		}
		if f := namedBig(p.Message, big); f != "" {
			if !reported[f] {
				kept = append(kept, mesh.Problem{Code: codeFileTooLarge, Pos: mesh.Pos{File: f}, Message: tooLargeMessage(big[f])})
				reported.add(f)
			}
			continue
		}
		kept = append(kept, p)
	}
	m.Problems = kept
	slices.SortStableFunc(m.Problems, func(a, b mesh.Problem) int {
		return cmp.Or(strings.Compare(a.Pos.File, b.Pos.File), cmp.Compare(a.Pos.Line, b.Pos.Line),
			cmp.Compare(a.Pos.Col, b.Pos.Col), strings.Compare(a.Code, b.Code))
	})
}

// namedBig is the refused file a port's read error is about, if any: the
// error ends with the refusal sizedFS gave for that file.
func namedBig(msg string, big map[string]int64) string {
	for f, size := range big {
		if strings.HasSuffix(msg, f+": "+tooLargeMessage(size)) {
			return f
		}
	}
	return ""
}
