// Package policyimpact previews a policy change: it judges every data
// product of an installation's registry with the active policy and with a
// proposed one, and reports which products newly fail, newly pass, or move
// between warning and failure, per product and owning team, with each
// finding's message and location.
//
// It asks GitHub nothing. The registry keeps the documents every product
// was read from, parsed (mesh.EncodeFiles: value and positions, so YAML is
// not parsed again), at the commit indexing read them (store.Sources); a
// preview reads them back, loads each repository as a pull request's check
// loads a checkout (mesh.LoadStored, which gives what mesh.Load gave) and
// judges it with the engine under both policies at once
// (engine.EvaluateEach, no base: the report engine.Evaluate gives for each,
// with each document converted for OPA once), so a policy sees in a
// preview exactly the input, context and routing it sees on a pull
// request: every descriptor and contract, every format, with the
// registry's products as registered consumers. Repositories are judged in
// parallel, GOMAXPROCS at a time.
//
// For the policy repository's check: build a Previewer once and call
// Section from the check of a policy pull request, with the proposed Set
// compiled from the pull request's head; the active Set is read from the
// Swappable at the call:
//
//	pv := policyimpact.New(policyimpact.Deps{Registry: st, Queue: st, Policy: active,
//		GitHubURL: backstage.WebURL(cfg.APIURL)})
//	sec, err := pv.Section(ctx, installation, proposed)
//	// sec.Title: "would newly fail 4 products owned by 3 teams; 2 newly pass"
//	// sec.Markdown: the check run section (markdown, at most Deps.MaxChars,
//	//   default DefaultMaxChars: half of a check run's summary)
//	// sec.Report: the figures, for logs and metrics
//
// st is the store.Store (Registry: its documents; Queue: re-indexes of the
// repositories it could not read). An error means no preview (the
// registry could not be read, or a policy failed on a document other than
// by its time bound, which is a policy/timeout finding like on a pull
// request); the caller shows it and the check goes on.
//
// A verdict is what the policy's findings make of a product: fail (an error),
// warn (warnings only) or pass. A product is its descriptor and the
// contracts its output ports name (a contract's findings count for every
// product that names it); a contract no descriptor names stands alone.
// Findings that do not depend on the policy (unreadable files, missing
// contracts) are left out: they are the same under both policies.
package policyimpact

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/meshbot/meshbot/internal/engine"
	"github.com/meshbot/meshbot/internal/impact"
	"github.com/meshbot/meshbot/internal/memfs"
	"github.com/meshbot/meshbot/internal/mesh"
	"github.com/meshbot/meshbot/internal/policyeval"
	"github.com/meshbot/meshbot/internal/store"
)

// Registry is what a preview reads: the documents of every repository of an
// installation, and their products (store.Store provides it).
type Registry interface {
	Sources(ctx context.Context, installation int64) ([]store.RepoSources, error)
}

// Verdict is what the policy makes of one product.
type Verdict int

// The verdicts, in rising order of severity.
const (
	Pass Verdict = iota
	Warn
	Fail
)

func (v Verdict) String() string {
	switch v {
	case Warn:
		return "warn"
	case Fail:
		return "fail"
	}
	return "pass"
}

// Kind is how a product's verdict moves from the active policy to the
// proposed one.
type Kind string

// The moves a report lists, in the order it lists them.
const (
	NewlyFails    Kind = "newly-fails"     // pass → fail
	WarnToFail    Kind = "warning-to-fail" // warn → fail
	FailToWarn    Kind = "fail-to-warning" // fail → warn (passes, with warnings)
	NewlyPasses   Kind = "newly-passes"    // fail → pass
	NewlyWarns    Kind = "newly-warns"     // pass → warn
	NoLongerWarns Kind = "no-longer-warns" // warn → pass
)

// Kinds lists every Kind in report order.
var Kinds = []Kind{NewlyFails, WarnToFail, FailToWarn, NewlyPasses, NewlyWarns, NoLongerWarns}

