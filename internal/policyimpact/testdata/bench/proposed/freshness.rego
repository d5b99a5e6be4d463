# Benchmark fixture, proposed side: production data is at most 30 minutes
# stale. New in the proposed policy.
package mesh.freshness

import data.mesh.lib

# METADATA
# title: Production products are fresh within 30 minutes
# custom:
#   id: freshness-30m
deny contains result if {
	product := data.meshbot.context.product
	product.format == "mesh/v1"
	product.lifecycle == "production"
	product.freshness == "<= 1h"
	result := {"msg": sprintf("product %v promises freshness <= 1h; production products promise 30 minutes or better", [product.id]), "_loc": lib.at(product, "freshness")}
}
