# The required shape of every data product (seed 004's policy/dataproduct.rego,
# in the form OPA v1 accepts).
package mesh.dataproduct

import data.mesh.lib

# METADATA
# title: PII products declare a contract on every output port
# description: A product holding personal data documents every way out of it, in any descriptor format (read from data.meshbot.context.product; an ODPS port's contractId counts).
# related_resources:
# - ref: https://github.com/meshbot/meshbot/blob/main/policy/README.md#pii-contract-required
# custom:
#   id: pii-contract-required
deny contains result if {
	product := lib.product
	product.contains_pii == true
	some port in product.output_ports
	port.contract == ""
	result := {
		"msg": sprintf("output port %v has no data contract: PII data products must declare a data contract on every output port", [port.name]),
		"_loc": lib.port_loc(port),
	}
}

# METADATA
# title: Every data product publishes a freshness SLA
# description: In the descriptor (native spec.sla.freshness) or in an output port's contract (DCS servicelevels, ODCS slaProperties freshness or latency). A port whose contract meshbot cannot read leaves the question open, so it is not judged.
# related_resources:
# - ref: https://github.com/meshbot/meshbot/blob/main/policy/README.md#freshness-sla-required
# custom:
#   id: freshness-sla-required
deny contains result if {
	product := data.meshbot.context.product
	product.freshness == ""
	not some_port_promises_freshness
	not some_contract_unread
	result := {
		"msg": sprintf("data product %v publishes no freshness SLA: %v", [product.id, freshness_hint(product.format)]),
		"_loc": {"line": product.line},
	}
}

some_port_promises_freshness if {
	some port in data.meshbot.context.product.output_ports
	port.freshness != ""
}

some_contract_unread if {
	some port in data.meshbot.context.product.output_ports
	port.contract != ""
	not port.contract_read
}

freshness_hint(format) := "set spec.sla.freshness (for example \"<= 1h\") or a freshness service level in an output port's contract" if {
	format == "mesh/v1"
} else := "promise freshness in an output port's contract (ODCS slaProperties: freshness or latency)"

# METADATA
# title: Iceberg locations are directory prefixes
# description: In any descriptor format (read from data.meshbot.context.product).
# related_resources:
# - ref: https://github.com/meshbot/meshbot/blob/main/policy/README.md#iceberg-location-prefix
# custom:
#   id: iceberg-location-prefix
deny contains result if {
	product := lib.product
	some port in product.output_ports
	port.type == "iceberg"
	not endswith(port.location, "/")
	result := {
		"msg": sprintf("output port %v: iceberg location must be a directory prefix ending with \"/\"", [port.name]),
		"_loc": lib.location_loc(port),
	}
}
