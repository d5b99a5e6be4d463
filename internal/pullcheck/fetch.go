package pullcheck

import (
	"context"
	"fmt"
	"path"
	"sync"

	"github.com/meshbot/meshbot/internal/ghsource"
	"github.com/meshbot/meshbot/internal/githubapp"
	"github.com/meshbot/meshbot/internal/mesh"
)

// unchanged is the version token of a file the pull request does not
// touch: the same on both sides, so the loader reads it once, at the head.
const unchanged = "unchanged"

// view is the App's view of a pull request's two sides: the files chosen
// so far, and where each side's version of a file is read. Both sides are
// mesh.Sources over one ghsource.Reader, loaded by mesh.LoadPairSources as
// `meshbot check --base` loads a folder and a git revision.
type view struct {
	j *job
	r *ghsource.Reader

	mu       sync.Mutex
	baseSHA  string
	tree     []string
	treeDone bool
	atHead   set // changed paths present in the head
	atBase   set // changed paths present in the base
	touched  set
	files    set // chosen so far
	// known are contents had without GitHub (the configuration the index
	// recorded), for both sides when the change does not touch them.
	known map[string][]byte
}

func newView(j *job, limit int, c theChange) *view {
	v := &view{j: j, r: ghsource.NewReader(j.cl, j.Owner, j.Repo, limit), baseSHA: j.BaseSHA,
		atHead: set{}, atBase: set{}, touched: set{}, files: set{}, known: map[string][]byte{}}
	for _, ch := range c.changes {
		v.touched.add(ch.Path)
		if ch.Status.InHead() {
			v.atHead.add(ch.Path)
		}
		if ch.Status.InBase() {
			v.atBase.add(ch.Path)
		}
		if ch.Status == githubapp.FileRenamed && ch.Previous != "" {
			v.touched.add(ch.Previous)
			v.atBase.add(ch.Previous)
		}
	}
	if c.head != nil {
		// The head's tree was read to find the change: it is not read
		// again, and its sizes spare downloads of files over the limit.
		for _, e := range c.head.Entries {
			if e.Type == "blob" {
				v.tree = append(v.tree, e.Path)
			}
		}
		v.r.KnowSizes(j.HeadSHA, c.head.Entries)
		v.treeDone = true
	}
	return v
}

func (v *view) fetched() int { return v.r.Calls() }

// choose adds paths to the files loaded; it reports whether any was new.
func (v *view) choose(paths ...string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	n := len(v.files)
	v.files.add(paths...)
	return len(v.files) > n
}

// load reads both sides of the files chosen so far. A GitHub failure on
// any file fails the load (the job is retried): a verdict on files that
// could not be read would be wrong.
func (v *view) load(ctx context.Context) (head, base *mesh.Mesh, err error) {
	head, base, err = mesh.LoadPairSources(ctx, v.side(true), v.side(false))
	if err == nil {
		err = v.r.Err()
	}
	if err != nil {
		v.r.Wait()
		return nil, nil, err
	}
	head.Root = v.j.fullName() + "@" + v.j.HeadSHA
	base.Root = v.j.fullName() + "@" + v.baseRef()
	return head, base, nil
}

// side is one side's Source: the chosen files present on it, untouched
// ones with the token both sides share.
func (v *view) side(head bool) *ghsource.Files {
	v.mu.Lock()
	defer v.mu.Unlock()
	var files []mesh.File
	for _, p := range v.files.sorted() {
		f := mesh.File{Path: p}
		switch {
		case !v.touched[p]:
			f.Version = unchanged
		case head && !v.atHead[p], !head && !v.atBase[p]:
			continue
		}
		files = append(files, f)
	}
	src := &ghsource.Files{R: v.r, Files: files, At: v.atBaseSide, Known: v.known}
	if head {
		src.At = v.atHeadSide
	}
	return src
}

func (v *view) atHeadSide(_ context.Context, p string) (string, bool, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.j.HeadSHA, !v.touched[p] || v.atHead[p], nil
}

func (v *view) atBaseSide(ctx context.Context, p string) (string, bool, error) {
	v.mu.Lock()
	untouched, inBase := !v.touched[p], v.atBase[p]
	v.mu.Unlock()
	switch {
	case untouched:
		return v.j.HeadSHA, true, nil // one fetch serves both sides
	case !inBase:
		return "", false, nil
	}
	sha, err := v.base(ctx)
	return sha, err == nil, err
}

func (v *view) baseRef() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.baseSHA
}

// base is the base SHA: from the job, else from the pull request
// (check_suite and check_run deliveries do not carry it).
func (v *view) base(ctx context.Context) (string, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.baseSHA != "" {
		return v.baseSHA, nil
	}
	pr, err := v.j.cl.PullRequest(ctx, v.j.Owner, v.j.Repo, v.j.PR)
	if err != nil {
		return "", err
	}
	if pr.BaseSHA == "" {
		return "", fmt.Errorf("pull request %s#%d has no base SHA", v.j.fullName(), v.j.PR)
	}
	v.baseSHA = pr.BaseSHA
	return v.baseSHA, nil
}

// headTree lists the head's files, once.
func (v *view) headTree(ctx context.Context) ([]string, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.treeDone {
		return v.tree, nil
	}
	entries, err := v.j.cl.Tree(ctx, v.j.Owner, v.j.Repo, v.j.HeadSHA)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.Type == "blob" {
			v.tree = append(v.tree, e.Path)
		}
	}
	v.r.KnowSizes(v.j.HeadSHA, entries)
	v.treeDone = true
	return v.tree, nil
}

// more is what else to load once the chosen files are read: the
// descriptors near a changed contract no loaded port names and the
// registry does not know, and, for ports that name their contract by id,
// the file the registry resolved or else every candidate below the
// descriptor (as `meshbot check` considers every file of the checkout).
func (v *view) more(ctx context.Context, head, base *mesh.Mesh, reg *registryView, disc mesh.Discovery) ([]string, error) {
	named := set{}
	var byID [][2]string // descriptor, port
	for _, m := range []*mesh.Mesh{head, base} {
		for _, p := range m.Products {
			for _, o := range p.OutputPorts {
				switch {
				case o.ContractPath != "":
					named.add(o.ContractPath)
				case o.ContractID != "":
					byID = append(byID, [2]string{p.File, o.Name})
				}
			}
		}
	}
	var orphans []string
	for _, m := range []*mesh.Mesh{head, base} {
		for p := range m.Contracts {
			if v.touched[p] && !named[p] && len(reg.users[p]) == 0 {
				orphans = append(orphans, p)
			}
		}
	}
	var out []string
	if len(orphans) > 0 {
		tree, err := v.headTree(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, nearby(orphans, tree, disc)...)
	}
	for _, ref := range byID {
		if p := reg.portContract(ref[0], ref[1]); p != "" {
			out = append(out, p)
			continue
		}
		tree, err := v.headTree(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, under(path.Dir(ref[0]), tree, disc)...)
	}
	return out, nil
}
