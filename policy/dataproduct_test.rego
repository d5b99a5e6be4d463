package mesh.dataproduct_test

import data.mesh.dataproduct
import data.mesh.fixtures_test as f

test_good_descriptor_passes if {
	count(dataproduct.deny) == 0 with input as f.good with data.meshbot.context as f.ctx
}

test_pii_port_without_contract_denied if {
	doc := json.remove(f.good, ["spec/outputPorts/0/contract"])
	some msg in dataproduct.deny with input as doc with data.meshbot.context as f.ctx
	contains(msg, "output port iceberg-curated has no data contract")
}

test_non_pii_port_without_contract_allowed if {
	doc := json.remove(f.with_spec({"classification": {"contains_pii": false}}), ["spec/outputPorts/0/contract"])
	count(dataproduct.deny) == 0 with input as doc with data.meshbot.context as f.ctx
}

test_every_pii_port_needs_a_contract if {
	doc := f.with_spec({"outputPorts": [
		f.good.spec.outputPorts[0],
		{"name": "kafka-realtime", "type": "kafka", "topic": "finance.revenue.v1"},
	]})
	denials := dataproduct.deny with input as doc with data.meshbot.context as f.ctx
	count(denials) == 1
	some msg in denials
	contains(msg, "kafka-realtime")
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
	doc := f.with_port({"location": "s3://eu-mesh-finance/revenue"})
	some msg in dataproduct.deny with input as doc with data.meshbot.context as f.ctx
	msg == "output port iceberg-curated: iceberg location must be a directory prefix ending with \"/\""
}

test_kafka_port_needs_no_directory_prefix if {
	doc := f.with_port({"type": "kafka", "location": "kafka://eu-broker/revenue"})
	count(dataproduct.deny) == 0 with input as doc with data.meshbot.context as f.ctx
}

test_contracts_are_not_judged_as_descriptors if {
	count(dataproduct.deny) == 0 with input as f.contract with data.meshbot.context as object.union(f.ctx, {"kind": "contract"})
}
