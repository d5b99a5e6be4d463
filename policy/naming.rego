# Naming conventions: ids that appear in URLs, table names and global ids
# are lower-kebab-case. Judged on meshbot's model of the product, in the
# formats whose names are such ids (lib.kebab_formats): an ODPS product is
# identified by its id (a UUID in the standard's examples) and its names
# are for people, so it is not judged.
package mesh.naming

import data.mesh.lib

# METADATA
# title: Product names are lower-kebab-case
# related_resources:
# - ref: https://github.com/meshbot/meshbot/blob/main/policy/README.md#naming-kebab-case
# custom:
#   id: product-name-kebab
deny contains result if {
	product := data.meshbot.context.product
	product.format in lib.kebab_formats
	product.name != ""
	not lib.kebab(product.name)
	result := {
		"msg": sprintf("product name %q is not lower-kebab-case (^[a-z][a-z0-9-]*$)", [product.name]),
		"_loc": lib.at(product, "name"),
	}
}

# METADATA
# title: Domain names are lower-kebab-case
# related_resources:
# - ref: https://github.com/meshbot/meshbot/blob/main/policy/README.md#naming-kebab-case
# custom:
#   id: domain-name-kebab
deny contains result if {
	product := data.meshbot.context.product
	product.format in lib.kebab_formats
	product.domain != ""
	not lib.kebab(product.domain)
	result := {
		"msg": sprintf("domain %q is not lower-kebab-case (^[a-z][a-z0-9-]*$)", [product.domain]),
		"_loc": lib.at(product, "domain"),
	}
}

# METADATA
# title: Output port names are lower-kebab-case
# related_resources:
# - ref: https://github.com/meshbot/meshbot/blob/main/policy/README.md#naming-kebab-case
# custom:
#   id: port-name-kebab
deny contains result if {
	product := data.meshbot.context.product
	product.format in lib.kebab_formats
	some port in product.output_ports
	port.name != ""
	not lib.kebab(port.name)
	result := {
		"msg": sprintf("output port name %q is not lower-kebab-case (^[a-z][a-z0-9-]*$)", [port.name]),
		"_loc": lib.at(port, "name"),
	}
}

# METADATA
# title: Input port names are lower-kebab-case
# related_resources:
# - ref: https://github.com/meshbot/meshbot/blob/main/policy/README.md#naming-kebab-case
# custom:
#   id: port-name-kebab
deny contains result if {
	product := data.meshbot.context.product
	product.format in lib.kebab_formats
	some port in product.input_ports
	port.name != ""
	not lib.kebab(port.name)
	result := {
		"msg": sprintf("input port name %q is not lower-kebab-case (^[a-z][a-z0-9-]*$)", [port.name]),
		"_loc": lib.at(port, "name"),
	}
}
