package mesh.residency_test

import data.mesh.fixtures_test as f
import data.mesh.residency

msgs(set) := {m.msg | some m in set}

test_eu_location_passes if {
	count(residency.deny) == 0 with input as f.good with data.meshbot.context as f.ctx
}

test_non_eu_location_denied_at_the_location if {
	denials := residency.deny with input as f.good with data.meshbot.context as f.with_port({"location": "s3://us-east-1-mesh/revenue/"})
	msgs(denials) == {"output port iceberg-curated stores EU-resident data outside the EU region: s3://us-east-1-mesh/revenue/ names no \"eu-\" region"}
	some d in denials
	d._loc == {"line": 15, "column": 7}
}

test_gcp_europe_location_passes if {
	count(residency.deny) == 0 with input as f.good with data.meshbot.context as f.with_port({"location": "gs://europe-west3-mesh/revenue/"})
}

test_non_eu_product_unconstrained if {
	ctx := f.with_product({"residency": "US", "output_ports": [object.union(f.port, {"location": "s3://us-east-1-mesh/revenue/"})]})
	count(residency.deny) == 0 with input as f.good with data.meshbot.context as ctx
}

test_topic_port_without_location_not_denied if {
	ctx := f.with_port({"type": "kafka", "location": "", "topic": "finance.revenue"})
	count(residency.deny) == 0 with input as f.good with data.meshbot.context as ctx
}

# A native product's port whose contract names a server outside the EU.
test_contract_server_outside_eu_denied_at_the_port_contract if {
	ctx := f.with_port({"servers": [{"name": "prod", "type": "redshift", "location": "region=us-east-1", "region": "us-east-1", "line": 7}]})
	denials := residency.deny with input as f.good with data.meshbot.context as ctx
	msgs(denials) == {"output port iceberg-curated stores EU-resident data outside the EU region: its contract's server prod is in us-east-1"}
	some d in denials
	d._loc == {"line": 16, "column": 7}
}

# A server that names no region says nothing about residency.
test_server_naming_no_region_not_judged if {
	count(residency.deny) == 0 with input as f.good with data.meshbot.context as f.ctx
}

# ODPS: residency from a custom property, servers from the ports' contracts.
test_odps_server_outside_eu_denied if {
	ctx := f.with_odps({"residency": "EU", "output_ports": [object.union(f.odps_product.output_ports[0], {"servers": [{"name": "kafka", "type": "kafka", "location": "host=b-1.msk.us-west-2.amazonaws.com:9092", "region": "us-west-2", "line": 12}]})]})
	denials := residency.deny with input as f.odps with data.meshbot.context as ctx
	msgs(denials) == {"output port rawtransactions stores EU-resident data outside the EU region: its contract's server kafka is in us-west-2"}
	some d in denials
	d._loc == {"line": 42, "column": 3}
}

test_odps_servers_in_eu_pass if {
	servers := [
		{"name": "a", "type": "bigquery", "location": "", "region": "europe-west3", "line": 1},
		{"name": "b", "type": "synapse", "location": "", "region": "westeurope", "line": 2},
		{"name": "c", "type": "s3", "location": "", "region": "eu-central-1", "line": 3},
	]
	ctx := f.with_odps({"residency": "eu", "output_ports": [object.union(f.odps_product.output_ports[0], {"servers": servers})]})
	count(residency.deny) == 0 with input as f.odps with data.meshbot.context as ctx
}

test_odps_without_residency_unconstrained if {
	ctx := f.with_odps_port({"servers": [{"name": "kafka", "type": "kafka", "location": "", "region": "us-west-2", "line": 12}]})
	count(residency.deny) == 0 with input as f.odps with data.meshbot.context as ctx
}

test_odcs_in_eu_passes if {
	count(residency.deny) == 0 with input as f.odcs with data.meshbot.context as f.odcs_ctx({})
}

test_odcs_server_outside_eu_denied_at_the_server if {
	ctx := f.odcs_ctx({"servers": [
		{"name": "my-postgres", "type": "postgres", "location": "host=db.eu-west-1.rds.amazonaws.com", "region": "eu-west-1", "line": 20},
		{"name": "dr", "type": "athena", "location": "regionName=us-east-1", "region": "us-east-1", "line": 27},
	]})
	denials := residency.deny with input as f.odcs with data.meshbot.context as ctx
	msgs(denials) == {"data contract 53581432-6c55-4ba2-a65f-72344a91553a is EU-resident, but its server dr is in us-east-1, outside the EU"}
	some d in denials
	d._loc == {"line": 27}
}

test_odcs_without_residency_unconstrained if {
	ctx := f.odcs_ctx({"residency": "", "servers": [{"name": "dr", "type": "athena", "location": "", "region": "us-east-1", "line": 27}]})
	count(residency.deny) == 0 with input as f.odcs with data.meshbot.context as ctx
}

# DCS has no place for a residency: its contracts are not judged.
test_dcs_contract_unconstrained if {
	ctx := f.contract_ctx({"servers": [{"name": "p", "type": "s3", "location": "", "region": "us-east-1", "line": 8}]})
	count(residency.deny) == 0 with input as f.contract with data.meshbot.context as ctx
}
