package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"

	"github.com/meshbot/meshbot/internal/mesh"
	"github.com/meshbot/meshbot/internal/testutil"
)

// corpusDocs is testdata/corpus's current documents (not their
// histories), by corpus path, with the ODCS v3.2.0 pre-release examples of
// ../shared when it is there (the corpus holds no 3.2 document yet).
func corpusDocs(t *testing.T) map[string]string {
	t.Helper()
	root := filepath.Join(testutil.RepoRoot(t), "testdata", "corpus")
	out := map[string]string{}
	add := func(dir, prefix string) {
		files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		more, _ := filepath.Glob(filepath.Join(dir, "*.yml"))
		for _, f := range append(files, more...) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			out[prefix+filepath.Base(f)] = string(src)
		}
	}
	for _, repo := range []string{"open-data-contract-standard", "open-data-product-standard", "datacontract-specification", "datacontract-cli"} {
		add(filepath.Join(root, "docs", repo), "docs/"+repo+"/")
	}
	if len(out) < 90 {
		t.Fatalf("the corpus holds only %d current documents", len(out))
	}
	add(testutil.Shared(t, "external/schemas/open-data-contract-standard/v3.2.0-pre/examples"), "shared/odcs-v3.2.0-pre/")
	return out
}

// asCheckout places a corpus document in a checkout under a name meshbot
// reads whatever its discovery rules: descriptors as dataproduct.yaml,
// contracts as datacontract.yaml (the corpus keeps upstream names, many of
// which say nothing of their content).
func asCheckout(t *testing.T, src string) map[string]string {
	t.Helper()
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["kind"] == "DataProduct" || doc["dataProductSpecification"] != nil {
		return map[string]string{"d/dataproduct.yaml": src}
	}
	return map[string]string{"c/datacontract.yaml": src}
}

// ownerless tells, from the document as written, that it names no owner
// in the place its format has for one: DCS info.owner; ODCS and ODPS a team
// name, or a team member with role owner (ODCS 3.0 and ODPS 0.9 write the
// members as the team itself).
func ownerless(doc map[string]any) bool {
	if info, ok := doc["info"].(map[string]any); ok && doc["dataContractSpecification"] != nil {
		s, _ := info["owner"].(string)
		return strings.TrimSpace(s) == ""
	}
	members, _ := doc["team"].([]any)
	if team, ok := doc["team"].(map[string]any); ok {
		if s, _ := team["name"].(string); strings.TrimSpace(s) != "" {
			return false
		}
		members, _ = team["members"].([]any)
	}
	for _, m := range members {
		if m, ok := m.(map[string]any); ok && strings.EqualFold(fmt.Sprint(m["role"]), "owner") {
			return false
		}
	}
	return true
}

// TestBundledPolicyOnCorpus: the bundled policy over every real document
// of the corpus (ODCS 3.0 to 3.2, ODPS, DCS 0.9 to 1.2, datacontract-cli's
// fixtures), each alone in its checkout, raises no false alarm. The only
// findings allowed are an owner missing where the document, as written,
// names none: the gap owner-required and contract-owner-required exist
// for, which many upstream examples leave open.
func TestBundledPolicyOnCorpus(t *testing.T) {
	docs := corpusDocs(t)
	names := make([]string, 0, len(docs))
	for n := range docs {
		names = append(names, n)
	}
	slices.Sort(names)
	silent := 0
	for _, name := range names {
		var doc map[string]any
		if err := yaml.Unmarshal([]byte(docs[name]), &doc); err != nil {
			t.Fatal(err)
		}
		found := judge(t, asCheckout(t, docs[name]))
		if len(found) == 0 {
			silent++
		}
		for _, f := range found {
			owner := f.Rule == "policy/owner-required" || f.Rule == "policy/contract-owner-required"
			if !owner || !ownerless(doc) {
				t.Errorf("%s: false alarm %s at %s: %s", name, f.Rule, f.Pos, f.Message)
			}
			if f.Pos.Line == 0 {
				t.Errorf("%s: %s without a line", name, f.Rule)
			}
		}
	}
	t.Logf("%d documents judged, %d without any finding", len(names), silent)
	if silent < 30 {
		t.Errorf("only %d documents pass untouched: the allowance above hides too much", silent)
	}
}

// lineOf is the line of the first line of src containing needle.
func lineOf(t *testing.T, src, needle string) int {
	t.Helper()
	for i, l := range strings.Split(src, "\n") {
		if strings.Contains(l, needle) {
			return i + 1
		}
	}
	t.Fatalf("%q not in\n%s", needle, src)
	return 0
}

// corpusDoc is one corpus document by its corpus path.
func corpusDoc(t *testing.T, rel string) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "testdata", "corpus", rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(src)
}

