# Helpers shared by meshbot's bundled policy. The rules judge meshbot's
# normalised model of the document (data.meshbot.context.product and
# .contract), so one rule covers every format; where a format has no place
# for what a rule asks, the model leaves it empty and the rule says nothing.
package mesh.lib

# Where key of x (a product, port, contract or deprecation of the model) is
# written, for a finding's _loc: the key itself when the file writes it,
# else x's own line.
at(x, key) := loc if {
	loc := x.locs[key]
} else := {"line": x.line}

# Where a deprecation key (sunset, replacement) of x (a product or port) is
# written or belongs: the key, else x's deprecation block, else its
# lifecycle.
deprecation_at(x, key) := loc if {
	loc := x.deprecation.locs[key]
} else := at(x, "deprecation") if {
	x.deprecation != null
} else := at(x, "lifecycle")

# x's deprecation key as written; "" when there is none.
deprecation_value(x, key) := v if {
	v := x.deprecation[key]
} else := ""

# The lifecycle values of each format that fixes them. ODPS and DPS status
# values are open lists (proposed, draft, active, ...), so no value is
# wrong there.
lifecycle_values := {"mesh/v1": lifecycles}

lifecycles := {"experimental", "production", "deprecated"}

# Formats that write a deprecated product's or port's sunset and
# replacement (native spec.deprecation). ODPS and DPS mark a product
# deprecated in its status but have no place for either.
deprecation_formats := {"mesh/v1"}

# Formats whose product, domain and port names are meshbot identifiers
# (global ids, URLs, table names), governed by the naming convention. An
# ODPS product is identified by its id, a UUID in the standard's examples,
# and named for people; DPS ids may be UUIDs, URNs or numbers.
kebab_formats := {"mesh/v1"}

kebab(s) if {
	is_string(s)
	regex.match(`^[a-z][a-z0-9-]*$`, s)
}

non_empty(s) if {
	is_string(s)
	trim_space(s) != ""
}

# A calendar date written YYYY-MM-DD.
is_date(s) if {
	is_string(s)
	regex.match(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`, s)
	time.parse_ns("2006-01-02", s)
}

today := data.meshbot.context.today

# A residency that keeps data in the EU.
eu_resident(residency) if upper(trim_space(residency)) == "EU"

# A location that names an EU region: an AWS (eu-west-1) or GCP
# (europe-west3) region, or a store named for one (s3://eu-mesh-finance/).
names_eu_region(location) if contains(lower(location), "eu-")

names_eu_region(location) if contains(lower(location), "europe-")

# A region, as a server names it, inside the EU: AWS and GCP by prefix,
# Azure by name.
eu_region(region) if startswith(lower(region), "eu-")

eu_region(region) if startswith(lower(region), "europe-")

eu_region(region) if lower(region) in azure_eu_regions

azure_eu_regions := {
	"westeurope", "northeurope", "francecentral", "francesouth", "germanywestcentral", "germanynorth",
	"swedencentral", "swedensouth", "italynorth", "polandcentral", "spaincentral",
}
