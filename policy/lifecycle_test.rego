package mesh.lifecycle_test

import data.mesh.fixtures_test as f
import data.mesh.lifecycle

msgs(set) := {m.msg | some m in set}

deprecation := {
	"sunset": "2027-03-31", "replacement": "finance.revenue-v2/iceberg-curated", "line": 18,
	"locs": {"sunset": {"line": 19, "column": 9}, "replacement": {"line": 20, "column": 9}},
}

deprecated_port := f.with_port({"lifecycle": "deprecated", "deprecation": deprecation})

all_findings := (lifecycle.deny_lifecycle | lifecycle.deny_deprecation) | lifecycle.warn_sunset_passed

test_good_descriptor_passes if {
	count(all_findings) == 0 with input as f.good with data.meshbot.context as f.ctx
}

test_unknown_product_lifecycle_denied_at_the_key if {
	denials := lifecycle.deny_lifecycle with input as f.good with data.meshbot.context as f.with_product({"lifecycle": "beta"})
	msgs(denials) == {`data product finance.revenue: lifecycle "beta" is not one of experimental, production, deprecated`}
	some d in denials
	d._loc == {"line": 8, "column": 3}
}

test_unknown_port_lifecycle_denied if {
	msgs(lifecycle.deny_lifecycle) == {`output port iceberg-curated: lifecycle "retired" is not one of experimental, production, deprecated`} with input as f.good
		with data.meshbot.context as f.with_port({"lifecycle": "retired"})
}

test_absent_lifecycle_not_judged if {
	count(lifecycle.deny_lifecycle) == 0 with input as f.good with data.meshbot.context as f.with_product({"lifecycle": ""})
}

test_deprecated_port_complete_passes if {
	count(lifecycle.deny_deprecation) == 0 with input as f.good with data.meshbot.context as deprecated_port
}

test_deprecated_port_without_deprecation_block_denied_at_its_lifecycle if {
	denials := lifecycle.deny_deprecation with input as f.good with data.meshbot.context as f.with_port({"lifecycle": "deprecated"})
	count(denials) == 2
	every d in denials {
		d._loc == {"line": 17, "column": 7}
	}
}

test_deprecated_port_sunset_must_be_a_date if {
	ctx := f.with_port({"lifecycle": "deprecated", "deprecation": object.union(deprecation, {"sunset": "next spring"})})
	denials := lifecycle.deny_deprecation with input as f.good with data.meshbot.context as ctx
	msgs(denials) == {"output port iceberg-curated is deprecated without a sunset date: set its deprecation.sunset (YYYY-MM-DD)"}
	some d in denials
	d._loc == {"line": 19, "column": 9}
}

test_deprecated_product_needs_sunset_and_replacement if {
	ctx := f.with_product({
		"lifecycle": "deprecated", "deprecation": {"sunset": "", "replacement": "", "line": 9, "locs": {}},
		"locs": {"deprecation": {"line": 9, "column": 3}},
	})
	denials := lifecycle.deny_deprecation with input as f.good with data.meshbot.context as ctx
	msgs(denials) == {
		"data product finance.revenue is deprecated without a sunset date: set spec.deprecation.sunset (YYYY-MM-DD)",
		"data product finance.revenue is deprecated without a replacement: set spec.deprecation.replacement (<domain>.<product>/<port>)",
	}

	# Neither key is written: both point at the deprecation block.
	every d in denials {
		d._loc == {"line": 9, "column": 3}
	}
}

test_sunset_passed_warns_at_the_sunset if {
	warnings := lifecycle.warn_sunset_passed with input as f.good with data.meshbot.context as object.union(deprecated_port, {"today": "2027-04-01"})
	msgs(warnings) == {"output port iceberg-curated: sunset passed on 2027-03-31: remove it"}
	some w in warnings
	w._loc == {"line": 19, "column": 9}
}

test_product_sunset_passed_warns if {
	ctx := f.with_product({"lifecycle": "deprecated", "deprecation": deprecation})
	msgs(lifecycle.warn_sunset_passed) == {"data product finance.revenue: sunset passed on 2027-03-31: remove it"} with input as f.good
		with data.meshbot.context as object.union(ctx, {"today": "2027-04-01"})
}

test_sunset_not_passed_no_warning if {
	count(lifecycle.warn_sunset_passed) == 0 with input as f.good with data.meshbot.context as deprecated_port
}

# ODPS statuses are an open list, and a deprecated ODPS product has no
# place for a sunset or a replacement: nothing to judge.
test_odps_statuses_not_judged if {
	every status in ["draft", "active", "proposed", "retired", "deprecated"] {
		count(all_findings) == 0 with input as f.odps with data.meshbot.context as f.with_odps({"lifecycle": status})
	}
}

test_dps_status_not_judged if {
	ctx := f.with_product({"format": "dataproduct-spec", "lifecycle": "in development", "output_ports": [object.union(f.port, {"lifecycle": "retired"})]})
	count(all_findings) == 0 with input as {} with data.meshbot.context as ctx
}

test_contracts_have_no_lifecycle_rules if {
	ctx := f.odcs_ctx({})
	count(all_findings) == 0 with input as f.odcs with data.meshbot.context as ctx
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
