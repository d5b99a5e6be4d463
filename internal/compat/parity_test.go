package compat

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/meshbot/meshbot/internal/mesh"
	"github.com/meshbot/meshbot/internal/testutil"
)

// Parity with datacontract-cli, the reference peer. Its expectations are
// transcribed from ../shared/external/datacontract-cli/EXPECTED.md:
// Gen A = tests/test_breaking.py and tests/test_changelog.py @ v0.10.41
// (DCS), Gen C = tests/test_breaking.py @ PR #1482 (ODCS). We compare
// classes of results, not text: their verdict (any error) against ours (any
// breaking change besides the version rule), and each entry they assert
// against the rule we map it to, by severity class (error = breaking).
// Wherever we deliberately judge differently, the entry says why in
// differs, and the test checks our documented behaviour instead. A differs
// that no longer differs fails too, so the list stays true.

type theirs struct {
	rule, path, level string // their rule id, location and level (error/warning/info)
	ours              string // our rule on the mapped path; "" = we report nothing for it
	differs           string
}

type parityCase struct {
	name          string // their test(s)
	old, new      string // fixtures, relative to external/datacontract-cli/fixtures
	errors        int    // their error count (Gen A headline; Gen C: error summary rows)
	entries       []theirs
	oursBreaking  bool
	verdictDiffer string
}

// Reasons shared by many entries.
const (
	whyTightened   = "a new or tighter constraint gives readers a subset of what they accepted: info for us (they judge from the producer's side)"
	whyRelaxed     = "a dropped or looser constraint lets unexpected values reach readers: breaking for us (a guarantee relaxed)"
	whyTypeAdded   = "a newly declared type is a stronger promise: info for us"
	whyTypeRemoved = "without a declared type the producer may send anything: breaking for us (a guarantee relaxed)"
	whyNotModelled = "tags, examples, custom keys, contact and terms are documentation meshbot does not model; no change is reported"
	whyDeclassify  = "declassification cannot hurt a reader; we warn so governance confirms it"
	whyPIIFalse    = "pii: false is the default, so writing or dropping it is no change"
	whyClassSet    = "a field gaining a classification may put consumers out of clearance: breaking for us"
	whyPIIDeclared = "declaring an existing field PII tightens governance and breaks no reader: a warning for us, never a forced major version"
)

