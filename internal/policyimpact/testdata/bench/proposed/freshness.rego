# Benchmark fixture, proposed side: production data is at most 30 minutes
# stale. New in the proposed policy.
package mesh.freshness

import data.mesh.lib

# METADATA
# title: Production products are fresh within 30 minutes
# custom:
#   id: freshness-30m
deny contains msg if {
	lib.is_native
	input.spec.lifecycle == "production"
	input.spec.sla.freshness == "<= 1h"
	msg := sprintf("product %v promises freshness <= 1h; production products promise 30 minutes or better", [lib.product_id])
}
