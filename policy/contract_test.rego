package mesh.contract_test

import data.mesh.contract
import data.mesh.fixtures_test as f

msgs(set) := {m.msg | some m in set}

test_good_contract_passes if {
	count(contract.deny) == 0 with input as f.contract with data.meshbot.context as f.contract_ctx({})
}

test_dcs_owner_missing_denied if {
	msgs(contract.deny) == {"data contract finance.revenue has no owner: set info.owner to the owning team"} with input as f.contract
		with data.meshbot.context as f.contract_ctx({"owner": ""})
}

test_odcs_owner_missing_denied if {
	msgs(contract.deny) == {"data contract finance.revenue has no owner: set team.name or a team member with role \"owner\""} with input as f.contract
		with data.meshbot.context as f.contract_ctx({"owner": "", "format": "odcs"})
}

test_pii_unclassified_denied_at_the_field if {
	ctx := f.contract_ctx({"fields": [{"model": "m", "path": "m.email", "type": "string", "pii": true, "classification": "", "line": 12}]})
	denials := contract.deny with input as f.contract with data.meshbot.context as ctx
	msgs(denials) == {"field m.email holds personal data but has no classification: set its classification (for example restricted)"}
	some d in denials
	d._loc.line == 12
}

test_non_pii_field_needs_no_classification if {
	ctx := f.contract_ctx({"fields": [{"model": "m", "path": "m.n", "type": "long", "pii": false, "classification": "", "line": 3}]})
	count(contract.deny) == 0 with input as f.contract with data.meshbot.context as ctx
}
