# Data residency (seed 004's policy/residency.rego): EU-resident data stays
# in EU-region stores.
package mesh.residency

import data.mesh.lib

# METADATA
# title: EU-resident data is stored in an EU region
# description: Every output port stored at a URL (scheme://...) of a product classified residency EU names an "eu-" region, in any descriptor format (read from data.meshbot.context.product). A port known only by its topic names no store and is not judged.
# related_resources:
# - ref: https://github.com/meshbot/meshbot/blob/main/policy/README.md#eu-residency
# custom:
#   id: eu-residency
deny contains result if {
	product := lib.product
	product.residency == "EU"
	some port in product.output_ports
	location := port.location
	contains(location, "://")
	not contains(location, "eu-")
	result := {
		"msg": sprintf("output port %v stores EU-resident data outside the EU region: %v names no \"eu-\" region", [port.name, location]),
		"_loc": lib.location_loc(port),
	}
}
