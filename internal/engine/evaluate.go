package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/meshbot/meshbot/internal/compat"
	"github.com/meshbot/meshbot/internal/impact"
	"github.com/meshbot/meshbot/internal/mesh"
	"github.com/meshbot/meshbot/internal/policyeval"
)

// DocsBase is where rule documentation lives; findings link into it.
const DocsBase = "https://github.com/meshbot/meshbot/blob/main/"

// Request is everything one evaluation needs. The engine knows nothing of
// GitHub or the command line: callers load the checkouts.
type Request struct {
	Head *mesh.Mesh
	// Base is the version the change is compared with; nil means there is
	// none (a first check), so every head file is judged and nothing is
	// compared.
	Base *mesh.Mesh
	// Consumers are products registered elsewhere (other checkouts, a
	// registry). The head's own products count as consumers too.
	Consumers [][]*mesh.Product
	// ConsumerProblems are problems met while reading Consumers; they are
	// reported as notices, since the change under review did not cause them.
	ConsumerProblems []mesh.Problem
	Policy           *policyeval.Set
	Today            time.Time
	// Approvals are the registered consumers' acceptances of this change
	// (from `/mesh approve`); each holds while the change breaks its
	// consumer exactly as when it was given.
	Approvals []Approval
	// Graph, when set, is the consumer graph of Head's products and
	// Consumers, built once by a caller that judges many heads against one
	// registry whose products include theirs (a policy preview); Consumers
	// is then not read. Nil: Evaluate builds it.
	Graph *impact.Graph
}

// Evaluate judges the change from Base to Head: the change set in, the
// report out.
func Evaluate(ctx context.Context, req Request) (*Report, error) {
	reps, err := evaluate(ctx, req, []*policyeval.Set{req.Policy})
	if err != nil {
		return nil, err
	}
	return reps[0], nil
}

// EvaluateEach judges one change under several policies (Request.Policy is
// not read): reports[i] is what Evaluate reports with Request.Policy set to
// policies[i]. What does not depend on the policy (unreadable files,
// changes, deprecated reads, every document's policy context) is worked out
// once, and each document's input is converted for OPA once for all the
// policies (policyeval.Shared). A policy preview judges every repository of
// a registry with the active and the proposed policy.
func EvaluateEach(ctx context.Context, req Request, policies []*policyeval.Set) ([]*Report, error) {
	return evaluate(ctx, req, policies)
}

func evaluate(ctx context.Context, req Request, policies []*policyeval.Set) ([]*Report, error) {
	if req.Head == nil {
		return nil, fmt.Errorf("evaluate: no head checkout")
	}
	if req.Today.IsZero() {
		req.Today = time.Now()
	}
	graph := req.Graph
	if graph == nil {
		graph = impact.Build(append([][]*mesh.Product{req.Head.Products}, req.Consumers...)...)
	}
	common := problemFindings(req)

	var changes []compat.Change
	if req.Base != nil {
		changes = compat.Compare(req.Base, req.Head).Changes
	}
	scope := changedProducts(req.Base, req.Head, changes)
	common = append(common, changeFindings(req, graph, changes)...)
	res := newResolver(graph)
	common = append(common, deprecatedReads(req, res, scope)...)

	found, err := evalPolicies(ctx, req, graph, res, changes, scope, policies)
	if err != nil {
		return nil, err
	}
	impact := impacts(req, graph, scope)
	reps := make([]*Report, len(policies))
	for i, pol := range policies {
		rep := &Report{Compared: req.Base != nil, Checked: Counts{Descriptors: len(req.Head.Products), Contracts: len(req.Head.Contracts)},
			Files: req.Head.Files}
		if pol != nil {
			rep.PolicyVersion = pol.Version()
		}
		rep.Checked.Changed = len(scope.files)
		// Each report owns its findings: applying approvals and Finish
		// rewrite them in place. What else it holds it only reads.
		rep.Findings = append(slices.Clone(common), found[i]...)
		rep.Impact = slices.Clone(impact) // Finish sorts it in place
		rep.Breaks = breaks(rep.Findings, func(id string) string {
			if p := graph.Product(id); p != nil {
				return p.Repo
			}
			return ""
		})
		applyApprovals(rep, req.Approvals)
		rep.Finish()
		reps[i] = rep
	}
	return reps, nil
}

