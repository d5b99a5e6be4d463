# Benchmark fixture, active side: personal data is kept in a declared
# region. The proposed policy drops this rule.
package mesh.regions

import data.mesh.lib

# METADATA
# title: Personal data stays in a declared region
# custom:
#   id: pii-declared-region
deny contains result if {
	product := data.meshbot.context.product
	product.format == "mesh/v1"
	product.contains_pii == true
	product.residency == "global"
	result := {"msg": sprintf("product %v holds personal data but declares no region (residency global)", [product.id]), "_loc": lib.at(product, "residency")}
}
