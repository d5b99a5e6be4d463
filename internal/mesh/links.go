package mesh

import "fmt"

// CodeContractIDUnknown marks an output port naming a contract by id that
// no contract in the checkout carries.
const CodeContractIDUnknown = "contract-id-unknown"

// DanglingContractIDs reports every output port that names its contract by
// id (ODPS contractId, DPS dataContractId) when no contract in m carries
// that id: consumers of the port have no contract to rely on. It is a
// notice, not an error, since a contract may live in another repository.
// It needs no base version: the head alone shows the dangling id.
func DanglingContractIDs(m *Mesh) []Problem {
	if m == nil || !unlinkedByID(m) {
		// Nothing to look up: the contracts' ids are not needed, and
		// reading them would parse every contract LoadPair left unparsed.
		return nil
	}
	ids := make(map[string]bool, len(m.Contracts))
	for _, c := range m.Contracts {
		if c != nil {
			c.Parse()
			ids[c.ID] = true
		}
	}
	var out []Problem
	for _, p := range m.Products {
		for _, o := range p.OutputPorts {
			if o.ContractID == "" || o.Contract != nil || o.ContractPath != "" || ids[o.ContractID] {
				continue
			}
			out = append(out, Problem{Code: CodeContractIDUnknown, Notice: true,
				Pos:     o.Locs.At("contractId", o.Locs.At("dataContractId", o.Pos)),
				Message: fmt.Sprintf("output port %q names contract %s, which is not in the repository; consumers of the port have no contract to rely on here", o.Name, o.ContractID)})
		}
	}
	return out
}

// unlinkedByID says whether a port of m names its contract by an id no
// loaded contract was linked for.
func unlinkedByID(m *Mesh) bool {
	for _, p := range m.Products {
		for _, o := range p.OutputPorts {
			if o.ContractID != "" && o.Contract == nil && o.ContractPath == "" {
				return true
			}
		}
	}
	return false
}