// problemFindings are the files that could not be read: the head's fail the
// change, the consumers' are only noted (the change did not cause them).
func problemFindings(req Request) []Finding {
	out := make([]Finding, 0, len(req.Head.Problems)+len(req.ConsumerProblems))
	for _, p := range req.Head.Problems {
		level := LevelError
		if p.Notice {
			// Read in full (a newer version of a known standard, read with
			// the closest schema): worth a mention, never a failed check.
			level = LevelNotice
		}
		out = append(out, problemFinding(p, level))
	}
	// A port naming a contract id that no contract here carries is told
	// from the head alone, without --base: the contract may live in
	// another repository, so it is a notice.
	for _, p := range mesh.DanglingContractIDs(req.Head) {
		out = append(out, problemFinding(p, LevelNotice))
	}
	for _, p := range req.ConsumerProblems {
		out = append(out, problemFinding(p, LevelNotice))
	}
	return out
}

// changeFindings judges every classified change between base and head.
func changeFindings(req Request, graph *impact.Graph, changes []compat.Change) []Finding {
	broken := map[string]bool{}
	for _, p := range req.Head.Problems {
		if p.Notice {
			continue // read in full: its changes are judged
		}
		broken[p.Pos.File] = true
	}
	var found []Finding
	for _, c := range changes {
		// A descriptor that no longer parses is reported as broken, not
		// as a product that went away.
		if c.Rule == compat.RuleProductRemoved {
			if old := productByID(req.Base, c.Product); old != nil && broken[old.File] {
				continue
			}
		}
		f := changeFinding(c, graph, req.Base, req.Today)
		if c.Rule == compat.RulePortRemoved {
			onHeadPorts(&f, req.Head)
		}
		found = append(found, f)
	}
	return mergeSharedContracts(found)
}

// onHeadPorts points a removed port's finding at the head descriptor's list
// of output ports, where the port was, rather than at its line in the base
// version: an annotation can only land on the file the pull request shows.
func onHeadPorts(f *Finding, head *mesh.Mesh) {
	p := productByID(head, f.Product)
	if p == nil || p.File != f.Pos.File {
		return
	}
	doc := head.Documents[p.File]
	if doc == nil {
		return
	}
	for _, path := range [][]any{{"spec", "outputPorts"}, {"outputPorts"}} {
		if pos, ok := doc.Index.Lookup(path...); ok {
			f.Pos, f.InBase = pos, false
			return
		}
	}
	if pos, depth := doc.Index.Nearest("spec", "outputPorts"); depth > 0 {
		f.Pos, f.InBase = pos, false
	}
}

// impacts is the reach of every changed product; a removed product's owner
// is read from the base.
func impacts(req Request, graph *impact.Graph, scope changeScope) []Impact {
	out := make([]Impact, 0, len(scope.products))
	for id := range scope.products {
		im := Impact{Product: id, InDegree: graph.InDegree(id), Downstream: graph.Downstream(id)}
		if p := graph.Product(id); p != nil {
			im.Owner = p.Owner
		} else if req.Base != nil {
			if p := productByID(req.Base, id); p != nil {
				im.Owner = p.Owner
			}
		}
		if im.Downstream == nil {
			im.Downstream = []string{}
		}
		out = append(out, im)
	}
	return out
}

const noConsumer = "; no registered consumer depends on it, so it only warns."

// mergeSharedContracts folds the findings of one contract change reported
// once per output port (ports may share a contract file) into one finding
// with every port's consumers, at the highest level.
func mergeSharedContracts(fs []Finding) []Finding {
	type key struct {
		rule, msg string
		pos       mesh.Pos
	}
	at := map[key]int{}
	var out []Finding
	for _, f := range fs {
		k := key{f.Rule, strings.TrimSuffix(f.Message, noConsumer), f.Pos}
		i, seen := at[k]
		if !seen {
			at[k] = len(out)
			out = append(out, f)
			continue
		}
		m := &out[i]
		if f.Level.rank() < m.Level.rank() {
			m.Level, m.Message, m.Help = f.Level, f.Message, f.Help
		}
		if m.Port != f.Port {
			m.Port = ""
		}
		for _, c := range f.Consumers {
			if !slices.ContainsFunc(m.Consumers, func(x Consumer) bool { return x.Product == c.Product && x.InputPort == c.InputPort }) {
				m.Consumers = append(m.Consumers, c)
			}
		}
	}
	return out
}

