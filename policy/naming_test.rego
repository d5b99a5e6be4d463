package mesh.naming_test

import data.mesh.fixtures_test as f
import data.mesh.naming

test_kebab_names_pass if {
	count(naming.deny) == 0 with input as f.good with data.meshbot.context as f.ctx
}

test_names_denied[name] if {
	some name, tc in {
		"product": {"metadata": {"name": "Revenue"}},
		"domain": {"metadata": {"domain": "finance_ops"}},
		"digit-first": {"metadata": {"name": "2revenue"}},
	}
	doc := object.union(f.good, tc)
	count(naming.deny) == 1 with input as doc with data.meshbot.context as f.ctx
}

test_port_name_denied if {
	doc := f.with_port({"name": "IcebergCurated"})
	naming.deny == {"output port name \"IcebergCurated\" is not lower-kebab-case (^[a-z][a-z0-9-]*$)"} with input as doc with data.meshbot.context as f.ctx
}

test_input_port_name_denied if {
	doc := f.with_spec({"inputPorts": [{"name": "Orders", "product": "orders.order-events", "port": "iceberg-curated"}]})
	count(naming.deny) == 1 with input as doc with data.meshbot.context as f.ctx
}
