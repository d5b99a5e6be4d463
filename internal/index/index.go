// Package index keeps the mesh registry in step with the default branches of
// the installations' repositories: it reads every descriptor and contract of
// a repository through the GitHub API and stores the products per
// repository (jobs.KindIndex), and forgets repositories and installations
// that went away (jobs.KindPurge).
package index

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/meshbot/meshbot/internal/githubapp"
	"github.com/meshbot/meshbot/internal/jobs"
	"github.com/meshbot/meshbot/internal/memfs"
	"github.com/meshbot/meshbot/internal/mesh"
	"github.com/meshbot/meshbot/internal/store"
)

// Deps are the Indexer's collaborators.
type Deps struct {
	GitHub   githubapp.Clients
	Registry store.Registry
	Logger   *slog.Logger // default slog.Default()
	// Concurrency bounds the file fetches of one repository; default 8.
	Concurrency int
}

// Indexer performs index and purge jobs.
type Indexer struct {
	gh    githubapp.Clients
	reg   store.Registry
	log   *slog.Logger
	limit int
}

// NewIndexer builds an Indexer.
func NewIndexer(deps Deps) *Indexer {
	log := deps.Logger
	if log == nil {
		log = slog.Default()
	}
	limit := deps.Concurrency
	if limit <= 0 {
		limit = 8
	}
	return &Indexer{gh: deps.GitHub, reg: deps.Registry, log: log, limit: limit}
}

// Relevant tells whether a push touching these paths can change the
// registry: only YAML (descriptors, DCS/ODCS contracts) and JSON (contracts
// may be written as JSON) files can. An empty list means "unknown", which is
// relevant.
func Relevant(paths []string) bool {
	if len(paths) == 0 {
		return true
	}
	for _, p := range paths {
		switch strings.ToLower(path.Ext(p)) {
		case ".yaml", ".yml", ".json":
			return true
		}
	}
	return false
}

// HandleIndex performs a jobs.KindIndex job.
//
// A push re-indexes the whole repository rather than only the touched
// files: a descriptor's products depend on contracts elsewhere in the tree
// (by path or, for ODPS, by id), renames and deletions would need careful
// bookkeeping, and a repository holds few descriptors, so reading them all
// again costs a handful of API calls and is obviously correct. A push whose
// paths hold no YAML or JSON file costs nothing at all.
//
// A job without a repository scans every repository of the installation
// (after the App is installed, or to resynchronise) and drops from the
// registry those the installation no longer sees.
func (ix *Indexer) HandleIndex(ctx context.Context, in jobs.Index, _ jobs.Meta) error {
	log := ix.log.With(slog.String("delivery", in.Delivery), slog.Int64("installation", in.Installation))
	if in.Repo != "" {
		log = log.With(slog.String("repo", in.Owner+"/"+in.Repo))
	}
	if !Relevant(in.Paths) {
		log.InfoContext(ctx, "index: push touches no YAML or JSON file, skipped", slog.Int("paths", len(in.Paths)))
		return nil
	}
	client, err := ix.gh.Installation(in.Installation)
	if err != nil {
		return fmt.Errorf("index: client of installation %d: %w", in.Installation, err)
	}
	if in.Repo == "" {
		return ix.scanInstallation(ctx, log, client, in.Installation)
	}
	return ix.indexRepo(ctx, log, client, in.Installation, in.Owner, in.Repo, in.Ref)
}

func (ix *Indexer) scanInstallation(ctx context.Context, log *slog.Logger, client githubapp.Installation, inst int64) error {
	repos, err := client.Repositories(ctx)
	if err != nil {
		return fmt.Errorf("index installation %d: %w", inst, err)
	}
	seen := make(map[string]bool, len(repos))
	for _, full := range repos {
		owner, name, ok := strings.Cut(full, "/")
		if !ok {
			continue
		}
		seen[full] = true
		rlog := log.With(slog.String("repo", full))
		if err := ix.indexRepo(ctx, rlog, client, inst, owner, name, ""); err != nil {
			if store.IsPermanent(err) {
				// One repository out of reach does not stop the others.
				rlog.WarnContext(ctx, "index: repository skipped", slog.Any("err", err))
				continue
			}
			// The whole scan is retried: repositories already indexed cost
			// their API calls again, which is the price of simple recovery.
			return err
		}
	}
	known, err := ix.reg.Repos(ctx, inst)
	if err != nil {
		return fmt.Errorf("index installation %d: list registry: %w", inst, err)
	}
	for _, r := range known {
		if !seen[r] {
			if err := ix.reg.DeleteRepo(ctx, inst, r); err != nil {
				return fmt.Errorf("index installation %d: drop %s: %w", inst, r, err)
			}
			log.InfoContext(ctx, "index: repository no longer visible, dropped", slog.String("repo", r))
		}
	}
	log.InfoContext(ctx, "index: installation scanned", slog.Int("repos", len(repos)))
	return nil
}

