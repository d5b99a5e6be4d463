# Helpers shared by meshbot's bundled policy.
package mesh.lib

# A data product descriptor (native or ODPS). Contracts are judged by the
# same policy with data.meshbot.context.kind == "contract"; descriptor rules
# guard on this so a contract never trips them.
is_descriptor if {
	input.kind == "DataProduct"
	not is_contract_context
}

is_contract_context if data.meshbot.context.kind == "contract"

# The descriptor's product in meshbot's normalised model, whatever its
# format (native, ODPS, DPS); undefined when judging a contract.
product := p if {
	not is_contract_context
	p := data.meshbot.context.product
	is_object(p)
}

# Where a finding about an output port of the normalised model belongs.
port_loc(port) := {"line": port.line, "column": port.column}

# Where a finding about a port's location belongs: its location key, else
# the port.
location_loc(port) := {"line": port.location_line, "column": port.location_column} if {
	port.location_line > 0
} else := port_loc(port)

# The native shape (seed 004, mesh/v1): metadata + spec.
is_native if {
	is_descriptor
	is_object(input.metadata)
}

# Open Data Product Standard: name, domain and team at the top level.
is_odps if {
	is_descriptor
	not input.metadata
}

# The product's global id, <domain>.<name>, for messages.
product_id := sprintf("%s.%s", [input.metadata.domain, input.metadata.name]) if {
	is_native
	is_string(input.metadata.domain)
} else := sprintf("%v", [input.metadata.name]) if {
	is_native
} else := sprintf("%v", [input.name])

kebab(s) if {
	is_string(s)
	regex.match(`^[a-z][a-z0-9-]*$`, s)
}

non_empty(s) if {
	is_string(s)
	trim_space(s) != ""
}

lifecycles := {"experimental", "production", "deprecated"}

# A calendar date written YYYY-MM-DD.
is_date(s) if {
	is_string(s)
	regex.match(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`, s)
	time.parse_ns("2006-01-02", s)
}

today := data.meshbot.context.today
