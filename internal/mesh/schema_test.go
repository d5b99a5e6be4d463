package mesh

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshbot/meshbot/internal/testutil"
	"github.com/santhosh-tekuri/jsonschema/v6"
	yaml "go.yaml.in/yaml/v3"
)

// These tests hold our hand-written structural checks to the official JSON
// schemas in ../shared/external/schemas: the examples shipped with each
// standard must pass both, and variants broken on purpose must fail both,
// except for the differences named in the tables below.

const schemaRoot = "external/schemas"

type schemaSet struct {
	t     *testing.T
	dir   string
	cache map[string]*jsonschema.Schema
}

func newSchemaSet(t *testing.T) *schemaSet {
	return &schemaSet{t: t, dir: testutil.Shared(t, schemaRoot), cache: map[string]*jsonschema.Schema{}}
}

func (s *schemaSet) get(rel string) *jsonschema.Schema {
	s.t.Helper()
	if sch, ok := s.cache[rel]; ok {
		return sch
	}
	path := filepath.Join(s.dir, filepath.FromSlash(rel))
	f, err := os.Open(path)
	if err != nil {
		s.t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		s.t.Fatalf("%s: %v", rel, err)
	}
	c := jsonschema.NewCompiler()
	url := "file:///schemas/" + rel
	if err := c.AddResource(url, doc); err != nil {
		s.t.Fatal(err)
	}
	sch, err := c.Compile(url)
	if err != nil {
		s.t.Fatalf("compile %s: %v", rel, err)
	}
	s.cache[rel] = sch
	return sch
}

// schemaFor picks the official schema to judge a document by: the newest
// schema of its standard. The standards' own examples track the newest
// schema while declaring older versions (ODCS's column-completeness example
// says v3.0.2 but uses v3.1.0's quality.metric; ODPS's customer example says
// v0.9.0 but has v1.0.0's team object), and each newest schema still lists
// the older versions in its version enum. meshbot reads that union too.
func (s *schemaSet) schemaFor(v any) (string, bool) {
	m, _ := v.(map[string]any)
	switch {
	case m["dataContractSpecification"] != nil:
		return "datacontract-specification/versions/1.2.1/datacontract.schema.json", false
	case m["dataProductSpecification"] != nil:
		return "dataproduct-specification/dataproduct.schema.json", true
	case m["kind"] == "DataContract" && m["apiVersion"] == "v3.2.0":
		return "open-data-contract-standard/v3.2.0-pre/schema/odcs-json-schema-v3.2.0.json", false
	case m["kind"] == "DataContract":
		return "open-data-contract-standard/schema/odcs-json-schema-v3.1.0.json", false
	}
	return "open-data-product-standard/schema/odps-json-schema-v1.0.0.json", true
}

// TestOfficialSchemasCompile: every schema version in ../shared compiles and
// accepts the newest example of its standard written at a version it lists.
func TestOfficialSchemasCompile(t *testing.T) {
	s := newSchemaSet(t)
	for _, rel := range []string{
		"datacontract-specification/versions/1.1.0/datacontract.schema.json",
		"datacontract-specification/versions/1.2.0/datacontract.schema.json",
		"datacontract-specification/versions/1.2.1/datacontract.schema.json",
		"open-data-contract-standard/schema/odcs-json-schema-v3.0.0.json",
		"open-data-contract-standard/schema/odcs-json-schema-v3.0.1.json",
		"open-data-contract-standard/schema/odcs-json-schema-v3.0.2.json",
		"open-data-contract-standard/schema/odcs-json-schema-v3.0.2-strict.json",
		"open-data-contract-standard/schema/odcs-json-schema-v3.1.0.json",
		"open-data-contract-standard/v3.2.0-pre/schema/odcs-json-schema-v3.2.0.json",
		"open-data-product-standard/schema/odps-json-schema-v0.9.0.json",
		"open-data-product-standard/schema/odps-json-schema-v1.0.0.json",
		"dataproduct-specification/dataproduct.schema.json",
	} {
		if s.get(rel) == nil {
			t.Errorf("%s did not compile", rel)
		}
	}
	// Our own format testdata is valid for the standards it claims, except
	// seed 004's contract (no info.title, quality type row_count; see
	// TestSchemaAgreement for why meshbot accepts those) and
	// nested.datacontract.yaml, which exercises leniencies on purpose (an
	// upper-case type, a definition that is only a $ref).
	for _, name := range []string{"table.odcs.yaml", "team-array.odcs.yaml", "customer.odps.yaml", "search.dps.yaml"} {
		src := readTestdata(t, name)
		doc, err := ParseYAML(name, src)
		if err != nil {
			t.Fatal(err)
		}
		schema, _ := s.schemaFor(doc.Value)
		if err := s.get(schema).Validate(doc.Value); err != nil {
			t.Errorf("%s fails %s: %v", name, schema, err)
		}
	}
	// The DCS 1.1.0 schema, the version seed 004 declares, judges our 1.1
	// hostile cases as we do.
	dcs11 := s.get("datacontract-specification/versions/1.1.0/datacontract.schema.json")
	for _, name := range []string{"hostile/required-maybe.yaml", "hostile/model-fields-number.yaml"} {
		doc, err := ParseYAML(name, readTestdata(t, name))
		if err != nil {
			t.Fatal(err)
		}
		if dcs11.Validate(doc.Value) == nil {
			t.Errorf("DCS 1.1.0 schema accepts %s", name)
		}
	}
}

