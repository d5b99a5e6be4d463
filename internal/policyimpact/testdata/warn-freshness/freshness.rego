# Test fixture: a new warning on hourly freshness.
package mesh.freshness

import data.mesh.lib

# METADATA
# title: Production products should be fresh within 30 minutes
# custom:
#   id: freshness-30m
#   severity: warn
deny contains result if {
	product := data.meshbot.context.product
	product.format == "mesh/v1"
	product.freshness == "<= 1h"
	result := {"msg": sprintf("product %v promises freshness <= 1h; aim for 30 minutes", [product.id]), "_loc": lib.at(product, "freshness")}
}
