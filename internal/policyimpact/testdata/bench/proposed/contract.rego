# What every data contract declares, whatever its format (DCS or ODCS):
# judged on meshbot's model of the contract at data.meshbot.context.contract.
# The package name routes it to contracts (policy/README.md, "Which
# documents a package judges").
package mesh.contract

import data.mesh.lib

# METADATA
# title: A data contract names its owner
# related_resources:
# - ref: https://github.com/meshbot/meshbot/blob/main/policy/README.md#contract-owner-required
# custom:
#   id: contract-owner-required
deny contains result if {
	contract := data.meshbot.context.contract
	not lib.non_empty(contract.owner)
	result := {
		"msg": sprintf("data contract %v has no owner: %v", [contract.id, owner_hint(contract.format)]),
		"_loc": {"line": contract.line},
	}
}

owner_hint(format) := "set info.owner to the owning team" if {
	format == "datacontract-spec"
} else := "set team.name or a team member with role \"owner\""

# METADATA
# title: Personal data is classified
# description: Tightened from a warning to a failure (benchmark fixture of the proposed policy).
# related_resources:
# - ref: https://github.com/meshbot/meshbot/blob/main/policy/README.md#pii-classification-required
# custom:
#   id: pii-classification-required
deny contains result if {
	some field in data.meshbot.context.contract.fields
	field.pii == true
	not lib.non_empty(field.classification)
	result := {
		"msg": sprintf("field %v holds personal data but has no classification: set its classification (for example restricted)", [field.path]),
		"_loc": {"line": field.line},
	}
}
