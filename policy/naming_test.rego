package mesh.naming_test

import data.mesh.fixtures_test as f
import data.mesh.naming

msgs(set) := {m.msg | some m in set}

test_kebab_names_pass if {
	count(naming.deny) == 0 with input as f.good with data.meshbot.context as f.ctx
}

test_names_denied[name] if {
	some name, tc in {
		"product": {"name": "Revenue"},
		"domain": {"domain": "finance_ops"},
		"digit-first": {"name": "2revenue"},
	}
	count(naming.deny) == 1 with input as f.good with data.meshbot.context as f.with_product(tc)
}

test_product_name_denied_at_its_key if {
	denials := naming.deny with input as f.good with data.meshbot.context as f.with_product({"name": "Revenue_Ledger"})
	msgs(denials) == {"product name \"Revenue_Ledger\" is not lower-kebab-case (^[a-z][a-z0-9-]*$)"}
	some d in denials
	d._loc == {"line": 4, "column": 3}
}

test_absent_names_not_judged if {
	count(naming.deny) == 0 with input as f.good with data.meshbot.context as f.with_product({"name": "", "domain": ""})
}

test_port_name_denied if {
	msgs(naming.deny) == {"output port name \"IcebergCurated\" is not lower-kebab-case (^[a-z][a-z0-9-]*$)"} with input as f.good
		with data.meshbot.context as f.with_port({"name": "IcebergCurated"})
}

test_input_port_name_denied_at_the_port if {
	ctx := f.with_product({"input_ports": [{"name": "Orders", "product": "orders.order-events", "port": "iceberg-curated", "contract": "", "line": 12}]})
	denials := naming.deny with input as f.good with data.meshbot.context as ctx
	count(denials) == 1
	some d in denials
	d._loc == {"line": 12}
}

# ODPS names are for people and its ids UUIDs: not judged.
test_odps_names_not_judged if {
	ctx := f.with_odps({"name": "064c4630-8aad-4dc0-ba95-0f69940e6b18", "domain": "Seller Services", "input_ports": [{"name": "Source Data", "product": "", "port": "", "contract": "x", "line": 3}]})
	count(naming.deny) == 0 with input as f.odps with data.meshbot.context as ctx
}

test_contracts_not_judged if {
	count(naming.deny) == 0 with input as f.odcs with data.meshbot.context as f.odcs_ctx({"title": "Seller Payments"})
}
