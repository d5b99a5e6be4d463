# Test fixture: a new warning on hourly freshness.
package mesh.freshness

import data.mesh.lib

# METADATA
# title: Production products should be fresh within 30 minutes
# custom:
#   id: freshness-30m
#   severity: warn
deny contains msg if {
	lib.is_native
	input.spec.sla.freshness == "<= 1h"
	msg := sprintf("product %v promises freshness <= 1h; aim for 30 minutes", [lib.product_id])
}