func problemFinding(p mesh.Problem, level Level) Finding {
	return Finding{
		Rule:    "input/" + p.Code,
		Source:  SourceInput,
		Level:   level,
		Title:   "Unusable input",
		Message: p.Message,
		Pos:     p.Pos,
		Link:    DocsBase + "README.md#file-formats",
	}
}

// changeFinding turns a classified change into a finding. A breaking change
// fails when a registered consumer depends on what it touches; otherwise it
// warns, except for a breaking change shipped inside the same major version,
// which always fails.
func changeFinding(c compat.Change, g *impact.Graph, base *mesh.Mesh, today time.Time) Finding {
	f := Finding{
		Rule:    "compat/" + c.Rule,
		Source:  SourceCompat,
		Message: c.Message,
		Pos:     c.Pos,
		InBase:  c.InBase,
		Product: c.Product,
		Port:    c.Port,
		Fields:  c.Fields,
		Link:    DocsBase + "internal/compat/RULES.md#" + c.Rule,
	}
	switch c.Severity {
	case compat.Breaking:
		f.Title = "Breaking change"
		for _, a := range g.Affected(c.Product, c.Port, c.Fields) {
			if a.Product == c.Product {
				continue
			}
			f.Consumers = append(f.Consumers, consumerOf(a, c.Fields))
		}
		switch {
		case c.Rule == compat.RuleBreakingInMajor:
			// About the version, not a field: the consumers are named on
			// the changes it counts.
			f.Consumers = nil
			f.Level = LevelError
			f.Help = "Bump the contract's major version and publish it on a new output port."
		case len(f.Consumers) > 0:
			f.Level = LevelError
			f.Help = "Keep the old shape on this port and ship the change as a new major version on a new output port; deprecate the old port with `/mesh deprecate` once consumers can migrate."
		default:
			f.Level = LevelWarning
			f.Message += noConsumer
		}
	case compat.Warning:
		f.Level, f.Title = LevelWarning, "Risky change"
	default:
		f.Level, f.Title = LevelNotice, "Change"
	}
	if c.Rule == compat.RuleProductRemoved && base != nil {
		deprecationWindow(&f, productByID(base, c.Product), today)
	}
	if c.Rule == compat.RulePortRemoved && base != nil {
		portDeprecationWindow(&f, productByID(base, c.Product), c.Port, today)
	}
	return f
}

// portDeprecationWindow applies the retirement rule to a removed output
// port that was deprecated in the base (itself, or with its whole product):
// one finding says whether the window allowed it, naming the sunset and the
// consumers. A port that was never deprecated keeps the breaking-change
// finding, whose help says to deprecate it first.
func portDeprecationWindow(f *Finding, p *mesh.Product, port string, today time.Time) {
	if p == nil {
		return
	}
	var op *mesh.OutputPort
	for _, o := range p.OutputPorts {
		if o.Name == port {
			op = o
		}
	}
	if op == nil {
		return
	}
	d := op.Deprecation
	if d == nil && p.Lifecycle == mesh.LifecycleDeprecated {
		d = p.Deprecation
	}
	if op.Lifecycle != mesh.LifecycleDeprecated && p.Lifecycle != mesh.LifecycleDeprecated && d == nil {
		return
	}
	subject := fmt.Sprintf("output port %s of %s", port, p.ID())
	readers := consumerNames(f.Consumers)
	replacement := "its replacement"
	if d != nil && d.Replacement != "" {
		replacement = d.Replacement
	}
	f.Link = DocsBase + "README.md#deprecation"
	switch {
	case d != nil && !d.SunsetDate.IsZero() && today.Before(d.SunsetDate):
		f.Rule, f.Source, f.Level = "deprecation/removed-before-sunset", SourceDeprecation, LevelError
		f.Title = "Removed before its sunset"
		f.Message = fmt.Sprintf("%s is deprecated until %s but was removed before that date", subject, d.Sunset)
		if readers != "" {
			f.Message += "; registered consumers still read it: " + readers
		}
		f.Message += "."
		f.Help = "Keep the port until " + d.Sunset + "; consumers should move to " + replacement + "."
	case len(f.Consumers) > 0:
		f.Rule, f.Source, f.Level = "deprecation/removed-with-consumers", SourceDeprecation, LevelError
		f.Title = "Removed while still consumed"
		f.Message = fmt.Sprintf("%s was removed while registered consumers still read it: %s.", subject, readers)
		f.Help = "Ask the owning teams to move to " + replacement + " before removing it."
	default:
		f.Level, f.Title = LevelNotice, "Retired as planned"
		f.Message = fmt.Sprintf("%s is removed after its sunset with no registered consumer left.", subject)
		f.Help = ""
	}
}

