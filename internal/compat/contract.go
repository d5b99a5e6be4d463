package compat

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/meshbot/meshbot/internal/mesh"
)

// differ accumulates changes between one base and one head document.
type differ struct {
	contract string // path stamped on every change (head's, or base's when head is nil)
	out      []Change
}

// add records a change positioned in head.
func (d *differ) add(rule string, pos mesh.Pos, fields []string, oldV, newV, msg string) *Change {
	d.out = append(d.out, Change{
		Rule: rule, Severity: severityOf(rule), Message: msg, Pos: pos,
		Contract: d.contract, Fields: fields, Old: oldV, New: newV,
	})
	return &d.out[len(d.out)-1]
}

// removed records a removal, positioned at head, the element of head that
// held the removed one, and remembering base, where it was. Without a place
// in head it is positioned in base.
func (d *differ) removed(rule string, head, base mesh.Pos, fields []string, oldV, msg string) *Change {
	if head.Line == 0 {
		c := d.add(rule, base, fields, oldV, "", msg)
		c.InBase = true
		return c
	}
	c := d.add(rule, head, fields, oldV, "", msg)
	c.BasePos = base
	return c
}

// at returns the position of the first of keys present in l.
func at(l mesh.Locs, fallback mesh.Pos, keys ...string) mesh.Pos {
	for _, k := range keys {
		if p, ok := l[k]; ok {
			return p
		}
	}
	return fallback
}

// Contracts compares two versions of one contract: its models and fields,
// quality rules and service levels, then its version.
func Contracts(base, head *mesh.Contract) []Change {
	cs, _ := diffContract(base, head)
	Sort(cs)
	return cs
}

// diffContract returns the unsorted changes and the version verdict.
func diffContract(base, head *mesh.Contract) ([]Change, Version) {
	d := &differ{contract: head.File}
	if base.Format == head.Format && base.SpecVersion != head.SpecVersion && base.SpecVersion != "" && head.SpecVersion != "" {
		d.add(RuleSpecVersionChanged, at(head.Locs, head.Pos, "apiVersion", "dataContractSpecification"), nil, base.SpecVersion, head.SpecVersion,
			fmt.Sprintf("contract is now written in %s instead of %s; what only changed spelling between the two is compared by meaning", head.SpecVersion, base.SpecVersion))
	}
	if !base.Deprecated && head.Deprecated {
		d.add(RuleContractDeprecated, at(head.Locs, head.Pos, "deprecated"), nil, "false", "true",
			"contract is now deprecated; consumers should plan their migration")
	}
	d.servers(base, head)
	d.models(base, head)
	d.quality("", "contract", base.Quality, head.Quality, at(head.Locs, head.Pos, "quality"))
	d.sla("contract", base.ServiceLevels, head.ServiceLevels, head.Pos)
	if base.Owner != head.Owner {
		d.add(RuleContractOwnerChanged, at(head.Locs, head.Pos, "info.owner", "owner", "team"), nil, base.Owner, head.Owner,
			fmt.Sprintf("contract owner changed from %s to %s; consumers should know whom to ask now", quote(base.Owner), quote(head.Owner)))
	}
	if base.Status != head.Status {
		d.add(RuleContractStatusChanged, at(head.Locs, head.Pos, "info.status", "status"), nil, base.Status, head.Status,
			fmt.Sprintf("contract status changed from %s to %s", quote(base.Status), quote(head.Status)))
	}
	v := d.version(base, head)
	return d.out, v
}

func (d *differ) models(base, head *mesh.Contract) {
	for _, bm := range base.Models {
		hm := head.Model(bm.Name)
		if hm == nil {
			d.removed(RuleModelRemoved, at(head.Locs, head.Pos, "schema", "models"), bm.Pos, subtreePaths(bm.Name, false, bm.Fields, nil), bm.Name,
				fmt.Sprintf("model %s was removed; every consumer reading it breaks: keep it, or ship the removal as a new major version on a new output port", bm.Name))
			continue
		}
		d.model(bm, hm)
	}
	for _, hm := range head.Models {
		if base.Model(hm.Name) == nil {
			d.add(RuleModelAdded, hm.Pos, nil, "", hm.Name, fmt.Sprintf("model %s was added", hm.Name))
		}
	}
}

