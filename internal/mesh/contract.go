package mesh

import (
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// ReadContract parses a data contract:
//
//   - Data Contract Specification 0.9.x, 1.1.0, 1.2.x (FormatDCS): models and
//     their fields as mappings, nested fields/items, $ref into definitions
//     (the definition supplies every attribute the field does not write),
//     quality, servicelevels;
//   - Open Data Contract Standard v3.0.x/v3.1.x (FormatODCS): schema[] with
//     properties[] (logicalType, physicalType, logicalTypeOptions, nested
//     properties/items), quality[], slaProperties[], team.
//
// Field types are lower-cased. Problems are positioned on the offending key;
// the Contract is nil only when the file is not YAML or not a mapping.
func ReadContract(path string, src []byte) (*Contract, *Document, []Problem) {
	return readContract(path, src, ParseYAML)
}

// parser turns a file's bytes into a Document: ParseYAML, or parseStored
// for the registry's stored documents.
type parser func(path string, src []byte) (*Document, error)

func readContract(path string, src []byte, parse parser) (*Contract, *Document, []Problem) {
	doc, err := parse(path, src)
	if err != nil {
		return nil, nil, []Problem{asProblem(path, err)}
	}
	r := &reader{file: path}
	o, ok := r.root(doc)
	if !ok {
		r.add(CodeWrongType, doc.Index.Root(), "a data contract must be a mapping, not %s", kindOf(doc.Value))
		return nil, doc, r.probs
	}
	c := &Contract{File: path, Pos: o.pos(), Locs: o.locs(nil, "")}
	switch {
	case o.m["dataContractSpecification"] != nil:
		readDCS(o, c)
	case o.m["kind"] == "DataContract":
		readODCS(o, c)
	default:
		msg := "not a data contract: expected the Data Contract Specification (dataContractSpecification: 1.1.0) or ODCS (apiVersion: v3.1.0, kind: DataContract)"
		if k := o.m["kind"]; k == "DataProduct" {
			msg = "this is a data product descriptor (kind: DataProduct), not a data contract; expected the Data Contract Specification (dataContractSpecification: 1.1.0) or ODCS (apiVersion: v3.1.0, kind: DataContract)"
		}
		r.add(CodeUnknownFormat, o.keyPos("kind"), "%s", msg)
	}
	return c, doc, r.probs
}

var dcsVersionRE = regexp.MustCompile(`^(0\.9\.[0-9]+|1\.[12]\.[0-9]+)$`)

func readDCS(o obj, c *Contract) {
	c.Format = FormatDCS
	c.SpecVersion = o.scalarStr("dataContractSpecification")
	switch {
	case dcsVersionRE.MatchString(c.SpecVersion):
	case newerThan(c.SpecVersion, "1.2.1"):
		o.r.notice(CodeNewerVersion, o.keyPos("dataContractSpecification"),
			"dataContractSpecification %q is newer than the versions meshbot knows (0.9.x, 1.1.x, 1.2.x); read as 1.2.1", c.SpecVersion)
	default:
		o.r.add(CodeUnsupportedVersion, o.keyPos("dataContractSpecification"),
			"dataContractSpecification %q is not supported; meshbot reads 0.9.x, 1.1.x and 1.2.x", c.SpecVersion)
	}
	c.ID = o.reqStr("id")
	if info, ok := o.reqSub("info"); ok {
		info.locs(c.Locs, "info.")
		c.Title = info.str("title")
		c.Version = info.reqStr("version")
		c.Owner = info.str("owner")
		c.Status = info.str("status")
		if d, ok := info.sub("deprecation"); ok {
			c.Deprecation = readDeprecation(d)
		}
	}
	for _, sv := range o.entries("servers") {
		c.Servers = append(c.Servers, readServer(sv.obj, sv.name))
	}
	d := &dcsDefs{}
	if defs, ok := o.sub("definitions"); ok {
		d.defs = defs
	}
	for _, m := range o.entries("models") {
		model := &Model{Name: m.name, Pos: m.pos(), Locs: m.locs(nil, "")}
		model.Type = m.str("type")
		model.Description = m.str("description")
		for _, f := range m.entries("fields") {
			model.Fields = append(model.Fields, d.field(f))
		}
		model.Quality = readQuality(m.obj, "quality")
		c.Models = append(c.Models, model)
	}
	switch o.m["quality"].(type) {
	case []any:
		c.Quality = readQuality(o, "quality")
	case map[string]any: // DCS 0.9: one SodaCL/montecarlo/great-expectations block
		q, _ := o.sub("quality")
		c.Quality = []QualityRule{qualityRule(q)}
	case nil:
	default:
		o.wrong("quality", "a list", o.m["quality"])
	}
	if sl, ok := o.sub("servicelevels"); ok {
		c.ServiceLevels = readDCSServiceLevels(sl)
	}
}

// dcsDefs resolves $ref '#/definitions/<name>' and guards against cycles.
type dcsDefs struct {
	defs  obj
	stack []string
}

func (d *dcsDefs) field(f namedObj) *Field {
	fl := &Field{Name: f.name, Pos: f.pos(), Locs: f.locs(nil, "")}
	fl.Ref = f.str("$ref")
	if fl.Ref != "" {
		d.applyRef(f.obj, fl.Ref, fl)
	}
	readFieldAttrs(f.obj, fl)
	fl.Required = f.boolean("required")
	fl.Unique = f.boolean("unique")
	fl.PrimaryKey = f.boolean("primaryKey") || f.boolean("primary")
	fl.References = f.str("references")
	fl.Quality = readQuality(f.obj, "quality")
	for _, c := range f.entries("fields") {
		fl.Fields = append(fl.Fields, d.field(c))
	}
	if it, ok := f.sub("items"); ok {
		fl.Items = d.field(namedObj{name: "items", obj: it})
	}
	return fl
}

// readFieldAttrs reads the attributes a DCS field and a definition share.
// Where the field does not write an attribute, what its $ref definition
// said (already in fl) stays.
func readFieldAttrs(o obj, fl *Field) {
	if t := o.str("type"); t != "" || o.has("type") {
		fl.Type = strings.ToLower(t)
	}
	setStr(o, "format", &fl.Format)
	setStr(o, "description", &fl.Description)
	setStr(o, "pattern", &fl.Pattern)
	setStr(o, "classification", &fl.Classification)
	setNum(&fl.MinLength, o.integer("minLength"))
	setNum(&fl.MaxLength, o.integer("maxLength"))
	setNum(&fl.Minimum, o.num("minimum"))
	setNum(&fl.Maximum, o.num("maximum"))
	setNum(&fl.ExclusiveMinimum, o.num("exclusiveMinimum"))
	setNum(&fl.ExclusiveMaximum, o.num("exclusiveMaximum"))
	if o.has("pii") {
		fl.PII = o.boolean("pii")
	}
	if o.has("enum") {
		fl.Enum = enumValues(o, "enum")
	}
}

func setStr(o obj, k string, dst *string) {
	if o.has(k) {
		*dst = o.str(k)
	}
}

func setNum(dst **float64, v *float64) {
	if v != nil {
		*dst = v
	}
}

func enumValues(o obj, k string) []string {
	l, nodes, ok := o.list(k)
	if !ok {
		return nil
	}
	out := make([]string, 0, len(l))
	for i, v := range l {
		s, ok := scalarString(v)
		if !ok || v == nil {
			var n *node
			if i < len(nodes) {
				n = nodes[i]
			}
			o.r.add(CodeWrongType, nodePos(n, o.keyPos(k)), "%s[%d] must be a scalar, not %s", o.path(k), i, kindOf(v))
			continue
		}
		out = append(out, s)
	}
	return out
}

const defPrefix = "#/definitions/"

// applyRef fills fl from the definition ref names, deepest $ref first so
// that each level overrides what it refers to (and the field overrides all).
func (d *dcsDefs) applyRef(at obj, ref string, fl *Field) {
	if !strings.HasPrefix(ref, defPrefix) {
		return // an external definition (URL or file): nothing to resolve here
	}
	name := strings.TrimPrefix(ref, defPrefix)
	def, ok := d.defs.m[name].(map[string]any)
	if !ok {
		at.r.add(CodeBadRef, at.keyPos("$ref"), "%s %q names no definition in this file", at.path("$ref"), ref)
		return
	}
	if slices.Contains(d.stack, name) {
		at.r.add(CodeRefCycle, at.keyPos("$ref"), "%s %q refers back to itself", at.path("$ref"), ref)
		return
	}
	d.stack = append(d.stack, name)
	defer func() { d.stack = d.stack[:len(d.stack)-1] }()
	do := obj{r: at.r, m: def, n: d.defs.child(name), name: d.defs.path(name)}
	// Attributes inherited from the definition point at the definition:
	// that is where a change to them is made.
	for k, p := range do.locs(nil, "") {
		if _, own := fl.Locs[k]; !own {
			fl.Locs[k] = p
		}
	}
	if r := do.str("$ref"); r != "" {
		d.applyRef(do, r, fl)
	}
	readFieldAttrs(do, fl)
	for _, c := range do.entries("fields") {
		fl.Fields = append(fl.Fields, d.field(c))
	}
	if it, ok := do.sub("items"); ok {
		fl.Items = d.field(namedObj{name: "items", obj: it})
	}
}

func readDCSServiceLevels(o obj) SLA {
	s := SLA{Pos: o.pos(), Locs: Locs{}}
	if f, ok := o.sub("freshness"); ok {
		f.locs(s.Locs, "freshness.")
		s.Locs["freshness"] = o.keyPos("freshness")
		s.Freshness = f.str("threshold")
		s.FreshnessMax = f.duration("threshold", s.Freshness)
	}
	if a, ok := o.sub("availability"); ok {
		a.locs(s.Locs, "availability.")
		s.Locs["availability"] = o.keyPos("availability")
		s.Availability = a.str("percentage")
		s.AvailabilityPct = a.percent("percentage", s.Availability)
	}
	if l, ok := o.sub("latency"); ok {
		l.locs(s.Locs, "latency.")
		s.Locs["latency"] = o.keyPos("latency")
		s.Latency = l.str("threshold")
		l.duration("threshold", s.Latency)
	}
	if r, ok := o.sub("retention"); ok {
		r.locs(s.Locs, "retention.")
		s.Locs["retention"] = o.keyPos("retention")
		s.Retention = r.str("period")
		if r.boolean("unlimited") && s.Retention == "" {
			s.Retention = "unlimited"
		}
	}
	if c, ok := o.sub("completeness"); ok { // not in DCS; some contracts write it anyway
		s.Locs["completeness"] = o.keyPos("completeness")
		s.Completeness = c.scalarStr("threshold")
	}
	return s
}

// readQuality reads a list of quality rules.
func readQuality(o obj, k string) []QualityRule {
	items := o.objects(k)
	if len(items) == 0 {
		return nil
	}
	out := make([]QualityRule, 0, len(items))
	for _, q := range items {
		out = append(out, qualityRule(q))
	}
	return out
}

func qualityRule(q obj) QualityRule {
	r := QualityRule{Pos: q.pos()}
	r.Type = q.str("type")
	r.Name = q.str("name")
	r.Description = q.str("description")
	r.Canonical = canonical(withoutSchedule(normalQuality(q.m)))
	r.Key = r.Name
	if r.Key == "" {
		r.Key = r.Canonical
	}
	return r
}

// qualityMetrics maps ODCS 3.0 library rule names onto the 3.1 metrics
// that replaced them.
var qualityMetrics = map[string]string{
	"nullcheck":      "nullValues",
	"notnull":        "nullValues",
	"countcheck":     "rowCount",
	"rowcount":       "rowCount",
	"duplicatecount": "duplicateValues",
	"uniquecheck":    "duplicateValues",
	"validvalues":    "invalidValues",
}

// zeroByDefault are the metrics a 3.0 rule checked against zero without
// saying so (nullCheck: no nulls); 3.1 writes mustBe: 0.
var zeroByDefault = map[string]bool{"nullValues": true, "duplicateValues": true}

var qualityOperators = []string{"mustBe", "mustNotBe", "mustBeGreaterThan", "mustBeGreaterOrEqualTo",
	"mustBeLessThan", "mustBeLessOrEqualTo", "mustBeBetween", "mustNotBeBetween"}

// normalQuality rewrites an ODCS 3.0 library rule (rule: nullCheck) in its
// 3.1 spelling (metric: nullValues, mustBe: 0), so that moving a contract
// from one version to the other is not a changed rule. Other rules are
// returned as they are.
func normalQuality(m map[string]any) map[string]any {
	rule, isRule := m["rule"].(string)
	metric, _ := m["metric"].(string)
	hasOp := slices.ContainsFunc(qualityOperators, func(op string) bool { return m[op] != nil })
	if !isRule || metric != "" {
		if !zeroByDefault[metric] || hasOp {
			return m
		}
		out := maps.Clone(m)
		out["mustBe"] = int64(0)
		return out
	}
	out := make(map[string]any, len(m)+1)
	for k, v := range m {
		if k != "rule" {
			out[k] = v
		}
	}
	metric, known := qualityMetrics[strings.ToLower(rule)]
	if !known {
		metric = rule
	}
	out["metric"] = metric
	if out["type"] == nil {
		out["type"] = "library" // the 3.0 default for a rule
	}
	if zeroByDefault[metric] && !hasOp {
		out["mustBe"] = int64(0)
	}
	return out
}

// withoutSchedule drops when a rule runs (scheduler, schedule): running it
// at another time changes nothing it guarantees.
func withoutSchedule(m map[string]any) map[string]any {
	if m["scheduler"] == nil && m["schedule"] == nil {
		return m
	}
	out := maps.Clone(m)
	delete(out, "scheduler")
	delete(out, "schedule")
	return out
}

// canonical renders a value with sorted keys, so that two rules written in a
// different key order or style compare equal.
func canonical(v any) string {
	var b strings.Builder
	b.Grow(256) // most rules fit: one allocation rather than one per doubling
	writeCanonical(&b, v)
	return b.String()
}

// writeQuoted writes s quoted as strconv.Quote does, through a buffer on
// the stack rather than a string of its own.
func writeQuoted(b *strings.Builder, s string) {
	var buf [64]byte
	b.Write(strconv.AppendQuote(buf[:0], s))
}

func writeCanonical(b *strings.Builder, v any) {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeQuoted(b, k)
			b.WriteByte(':')
			writeCanonical(b, x[k])
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeCanonical(b, e)
		}
		b.WriteByte(']')
	case string:
		writeQuoted(b, strings.TrimSpace(x))
	case nil:
		b.WriteString("null")
	default:
		s, _ := scalarString(x)
		b.WriteString(s)
	}
}

