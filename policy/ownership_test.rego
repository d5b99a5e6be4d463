package mesh.ownership_test

import data.mesh.fixtures_test as f
import data.mesh.ownership

test_owner_present_passes if {
	count(ownership.deny) == 0 with input as f.good with data.meshbot.context as f.ctx
}

test_missing_owner_denied if {
	doc := json.remove(f.good, ["metadata/owner"])
	some msg in ownership.deny with input as doc with data.meshbot.context as f.ctx
	contains(msg, "finance.revenue has no owner")
}

test_blank_owner_denied if {
	doc := object.union(f.good, {"metadata": {"owner": "  "}})
	count(ownership.deny) == 1 with input as doc with data.meshbot.context as f.ctx
}

odps := {
	"apiVersion": "v1.0.0",
	"kind": "DataProduct",
	"id": "fbe8d147",
	"name": "Customer Data Product",
	"domain": "seller",
	"team": {"members": [{"username": "john.doe@retailcorp.com", "role": "owner"}]},
}

test_odps_owner_member_passes if {
	count(ownership.deny) == 0 with input as odps with data.meshbot.context as f.ctx
}

test_odps_team_name_passes if {
	doc := object.union(odps, {"team": {"name": "Data Team", "members": []}})
	count(ownership.deny) == 0 with input as doc with data.meshbot.context as f.ctx
}

test_odps_without_owner_denied if {
	doc := object.union(odps, {"team": {"members": [{"username": "jane", "role": "data steward"}]}})
	some msg in ownership.deny with input as doc with data.meshbot.context as f.ctx
	contains(msg, "Customer Data Product has no owner")
}