// maxReads bounds how often indexRepo reads a default branch that keeps
// moving under it before it hands the job back to the queue.
const maxReads = 3

// indexRepo reads the tip of owner/repo's default branch and replaces the
// repository's products in the registry.
//
// It reads the tip even when ref (the push's commit) is older: the tip
// holds that push's changes too, and a later push may have been skipped for
// touching no YAML, so reading exactly ref could leave the registry behind
// for good. Only a read of the tip as it still is after reading is written:
// jobs of two pushes may run at once on two workers, and an older tree must
// not replace a newer one. (A push landing between that last look and the
// write is the one gap left; its own job writes after this one.)
func (ix *Indexer) indexRepo(ctx context.Context, log *slog.Logger, client githubapp.Installation, inst int64, owner, repo, ref string) error {
	full := owner + "/" + repo
	branch, err := client.DefaultBranch(ctx, owner, repo)
	if err != nil {
		if errors.Is(err, githubapp.ErrNotFound) {
			// Gone or out of reach: the purge that follows removal does the
			// rest; retrying cannot help.
			return store.Permanent(fmt.Errorf("index %s: %w", full, err))
		}
		return fmt.Errorf("index %s: %w", full, err)
	}
	tip, err := client.BranchHead(ctx, owner, repo, branch)
	if errors.Is(err, githubapp.ErrNotFound) || errors.Is(err, githubapp.ErrEmptyRepository) {
		// A repository without commits has no default branch yet.
		log.InfoContext(ctx, "index: default branch has no commits", slog.String("branch", branch))
		return ix.put(ctx, inst, full, nil)
	}
	if err != nil {
		return fmt.Errorf("index %s: %w", full, err)
	}
	if ref != "" && ref != tip {
		log.InfoContext(ctx, "index: the default branch has moved past the pushed commit, reading its tip",
			slog.String("ref", ref), slog.String("tip", tip))
	}
	for read := 1; ; read++ {
		products, problems, err := ix.read(ctx, client, owner, repo, tip)
		if err != nil {
			return fmt.Errorf("index %s@%s: %w", full, tip, err)
		}
		now, err := client.BranchHead(ctx, owner, repo, branch)
		if err != nil {
			return fmt.Errorf("index %s: recheck tip: %w", full, err)
		}
		if now != tip {
			if read == maxReads {
				return fmt.Errorf("index %s: default branch moved during each of %d reads", full, read)
			}
			log.InfoContext(ctx, "index: default branch moved while reading, reading again", slog.String("read", tip), slog.String("tip", now))
			tip = now
			continue
		}
		for _, p := range problems {
			log.WarnContext(ctx, "index: problem in repository", slog.String("at", p.Pos.String()), slog.String("code", p.Code), slog.String("problem", p.Message))
		}
		if err := ix.put(ctx, inst, full, products); err != nil {
			return err
		}
		log.InfoContext(ctx, "index: repository indexed", slog.String("sha", tip),
			slog.Int("products", len(products)), slog.Int("problems", len(problems)))
		return nil
	}
}

func (ix *Indexer) put(ctx context.Context, inst int64, full string, products []*mesh.Product) error {
	if err := ix.reg.PutRepo(ctx, inst, full, products); err != nil {
		return fmt.Errorf("index %s: store: %w", full, err)
	}
	return nil
}

