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
	doc := json.remove(f.good, ["spec/sla/freshness"])
	some msg in dataproduct.deny with input as doc with data.meshbot.context as f.ctx
	contains(msg, "publishes no freshness SLA")
	contains(msg, "finance.revenue")
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