func (d *differ) model(bm, hm *mesh.Model) {
	if bm.LogicalType != hm.LogicalType && bm.LogicalType != "" && hm.LogicalType != "" {
		d.add(RuleModelLogicalTypeChanged, at(hm.Locs, hm.Pos, "logicalType"), subtreePaths(hm.Name, false, hm.Fields, nil), bm.LogicalType, hm.LogicalType,
			fmt.Sprintf("model %s changed logical type from %s to %s; readers bound to the old shape break: keep it or ship a new major version on a new output port", hm.Name, bm.LogicalType, hm.LogicalType))
	}
	if !bm.Deprecated && hm.Deprecated {
		d.add(RuleContractDeprecated, at(hm.Locs, hm.Pos, "deprecated"), subtreePaths(hm.Name, false, hm.Fields, nil), "false", "true",
			fmt.Sprintf("model %s is now deprecated; consumers reading it should plan their migration", hm.Name))
	}
	d.relationships(hm, bm.Relationships, hm.Relationships)
	switch {
	case bm.Type == hm.Type:
	case bm.Type != "" && hm.Type != "" && strings.EqualFold(bm.Type, hm.Type):
	case bm.Type != "" && hm.Type != "":
		d.add(RuleModelTypeChanged, at(hm.Locs, hm.Pos, "physicalType", "type"), subtreePaths(hm.Name, false, hm.Fields, nil), bm.Type, hm.Type,
			fmt.Sprintf("model %s changed type from %s to %s; readers bound to a %s break: keep the type or ship a new major version on a new output port", hm.Name, bm.Type, hm.Type, bm.Type))
	default:
		d.add(RuleModelTypeDeclaration, at(hm.Locs, hm.Pos, "physicalType", "type"), nil, bm.Type, hm.Type,
			fmt.Sprintf("model %s type declaration changed from %s to %s", hm.Name, quote(bm.Type), quote(hm.Type)))
	}
	if bm.Description != hm.Description {
		d.add(RuleDescriptionChanged, at(hm.Locs, hm.Pos, "description"), nil, bm.Description, hm.Description,
			fmt.Sprintf("description of model %s changed", hm.Name))
	}
	d.quality("", "model "+hm.Name, bm.Quality, hm.Quality, at(hm.Locs, hm.Pos, "quality"))
	d.fields(hm.Name, bm.Fields, hm.Fields, at(hm.Locs, hm.Pos, "properties", "fields"))
}

// fields compares two sibling lists of fields under path prefix; parent is
// where head holds the list (a removal is annotated there).
func (d *differ) fields(prefix string, base, head []*mesh.Field, parent mesh.Pos) {
	var gone, added []*mesh.Field
	find := fieldFinder(head)
	for _, bf := range base {
		if hf := find(bf.Name); hf != nil {
			d.aliased(prefix, bf, hf)
		} else if hf := byPhysicalName(head, bf); hf != nil {
			d.logicalRename(prefix, bf, hf)
		} else {
			gone = append(gone, bf)
		}
	}
	if len(gone) > 0 || len(head) != len(base) {
		findBase := fieldFinder(base)
		for _, hf := range head {
			if findBase(hf.Name) == nil && byPhysicalName(base, hf) == nil {
				added = append(added, hf)
			}
		}
	}
	renamed := matchRenames(gone, added)
	for i, bf := range gone {
		path := prefix + "." + bf.Name
		fields := subtreePaths(path, true, bf.Fields, bf.Items)
		if to := renamed[i]; to != nil {
			// A likely rename is annotated on the new name.
			c := d.removed(RuleFieldRemoved, to.Pos, bf.Pos, fields, bf.Name,
				fmt.Sprintf("field %s was removed and is likely renamed to %s; a rename breaks every consumer reading the old name: keep %s (deprecate it first) or ship a new major version on a new output port", path, to.Name, bf.Name))
			c.RenamedTo = to.Name
			continue
		}
		d.removed(RuleFieldRemoved, parent, bf.Pos, fields, bf.Name,
			fmt.Sprintf("field %s was removed; consumers reading it break: keep it (deprecate it first) or ship a new major version on a new output port", path))
	}
	for _, hf := range added {
		if slices.Contains(renamed, hf) {
			continue // reported with its removed counterpart
		}
		path := prefix + "." + hf.Name
		if hf.Required {
			d.add(RuleFieldAddedRequired, hf.Pos, []string{path}, "", hf.Name,
				fmt.Sprintf("required field %s was added; readers are unaffected, the producer must fill it in every row", path))
		} else {
			d.add(RuleFieldAddedOptional, hf.Pos, []string{path}, "", hf.Name,
				fmt.Sprintf("optional field %s was added", path))
		}
	}
}