func parityCases() []parityCase {
	fieldsAddedBounds := func(lvl, ours, why, field string) []theirs {
		var out []theirs
		for _, a := range [][2]string{{"min_length", "minLength"}, {"max_length", "maxLength"}, {"minimum", "minimum"},
			{"exclusive_minimum", "exclusiveMinimum"}, {"maximum", "maximum"}, {"exclusive_maximum", "exclusiveMaximum"}} {
			f := field
			if f == "" {
				f = "field_" + a[1]
			}
			out = append(out, theirs{"field_" + a[0] + "_" + lvl, "models.my_table.fields." + f + "." + a[1], "warning", ours, why})
		}
		return out
	}
	return []parityCase{
		{name: "test_no_breaking_changes / test_no_changes", old: "breaking/datacontract-fields-v2.yaml", new: "breaking/datacontract-fields-v2.yaml"},
		{name: "test_quality_added", old: "breaking/datacontract-quality-v1.yaml", new: "breaking/datacontract-quality-v2.yaml",
			entries: []theirs{{"quality_added", "quality", "info", RuleQualityAdded, ""}}},
		{name: "test_quality_removed", old: "breaking/datacontract-quality-v2.yaml", new: "breaking/datacontract-quality-v1.yaml",
			entries: []theirs{{"quality_removed", "quality", "warning", RuleQualityRemoved, ""}}},
		{name: "test_quality_updated", old: "breaking/datacontract-quality-v2.yaml", new: "breaking/datacontract-quality-v3.yaml",
			entries: []theirs{
				{"quality_type_updated", "quality.type", "warning", RuleQualityChanged, ""},
				{"quality_specification_updated", "quality.specification", "warning", RuleQualityChanged, ""},
			}},
		{name: "test_models_added", old: "breaking/datacontract-models-v1.yaml", new: "breaking/datacontract-models-v2.yaml",
			entries: []theirs{
				{"model_added", "models.my_table_2", "info", RuleModelAdded, ""},
				{"model_description_added", "models.my_table.description", "info", RuleDescriptionChanged, ""},
				{"model_another-key_added", "models.my_table.another-key", "info", "", whyNotModelled},
			}},
		{name: "test_models_removed", old: "breaking/datacontract-models-v2.yaml", new: "breaking/datacontract-models-v1.yaml", errors: 1, oursBreaking: true,
			entries: []theirs{
				{"model_removed", "models.my_table_2", "error", RuleModelRemoved, ""},
				{"model_description_removed", "models.my_table.description", "info", RuleDescriptionChanged, ""},
				{"model_another-key_removed", "models.my_table.another-key", "info", "", whyNotModelled},
			}},
		{name: "test_models_updated", old: "breaking/datacontract-models-v2.yaml", new: "breaking/datacontract-models-v3.yaml", errors: 1, oursBreaking: true,
			entries: []theirs{
				{"model_type_updated", "models.my_table.type", "error", RuleModelTypeChanged, ""},
				{"model_description_updated", "models.my_table.description", "info", RuleDescriptionChanged, ""},
				{"model_another-key_updated", "models.my_table.another-key", "info", "", whyNotModelled},
				{"model_some-other-key_removed", "models.my_table_2.some-other-key", "info", "", whyNotModelled},
			}},
		{name: "test_fields_added", old: "breaking/datacontract-fields-v1.yaml", new: "breaking/datacontract-fields-v2.yaml", oursBreaking: true,
			verdictDiffer: "fields v2 marks field_classification as sensitive, breaking for us (consumers may not be cleared), a warning for them",
			entries: append([]theirs{
				{"field_added", "models.my_table.fields.new_field", "info", RuleFieldAddedOptional, ""},
				{"field_references_added", "models.my_table.fields.field_references.references", "warning", RuleFieldReferencesChanged, ""},
				{"field_type_added", "models.my_table.fields.field_type.type", "warning", RuleFieldTypeAdded, whyTypeAdded},
				{"field_format_added", "models.my_table.fields.field_format.format", "warning", RuleConstraintTightened, whyTightened},
				{"field_description_added", "models.my_table.fields.field_description.description", "info", RuleDescriptionChanged, ""},
				{"field_pii_added", "models.my_table.fields.field_pii.pii", "warning", RuleFieldPIIAdded, ""},
				{"field_classification_added", "models.my_table.fields.field_classification.classification", "warning", RuleFieldClassificationChanged, whyClassSet},
				{"field_pattern_added", "models.my_table.fields.field_pattern.pattern", "warning", RuleConstraintTightened, whyTightened},
				{"field_enum_added", "models.my_table.fields.field_enum.enum", "warning", RuleConstraintTightened, whyTightened},
				{"field_tags_added", "models.my_table.fields.field_tags.tags", "info", "", whyNotModelled},
				{"field_ref_added", "models.my_table.fields.field_ref.$ref", "warning", RuleFieldReferencesChanged, ""},
				{"field_added", "models.my_table.fields.field_fields.fields.new_nested_field", "info", RuleFieldAddedOptional, ""},
				{"field_custom_key_added", "models.my_table.fields.field_custom_key.custom-key", "info", "", whyNotModelled},
			}, fieldsAddedBounds("added", RuleConstraintTightened, whyTightened, "")...)},
		{name: "test_fields_removed", old: "breaking/datacontract-fields-v2.yaml", new: "breaking/datacontract-fields-v1.yaml", errors: 5, oursBreaking: true,
			entries: append([]theirs{
				{"field_type_removed", "models.my_table.fields.field_type.type", "warning", RuleFieldTypeRemoved, whyTypeRemoved},
				{"field_format_removed", "models.my_table.fields.field_format.format", "warning", RuleConstraintRelaxed, whyRelaxed},
				{"field_references_removed", "models.my_table.fields.field_references.references", "warning", RuleFieldReferencesChanged, ""},
				{"field_description_removed", "models.my_table.fields.field_description.description", "info", RuleDescriptionChanged, ""},
				{"field_pii_removed", "models.my_table.fields.field_pii.pii", "error", RuleFieldPIIRemoved, whyDeclassify},
				{"field_classification_removed", "models.my_table.fields.field_classification.classification", "error", RuleFieldClassificationLowered, whyDeclassify},
				{"field_pattern_removed", "models.my_table.fields.field_pattern.pattern", "error", RuleConstraintRelaxed, ""},
				{"field_ref_removed", "models.my_table.fields.field_ref.$ref", "warning", RuleFieldReferencesChanged, ""},
				{"field_enum_removed", "models.my_table.fields.field_enum.enum", "info", RuleConstraintRelaxed, whyRelaxed},
				{"field_tags_removed", "models.my_table.fields.field_tags.tags", "info", "", whyNotModelled},
				{"field_removed", "models.my_table.fields.field_fields.fields.new_nested_field", "error", RuleFieldRemoved, ""},
				{"field_removed", "models.my_table.fields.new_field", "error", RuleFieldRemoved, ""},
				{"field_custom_key_removed", "models.my_table.fields.field_custom_key.custom-key", "info", "", whyNotModelled},
			}, fieldsAddedBounds("removed", RuleConstraintRelaxed, whyRelaxed, "")...)},
		{name: "test_fields_updated", old: "breaking/datacontract-fields-v2.yaml", new: "breaking/datacontract-fields-v3.yaml", errors: 15, oursBreaking: true,
			entries: []theirs{
				{"field_type_updated", "models.my_table.fields.field_type.type", "error", RuleFieldTypeNarrowed, ""},
				{"field_format_updated", "models.my_table.fields.field_format.format", "error", RuleFieldFormatChanged, ""},
				{"field_required_updated", "models.my_table.fields.field_required.required", "error", RuleRequiredTightened,
					"optional to required is safe for readers (seed 004 and they call it breaking); we warn because older rows may still hold nulls"},
				{"field_primary_key_updated", "models.my_table.fields.field_primaryKey.primaryKey", "warning", RulePrimaryKeyAdded, "becoming a key promises more: info for us"},
				{"field_references_updated", "models.my_table.fields.field_references.references", "warning", RuleFieldReferencesChanged, ""},
				{"field_unique_updated", "models.my_table.fields.field_unique.unique", "error", RuleUniqueTightened, "becoming unique promises more: info for us"},
				{"field_description_updated", "models.my_table.fields.field_description.description", "info", RuleDescriptionChanged, ""},
				{"field_pii_updated", "models.my_table.fields.field_pii.pii", "error", RuleFieldPIIRemoved, whyDeclassify},
				{"field_classification_updated", "models.my_table.fields.field_classification.classification", "error", RuleFieldClassificationChanged, ""},
				{"field_pattern_updated", "models.my_table.fields.field_pattern.pattern", "error", RuleFieldPatternChanged, ""},
				{"field_min_length_updated", "models.my_table.fields.field_minLength.minLength", "error", RuleConstraintTightened, whyTightened},
				{"field_max_length_updated", "models.my_table.fields.field_maxLength.maxLength", "error", RuleConstraintRelaxed, ""},
				{"field_minimum_updated", "models.my_table.fields.field_minimum.minimum", "error", RuleConstraintTightened, whyTightened},
				{"field_exclusive_minimum_updated", "models.my_table.fields.field_exclusiveMinimum.exclusiveMinimum", "error", RuleConstraintTightened, whyTightened},
				{"field_maximum_updated", "models.my_table.fields.field_maximum.maximum", "error", RuleConstraintRelaxed, ""},
				{"field_exclusive_maximum_updated", "models.my_table.fields.field_exclusiveMaximum.exclusiveMaximum", "error", RuleConstraintRelaxed, ""},
				{"field_enum_updated", "models.my_table.fields.field_enum.enum", "error", RuleEnumValueAdded,
					"an added enum value is a warning for us (seed 004: safe at the end; exhaustive readers are told); a removed one is breaking"},
				{"field_ref_updated", "models.my_table.fields.field_ref.$ref", "warning", RuleFieldReferencesChanged, ""},
				{"field_tags_updated", "models.my_table.fields.field_tags.tags", "info", "", whyNotModelled},
				{"field_type_updated", "models.my_table.fields.field_fields.fields.nested_field_1.type", "error", RuleFieldTypeNarrowed, ""},
				{"field_custom_key_updated", "models.my_table.fields.field_custom_key.custom-key", "info", "", whyNotModelled},
			}},
		{name: "test_definition_added", old: "breaking/datacontract-definitions-v1.yaml", new: "breaking/datacontract-definitions-v2.yaml", oursBreaking: true,
			verdictDiffer: "the field gains classification internal through its $ref; " + whyClassSet,
			entries: append([]theirs{
				{"field_ref_added", "models.my_table.fields.my_field.$ref", "warning", RuleFieldReferencesChanged, ""},
				{"field_type_added", "models.my_table.fields.my_field.type", "warning", RuleFieldTypeAdded, whyTypeAdded},
				{"field_description_added", "models.my_table.fields.my_field.description", "info", RuleDescriptionChanged, ""},
				{"field_format_added", "models.my_table.fields.my_field.format", "warning", RuleConstraintTightened, whyTightened},
				{"field_pii_added", "models.my_table.fields.my_field.pii", "warning", "", whyPIIFalse},
				{"field_classification_added", "models.my_table.fields.my_field.classification", "warning", RuleFieldClassificationChanged, whyClassSet},
				{"field_pattern_added", "models.my_table.fields.my_field.pattern", "warning", RuleConstraintTightened, whyTightened},
				{"field_tags_added", "models.my_table.fields.my_field.tags", "info", "", whyNotModelled},
				{"field_enum_added", "models.my_table.fields.my_field.enum", "warning", RuleConstraintTightened, whyTightened},
				{"field_example_added", "models.my_table.fields.my_field.example", "info", "", whyNotModelled},
			}, fieldsAddedBounds("added", RuleConstraintTightened, whyTightened, "my_field")...)},
		{name: "test_definition_removed", old: "breaking/datacontract-definitions-v2.yaml", new: "breaking/datacontract-definitions-v1.yaml", errors: 3, oursBreaking: true,
			entries: append([]theirs{
				{"field_ref_removed", "models.my_table.fields.my_field.$ref", "warning", RuleFieldReferencesChanged, ""},
				{"field_type_removed", "models.my_table.fields.my_field.type", "warning", RuleFieldTypeRemoved, whyTypeRemoved},
				{"field_description_removed", "models.my_table.fields.my_field.description", "info", RuleDescriptionChanged, ""},
				{"field_format_removed", "models.my_table.fields.my_field.format", "warning", RuleConstraintRelaxed, whyRelaxed},
				{"field_pii_removed", "models.my_table.fields.my_field.pii", "error", "", whyPIIFalse},
				{"field_classification_removed", "models.my_table.fields.my_field.classification", "error", RuleFieldClassificationLowered, whyDeclassify},
				{"field_pattern_removed", "models.my_table.fields.my_field.pattern", "error", RuleConstraintRelaxed, ""},
				{"field_tags_removed", "models.my_table.fields.my_field.tags", "info", "", whyNotModelled},
				{"field_enum_removed", "models.my_table.fields.my_field.enum", "info", RuleConstraintRelaxed, whyRelaxed},
				{"field_example_removed", "models.my_table.fields.my_field.example", "info", "", whyNotModelled},
			}, fieldsAddedBounds("removed", RuleConstraintRelaxed, whyRelaxed, "my_field")...)},
		{name: "test_definition_updated", old: "breaking/datacontract-definitions-v2.yaml", new: "breaking/datacontract-definitions-v3.yaml", errors: 12, oursBreaking: true,
			entries: []theirs{
				{"field_ref_updated", "models.my_table.fields.my_field.$ref", "warning", RuleFieldReferencesChanged, ""},
				{"field_type_updated", "models.my_table.fields.my_field.type", "error", RuleFieldTypeNarrowed, ""},
				{"field_description_updated", "models.my_table.fields.my_field.description", "info", RuleDescriptionChanged, ""},
				{"field_format_updated", "models.my_table.fields.my_field.format", "error", RuleFieldFormatChanged, ""},
				{"field_pii_updated", "models.my_table.fields.my_field.pii", "error", RuleFieldPIIAdded, whyPIIDeclared},
				{"field_classification_updated", "models.my_table.fields.my_field.classification", "error", RuleFieldClassificationChanged, ""},
				{"field_pattern_updated", "models.my_table.fields.my_field.pattern", "error", RuleFieldPatternChanged, ""},
				{"field_min_length_updated", "models.my_table.fields.my_field.minLength", "error", RuleConstraintTightened, whyTightened},
				{"field_max_length_updated", "models.my_table.fields.my_field.maxLength", "error", RuleConstraintRelaxed, ""},
				{"field_minimum_updated", "models.my_table.fields.my_field.minimum", "error", RuleConstraintTightened, whyTightened},
				{"field_exclusive_minimum_updated", "models.my_table.fields.my_field.exclusiveMinimum", "error", RuleConstraintRelaxed, ""},
				{"field_maximum_updated", "models.my_table.fields.my_field.maximum", "error", RuleConstraintRelaxed, ""},
				{"field_exclusive_maximum_updated", "models.my_table.fields.my_field.exclusiveMaximum", "error", RuleConstraintRelaxed, ""},
				{"field_tags_updated", "models.my_table.fields.my_field.tags", "info", "", whyNotModelled},
				{"field_enum_updated", "models.my_table.fields.my_field.enum", "error", RuleEnumValueRemoved, ""},
				{"field_example_updated", "models.my_table.fields.my_field.example", "info", "", whyNotModelled},
			}},
		{name: "test_array_fields_updated", old: "breaking/datacontract-fields-array-v1.yaml", new: "breaking/datacontract-fields-array-v2.yaml", errors: 3, oursBreaking: true,
			entries: []theirs{
				{"field_pii_updated", "models.DataType.fields.Records.items.fields.Field1.pii", "error", RuleFieldPIIAdded, whyPIIDeclared},
				{"field_classification_updated", "models.DataType.fields.Records.items.fields.Discount.fields.IsAutomatic.classification", "error", RuleFieldClassificationChanged, ""},
				{"field_type_updated", "models.DataType.fields.Records.items.fields.Discount.fields.Conditions.fields.Hierarchy.fields.HasArticles.type", "error", RuleFieldTypeNarrowed, ""},
			}},
		{name: "test_info_added", old: "breaking/datacontract-info-v1.yaml", new: "breaking/datacontract-info-v2.yaml",
			entries: []theirs{
				{"info_owner_added", "info.owner", "info", RuleContractOwnerChanged, ""},
				{"info_some_other_key_added", "info.some-other-key", "info", "", whyNotModelled},
				{"contact_added", "info.contact", "info", "", whyNotModelled},
			}},
		{name: "test_info_removed", old: "breaking/datacontract-info-v2.yaml", new: "breaking/datacontract-info-v1.yaml",
			entries: []theirs{
				{"info_owner_removed", "info.owner", "info", RuleContractOwnerChanged, ""},
				{"info_some_other_key_removed", "info.some-other-key", "info", "", whyNotModelled},
				{"contact_removed", "info.contact", "info", "", whyNotModelled},
			}},
		{name: "test_info_updated", old: "breaking/datacontract-info-v2.yaml", new: "breaking/datacontract-info-v3.yaml",
			entries: []theirs{
				{"info_owner_updated", "info.owner", "info", RuleContractOwnerChanged, ""},
				{"info_some_other_key_updated", "info.some-other-key", "info", "", whyNotModelled},
				{"contact_email_updated", "info.contact.email", "info", "", whyNotModelled},
			}},
		{name: "test_terms_added", old: "breaking/datacontract-terms-v1.yaml", new: "breaking/datacontract-terms-v2.yaml",
			entries: []theirs{{"terms_added", "terms", "info", "", whyNotModelled}}},
		{name: "test_terms_removed", old: "breaking/datacontract-terms-v2.yaml", new: "breaking/datacontract-terms-v1.yaml",
			entries: []theirs{{"terms_removed", "terms", "info", "", whyNotModelled}}},
		{name: "test_terms_updated", old: "breaking/datacontract-terms-v2.yaml", new: "breaking/datacontract-terms-v3.yaml",
			entries: []theirs{
				{"terms_usage_updated", "terms.usage", "info", "", whyNotModelled},
				{"terms_limitations_removed", "terms.limitations", "info", "", whyNotModelled},
			}},

		// Gen C (PR #1482): levels of the summary rows the CLI prints as badges.
		{name: "Gen C warning_only (CLI: exit 0, [ 1 Warning ] [ 1 Info ])", old: "changelog/breaking/warning_only_v1.yaml", new: "changelog/breaking/warning_only_v2.yaml",
			entries: []theirs{
				{"summary", "schema.orders.properties.region", "warning", RuleFieldAddedOptional,
					"adding an optional field is safe (seed 004): info for us; their required-changed/type-changed rules warn on the added keys"},
				{"summary", "version", "info", RuleMajorWithoutBreaking, ""},
			}},
		{name: "Gen C integration (CLI: exit 1, [ 4 Error ] [ 1 Warning ] [ 3 Info ])", old: "changelog/integration/changelog_integration_v1.yaml",
			new: "changelog/integration/changelog_integration_v2.yaml", errors: 4, oursBreaking: true,
			entries: []theirs{
				{"summary", "schema.customers", "error", RuleModelAdded,
					"a new model cannot break a reader: info for us; theirs errors because its required properties count as 'required added'"},
				{"summary", "schema.orders.properties.customer_id", "error", RuleFieldRemoved, ""},
				{"summary", "schema.orders.properties.order_date", "error", RuleFieldTypeNarrowed, ""},
				{"summary", "schema.orders.properties.order_id", "info", RuleDescriptionChanged, ""},
				{"summary", "schema.orders.properties.region", "warning", RuleFieldAddedOptional, "adding an optional field is safe (seed 004): info for us"},
				{"summary", "schema.orders.properties.total_amount", "error", RuleRequiredTightened,
					"optional to required is safe for readers; we warn because older rows may still hold nulls"},
				{"summary", "slaProperties.availability", "info", RuleSLAAvailabilityLowered, "a lowered availability promise is worth a warning to consumers who plan on it"},
				{"summary", "version", "info", "", "a major bump that accompanies breaking changes is what we ask for; no change is reported"},
			}},
	}
}

