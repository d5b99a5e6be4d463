# Naming conventions: ids that appear in URLs, table names and global ids
# are lower-kebab-case.
package mesh.naming

import data.mesh.lib

# METADATA
# title: Product names are lower-kebab-case
# related_resources:
# - ref: https://github.com/meshbot/meshbot/blob/main/policy/README.md#naming-kebab-case
# custom:
#   id: product-name-kebab
deny contains msg if {
	lib.is_native
	name := input.metadata.name
	not lib.kebab(name)
	msg := sprintf("product name %q is not lower-kebab-case (^[a-z][a-z0-9-]*$)", [name])
}

# METADATA
# title: Domain names are lower-kebab-case
# related_resources:
# - ref: https://github.com/meshbot/meshbot/blob/main/policy/README.md#naming-kebab-case
# custom:
#   id: domain-name-kebab
deny contains msg if {
	lib.is_native
	domain := input.metadata.domain
	not lib.kebab(domain)
	msg := sprintf("domain %q is not lower-kebab-case (^[a-z][a-z0-9-]*$)", [domain])
}

# METADATA
# title: Output port names are lower-kebab-case
# related_resources:
# - ref: https://github.com/meshbot/meshbot/blob/main/policy/README.md#naming-kebab-case
# custom:
#   id: port-name-kebab
deny contains msg if {
	lib.is_native
	some port in input.spec.outputPorts
	not lib.kebab(port.name)
	msg := sprintf("output port name %q is not lower-kebab-case (^[a-z][a-z0-9-]*$)", [port.name])
}

# METADATA
# title: Input port names are lower-kebab-case
# related_resources:
# - ref: https://github.com/meshbot/meshbot/blob/main/policy/README.md#naming-kebab-case
# custom:
#   id: port-name-kebab
deny contains msg if {
	lib.is_native
	some port in input.spec.inputPorts
	not lib.kebab(port.name)
	msg := sprintf("input port name %q is not lower-kebab-case (^[a-z][a-z0-9-]*$)", [port.name])
}
