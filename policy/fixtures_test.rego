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

ctx := {"path": "finance/revenue/dataproduct.yaml", "kind": "descriptor", "base": null, "changes": [], "consumers": [], "today": "2027-01-15", "product": product, "contract": null}

# good as meshbot's model reads it (data.meshbot.context.product).
product := {
	"id": "finance.revenue", "name": "revenue", "domain": "finance", "owner": "team-finance", "format": "mesh/v1",
	"lifecycle": "production", "freshness": "<= 1h", "contains_pii": true, "pii_fields": ["customer_id"], "residency": "EU",
	"output_ports": [{
		"name": "iceberg-curated", "type": "iceberg", "location": "s3://eu-mesh-finance/revenue/",
		"contract": "finance/revenue/contracts/revenue.v1.yaml", "contract_read": true, "freshness": "", "lifecycle": "production", "line": 9, "column": 7,
	}],
	"line": 4,
}

# ctx with the product's only port's keys replaced.
with_port_model(port) := with_product({"output_ports": [object.union(product.output_ports[0], port)]})

# ctx with the product's keys replaced.
with_product(p) := object.union(ctx, {"product": object.union(product, p)})

# A contract in meshbot's model, and the context of judging it.
contract_model := {
	"id": "finance.revenue", "title": "Revenue", "version": "1.0.0", "owner": "team-finance", "format": "datacontract-spec",
	"freshness": "1h", "line": 2,
	"fields": [{"model": "revenue", "path": "revenue.customer_id", "type": "string", "pii": true, "classification": "restricted", "line": 9}],
}

contract_ctx(c) := object.union(ctx, {"kind": "contract", "product": null, "contract": object.union(contract_model, c)})

contract := {
	"dataContractSpecification": "1.1.0",
	"id": "finance.revenue",
	"info": {"title": "Revenue", "version": "1.0.0"},
}
