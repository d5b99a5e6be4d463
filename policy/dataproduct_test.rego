package mesh.dataproduct_test

import data.mesh.dataproduct
import data.mesh.fixtures_test as f

test_good_descriptor_passes if {
	count(dataproduct.deny) == 0 with input as f.good with data.meshbot.context as f.ctx
}

test_pii_port_without_contract_denied if {
	ctx := f.with_port_model({"contract": "", "contract_read": false})
	some m in dataproduct.deny with input as f.good with data.meshbot.context as ctx
	contains(m.msg, "output port iceberg-curated has no data contract")
	m._loc == {"line": 9, "column": 7}
}

test_non_pii_port_without_contract_allowed if {
	ctx := object.union(f.with_port_model({"contract": "", "contract_read": false}), {"product": {"contains_pii": false}})
	count(dataproduct.deny) == 0 with input as f.good with data.meshbot.context as ctx
}

# An ODPS product holding personal data, one port naming its contract by
# id and one naming none: judged as a native one is.
test_odps_pii_port_without_contract_denied if {
	ctx := f.with_product({"format": "odps", "id": "customer-data", "output_ports": [
		object.union(f.product.output_ports[0], {"name": "by-id", "contract": "dbb7b1eb-7628-436e-8914-2a00638ba6db"}),
		object.union(f.product.output_ports[0], {"name": "bare", "contract": "", "contract_read": false}),
	]})
	denials := dataproduct.deny with input as {"apiVersion": "v1.0.0", "kind": "DataProduct", "id": "customer-data"} with data.meshbot.context as ctx
	count(denials) == 1
	some m in denials
	startswith(m.msg, "output port bare has no data contract")
}

test_every_pii_port_needs_a_contract if {
	ctx := f.with_product({"output_ports": [
		f.product.output_ports[0],
		{"name": "kafka-realtime", "type": "kafka", "location": "finance.revenue.v1", "contract": "", "contract_read": false, "freshness": "", "lifecycle": "", "line": 12, "column": 7},
	]})
	denials := dataproduct.deny with input as f.good with data.meshbot.context as ctx
	count(denials) == 1
	some m in denials
	contains(m.msg, "kafka-realtime")
}

test_missing_freshness_denied if {
	some m in dataproduct.deny with input as f.good with data.meshbot.context as f.with_product({"freshness": ""})
	m.msg == "data product finance.revenue publishes no freshness SLA: set spec.sla.freshness (for example \"<= 1h\") or a freshness service level in an output port's contract"
	m._loc.line == 4
}

test_freshness_promised_by_a_contract_passes if {
	ports := [object.union(f.product.output_ports[0], {"freshness": "15m"})]
	count(dataproduct.deny) == 0 with input as f.good with data.meshbot.context as f.with_product({"freshness": "", "output_ports": ports})
}

test_unread_contract_leaves_freshness_open if {
	ports := [object.union(f.product.output_ports[0], {"contract": "dbb7b1eb", "contract_read": false})]
	count(dataproduct.deny) == 0 with input as f.good with data.meshbot.context as f.with_product({"freshness": "", "output_ports": ports})
}

test_odps_without_freshness_denied if {
	ctx := f.with_product({"freshness": "", "format": "odps", "id": "Simple Data Product"})
	some m in dataproduct.deny with input as {} with data.meshbot.context as ctx
	m.msg == "data product Simple Data Product publishes no freshness SLA: promise freshness in an output port's contract (ODCS slaProperties: freshness or latency)"
}

test_iceberg_location_must_end_with_slash if {
	ctx := f.with_port_model({"location": "s3://eu-mesh-finance/revenue"})
	some m in dataproduct.deny with input as f.good with data.meshbot.context as ctx
	m.msg == "output port iceberg-curated: iceberg location must be a directory prefix ending with \"/\""
}

test_iceberg_without_location_denied if {
	ctx := f.with_port_model({"location": ""})
	some m in dataproduct.deny with input as f.good with data.meshbot.context as ctx
	contains(m.msg, "iceberg location must be a directory prefix")
}

test_kafka_port_needs_no_directory_prefix if {
	ctx := f.with_port_model({"type": "kafka", "location": "kafka://eu-broker/revenue"})
	count(dataproduct.deny) == 0 with input as f.good with data.meshbot.context as ctx
}

test_contracts_are_not_judged_as_descriptors if {
	count(dataproduct.deny) == 0 with input as f.contract with data.meshbot.context as object.union(f.ctx, {"kind": "contract"})
}