// odcsKnown are the ODCS versions meshbot has schemas and rules for; a
// later v3 is read with the newest of them and one notice.
var odcsVersionRE = regexp.MustCompile(`^v3\.([0-9]+)\.[0-9]+(-[0-9A-Za-z.-]+)?$`)

const odcsNewestMinor = 2

func readODCS(o obj, c *Contract) {
	c.Format = FormatODCS
	c.SpecVersion = o.reqStr("apiVersion")
	if c.SpecVersion != "" {
		m := odcsVersionRE.FindStringSubmatch(c.SpecVersion)
		minor := -1
		if m != nil {
			minor, _ = strconv.Atoi(m[1])
		}
		switch {
		case minor > odcsNewestMinor:
			o.r.notice(CodeNewerVersion, o.keyPos("apiVersion"),
				"ODCS apiVersion %q is newer than the versions meshbot knows (v3.0.x to v3.%d.x); read as v3.%d.0", c.SpecVersion, odcsNewestMinor, odcsNewestMinor)
		case minor < 0:
			o.r.add(CodeUnsupportedVersion, o.keyPos("apiVersion"), "ODCS apiVersion %q is not supported; meshbot reads v3.0.x to v3.%d.x", c.SpecVersion, odcsNewestMinor)
		}
	}
	o.reqStr("kind")
	c.ID = o.reqStr("id")
	c.Version = o.reqStr("version")
	c.Status = o.reqStr("status")
	c.Title = o.str("name")
	c.Deprecated = o.boolean("deprecated")
	c.Deprecation = customDeprecation(o)
	o.str("domain")
	o.str("dataProduct")
	c.Owner = odcsOwner(o)
	for _, so := range o.objects("servers") {
		name := so.str("server")
		c.Servers = append(c.Servers, readServer(so, name))
	}
	// Early ODCS 3 documents kept v2's top-level type (type: tables) for
	// every schema object; later ones moved it into each object's
	// physicalType. Both say the same.
	defType := strings.TrimSuffix(o.str("type"), "s")
	for _, s := range o.objects("schema") {
		m := odcsModel(s)
		if m.Type == "" && defType != "" {
			m.Type = defType
			if p, ok := c.Locs["type"]; ok {
				m.Locs["physicalType"] = p
			}
		}
		c.Models = append(c.Models, m)
	}
	if o.has("slaProperties") {
		c.ServiceLevels = odcsSLA(o)
	}
}