func kindOf(from, to Verdict) Kind {
	switch {
	case from == Pass && to == Fail:
		return NewlyFails
	case from == Warn && to == Fail:
		return WarnToFail
	case from == Fail && to == Warn:
		return FailToWarn
	case from == Fail && to == Pass:
		return NewlyPasses
	case from == Pass && to == Warn:
		return NewlyWarns
	case from == Warn && to == Pass:
		return NoLongerWarns
	}
	return ""
}

// Fails reports whether the move makes a product fail that did not.
func (k Kind) Fails() bool { return k == NewlyFails || k == WarnToFail }

// Passes reports whether the move makes a failing product pass.
func (k Kind) Passes() bool { return k == FailToWarn || k == NewlyPasses }

// Finding is one policy finding behind a verdict.
type Finding struct {
	Rule    string       // policy/<id>
	Level   engine.Level // error or warning
	Message string
	File    string // in the product's repository
	Line    int
}

// Change is one product whose verdict the proposed policy changes.
type Change struct {
	Kind    Kind
	Repo    string // owner/name
	SHA     string // the commit its documents were indexed at
	Product string // <domain>.<name>, or a standalone contract's id (or path)
	File    string // its descriptor (or the standalone contract)
	Owner   string // owning team; "" when the product names none
	From    Verdict
	To      Verdict
	// Before are the active policy's findings at the From level that the
	// proposed policy no longer makes; After the proposed policy's findings
	// at the To level that the active one did not make.
	Before, After []Finding
}

// NotPreviewed is a repository whose documents the registry could not
// give: it is being (or should be) re-indexed.
type NotPreviewed struct {
	Repo   string
	Reason string
}

// Report is a preview's result.
type Report struct {
	Installation    int64
	ActiveVersion   string
	ProposedVersion string
	Repos           int // repositories previewed
	Products        int // products judged by both policies
	Unchanged       int // products whose verdict stays
	// FindingsMoved counts, of Unchanged, products whose findings differ
	// (a failing product failing for another reason).
	FindingsMoved int
	Changes       []Change // sorted by Kind, owner, product
	NotPreviewed  []NotPreviewed
	// StoredBytes is what the registry spends on the documents previews
	// read (compressed); SourceBytes their size uncompressed.
	StoredBytes, SourceBytes int64
	Elapsed                  time.Duration
}

// Count is how many changes are of kind k.
func (r *Report) Count(k Kind) int {
	n := 0
	for _, c := range r.Changes {
		if c.Kind == k {
			n++
		}
	}
	return n
}

// Preview judges every product of the installation's registry with active
// and with proposed, as of today.
func Preview(ctx context.Context, reg Registry, installation int64, active, proposed *policyeval.Set) (Report, error) {
	return preview(ctx, reg, installation, active, proposed, time.Now(), slog.Default())
}

func preview(ctx context.Context, reg Registry, installation int64, active, proposed *policyeval.Set, today time.Time, log *slog.Logger) (Report, error) {
	return previewWith(ctx, reg, installation, active, proposed, today, log, engine.EvaluateEach)
}

// evaluator judges one repository under several policies, a report for
// each: engine.EvaluateEach, or in tests a plainer way to the same reports.
type evaluator func(ctx context.Context, req engine.Request, policies []*policyeval.Set) ([]*engine.Report, error)

