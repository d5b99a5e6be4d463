package mesh

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	yaml "go.yaml.in/yaml/v3"
)

// asJSON rewrites a YAML document as JSON, as some repositories keep them.
func asJSON(t *testing.T, src []byte) []byte {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(src, &v); err != nil {
		t.Fatal(err)
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSniff(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      Role
		why       string
	}{
		{"native", "apiVersion: mesh/v1\nkind: DataProduct\nmetadata: {}\n", RoleDescriptor, ""},
		{"odcs quoted, commented", "# a contract\n---\napiVersion: \"v3.0.2\"\nkind: 'DataContract' # ODCS\nid: x\n", RoleContract, ""},
		{"dcs", "dataContractSpecification: 1.1.0\nid: x\n", RoleContract, ""},
		{"dps", "dataProductSpecification: 0.0.1\nid: x\n", RoleDescriptor, ""},
		{"nested kind is not top level", "metadata:\n  kind: DataProduct\n", "", "no data product or data contract marker"},
		{"indented document", "  kind: DataContract\n  id: x\n", RoleContract, ""},
		{"kubernetes", "apiVersion: apps/v1\nkind: Deployment\n", "", "kind Deployment is not a data product or data contract"},
		{"json contract", `{"id": "x", "kind": "DataContract", "apiVersion": "v3.1.0"}`, RoleContract, ""},
		{"json dcs", `{"dataContractSpecification": "1.1.0", "models": {"kind": "DataProduct"}}`, RoleContract, ""},
		{"json other", `{"name": "package", "version": "1.0.0"}`, "", "no data product or data contract marker"},
		{"flow yaml that is not json", "{kind: DataProduct, id: x}", "", "no data product"},
		{"empty", "", "", "no data product"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, why := Sniff([]byte(tc.src))
			if got != tc.want || !strings.HasPrefix(why, tc.why) {
				t.Errorf("Sniff = %q, %q; want %q, %q…", got, why, tc.want, tc.why)
			}
		})
	}
}

func TestMatchPattern(t *testing.T) {
	for _, tc := range []struct {
		pat, p string
		want   bool
	}{
		{"**/*.yaml", "a.yaml", true},
		{"**/*.yaml", "a/b/c.yaml", true},
		{"**/*.yaml", "a/b/c.yml", false},
		{"deploy/**", "deploy/k8s/x.yaml", true},
		{"deploy/**", "src/deploy/x.yaml", false},
		{"contracts/*.yaml", "contracts/x.yaml", true},
		{"contracts/*.yaml", "contracts/v1/x.yaml", false},
		{"**/openapi*.yaml", "api/openapi-v2.yaml", true},
		{"a/**/b.json", "a/b.json", true},
		{"a/**/b.json", "a/x/y/b.json", true},
	} {
		if got := MatchPattern(tc.pat, tc.p); got != tc.want {
			t.Errorf("MatchPattern(%q, %q) = %v, want %v", tc.pat, tc.p, got, tc.want)
		}
	}
}