// serverMeta are server attributes that say nothing about where the data
// is read from.
var serverMeta = map[string]bool{
	"server": true, "type": true, "description": true, "environment": true, "roles": true,
	"customProperties": true, "id": true, "name": true, "tags": true,
}

// readServer reads one server of a contract or a port: its type and, as one
// comparable text, every scalar attribute that addresses the data.
func readServer(so obj, name string) Server {
	sv := Server{Name: name, Type: so.str("type"), Pos: so.pos()}
	keys := make([]string, 0, len(so.m))
	for k, v := range so.m {
		if serverMeta[k] {
			continue
		}
		if _, ok := scalarString(v); ok && v != nil {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		v, _ := scalarString(so.m[k])
		b.WriteString(k + "=" + v)
	}
	sv.Location = b.String()
	return sv
}

func odcsOwner(o obj) string {
	switch o.m["team"].(type) {
	case map[string]any: // v3.1: {name, members}
		t, _ := o.sub("team")
		if n := t.str("name"); n != "" {
			return n
		}
		return ownerMember(t.objects("members"))
	case []any: // v3.0: the members themselves
		return ownerMember(o.objects("team"))
	case nil:
		return ""
	default:
		o.wrong("team", "a mapping or a list", o.m["team"])
		return ""
	}
}

func ownerMember(members []obj) string {
	for _, m := range members {
		if strings.EqualFold(m.str("role"), "owner") {
			return m.str("username")
		}
	}
	return ""
}

func odcsModel(s obj) *Model {
	m := &Model{Pos: s.pos(), Locs: s.locs(nil, "")}
	m.Name = s.reqStr("name")
	// ODCS 3.0 drafts and older exports write the physical type as type;
	// it is one declaration, whichever key holds it.
	m.Type = s.str("physicalType")
	if m.Type == "" {
		m.Type = s.str("type")
		if p, ok := m.Locs["type"]; ok {
			m.Locs["physicalType"] = p
		}
	}
	m.LogicalType = s.str("logicalType")
	m.Description = describe(s, "description")
	m.Deprecated = s.boolean("deprecated")
	seen := map[string]Pos{}
	for _, p := range s.objects("properties") {
		f := odcsField(p, true, m, m.Name)
		dupCheck(p, f, seen)
		m.Fields = append(m.Fields, f)
	}
	m.Quality = readQuality(s, "quality")
	for _, r := range s.objects("relationships") {
		m.Relationships = append(m.Relationships, relationship(r, nil))
	}
	return m
}

// relationship reads an ODCS relationship. At property level from is
// implicit: the property's own path.
func relationship(r obj, from []string) Relationship {
	rel := Relationship{Type: r.str("type"), Pos: r.pos()}
	if rel.Type == "" {
		rel.Type = "foreignKey"
	}
	rel.From = refList(r, "from")
	if len(rel.From) == 0 {
		rel.From = from
	}
	rel.To = refList(r, "to")
	if len(rel.To) == 0 {
		r.missing("to")
	}
	return rel
}

// refList reads a reference or a list of them (composite keys).
func refList(o obj, k string) []string {
	switch v := o.m[k].(type) {
	case string:
		return []string{v}
	case []any:
		out, _ := o.strings(k)
		return out
	case nil:
		return nil
	default:
		o.wrong(k, "a string or a list of strings", v)
		return nil
	}
}

func dupCheck(p obj, f *Field, seen map[string]Pos) {
	if f.Name == "" {
		return
	}
	if first, dup := seen[f.Name]; dup {
		p.r.add(CodeDuplicateName, p.keyPos("name"), "property %q is declared twice (first at line %d)", f.Name, first.Line)
		return
	}
	seen[f.Name] = f.Pos
}

// odcsField reads a property; m collects its relationships, path is its
// parent's dotted path from the model name.
func odcsField(p obj, named bool, m *Model, parent string) *Field {
	f := &Field{Pos: p.pos(), Locs: p.locs(nil, "")}
	if named {
		f.Name = p.reqStr("name")
	} else {
		f.Name = p.str("name")
		if f.Name == "" {
			f.Name = "items"
		}
	}
	path := parent + "." + f.Name
	f.Type = strings.ToLower(p.str("logicalType"))
	f.PhysicalType = p.str("physicalType")
	f.PhysicalName = p.str("physicalName")
	f.Description = p.str("description")
	f.Required = p.boolean("required")
	f.Unique = p.boolean("unique")
	f.PrimaryKey = p.boolean("primaryKey")
	f.Deprecated = p.boolean("deprecated")
	f.Classification = p.str("classification")
	if p.has("enum") {
		f.Enum = odcsEnum(p, "enum")
	}
	if opts, ok := p.sub("logicalTypeOptions"); ok {
		opts.locs(f.Locs, "logicalTypeOptions.")
		f.Pattern = opts.str("pattern")
		f.Format = opts.str("format")
		f.MinLength = opts.integer("minLength")
		f.MaxLength = opts.integer("maxLength")
		// Dates and timestamps bound with strings; only numeric bounds are
		// comparable as numbers.
		f.Minimum = numericOpt(opts, "minimum")
		f.Maximum = numericOpt(opts, "maximum")
		// ODCS 3.0 writes exclusiveMinimum/Maximum as booleans beside
		// minimum/maximum, 3.1 as the bound itself: both are read as the
		// bound, so a move from one spelling to the other is no change.
		f.Minimum, f.ExclusiveMinimum = exclusiveOpt(opts, "exclusiveMinimum", f.Minimum)
		f.Maximum, f.ExclusiveMaximum = exclusiveOpt(opts, "exclusiveMaximum", f.Maximum)
		if opts.has("enum") && f.Enum == nil {
			f.Enum = odcsEnum(opts, "enum")
		}
	}
	for _, cp := range p.objects("customProperties") {
		if strings.EqualFold(cp.scalarStr("property"), "pii") && cp.m["value"] == true {
			f.PII = true
		}
	}
	f.Quality = readQuality(p, "quality")
	for _, r := range p.objects("relationships") {
		m.Relationships = append(m.Relationships, relationship(r, []string{path}))
	}
	seen := map[string]Pos{}
	for _, c := range p.objects("properties") {
		child := odcsField(c, true, m, path)
		dupCheck(c, child, seen)
		f.Fields = append(f.Fields, child)
	}
	if it, ok := p.sub("items"); ok {
		f.Items = odcsField(it, false, m, path)
	}
	// ODCS 3.2 map: the key and the value schema are compared as the two
	// children of the map.
	if mp, ok := p.sub("map"); ok {
		for _, k := range [...]string{"key", "value"} {
			if kv, ok := mp.sub(k); ok {
				c := odcsField(kv, false, m, path)
				c.Name = k
				f.Fields = append(f.Fields, c)
			}
		}
	}
	return f
}

// odcsEnum reads an enum: scalars (3.0, 3.1) or, from 3.2, objects whose
// value is the allowed value (label, description and tags beside it).
func odcsEnum(o obj, k string) []string {
	l, _, ok := o.list(k)
	if !ok {
		return nil
	}
	objects := false
	for _, v := range l {
		if _, isMap := v.(map[string]any); isMap {
			objects = true
			break
		}
	}
	if !objects {
		return enumValues(o, k)
	}
	items := o.objects(k)
	out := make([]string, 0, len(items))
	for _, it := range items {
		if _, present := it.m["value"]; !present {
			it.missing("value")
			continue
		}
		out = append(out, it.scalarStr("value"))
	}
	return out
}

func numericOpt(o obj, k string) *float64 {
	if _, isStr := o.m[k].(string); isStr {
		return nil
	}
	return o.num(k)
}

// exclusiveOpt reads exclusiveMinimum/Maximum in either ODCS spelling and
// returns the inclusive and the exclusive bound.
func exclusiveOpt(o obj, k string, inclusive *float64) (*float64, *float64) {
	switch v := o.m[k].(type) {
	case bool:
		if v && inclusive != nil {
			return nil, inclusive
		}
		return inclusive, nil
	default:
		return inclusive, numericOpt(o, k)
	}
}

// odcsSLA maps slaProperties onto the comparable service levels. ODCS
// writes the unit apart from the value (value: 4, unit: d; value: 99.5,
// unit: percent): both are read together, as "4d" and "99.5%".
func odcsSLA(o obj) SLA {
	s := SLA{Pos: o.keyPos("slaProperties"), Locs: Locs{}}
	for _, p := range o.objects("slaProperties") {
		prop := p.reqStr("property")
		if _, present := p.m["value"]; !present {
			p.missing("value")
		}
		val := strings.TrimSpace(p.scalarStr("value"))
		unit := strings.TrimSpace(p.str("unit"))
		switch key := strings.ToLower(prop); key {
		case "freshness":
			s.Freshness = withUnit(val, unit)
			s.Locs["freshness"] = p.pos()
			s.FreshnessMax = p.duration("value", s.Freshness)
		case "latency":
			s.Latency = withUnit(val, unit)
			s.Locs["latency"] = p.pos()
			s.LatencyMax = p.duration("value", s.Latency)
		case "retention":
			s.Retention = withUnit(val, unit)
			s.Locs["retention"] = p.pos()
			s.RetentionMin, _ = ParseDuration(s.Retention)
		case "availability":
			s.Availability = percentWithUnit(p, val, unit)
			s.Locs["availability"] = p.pos()
			s.AvailabilityPct = p.percent("value", s.Availability)
		case "completeness":
			s.Completeness = percentWithUnit(p, val, unit)
			s.Locs["completeness"] = p.pos()
			s.CompletenessPct = p.percent("value", s.Completeness)
		default:
			sp := SLAProperty{Key: key, Property: prop, Value: withUnit(val, unit), Pos: p.pos()}
			if d := p.str("driver"); d != "" {
				sp.Key += "|driver=" + strings.ToLower(d)
			}
			// ODCS 3.0.1 wrote the element as column.
			e := p.str("element")
			if e == "" {
				e = p.str("column")
			}
			if e != "" {
				sp.Key += "|element=" + strings.ToLower(e)
			}
			if unit != "" || !isNumber(val) {
				sp.Duration, sp.IsSpan = ParseDuration(sp.Value)
			}
			s.Other = append(s.Other, sp)
		}
	}
	return s
}

// withUnit joins a value and its unit as people write durations: "4d",
// "3y", "15 minutes". A value that already carries a unit keeps it.
func withUnit(val, unit string) string {
	if unit == "" || val == "" || !isNumber(val) {
		return val
	}
	if _, ok := durationUnit(strings.ToLower(unit)); ok {
		return val + unit
	}
	return val + " " + unit
}

// percentWithUnit reads an ODCS percentage whose unit is written apart:
// "percent", "%", "pct" or none, with the value bare (99.5) or already
// carrying its sign ("95%"). Any other unit is not a percentage.
func percentWithUnit(p obj, val, unit string) string {
	switch strings.ToLower(unit) {
	case "", "%", "percent", "percentage", "pct":
		if val != "" && !strings.HasSuffix(val, "%") && isNumber(val) && unit != "" {
			return val + "%"
		}
		return val
	}
	p.r.add(CodeBadValue, p.keyPos("unit"), "%s %q is not a unit of a percentage (write percent or %%)", p.path("unit"), unit)
	return val
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}