// byPhysicalName finds the field of fs stored in the same physical column
// as f (ODCS physicalName), when f's logical name is not among them.
func byPhysicalName(fs []*mesh.Field, f *mesh.Field) *mesh.Field {
	if f.PhysicalName == "" {
		return nil
	}
	for _, o := range fs {
		if o.PhysicalName == f.PhysicalName && o.Name != f.Name {
			if slices.ContainsFunc(fs, func(x *mesh.Field) bool { return x.Name == f.Name }) {
				return nil // f's own name is still there: not a rename
			}
			return o
		}
	}
	return nil
}

// aliased compares a field present in both versions. Consumers may name a
// field by its logical name or by its physical column: changes to it list
// both paths, so either kind of consumer is found.
func (d *differ) aliased(prefix string, bf, hf *mesh.Field) {
	path := prefix + "." + bf.Name
	n := len(d.out)
	d.field(path, "", bf, hf)
	if hf.PhysicalName != "" && hf.PhysicalName != hf.Name {
		d.alias(n, path, prefix+"."+hf.PhysicalName)
	}
}

// alias adds, to every change from index n on, the path phys beside each
// field path at or under path.
func (d *differ) alias(n int, path, phys string) {
	for i := n; i < len(d.out); i++ {
		fs := d.out[i].Fields
		for _, f := range fs {
			if f == path || strings.HasPrefix(f, path+".") {
				if a := phys + strings.TrimPrefix(f, path); !slices.Contains(d.out[i].Fields, a) {
					d.out[i].Fields = append(d.out[i].Fields, a)
				}
			}
		}
	}
}

// logicalRename reports a field whose logical name changed while its
// physical column stayed: consumers reading the column are unaffected, those
// reading the logical name (an API, a semantic layer) break.
func (d *differ) logicalRename(prefix string, bf, hf *mesh.Field) {
	path := prefix + "." + bf.Name
	c := d.add(RuleFieldRemoved, at(hf.Locs, hf.Pos, "name"), []string{path}, bf.Name, hf.Name,
		fmt.Sprintf("field %s was renamed to %s; its physical column %s is unchanged, so consumers reading the column are unaffected, but consumers reading the logical name %s break: keep the name or ship a new major version on a new output port", path, hf.Name, hf.PhysicalName, bf.Name))
	c.RenamedTo = hf.Name
	n := len(d.out)
	d.field(prefix+"."+hf.Name, "", bf, hf)
	d.alias(n, prefix+"."+hf.Name, prefix+"."+hf.PhysicalName)
}

// fieldFinder looks fields up by name. Versions of a contract mostly keep
// their field order, so the lookup tries the position after the previous
// hit first; wide tables fall back to a map, narrow ones to a scan.
func fieldFinder(fs []*mesh.Field) func(string) *mesh.Field {
	next := 0
	if len(fs) <= 32 {
		return func(name string) *mesh.Field {
			if next < len(fs) && fs[next].Name == name {
				next++
				return fs[next-1]
			}
			for i, f := range fs {
				if f.Name == name {
					next = i + 1
					return f
				}
			}
			return nil
		}
	}
	var m map[string]*mesh.Field
	return func(name string) *mesh.Field {
		if next < len(fs) && fs[next].Name == name {
			next++
			return fs[next-1]
		}
		if m == nil {
			m = make(map[string]*mesh.Field, len(fs))
			for _, f := range fs {
				if _, dup := m[f.Name]; !dup {
					m[f.Name] = f
				}
			}
		}
		return m[name]
	}
}

// matchRenames pairs each removed field with an added field of the same
// shape (type, constraints, classification, children), in order. The result
// is indexed like gone; nil where no candidate exists.
func matchRenames(gone, added []*mesh.Field) []*mesh.Field {
	out := make([]*mesh.Field, len(gone))
	if len(gone) == 0 || len(added) == 0 {
		return out
	}
	sigs := make([]string, len(added))
	for i, a := range added {
		sigs[i] = signature(a)
	}
	used := make([]bool, len(added))
	for i, g := range gone {
		s := signature(g)
		for j := range added {
			if !used[j] && sigs[j] == s {
				used[j], out[i] = true, added[j]
				break
			}
		}
	}
	return out
}