// consumerNames is "a.b (owner team-a), c.d (owner team-c)".
func consumerNames(cs []Consumer) string {
	names := make([]string, 0, len(cs))
	for _, c := range cs {
		n := c.Product
		if c.Owner != "" {
			n += " (owner " + c.Owner + ")"
		}
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(slices.Compact(names), ", ")
}

// deprecationWindow applies the retirement rule to a removed product: it may
// go only once deprecated, after its sunset date, with no consumer left.
func deprecationWindow(f *Finding, p *mesh.Product, today time.Time) {
	if p == nil {
		return
	}
	d := p.Deprecation
	switch {
	case p.Lifecycle != mesh.LifecycleDeprecated && d == nil:
		if len(f.Consumers) > 0 {
			f.Help = "Deprecate the product first (`/mesh deprecate " + p.ID() + "`) with a sunset date and a replacement, and remove it once consumers have moved."
		}
	case d != nil && !d.SunsetDate.IsZero() && today.Before(d.SunsetDate):
		f.Rule = "deprecation/removed-before-sunset"
		f.Source = SourceDeprecation
		f.Level = LevelError
		f.Title = "Removed before its sunset"
		f.Message = fmt.Sprintf("%s is removed before its sunset date %s.", p.ID(), d.Sunset)
		if len(f.Consumers) > 0 {
			f.Message += " Registered consumers still read it: " + consumerNames(f.Consumers) + "."
		}
		f.Help = "Keep the product until " + d.Sunset + "; consumers should move to " + cmpOr(d.Replacement, "its replacement") + "."
		f.Link = DocsBase + "README.md#deprecation"
	case len(f.Consumers) > 0:
		f.Rule = "deprecation/removed-with-consumers"
		f.Source = SourceDeprecation
		f.Title = "Removed while still consumed"
		f.Message = fmt.Sprintf("%s is past its sunset but registered consumers still read it: %s.", p.ID(), consumerNames(f.Consumers))
		f.Help = "Ask the owning teams below to move to " + cmpOr(d.Replacement, "the replacement") + " before removing it."
		f.Link = DocsBase + "README.md#deprecation"
	default:
		f.Level = LevelNotice
		f.Title = "Retired as planned"
		f.Message = fmt.Sprintf("%s is removed after its sunset with no registered consumer left.", p.ID())
	}
}

func cmpOr(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

func consumerOf(c impact.Consumer, touched []string) Consumer {
	out := Consumer{Product: c.Product, Owner: c.Owner, InputPort: c.InputPort, Pos: c.Pos}
	for _, f := range c.Fields {
		if len(touched) == 0 || impact.FieldMatches(f.Name, touched) {
			out.Fields = append(out.Fields, f.Name)
		}
	}
	return out
}

func productByID(m *mesh.Mesh, id string) *mesh.Product {
	for _, p := range m.Products {
		if p.ID() == id {
			return p
		}
	}
	return nil
}

// changeScope is what the change touched: files that differ from base and
// the products they belong to (a descriptor, or a descriptor whose contract
// changed).
type changeScope struct {
	files    map[string]bool
	products map[string]bool
}

func changedProducts(base, head *mesh.Mesh, changes []compat.Change) changeScope {
	s := changeScope{files: map[string]bool{}, products: map[string]bool{}}
	for path, doc := range head.Documents {
		if base == nil {
			s.files[path] = true
			continue
		}
		if old, ok := base.Documents[path]; !ok || old.Sum != doc.Sum {
			s.files[path] = true
		}
	}
	if base != nil {
		for path := range base.Documents {
			if _, ok := head.Documents[path]; !ok {
				s.files[path] = true
			}
		}
	}
	for _, p := range head.Problems {
		s.files[p.Pos.File] = true
	}
	for _, p := range head.Products {
		if s.files[p.File] {
			s.products[p.ID()] = true
			continue
		}
		for _, o := range p.OutputPorts {
			if o.ContractPath != "" && s.files[o.ContractPath] {
				s.products[p.ID()] = true
				// A descriptor whose contract changed is judged again too:
				// its rules may read the contract through the context.
				s.files[p.File] = true
			}
		}
	}
	for _, c := range changes {
		if c.Product != "" {
			s.products[c.Product] = true
		}
	}
	return s
}
