// Package index keeps the mesh registry in step with the default branches of
// the installations' repositories: it reads every descriptor and contract of
// a repository through the GitHub API and stores the products per
// repository (jobs.KindIndex), and forgets repositories and installations
// that went away (jobs.KindPurge).
//
// A repository's products are dropped only on evidence: the installation
// no longer lists it (a scan, or installation_repositories removed), or
// GitHub says its repository is empty (409). A 404 on the default branch,
// a 5xx or a rate limit leaves the registry as it was and fails the job for
// the queue to retry; an installation-wide scan is one job per repository,
// so one repository GitHub keeps failing on never holds up the others.
package index

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/meshbot/meshbot/internal/ghsource"
	"github.com/meshbot/meshbot/internal/githubapp"
	"github.com/meshbot/meshbot/internal/jobs"
	"github.com/meshbot/meshbot/internal/mesh"
	"github.com/meshbot/meshbot/internal/store"
)

// Deps are the Indexer's collaborators.
type Deps struct {
	GitHub   githubapp.Clients
	Registry store.Registry
	// Queue takes the per-repository jobs an installation-wide scan fans
	// out into; without it a scan job fails permanently.
	Queue store.Dedup
	// Marks, when set, records each repository's discovery configuration
	// (ghsource.ConfigMark), so a pull-request check knows it at no cost.
	Marks  store.Marks
	Logger *slog.Logger // default slog.Default()
	// Concurrency bounds the file fetches of one repository; default 8.
	Concurrency int
}

