package mesh.lifecycle_test

import data.mesh.fixtures_test as f
import data.mesh.lifecycle

deprecated_port := {
	"lifecycle": "deprecated",
	"deprecation": {"sunset": "2027-03-31", "replacement": "finance.revenue-v2/iceberg-curated"},
}

# The base version holds the deprecated port v1 beside iceberg-curated.
base := f.with_spec({"outputPorts": [
	f.good.spec.outputPorts[0],
	object.union({"name": "v1", "type": "iceberg", "location": "s3://eu-mesh/v1/", "contract": "./c.yaml"}, deprecated_port),
]})

consumer := {"product": "sales.forecast", "owner": "team-sales", "input_port": "revenue", "port": "v1", "fields": ["total"], "file": "sales/dataproduct.yaml"}

all_denials(doc, ctx) := lifecycle.deny_lifecycle | lifecycle.deny_deprecation | lifecycle.deny_removed if {
	true
}

test_good_descriptor_passes if {
	denials := (lifecycle.deny_lifecycle | lifecycle.deny_deprecation) | lifecycle.deny_removed with input as f.good with data.meshbot.context as f.ctx
	count(denials) == 0
	count(lifecycle.warn_sunset_passed) == 0 with input as f.good with data.meshbot.context as f.ctx
}

test_unknown_product_lifecycle_denied if {
	doc := f.with_spec({"lifecycle": "beta"})
	some msg in lifecycle.deny_lifecycle with input as doc with data.meshbot.context as f.ctx
	contains(msg, `lifecycle "beta" is not one of`)
}

test_unknown_port_lifecycle_denied if {
	doc := f.with_port({"lifecycle": "retired"})
	some msg in lifecycle.deny_lifecycle with input as doc with data.meshbot.context as f.ctx
	contains(msg, "output port iceberg-curated")
}

test_deprecated_port_complete_passes if {
	doc := f.with_port(deprecated_port)
	count(lifecycle.deny_deprecation) == 0 with input as doc with data.meshbot.context as f.ctx
}

test_deprecated_port_needs_sunset_and_replacement if {
	doc := f.with_port({"lifecycle": "deprecated"})
	denials := lifecycle.deny_deprecation with input as doc with data.meshbot.context as f.ctx
	count(denials) == 2
}

test_deprecated_port_sunset_must_be_a_date if {
	doc := f.with_port(object.union(deprecated_port, {"deprecation": {"sunset": "next spring"}}))
	some msg in lifecycle.deny_deprecation with input as doc with data.meshbot.context as f.ctx
	contains(msg, "without a sunset date")
}

test_deprecated_product_needs_sunset_and_replacement if {
	doc := f.with_spec({"lifecycle": "deprecated", "deprecation": {"reason": "v2"}})
	denials := lifecycle.deny_deprecation with input as doc with data.meshbot.context as f.ctx
	count(denials) == 2
}

test_removed_before_sunset_denied if {
	ctx := object.union(f.ctx, {"base": base, "today": "2027-01-15"})
	denials := lifecycle.deny_removed with input as f.good with data.meshbot.context as ctx
	denials == {"output port v1 was removed before its sunset date 2027-03-31: keep it until then"}
}

test_removed_after_sunset_without_consumers_allowed if {
	ctx := object.union(f.ctx, {"base": base, "today": "2027-04-01"})
	count(lifecycle.deny_removed) == 0 with input as f.good with data.meshbot.context as ctx
}

test_removed_on_sunset_day_allowed if {
	ctx := object.union(f.ctx, {"base": base, "today": "2027-03-31"})
	count(lifecycle.deny_removed) == 0 with input as f.good with data.meshbot.context as ctx
}

test_removed_with_consumers_denied_after_sunset if {
	ctx := object.union(f.ctx, {"base": base, "today": "2027-04-01", "consumers": [
		consumer,
		object.union(consumer, {"product": "ops.kpis", "owner": "team-ops"}),
		object.union(consumer, {"product": "other.reader", "port": "iceberg-curated"}),
	]})
	denials := lifecycle.deny_removed with input as f.good with data.meshbot.context as ctx
	denials == {"output port v1 was removed while registered consumers still read it: ops.kpis (owner team-ops), sales.forecast (owner team-sales)"}
}

test_port_of_deprecated_product_uses_product_sunset if {
	b := object.union(f.with_spec({"lifecycle": "deprecated", "deprecation": {"sunset": "2027-06-30", "replacement": "finance.revenue-v2"}}), {})
	ctx := object.union(f.ctx, {"base": b, "today": "2027-01-15"})
	doc := f.with_spec({"lifecycle": "deprecated", "outputPorts": [], "deprecation": {"sunset": "2027-06-30", "replacement": "finance.revenue-v2"}})
	some msg in lifecycle.deny_removed with input as doc with data.meshbot.context as ctx
	contains(msg, "output port iceberg-curated was removed before its sunset date 2027-06-30")
}

test_removing_a_port_not_deprecated_is_not_a_lifecycle_matter if {
	b := f.with_spec({"outputPorts": [f.good.spec.outputPorts[0], {"name": "extra", "type": "kafka", "topic": "t"}]})
	ctx := object.union(f.ctx, {"base": b, "consumers": [object.union(consumer, {"port": "extra"})]})
	count(lifecycle.deny_removed) == 0 with input as f.good with data.meshbot.context as ctx
}

test_sunset_passed_warns if {
	doc := f.with_port(deprecated_port)
	warnings := lifecycle.warn_sunset_passed with input as doc with data.meshbot.context as object.union(f.ctx, {"today": "2027-04-01"})
	warnings == {"output port iceberg-curated: sunset passed on 2027-03-31: remove it"}
}

test_sunset_not_passed_no_warning if {
	doc := f.with_port(deprecated_port)
	count(lifecycle.warn_sunset_passed) == 0 with input as doc with data.meshbot.context as f.ctx
}
