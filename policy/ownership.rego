# Every data product has an accountable owner.
package mesh.ownership

import data.mesh.lib

# METADATA
# title: A data product names its owner
# related_resources:
# - ref: https://github.com/meshbot/meshbot/blob/main/policy/README.md#owner-required
# custom:
#   id: owner-required
deny contains msg if {
	lib.is_native
	owner := object.get(input.metadata, "owner", "")
	not lib.non_empty(owner)
	msg := sprintf("data product %v has no owner: set metadata.owner to the owning team's GitHub slug", [lib.product_id])
}

# METADATA
# title: An ODPS data product names its team or owner
# related_resources:
# - ref: https://github.com/meshbot/meshbot/blob/main/policy/README.md#owner-required
# custom:
#   id: owner-required
deny contains msg if {
	lib.is_odps
	team := object.get(input, ["team", "name"], "")
	not lib.non_empty(team)
	not odps_owner_member
	msg := sprintf("data product %v has no owner: set team.name or a team member with role \"owner\"", [lib.product_id])
}

odps_owner_member if {
	some member in input.team.members
	member.role == "owner"
	lib.non_empty(member.username)
}
