# policy/dataproduct.rego
package mesh.dataproduct
import rego.v1
deny contains msg if {
input.spec.classification.contains_pii == true
not input.spec.outputPorts[_].contract
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
