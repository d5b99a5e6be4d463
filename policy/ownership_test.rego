package mesh.ownership_test

import data.mesh.fixtures_test as f
import data.mesh.ownership

msgs(set) := {m.msg | some m in set}

test_owner_present_passes if {
	count(ownership.deny) == 0 with input as f.good with data.meshbot.context as f.ctx
}

test_missing_owner_denied if {
	some msg in msgs(ownership.deny) with input as f.good with data.meshbot.context as f.with_product({"owner": ""})
	msg == "data product finance.revenue has no owner: set metadata.owner to the owning team's GitHub slug"
}

test_blank_owner_denied if {
	count(ownership.deny) == 1 with input as f.good with data.meshbot.context as f.with_product({"owner": "  "})
}

test_finding_points_at_the_product if {
	some m in ownership.deny with input as f.good with data.meshbot.context as f.with_product({"owner": ""})
	m._loc.line == 4
}

test_odps_without_owner_denied_with_its_own_hint if {
	ctx := f.with_product({"owner": "", "format": "odps", "id": "Customer Data Product"})
	some msg in msgs(ownership.deny) with input as {} with data.meshbot.context as ctx
	msg == "data product Customer Data Product has no owner: set team.name or a team member with role \"owner\""
}

test_contracts_have_no_product if {
	count(ownership.deny) == 0 with input as f.contract with data.meshbot.context as f.contract_ctx({})
}
