# Lifecycle and deprecation: what /mesh deprecate writes. The window before
# a deprecated port or product may go is enforced by meshbot's engine
# (deprecation/removed-before-sunset, deprecation/removed-with-consumers),
# one finding per removal, naming the sunset and the consumers.
#
# Judged on meshbot's model of the product (data.meshbot.context.product).
# Only the native descriptor fixes its lifecycle values and writes a sunset
# and a replacement; ODPS and DPS statuses are open lists with no place for
# either, so these rules say nothing on them (lib.lifecycle_values,
# lib.deprecation_formats).
package mesh.lifecycle

import data.mesh.lib

# METADATA
# title: Lifecycle is experimental, production or deprecated
# related_resources:
# - ref: https://github.com/meshbot/meshbot/blob/main/policy/README.md#lifecycle-value
# custom:
#   id: lifecycle-value
deny_lifecycle contains result if {
	product := data.meshbot.context.product
	allowed := lib.lifecycle_values[product.format]
	product.lifecycle != ""
	not product.lifecycle in allowed
	result := {
		"msg": sprintf("data product %v: lifecycle %q is not one of experimental, production, deprecated", [product.id, product.lifecycle]),
		"_loc": lib.at(product, "lifecycle"),
	}
}

# METADATA
# title: Lifecycle is experimental, production or deprecated
# related_resources:
# - ref: https://github.com/meshbot/meshbot/blob/main/policy/README.md#lifecycle-value
# custom:
#   id: lifecycle-value
deny_lifecycle contains result if {
	product := data.meshbot.context.product
	allowed := lib.lifecycle_values[product.format]
	some port in product.output_ports
	port.lifecycle != ""
	not port.lifecycle in allowed
	result := {
		"msg": sprintf("output port %v: lifecycle %q is not one of experimental, production, deprecated", [port.name, port.lifecycle]),
		"_loc": lib.at(port, "lifecycle"),
	}
}

# METADATA
# title: A deprecated product has a sunset date
# related_resources:
# - ref: https://github.com/meshbot/meshbot/blob/main/policy/README.md#deprecation-sunset-required
# custom:
#   id: deprecation-sunset-required
deny_deprecation contains result if {
	product := data.meshbot.context.product
	product.format in lib.deprecation_formats
	product.lifecycle == "deprecated"
	not lib.is_date(lib.deprecation_value(product, "sunset"))
	result := {
		"msg": sprintf("data product %v is deprecated without a sunset date: set spec.deprecation.sunset (YYYY-MM-DD)", [product.id]),
		"_loc": lib.deprecation_at(product, "sunset"),
	}
}

# METADATA
# title: A deprecated output port has a sunset date
# related_resources:
# - ref: https://github.com/meshbot/meshbot/blob/main/policy/README.md#deprecation-sunset-required
# custom:
#   id: deprecation-sunset-required
deny_deprecation contains result if {
	product := data.meshbot.context.product
	product.format in lib.deprecation_formats
	some port in product.output_ports
	port.lifecycle == "deprecated"
	not lib.is_date(lib.deprecation_value(port, "sunset"))
	result := {
		"msg": sprintf("output port %v is deprecated without a sunset date: set its deprecation.sunset (YYYY-MM-DD)", [port.name]),
		"_loc": lib.deprecation_at(port, "sunset"),
	}
}

# METADATA
# title: A deprecated product names its replacement
# related_resources:
# - ref: https://github.com/meshbot/meshbot/blob/main/policy/README.md#deprecation-replacement-required
# custom:
#   id: deprecation-replacement-required
deny_deprecation contains result if {
	product := data.meshbot.context.product
	product.format in lib.deprecation_formats
	product.lifecycle == "deprecated"
	not lib.non_empty(lib.deprecation_value(product, "replacement"))
	result := {
		"msg": sprintf("data product %v is deprecated without a replacement: set spec.deprecation.replacement (<domain>.<product>/<port>)", [product.id]),
		"_loc": lib.deprecation_at(product, "replacement"),
	}
}

# METADATA
# title: A deprecated output port names its replacement
# related_resources:
# - ref: https://github.com/meshbot/meshbot/blob/main/policy/README.md#deprecation-replacement-required
# custom:
#   id: deprecation-replacement-required
deny_deprecation contains result if {
	product := data.meshbot.context.product
	product.format in lib.deprecation_formats
	some port in product.output_ports
	port.lifecycle == "deprecated"
	not lib.non_empty(lib.deprecation_value(port, "replacement"))
	result := {
		"msg": sprintf("output port %v is deprecated without a replacement: set its deprecation.replacement (<domain>.<product>/<port>)", [port.name]),
		"_loc": lib.deprecation_at(port, "replacement"),
	}
}

# METADATA
# title: A port past its sunset is removed
# related_resources:
# - ref: https://github.com/meshbot/meshbot/blob/main/policy/README.md#sunset-passed
# custom:
#   id: sunset-passed
warn_sunset_passed contains result if {
	some port in data.meshbot.context.product.output_ports
	port.lifecycle == "deprecated"
	sunset := lib.deprecation_value(port, "sunset")
	lib.is_date(sunset)
	lib.today > sunset
	result := {
		"msg": sprintf("output port %v: sunset passed on %v: remove it", [port.name, sunset]),
		"_loc": lib.deprecation_at(port, "sunset"),
	}
}

# METADATA
# title: A product past its sunset is removed
# related_resources:
# - ref: https://github.com/meshbot/meshbot/blob/main/policy/README.md#sunset-passed
# custom:
#   id: sunset-passed
warn_sunset_passed contains result if {
	product := data.meshbot.context.product
	product.lifecycle == "deprecated"
	sunset := lib.deprecation_value(product, "sunset")
	lib.is_date(sunset)
	lib.today > sunset
	result := {
		"msg": sprintf("data product %v: sunset passed on %v: remove it", [product.id, sunset]),
		"_loc": lib.deprecation_at(product, "sunset"),
	}
}

# The guild's notice for new readers of something deprecated, in days:
# data.deprecation.new_reader_notice_days (a policy data file, e.g. a root
# data.yaml holding `deprecation: {new_reader_notice_days: 30}`). Unset or
# 0, the rule below is off and meshbot's engine only warns
# (deprecation/reads-deprecated) until the sunset.
new_reader_notice_days := n if {
	n := data.deprecation.new_reader_notice_days
	is_number(n)
} else := 0

# METADATA
# title: A new input port leaves the guild's notice before its target's sunset
# related_resources:
# - ref: https://github.com/meshbot/meshbot/blob/main/policy/README.md#new-reader-notice
# custom:
#   id: new-reader-notice
deny_new_reader contains msg if {
	data.meshbot.context.kind == "descriptor"
	new_reader_notice_days > 0
	some r in data.meshbot.context.reads
	r.added
	r.deprecated
	lib.is_date(r.sunset)
	left := (time.parse_ns("2006-01-02", r.sunset) - time.parse_ns("2006-01-02", lib.today)) / 86400000000000
	left < new_reader_notice_days
	msg := {
		"msg": sprintf("input port %v starts reading %v/%v, deprecated with sunset %v, %v days away; new readers need at least %v days: read %v instead", [r.input_port, r.product, r.port, r.sunset, left, new_reader_notice_days, replacement_of(r)]),
		"_loc": {"line": r.line},
	}
}

replacement_of(r) := r.replacement if lib.non_empty(r.replacement)

else := "its replacement"
