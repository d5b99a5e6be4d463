# Every data product has an accountable owner.
package mesh.ownership

import data.mesh.lib

# METADATA
# title: A data product names its owner
# description: Judged on meshbot's model of the product, so native and ODPS descriptors alike.
# related_resources:
# - ref: https://github.com/meshbot/meshbot/blob/main/policy/README.md#owner-required
# custom:
#   id: owner-required
deny contains result if {
	product := data.meshbot.context.product
	not lib.non_empty(product.owner)
	result := {
		"msg": sprintf("data product %v has no owner: %v", [product.id, owner_hint(product.format)]),
		"_loc": {"line": product.line},
	}
}

owner_hint(format) := "set metadata.owner to the owning team's GitHub slug" if {
	format == "mesh/v1"
} else := "set team.name or a team member with role \"owner\""
