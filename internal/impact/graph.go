// Package impact is the consumer graph of a mesh: which products read which
// output ports and fields, so that a change can be turned into the list of
// consumers (and their owning teams) it would break, and a product into its
// blast radius.
package impact

import (
	"cmp"
	"slices"
	"strings"

	"github.com/meshbot/meshbot/internal/mesh"
)

// Consumer is one registered consumer expectation: an input port of a
// consumer product pointing at a producer's output port.
type Consumer struct {
	Product   string          // consumer's global id
	Owner     string          // its owning team
	InputPort string          // the consumer's input port name
	Producer  string          // the producer's global id, as the input port names it
	Port      string          // the producer's output port it reads
	Fields    []mesh.FieldRef // the fields it declared (empty = depends on the whole port)
	File      string          // consumer descriptor path
	Pos       mesh.Pos        // the input port's position
}

// Graph indexes products and the consumer edges between them. It is
// immutable once built and safe for concurrent reads.
type Graph struct {
	products map[string]*mesh.Product
	order    []*mesh.Product // kept products, in the order they were given
	// edges holds every consumer expectation once, sorted by producer, then
	// consumer id, port and input port, so that a producer's consumers are
	// one contiguous run and a port's consumers a sorted subsequence of it.
	edges  []Consumer
	byProd map[string]span
	byPort map[portKey][]int32 // indices into edges
}

type span struct{ from, to int32 }

type portKey struct{ product, port string }

// Build indexes products from several sources, in priority order (typically
// the head checkout, then consumer checkouts, then the registry). When the
// same product id appears more than once the first occurrence wins, so the
// version under review shadows the registered one. Nil products are skipped.
func Build(sources ...[]*mesh.Product) *Graph {
	g := &Graph{products: map[string]*mesh.Product{}}
	for _, src := range sources {
		for _, p := range src {
			if p == nil {
				continue
			}
			id := p.ID()
			if _, dup := g.products[id]; dup {
				continue
			}
			g.products[id] = p
			g.order = append(g.order, p)
		}
	}
	g.edges = sortedEdges(g.order)
	g.byProd = make(map[string]span, len(g.products))
	g.byPort = make(map[portKey][]int32, len(g.products))
	for i := 0; i < len(g.edges); {
		j := i
		for j < len(g.edges) && g.edges[j].Producer == g.edges[i].Producer {
			k := portKey{g.edges[j].Producer, g.edges[j].Port}
			g.byPort[k] = append(g.byPort[k], int32(j))
			j++
		}
		g.byProd[g.edges[i].Producer] = span{int32(i), int32(j)}
		i = j
	}
	return g
}

// sortedEdges returns the consumer expectations of products ordered by
// producer, consumer id, port and input port, keeping written order among
// equals. It sorts small keys over ranked ids and builds each Consumer once:
// on a large mesh this is most of Build's time and memory.
func sortedEdges(products []*mesh.Product) []Consumer {
	type ref struct {
		consumer *mesh.Product
		in       *mesh.InputPort
		cid      string
	}
	owners := contractOwners(products)
	var refs []ref
	for _, p := range products {
		cid := p.ID()
		for _, in := range p.InputPorts {
			if in == nil {
				continue
			}
			if in.Product == "" && in.ContractID != "" {
				in = resolveByContract(in, owners)
			}
			if in.Product != "" {
				refs = append(refs, ref{p, in, cid})
			}
		}
	}
	rank := make(map[string]int32, len(products))
	ids := make([]string, 0, len(products))
	for _, r := range refs {
		for _, id := range [2]string{r.in.Product, r.cid} {
			if _, ok := rank[id]; !ok {
				rank[id] = 0
				ids = append(ids, id)
			}
		}
	}
	slices.Sort(ids)
	for i, id := range ids {
		rank[id] = int32(i)
	}
	type key struct{ producer, consumer, idx int32 }
	keys := make([]key, len(refs))
	for i, r := range refs {
		keys[i] = key{rank[r.in.Product], rank[r.cid], int32(i)}
	}
	slices.SortFunc(keys, func(x, y key) int {
		if c := cmp.Or(cmp.Compare(x.producer, y.producer), cmp.Compare(x.consumer, y.consumer)); c != 0 {
			return c
		}
		a, b := refs[x.idx].in, refs[y.idx].in
		return cmp.Or(cmp.Compare(a.Port, b.Port), cmp.Compare(a.Name, b.Name), cmp.Compare(x.idx, y.idx))
	})
	out := make([]Consumer, len(keys))
	for i, k := range keys {
		out[i] = consumer(refs[k.idx].consumer, refs[k.idx].cid, refs[k.idx].in)
	}
	return out
}