// read fetches the descriptors and contracts of owner/repo at sha and
// loads them as mesh.Load loads a checkout.
func (ix *Indexer) read(ctx context.Context, client githubapp.Installation, owner, repo, sha string) ([]*mesh.Product, []mesh.Problem, error) {
	tree, err := client.Tree(ctx, owner, repo, sha)
	if err != nil {
		return nil, nil, err
	}
	blobs := make(map[string]githubapp.TreeEntry)
	var descs, contracts []string
	for _, e := range tree {
		if e.Type != "blob" || skipped(e.Path) || !memfs.ValidPath(e.Path) {
			continue
		}
		blobs[e.Path] = e
		switch name := path.Base(e.Path); {
		case mesh.IsDescriptorName(name):
			descs = append(descs, e.Path)
		case mesh.IsContractName(name):
			contracts = append(contracts, e.Path)
		}
	}
	got := &fetched{files: map[string][]byte{}}
	if err := ix.fetch(ctx, client, owner, repo, sha, append(descs, contracts...), blobs, got); err != nil {
		return nil, nil, err
	}
	if err := ix.fetch(ctx, client, owner, repo, sha, namedContracts(descs, got.files, blobs), blobs, got); err != nil {
		return nil, nil, err
	}
	fsys, err := memfs.New(got.files)
	if err != nil {
		return nil, nil, err
	}
	m, err := mesh.Load(ctx, fsys)
	if err != nil {
		return nil, nil, err
	}
	for _, p := range m.Products {
		p.Repo = owner + "/" + repo
	}
	return m.Products, append(got.oversize, m.Problems...), nil
}

// fetched are a repository's files read so far, and those too large to.
type fetched struct {
	mu       sync.Mutex
	files    map[string][]byte
	oversize []mesh.Problem
}

// fetch reads paths at sha into got, a bounded number at a time. A file over
// mesh.MaxFileBytes is not fetched: mesh.Load would refuse it anyway, so it
// becomes a problem at once.
func (ix *Indexer) fetch(ctx context.Context, client githubapp.Installation, owner, repo, sha string, paths []string, blobs map[string]githubapp.TreeEntry, got *fetched) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(ix.limit)
	for _, p := range paths {
		if e := blobs[p]; e.Size > mesh.MaxFileBytes {
			got.mu.Lock()
			got.oversize = append(got.oversize, mesh.Problem{Code: mesh.CodeReadError, Pos: mesh.Pos{File: p},
				Message: fmt.Sprintf("%s is %d bytes, over the %d-byte limit", p, e.Size, mesh.MaxFileBytes)})
			got.mu.Unlock()
			continue
		}
		g.Go(func() error {
			b, err := client.File(gctx, owner, repo, p, sha)
			if err != nil {
				return err
			}
			got.mu.Lock()
			got.files[p] = b
			got.mu.Unlock()
			return nil
		})
	}
	return g.Wait()
}

// namedContracts are the contracts the descriptors' output ports name by
// path that exist in the tree and were not fetched as standalone contracts
// (their file names do not say they are contracts).
func namedContracts(descs []string, files map[string][]byte, blobs map[string]githubapp.TreeEntry) []string {
	var refs []string
	for _, d := range descs {
		src, ok := files[d]
		if !ok {
			continue
		}
		p, _, _ := mesh.ReadDescriptor(d, src)
		if p == nil {
			continue
		}
		for _, o := range p.OutputPorts {
			c := o.ContractPath
			if _, have := files[c]; c != "" && !have && !slices.Contains(refs, c) {
				if _, exists := blobs[c]; exists {
					refs = append(refs, c)
				}
			}
		}
	}
	return refs
}

// skipped mirrors the folders mesh.Load does not walk, so their files are
// not fetched for nothing.
func skipped(p string) bool {
	dirs := strings.Split(p, "/")
	for _, d := range dirs[:len(dirs)-1] {
		if strings.HasPrefix(d, ".") || d == "node_modules" {
			return true
		}
	}
	return false
}

// HandlePurge performs a jobs.KindPurge job.
func (ix *Indexer) HandlePurge(ctx context.Context, in jobs.Purge, _ jobs.Meta) error {
	log := ix.log.With(slog.String("delivery", in.Delivery), slog.Int64("installation", in.Installation))
	if len(in.Repos) == 0 {
		if err := ix.reg.DeleteInstallation(ctx, in.Installation); err != nil {
			return fmt.Errorf("purge installation %d: %w", in.Installation, err)
		}
		log.InfoContext(ctx, "purge: installation removed from the registry")
		return nil
	}
	for _, r := range in.Repos {
		if err := ix.reg.DeleteRepo(ctx, in.Installation, r); err != nil {
			return fmt.Errorf("purge %s: %w", r, err)
		}
	}
	log.InfoContext(ctx, "purge: repositories removed from the registry", slog.Any("repos", in.Repos))
	return nil
}
