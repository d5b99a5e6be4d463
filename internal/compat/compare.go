package compat

import (
	"cmp"
	"fmt"
	"sort"

	"github.com/meshbot/meshbot/internal/mesh"
)

// Compare compares two checkouts. Products pair by global id (domain.name),
// output ports by name, contracts through their ports (a port whose contract
// path changed compares the old file with the new one), and standalone
// contracts (referenced by no port) by path. Either mesh may be nil (all
// added or all removed).
func Compare(base, head *mesh.Mesh) *Report {
	if base == nil {
		base = &mesh.Mesh{}
	}
	if head == nil {
		head = &mesh.Mesh{}
	}
	r := &Report{}
	headByID := productsByID(head.Products)
	baseByID := productsByID(base.Products)
	compared := map[[2]string]bool{} // (base path, head path) of contracts already compared

	for _, bp := range base.Products {
		id := bp.ID()
		if baseByID[id] != bp {
			continue // a duplicate id; the reader reports it
		}
		hp := headByID[id]
		if hp == nil {
			r.Changes = append(r.Changes, Change{
				Rule: RuleProductRemoved, Severity: severityOf(RuleProductRemoved), Pos: bp.Pos, InBase: true, Product: id, Old: id,
				Message: fmt.Sprintf("data product %s was removed; every consumer of its ports breaks: deprecate it with a sunset date and remove it once no consumer remains", id),
			})
			continue
		}
		r.Changes = append(r.Changes, Products(bp, hp)...)
		for _, bport := range bp.OutputPorts {
			hport := hp.OutputPort(bport.Name)
			if hport == nil || bport.Contract == nil || hport.Contract == nil {
				// Removed ports and removed contract references are
				// descriptor changes; unreadable contracts are Problems.
				continue
			}
			compared[[2]string{bport.Contract.File, hport.Contract.File}] = true
			r.contract(bport.Contract, hport.Contract, id, hport.Name)
		}
	}
	for _, hp := range head.Products {
		id := hp.ID()
		if headByID[id] == hp && baseByID[id] == nil {
			r.Changes = append(r.Changes, Change{
				Rule: RuleProductAdded, Severity: severityOf(RuleProductAdded), Pos: hp.Pos, Product: id, New: id,
				Message: fmt.Sprintf("data product %s was added", id),
			})
		}
	}
	r.standalone(base, head, compared)
	Sort(r.Changes)
	return r
}

func (r *Report) contract(b, h *mesh.Contract, product, port string) {
	if b == h {
		// One contract shared by both checkouts (mesh.LoadPair): the same
		// bytes, nothing changed.
		return
	}
	cs, v := diffContract(b, h)
	for i := range cs {
		cs[i].Product, cs[i].Port = product, port
	}
	v.Product, v.Port = product, port
	r.Changes = append(r.Changes, cs...)
	r.Versions = append(r.Versions, v)
}

// standalone compares, by path, contract files no port comparison covered:
// those referenced by no port, and those whose port went away on one side.
// Standalone files deleted or added are reported; files that belonged to a
// removed or added port are covered by the port's change.
func (r *Report) standalone(base, head *mesh.Mesh, compared map[[2]string]bool) {
	bFree, hFree := unreferenced(base), unreferenced(head)
	seen := map[string]bool{}
	for k := range compared {
		seen[k[0]], seen[k[1]] = true, true
	}
	for _, path := range sortedKeys(base.Contracts) {
		bc := base.Contracts[path]
		hc, inHead := head.Contracts[path]
		switch {
		case inHead && hc != nil && bc != nil:
			// A file a port comparison already covered (as its base or its
			// head) is not compared again.
			if seen[path] {
				continue
			}
			// A contract no port publishes may still be read by products
			// that name its id (ODPS input ports): its changes are
			// reported under the id those consumers are registered by.
			product := ""
			if id := cmp.Or(hc.ID, bc.ID); id != "" {
				product = mesh.ContractConsumerID(id)
			}
			r.contract(bc, hc, product, "")
		case !inHead && bFree[path]:
			pos := mesh.Pos{File: path}
			if bc != nil {
				pos = bc.Pos
			}
			r.Changes = append(r.Changes, Change{
				Rule: RuleContractRemoved, Severity: severityOf(RuleContractRemoved), Pos: pos, InBase: true, Contract: path, Old: path,
				Message: fmt.Sprintf("contract %s was deleted; consumers who read it lose its guarantees: keep it until no consumer remains", path),
			})
		}
	}
	for _, path := range sortedKeys(head.Contracts) {
		if _, inBase := base.Contracts[path]; !inBase && hFree[path] {
			pos := mesh.Pos{File: path}
			if hc := head.Contracts[path]; hc != nil {
				pos = hc.Pos
			}
			r.Changes = append(r.Changes, Change{
				Rule: RuleContractAdded, Severity: severityOf(RuleContractAdded), Pos: pos, Contract: path, New: path,
				Message: fmt.Sprintf("contract %s was added", path),
			})
		}
	}
}

// unreferenced is the set of contract paths no output port of m points at.
func unreferenced(m *mesh.Mesh) map[string]bool {
	ref := map[string]bool{}
	for _, p := range m.Products {
		for _, o := range p.OutputPorts {
			if o.ContractPath != "" {
				ref[o.ContractPath] = true
			}
			if o.Contract != nil {
				ref[o.Contract.File] = true
			}
		}
	}
	free := make(map[string]bool, len(m.Contracts))
	for path := range m.Contracts {
		if !ref[path] {
			free[path] = true
		}
	}
	return free
}

func productsByID(ps []*mesh.Product) map[string]*mesh.Product {
	m := make(map[string]*mesh.Product, len(ps))
	for _, p := range ps {
		if _, dup := m[p.ID()]; !dup {
			m[p.ID()] = p
		}
	}
	return m
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
