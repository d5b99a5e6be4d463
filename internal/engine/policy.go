package engine

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/meshbot/meshbot/internal/compat"
	"github.com/meshbot/meshbot/internal/impact"
	"github.com/meshbot/meshbot/internal/mesh"
	"github.com/meshbot/meshbot/internal/policyeval"
)

// policyJob is one changed document of the head for the policy to judge.
type policyJob struct {
	doc  *mesh.Document
	kind policyeval.Kind
	prod *mesh.Product // the descriptor's product; nil for a contract
}

// policyScope is what every job's context is built from.
type policyScope struct {
	req           Request
	graph         *impact.Graph
	inputs        *resolver
	changesByFile map[string][]policyeval.Change
	today         string
}

// evalPolicies runs each policy on every changed document of the head, in
// parallel by document, and returns each policy's findings in the
// documents' order; a nil policy finds nothing.
func evalPolicies(ctx context.Context, req Request, g *impact.Graph, res *resolver, changes []compat.Change, scope changeScope, policies []*policyeval.Set) ([][]Finding, error) {
	out := make([][]Finding, len(policies))
	if !slices.ContainsFunc(policies, func(p *policyeval.Set) bool { return p != nil }) {
		return out, nil
	}
	ps := policyScope{req: req, graph: g, inputs: res, changesByFile: map[string][]policyeval.Change{}, today: req.Today.Format(time.DateOnly)}
	for _, c := range changes {
		file := c.Pos.File
		if c.Contract != "" && !c.InBase {
			file = c.Contract
		}
		ps.changesByFile[file] = append(ps.changesByFile[file], changeContext(c))
	}
	jobs := policyJobs(req.Head, scope)

	// Contexts are built here, one at a time: building one may parse a
	// contract LoadPair left unparsed, which is not safe in parallel.
	contexts := make([]policyeval.Context, len(jobs))
	for i, j := range jobs {
		contexts[i] = ps.context(j)
	}
	results := make([][][]Finding, len(jobs)) // by job, then policy
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	next := make(chan int)
	for range max(1, min(runtime.GOMAXPROCS(0), len(jobs))) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				results[i], errs[i] = ps.evalJob(ctx, jobs[i], contexts[i], policies)
			}
		}()
	}
	for i := range jobs {
		next <- i
	}
	close(next)
	wg.Wait()
	for i := range jobs {
		if errs[i] != nil {
			return nil, errs[i]
		}
		for k := range policies {
			out[k] = append(out[k], results[i][k]...)
		}
	}
	return out, nil
}

// policyJobs are the head's documents the change touched, in path order.
func policyJobs(head *mesh.Mesh, scope changeScope) []policyJob {
	byFile := map[string]*mesh.Product{}
	for _, p := range head.Products {
		byFile[p.File] = p
	}
	var jobs []policyJob
	for path, doc := range head.Documents {
		if !scope.files[path] {
			continue
		}
		j := policyJob{doc: doc, kind: policyeval.KindContract, prod: byFile[path]}
		if j.prod != nil {
			j.kind = policyeval.KindDescriptor
		}
		jobs = append(jobs, j)
	}
	slices.SortFunc(jobs, func(a, b policyJob) int { return strings.Compare(a.doc.Path, b.doc.Path) })
	return jobs
}

// evalJob judges one document with each policy in turn, on one shared
// input: what the first policy converted of the document and its context
// the next one reads as it is.
func (ps policyScope) evalJob(ctx context.Context, j policyJob, pc policyeval.Context, policies []*policyeval.Set) ([][]Finding, error) {
	sh, err := policyeval.Share(policyeval.Input{Doc: j.doc, Context: pc})
	if err != nil {
		return nil, fmt.Errorf("evaluate policy on %s: %w", j.doc.Path, err)
	}
	out := make([][]Finding, len(policies))
	for k, pol := range policies {
		if pol == nil {
			continue
		}
		if out[k], err = ps.evalOne(ctx, pol, j, sh); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// RulePolicyTimeout is the finding of a document the policy could not
// judge within Options.Timeout.
const RulePolicyTimeout = "policy/timeout"

// evalOne judges one document with its context under one policy.
func (ps policyScope) evalOne(ctx context.Context, pol *policyeval.Set, j policyJob, sh *policyeval.Shared) ([]Finding, error) {
	res, err := pol.EvalShared(ctx, sh)
	product := ""
	if j.prod != nil {
		product = j.prod.ID()
	}
	if err != nil && errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		// The policy's own time bound cut it off: the same policy on the
		// same document would be cut off again, so this is a verdict on
		// the document (a finding), not a failure to retry.
		return []Finding{{Rule: RulePolicyTimeout, Source: SourcePolicy, Level: LevelError, Product: product,
			Pos:     mesh.Pos{File: j.doc.Path, Line: 1},
			Title:   "Policy evaluation timed out",
			Message: fmt.Sprintf("The data-mesh policy did not finish judging %s within its time bound, so this document has no policy verdict (%v).", j.doc.Path, err),
			Help:    "Ask the policy's owners to make the policy cheaper or raise its time bound, then comment /mesh recheck."}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("evaluate policy on %s: %w", j.doc.Path, err)
	}
	out := make([]Finding, 0, len(res))
	for _, r := range res {
		f := Finding{
			Rule:    "policy/" + r.ID,
			Source:  SourcePolicy,
			Level:   LevelError,
			Title:   r.Title,
			Message: r.Message,
			Pos:     r.Pos,
			Product: product,
		}
		if r.Severity == policyeval.SeverityWarn {
			f.Level = LevelWarning
		}
		if len(r.Related) > 0 {
			f.Link = r.Related[0]
		}
		if f.Pos.File == "" {
			f.Pos = mesh.Pos{File: j.doc.Path, Line: 1}
		}
		out = append(out, f)
	}
	return out, nil
}

// context is what the policy reads at data.meshbot.context for one
// document, built once per document.
func (ps policyScope) context(j policyJob) policyeval.Context {
	pc := policyeval.Context{Path: j.doc.Path, Kind: j.kind, Today: ps.today, Changes: ps.changesByFile[j.doc.Path]}
	if ps.req.Base != nil {
		if old, ok := ps.req.Base.Documents[j.doc.Path]; ok {
			pc.Base = old.Value
		}
	}
	if j.prod == nil {
		if c := ps.req.Head.Contracts[j.doc.Path]; c != nil {
			pc.Contract = policyeval.ContractOf(c, j.doc)
		}
		return pc
	}
	pc.Product = policyeval.ProductOf(j.prod, j.doc, ps.req.Head.Contracts)
	pc.Reads = readsOf(j.prod, ps.req.Base, ps.inputs)
	product := j.prod.ID()
	for _, c := range ps.graph.ConsumersOf(product, "") {
		if c.Product == product {
			continue
		}
		fields := make([]string, len(c.Fields))
		for i, f := range c.Fields {
			fields[i] = f.Name
		}
		pc.Consumers = append(pc.Consumers, policyeval.Consumer{
			Product: c.Product, Owner: c.Owner, InputPort: c.InputPort,
			Port: c.Port, Fields: fields, File: c.File,
		})
	}
	return pc
}

func changeContext(c compat.Change) policyeval.Change {
	return policyeval.Change{
		Rule: c.Rule, Severity: c.Severity.String(), Message: c.Message,
		Product: c.Product, Port: c.Port, Contract: c.Contract, Fields: c.Fields,
		Old: c.Old, New: c.New, File: c.Pos.File, Line: c.Pos.Line,
	}
}
