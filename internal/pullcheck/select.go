package pullcheck

import (
	"path"
	"slices"
	"strings"

	"github.com/meshbot/meshbot/internal/githubapp"
	"github.com/meshbot/meshbot/internal/mesh"
)

// change is one file of a pull request as GitHub lists it.
type change struct {
	Path     string // the file's path in the head
	Previous string // for a rename, its path in the base
	Status   githubapp.FileStatus
}

// paths are the paths a change touches: a rename touches two.
func (c change) paths() []string {
	if c.Previous != "" && c.Previous != c.Path {
		return []string{c.Path, c.Previous}
	}
	return []string{c.Path}
}

// selectFiles is what to load first of a pull request: every changed file
// discovery considers (its content will say whether it is a descriptor or
// a contract, as `meshbot check` decides), the repository's configuration
// when the change touches it, and the descriptors the registry says name a
// changed file as a contract. Nothing is chosen by file name.
func selectFiles(changes []change, disc mesh.Discovery, contractOf func(path string) []string) []string {
	out := set{}
	for _, c := range changes {
		for _, p := range c.paths() {
			if p == mesh.ConfigFile {
				out.add(p)
				continue
			}
			if ok, _ := disc.Consider(p); ok {
				out.add(p)
			}
			out.add(contractOf(p)...)
		}
	}
	return out.sorted()
}

// considered says whether any changed file could matter, before the
// registry is read.
func considered(changes []change, disc mesh.Discovery) bool {
	for _, c := range changes {
		for _, p := range c.paths() {
			if ok, _ := disc.Consider(p); ok || p == mesh.ConfigFile {
				return true
			}
		}
	}
	return false
}

// nearby returns the files of tree discovery considers that sit in the
// folder of one of files or in a folder above it: where a contract's
// descriptor lives when the registry does not know it yet.
func nearby(files, tree []string, disc mesh.Discovery) []string {
	byDir := map[string][]string{}
	for _, p := range tree {
		if ok, _ := disc.Consider(p); ok {
			d := path.Dir(p)
			byDir[d] = append(byDir[d], p)
		}
	}
	out := set{}
	for _, f := range files {
		for d := path.Dir(f); ; d = path.Dir(d) {
			out.add(byDir[d]...)
			if d == "." || d == "/" {
				break
			}
		}
	}
	return out.sorted()
}

// under returns the files of tree below dir that discovery considers: the
// candidates for a port that names its contract by id.
func under(dir string, tree []string, disc mesh.Discovery) []string {
	var out []string
	for _, p := range tree {
		if ok, _ := disc.Consider(p); ok && (dir == "." || strings.HasPrefix(p, dir+"/")) {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

type set map[string]bool

func (s set) add(ps ...string) {
	for _, p := range ps {
		s[p] = true
	}
}

func (s set) sorted() []string {
	out := make([]string, 0, len(s))
	for p := range s {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}
