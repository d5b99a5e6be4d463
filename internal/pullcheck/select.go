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

// toFetch is which files of the mesh a pull request touches, and so which
// files to fetch in their base and head versions.
type toFetch struct {
	// descriptors to judge, head and base versions; sorted.
	descriptors []string
	// contracts are changed files that Load reads as standalone contracts.
	contracts []string
	// unexplained are changed YAML/JSON files that neither are a descriptor
	// nor are known to the registry as an output port's contract. One of the
	// descriptors' contract paths may still name them; otherwise the head
	// tree is searched for their descriptors.
	unexplained []string
}

func (p toFetch) empty() bool {
	return len(p.descriptors) == 0 && len(p.contracts) == 0 && len(p.unexplained) == 0
}

// classify sorts a pull request's files. contractOf says which registered
// descriptors of this repository name a path as an output port's contract.
func classify(changes []change, contractOf func(path string) []string) toFetch {
	descs, contracts, unexplained := set{}, set{}, set{}
	for _, c := range changes {
		for _, p := range c.paths() {
			name := path.Base(p)
			switch {
			case mesh.IsDescriptorName(name):
				descs.add(p)
				continue
			case mesh.IsContractName(name):
				contracts.add(p)
			}
			if users := contractOf(p); len(users) > 0 {
				descs.add(users...)
				continue
			}
			if maybeContract(name) && !mesh.IsContractName(name) {
				unexplained.add(p)
			}
		}
	}
	// A standalone contract nobody registered may still belong to a nearby
	// descriptor (an ODPS port naming it by id): look for one too.
	for _, p := range contracts.sorted() {
		if len(contractOf(p)) == 0 {
			unexplained.add(p)
		}
	}
	return toFetch{descriptors: descs.sorted(), contracts: contracts.sorted(), unexplained: unexplained.sorted()}
}

// paths are the paths a change touches: a rename touches two.
func (c change) paths() []string {
	if c.Previous != "" && c.Previous != c.Path {
		return []string{c.Path, c.Previous}
	}
	return []string{c.Path}
}

// maybeContract says whether a file could be a data contract: contracts are
// YAML or JSON.
func maybeContract(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// nearbyDescriptors returns the descriptors of tree (a list of file paths)
// that sit in the folder of one of files or in a folder above it: where a
// contract's descriptor lives when the registry does not know it yet.
func nearbyDescriptors(files, tree []string) []string {
	byDir := map[string][]string{}
	for _, p := range tree {
		if mesh.IsDescriptorName(path.Base(p)) {
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

// contractsUnder returns the standalone contracts of tree below dir: the
// candidates for an ODPS port that names its contract by id.
func contractsUnder(dir string, tree []string) []string {
	var out []string
	for _, p := range tree {
		if mesh.IsContractName(path.Base(p)) && (dir == "." || strings.HasPrefix(p, dir+"/")) {
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