// TestDiscoveryByContent: documents are found by what they say, whatever
// their names, and every file not read is listed with its reason.
func TestDiscoveryByContent(t *testing.T) {
	odcs := readTestdata(t, "table.odcs.yaml")
	odps := readTestdata(t, "customer.odps.yaml")
	fsys := fstest.MapFS{
		"odcs.yaml":                          {Data: odcs},
		"contracts/orders-v0.1.0.yaml":       {Data: []byte(strings.Replace(string(odcs), "id: ", "id: other-", 1))},
		"json/payments.json":                 {Data: asJSON(t, readTestdata(t, "nested.datacontract.yaml"))},
		"products/customer.yml":              {Data: odps},
		"deploy/k8s.yaml":                    file("apiVersion: apps/v1\nkind: Deployment\n"),
		"config/settings.yaml":               file("retries: 3\n"),
		"README.md":                          file("# hello\n"),
		".github/workflows/ci.yml":           file("on: push\n"),
		"web/node_modules/pkg/package.json":  file("{}"),
		"web/node_modules/pkg/odcs.yaml":     {Data: odcs},
		"legacy/dataproduct.yaml":            file("name: no markers\n"),
		"products/customer-contract.schema":  file("not yaml at all"),
		"products/notes/customer-notes.yaml": file("- a list\n"),
	}
	m, err := Load(context.Background(), fsys)
	if err != nil {
		t.Fatal(err)
	}
	var read []string
	for _, r := range m.Files.Read {
		read = append(read, r.Path+" "+string(r.As))
	}
	wantRead := []string{
		"contracts/orders-v0.1.0.yaml contract",
		"json/payments.json contract",
		"legacy/dataproduct.yaml descriptor", // its name says so: its problems are reported
		"odcs.yaml contract",
		"products/customer.yml descriptor",
	}
	if !slices.Equal(read, wantRead) {
		t.Errorf("read:\n%s\nwant:\n%s", strings.Join(read, "\n"), strings.Join(wantRead, "\n"))
	}
	var skipped []string
	for _, s := range m.Files.Skipped {
		skipped = append(skipped, s.Path+": "+s.Reason)
	}
	wantSkipped := []string{
		".github/: hidden folder is not read",
		"README.md: not a YAML or JSON file",
		"config/settings.yaml: no data product or data contract marker (kind: DataProduct or DataContract, dataContractSpecification, dataProductSpecification)",
		"deploy/k8s.yaml: kind Deployment is not a data product or data contract",
		"products/customer-contract.schema: not a YAML or JSON file",
		"products/notes/customer-notes.yaml: no data product or data contract marker (kind: DataProduct or DataContract, dataContractSpecification, dataProductSpecification)",
		"web/node_modules/: node_modules folder (other people's packages) is not read",
	}
	if !slices.Equal(skipped, wantSkipped) {
		t.Errorf("skipped:\n%s\nwant:\n%s", strings.Join(skipped, "\n"), strings.Join(wantSkipped, "\n"))
	}
	if len(m.Products) != 2 || len(m.Contracts) != 3 {
		t.Errorf("%d products, %d contracts; want 2, 3", len(m.Products), len(m.Contracts))
	}
	for _, p := range m.Problems {
		if p.Pos.File != "legacy/dataproduct.yaml" && !p.Notice {
			t.Errorf("unexpected problem %v", p)
		}
	}
}

// TestDiscoveryConfig: the repository narrows and widens what is read.
func TestDiscoveryConfig(t *testing.T) {
	odcs := readTestdata(t, "table.odcs.yaml")
	fsys := fstest.MapFS{
		ConfigFile:                  file("discovery:\n  include: ['**/*.yaml', '**/*.dcs']\n  exclude: ['examples/**']\n"),
		"contracts/orders.yaml":     {Data: odcs},
		"examples/odcs.yaml":        {Data: odcs},
		"legacy/payments.dcs":       {Data: readTestdata(t, "nested.datacontract.yaml")},
		"legacy/other.json":         {Data: asJSON(t, odcs)},
		"products/dataproduct.yaml": {Data: readTestdata(t, "product-md.dataproduct.yaml")},
	}
	m, err := Load(context.Background(), fsys)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(m.Files)
	want := "{[{.meshbot.yaml config} {contracts/orders.yaml contract} {legacy/payments.dcs contract} {products/dataproduct.yaml descriptor}] " +
		"[{examples/odcs.yaml excluded by .meshbot.yaml (exclude \"examples/**\")} {legacy/other.json not matched by any include of .meshbot.yaml}]}"
	if got != want {
		t.Errorf("files:\n%s\nwant:\n%s", got, want)
	}

	// A broken configuration is a problem on its line, and what is valid
	// still applies.
	fsys[ConfigFile] = file("discovery:\n  exclude: ['examples/**', '/abs']\n  includes: x\nother: 1\n")
	m, err = Load(context.Background(), fsys)
	if err != nil {
		t.Fatal(err)
	}
	var probs []string
	for _, p := range m.Problems {
		if p.Pos.File == ConfigFile {
			probs = append(probs, fmt.Sprintf("%d %s", p.Pos.Line, p.Code))
		}
	}
	if !slices.Equal(probs, []string{"2 bad-value", "3 bad-value", "4 bad-value"}) {
		t.Errorf("config problems: %q", probs)
	}
	if !slices.ContainsFunc(m.Files.Skipped, func(s SkippedFile) bool { return s.Path == "examples/odcs.yaml" }) {
		t.Errorf("the valid exclude was not applied: %v", m.Files)
	}
}

