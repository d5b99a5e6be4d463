# policy/residency.rego
package mesh.residency
import rego.v1
deny contains msg if {
input.spec.classification.residency == "EU"
some port in input.spec.outputPorts
not contains(port.location, "eu-") # require an EU-region prefix in the location
msg := sprintf(
"output port %v stores EU-resident data outside the EU region",
[port.name],
)
}
