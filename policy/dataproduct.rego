# The required shape of every data product (seed 004's policy/dataproduct.rego),
# judged on meshbot's model of the product at data.meshbot.context.product,
# so native, ODPS and DPS descriptors alike.
package mesh.dataproduct

import data.mesh.lib

# METADATA
# title: PII products declare a contract on every output port
# description: A product holding personal data (native classification.contains_pii, DPS an output port's containsPii) documents every way out of it. ODPS has no place to say a product holds personal data, so its products are not judged.
# related_resources:
# - ref: https://github.com/meshbot/meshbot/blob/main/policy/README.md#pii-contract-required
# custom:
#   id: pii-contract-required
deny contains result if {
	product := data.meshbot.context.product
	product.contains_pii == true
	some port in product.output_ports
	port.contract == ""
	result := {
		"msg": sprintf("output port %v has no data contract: PII data products must declare a data contract on every output port", [port.name]),
		"_loc": lib.at(port, "name"),
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
# description: An output port of type iceberg, in any format, names its location as a directory prefix.
# related_resources:
# - ref: https://github.com/meshbot/meshbot/blob/main/policy/README.md#iceberg-location-prefix
# custom:
#   id: iceberg-location-prefix
deny contains result if {
	product := data.meshbot.context.product
	some port in product.output_ports
	port.type == "iceberg"
	located(product, port)
	not endswith(port.location, "/")
	result := {
		"msg": sprintf("output port %v: iceberg location must be a directory prefix ending with \"/\"", [port.name]),
		"_loc": lib.at(port, "location"),
	}
}

# A port whose location is judged: one that writes one, and every native
# port, which is addressed by its location alone. A DPS port addressed by
# catalog and table has no directory to judge.
located(_, port) if port.location != ""

located(product, _) if product.format == "mesh/v1"