func previewWith(ctx context.Context, reg Registry, installation int64, active, proposed *policyeval.Set, today time.Time, log *slog.Logger, evaluate evaluator) (Report, error) {
	start := time.Now()
	if active == nil || proposed == nil {
		return Report{}, errors.New("policy preview: an active and a proposed policy are needed")
	}
	rep := Report{Installation: installation, ActiveVersion: active.Version(), ProposedVersion: proposed.Version()}
	repos, err := reg.Sources(ctx, installation)
	if err != nil {
		return Report{}, fmt.Errorf("policy preview of installation %d: %w", installation, err)
	}
	consumers, err := registered(repos)
	if err != nil {
		return Report{}, fmt.Errorf("policy preview of installation %d: %w", installation, err)
	}
	// One graph for every repository: each head is the registry's own
	// version of its products, so the registry's graph is the one a check
	// would build for it, and building it per repository would cost more
	// than judging.
	graph := impact.Build(consumers)
	results := make([]repoResult, len(repos))
	errs := make([]error, len(repos))
	var wg sync.WaitGroup
	next := make(chan int)
	for range max(1, min(runtime.GOMAXPROCS(0), len(repos))) {
		wg.Go(func() {
			for i := range next {
				if ctx.Err() != nil {
					errs[i] = ctx.Err()
					continue
				}
				results[i], errs[i] = judgeRepo(ctx, repos[i], graph, active, proposed, today, evaluate)
			}
		})
	}
	for i := range repos {
		next <- i
	}
	close(next)
	wg.Wait()
	for i, r := range repos {
		if errs[i] != nil {
			return Report{}, fmt.Errorf("policy preview of installation %d: %s: %w", installation, r.Repo, errs[i])
		}
		if r.Unreadable != nil {
			rep.NotPreviewed = append(rep.NotPreviewed, NotPreviewed{Repo: r.Repo, Reason: reason(r.Unreadable)})
			continue
		}
		rep.Repos++
		rep.StoredBytes += int64(r.Stored)
		rep.SourceBytes += int64(r.Bytes)
		res := results[i]
		rep.Products += res.products
		rep.Unchanged += res.unchanged
		rep.FindingsMoved += res.moved
		rep.Changes = append(rep.Changes, res.changes...)
	}
	slices.SortFunc(rep.Changes, func(a, b Change) int {
		return cmp.Or(cmp.Compare(slices.Index(Kinds, a.Kind), slices.Index(Kinds, b.Kind)),
			strings.Compare(a.Owner, b.Owner), strings.Compare(a.Product, b.Product),
			strings.Compare(a.Repo, b.Repo), strings.Compare(a.File, b.File))
	})
	rep.Elapsed = time.Since(start)
	log.InfoContext(ctx, "policyimpact: previewed", slog.Int64("installation", installation),
		slog.String("active", rep.ActiveVersion), slog.String("proposed", rep.ProposedVersion),
		slog.Int("repos", rep.Repos), slog.Int("products", rep.Products), slog.Int("changes", len(rep.Changes)),
		slog.Int("not_previewed", len(rep.NotPreviewed)), slog.Int64("stored_bytes", rep.StoredBytes),
		slog.Duration("elapsed", rep.Elapsed))
	return rep, nil
}

// reason says in a few words why a repository's documents are missing.
func reason(err error) string {
	switch {
	case errors.Is(err, store.ErrNoSources):
		return "indexed without its documents; re-indexing it adds them"
	case errors.Is(err, store.ErrFormatVersion):
		return "its registry record was written by another meshbot version; re-indexing it rewrites it"
	}
	return "its registry record does not decode; re-indexing it rewrites it"
}

// registered are the registry's products, the consumers a pull request's
// check registers (pullcheck passes the same).
func registered(repos []store.RepoSources) ([]*mesh.Product, error) {
	var out []*mesh.Product
	for _, r := range repos {
		ps, err := r.Products()
		if err != nil {
			if errors.Is(err, store.ErrUnreadableRecord) {
				continue // listed as not previewed; a check leaves it out too
			}
			return nil, err
		}
		out = append(out, ps...)
	}
	return out, nil
}

type repoResult struct {
	products, unchanged, moved int
	changes                    []Change
}

