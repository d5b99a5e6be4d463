package mesh.lifecycle_test

import data.mesh.fixtures_test as f
import data.mesh.lifecycle

deprecated_port := {
	"lifecycle": "deprecated",
	"deprecation": {"sunset": "2027-03-31", "replacement": "finance.revenue-v2/iceberg-curated"},
}

test_good_descriptor_passes if {
	denials := lifecycle.deny_lifecycle | lifecycle.deny_deprecation with input as f.good with data.meshbot.context as f.ctx
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

test_sunset_passed_warns if {
	doc := f.with_port(deprecated_port)
	warnings := lifecycle.warn_sunset_passed with input as doc with data.meshbot.context as object.union(f.ctx, {"today": "2027-04-01"})
	warnings == {"output port iceberg-curated: sunset passed on 2027-03-31: remove it"}
}

test_sunset_not_passed_no_warning if {
	doc := f.with_port(deprecated_port)
	count(lifecycle.warn_sunset_passed) == 0 with input as doc with data.meshbot.context as f.ctx
}

new_read := {
	"input_port": "orders", "product": "orders.order-events", "port": "iceberg-v1", "added": true, "known": true,
	"deprecated": true, "sunset": "2027-02-01", "replacement": "orders.order-events/iceberg-curated", "line": 14,
}

reads_ctx(r) := object.union(f.ctx, {"reads": [r]})

test_new_reader_notice_off_by_default if {
	count(lifecycle.deny_new_reader) == 0 with input as f.good with data.meshbot.context as reads_ctx(new_read)
}

test_new_reader_too_close_to_sunset_denied if {
	denials := lifecycle.deny_new_reader with input as f.good with data.meshbot.context as reads_ctx(new_read)
		with data.deprecation.new_reader_notice_days as 30
	some d in denials
	d._loc.line == 14
	contains(d.msg, "sunset 2027-02-01, 17 days away; new readers need at least 30 days: read orders.order-events/iceberg-curated instead")
}

test_new_reader_with_enough_notice_passes if {
	count(lifecycle.deny_new_reader) == 0 with input as f.good with data.meshbot.context as reads_ctx(new_read)
		with data.deprecation.new_reader_notice_days as 10
}

test_kept_reader_not_judged if {
	kept := object.union(new_read, {"added": false})
	count(lifecycle.deny_new_reader) == 0 with input as f.good with data.meshbot.context as reads_ctx(kept)
		with data.deprecation.new_reader_notice_days as 30
}

test_reader_of_something_current_not_judged if {
	current := object.union(new_read, {"deprecated": false, "sunset": ""})
	count(lifecycle.deny_new_reader) == 0 with input as f.good with data.meshbot.context as reads_ctx(current)
		with data.deprecation.new_reader_notice_days as 30
}
