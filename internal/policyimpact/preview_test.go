package policyimpact

import (
	"context"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshbot/meshbot/internal/checkrun"
	"github.com/meshbot/meshbot/internal/policyeval"
	"github.com/meshbot/meshbot/internal/store"
	"github.com/meshbot/meshbot/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite the golden reports under testdata/golden")

// exampleFiles is the example mesh (testdata/mesh), one repository per
// domain.
func exampleFiles(t *testing.T) map[string][]byte {
	t.Helper()
	files := testutil.ReadTree(t, filepath.Join(testutil.RepoRoot(t), "testdata", "mesh"))
	maps.DeleteFunc(files, func(p string, _ []byte) bool { return !strings.Contains("/"+p, "/data-products/") })
	return files
}

// extraFiles are products the example lacks: a contract no descriptor
// names, owned by a person rather than a team, and a product with no owner
// whose contract two of its ports share.
var extraFiles = map[string][]byte{
	"loose/schemas/events.datacontract.yaml": []byte(`dataContractSpecification: 1.1.0
id: loose-events
info:
  title: Loose events
  version: 1.0.0
  owner: jane.doe
models:
  events:
    type: table
    fields:
      id:
        type: string
        required: true
`),
	"loose/products/clicks/dataproduct.yaml": []byte(`apiVersion: mesh/v1
kind: DataProduct
metadata:
  name: clicks
  domain: loose
spec:
  lifecycle: production
  outputPorts:
    - name: iceberg
      type: iceberg
      location: s3://mesh-loose/clicks/
      contract: ./contract.yaml
    - name: kafka
      type: kafka
      location: kafka://loose.kafka.example
      topic: loose.clicks.v1
      contract: ./contract.yaml
  sla:
    freshness: "<= 1h"
  classification:
    contains_pii: false
    residency: global
`),
	"loose/products/clicks/contract.yaml": []byte(`dataContractSpecification: 1.1.0
id: loose-clicks
info:
  title: Clicks
  version: 1.0.0
  owner: web-analytics
models:
  clicks:
    type: table
    fields:
      id:
        type: string
        required: true
servicelevels:
  freshness:
    threshold: 1h
`),
}

// TestPreviewGolden previews policy changes over small registries and pins
// the title and the check run section.
func TestPreviewGolden(t *testing.T) {
	for _, c := range []struct {
		name             string
		active, proposed string // policy overlays of testdata ("" = bundled)
		extra            bool   // add extraFiles, and a repository indexed without documents
	}{
		{name: "unchanged", active: "", proposed: ""},
		{name: "bench-change", active: "bench/active", proposed: "bench/proposed"},
		{name: "bench-revert", active: "bench/proposed", proposed: "bench/active"},
		{name: "new-warning", active: "", proposed: "warn-freshness", extra: true},
		{name: "contract-rule", active: "", proposed: "owner-required", extra: true},
		{name: "warning-to-failure", active: "warn-freshness", proposed: "bench/proposed"},
		{name: "failure-to-warning", active: "bench/proposed", proposed: "warn-freshness"},
	} {
		t.Run(c.name, func(t *testing.T) {
			reg := store.NewMemory(store.Options{})
			defer reg.Close()
			files := exampleFiles(t)
			if c.extra {
				maps.Copy(files, extraFiles)
			}
			putRepos(t, reg, 3, files)
			if c.extra {
				if err := reg.PutRepo(context.Background(), 3, "acme/legacy", nil); err != nil {
					t.Fatal(err)
				}
			}
			pv := New(Deps{Registry: reg, Policy: policyeval.NewSwappable(loadPolicy(t, c.active)), Now: func() time.Time { return today }, Logger: quiet()})
			sec, err := pv.Section(context.Background(), 3, loadPolicy(t, c.proposed))
			if err != nil {
				t.Fatal(err)
			}
			if sec.Title != Title(&sec.Report) || strings.Contains(sec.Title, "\n") {
				t.Fatalf("title %q is not the report's one line", sec.Title)
			}
			if n := len([]rune(sec.Markdown)); n > DefaultMaxChars || n > checkrun.MaxOutputChars {
				t.Fatalf("section of %d characters", n)
			}
			got := "title: " + sec.Title + "\n\n" + versionless(sec.Markdown, sec.Report)
			golden(t, filepath.Join("testdata", "golden", c.name+".md"), got)
		})
	}
}

// versionless replaces the policies' content hashes, which change with
// every edit of the bundled policy, by names.
func versionless(s string, r Report) string {
	return strings.NewReplacer("`"+r.ActiveVersion+"`", "`ACTIVE`", "`"+r.ProposedVersion+"`", "`PROPOSED`").Replace(s)
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run with -update to rewrite):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
