# Benchmark fixture, active side: personal data is kept in a declared
# region. The proposed policy drops this rule.
package mesh.regions

import data.mesh.lib

# METADATA
# title: Personal data stays in a declared region
# custom:
#   id: pii-declared-region
deny contains msg if {
	lib.is_native
	input.spec.classification.contains_pii == true
	input.spec.classification.residency == "global"
	msg := sprintf("product %v holds personal data but declares no region (residency global)", [lib.product_id])
}
