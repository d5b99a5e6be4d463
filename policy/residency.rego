# Data residency (seed 004's policy/residency.rego): EU-resident data stays
# in EU-region stores. Judged on meshbot's model, so a product's own port
# locations, the servers its ports' contracts name, and a contract's own
# servers are all held to the residency declared for them.

# METADATA
# scope: package
# custom:
#   documents: [descriptor, contract]
package mesh.residency

import data.mesh.lib

# METADATA
# title: EU-resident data is stored in an EU region
# description: Every output port location of a product classified residency EU names an "eu-" region.
# related_resources:
# - ref: https://github.com/meshbot/meshbot/blob/main/policy/README.md#eu-residency
# custom:
#   id: eu-residency
deny contains result if {
	product := data.meshbot.context.product
	lib.eu_resident(product.residency)
	some port in product.output_ports
	port.location != ""
	not lib.names_eu_region(port.location)
	result := {
		"msg": sprintf("output port %v stores EU-resident data outside the EU region: %v names no \"eu-\" region", [port.name, port.location]),
		"_loc": lib.at(port, "location"),
	}
}

# METADATA
# title: EU-resident data is stored in an EU region
# description: A server named by the contract of an EU-resident product's output port is in an EU region (native, ODPS and DPS products alike).
# related_resources:
# - ref: https://github.com/meshbot/meshbot/blob/main/policy/README.md#eu-residency
# custom:
#   id: eu-residency
deny contains result if {
	product := data.meshbot.context.product
	lib.eu_resident(product.residency)
	some port in product.output_ports
	some server in port.servers
	server.region != ""
	not lib.eu_region(server.region)
	result := {
		"msg": sprintf("output port %v stores EU-resident data outside the EU region: its contract's server %v is in %v", [port.name, server.name, server.region]),
		"_loc": lib.at(port, "contract"),
	}
}

# METADATA
# title: EU-resident data is stored in an EU region
# description: A contract declaring residency EU (ODCS a residency custom property) names only servers in EU regions.
# related_resources:
# - ref: https://github.com/meshbot/meshbot/blob/main/policy/README.md#eu-residency
# custom:
#   id: eu-residency
deny contains result if {
	contract := data.meshbot.context.contract
	lib.eu_resident(contract.residency)
	some server in contract.servers
	server.region != ""
	not lib.eu_region(server.region)
	result := {
		"msg": sprintf("data contract %v is EU-resident, but its server %v is in %v, outside the EU", [contract.id, server.name, server.region]),
		"_loc": {"line": server.line},
	}
}
