package mesh.residency_test

import data.mesh.fixtures_test as f
import data.mesh.residency

test_eu_location_passes if {
	count(residency.deny) == 0 with input as f.good with data.meshbot.context as f.ctx
}

test_non_eu_location_denied if {
	doc := f.with_port({"location": "s3://us-east-1-mesh/revenue/"})
	some msg in residency.deny with input as doc with data.meshbot.context as f.ctx
	startswith(msg, "output port iceberg-curated stores EU-resident data outside the EU region")
}

test_non_eu_product_unconstrained if {
	doc := object.union(f.with_port({"location": "s3://us-east-1-mesh/revenue/"}), {"spec": {"classification": {"residency": "US"}}})
	count(residency.deny) == 0 with input as doc with data.meshbot.context as f.ctx
}

test_topic_port_without_location_not_denied if {
	doc := f.with_spec({"outputPorts": [{"name": "events", "type": "kafka", "topic": "finance.revenue"}]})
	count(residency.deny) == 0 with input as doc with data.meshbot.context as f.ctx
}
