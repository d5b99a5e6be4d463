package compat

// Rule ids. They are stable: policies, SARIF consumers and suppressions
// refer to them, so an id is never renamed or reused for another meaning.
const (
	// Contract structure.
	RuleModelRemoved               = "model-removed"
	RuleModelAdded                 = "model-added"
	RuleModelTypeChanged           = "model-type-changed"
	RuleModelTypeDeclaration       = "model-type-declaration-changed"
	RuleFieldRemoved               = "field-removed"
	RuleFieldAddedOptional         = "field-added-optional"
	RuleFieldAddedRequired         = "field-added-required"
	RuleDescriptionChanged         = "description-changed"
	RuleContractRemoved            = "contract-removed"
	RuleContractAdded              = "contract-added"
	RuleContractOwnerChanged       = "contract-owner-changed"
	RuleContractStatusChanged      = "contract-status-changed"
	RuleFieldTypeChanged           = "field-type-changed"
	RuleFieldTypeNarrowed          = "field-type-narrowed"
	RuleFieldTypeWidened           = "field-type-widened"
	RuleFieldTypeReinterpreted     = "field-type-reinterpreted"
	RuleFieldTypeRespelled         = "field-type-respelled"
	RuleFieldTypeAdded             = "field-type-added"
	RuleFieldTypeRemoved           = "field-type-removed"
	RuleFieldFormatChanged         = "field-format-changed"
	RuleRequiredRelaxed            = "required-relaxed"
	RuleRequiredTightened          = "required-tightened"
	RuleUniqueRelaxed              = "unique-relaxed"
	RuleUniqueTightened            = "unique-tightened"
	RulePrimaryKeyRemoved          = "primary-key-removed"
	RulePrimaryKeyAdded            = "primary-key-added"
	RuleEnumValueRemoved           = "enum-value-removed"
	RuleEnumValueAdded             = "enum-value-added"
	RuleFieldPatternChanged        = "field-pattern-changed"
	RuleConstraintRelaxed          = "field-constraint-relaxed"
	RuleConstraintTightened        = "field-constraint-tightened"
	RuleFieldPIIAdded              = "field-pii-added"
	RuleFieldPIIRemoved            = "field-pii-removed"
	RuleFieldClassificationChanged = "field-classification-changed"
	RuleFieldClassificationLowered = "field-classification-lowered"
	RuleFieldReferencesChanged     = "field-references-changed"
	RuleQualityRemoved             = "quality-removed"
	RuleQualityChanged             = "quality-changed"
	RuleQualityAdded               = "quality-added"
	RuleRelationshipRemoved        = "relationship-removed"
	RuleRelationshipChanged        = "relationship-changed"
	RuleRelationshipAdded          = "relationship-added"
	RuleServerRemoved              = "contract-server-removed"
	RuleServerChanged              = "contract-server-changed"
	RuleServerAdded                = "contract-server-added"
	RuleSpecVersionChanged         = "spec-version-changed"
	RuleModelLogicalTypeChanged    = "model-logical-type-changed"
	RuleContractDeprecated         = "contract-deprecated"
	RuleFieldDeprecated            = "field-deprecated"

	// Service levels (contract servicelevels and descriptor spec.sla).
	RuleSLAFreshnessLoosened   = "sla-freshness-loosened"
	RuleSLAAvailabilityLowered = "sla-availability-lowered"
	RuleSLACompletenessLowered = "sla-completeness-lowered"
	RuleSLARetentionShortened  = "sla-retention-shortened"
	RuleSLALoosened            = "sla-loosened"
	RuleSLAImproved            = "sla-improved"
	RuleSLAChanged             = "sla-changed"
	RuleSunsetAdvanced         = "deprecation-sunset-advanced"

	// Descriptor.
	RuleProductRemoved             = "product-removed"
	RuleProductAdded               = "product-added"
	RuleProductOwnerChanged        = "product-owner-changed"
	RuleProductDeprecated          = "product-deprecated"
	RuleProductLifecycleChanged    = "product-lifecycle-changed"
	RuleProductPIIAdded            = "product-pii-added"
	RuleProductPIIFieldAdded       = "product-pii-field-added"
	RuleProductPIIRemoved          = "product-pii-removed"
	RuleProductResidencyChanged    = "product-residency-changed"
	RuleProductClassificationOther = "product-classification-changed"
	RulePortRemoved                = "output-port-removed"
	RulePortAdded                  = "output-port-added"
	RulePortTypeChanged            = "output-port-type-changed"
	RulePortLocationChanged        = "output-port-location-changed"
	RulePortTopicChanged           = "output-port-topic-changed"
	RulePortContractChanged        = "output-port-contract-changed"
	RulePortContractRemoved        = "output-port-contract-removed"
	RulePortContractAdded          = "output-port-contract-added"
	RulePortDeprecated             = "output-port-deprecated"
	RulePortLifecycleChanged       = "output-port-lifecycle-changed"

	// Versions.
	RuleBreakingInMajor      = "breaking-change-in-major-version"
	RuleMajorWithoutBreaking = "major-bump-without-breaking"
	RuleVersionNotBumped     = "version-not-bumped"
	RuleVersionDecreased     = "version-decreased"
)