// ContractProducer is mesh.ContractConsumerID: the producer id of a
// contract that no output port publishes.
func ContractProducer(contractID string) string { return mesh.ContractConsumerID(contractID) }

type portRef struct{ product, port string }

// contractOwners maps a contract id to the output port that publishes it
// (by the port's contractId, or the id of the contract file it links). An
// id published by more than one port is kept for the first, in order.
func contractOwners(products []*mesh.Product) map[string]portRef {
	out := map[string]portRef{}
	for _, p := range products {
		for _, o := range p.OutputPorts {
			if o == nil {
				continue
			}
			for _, id := range [2]string{o.ContractID, contractIDOf(o)} {
				if _, seen := out[id]; id != "" && !seen {
					out[id] = portRef{p.ID(), o.Name}
				}
			}
		}
	}
	return out
}

func contractIDOf(o *mesh.OutputPort) string {
	if o.Contract == nil {
		return ""
	}
	return o.Contract.ID
}

// resolveByContract turns an input port that names only the contract it
// reads (ODPS contractId) into one naming the producer and port that
// publish it, or the contract itself when no port does. The product's own
// input port is not changed: products are shared.
func resolveByContract(in *mesh.InputPort, owners map[string]portRef) *mesh.InputPort {
	r := *in
	if o, ok := owners[in.ContractID]; ok {
		r.Product, r.Port = o.product, o.port
	} else {
		r.Product = ContractProducer(in.ContractID)
	}
	return &r
}

func consumer(p *mesh.Product, id string, in *mesh.InputPort) Consumer {
	return Consumer{
		Product: id, Owner: p.Owner, InputPort: in.Name,
		Producer: in.Product, Port: in.Port, Fields: in.Fields,
		File: p.File, Pos: in.Pos,
	}
}

func (g *Graph) ofProducer(product string) []Consumer {
	s, ok := g.byProd[product]
	if !ok {
		return nil
	}
	return g.edges[s.from:s.to:s.to]
}

// Product returns the product with global id id, or nil.
func (g *Graph) Product(id string) *mesh.Product { return g.products[id] }

// Products returns every indexed product in the order given to Build.
func (g *Graph) Products() []*mesh.Product { return slices.Clone(g.order) }

// ConsumersOf returns the consumers of a producer's output port, sorted by
// consumer id, port and input port. Port "" means any port of the product.
// The slice is a copy; callers may keep or modify it.
func (g *Graph) ConsumersOf(product, port string) []Consumer {
	if port == "" {
		return slices.Clone(g.ofProducer(product))
	}
	idx := g.byPort[portKey{product, port}]
	if len(idx) == 0 {
		return nil
	}
	out := make([]Consumer, len(idx))
	for i, j := range idx {
		out[i] = g.edges[j]
	}
	return out
}

// Affected returns the consumers of product/port (port "" = any port) that a
// change to fields would hit.
//
// Change paths are model-qualified ("order_event.total_minor", nested fields
// as "order_event.shipping_address.city"); a bare name is accepted from
// callers that do not know the model. A consumer field reference hits a
// change when, segment by segment:
//   - it names the same path ("order_event.total_minor"), or
//   - it is the path without its model ("total_minor" matches the field in
//     any model), or
//   - one is a parent of the other: a change to "shipping_address" hits a
//     consumer of "shipping_address.city", and a change to
//     "shipping_address.city" hits a consumer of "shipping_address" (its
//     value changed shape) — the same holds after dropping the model, or
//   - the change path is bare and the consumer qualified it with a model.
//
// A consumer without a field list depends on the whole port and is always
// hit. A change without fields (port removed, SLA loosened, contract
// replaced) hits every consumer of the port.
func (g *Graph) Affected(product, port string, fields []string) []Consumer {
	consumers := g.ConsumersOf(product, port)
	if len(fields) == 0 {
		return consumers
	}
	changes := make([]string, 0, len(fields))
	for _, f := range fields {
		if f, ok := cleanPath(f); ok {
			changes = append(changes, f)
		}
	}
	if len(changes) == 0 {
		return consumers
	}
	out := consumers[:0]
	for _, c := range consumers {
		if hits(c, changes) {
			out = append(out, c)
		}
	}
	return slices.Clip(out)
}