// signature renders everything about a field except its name, description
// and position.
func signature(f *mesh.Field) string {
	var b strings.Builder
	writeSignature(&b, f)
	return b.String()
}

func writeSignature(b *strings.Builder, f *mesh.Field) {
	fmt.Fprintf(b, "%s|%s|%s|%t%t%t|%q|%s|%t|%s|%s|%s|", strings.ToLower(f.Type), strings.ToLower(f.PhysicalType), f.Format,
		f.Required, f.Unique, f.PrimaryKey, f.Enum, f.Pattern, f.PII, f.Classification, f.References, f.Ref)
	for _, p := range [...]*float64{f.MinLength, f.MaxLength, f.Minimum, f.Maximum, f.ExclusiveMinimum, f.ExclusiveMaximum} {
		if p != nil {
			b.WriteString(strconv.FormatFloat(*p, 'g', -1, 64))
		}
		b.WriteByte(',')
	}
	for _, c := range f.Fields {
		b.WriteString("{" + c.Name + ":")
		writeSignature(b, c)
		b.WriteString("}")
	}
	if f.Items != nil {
		b.WriteString("[")
		writeSignature(b, f.Items)
		b.WriteString("]")
	}
}

// subtreePaths is path and every descendant's path (items are transparent).
// A model's own name is not a field path, so withSelf is false for models.
func subtreePaths(path string, withSelf bool, fs []*mesh.Field, items *mesh.Field) []string {
	var out []string
	if withSelf {
		out = append(out, path)
	}
	var walk func(prefix string, fs []*mesh.Field, items *mesh.Field)
	walk = func(prefix string, fs []*mesh.Field, items *mesh.Field) {
		for _, f := range fs {
			p := prefix + "." + f.Name
			out = append(out, p)
			walk(p, f.Fields, f.Items)
		}
		if items != nil {
			walk(prefix, items.Fields, items.Items)
		}
	}
	walk(path, fs, items)
	return out
}

// field compares one field present in both versions.
// elem is "" for the field itself and "items " for the element schema of an
// array, which shares the array's path.
func (d *differ) field(path, elem string, bf, hf *mesh.Field) {
	d.fieldType(path, elem+"type", bf.Type, hf.Type, hf, "type", "logicalType")
	d.fieldType(path, elem+"physical type", bf.PhysicalType, hf.PhysicalType, hf, "physicalType")
	d.format(path, bf, hf)
	d.flags(path, bf, hf)
	d.enum(path, bf, hf)
	d.pattern(path, bf, hf)
	d.bounds(path, bf, hf)
	d.classification(path, bf, hf)
	if !bf.Deprecated && hf.Deprecated {
		d.add(RuleFieldDeprecated, at(hf.Locs, hf.Pos, "deprecated"), []string{path}, "false", "true",
			fmt.Sprintf("field %s is now deprecated; consumers reading it should plan to stop", path))
	}
	for _, r := range [...]struct{ what, o, n, key string }{
		{"references", bf.References, hf.References, "references"},
		{"$ref", bf.Ref, hf.Ref, "$ref"},
	} {
		if r.o != r.n {
			d.add(RuleFieldReferencesChanged, at(hf.Locs, hf.Pos, r.key), []string{path}, r.o, r.n,
				fmt.Sprintf("%s of field %s changed from %s to %s; review joins and lookups built on it", r.what, path, quote(r.o), quote(r.n)))
		}
	}
	if bf.Description != hf.Description {
		d.add(RuleDescriptionChanged, at(hf.Locs, hf.Pos, "description"), []string{path}, bf.Description, hf.Description,
			fmt.Sprintf("description of field %s changed", path))
	}
	d.quality(path, "field "+path, bf.Quality, hf.Quality, at(hf.Locs, hf.Pos, "quality"))
	d.fields(path, bf.Fields, hf.Fields, at(hf.Locs, hf.Pos, "properties", "fields", "map"))
	switch {
	case bf.Items != nil && hf.Items != nil:
		d.field(path, elem+"items ", bf.Items, hf.Items)
	case bf.Items != nil:
		d.field(path, elem+"items ", bf.Items, &mesh.Field{Pos: at(hf.Locs, hf.Pos, "items")})
	case hf.Items != nil:
		d.field(path, elem+"items ", &mesh.Field{}, hf.Items)
	}
}