// ourPath maps their location to our field path: "models.X.fields.Y.items.fields.Z.pii"
// becomes "X.Y.Z"; "schema.X.properties.Y" becomes "X.Y". Locations outside
// models/schema map to "" (contract-level).
func ourPath(rule, loc string) string {
	parts := strings.Split(loc, ".")
	if parts[0] != "models" && parts[0] != "schema" {
		return ""
	}
	var out []string
	for _, p := range parts[1:] {
		if p != "fields" && p != "properties" && p != "items" {
			out = append(out, p)
		}
	}
	element := strings.HasPrefix(rule, "summary") || slices.Contains([]string{"field_added", "field_removed", "model_added", "model_removed"}, rule)
	if !element {
		out = out[:len(out)-1] // the attribute
	}
	return strings.Join(out, ".")
}

// touches says whether c is about path: a field path must be in Fields; a
// model name matches changes about the model or any of its fields.
func touches(c Change, path string) bool {
	switch {
	case path == "":
		return true
	case !strings.Contains(path, "."):
		return len(c.Fields) == 0 || slices.ContainsFunc(c.Fields, func(f string) bool { return strings.HasPrefix(f, path+".") })
	}
	return slices.Contains(c.Fields, path)
}

func levelOf(s Severity) string {
	return map[Severity]string{Breaking: "error", Warning: "warning", Info: "info"}[s]
}

