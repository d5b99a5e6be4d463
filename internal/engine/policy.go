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
	changesByFile map[string][]policyeval.Change
	today         string
}

// evalPolicy runs the policy on every changed document of the head, in
// parallel, and returns the findings in the documents' order.
func evalPolicy(ctx context.Context, req Request, g *impact.Graph, changes []compat.Change, scope changeScope) ([]Finding, error) {
	ps := policyScope{req: req, graph: g, changesByFile: map[string][]policyeval.Change{}, today: req.Today.Format(time.DateOnly)}
	for _, c := range changes {
		file := c.Pos.File
		if c.Contract != "" && !c.InBase {
			file = c.Contract
		}
		ps.changesByFile[file] = append(ps.changesByFile[file], changeContext(c))
	}
	byFile := map[string]*mesh.Product{}
	for _, p := range req.Head.Products {
		byFile[p.File] = p
	}
	var jobs []policyJob
	for path, doc := range req.Head.Documents {
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

	// Contexts are built here, one at a time: building one may parse a
	// contract LoadPair left unparsed, which is not safe in parallel.
	contexts := make([]policyeval.Context, len(jobs))
	for i, j := range jobs {
		contexts[i] = ps.context(j)
	}
	results := make([][]Finding, len(jobs))
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	next := make(chan int)
	for range max(1, min(runtime.GOMAXPROCS(0), len(jobs))) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				results[i], errs[i] = ps.evalOne(ctx, jobs[i], contexts[i])
			}
		}()
	}
	for i := range jobs {
		next <- i
	}
	close(next)
	wg.Wait()
	var out []Finding
	for i := range jobs {
		if errs[i] != nil {
			return nil, errs[i]
		}
		out = append(out, results[i]...)
	}
	return out, nil
}

// RulePolicyTimeout is the finding of a document the policy could not
// judge within Options.Timeout.
const RulePolicyTimeout = "policy/timeout"

// evalOne judges one document with its context.
func (ps policyScope) evalOne(ctx context.Context, j policyJob, pc policyeval.Context) ([]Finding, error) {
	res, err := ps.req.Policy.Eval(ctx, policyeval.Input{Doc: j.doc, Context: pc})
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
			pc.Contract = contractView(c)
		}
		return pc
	}
	pc.Product = productView(j.prod, ps.req.Head)
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

// productView is the descriptor's product in the normalised model policies
// read at data.meshbot.context.product.
func productView(p *mesh.Product, head *mesh.Mesh) *policyeval.Product {
	v := &policyeval.Product{
		ID: p.ID(), Name: p.Name, Domain: p.Domain, Owner: p.Owner, Format: string(p.Format),
		Lifecycle: p.Lifecycle, Freshness: p.SLA.Freshness, ContainsPII: p.Classification.ContainsPII,
		PIIFields: p.Classification.PIIFields, Residency: p.Classification.Residency,
		OutputPorts: make([]policyeval.Port, 0, len(p.OutputPorts)), Line: p.Pos.Line,
	}
	for _, o := range p.OutputPorts {
		port := policyeval.Port{
			Name: o.Name, Type: o.Type, Location: cmpOr(o.Location, o.Topic),
			Contract: cmpOr(o.ContractPath, o.ContractID), Lifecycle: o.Lifecycle, Line: o.Pos.Line, Column: o.Pos.Col,
		}
		if at := o.Locs.At("location", o.Locs.At("topic", mesh.Pos{})); at.Line > 0 {
			port.LocationLine, port.LocationColumn = at.Line, at.Col
		}
		c := o.Contract
		if c == nil && o.ContractPath != "" {
			c = head.Contracts[o.ContractPath]
		}
		if c != nil {
			c.Parse()
			port.ContractRead = true
			port.Freshness = cmpOr(c.ServiceLevels.Freshness, c.ServiceLevels.Latency)
		}
		v.OutputPorts = append(v.OutputPorts, port)
	}
	return v
}

// contractView is the contract in the normalised model policies read at
// data.meshbot.context.contract.
func contractView(c *mesh.Contract) *policyeval.Contract {
	c.Parse()
	v := &policyeval.Contract{
		ID: c.ID, Title: c.Title, Version: c.Version, Owner: c.Owner, Format: string(c.Format),
		Freshness: cmpOr(c.ServiceLevels.Freshness, c.ServiceLevels.Latency), Fields: []policyeval.Field{}, Line: c.Pos.Line,
	}
	var walk func(model, prefix string, fs []*mesh.Field)
	walk = func(model, prefix string, fs []*mesh.Field) {
		for _, f := range fs {
			path := prefix + "." + f.Name
			v.Fields = append(v.Fields, policyeval.Field{
				Model: model, Path: path, Type: f.Type, PII: f.PII,
				Classification: f.Classification, Line: f.Pos.Line,
			})
			walk(model, path, f.Fields)
		}
	}
	for _, m := range c.Models {
		walk(m.Name, m.Name, m.Fields)
	}
	return v
}