// Indexer performs index and purge jobs.
type Indexer struct {
	gh    githubapp.Clients
	reg   store.Registry
	queue store.Dedup
	marks store.Marks
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
	return &Indexer{gh: deps.GitHub, reg: deps.Registry, queue: deps.Queue, marks: deps.Marks, log: log, limit: limit}
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

// widened says whether the repository's recorded discovery configuration
// includes one of the pushed paths that Relevant passed over (an include
// of other names than YAML and JSON).
func (ix *Indexer) widened(ctx context.Context, in jobs.Index) bool {
	if ix.marks == nil || in.Repo == "" {
		return false
	}
	mark, err := ix.marks.Mark(ctx, ghsource.ConfigMark(in.Installation, in.Owner+"/"+in.Repo))
	if err != nil {
		return true // cannot tell: reading the repository again is safe
	}
	src, _ := ghsource.DecodeConfig(mark)
	if src == nil {
		return false
	}
	d, _ := mesh.ReadDiscovery(src)
	for _, p := range in.Paths {
		if ok, _ := d.Consider(p); ok {
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
// A job without a repository scans the installation: it drops from the
// registry the repositories the installation no longer lists and enqueues
// one index job per repository it does (see scanInstallation).
func (ix *Indexer) HandleIndex(ctx context.Context, in jobs.Index, m jobs.Meta) error {
	log := ix.log.With(slog.String("delivery", in.Delivery), slog.Int64("installation", in.Installation),
		slog.Int("attempt", m.Attempt))
	if in.Repo != "" {
		log = log.With(slog.String("repo", in.Owner+"/"+in.Repo))
	}
	if !Relevant(in.Paths) && !ix.widened(ctx, in) {
		log.InfoContext(ctx, "index: push touches no YAML or JSON file, skipped", slog.Int("paths", len(in.Paths)))
		return nil
	}
	client, err := ix.gh.Installation(in.Installation)
	if err != nil {
		return fmt.Errorf("index: client of installation %d: %w", in.Installation, err)
	}
	if in.Repo == "" {
		return ix.scanInstallation(ctx, log, client, in, m)
	}
	return ix.indexRepo(ctx, log, client, in.Installation, in.Owner, in.Repo, in.Ref)
}

// ScanTTL is how long the id of a scan's fan-out is remembered: a scan job
// that runs again within it (a retry after its jobs were enqueued, a lost
// lease) enqueues nothing twice.
const ScanTTL = 24 * time.Hour

// scanInstallation fans an installation-wide scan out into one index job
// per repository, so that one repository GitHub keeps failing on is retried
// and dead-lettered on its own while the others are indexed. The jobs are
// enqueued as one delivery whose id is the scan job's: their ids are stable
// (scan id + repository), and a scan that runs again dedups.
//
// A repository the installation no longer lists is dropped here: the
// listing is the evidence that it left the installation.
func (ix *Indexer) scanInstallation(ctx context.Context, log *slog.Logger, client githubapp.Installation, in jobs.Index, m jobs.Meta) error {
	inst := in.Installation
	if ix.queue == nil {
		return store.Permanent(fmt.Errorf("index installation %d: no queue to enqueue the repositories' jobs in", inst))
	}
	repos, err := client.Repositories(ctx)
	if err != nil {
		return fmt.Errorf("index installation %d: %w", inst, err)
	}
	scanID := m.ID
	if scanID == "" {
		scanID = in.Delivery
	}
	d := store.Delivery{ID: "index-scan/" + strconv.FormatInt(inst, 10) + "/" + scanID, TTL: ScanTTL}
	seen := make(map[string]bool, len(repos))
	for _, full := range repos {
		owner, name, ok := strings.Cut(full, "/")
		if !ok || seen[full] {
			continue
		}
		seen[full] = true
		j, err := jobs.KindIndex.New(scanID+"/"+full, "", jobs.Index{Delivery: in.Delivery, Installation: inst, Owner: owner, Repo: name})
		if err != nil {
			return err
		}
		d.Jobs = append(d.Jobs, j)
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
			log.InfoContext(ctx, "index: repository no longer in the installation, dropped", slog.String("repo", r))
		}
	}
	if len(d.Jobs) == 0 {
		log.InfoContext(ctx, "index: installation lists no repository")
		return nil
	}
	fresh, err := ix.queue.EnqueueDelivery(ctx, d)
	if err != nil {
		return fmt.Errorf("index installation %d: enqueue %d repositories: %w", inst, len(d.Jobs), err)
	}
	log.InfoContext(ctx, "index: installation scanned, one job per repository", slog.Int("repos", len(d.Jobs)), slog.Bool("enqueued", fresh))
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
	branch, tip, err := ix.branchHead(ctx, log, client, owner, repo)
	if errors.Is(err, githubapp.ErrEmptyRepository) {
		// Verified empty (GitHub's 409): no commits, so no products.
		log.InfoContext(ctx, "index: repository is empty, its products are dropped", slog.String("branch", branch))
		_, err := ix.put(ctx, inst, full, nil, store.Sources{}, nil)
		return err
	}
	if err != nil {
		return err
	}
	if ref != "" && ref != tip {
		log.InfoContext(ctx, "index: the default branch has moved past the pushed commit, reading its tip",
			slog.String("ref", ref), slog.String("tip", tip))
	}
	for read := 1; ; read++ {
		products, problems, config, files, err := ix.read(ctx, client, owner, repo, tip)
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
		stored, err := ix.put(ctx, inst, full, products, store.Sources{SHA: tip, Files: files}, config)
		if err != nil {
			return err
		}
		// The documents are kept for policy previews; what they cost per
		// product is the figure an operator sizing Redis needs.
		perProduct := 0
		if len(products) > 0 {
			perProduct = stored / len(products)
		}
		log.InfoContext(ctx, "index: repository indexed", slog.String("sha", tip),
			slog.Int("products", len(products)), slog.Int("problems", len(problems)),
			slog.Int("documents", len(files)), slog.Int("documents_stored_bytes", stored),
			slog.Int("documents_stored_bytes_per_product", perProduct))
		return nil
	}
}

// branchHead reads owner/repo's default branch and the commit it points at.
// An error wrapping githubapp.ErrEmptyRepository is the evidence that the
// repository has no commits; every other error leaves the registry alone.
//
// A 404 on the branch's ref is not that evidence: the default branch may
// have been renamed since the repository was read, or a replica may lag
// behind the push that announced it. So the repository is read again and,
// its default branch still answering 404, the error is transient: the
// queue retries with backoff and, after the last attempt, dead-letters the
// job with the registry entry as it was.
func (ix *Indexer) branchHead(ctx context.Context, log *slog.Logger, client githubapp.Installation, owner, repo string) (branch, tip string, err error) {
	full := owner + "/" + repo
	for read := 1; ; read++ {
		branch, err = client.DefaultBranch(ctx, owner, repo)
		if err != nil {
			if errors.Is(err, githubapp.ErrNotFound) {
				// Gone or out of reach: the purge that follows removal does
				// the rest; retrying cannot help, and nothing is dropped.
				return "", "", store.Permanent(fmt.Errorf("index %s: %w", full, err))
			}
			return "", "", fmt.Errorf("index %s: %w", full, err)
		}
		tip, err = client.BranchHead(ctx, owner, repo, branch)
		switch {
		case err == nil:
			return branch, tip, nil
		case errors.Is(err, githubapp.ErrEmptyRepository):
			return branch, "", fmt.Errorf("index %s: %w", full, err)
		case !errors.Is(err, githubapp.ErrNotFound):
			return "", "", fmt.Errorf("index %s: %w", full, err)
		case read == 2:
			log.WarnContext(ctx, "index: default branch not found twice (renamed, a race or a lagging replica): registry entry kept, to be retried",
				slog.String("branch", branch), slog.Any("err", err))
			return "", "", fmt.Errorf("index %s: default branch %s not found; registry entry kept: %w", full, branch, err)
		}
		log.InfoContext(ctx, "index: default branch not found, reading the repository again", slog.String("branch", branch))
	}
}

// put writes the repository's products with the documents they were read
// from (what a policy preview evaluates), and its discovery configuration
// (nil: none) when there is somewhere to record it. It returns the bytes
// the documents take.
func (ix *Indexer) put(ctx context.Context, inst int64, full string, products []*mesh.Product, src store.Sources, config []byte) (int, error) {
	stored, err := ix.reg.PutRepoSources(ctx, inst, full, products, src)
	if err != nil {
		return 0, fmt.Errorf("index %s: store: %w", full, err)
	}
	if ix.marks != nil {
		if err := ix.marks.SetMark(ctx, ghsource.ConfigMark(inst, full), ghsource.EncodeConfig(config), 0); err != nil {
			return 0, fmt.Errorf("index %s: record its discovery configuration: %w", full, err)
		}
	}
	return stored, nil
}

// read loads owner/repo at sha through the loader `meshbot check` uses: its
// tree is listed once, and the files discovery considers are read (a
// bounded number at a time) and judged by their content.
//
// config is the repository's discovery configuration (nil when it has
// none), read once by the loader. files are the files read (documents,
// and the configuration that chose them), documents in parsed form
// (mesh.EncodeFiles): the registry keeps them, and a policy preview then
// loads thousands of them (mesh.LoadStored) without parsing YAML again.
//
// Symbolic links (tree mode 120000) are never fetched: the loader reports
// a descriptor or contract that is one as a finding, as Load does in a
// checkout.
func (ix *Indexer) read(ctx context.Context, client githubapp.Installation, owner, repo, sha string) (products []*mesh.Product, problems []mesh.Problem, config []byte, files map[string][]byte, err error) {
	r := ghsource.NewReader(client, owner, repo, ix.limit)
	m, err := mesh.LoadSource(ctx, &ghsource.Tree{R: r, SHA: sha})
	r.Wait()
	if err == nil {
		err = r.Err() // GitHub failed on a file: the registry keeps what it had
	}
	if err != nil {
		return nil, nil, nil, nil, err
	}
	files = make(map[string][]byte, len(m.Files.Read))
	for _, f := range m.Files.Read {
		b, err := r.Read(ctx, f.Path, sha) // read already: no request
		if err != nil {
			return nil, nil, nil, nil, err
		}
		files[f.Path] = b
		if f.As == mesh.RoleConfig {
			config = b
		}
	}
	for _, p := range m.Products {
		p.Repo = owner + "/" + repo
	}
	return m.Products, m.Problems, config, mesh.EncodeFiles(m, files), nil
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
