package engine

import (
	"context"
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

type policyJob struct {
	doc  *mesh.Document
	kind string
	prod *mesh.Product
}

// evalPolicy runs the policy on every changed document of the head, in
// parallel, and returns the findings in the documents' order.
func evalPolicy(ctx context.Context, req Request, g *impact.Graph, changes []compat.Change, scope changeScope) ([]Finding, error) {
	today := req.Today.Format(time.DateOnly)
	byFile := map[string]*mesh.Product{}
	for _, p := range req.Head.Products {
		byFile[p.File] = p
	}
	changesByFile := map[string][]any{}
	for _, c := range changes {
		file := c.Pos.File
		if c.Contract != "" && !c.InBase {
			file = c.Contract
		}
		changesByFile[file] = append(changesByFile[file], changeContext(c))
	}
	var jobs []policyJob
	for path, doc := range req.Head.Documents {
		if !scope.files[path] {
			continue
		}
		j := policyJob{doc: doc, kind: "contract", prod: byFile[path]}
		if j.prod != nil {
			j.kind = "descriptor"
		}
		jobs = append(jobs, j)
	}
	slices.SortFunc(jobs, func(a, b policyJob) int { return strings.Compare(a.doc.Path, b.doc.Path) })

	results := make([][]Finding, len(jobs))
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	next := make(chan int)
	for range max(1, min(runtime.GOMAXPROCS(0), len(jobs))) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				results[i], errs[i] = evalOne(ctx, req, g, jobs[i], changesByFile, today)
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

func evalOne(ctx context.Context, req Request, g *impact.Graph, j policyJob, changesByFile map[string][]any, today string) ([]Finding, error) {
	pc := policyeval.Context{Path: j.doc.Path, Kind: j.kind, Today: today, Changes: changesByFile[j.doc.Path], Consumers: []any{}}
	if pc.Changes == nil {
		pc.Changes = []any{}
	}
	if req.Base != nil {
		if old, ok := req.Base.Documents[j.doc.Path]; ok {
			pc.Base = old.Value
		}
	}
	product := ""
	if j.prod != nil {
		product = j.prod.ID()
		for _, c := range g.ConsumersOf(product, "") {
			if c.Product == product {
				continue
			}
			fields := make([]any, 0, len(c.Fields))
			for _, f := range c.Fields {
				fields = append(fields, f.Name)
			}
			pc.Consumers = append(pc.Consumers, map[string]any{
				"product": c.Product, "owner": c.Owner, "input_port": c.InputPort,
				"port": c.Port, "fields": fields, "file": c.File,
			})
		}
	}
	res, err := req.Policy.Eval(ctx, policyeval.Input{Doc: j.doc, Context: pc})
	if err != nil {
		return nil, fmt.Errorf("evaluate policy on %s: %w", j.doc.Path, err)
	}
	out := make([]Finding, 0, len(res))
	for _, r := range res {
		f := Finding{
			Rule:    r.ID,
			Source:  SourcePolicy,
			Level:   LevelError,
			Title:   r.Title,
			Message: r.Message,
			Pos:     r.Pos,
			Product: product,
		}
		if r.Severity == "warn" {
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

func changeContext(c compat.Change) map[string]any {
	fields := make([]any, 0, len(c.Fields))
	for _, f := range c.Fields {
		fields = append(fields, f)
	}
	return map[string]any{
		"rule": c.Rule, "severity": c.Severity.String(), "message": c.Message,
		"product": c.Product, "port": c.Port, "contract": c.Contract, "fields": fields,
		"old": c.Old, "new": c.New, "file": c.Pos.File, "line": int64(c.Pos.Line),
	}
}
