# Documents and meshbot's model of them, shared by the bundled policy's
# tests. Rules judge the model (data.meshbot.context); input is the document
# as written, which no bundled rule reads, kept so each test runs as meshbot
# runs it.
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

ctx := {"path": "finance/revenue/dataproduct.yaml", "kind": "descriptor", "base": null, "changes": [], "consumers": [], "reads": [], "today": "2027-01-15", "product": product, "contract": null}

# good as meshbot's model reads it (data.meshbot.context.product).
product := {
	"id": "finance.revenue", "name": "revenue", "domain": "finance", "owner": "team-finance", "format": "mesh/v1",
	"lifecycle": "production", "freshness": "<= 1h", "contains_pii": true, "pii_fields": ["customer_id"], "residency": "EU",
	"deprecation": null,
	"output_ports": [port],
	"input_ports": [{
		"name": "orders", "product": "orders.order-events", "port": "iceberg-curated", "contract": "", "line": 10,
		"locs": {"name": {"line": 10, "column": 7}, "product": {"line": 11, "column": 7}, "port": {"line": 12, "column": 7}},
	}],
	"line": 4,
	"locs": {
		"name": {"line": 4, "column": 3}, "domain": {"line": 5, "column": 3}, "owner": {"line": 6, "column": 3},
		"lifecycle": {"line": 8, "column": 3}, "freshness": {"line": 20, "column": 5}, "residency": {"line": 24, "column": 5},
	},
}

port := {
	"name": "iceberg-curated", "type": "iceberg", "location": "s3://eu-mesh-finance/revenue/", "topic": "",
	"contract": "finance/revenue/contracts/revenue.v1.yaml", "contract_read": true, "freshness": "",
	"servers": [{"name": "production", "type": "s3", "location": "location=s3://eu-mesh-finance/revenue/", "region": "", "line": 6}],
	"lifecycle": "production", "deprecation": null, "line": 13,
	"locs": {
		"name": {"line": 13, "column": 7}, "type": {"line": 14, "column": 7}, "location": {"line": 15, "column": 7},
		"contract": {"line": 16, "column": 7}, "lifecycle": {"line": 17, "column": 7},
	},
}

# ctx with the product's keys replaced.
with_product(p) := object.union(ctx, {"product": object.union(product, p)})

# ctx with the product's only output port's keys replaced.
with_port(p) := with_product({"output_ports": [object.union(port, p)]})

# The customer example of the Open Data Product Standard as meshbot's model
# reads it: status for lifecycle, team.name for owner, ports naming their
# contracts by id, no PII flag, residency or deprecation block (ODPS has no
# place for them), display names that are not identifiers.
odps_product := {
	"id": "seller.fbe8d147-28db-4f1d-bedf-a3fe9f458427", "name": "fbe8d147-28db-4f1d-bedf-a3fe9f458427", "domain": "seller",
	"owner": "Data Team", "format": "odps", "lifecycle": "draft", "freshness": "", "contains_pii": false, "pii_fields": [],
	"residency": "", "deprecation": null,
	"output_ports": [{
		"name": "rawtransactions", "type": "tables", "location": "", "topic": "",
		"contract": "c2798941-1b7e-4b03-9e0d-955b1a872b32", "contract_read": true, "freshness": "1d",
		"servers": [], "lifecycle": "", "deprecation": null, "line": 38,
		"locs": {"name": {"line": 38, "column": 3}, "type": {"line": 40, "column": 3}, "contract": {"line": 42, "column": 3}},
	}],
	"input_ports": [{
		"name": "payments", "product": "", "port": "", "contract": "dbb7b1eb-7628-436e-8914-2a00638ba6db", "line": 18,
		"locs": {"name": {"line": 18, "column": 3}, "contract": {"line": 20, "column": 3}},
	}],
	"line": 4,
	"locs": {"name": {"line": 5, "column": 1}, "domain": {"line": 6, "column": 1}, "owner": {"line": 102, "column": 3}, "lifecycle": {"line": 7, "column": 1}},
}

odps_ctx := object.union(ctx, {"path": "seller/customer.odps.yaml", "product": odps_product})

# odps_ctx with the product's keys replaced.
with_odps(p) := object.union(odps_ctx, {"product": object.union(odps_product, p)})

# odps_ctx with its only output port's keys replaced.
with_odps_port(p) := with_odps({"output_ports": [object.union(odps_product.output_ports[0], p)]})

odps := {"apiVersion": "v1.0.0", "kind": "DataProduct", "id": "fbe8d147-28db-4f1d-bedf-a3fe9f458427", "name": "Customer Data Product", "status": "draft"}

# A DCS contract in meshbot's model, and the context of judging it.
contract_model := {
	"id": "finance.revenue", "title": "Revenue", "version": "1.0.0", "owner": "team-finance", "format": "datacontract-spec",
	"freshness": "1h", "residency": "", "line": 2,
	"servers": [{"name": "production", "type": "s3", "location": "location=s3://mesh-finance/revenue/", "region": "", "line": 8}],
	"fields": [{"model": "revenue", "path": "revenue.customer_id", "type": "string", "pii": true, "classification": "restricted", "line": 9}],
	"locs": {"id": {"line": 2, "column": 1}, "owner": {"line": 5, "column": 3}},
}

contract_ctx(c) := object.union(ctx, {"kind": "contract", "product": null, "contract": object.union(contract_model, c)})

contract := {
	"dataContractSpecification": "1.1.0",
	"id": "finance.revenue",
	"info": {"title": "Revenue", "version": "1.0.0"},
}

# An ODCS contract in meshbot's model: owner from team, residency from a
# custom property, servers with the region they name.
odcs_model := {
	"id": "53581432-6c55-4ba2-a65f-72344a91553a", "title": "seller_payments_v1", "version": "1.1.0", "owner": "my-team",
	"format": "odcs", "freshness": "", "residency": "EU", "line": 5,
	"servers": [{"name": "my-postgres", "type": "postgres", "location": "host=db.eu-west-1.rds.amazonaws.com, port=5432", "region": "eu-west-1", "line": 20}],
	"fields": [{"model": "tbl", "path": "tbl.txn_ref_dt", "type": "date", "pii": false, "classification": "public", "line": 31}],
	"locs": {"id": {"line": 5, "column": 1}, "owner": {"line": 12, "column": 1}, "residency": {"line": 16, "column": 3}},
}

odcs_ctx(c) := object.union(contract_ctx({}), {"path": "seller/payments.odcs.yaml", "contract": object.union(odcs_model, c)})

odcs := {"apiVersion": "v3.1.0", "kind": "DataContract", "id": "53581432-6c55-4ba2-a65f-72344a91553a"}