// judgeRepo loads one repository from its stored documents and judges it
// with both policies.
func judgeRepo(ctx context.Context, r store.RepoSources, graph *impact.Graph, active, proposed *policyeval.Set, today time.Time, evaluate evaluator) (repoResult, error) {
	if r.Unreadable != nil {
		return repoResult{}, nil
	}
	files, err := r.Files()
	if err != nil {
		return repoResult{}, err
	}
	fsys, err := memfs.New(files)
	if err != nil {
		return repoResult{}, fmt.Errorf("documents: %w", err)
	}
	head, err := mesh.LoadStored(ctx, fsys)
	if err != nil {
		return repoResult{}, fmt.Errorf("load documents: %w", err)
	}
	head.Root = r.Repo + "@" + r.SHA
	// Both policies in one pass: what does not depend on the policy is
	// worked out once, and each document is converted for OPA once.
	reps, err := evaluate(ctx, engine.Request{Head: head, Graph: graph, Today: today}, []*policyeval.Set{active, proposed})
	if err != nil {
		return repoResult{}, fmt.Errorf("evaluate with policies %s and %s: %w", active.Version(), proposed.Version(), err)
	}
	subjects := subjectsOf(head)
	verdicts := []map[string]*subjectVerdict{subjects.judge(reps[0].Findings), subjects.judge(reps[1].Findings)}
	var out repoResult
	for _, s := range subjects.list {
		a, p := verdicts[0][s.key], verdicts[1][s.key]
		out.products++
		if a.verdict == p.verdict {
			out.unchanged++
			if !slices.Equal(a.findings, p.findings) {
				out.moved++
			}
			continue
		}
		out.changes = append(out.changes, Change{
			Kind: kindOf(a.verdict, p.verdict), Repo: r.Repo, SHA: r.SHA, Product: s.id, File: s.file, Owner: s.owner,
			From: a.verdict, To: p.verdict,
			Before: gone(a.findings, p.findings, a.verdict), After: gone(p.findings, a.findings, p.verdict),
		})
	}
	return out, nil
}

// gone are the findings of xs at level v that ys does not hold.
func gone(xs, ys []Finding, v Verdict) []Finding {
	want := engine.LevelError
	if v == Warn {
		want = engine.LevelWarning
	}
	var out []Finding
	for _, f := range xs {
		if f.Level == want && !slices.Contains(ys, f) {
			out = append(out, f)
		}
	}
	return out
}

// subject is one product of a repository (or a contract no product names).
type subject struct {
	key, id, file, owner string
}

type subjects struct {
	list   []subject
	byFile map[string][]string // document path → keys of the subjects it belongs to
}

// subjectsOf lists the repository's products and which documents count
// for each: its descriptor and the contracts its ports name.
func subjectsOf(m *mesh.Mesh) subjects {
	s := subjects{byFile: map[string][]string{}}
	add := func(file, key string) {
		if !slices.Contains(s.byFile[file], key) {
			s.byFile[file] = append(s.byFile[file], key)
		}
	}
	for _, p := range m.Products {
		key := p.File + "#" + p.ID()
		s.list = append(s.list, subject{key: key, id: p.ID(), file: p.File, owner: p.Owner})
		add(p.File, key)
		for _, o := range p.OutputPorts {
			if o.ContractPath != "" {
				add(o.ContractPath, key)
			}
			if o.Contract != nil && o.Contract.File != "" {
				add(o.Contract.File, key)
			}
		}
	}
	for _, path := range slices.Sorted(maps.Keys(m.Contracts)) {
		if len(s.byFile[path]) > 0 {
			continue
		}
		c := m.Contracts[path]
		c.Parse()
		id := cmp.Or(c.ID, path)
		s.list = append(s.list, subject{key: path, id: id, file: path, owner: c.Owner})
		add(path, path)
	}
	return s
}

type subjectVerdict struct {
	verdict  Verdict
	findings []Finding // sorted
}

// judge turns one evaluation's policy findings into each subject's verdict.
func (s subjects) judge(fs []engine.Finding) map[string]*subjectVerdict {
	out := make(map[string]*subjectVerdict, len(s.list))
	for _, sub := range s.list {
		out[sub.key] = &subjectVerdict{}
	}
	for _, f := range fs {
		if f.Source != engine.SourcePolicy || (f.Level != engine.LevelError && f.Level != engine.LevelWarning) {
			continue
		}
		v := Warn
		if f.Level == engine.LevelError {
			v = Fail
		}
		pf := Finding{Rule: f.Rule, Level: f.Level, Message: f.Message, File: f.Pos.File, Line: f.Pos.Line}
		for _, key := range s.byFile[f.Pos.File] {
			sv := out[key]
			sv.verdict = max(sv.verdict, v)
			sv.findings = append(sv.findings, pf)
		}
	}
	for _, sv := range out {
		slices.SortFunc(sv.findings, func(a, b Finding) int {
			return cmp.Or(strings.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), strings.Compare(a.Rule, b.Rule), strings.Compare(a.Message, b.Message))
		})
		sv.findings = slices.Compact(sv.findings)
	}
	return out
}