// ours runs our reader on src and returns its problems.
func ours(path string, src []byte, descriptor bool) []Problem {
	if descriptor {
		_, _, p := ReadDescriptor(path, src)
		return p
	}
	_, _, p := ReadContract(path, src)
	return p
}

func officialExamples(t *testing.T, dir string) []string {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if !d.IsDir() && strings.HasSuffix(p, ".yaml") && (strings.Contains(rel, "/examples/") || d.Name() == "example.yaml") {
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// stubExamples are official examples that do not pass their own schema.
var stubExamples = map[string]string{
	// The repository's example.yaml holds only the version line; the schema
	// requires id and info. Both the schema and meshbot reject it.
	"dataproduct-specification/example.yaml": "upstream stub without id and info",
}

func TestOfficialExamples(t *testing.T) {
	s := newSchemaSet(t)
	examples := officialExamples(t, s.dir)
	if len(examples) < 8 {
		t.Fatalf("found only %d official examples: %v", len(examples), examples)
	}
	for _, rel := range examples {
		t.Run(rel, func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join(s.dir, filepath.FromSlash(rel)))
			if err != nil {
				t.Fatal(err)
			}
			doc, err := ParseYAML(rel, src)
			if err != nil {
				t.Fatal(err)
			}
			schema, descriptor := s.schemaFor(doc.Value)
			schemaErr := s.get(schema).Validate(doc.Value)
			probs := ours(rel, src, descriptor)
			if why, stub := stubExamples[rel]; stub {
				if schemaErr == nil || len(probs) == 0 {
					t.Fatalf("%s (%s): schema error %v, our problems %v; both should reject", rel, why, schemaErr, probs)
				}
				return
			}
			if schemaErr != nil {
				t.Errorf("official schema %s rejects its example: %v", schema, schemaErr)
			}
			if len(probs) > 0 {
				t.Errorf("meshbot reports problems on an official example: %v", probs)
			}
		})
	}
}

type variant struct {
	name   string
	base   string // an official example, or "dps" for the minimal valid DPS document
	mutate func(v map[string]any)
	schema bool   // the official schema rejects it
	reader bool   // meshbot reports a Problem
	why    string // required where the two differ: why meshbot differs on purpose
}