// countingSource lists a map of files by git blob id, as a git revision
// does, and counts its reads.
type countingSource struct {
	files map[string][]byte
	mu    sync.Mutex
	reads []string
}

func (s *countingSource) List(context.Context) ([]File, error) {
	var out []File
	for p, b := range s.files {
		out = append(out, File{Path: p, Version: GitBlobID(b)})
	}
	return out, nil
}

func (s *countingSource) Read(_ context.Context, p string) ([]byte, error) {
	s.mu.Lock()
	s.reads = append(s.reads, p)
	s.mu.Unlock()
	b, ok := s.files[p]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return b, nil
}

// TestLoadPairReadsOnlyDifferingBlobs: against a base listed by blob id,
// a file is read from the base only when its blob differs from the head's.
func TestLoadPairReadsOnlyDifferingBlobs(t *testing.T) {
	head := fstest.MapFS{
		"a/dataproduct.yaml": pairDescriptor("a", "./c.yaml"),
		"a/c.yaml":           pairContract("1.0.0"),
		"c/dataproduct.yaml": pairDescriptor("c", "./c.yaml"),
		"c/c.yaml":           pairContract("1.1.0"),
		"notes.yaml":         file("x: 1\n"),
	}
	base := &countingSource{files: map[string][]byte{}}
	for p, f := range head {
		base.files[p] = f.Data
	}
	base.files["c/c.yaml"] = pairContract("1.0.0").Data
	base.files["gone/dataproduct.yaml"] = pairDescriptor("gone", "./x.yaml").Data

	hm, bm, err := LoadPairSources(context.Background(), FS(head), base)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(base.reads)
	if want := []string{"c/c.yaml", "gone/dataproduct.yaml", "gone/x.yaml"}; !slices.Equal(base.reads, want) {
		t.Errorf("base reads %q, want %q", base.reads, want)
	}
	if hm.Contracts["a/c.yaml"] != bm.Contracts["a/c.yaml"] || !hm.Contracts["a/c.yaml"].Stub() {
		t.Error("the identical contract must be shared and left unparsed")
	}
	if len(bm.Products) != 3 || len(hm.Products) != 2 {
		t.Errorf("base %d products, head %d", len(bm.Products), len(hm.Products))
	}
	if hm.Contracts["c/c.yaml"].Version != "1.1.0" || bm.Contracts["c/c.yaml"].Version != "1.0.0" {
		t.Errorf("changed contract versions: head %q base %q", hm.Contracts["c/c.yaml"].Version, bm.Contracts["c/c.yaml"].Version)
	}
	if !slices.ContainsFunc(bm.Files.Skipped, func(s SkippedFile) bool { return s.Path == "notes.yaml" }) {
		t.Errorf("the base's unchanged non-document is not listed as skipped: %v", bm.Files)
	}
}

func FuzzSniff(f *testing.F) {
	f.Add([]byte("kind: DataContract\n"))
	f.Add([]byte(`{"kind": "DataProduct"}`))
	f.Add([]byte("  a: b\n kind: c\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		role, why := Sniff(src)
		if (role == "") == (why == "") {
			t.Fatalf("Sniff = %q, %q: exactly one must be set", role, why)
		}
	})
}

func FuzzReadDiscovery(f *testing.F) {
	f.Add([]byte("discovery:\n  include: ['**/*.yaml']\n  exclude: [a/**]\n"))
	f.Add([]byte("discovery: [1]\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		d, _ := ReadDiscovery(src)
		for _, p := range append(d.Include, d.Exclude...) {
			MatchPattern(p, "a/b/c.yaml")
		}
	})
}
