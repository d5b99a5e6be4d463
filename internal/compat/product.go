package compat

import (
	"fmt"
	"slices"

	"github.com/meshbot/meshbot/internal/mesh"
)

// Products compares two versions of one descriptor: owner, lifecycle,
// classification, service levels and output ports. Contracts behind the
// ports are compared by Compare, not here.
func Products(base, head *mesh.Product) []Change {
	d := &differ{}
	d.product(base, head)
	id := head.ID()
	for i := range d.out {
		d.out[i].Product = id
	}
	Sort(d.out)
	return d.out
}

func (d *differ) product(base, head *mesh.Product) {
	id := head.ID()
	if base.Owner != head.Owner {
		d.add(RuleProductOwnerChanged, at(head.Locs, head.Pos, "metadata.owner"), nil, base.Owner, head.Owner,
			fmt.Sprintf("product %s owner changed from %s to %s; consumers should know whom to ask now", id, quote(base.Owner), quote(head.Owner)))
	}
	d.lifecycle("product "+id, RuleProductDeprecated, RuleProductLifecycleChanged, base.Lifecycle, head.Lifecycle, head.Deprecation,
		at(head.Locs, head.Pos, "spec.lifecycle"))
	d.sunset("product "+id, base.Deprecation, head.Deprecation)
	d.productClassification(id, base.Classification, head.Classification, at(head.Locs, head.Pos, "spec.classification"))
	d.sla("product "+id, base.SLA, head.SLA, at(head.Locs, head.Pos, "spec.sla"))
	d.ports(id, base, head)
}

func (d *differ) lifecycle(what, deprecatedRule, changedRule, o, n string, dep *mesh.Deprecation, pos mesh.Pos) {
	switch {
	case o == n:
	case n == mesh.LifecycleDeprecated:
		d.add(deprecatedRule, pos, nil, o, n, fmt.Sprintf("%s is now deprecated (%s); consumers should plan their migration before its sunset", what, depTerms(dep)))
	default:
		d.add(changedRule, pos, nil, o, n, fmt.Sprintf("%s lifecycle changed from %s to %s", what, quote(o), quote(n)))
	}
}

// depTerms names a deprecation's sunset and replacement for a notice.
func depTerms(dep *mesh.Deprecation) string {
	if dep == nil || dep.Sunset == "" {
		return "no sunset date given"
	}
	if dep.Replacement == "" {
		return "sunset " + dep.Sunset + ", no replacement named"
	}
	return "sunset " + dep.Sunset + ", replacement " + dep.Replacement
}

func (d *differ) sunset(what string, b, h *mesh.Deprecation) {
	if b == nil || h == nil || b.SunsetDate.IsZero() || h.SunsetDate.IsZero() || !h.SunsetDate.Before(b.SunsetDate) {
		return
	}
	d.add(RuleSunsetAdvanced, at(h.Locs, h.Pos, "sunset"), nil, b.Sunset, h.Sunset,
		fmt.Sprintf("%s sunset moved earlier from %s to %s; consumers have less time to migrate: tell them or keep the original date", what, b.Sunset, h.Sunset))
}

func (d *differ) productClassification(id string, b, h mesh.Classification, fallback mesh.Pos) {
	if h.Pos != (mesh.Pos{}) {
		fallback = h.Pos
	}
	pos := func(key string) mesh.Pos { return at(h.Locs, fallback, key, "spec.classification."+key) }
	switch {
	case !b.ContainsPII && h.ContainsPII:
		d.add(RuleProductPIIAdded, pos("contains_pii"), slices.Clone(h.PIIFields), "false", "true",
			fmt.Sprintf("product %s now contains personal data; consumers may not be cleared to process it: confirm each consumer's clearance or publish it on a new output port", id))
	case b.ContainsPII && !h.ContainsPII:
		d.add(RuleProductPIIRemoved, pos("contains_pii"), nil, "true", "false",
			fmt.Sprintf("product %s no longer declares personal data; have governance confirm the declassification", id))
	}
	// When the product as a whole became PII, the change above names the
	// fields; otherwise each newly listed field is its own change.
	if b.ContainsPII && h.ContainsPII {
		for _, f := range h.PIIFields {
			if !slices.Contains(b.PIIFields, f) {
				d.add(RuleProductPIIFieldAdded, pos("pii_fields"), []string{f}, "", f,
					fmt.Sprintf("field %s of product %s is now listed as personal data; consumers may not be cleared to process it: confirm each consumer's clearance", f, id))
			}
		}
	}
	switch o, n := b.Residency, h.Residency; {
	case o == n:
	case o != "" && n != "":
		d.add(RuleProductResidencyChanged, pos("residency"), nil, o, n,
			fmt.Sprintf("product %s residency changed from %s to %s; consumers' processing may no longer be lawful where they run: confirm with each consumer or publish on a new output port", id, o, n))
	default:
		d.add(RuleProductClassificationOther, pos("residency"), nil, o, n,
			fmt.Sprintf("product %s residency changed from %s to %s", id, quote(o), quote(n)))
	}
}

