package mesh.dataproduct_test

import data.mesh.dataproduct
import data.mesh.fixtures_test as f

msgs(set) := {m.msg | some m in set}

test_good_descriptor_passes if {
	count(dataproduct.deny) == 0 with input as f.good with data.meshbot.context as f.ctx
}

test_odps_example_passes if {
	count(dataproduct.deny) == 0 with input as f.odps with data.meshbot.context as f.odps_ctx
}

test_pii_port_without_contract_denied_at_the_port if {
	denials := dataproduct.deny with input as f.good with data.meshbot.context as f.with_port({"contract": "", "contract_read": false})
	msgs(denials) == {"output port iceberg-curated has no data contract: PII data products must declare a data contract on every output port"}
	some d in denials
	d._loc == {"line": 13, "column": 7}
}

test_non_pii_port_without_contract_allowed if {
	ctx := f.with_product({"contains_pii": false, "output_ports": [object.union(f.port, {"contract": "", "contract_read": false})]})
	count(dataproduct.deny) == 0 with input as f.good with data.meshbot.context as ctx
}

test_every_pii_port_needs_a_contract if {
	kafka := object.union(json.remove(f.port, ["locs"]), {"name": "kafka-realtime", "type": "kafka", "location": "", "topic": "finance.revenue.v1", "contract": "", "line": 19})
	denials := dataproduct.deny with input as f.good with data.meshbot.context as f.with_product({"output_ports": [f.port, kafka]})
	msgs(denials) == {"output port kafka-realtime has no data contract: PII data products must declare a data contract on every output port"}
	some d in denials
	d._loc == {"line": 19}
}

# A DPS port marked containsPii makes the product hold personal data; a
# port naming its contract by id or by URL has one.
test_dps_pii_port_without_contract_denied if {
	ctx := f.with_product({"format": "dataproduct-spec", "output_ports": [
		object.union(f.port, {"name": "a", "contract": "urn:contract:a"}),
		object.union(f.port, {"name": "b", "contract": "https://contracts.example.com/b.yaml"}),
		object.union(f.port, {"name": "c", "contract": ""}),
	]})
	msgs(dataproduct.deny) == {"output port c has no data contract: PII data products must declare a data contract on every output port"} with input as {} with data.meshbot.context as ctx
}

# ODPS has no place to say a product holds personal data: its ports
# without a contract are not judged by this rule.
test_odps_port_without_contract_not_judged_for_pii if {
	count(dataproduct.deny) == 0 with input as f.odps with data.meshbot.context as f.with_odps_port({"contract": "", "contract_read": false})
}

test_missing_freshness_denied if {
	some m in dataproduct.deny with input as f.good with data.meshbot.context as f.with_product({"freshness": ""})
	m.msg == "data product finance.revenue publishes no freshness SLA: set spec.sla.freshness (for example \"<= 1h\") or a freshness service level in an output port's contract"
	m._loc.line == 4
}

test_freshness_promised_by_a_contract_passes if {
	count(dataproduct.deny) == 0 with input as f.good with data.meshbot.context as f.with_product({"freshness": "", "output_ports": [object.union(f.port, {"freshness": "15m"})]})
}

test_unread_contract_leaves_freshness_open if {
	ports := [object.union(f.port, {"contract": "dbb7b1eb", "contract_read": false})]
	count(dataproduct.deny) == 0 with input as f.good with data.meshbot.context as f.with_product({"freshness": "", "output_ports": ports})
}

test_odps_without_freshness_denied if {
	ctx := f.with_odps_port({"freshness": ""})
	msgs(dataproduct.deny) == {"data product seller.fbe8d147-28db-4f1d-bedf-a3fe9f458427 publishes no freshness SLA: promise freshness in an output port's contract (ODCS slaProperties: freshness or latency)"} with input as f.odps with data.meshbot.context as ctx
}

test_odps_freshness_promised_by_its_contract_passes if {
	count(dataproduct.deny) == 0 with input as f.odps with data.meshbot.context as f.with_odps_port({"freshness": "4d"})
}

test_iceberg_location_must_end_with_slash if {
	denials := dataproduct.deny with input as f.good with data.meshbot.context as f.with_port({"location": "s3://eu-mesh-finance/revenue"})
	msgs(denials) == {"output port iceberg-curated: iceberg location must be a directory prefix ending with \"/\""}
	some d in denials
	d._loc == {"line": 15, "column": 7}
}

test_iceberg_without_location_denied_at_the_port if {
	unwritten := object.union(json.remove(f.port, ["locs/location"]), {"location": ""})
	some d in dataproduct.deny with input as f.good with data.meshbot.context as f.with_product({"output_ports": [unwritten]})
	d._loc == {"line": 13}
}

test_dps_iceberg_port_addressed_by_table_not_judged if {
	ctx := f.with_product({"format": "dataproduct-spec", "output_ports": [object.union(f.port, {"location": ""})]})
	count(dataproduct.deny) == 0 with input as {} with data.meshbot.context as ctx
}

test_dps_iceberg_location_must_end_with_slash if {
	ctx := f.with_product({"format": "dataproduct-spec", "output_ports": [object.union(f.port, {"location": "s3://eu-search/queries"})]})
	count(dataproduct.deny) == 1 with input as {} with data.meshbot.context as ctx
}

test_kafka_port_needs_no_directory_prefix if {
	ctx := f.with_port({"type": "kafka", "location": "", "topic": "finance.revenue.v1"})
	count(dataproduct.deny) == 0 with input as f.good with data.meshbot.context as ctx
}

test_contracts_are_not_judged_as_descriptors if {
	count(dataproduct.deny) == 0 with input as f.contract with data.meshbot.context as f.contract_ctx({"owner": "", "freshness": ""})
}