// TestBundledPolicyOnBrokenCorpusCopies: real documents of every format
// with one governance gap opened each are caught by the same rule, on the
// line of the gap; the same documents with the gap closed pass.
func TestBundledPolicyOnBrokenCorpusCopies(t *testing.T) {
	const (
		odcs30   = "docs/open-data-contract-standard/docs__examples__stakeholders__basic-four-dpo.odcs.yaml"
		odcs31   = "docs/open-data-contract-standard/docs__examples__all__full-example.odcs.yaml"
		odcsSLA  = "docs/open-data-contract-standard/docs__examples__sla__database-table-sla.odcs.yaml"
		odcsKafk = "docs/open-data-contract-standard/docs__examples__server__kafka-server.odcs.yaml"
		athena   = "docs/datacontract-cli/tests__fixtures__athena-iceberg__iceberg_example.odcs.yaml"
		dcsOrder = "docs/datacontract-specification/examples__orders-latest__datacontract.yaml"
		dcsKafka = "docs/datacontract-cli/tests__fixtures__kafka-avro-remote__datacontract.yaml"
		odpsSimp = "docs/open-data-product-standard/docs__examples__simple-data-product.odps.yaml"
		// the contract simple-data-product's only output port names
		portContract = "87654321-4321-4321-4321-cba987654321"
	)
	odcs32 := shared(t, "external/schemas/open-data-contract-standard/v3.2.0-pre/examples/all__full-example.odcs.yaml")
	noTeam := func(d map[string]any) { delete(d, "team") }
	residency := func(value string) func(d map[string]any) {
		return func(d map[string]any) {
			d["customProperties"] = append(asList(d["customProperties"]), map[string]any{"property": "residency", "value": value})
		}
	}
	// The simple ODPS example with a team, so owner is not in question,
	// and the other keys of f.
	odps := func(f func(d map[string]any)) string {
		return edit(t, corpusDoc(t, odpsSimp), func(d map[string]any) {
			d["team"] = map[string]any{"name": "data-team"}
			f(d)
		})
	}
	// An ODCS contract published by that port: src with the port's id.
	published := func(src string, f func(d map[string]any)) string {
		return edit(t, src, func(d map[string]any) {
			d["id"] = portContract
			f(d)
		})
	}
	keep := func(map[string]any) {}
	hostIn := func(host string) func(d map[string]any) {
		return func(d map[string]any) { obj(d, "servers", 0)["host"] = host }
	}
	piiUnclassified := func(d map[string]any) {
		p := obj(d, "schema", 0, "properties", 0)
		p["customProperties"] = append(asList(p["customProperties"]), map[string]any{"property": "pii", "value": true})
		delete(p, "classification")
	}
	native := func(contract string) map[string]string {
		return map[string]string{
			"o/dataproduct.yaml":        strings.Replace(nativeDescriptor, "./revenue.datacontract.yaml", "./kafka.datacontract.yaml", 1),
			"o/kafka.datacontract.yaml": contract,
		}
	}
	nativeWith := func(host string) map[string]string {
		return native(strings.Replace(corpusDoc(t, dcsKafka), "pkc-7xoy1.eu-central-1.aws.confluent.cloud:9092", host, 1))
	}

	type want struct {
		rule, file string
		line       func(t *testing.T, files map[string]string) int // nil: any line
	}
	// at is the line of the first line of file containing needle.
	at := func(file, needle string) func(*testing.T, map[string]string) int {
		return func(t *testing.T, files map[string]string) int { return lineOf(t, files[file], needle) }
	}
	// node is the line of the element at path in file.
	node := func(file string, path ...any) func(*testing.T, map[string]string) int {
		return func(t *testing.T, files map[string]string) int {
			doc, err := mesh.ParseYAML(file, []byte(files[file]))
			if err != nil {
				t.Fatal(err)
			}
			p, ok := doc.Index.Lookup(path...)
			if !ok {
				t.Fatalf("%v not in %s", path, file)
			}
			return p.Line
		}
	}
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  *want  // nil: nothing fires
		only  string // judge only this rule (the document has other, true, gaps)
	}{
		{"odcs 3.0 without team", map[string]string{"c/x.odcs.yaml": edit(t, corpusDoc(t, odcs30), noTeam)},
			&want{"policy/contract-owner-required", "c/x.odcs.yaml", nil}, ""},
		{"odcs 3.1 without team", map[string]string{"c/x.odcs.yaml": edit(t, corpusDoc(t, odcs31), noTeam)},
			&want{"policy/contract-owner-required", "c/x.odcs.yaml", nil}, ""},
		{"odcs 3.2 without team", map[string]string{"c/x.odcs.yaml": edit(t, odcs32, noTeam)},
			&want{"policy/contract-owner-required", "c/x.odcs.yaml", nil}, ""},
		{"odcs 3.1 team with only an owner member", map[string]string{"c/x.odcs.yaml": edit(t, corpusDoc(t, odcs31), func(d map[string]any) {
			d["team"] = map[string]any{"members": []any{map[string]any{"username": "mhopper", "role": "owner"}}}
		})}, nil, ""},
		{"odcs 3.1 pii unclassified", map[string]string{"c/x.odcs.yaml": edit(t, corpusDoc(t, odcs31), piiUnclassified)},
			&want{"policy/pii-classification-required", "c/x.odcs.yaml", node("c/x.odcs.yaml", "schema", 0, "properties", 0)}, ""},
		{"odcs 3.2 pii unclassified", map[string]string{"c/x.odcs.yaml": edit(t, odcs32, piiUnclassified)},
			&want{"policy/pii-classification-required", "c/x.odcs.yaml", nil}, ""},
		{"odcs 3.1 pii classified", map[string]string{"c/x.odcs.yaml": edit(t, corpusDoc(t, odcs31), func(d map[string]any) {
			piiUnclassified(d)
			obj(d, "schema", 0, "properties", 0)["classification"] = "restricted"
		})}, nil, ""},
		{"dcs pii unclassified", map[string]string{"c/datacontract.yaml": edit(t, corpusDoc(t, dcsOrder), func(d map[string]any) {
			delete(obj(d, "models", "orders", "fields", "customer_email_address"), "classification")
		})}, &want{"policy/pii-classification-required", "c/datacontract.yaml", at("c/datacontract.yaml", "customer_email_address:")}, ""},
		{"odps freshness promised by its contract", map[string]string{
			"p/p.odps.yaml": odps(keep), "p/c.odcs.yaml": published(corpusDoc(t, odcsSLA), keep),
		}, nil, "policy/freshness-sla-required"},
		{"odps without freshness promise", map[string]string{
			"p/p.odps.yaml": odps(keep), "p/c.odcs.yaml": published(corpusDoc(t, odcsSLA), func(d map[string]any) { delete(d, "slaProperties") }),
		}, &want{"policy/freshness-sla-required", "p/p.odps.yaml", at("p/p.odps.yaml", "name: Simple Data Product")}, "policy/freshness-sla-required"},
		{"odps residency EU, contract server in the EU", map[string]string{
			"p/p.odps.yaml": odps(residency("EU")), "p/c.odcs.yaml": published(corpusDoc(t, odcsKafk), keep),
		}, nil, "policy/eu-residency"},
		{"odps residency EU, contract server outside the EU", map[string]string{
			"p/p.odps.yaml": odps(residency("EU")), "p/c.odcs.yaml": published(corpusDoc(t, odcsKafk), hostIn("b-1.msk.us-west-2.amazonaws.com:9092")),
		}, &want{"policy/eu-residency", "p/p.odps.yaml", at("p/p.odps.yaml", "contractId: "+portContract)}, "policy/eu-residency"},
		{"odps without residency, contract server outside the EU", map[string]string{
			"p/p.odps.yaml": odps(keep), "p/c.odcs.yaml": published(corpusDoc(t, odcsKafk), hostIn("b-1.msk.us-west-2.amazonaws.com:9092")),
		}, nil, "policy/eu-residency"},
		{"odcs residency EU, server in the EU", map[string]string{"c/x.odcs.yaml": edit(t, corpusDoc(t, athena), residency("EU"))},
			nil, "policy/eu-residency"},
		{"odcs residency EU, server outside the EU", map[string]string{"c/x.odcs.yaml": edit(t, corpusDoc(t, athena), func(d map[string]any) {
			residency("EU")(d)
			obj(d, "servers", 0)["regionName"] = "us-east-1"
		})}, &want{"policy/eu-residency", "c/x.odcs.yaml", node("c/x.odcs.yaml", "servers", 0)}, "policy/eu-residency"},
		{"odcs 3.2 residency EU, server naming no region", map[string]string{"c/x.odcs.yaml": edit(t, odcs32, residency("EU"))},
			nil, "policy/eu-residency"},
		{"dcs has no residency to breach", map[string]string{"c/datacontract.yaml": strings.Replace(corpusDoc(t, dcsKafka), "eu-central-1", "us-east-1", 1)},
			nil, "policy/eu-residency"},
		{"native residency EU, contract server in the EU", nativeWith("pkc-7xoy1.eu-central-1.aws.confluent.cloud:9092"), nil, "policy/eu-residency"},
		{"native residency EU, contract server outside the EU", nativeWith("pkc-7xoy1.us-east-1.aws.confluent.cloud:9092"),
			&want{"policy/eu-residency", "o/dataproduct.yaml", at("o/dataproduct.yaml", "contract: ./kafka.datacontract.yaml")}, "policy/eu-residency"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hit := false
			for _, f := range judge(t, tc.files) {
				if tc.only != "" && f.Rule != tc.only {
					continue
				}
				if tc.want != nil && f.Rule == tc.want.rule && f.Pos.File == tc.want.file {
					hit = true
					if tc.want.line != nil {
						if line := tc.want.line(t, tc.files); f.Pos.Line != line {
							t.Errorf("%s at line %d, want %d", f.Rule, f.Pos.Line, line)
						}
					}
					continue
				}
				t.Errorf("unexpected %s at %s: %s", f.Rule, f.Pos, f.Message)
			}
			if tc.want != nil && !hit {
				t.Errorf("%s not reported on %s", tc.want.rule, tc.want.file)
			}
		})
	}
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}