func (d *differ) ports(id string, base, head *mesh.Product) {
	for _, bp := range base.OutputPorts {
		hp := head.OutputPort(bp.Name)
		if hp == nil {
			c := d.removed(RulePortRemoved, at(head.Locs, head.Pos, "spec.outputPorts", "outputPorts"), bp.Pos, nil, bp.Name,
				fmt.Sprintf("output port %s of %s was removed; consumers reading from it break: deprecate it with a sunset date and remove it once no consumer remains", bp.Name, id))
			c.Port = bp.Name
			continue
		}
		n := len(d.out)
		d.port(id, bp, hp)
		for i := n; i < len(d.out); i++ {
			d.out[i].Port = hp.Name
		}
	}
	for _, hp := range head.OutputPorts {
		if base.OutputPort(hp.Name) == nil {
			c := d.add(RulePortAdded, hp.Pos, nil, "", hp.Name, fmt.Sprintf("output port %s of %s was added", hp.Name, id))
			c.Port = hp.Name
		}
	}
}

func (d *differ) port(id string, b, h *mesh.OutputPort) {
	what := fmt.Sprintf("output port %s of %s", h.Name, id)
	for _, a := range [...]struct{ rule, key, o, n string }{
		{RulePortTypeChanged, "type", b.Type, h.Type},
		{RulePortLocationChanged, "location", b.Location, h.Location},
		{RulePortTopicChanged, "topic", b.Topic, h.Topic},
	} {
		if a.o != a.n {
			d.add(a.rule, at(h.Locs, h.Pos, a.key), nil, a.o, a.n,
				fmt.Sprintf("%s %s changed from %s to %s; consumers still read from the old one: keep the old port alive and publish the new %s on a new output port", what, a.key, quote(a.o), quote(a.n), a.key))
		}
	}
	bc, hc := contractRef(b), contractRef(h)
	pos := at(h.Locs, h.Pos, "contract", "contractId", "dataContractId")
	switch {
	case bc == hc:
	case h.ContractID != "" && h.Contract == nil && h.ContractID != b.ContractID:
		// The port still names a contract, by id, but none in the
		// repository carries that id: consumers lose every guarantee.
		d.add(RulePortContractRemoved, pos, nil, bc, h.ContractID,
			fmt.Sprintf("%s now names contract %s, which is not in the repository (was %s); consumers lose every guarantee: add the contract or name the one that exists", what, h.ContractID, bc))
	case hc == "":
		d.add(RulePortContractRemoved, pos, nil, bc, "",
			fmt.Sprintf("%s no longer declares a contract (was %s); consumers lose every guarantee: keep the contract", what, bc))
	case bc == "":
		d.add(RulePortContractAdded, pos, nil, "", hc, fmt.Sprintf("%s now declares contract %s", what, hc))
	default:
		d.add(RulePortContractChanged, pos, nil, bc, hc,
			fmt.Sprintf("%s now points at contract %s instead of %s; the two are compared below", what, hc, bc))
	}
	d.lifecycle(what, RulePortDeprecated, RulePortLifecycleChanged, b.Lifecycle, h.Lifecycle, h.Deprecation, at(h.Locs, h.Pos, "lifecycle"))
	d.sunset(what, b.Deprecation, h.Deprecation)
}

// contractRef is the port's contract as a path comparable across versions;
// a contract named by an id that no file carries is "id <id>".
func contractRef(p *mesh.OutputPort) string {
	switch {
	case p.ContractPath != "":
		return p.ContractPath
	case p.ContractRef != "":
		return p.ContractRef
	case p.ContractID != "":
		return "id " + p.ContractID
	}
	return ""
}
