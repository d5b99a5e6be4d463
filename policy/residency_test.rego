package mesh.residency_test

import data.mesh.fixtures_test as f
import data.mesh.residency

test_eu_location_passes if {
	count(residency.deny) == 0 with input as f.good with data.meshbot.context as f.ctx
}

test_non_eu_location_denied if {
	ctx := f.with_port_model({"location": "s3://us-east-1-mesh/revenue/"})
	some m in residency.deny with input as f.good with data.meshbot.context as ctx
	startswith(m.msg, "output port iceberg-curated stores EU-resident data outside the EU region")
	m._loc == {"line": 9, "column": 7}
}

test_non_eu_product_unconstrained if {
	ctx := object.union(f.with_port_model({"location": "s3://us-east-1-mesh/revenue/"}), {"product": {"residency": "US"}})
	count(residency.deny) == 0 with input as f.good with data.meshbot.context as ctx
}

# A port known by its topic alone names no store.
test_topic_port_without_location_not_denied if {
	ctx := f.with_port_model({"type": "kafka", "location": "finance.revenue"})
	count(residency.deny) == 0 with input as f.good with data.meshbot.context as ctx
}

# An ODPS product is judged as a native one is.
test_odps_non_eu_location_denied if {
	ctx := object.union(f.with_port_model({"location": "bigquery://us-central1/sales"}), {"product": {"format": "odps"}})
	some m in residency.deny with input as {"apiVersion": "v1.0.0", "kind": "DataProduct"} with data.meshbot.context as ctx
	contains(m.msg, "bigquery://us-central1/sales names no \"eu-\" region")
}

test_contracts_are_not_judged if {
	count(residency.deny) == 0 with input as f.contract with data.meshbot.context as f.contract_ctx({})
}