func (d *differ) fieldType(path string, what, o, n string, hf *mesh.Field, keys ...string) {
	if o == n {
		return
	}
	pos := at(hf.Locs, hf.Pos, keys...)
	switch {
	case o == "":
		d.add(RuleFieldTypeAdded, pos, []string{path}, o, n, fmt.Sprintf("field %s now declares %s %s", path, what, n))
		return
	case n == "":
		d.add(RuleFieldTypeRemoved, pos, []string{path}, o, n,
			fmt.Sprintf("field %s no longer declares its %s (was %s); consumers can no longer rely on it: restore it or ship a new major version on a new output port", path, what, o))
		return
	}
	switch compareTypes(o, n) {
	case typeSame:
	case typeRespelled:
		d.add(RuleFieldTypeRespelled, pos, []string{path}, o, n, fmt.Sprintf("field %s %s is now spelled %s instead of %s (same meaning)", path, what, n, o))
	case typeWidened:
		d.add(RuleFieldTypeWidened, pos, []string{path}, o, n, fmt.Sprintf("field %s %s widened from %s to %s; readers using %s should promote it", path, what, o, n, o))
	case typeReinterpreted:
		d.add(RuleFieldTypeReinterpreted, pos, []string{path}, o, n,
			fmt.Sprintf("field %s %s changed from %s to %s; values still convert but their meaning shifts (time part or time zone): tell consumers before they rely on it", path, what, o, n))
	case typeNarrowed:
		d.add(RuleFieldTypeNarrowed, pos, []string{path}, o, n,
			fmt.Sprintf("field %s %s narrowed from %s to %s; values consumers accept today may not fit: keep %s or ship a new major version on a new output port", path, what, o, n, o))
	default:
		d.add(RuleFieldTypeChanged, pos, []string{path}, o, n,
			fmt.Sprintf("field %s %s changed from %s to %s; readers bound to %s break: keep it or ship a new major version on a new output port", path, what, o, n, o))
	}
}

func (d *differ) format(path string, bf, hf *mesh.Field) {
	o, n := bf.Format, hf.Format
	pos := at(hf.Locs, hf.Pos, "format", "logicalTypeOptions.format")
	switch {
	case o == n:
	case o == "":
		d.add(RuleConstraintTightened, pos, []string{path}, o, n, fmt.Sprintf("field %s now promises format %s", path, n))
	case n == "":
		d.add(RuleConstraintRelaxed, pos, []string{path}, o, n,
			fmt.Sprintf("field %s no longer promises format %s; consumers parsing it as %s may fail: keep the format or ship a new major version on a new output port", path, o, o))
	default:
		d.add(RuleFieldFormatChanged, pos, []string{path}, o, n,
			fmt.Sprintf("field %s format changed from %s to %s; consumers parsing %s break: keep it or ship a new major version on a new output port", path, o, n, o))
	}
}

func (d *differ) flags(path string, bf, hf *mesh.Field) {
	if bf.Required && !hf.Required {
		d.add(RuleRequiredRelaxed, at(hf.Locs, hf.Pos, "required"), []string{path}, "true", "false",
			fmt.Sprintf("field %s is no longer required; consumers relied on it being non-null: keep it required or ship a new major version on a new output port", path))
	}
	if !bf.Required && hf.Required {
		d.add(RuleRequiredTightened, at(hf.Locs, hf.Pos, "required"), []string{path}, "false", "true",
			fmt.Sprintf("field %s is now required; readers are safe, but rows written before may still hold nulls: backfill them", path))
	}
	if bf.Unique && !hf.Unique {
		d.add(RuleUniqueRelaxed, at(hf.Locs, hf.Pos, "unique"), []string{path}, "true", "false",
			fmt.Sprintf("field %s is no longer unique; consumers joining or keying on it may duplicate rows: keep it unique or ship a new major version on a new output port", path))
	}
	if !bf.Unique && hf.Unique {
		d.add(RuleUniqueTightened, at(hf.Locs, hf.Pos, "unique"), []string{path}, "false", "true", fmt.Sprintf("field %s is now unique", path))
	}
	if bf.PrimaryKey && !hf.PrimaryKey {
		d.add(RulePrimaryKeyRemoved, at(hf.Locs, hf.Pos, "primaryKey", "primary_key"), []string{path}, "true", "false",
			fmt.Sprintf("field %s is no longer part of the primary key; consumers merging or upserting on it should review their keys", path))
	}
	if !bf.PrimaryKey && hf.PrimaryKey {
		d.add(RulePrimaryKeyAdded, at(hf.Locs, hf.Pos, "primaryKey", "primary_key"), []string{path}, "false", "true",
			fmt.Sprintf("field %s is now part of the primary key", path))
	}
}

