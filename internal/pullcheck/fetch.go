package pullcheck

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"sync"
	"sync/atomic"

	"github.com/meshbot/meshbot/internal/githubapp"
	"github.com/meshbot/meshbot/internal/memfs"
	"github.com/meshbot/meshbot/internal/mesh"
)

// sides are the files of the two checkouts a check compares, by slash path.
// Files over mesh.MaxFileBytes are not downloaded: baseBig and headBig hold
// their sizes instead. Symbolic links are not read either: baseLink and
// headLink hold their targets ("" when GitHub did not say), and the
// checkouts show them as links, which mesh.Load reports as findings.
type sides struct {
	base, head         map[string][]byte
	baseBig, headBig   map[string]int64
	baseLink, headLink map[string]string
}

// version is one side's version of a file: its bytes, or its size when it
// is too large to download, or the target of the link it is.
type version struct {
	b    []byte
	big  int64
	link *githubapp.SymlinkError
}

// fetcher fetches the versions of files a check needs, at exact SHAs, a
// bounded number at a time. A file the pull request does not change is
// fetched once, at the head, and serves both sides.
type fetcher struct {
	j     *job
	limit int
	n     atomic.Int64

	mu       sync.Mutex
	baseSHA  string
	tree     []string
	treeDone bool
	atHead   set // changed paths present in the head
	atBase   set // changed paths present in the base
	touched  set
	done     set // paths whose versions are in out
	out      sides
	// sizes are blob sizes by commit SHA and path, from the trees read so
	// far: a file they say is too large is not asked for at all.
	sizes map[string]map[string]int64
	// links are the symbolic links of the trees read so far, by commit SHA
	// and path: they are not asked for either.
	links map[string]map[string]bool
}

func newFetcher(j *job, limit int) *fetcher {
	return &fetcher{j: j, limit: limit, baseSHA: j.BaseSHA, atHead: set{}, atBase: set{}, touched: set{}, done: set{},
		out: sides{base: map[string][]byte{}, head: map[string][]byte{}, baseBig: map[string]int64{}, headBig: map[string]int64{},
			baseLink: map[string]string{}, headLink: map[string]string{}},
		sizes: map[string]map[string]int64{}, links: map[string]map[string]bool{}}
}

func (f *fetcher) fetched() int { return int(f.n.Load()) }

func (f *fetcher) baseRef() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.baseSHA
}

// gather fetches everything want names: the descriptors, the contracts
// their ports name, the changed standalone contracts, and the descriptors
// near changed files nothing else explains.
func (f *fetcher) gather(ctx context.Context, changes []change, want toFetch, reg *registryView) (sides, error) {
	for _, c := range changes {
		f.touched.add(c.Path)
		if c.Status.InHead() {
			f.atHead.add(c.Path)
		}
		if c.Status.InBase() {
			f.atBase.add(c.Path)
		}
		if c.Status == githubapp.FileRenamed && c.Previous != "" {
			f.touched.add(c.Previous)
			f.atBase.add(c.Previous)
		}
	}
	if err := f.fetch(ctx, append(append([]string{}, want.descriptors...), want.contracts...)); err != nil {
		return sides{}, err
	}
	named, byID := f.contractRefs(want.descriptors)
	var rest []string
	for _, p := range want.unexplained {
		if !named[p] {
			rest = append(rest, p)
		}
	}
	var more []string
	if len(rest) > 0 {
		tree, err := f.headTree(ctx)
		if err != nil {
			return sides{}, err
		}
		for _, d := range nearbyDescriptors(rest, tree) {
			if !f.done[d] {
				more = append(more, d)
			}
		}
		if err := f.fetch(ctx, more); err != nil {
			return sides{}, err
		}
		n2, id2 := f.contractRefs(more)
		named.add(n2.sorted()...)
		byID = append(byID, id2...)
	}
	// Ports that name their contract by id (ODPS): the registry knows which
	// file that was; otherwise every standalone contract below the
	// descriptor is a candidate, as mesh.Load would consider them.
	for _, ref := range byID {
		if p := reg.portContract(ref.descriptor, ref.port); p != "" {
			named.add(p)
			continue
		}
		tree, err := f.headTree(ctx)
		if err != nil {
			return sides{}, err
		}
		named.add(contractsUnder(path.Dir(ref.descriptor), tree)...)
	}
	var contracts []string
	for _, p := range named.sorted() {
		if !f.done[p] {
			contracts = append(contracts, p)
		}
	}
	if err := f.fetch(ctx, contracts); err != nil {
		return sides{}, err
	}
	return f.out, nil
}

type idRef struct{ descriptor, port string }

// contractRefs reads both versions of descriptors for the contracts their
// output ports name: by path, or by id.
func (f *fetcher) contractRefs(descriptors []string) (set, []idRef) {
	named := set{}
	var byID []idRef
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, d := range descriptors {
		for _, src := range [][]byte{f.out.base[d], f.out.head[d]} {
			if src == nil {
				continue
			}
			p, _, _ := mesh.ReadDescriptor(d, src)
			if p == nil {
				continue // unreadable: Load reports it
			}
			for _, o := range p.OutputPorts {
				switch {
				case o.ContractPath != "":
					named.add(o.ContractPath)
				case o.ContractID != "":
					byID = append(byID, idRef{d, o.Name})
				}
			}
		}
	}
	return named, byID
}

