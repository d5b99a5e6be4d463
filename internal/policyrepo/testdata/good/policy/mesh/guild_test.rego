package mesh.guild_test

import rego.v1

import data.mesh.guild

test_missing_support_denied if {
	count(guild.deny) == 1 with input as {"kind": "DataProduct", "metadata": {"name": "x"}, "spec": {}}
}

test_support_passes if {
	count(guild.deny) == 0 with input as {"kind": "DataProduct", "metadata": {"name": "x"}, "spec": {"sla": {"support": "#x"}}}
}
