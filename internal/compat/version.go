package compat

import (
	"fmt"
	"slices"

	"github.com/meshbot/meshbot/internal/mesh"
)

// version judges the head's version against the changes found so far and
// adds the version rule that applies, if any.
func (d *differ) version(base, head *mesh.Contract) Version {
	v := Version{Contract: head.File, Old: base.Version, New: head.Version, Pos: at(head.Locs, head.Pos, "info.version", "version")}
	bv, bok := parseVersion(base.Version)
	hv, hok := parseVersion(head.Version)
	v.MajorBumped = bok && hok && hv.major > bv.major
	n := 0
	for _, c := range d.out {
		if c.Severity == Breaking {
			v.Breaking = true
			n++
		}
	}
	// A document only moved to another version of its standard changed
	// nothing a consumer reads: it needs no version of its own.
	if !slices.ContainsFunc(d.out, func(c Change) bool { return c.Rule != RuleSpecVersionChanged }) {
		return v
	}
	switch {
	case v.Breaking && !v.MajorBumped:
		next := "the next major version"
		if bok {
			next = fmt.Sprintf("%d.0.0", bv.major+1)
		}
		moved := fmt.Sprintf("its version stayed %s", quote(head.Version))
		if base.Version != head.Version {
			moved = fmt.Sprintf("its version went from %s to %s within the same major version", quote(base.Version), quote(head.Version))
		}
		d.add(RuleBreakingInMajor, v.Pos, nil, base.Version, head.Version,
			fmt.Sprintf("contract has %d breaking change(s) but %s; ship it as %s on a new output port and keep the old port through a deprecation window", n, moved, next))
	case !v.Breaking && v.MajorBumped:
		d.add(RuleMajorWithoutBreaking, v.Pos, nil, base.Version, head.Version,
			fmt.Sprintf("contract major version went from %s to %s although nothing breaking changed; a minor version would spare consumers a migration", base.Version, head.Version))
	case bok && hok && hv.compare(bv) < 0:
		d.add(RuleVersionDecreased, v.Pos, nil, base.Version, head.Version,
			fmt.Sprintf("contract version went down from %s to %s; raise it above %s", base.Version, head.Version, base.Version))
	case base.Version == head.Version || bok && hok && hv.compare(bv) == 0:
		d.add(RuleVersionNotBumped, v.Pos, nil, base.Version, head.Version,
			fmt.Sprintf("contract changed but its version stayed %s; bump the minor version for additions and the patch version for fixes", quote(head.Version)))
	}
	return v
}
