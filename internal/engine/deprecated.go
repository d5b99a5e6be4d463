package engine

import (
	"fmt"
	"sync"
	"time"

	"github.com/meshbot/meshbot/internal/impact"
	"github.com/meshbot/meshbot/internal/mesh"
	"github.com/meshbot/meshbot/internal/policyeval"
)

// Rules of a consumer reading something deprecated.
const (
	RuleReadsDeprecated = "deprecation/reads-deprecated"  // before the sunset: a warning
	RuleReadsPastSunset = "deprecation/reads-past-sunset" // on or after it: an error
)

// deprecatedReads judges the input ports of the products whose descriptors
// the change touches (every product when there is no base): an input port
// on a deprecated product, output port or ODCS contract warns, naming the
// sunset and the replacement, and fails from the sunset day on. The target
// is looked up in the graph, so the head's own products (the same
// repository) shadow the registry's.
//
// A descriptor the change does not touch is not judged: a consumer hears
// of its deprecated inputs on every pull request that edits its
// descriptor (and from the reminders), not on unrelated work elsewhere in
// its repository, and a producer's pull request never fails for what its
// consumers read.
func deprecatedReads(req Request, res *resolver, scope changeScope) []Finding {
	var out []Finding
	for _, p := range req.Head.Products {
		if !scope.files[p.File] {
			continue
		}
		var old *mesh.Product
		if req.Base != nil {
			old = productByID(req.Base, p.ID())
		}
		for _, in := range p.InputPorts {
			if in == nil {
				continue
			}
			target, port := res.input(in)
			if target == nil || target.ID() == p.ID() {
				continue
			}
			added := req.Base != nil && !readsBefore(old, in) // without a base nothing is known to be new
			if f, ok := deprecatedRead(p, in, target, port, added, req.Today); ok {
				out = append(out, f)
			}
		}
	}
	return out
}

// resolver finds what input ports read. The index of contract ids is built
// on the first ODPS input port that needs it, once per evaluation (policy
// contexts are built in parallel).
type resolver struct {
	g          *impact.Graph
	once       sync.Once
	byContract map[string]publisher
}

type publisher struct {
	product *mesh.Product
	port    *mesh.OutputPort
}

func newResolver(g *impact.Graph) *resolver { return &resolver{g: g} }

// input finds the producer and output port an input port reads: by product
// id, or (ODPS) by the contract id an output port publishes (the first, in
// the graph's order, as impact resolves it).
func (r *resolver) input(in *mesh.InputPort) (*mesh.Product, *mesh.OutputPort) {
	if in.Product != "" {
		p := r.g.Product(in.Product)
		if p == nil {
			return nil, nil
		}
		return p, p.OutputPort(in.Port)
	}
	if in.ContractID == "" {
		return nil, nil
	}
	r.once.Do(func() {
		r.byContract = map[string]publisher{}
		for _, p := range r.g.Products() {
			for _, o := range p.OutputPorts {
				if o == nil {
					continue
				}
				for _, id := range [2]string{o.ContractID, contractID(o)} {
					if _, seen := r.byContract[id]; id != "" && !seen {
						r.byContract[id] = publisher{p, o}
					}
				}
			}
		}
	})
	pub := r.byContract[in.ContractID]
	return pub.product, pub.port
}

func contractID(o *mesh.OutputPort) string {
	if o.Contract == nil {
		return ""
	}
	return o.Contract.ID
}

// readsBefore says whether the base version of the consumer already had an
// input port on the same target: the change keeps it rather than adds it.
func readsBefore(old *mesh.Product, in *mesh.InputPort) bool {
	if old == nil {
		return false
	}
	for _, o := range old.InputPorts {
		if o != nil && o.Product == in.Product && o.Port == in.Port && o.ContractID == in.ContractID {
			return true
		}
	}
	return false
}

// deprecationOf says whether what an input port reads is deprecated (the
// output port, else its product, else the port's ODCS contract), naming it,
// with the deprecation that sets its sunset (nil when none does).
func deprecationOf(target *mesh.Product, port *mesh.OutputPort) (subject string, d *mesh.Deprecation, deprecated bool) {
	productDeprecated := target.Lifecycle == mesh.LifecycleDeprecated || target.Deprecation != nil
	switch {
	case port != nil && (port.Lifecycle == mesh.LifecycleDeprecated || port.Deprecation != nil):
		d = port.Deprecation
		if d == nil && productDeprecated {
			d = target.Deprecation
		}
		return fmt.Sprintf("output port %s of %s", port.Name, target.ID()), d, true
	case productDeprecated:
		return target.ID(), target.Deprecation, true
	case port != nil && port.Contract != nil && port.Contract.Deprecated:
		return fmt.Sprintf("the contract of output port %s of %s", port.Name, target.ID()), nil, true
	}
	return "", nil, false
}

// readsOf is the policy context's view of a descriptor's input ports.
func readsOf(p *mesh.Product, base *mesh.Mesh, res *resolver) []policyeval.Read {
	var old *mesh.Product
	if base != nil {
		old = productByID(base, p.ID())
	}
	out := make([]policyeval.Read, 0, len(p.InputPorts))
	for _, in := range p.InputPorts {
		if in == nil {
			continue
		}
		r := policyeval.Read{InputPort: in.Name, Product: in.Product, Port: in.Port, Added: base != nil && !readsBefore(old, in), Line: in.Pos.Line}
		if target, port := res.input(in); target != nil {
			r.Known, r.Product = true, target.ID()
			if port != nil {
				r.Port = port.Name
			}
			if _, d, dep := deprecationOf(target, port); dep {
				r.Deprecated = true
				if d != nil {
					r.Sunset, r.Replacement = d.Sunset, d.Replacement
				}
			}
		}
		out = append(out, r)
	}
	return out
}

func deprecatedRead(consumer *mesh.Product, in *mesh.InputPort, target *mesh.Product, port *mesh.OutputPort, added bool, today time.Time) (Finding, bool) {
	subject, d, deprecated := deprecationOf(target, port)
	if !deprecated {
		return Finding{}, false
	}
	verb := "still reads"
	if added {
		verb = "adds an input port on"
	}
	f := Finding{
		Rule: RuleReadsDeprecated, Source: SourceDeprecation, Level: LevelWarning,
		Title:   "Reads something deprecated",
		Pos:     in.Pos,
		Product: consumer.ID(),
		Link:    DocsBase + "README.md#deprecation",
	}
	replacement, sunset := "", ""
	if d != nil {
		replacement, sunset = d.Replacement, d.Sunset
	}
	f.Message = fmt.Sprintf("%s %s %s (input port %s), which is deprecated", consumer.ID(), verb, subject, in.Name)
	switch {
	case d != nil && !d.SunsetDate.IsZero() && !today.Before(d.SunsetDate):
		f.Rule, f.Level, f.Title = RuleReadsPastSunset, LevelError, "Reads something past its sunset"
		f.Message += "; its sunset " + sunset + " has passed"
	case sunset != "":
		f.Message += " with sunset " + sunset
	default:
		f.Message += " without a sunset date"
	}
	if replacement != "" {
		f.Message += "; replacement: " + replacement
	}
	f.Message += "."
	switch {
	case replacement != "" && sunset != "":
		f.Help = "Move input port " + in.Name + " to " + replacement + " before " + sunset + "."
	case replacement != "":
		f.Help = "Move input port " + in.Name + " to " + replacement + "."
	default:
		f.Help = "Ask " + cmpOr(target.Owner, "the producer's owners") + " what replaces it, and move input port " + in.Name + " there."
	}
	return f, true
}
