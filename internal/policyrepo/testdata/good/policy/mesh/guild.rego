package mesh.guild

import rego.v1

deny contains msg if {
	input.kind == "DataProduct"
	not input.spec.sla.support
	msg := sprintf("guild-rule-v2: %s must name a support channel in spec.sla.support", [input.metadata.name])
}