func hits(c Consumer, changes []string) bool {
	if len(c.Fields) == 0 {
		return true
	}
	for _, ref := range c.Fields {
		r, ok := cleanPath(ref.Name)
		if !ok {
			continue
		}
		for _, ch := range changes {
			if matches(ch, r) {
				return true
			}
		}
	}
	return false
}

// FieldMatches reports whether a consumer's declared field ref is hit by a
// change to any of the paths in changes, by the rules documented on
// Affected. No changes, or only blank ones, hit every field.
func FieldMatches(ref string, changes []string) bool {
	r, refOK := cleanPath(ref)
	named := false
	for _, c := range changes {
		ch, ok := cleanPath(c)
		if !ok {
			continue
		}
		named = true
		if refOK && matches(ch, r) {
			return true
		}
	}
	return !named
}

// matches: a change at dotted path change (model first) hits a consumer that
// declared dotted path ref. Paths are compared as strings, segment-aware,
// without splitting: Affected runs this for every field of every consumer.
func matches(change, ref string) bool {
	if related(change, ref) {
		return true
	}
	_, changeRest, changeQualified := strings.Cut(change, ".")
	// The consumer omitted the model.
	if changeQualified && related(changeRest, ref) {
		return true
	}
	// The change omitted the model, the consumer did not.
	if _, refRest, refQualified := strings.Cut(ref, "."); !changeQualified && refQualified && related(change, refRest) {
		return true
	}
	return false
}

// related: one dotted path is a segment-wise prefix of the other.
func related(a, b string) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	return b[:len(a)] == a && (len(a) == len(b) || b[len(a)] == '.')
}

// cleanPath trims p and reports whether it is a usable dotted path: not
// empty, no empty segment ("a..b", ".a", "a." mean nothing).
func cleanPath(p string) (string, bool) {
	p = strings.TrimSpace(p)
	if p == "" || p[0] == '.' || p[len(p)-1] == '.' || strings.Contains(p, "..") {
		return "", false
	}
	return p, true
}

// Downstream returns the products that transitively consume product (its
// blast radius), sorted, without product itself. Cycles are safe.
func (g *Graph) Downstream(product string) []string {
	seen := map[string]bool{product: true}
	queue := []string{product}
	var out []string
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, c := range g.ofProducer(cur) {
			if seen[c.Product] {
				continue
			}
			seen[c.Product] = true
			out = append(out, c.Product)
			queue = append(queue, c.Product)
		}
	}
	slices.Sort(out)
	return out
}

// InDegree is the number of distinct products consuming product, not
// counting the product itself.
func (g *Graph) InDegree(product string) int {
	n := 0
	prev := ""
	// byProd is sorted by consumer id, so distinct ids are adjacent.
	for _, c := range g.ofProducer(product) {
		if c.Product != prev && c.Product != product {
			n++
		}
		prev = c.Product
	}
	return n
}

// Unresolved returns the consumers whose producer is not in the graph or
// whose producer has no output port of that name: expectations nobody can
// honour, worth a warning on the consumer's input port.
func (g *Graph) Unresolved() []Consumer {
	var out []Consumer
	for _, p := range g.order {
		for _, in := range p.InputPorts {
			if in == nil || in.Product == "" {
				continue
			}
			c := consumer(p, p.ID(), in)
			prod := g.products[c.Producer]
			if prod == nil || prod.OutputPort(c.Port) == nil {
				out = append(out, c)
			}
		}
	}
	return out
}