func (d *differ) enum(path string, bf, hf *mesh.Field) {
	if slices.Equal(bf.Enum, hf.Enum) {
		return
	}
	pos := at(hf.Locs, hf.Pos, "enum", "logicalTypeOptions.enum")
	oldS, newS := fmt.Sprint(bf.Enum), fmt.Sprint(hf.Enum)
	switch {
	case len(bf.Enum) == 0:
		d.add(RuleConstraintTightened, pos, []string{path}, "", newS, fmt.Sprintf("field %s now restricts values to %s", path, newS))
		return
	case len(hf.Enum) == 0:
		d.add(RuleConstraintRelaxed, pos, []string{path}, oldS, "",
			fmt.Sprintf("field %s no longer restricts values to %s; consumers mapping each value may meet unknown ones: keep the enum or ship a new major version on a new output port", path, oldS))
		return
	}
	var gone, added []string
	for _, v := range bf.Enum {
		if !slices.Contains(hf.Enum, v) {
			gone = append(gone, v)
		}
	}
	for _, v := range hf.Enum {
		if !slices.Contains(bf.Enum, v) {
			added = append(added, v)
		}
	}
	if len(gone) > 0 {
		d.add(RuleEnumValueRemoved, pos, []string{path}, oldS, newS,
			fmt.Sprintf("field %s no longer allows %s (was %s, now %s); consumers filtering or mapping on it silently lose rows: keep the values or ship a new major version on a new output port", path, strings.Join(gone, ", "), oldS, newS))
	}
	if len(added) > 0 {
		d.add(RuleEnumValueAdded, pos, []string{path}, oldS, newS,
			fmt.Sprintf("field %s now also allows %s (was %s, now %s); consumers with exhaustive mappings must handle the new values", path, strings.Join(added, ", "), oldS, newS))
	}
}

func (d *differ) pattern(path string, bf, hf *mesh.Field) {
	o, n := bf.Pattern, hf.Pattern
	pos := at(hf.Locs, hf.Pos, "pattern", "logicalTypeOptions.pattern")
	switch {
	case o == n:
	case o == "":
		d.add(RuleConstraintTightened, pos, []string{path}, o, n, fmt.Sprintf("field %s now promises pattern %s", path, n))
	case n == "":
		d.add(RuleConstraintRelaxed, pos, []string{path}, o, n,
			fmt.Sprintf("field %s no longer promises pattern %s; consumers parsing it may fail: keep the pattern or ship a new major version on a new output port", path, o))
	default:
		d.add(RuleFieldPatternChanged, pos, []string{path}, o, n,
			fmt.Sprintf("field %s pattern changed from %s to %s; consumers validating or parsing the old pattern may break: keep it or ship a new major version on a new output port", path, o, n))
	}
}

// bounds compares the six numeric limits. A lower bound going up or an upper
// bound going down is a tightening; the opposite, or a bound dropped, is a
// relaxation.
func (d *differ) bounds(path string, bf, hf *mesh.Field) {
	for _, b := range [...]struct {
		key     string
		o, n    *float64
		isUpper bool
	}{
		{"minLength", bf.MinLength, hf.MinLength, false},
		{"maxLength", bf.MaxLength, hf.MaxLength, true},
		{"minimum", bf.Minimum, hf.Minimum, false},
		{"maximum", bf.Maximum, hf.Maximum, true},
		{"exclusiveMinimum", bf.ExclusiveMinimum, hf.ExclusiveMinimum, false},
		{"exclusiveMaximum", bf.ExclusiveMaximum, hf.ExclusiveMaximum, true},
	} {
		if b.o == nil && b.n == nil || b.o != nil && b.n != nil && *b.o == *b.n {
			continue
		}
		o, n := num(b.o), num(b.n)
		pos := at(hf.Locs, hf.Pos, b.key, "logicalTypeOptions."+b.key)
		switch {
		case b.o == nil:
			d.add(RuleConstraintTightened, pos, []string{path}, o, n, fmt.Sprintf("field %s now promises %s %s", path, b.key, n))
		case b.n == nil:
			d.add(RuleConstraintRelaxed, pos, []string{path}, o, n,
				fmt.Sprintf("field %s no longer promises %s %s; values outside it may arrive: keep the bound or ship a new major version on a new output port", path, b.key, o))
		case (*b.n > *b.o) == b.isUpper:
			d.add(RuleConstraintRelaxed, pos, []string{path}, o, n,
				fmt.Sprintf("field %s %s loosened from %s to %s; values consumers do not expect may arrive: keep it or ship a new major version on a new output port", path, b.key, o, n))
		default:
			d.add(RuleConstraintTightened, pos, []string{path}, o, n, fmt.Sprintf("field %s %s tightened from %s to %s", path, b.key, o, n))
		}
	}
}