func readFixture(t *testing.T, rel string) *mesh.Contract {
	t.Helper()
	p := testutil.Shared(t, filepath.ToSlash(filepath.Join("external/datacontract-cli/fixtures", rel)))
	src, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	c, _, probs := mesh.ReadContract(rel, src)
	if c == nil {
		t.Fatalf("%s: not readable: %v", rel, probs)
	}
	return c
}

func TestParityWithDatacontractCLI(t *testing.T) {
	for _, pc := range parityCases() {
		t.Run(pc.name, func(t *testing.T) {
			cs := Contracts(readFixture(t, pc.old), readFixture(t, pc.new))
			checkTable(t, cs)
			if pc.old == pc.new && len(cs) != 0 {
				t.Fatalf("identical files must give no change, got %v", cs)
			}
			oursBreaking := false
			for _, c := range structural(cs) {
				oursBreaking = oursBreaking || c.Severity == Breaking
			}
			theirsBreaking := pc.errors > 0
			if oursBreaking != pc.oursBreaking {
				t.Errorf("our verdict: breaking=%t, the table says %t\n%s", oursBreaking, pc.oursBreaking, changesText(cs))
			}
			switch {
			case pc.oursBreaking != theirsBreaking && pc.verdictDiffer == "":
				t.Errorf("datacontract-cli says breaking=%t, we say %t, and the table names no reason", theirsBreaking, pc.oursBreaking)
			case pc.oursBreaking == theirsBreaking && pc.verdictDiffer != "":
				t.Errorf("the verdicts agree; drop the stale difference %q", pc.verdictDiffer)
			}
			for _, e := range pc.entries {
				path := ourPath(e.rule, e.path)
				if e.ours == "" {
					if e.differs == "" {
						t.Errorf("%s at %s: we report nothing, and the table names no reason", e.rule, e.path)
					}
					continue
				}
				i := slices.IndexFunc(cs, func(c Change) bool { return c.Rule == e.ours && touches(c, path) })
				if i < 0 {
					t.Errorf("%s (%s) at %s: want our %s on %q, not found in\n%s", e.rule, e.level, e.path, e.ours, path, changesText(cs))
					continue
				}
				same := levelOf(cs[i].Severity) == e.level
				switch {
				case !same && e.differs == "":
					t.Errorf("%s at %s: they say %s, our %s is %s, and the table names no reason", e.rule, e.path, e.level, e.ours, cs[i].Severity)
				case same && e.differs != "":
					t.Errorf("%s at %s: both say %s; drop the stale difference %q", e.rule, e.path, e.level, e.differs)
				}
			}
		})
	}
}

func changesText(cs []Change) string {
	var b strings.Builder
	for _, c := range cs {
		b.WriteString("  " + c.String() + " " + strings.Join(c.Fields, ",") + "\n")
	}
	return b.String()
}
