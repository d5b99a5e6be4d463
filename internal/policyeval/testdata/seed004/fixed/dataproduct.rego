# policy/dataproduct.rego, fixed for OPA v1 as meshbot suggests
package mesh.dataproduct
import rego.v1
deny contains msg if {
input.spec.classification.contains_pii == true
some port in input.spec.outputPorts
not port.contract
msg := "PII data products must declare a data contract on every output port"
}
deny contains msg if {
some port in input.spec.outputPorts
port.type == "iceberg"
not endswith(port.location, "/")
msg := sprintf("output port %v: iceberg location must be a directory prefix", [port.name])
}
deny contains msg if {
not input.spec.sla.freshness
msg := "every data product must publish a freshness SLA"
}