func num(p *float64) string {
	if p == nil {
		return ""
	}
	return strconv.FormatFloat(*p, 'g', -1, 64)
}

func (d *differ) classification(path string, bf, hf *mesh.Field) {
	pos := at(hf.Locs, hf.Pos, "pii", "customProperties")
	if !bf.PII && hf.PII {
		d.add(RuleFieldPIIAdded, pos, []string{path}, "false", "true",
			fmt.Sprintf("field %s is now declared personal data; no reader breaks, but confirm each consumer's clearance to process it", path))
	}
	if bf.PII && !hf.PII {
		d.add(RuleFieldPIIRemoved, pos, []string{path}, "true", "false",
			fmt.Sprintf("field %s is no longer marked personal data; have governance confirm the declassification", path))
	}
	o, n := strings.TrimSpace(bf.Classification), strings.TrimSpace(hf.Classification)
	if strings.EqualFold(o, n) {
		return
	}
	pos = at(hf.Locs, hf.Pos, "classification")
	ol, oknown := classLevel(o)
	nl, nknown := classLevel(n)
	if n == "" || oknown && nknown && nl < ol {
		d.add(RuleFieldClassificationLowered, pos, []string{path}, o, n,
			fmt.Sprintf("field %s classification lowered from %s to %s; have governance confirm the declassification", path, o, quote(n)))
		return
	}
	d.add(RuleFieldClassificationChanged, pos, []string{path}, o, n,
		fmt.Sprintf("field %s classification changed from %s to %s; consumers may not be cleared for %s: confirm each consumer's clearance or publish it on a new output port", path, quote(o), n, n))
}

// classLevel ranks the common classification names. Others are unknown:
// a change to or from them cannot be ordered and is treated as a raise.
func classLevel(c string) (int, bool) {
	switch strings.ToLower(c) {
	case "", "public", "unclassified", "none":
		return 0, true
	case "internal":
		return 1, true
	case "confidential", "sensitive":
		return 2, true
	case "restricted", "highly-confidential", "highly_confidential", "secret":
		return 3, true
	}
	return 0, false
}

// quality compares quality rules, matched by Key (their name, else a
// canonical form). Unnamed rules left unmatched on both sides are paired in
// order and reported as changed, since an edited unnamed rule has a new
// canonical key.
func (d *differ) quality(path string, scope string, base, head []mesh.QualityRule, headPos mesh.Pos) {
	if len(base) == 0 && len(head) == 0 {
		return
	}
	var fields []string
	if path != "" {
		fields = []string{path}
	}
	var gone, added []mesh.QualityRule
	for _, b := range base {
		if !slices.ContainsFunc(head, func(h mesh.QualityRule) bool { return h.Key == b.Key }) {
			gone = append(gone, b)
		}
	}
	for _, h := range head {
		i := slices.IndexFunc(base, func(b mesh.QualityRule) bool { return b.Key == h.Key })
		if i < 0 {
			added = append(added, h)
			continue
		}
		if b := base[i]; b.Canonical != h.Canonical {
			d.add(RuleQualityChanged, h.Pos, fields, b.Canonical, h.Canonical,
				fmt.Sprintf("quality rule %s of %s changed; check that it still guarantees what consumers rely on", ruleName(h), scope))
		}
	}
	for len(gone) > 0 && len(added) > 0 && gone[0].Name == "" && added[0].Name == "" {
		b, h := gone[0], added[0]
		gone, added = gone[1:], added[1:]
		to := ""
		if ruleName(b) != ruleName(h) {
			to = " to " + ruleName(h)
		}
		d.add(RuleQualityChanged, h.Pos, fields, b.Canonical, h.Canonical,
			fmt.Sprintf("quality rule %s of %s changed%s; check that it still guarantees what consumers rely on", ruleName(b), scope, to))
	}
	for _, b := range gone {
		d.removed(RuleQualityRemoved, headPos, b.Pos, fields, b.Canonical,
			fmt.Sprintf("quality rule %s of %s was removed; consumers lose that guarantee: keep it or tell them", ruleName(b), scope))
	}
	for _, h := range added {
		d.add(RuleQualityAdded, h.Pos, fields, "", h.Canonical, fmt.Sprintf("quality rule %s was added to %s", ruleName(h), scope))
	}
}

