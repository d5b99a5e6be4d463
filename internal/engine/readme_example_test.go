package engine

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/meshbot/meshbot/internal/mesh"
	"github.com/meshbot/meshbot/internal/policyeval"
	"github.com/meshbot/meshbot/internal/testutil"
)

// readmeModelExamples are the Rego examples of policy/README.md's section
// for policy authors on the normalised model, as a policy folder.
func readmeModelExamples(t *testing.T) fstest.MapFS {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "policy", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(src)
	start := strings.Index(text, "### Writing rules against the normalised model")
	end := strings.Index(text, "## Which documents a package judges")
	if start < 0 || end < start {
		t.Fatal("policy/README.md has no section on writing rules against the normalised model")
	}
	blocks := regexp.MustCompile("(?s)```rego\n(.*?)```").FindAllStringSubmatch(text[start:end], -1)
	if len(blocks) != 2 {
		t.Fatalf("%d rego examples in the section, want 2", len(blocks))
	}
	fsys := fstest.MapFS{}
	for i, b := range blocks {
		fsys[[]string{"contracts.rego", "products.rego"}[i]] = &fstest.MapFile{Data: []byte(b[1])}
	}
	return fsys
}

// The README's examples for policy authors compile and judge real
// documents as the README says: an ODCS contract's server outside the EU
// is pointed at, a DCS contract (no residency) is not judged, an iceberg
// location without a trailing slash is pointed at on its key.
func TestReadmeModelExamples(t *testing.T) {
	set, err := policyeval.Load(context.Background(), readmeModelExamples(t), policyeval.Options{})
	if err != nil {
		t.Fatal(err)
	}
	judgeWith := func(files map[string]string) []Finding {
		fsys := fstest.MapFS{}
		for p, src := range files {
			fsys[p] = &fstest.MapFile{Data: []byte(src)}
		}
		m, err := mesh.Load(context.Background(), fsys)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := Evaluate(context.Background(), Request{Head: m, Policy: set, Today: time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)})
		if err != nil {
			t.Fatal(err)
		}
		var out []Finding
		for _, f := range rep.Findings {
			if f.Source == SourcePolicy {
				out = append(out, f)
			}
		}
		return out
	}
	athena := corpusDoc(t, "docs/datacontract-cli/tests__fixtures__athena-iceberg__iceberg_example.odcs.yaml")
	breach := edit(t, athena, func(d map[string]any) {
		d["customProperties"] = []any{map[string]any{"property": "residency", "value": "EU"}}
		obj(d, "servers", 0)["regionName"] = "us-east-1"
	})
	found := judgeWith(map[string]string{"c/x.odcs.yaml": breach})
	if len(found) != 1 || found[0].Rule != "policy/acme.contracts/deny" || found[0].Pos.Line != lineOf(t, breach, "- catalog: awsdatacatalog") {
		t.Errorf("ODCS residency breach: %+v", found)
	}
	dcs := strings.Replace(corpusDoc(t, "docs/datacontract-cli/tests__fixtures__kafka-avro-remote__datacontract.yaml"), "eu-central-1", "us-east-1", 1)
	if found := judgeWith(map[string]string{"c/datacontract.yaml": dcs}); len(found) != 0 {
		t.Errorf("DCS contract judged: %+v", found)
	}
	desc := strings.Replace(nativeDescriptor, "s3://eu-mesh-finance/revenue/", "s3://eu-mesh-finance/revenue", 1)
	found = judgeWith(map[string]string{"o/dataproduct.yaml": desc, "o/revenue.datacontract.yaml": dcs})
	if len(found) != 1 || found[0].Rule != "policy/acme.products/deny" || found[0].Pos != (mesh.Pos{File: "o/dataproduct.yaml", Line: 12, Col: 7}) {
		t.Errorf("iceberg example: %+v", found)
	}
}
