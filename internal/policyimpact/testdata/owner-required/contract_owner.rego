# Test fixture: contracts name an owner that is a team (team-*); routed to
# contracts by its package name.
package mesh.contract_owner

# METADATA
# title: A contract's owner is a team
# custom:
#   id: contract-owner-team
deny contains result if {
	owner := data.meshbot.context.contract.owner
	owner != ""
	not startswith(owner, "team-")
	result := {
		"msg": sprintf("contract owner %q is not a team slug (team-*)", [owner]),
		"_loc": {"line": data.meshbot.context.contract.line},
	}
}