// relationships compares the foreign keys of one model, matched by the
// fields they start from.
func (d *differ) relationships(hm *mesh.Model, base, head []mesh.Relationship) {
	key := func(l []string) string { return strings.Join(l, ",") }
	find := func(l []mesh.Relationship, from string) *mesh.Relationship {
		for i := range l {
			if key(l[i].From) == from {
				return &l[i]
			}
		}
		return nil
	}
	for _, b := range base {
		from := key(b.From)
		h := find(head, from)
		switch {
		case h == nil:
			// The relationship is gone from head: the finding sits on the
			// model (or its relationships list) that no longer holds it.
			d.add(RuleRelationshipRemoved, at(hm.Locs, hm.Pos, "relationships"), slices.Clone(b.From), key(b.To), "",
				fmt.Sprintf("relationship %s -> %s of model %s was removed; consumers joining on it lose the promise that every value resolves: keep it or ship a new major version on a new output port", from, key(b.To), hm.Name))
		case key(h.To) != key(b.To) || h.Type != b.Type:
			d.add(RuleRelationshipChanged, h.Pos, slices.Clone(b.From), key(b.To), key(h.To),
				fmt.Sprintf("relationship of %s now points at %s instead of %s; joins built on it return other rows: keep it or ship a new major version on a new output port", from, key(h.To), key(b.To)))
		}
	}
	for _, h := range head {
		if find(base, key(h.From)) == nil {
			d.add(RuleRelationshipAdded, h.Pos, slices.Clone(h.From), "", key(h.To),
				fmt.Sprintf("relationship %s -> %s was declared", key(h.From), key(h.To)))
		}
	}
}

// servers compares where the contract's data lives, matched by server
// name, else by position.
func (d *differ) servers(base, head *mesh.Contract) {
	find := func(l []mesh.Server, i int, name string) *mesh.Server {
		for j := range l {
			if name != "" && l[j].Name == name {
				return &l[j]
			}
		}
		if name == "" && i < len(l) && l[i].Name == "" {
			return &l[i]
		}
		return nil
	}
	label := func(s mesh.Server) string {
		if s.Name != "" {
			return s.Name
		}
		return quote(s.Type)
	}
	for i, b := range base.Servers {
		h := find(head.Servers, i, b.Name)
		switch {
		case h == nil:
			d.add(RuleServerRemoved, at(head.Locs, head.Pos, "servers"), nil, b.Location, "",
				fmt.Sprintf("server %s (%s) was removed from the contract; consumers reading from it break: keep it until no consumer remains", label(b), b.Location))
		case h.Type != b.Type || h.Location != b.Location:
			d.add(RuleServerChanged, h.Pos, nil, strings.TrimSpace(b.Type+" "+b.Location), strings.TrimSpace(h.Type+" "+h.Location),
				fmt.Sprintf("server %s moved from %s to %s; consumers still read from the old place: keep the old one alive and publish the new one on a new output port", label(*h), strings.TrimSpace(b.Type+" "+b.Location), strings.TrimSpace(h.Type+" "+h.Location)))
		}
	}
	for i, h := range head.Servers {
		if find(base.Servers, i, h.Name) == nil {
			d.add(RuleServerAdded, h.Pos, nil, "", h.Location, fmt.Sprintf("server %s (%s) was added", label(h), h.Location))
		}
	}
}

func ruleName(q mesh.QualityRule) string {
	switch {
	case q.Name != "":
		return q.Name
	case q.Description != "":
		return strconv.Quote(q.Description)
	case q.Type != "":
		return "of type " + q.Type
	}
	return q.Key
}

func quote(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