// Rule is one entry of the rule table: what docs and SARIF rule metadata
// show.
type Rule struct {
	ID          string   `json:"id"`
	Severity    Severity `json:"severity"`
	Description string   `json:"description"`
	Why         string   `json:"why,omitempty"` // the reasoning behind a judgement call, where there was one
}

// ruleTable is read-only: every rule id has exactly one severity, so a
// policy or a SARIF reader can rely on the id alone.
var ruleTable = [...]Rule{
	{RuleModelRemoved, Breaking, "A model (table, view, topic schema) was removed; every consumer reading it breaks.", ""},
	{RuleModelAdded, Info, "A model was added; existing readers are unaffected.", ""},
	{RuleModelTypeChanged, Breaking, "A model's type changed (e.g. table to object); readers bound to the old shape break.", ""},
	{RuleModelTypeDeclaration, Info, "A model's type was declared where it was absent, or its declaration dropped.", ""},
	{RuleFieldRemoved, Breaking, "A field was removed (or renamed: the message names the likely new name); consumers reading it break.", "A rename is reported as a removal (with the likely new name) because for every reader of the old name it is one; the added twin is not reported separately."},
	{RuleFieldAddedOptional, Info, "An optional field was added; readers ignore columns they do not select.", ""},
	{RuleFieldAddedRequired, Info, "A required field was added; safe for readers (it only promises more), the producer must populate it.", "Seed 004 and datacontract-cli judge from the producer's side. A reader never sees a column it does not select, and a required column only promises more; the producer, who owns the port, must fill it."},
	{RuleDescriptionChanged, Info, "A model's or field's description changed.", ""},
	{RuleContractRemoved, Breaking, "A standalone contract (not referenced by a port) was deleted.", ""},
	{RuleContractAdded, Info, "A standalone contract was added.", ""},
	{RuleContractOwnerChanged, Info, "The contract's owner changed.", ""},
	{RuleContractStatusChanged, Info, "The contract's status changed.", ""},
	{RuleFieldTypeChanged, Breaking, "A field's type changed to one that is neither a widening nor a narrowing of it (e.g. int to string).", ""},
	{RuleFieldTypeNarrowed, Breaking, "A field's type was narrowed (long to int, double to float, timestamp to date, string to int); values may no longer fit or parse.", ""},
	{RuleFieldTypeWidened, Info, "A field's type was widened (int to long, float to double, int to decimal, varchar(n) to varchar(m>n)); engines promote it.", "Table formats and engines promote int to long, float to double, int to decimal on read; a reader's query keeps working. int to float is not a widening (float keeps 24 bits of an int's 32), nor long to double."},
	{RuleFieldTypeReinterpreted, Warning, "A field's type changed in a way that keeps values but shifts meaning (date to timestamp, timestamp to timestamp_ntz).", "date to timestamp adds a midnight time part, and timestamp with and without zone name different instants for the same digits: values convert, meaning shifts."},
	{RuleFieldTypeRespelled, Info, "A field's type is spelled differently but means the same (varchar, text, string).", ""},
	{RuleFieldTypeAdded, Info, "A field now declares a type where it had none; readers get a stronger promise.", "A declared type is a new promise; datacontract-cli warns because its rule table is symmetric in added/removed."},
	{RuleFieldTypeRemoved, Breaking, "A field no longer declares a type; the producer may now send any type.", "Without a declared type the producer may send anything; that relaxes a guarantee. datacontract-cli only warns."},
	{RuleFieldFormatChanged, Breaking, "A field's format changed (e.g. email to url); values follow a different grammar.", ""},
	{RuleRequiredRelaxed, Breaking, "A required field became optional; consumers relied on it being non-null.", "Consumers wrote NOT NULL columns, joins and aggregations against the promise; nulls now break them (product: 'a guarantee relaxed')."},
	{RuleRequiredTightened, Warning, "An optional field became required; safe for readers, but rows written before may still hold nulls.", "Seed 004 calls 'tightening required' breaking, datacontract-cli too. For a reader a stronger promise is safe, so meshbot does not fail on it; it warns because history written before the change may still hold nulls the new contract denies."},
	{RuleUniqueRelaxed, Breaking, "A field is no longer unique; consumers joining or keying on it may duplicate rows.", "Joins and keyed lookups on a field that may now repeat silently multiply rows."},
	{RuleUniqueTightened, Info, "A field became unique; readers get a stronger promise.", ""},
	{RulePrimaryKeyRemoved, Warning, "A field is no longer (part of) the primary key; merges and upserts keyed on it need review.", "Readers rarely depend on the key declaration itself; merges and deduplication do, so it is worth a look but not a failure."},
	{RulePrimaryKeyAdded, Info, "A field became (part of) the primary key.", ""},
	{RuleEnumValueRemoved, Breaking, "An enum value was removed; consumers filtering or mapping on it silently lose rows.", "For a pure reader a smaller value set is a subset, but consumers filter and map on named values (WHERE status = 'cancelled'); a removed value silently empties their results. The product lists 'enum value removed' as breaking."},
	{RuleEnumValueAdded, Warning, "An enum value was added; readers with exhaustive mappings must handle it.", "Seed 004 calls a new enum value at the end safe; datacontract-cli treats any enum change as an error, and its maintainers objected to making additions info because exhaustive readers break. meshbot warns: no failure, but readers with exhaustive mappings are told. Position in the list does not matter to readers, so an addition anywhere is the same warning."},
	{RuleFieldPatternChanged, Breaking, "A field's pattern changed; values follow a different grammar.", "Whether one regular expression accepts a subset of another is not decidable cheaply, so any change is treated as a relaxation."},
	{RuleConstraintRelaxed, Breaking, "A value constraint was loosened or dropped (bounds, length, pattern, format, enum); values outside the old promise may arrive.", "A bound, length, pattern, format or enum is a promise about values; loosening it lets values arrive that consumers validated, sized columns or parsed for (product: 'a guarantee relaxed')."},
	{RuleConstraintTightened, Info, "A value constraint was added or tightened; readers get a subset of what they accepted.", "Readers receive a subset of what they already accepted. datacontract-cli's old rules flag a changed bound as an error whatever its direction, and PR #1482 flags tightening as the error: both take the producer's view."},
	{RuleFieldPIIAdded, Warning, "An existing field was declared personal data; governance tightened, consumers should confirm their clearance.", "The data did not change, only what is known about it: every consumer already received these values, and their reads, schemas and jobs keep working. Declaring it is tightening governance, which must never be discouraged by forcing a new major version and a new output port; it is a warning so consumers' clearance is confirmed. A field that is added already marked PII is a new field (field-added-*), not this rule."},
	{RuleFieldPIIRemoved, Warning, "A field is no longer marked personal data; governance should confirm the declassification.", "Declassification cannot hurt a reader, but a mistaken one exposes data, so governance should see it."},
	{RuleFieldClassificationChanged, Breaking, "A field's classification was set, raised, or changed to a class meshbot cannot rank; consumers may not be cleared for it.", "Classes are ranked public/unclassified < internal < confidential/sensitive < restricted/secret. A raise, a first classification, or a change to a class outside that ladder may put consumers out of clearance."},
	{RuleFieldClassificationLowered, Warning, "A field's classification was lowered or dropped; governance should confirm the declassification.", ""},
	{RuleFieldReferencesChanged, Warning, "A field's reference (references / $ref) changed; joins built on it need review.", ""},
	{RuleQualityRemoved, Warning, "A quality rule was removed; a guarantee was weakened.", "A removed check weakens a guarantee but does not change the data's shape; datacontract-cli agrees (warning)."},
	{RuleQualityChanged, Warning, "A quality rule changed; the guarantee it gives may be weaker.", "Whether a changed check is stronger or weaker cannot be told in general."},
	{RuleQualityAdded, Info, "A quality rule was added.", ""},
	{RuleRelationshipRemoved, Breaking, "A relationship (foreign key) was removed; consumers joining on it lose the promise that it resolves.", "Consumers join on declared foreign keys and rely on every value finding its row; without the declaration the producer may send orphans."},
	{RuleRelationshipChanged, Breaking, "A relationship (foreign key) now points elsewhere or spans other fields; joins built on it return other rows.", ""},
	{RuleRelationshipAdded, Info, "A relationship (foreign key) was declared; readers get a stronger promise.", ""},
	{RuleServerRemoved, Breaking, "A contract's server was removed; consumers reading from it break.", "The server is where consumers read the data; once it is gone from the contract nothing promises the data is still there."},
	{RuleServerChanged, Breaking, "A contract's server moved (type, host, database, schema, catalog, topic, path, ...); consumers read from the old place.", ""},
	{RuleServerAdded, Info, "A server was added to a contract.", ""},
	{RuleSpecVersionChanged, Info, "The contract is now written in another version of its standard; spellings that moved between versions are compared by meaning.", "One notice per document rather than one per respelled field: ODCS 3.0 to 3.1 moved exclusive bounds, quality rule names and model types, none of which changes the data."},
	{RuleModelLogicalTypeChanged, Breaking, "A model's logical type changed (e.g. object to array); readers bound to the old shape break.", ""},
	{RuleContractDeprecated, Info, "A contract or one of its models was deprecated; consumers should plan their migration.", ""},
	{RuleFieldDeprecated, Info, "A field was deprecated; consumers reading it should plan to stop.", ""},
	{RuleSLAFreshnessLoosened, Breaking, "The freshness promise was loosened or dropped; consumers scheduled on it read stale data.", "Consumers schedule their own jobs against the producer's freshness; a looser bound means they read stale data without any error."},
	{RuleSLAAvailabilityLowered, Warning, "The availability promise was lowered or dropped.", "A lower availability target changes neither data nor location; consumers plan around it but rarely break."},
	{RuleSLACompletenessLowered, Warning, "The completeness promise was lowered or dropped.", ""},
	{RuleSLARetentionShortened, Breaking, "Retention was shortened or dropped; consumers replaying history lose it.", "Consumers that replay, backfill or audit rely on history being kept as long as promised; like a looser freshness, a shorter retention lets them down without any error at read time."},
	{RuleSLALoosened, Breaking, "A service level other than freshness, availability and completeness was loosened or dropped (latency, frequency, time to resolve 4d to 7d, an end of support moved earlier).", "Consumers schedule and plan on each promised service level exactly as on freshness; a looser one lets them down without any error at read time. Tightened is fine."},
	{RuleSLAImproved, Info, "A service level was tightened or newly promised.", ""},
	{RuleSLAChanged, Info, "A service level changed in a way meshbot cannot order (latency, unparsable values).", ""},
	{RuleSunsetAdvanced, Warning, "A deprecation's sunset date moved earlier; consumers have less time to migrate.", ""},
	{RuleProductRemoved, Breaking, "A data product was removed; every consumer of any of its ports breaks.", ""},
	{RuleProductAdded, Info, "A data product was added.", ""},
	{RuleProductOwnerChanged, Info, "The product's owner changed.", ""},
	{RuleProductDeprecated, Info, "The product was deprecated; consumers should plan their migration.", ""},
	{RuleProductLifecycleChanged, Info, "The product's lifecycle changed.", ""},
	{RuleProductPIIAdded, Warning, "The product now declares personal data; consumers should confirm their clearance.", "As for field-pii-added: declaring what the data already held tightens governance and breaks no reader, so it warns rather than forcing a new major version."},
	{RuleProductPIIFieldAdded, Warning, "A field was added to the product's pii_fields; consumers should confirm their clearance.", "As for field-pii-added."},
	{RuleProductPIIRemoved, Warning, "The product no longer declares personal data; governance should confirm the declassification.", ""},
	{RuleProductResidencyChanged, Breaking, "The product's data residency changed; consumers' processing may no longer be lawful where they run.", "Residency is a legal boundary: a consumer processing in the old region may not process data held elsewhere. A residency newly declared or dropped is only informational."},
	{RuleProductClassificationOther, Info, "The product's residency was newly declared or dropped.", ""},
	{RulePortRemoved, Breaking, "An output port was removed; consumers reading from it break.", ""},
	{RulePortAdded, Info, "An output port was added.", ""},
	{RulePortTypeChanged, Breaking, "An output port's type changed (e.g. iceberg to kafka); consumers' readers break.", ""},
	{RulePortLocationChanged, Breaking, "An output port's location changed; consumers read from the old place.", ""},
	{RulePortTopicChanged, Breaking, "An output port's topic changed; consumers subscribe to the old topic.", ""},
	{RulePortContractChanged, Info, "An output port now points at another contract file; the two contracts are compared.", "The port is the consumer's address; a new contract file behind it is compared with the old one field by field."},
	{RulePortContractRemoved, Breaking, "An output port no longer declares a contract; consumers lose every guarantee.", ""},
	{RulePortContractAdded, Info, "An output port now declares a contract.", ""},
	{RulePortDeprecated, Info, "An output port was deprecated; consumers should plan their migration.", ""},
	{RulePortLifecycleChanged, Info, "An output port's lifecycle changed.", ""},
	{RuleBreakingInMajor, Breaking, "A contract has breaking changes but its major version did not increase; it must ship as a new major version on a new output port.", "Product rule: a breaking change inside the same major version fails; it must ship as a new major version on a new output port."},
	{RuleMajorWithoutBreaking, Info, "A contract's major version increased although nothing breaking changed.", ""},
	{RuleVersionNotBumped, Warning, "A contract changed without a version bump.", "Consumers pin contract versions; an unversioned change is invisible to them."},
	{RuleVersionDecreased, Warning, "A contract's version went down.", ""},
}

// Rules returns the rule table, ordered as documented in RULES.md. The slice
// is a copy; changing it changes nothing here.
func Rules() []Rule {
	out := make([]Rule, len(ruleTable))
	copy(out, ruleTable[:])
	return out
}

// Lookup finds a rule by id.
func Lookup(id string) (Rule, bool) {
	for _, r := range ruleTable {
		if r.ID == id {
			return r, true
		}
	}
	return Rule{}, false
}

// IsBreaking is the rule table's verdict on a rule id. Unknown ids are not
// breaking.
func IsBreaking(id string) bool {
	r, ok := Lookup(id)
	return ok && r.Severity == Breaking
}

// severityOf is Lookup for the engine: ids it emits are constants of this
// file, and TestEveryEmittedRuleIsInTheTable keeps them in the table.
func severityOf(id string) Severity {
	r, _ := Lookup(id)
	return r.Severity
}