func TestSchemaAgreement(t *testing.T) {
	const (
		dcs  = "datacontract-specification/examples/orders-latest/datacontract.yaml"
		odcs = "open-data-contract-standard/docs/examples/all/full-example.odcs.yaml"
		odps = "open-data-product-standard/docs/examples/customer-data-product.odps.yaml"
	)
	variants := []variant{
		// Data Contract Specification 1.2.0
		{"dcs/unchanged", dcs, func(v map[string]any) {}, false, false, ""},
		{"dcs/new optional field", dcs, func(v map[string]any) {
			set(v, map[string]any{"type": "string"}, "models", "orders", "fields", "note")
		}, false, false, ""},
		{"dcs/no servicelevels", dcs, func(v map[string]any) { del(v, "servicelevels") }, false, false, ""},
		{"dcs/missing id", dcs, func(v map[string]any) { del(v, "id") }, true, true, ""},
		{"dcs/info is a string", dcs, func(v map[string]any) { v["info"] = "x" }, true, true, ""},
		{"dcs/missing info.version", dcs, func(v map[string]any) { del(v, "info", "version") }, true, true, ""},
		{"dcs/required is a string", dcs, func(v map[string]any) {
			set(v, "maybe", "models", "orders", "fields", "order_total", "required")
		}, true, true, ""},
		{"dcs/pii is a number", dcs, func(v map[string]any) {
			set(v, int64(1), "models", "orders", "fields", "customer_email_address", "pii")
		}, true, true, ""},
		{"dcs/fields is a number", dcs, func(v map[string]any) { set(v, int64(5), "models", "orders", "fields") }, true, true, ""},
		{"dcs/models is a string", dcs, func(v map[string]any) { v["models"] = "x" }, true, true, ""},
		{"dcs/minLength is a string", dcs, func(v map[string]any) {
			set(v, "ten", "models", "orders", "fields", "customer_id", "minLength")
		}, true, true, ""},
		{"dcs/unknown spec version", dcs, func(v map[string]any) { v["dataContractSpecification"] = "9.9.9" }, true, true, ""},
		{"dcs/missing info.title", dcs, func(v map[string]any) { del(v, "info", "title") }, true, false,
			"seed 004's contracts and many real ones omit info.title; nothing meshbot checks depends on it"},
		{"dcs/field type outside the enum", dcs, func(v map[string]any) {
			set(v, "uuid", "models", "orders", "fields", "order_timestamp", "type")
		}, true, false,
			"types are kept as written so that breaking-change rules can compare them; policy can restrict the vocabulary"},
		{"dcs/quality type outside the enum", dcs, func(v map[string]any) {
			set(v, []any{map[string]any{"type": "row_count", "mustBeGreaterThan": int64(0)}}, "models", "orders", "quality")
		}, true, false, "seed 004 writes quality type row_count; quality rules are compared, not executed"},
		{"dcs/freshness not a duration", dcs, func(v map[string]any) {
			set(v, "soon", "servicelevels", "freshness", "threshold")
		}, false, true, "freshness must be comparable so that a loosened SLA is detected"},

		// ODCS v3.1.0
		{"odcs/unchanged", odcs, func(v map[string]any) {}, false, false, ""},
		{"odcs/new property", odcs, func(v map[string]any) {
			props := get(v, "schema", 0, "properties").([]any)
			set(v, append(props, map[string]any{"name": "note", "logicalType": "string"}), "schema", 0, "properties")
		}, false, false, ""},
		{"odcs/missing version", odcs, func(v map[string]any) { del(v, "version") }, true, true, ""},
		{"odcs/missing status", odcs, func(v map[string]any) { del(v, "status") }, true, true, ""},
		{"odcs/missing id", odcs, func(v map[string]any) { del(v, "id") }, true, true, ""},
		{"odcs/schema is a string", odcs, func(v map[string]any) { v["schema"] = "x" }, true, true, ""},
		{"odcs/schema object without name", odcs, func(v map[string]any) { del(v, "schema", 0, "name") }, true, true, ""},
		{"odcs/property without name", odcs, func(v map[string]any) { del(v, "schema", 0, "properties", 1, "name") }, true, true, ""},
		{"odcs/required is a string", odcs, func(v map[string]any) {
			set(v, "maybe", "schema", 0, "properties", 0, "required")
		}, true, true, ""},
		{"odcs/properties is a mapping", odcs, func(v map[string]any) {
			set(v, map[string]any{"a": int64(1)}, "schema", 0, "properties")
		}, true, true, ""},
		{"odcs/sla without value", odcs, func(v map[string]any) { del(v, "slaProperties", 0, "value") }, true, true, ""},
		{"odcs/unknown apiVersion", odcs, func(v map[string]any) { v["apiVersion"] = "v9.0.0" }, true, true, ""},
		{"odcs/unknown top-level key", odcs, func(v map[string]any) { v["x-internal"] = "yes" }, true, false,
			"unknown keys are ignored so that extensions and newer minor versions load; policy can forbid them"},

		// ODPS v0.9.0
		{"odps/unchanged", odps, func(v map[string]any) {}, false, false, ""},
		{"odps/no tags", odps, func(v map[string]any) { del(v, "tags") }, false, false, ""},
		{"odps/missing id", odps, func(v map[string]any) { del(v, "id") }, true, true, ""},
		{"odps/missing status", odps, func(v map[string]any) { del(v, "status") }, true, true, ""},
		{"odps/output port without version", odps, func(v map[string]any) { del(v, "outputPorts", 0, "version") }, true, true, ""},
		{"odps/input port without contractId", odps, func(v map[string]any) { del(v, "inputPorts", 0, "contractId") }, true, true, ""},
		{"odps/outputPorts is a string", odps, func(v map[string]any) { v["outputPorts"] = "x" }, true, true, ""},
		{"odps/port name is a number", odps, func(v map[string]any) { set(v, int64(7), "outputPorts", 0, "name") }, true, true, ""},
		{"odps/unknown apiVersion", odps, func(v map[string]any) { v["apiVersion"] = "v2.0.0" }, true, true, ""},

		// Data Product Specification 0.0.1 (its official example is a stub; see stubExamples)
		{"dps/minimal", "dps", func(v map[string]any) {}, false, false, ""},
		{"dps/output port", "dps", func(v map[string]any) {
			v["outputPorts"] = []any{map[string]any{"id": "o", "name": "o", "containsPii": true}}
		}, false, false, ""},
		{"dps/missing info.owner", "dps", func(v map[string]any) { del(v, "info", "owner") }, true, true, ""},
		{"dps/output port without id", "dps", func(v map[string]any) {
			v["outputPorts"] = []any{map[string]any{"name": "o"}}
		}, true, true, ""},
		{"dps/containsPii is a string", "dps", func(v map[string]any) {
			v["outputPorts"] = []any{map[string]any{"id": "o", "name": "o", "containsPii": "yes"}}
		}, true, true, ""},
	}
	s := newSchemaSet(t)
	for _, vt := range variants {
		t.Run(vt.name, func(t *testing.T) {
			if (vt.schema != vt.reader) != (vt.why != "") {
				t.Fatal("a variant where schema and reader differ must say why, and only then")
			}
			var base map[string]any
			if vt.base == "dps" {
				base = map[string]any{"dataProductSpecification": "0.0.1", "id": "search-queries",
					"info": map[string]any{"title": "Search queries", "owner": "search-team"}}
			} else {
				src, err := os.ReadFile(filepath.Join(s.dir, filepath.FromSlash(vt.base)))
				if err != nil {
					t.Fatal(err)
				}
				doc, err := ParseYAML(vt.base, src)
				if err != nil {
					t.Fatal(err)
				}
				base = doc.Value.(map[string]any)
			}
			v := clone(base).(map[string]any)
			vt.mutate(v)
			src, err := yaml.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			// Validate what our reader sees, reparsed, so both judge one value.
			doc, err := ParseYAML("variant.yaml", src)
			if err != nil {
				t.Fatal(err)
			}
			schema, descriptor := s.schemaFor(doc.Value)
			schemaErr := s.get(schema).Validate(doc.Value)
			probs := ours("variant.yaml", src, descriptor)
			if (schemaErr != nil) != vt.schema {
				t.Errorf("official schema rejects = %v, want %v: %v", schemaErr != nil, vt.schema, schemaErr)
			}
			if (len(probs) > 0) != vt.reader {
				t.Errorf("meshbot rejects = %v, want %v: %v", len(probs) > 0, vt.reader, probs)
			}
		})
	}
}

func clone(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = clone(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = clone(e)
		}
		return l
	}
	return v
}

func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			v = v.(map[string]any)[k]
		case int:
			v = v.([]any)[k]
		}
	}
	return v
}

func set(v map[string]any, val any, path ...any) {
	parent := get(v, path[:len(path)-1]...)
	switch k := path[len(path)-1].(type) {
	case string:
		parent.(map[string]any)[k] = val
	case int:
		parent.([]any)[k] = val
	}
}

func del(v map[string]any, path ...any) {
	parent := get(v, path[:len(path)-1]...)
	delete(parent.(map[string]any), path[len(path)-1].(string))
}
