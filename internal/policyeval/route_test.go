package policyeval

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

// seedFolder is seed 004's policy folder as a user brings it: the fixed
// dataproduct.rego and residency.rego side by side, no guard on the
// document's kind in either.
func seedFolder(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"fixed/dataproduct.rego", "residency/residency.rego"} {
		src, err := os.ReadFile(filepath.Join("testdata/seed004", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), src, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const seedContract = `dataContractSpecification: 1.1.0
id: orders.order-events
info:
  title: Order events
  version: 2.0.0
  owner: orders-data@retailer.example
models:
  order_event:
    type: table
    fields:
      order_id: { type: string, required: true }
`

// A descriptor policy folder without kind guards says nothing about a
// contract: conftest runs it on dataproduct.yaml only, and so does meshbot.
func TestDescriptorPolicyNotRunOnContracts(t *testing.T) {
	s := loadDir(t, seedFolder(t))
	doc := parseDoc(t, "orders/contracts/order-events.v2.yaml", seedContract)
	if res := evalDoc(t, s, doc, Context{Kind: KindContract}); len(res) != 0 {
		t.Errorf("descriptor rules fired on a contract: %+v", res)
	}
	desc := readDoc(t, "testdata/seed004/dataproduct.yaml")
	if res := evalDoc(t, s, desc, Context{Kind: KindDescriptor}); len(res) != 1 {
		t.Errorf("descriptor findings = %+v, want the PII contract denial", res)
	}
}

// Packages say which documents they judge: METADATA at package scope wins,
// then a package that reads data.meshbot.context.kind judges every kind
// itself, then a package named for contracts judges contracts, and any other
// package judges descriptors.
func TestRouteByPackage(t *testing.T) {
	files := map[string]string{
		"plain.rego":    "package mesh.naming\ndeny contains \"plain\" if true\n",
		"contract.rego": "package mesh.contract.pii\ndeny contains \"contract-named\" if true\n",
		"both.rego": `# METADATA
# scope: package
# custom:
#   documents: [descriptor, contract]
package org.everything
deny contains "declared-both" if true
`,
		"onlycontract.rego": `# METADATA
# scope: package
# custom:
#   documents: contract
package org.schemas
deny contains "declared-contract" if true
`,
		"aware.rego": "package org.aware\ndeny contains sprintf(\"aware-%v\", [data.meshbot.context.kind]) if true\n",
	}
	s, err := loadFiles(t, files)
	if err != nil {
		t.Fatal(err)
	}
	doc := parseDoc(t, "x.yaml", "a: 1\n")
	for _, tc := range []struct {
		kind Kind
		want []string
	}{
		{KindDescriptor, []string{"aware-descriptor", "declared-both", "plain"}},
		{KindContract, []string{"aware-contract", "contract-named", "declared-both", "declared-contract"}},
		{"", []string{"aware-", "contract-named", "declared-both", "declared-contract", "plain"}},
	} {
		var got []string
		for _, r := range evalDoc(t, s, doc, Context{Kind: tc.kind}) {
			got = append(got, r.Message)
		}
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("kind %q: messages %q, want %q", tc.kind, got, tc.want)
		}
	}
}

// A package's documents value must be known kinds.
func TestRouteRejectsUnknownDocuments(t *testing.T) {
	_, err := loadFiles(t, map[string]string{"p.rego": `# METADATA
# scope: package
# custom:
#   documents: [schema]
package p
deny contains "x" if true
`})
	if err == nil {
		t.Fatal("Load accepted documents: [schema]")
	}
}

// On descriptors meshbot gives exactly what conftest gives:
// conftest test dataproduct.yaml --policy <seed folder> --namespace mesh.dataproduct.
func TestSeedFolderMatchesConftest(t *testing.T) {
	conftest := conftestPath(t)
	dir := seedFolder(t)
	s := loadDir(t, dir)
	docs := map[string]string{
		"seed.yaml": "testdata/seed004/dataproduct.yaml",
	}
	work := t.TempDir()
	for _, extra := range []struct{ name, src string }{
		{"bad.yaml", "kind: DataProduct\nspec:\n  outputPorts:\n    - {name: curated, type: iceberg, location: s3://mesh/curated, contract: ./c.yaml}\n  classification: {contains_pii: true}\n  sla: {availability: \"99%\"}\n"},
		{"eu.yaml", "kind: DataProduct\nspec:\n  outputPorts:\n    - {name: curated, type: iceberg, location: s3://us-mesh/curated/}\n  classification: {residency: EU}\n  sla: {freshness: 1h}\n"},
	} {
		p := filepath.Join(work, extra.name)
		if err := os.WriteFile(p, []byte(extra.src), 0o644); err != nil {
			t.Fatal(err)
		}
		docs[extra.name] = p
	}
	for name, file := range docs {
		t.Run(name, func(t *testing.T) {
			out, err := exec.Command(conftest, "test", "--no-color", "-o", "json", "--policy", dir, "--namespace", "mesh.dataproduct", file).Output()
			var ee *exec.ExitError
			if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 1) {
				t.Fatalf("conftest: %v\n%s", err, out)
			}
			var results []struct {
				Failures []struct{ Msg string } `json:"failures"`
				Warnings []struct{ Msg string } `json:"warnings"`
			}
			if err := json.Unmarshal(out, &results); err != nil {
				t.Fatalf("conftest output: %v\n%s", err, out)
			}
			var want []string
			for _, r := range results {
				for _, f := range r.Failures {
					want = append(want, f.Msg)
				}
				for _, f := range r.Warnings {
					want = append(want, "warn: "+f.Msg)
				}
			}
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range evalDoc(t, s, parseDoc(t, "dataproduct.yaml", string(src)), Context{Kind: KindDescriptor}) {
				if r.Package == "mesh.dataproduct" {
					if r.Severity == SeverityWarn {
						r.Message = "warn: " + r.Message
					}
					got = append(got, r.Message)
				}
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("meshbot %q, conftest %q", got, want)
			}
		})
	}
}

// conftestPath finds conftest in .tools (make bench installs it there) or
// on PATH. Building it takes minutes, so `make test` does not, and the
// comparison skips without it even in CI; `make bench` installs it first.
func conftestPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("MESHBOT_CONFTEST"); p != "" {
		return p
	}
	if p, err := filepath.Abs("../../.tools/conftest"); err == nil {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("conftest"); err == nil {
		return p
	}
	t.Skip("conftest not installed (make .tools/conftest, or MESHBOT_CONFTEST=path): the comparison with conftest is skipped")
	return ""
}
