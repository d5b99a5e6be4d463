# Descriptors shared by the bundled policy's tests.
package mesh.fixtures_test

# A descriptor every bundled rule accepts (seed 004's revenue product).
good := {
	"apiVersion": "mesh/v1",
	"kind": "DataProduct",
	"metadata": {"name": "revenue", "domain": "finance", "owner": "team-finance"},
	"spec": {
		"lifecycle": "production",
		"outputPorts": [{
			"name": "iceberg-curated",
			"type": "iceberg",
			"location": "s3://eu-mesh-finance/revenue/",
			"contract": "./contracts/revenue.v1.yaml",
			"lifecycle": "production",
		}],
		"sla": {"freshness": "<= 1h", "availability": "99.5%"},
		"classification": {"contains_pii": true, "pii_fields": ["customer_id"], "residency": "EU"},
	},
}

# good with its only port replaced.
with_port(port) := object.union(good, {"spec": {"outputPorts": [object.union(good.spec.outputPorts[0], port)]}})

# good with spec keys replaced.
with_spec(spec) := object.union(good, {"spec": spec})

ctx := {"path": "finance/revenue/dataproduct.yaml", "kind": "descriptor", "base": null, "changes": [], "consumers": [], "today": "2027-01-15"}

contract := {
	"dataContractSpecification": "1.1.0",
	"id": "finance.revenue",
	"info": {"title": "Revenue", "version": "1.0.0"},
}