// fetch gets both versions of paths, up to limit at a time.
func (f *fetcher) fetch(ctx context.Context, paths []string) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sem := make(chan struct{}, f.limit)
	var wg sync.WaitGroup
	for _, p := range paths {
		f.mu.Lock()
		dup := f.done[p]
		f.done.add(p)
		f.mu.Unlock()
		if dup {
			continue
		}
		if !memfs.ValidPath(p) {
			f.j.log.Warn("pullcheck: skipping a file whose path meshbot cannot represent", slog.String("path", p))
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return context.Cause(ctx)
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := f.versions(ctx, p); err != nil {
				cancel(err)
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return err
	}
	return nil
}

// versions fetches the base and head versions of p into out.
func (f *fetcher) versions(ctx context.Context, p string) error {
	if !f.touched[p] {
		// Untouched by the pull request: one fetch serves both sides.
		v, ok, err := f.file(ctx, p, f.j.HeadSHA)
		if err != nil || !ok {
			return err
		}
		f.keep(p, v, true)
		f.keep(p, v, false)
		return nil
	}
	if f.atHead[p] {
		v, ok, err := f.file(ctx, p, f.j.HeadSHA)
		if err != nil {
			return err
		}
		if ok {
			f.keep(p, v, true)
		}
	}
	if f.atBase[p] {
		sha, err := f.base(ctx)
		if err != nil {
			return err
		}
		v, ok, err := f.file(ctx, p, sha)
		if err != nil {
			return err
		}
		if ok {
			f.keep(p, v, false)
		}
	}
	return nil
}

// keep records one side's version of p.
func (f *fetcher) keep(p string, v version, head bool) {
	files, bigs, links := f.out.base, f.out.baseBig, f.out.baseLink
	if head {
		files, bigs, links = f.out.head, f.out.headBig, f.out.headLink
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case v.link != nil:
		links[p] = v.link.Target
	case v.big != 0:
		bigs[p] = v.big
	default:
		files[p] = v.b
	}
}

// file fetches p at sha; ok is false when it does not exist there. A file
// over mesh.MaxFileBytes is not downloaded: big is its size (-1 when
// GitHub did not say), from a tree already read or from the contents API.
// Nor is a symbolic link: a tree already read or the contents API says
// it is one.
func (f *fetcher) file(ctx context.Context, p, sha string) (version, bool, error) {
	f.mu.Lock()
	size, known := f.sizes[sha][p]
	link := f.links[sha][p]
	f.mu.Unlock()
	switch {
	case link:
		return version{link: &githubapp.SymlinkError{Path: p}}, true, nil
	case known && size > mesh.MaxFileBytes:
		return version{big: size}, true, nil
	}
	f.n.Add(1)
	b, err := f.j.cl.FileUpTo(ctx, f.j.Owner, f.j.Repo, p, sha, mesh.MaxFileBytes)
	var (
		tl *githubapp.TooLargeError
		se *githubapp.SymlinkError
	)
	switch {
	case errors.As(err, &tl):
		return version{big: tl.Size}, true, nil
	case errors.As(err, &se):
		return version{link: se}, true, nil
	case errors.Is(err, githubapp.ErrNotFound):
		return version{}, false, nil
	case err != nil:
		return version{}, false, err
	}
	return version{b: b}, true, nil
}

// knowSizes records the blob sizes and the links of a tree read at sha.
func (f *fetcher) knowSizes(sha string, entries []githubapp.TreeEntry) {
	m := make(map[string]int64, len(entries))
	var links map[string]bool
	for _, e := range entries {
		switch {
		case e.Type != "blob":
		case e.IsSymlink():
			if links == nil {
				links = map[string]bool{}
			}
			links[e.Path] = true
		default:
			m[e.Path] = e.Size
		}
	}
	f.sizes[sha] = m
	f.links[sha] = links
}

// base is the base SHA: from the job, else from the pull request
// (check_suite and check_run deliveries do not carry it).
func (f *fetcher) base(ctx context.Context) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.baseSHA != "" {
		return f.baseSHA, nil
	}
	pr, err := f.j.cl.PullRequest(ctx, f.j.Owner, f.j.Repo, f.j.PR)
	if err != nil {
		return "", err
	}
	f.baseSHA = pr.BaseSHA
	if f.baseSHA == "" {
		return "", fmt.Errorf("pull request %s#%d has no base SHA", f.j.fullName(), f.j.PR)
	}
	return f.baseSHA, nil
}

// headTree lists the head's files, once.
func (f *fetcher) headTree(ctx context.Context) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.treeDone {
		return f.tree, nil
	}
	entries, err := f.j.cl.Tree(ctx, f.j.Owner, f.j.Repo, f.j.HeadSHA)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.Type == "blob" {
			f.tree = append(f.tree, e.Path)
		}
	}
	f.knowSizes(f.j.HeadSHA, entries)
	f.treeDone = true
	return f.tree, nil
}

// load reads both checkouts; the base shares unchanged contracts with the
// head.
func load(ctx context.Context, j *job, s sides, baseSHA string) (head, base *mesh.Mesh, err error) {
	hfs, err := checkout(s.head, s.headBig, s.headLink)
	if err != nil {
		return nil, nil, fmt.Errorf("head files: %w", err)
	}
	bfs, err := checkout(s.base, s.baseBig, s.baseLink)
	if err != nil {
		return nil, nil, fmt.Errorf("base files: %w", err)
	}
	if head, err = mesh.Load(ctx, hfs); err != nil {
		return nil, nil, fmt.Errorf("load head: %w", err)
	}
	withSizes(head, s.headBig)
	head.Root = j.fullName() + "@" + j.HeadSHA
	if base, err = mesh.LoadReusing(ctx, bfs, head); err != nil {
		return nil, nil, fmt.Errorf("load base: %w", err)
	}
	withSizes(base, s.baseBig)
	base.Root = j.fullName() + "@" + baseSHA
	return head, base, nil
}
