# Data residency (seed 004's policy/residency.rego): EU-resident data stays
# in EU-region stores.
package mesh.residency

import data.mesh.lib

# METADATA
# title: EU-resident data is stored in an EU region
# description: Every output port location of a product classified residency EU names an "eu-" region.
# related_resources:
# - ref: https://github.com/meshbot/meshbot/blob/main/policy/README.md#eu-residency
# custom:
#   id: eu-residency
deny contains msg if {
	lib.is_native
	input.spec.classification.residency == "EU"
	some port in input.spec.outputPorts
	location := port.location
	not contains(location, "eu-")
	msg := sprintf("output port %v stores EU-resident data outside the EU region: %v names no \"eu-\" region", [port.name, location])
}
