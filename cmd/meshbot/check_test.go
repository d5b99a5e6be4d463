package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/meshbot/meshbot/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// The date every golden report is judged on, so that sunset windows do not
// move under the tests.
const goldenToday = "2026-11-21"

func check(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), append([]string{"check"}, args...), &out, &errb)
	return out.String(), errb.String(), code
}

// TestScenarios runs `meshbot check` on every scenario of the example mesh in
// every format and compares with the golden reports.
func TestScenarios(t *testing.T) {
	root := testutil.RepoRoot(t)
	for _, name := range testutil.ScenarioNames(t) {
		t.Run(name, func(t *testing.T) {
			spec := testutil.Spec(t, name)
			base, head := testutil.Scenario(t, name)
			var text string
			for _, format := range []string{"text", "json", "sarif", "github"} {
				out, stderr, code := check(t, "--base", base, "--today", goldenToday, "--format", format, head)
				if code != spec.Expect.Exit {
					t.Errorf("%s: exit %d, want %d\nstderr: %s\nstdout:\n%s", format, code, spec.Expect.Exit, stderr, out)
				}
				if format == "text" {
					text = out
				}
				if format == "json" || format == "sarif" {
					var v any
					if err := json.Unmarshal([]byte(out), &v); err != nil {
						t.Errorf("%s output is not JSON: %v", format, err)
					}
				}
				golden(t, filepath.Join(root, "testdata", "golden", name, format+goldenExt(format)), out)
			}
			for _, r := range spec.Expect.Rules {
				if !strings.Contains(text, r) {
					t.Errorf("report does not mention %q:\n%s", r, text)
				}
			}
		})
	}
}

func goldenExt(format string) string {
	switch format {
	case "json":
		return ".json"
	case "sarif":
		return ".sarif"
	}
	return ".txt"
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden %s: %v (run go test ./cmd/meshbot -update)", path, err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file (run go test ./cmd/meshbot -update and review the diff)\n--- got:\n%s", path, got)
	}
}

func TestCleanMeshPassesWithoutBase(t *testing.T) {
	mesh := filepath.Join(testutil.RepoRoot(t), "testdata", "mesh")
	out, stderr, code := check(t, "--today", goldenToday, mesh)
	if code != exitOK {
		t.Fatalf("the example mesh must pass the bundled policy: exit %d\n%s%s", code, out, stderr)
	}
}

func TestUnusableInput(t *testing.T) {
	mesh := filepath.Join(testutil.RepoRoot(t), "testdata", "mesh")
	badPolicy := t.TempDir()
	if err := os.WriteFile(filepath.Join(badPolicy, "p.rego"), []byte("package p\n\ndeny contains msg if {\n  msg := \n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"missing dir", []string{filepath.Join(t.TempDir(), "nope")}, "no such file"},
		{"bad base", []string{"--base", "no-such-ref-or-folder", mesh}, "neither a folder nor a git revision"},
		{"bad format", []string{"--format", "xml", mesh}, "unknown --format"},
		{"bad today", []string{"--today", "tomorrow", mesh}, "YYYY-MM-DD"},
		{"policy does not compile", []string{"--policy", badPolicy, mesh}, "p.rego:"},
		{"missing consumers", []string{"--consumers", filepath.Join(t.TempDir(), "x"), mesh}, "--consumers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := check(t, tc.args...)
			if code != exitUnusable {
				t.Fatalf("exit %d, want %d; stderr: %s", code, exitUnusable, stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Fatalf("stderr %q does not say %q", stderr, tc.want)
			}
		})
	}
}

// TestBaseAsGitRef compares a working tree with a committed revision of the
// same repository, as CI does with --base origin/main.
func TestBaseAsGitRef(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	base, head := testutil.Scenario(t, "breaking-consumer")
	gitc := func(args ...string) { testutil.Git(t, base, args...) }
	gitc("init", "-q", "-b", "main")
	gitc("add", "-A")
	gitc("commit", "-qm", "base")
	// The working tree becomes the head version (this scenario deletes
	// nothing, so overwriting every file is enough).
	err := filepath.WalkDir(head, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(head, p)
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(base, rel)), 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(base, rel), src, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	viaRef, stderr, code := check(t, "--base", "main", "--today", goldenToday, "--format", "json", base)
	if code != testutil.Spec(t, "breaking-consumer").Expect.Exit {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want, _, _ := check(t, "--base", filepath.Join(testutil.RepoRoot(t), "testdata", "mesh"), "--today", goldenToday, "--format", "json", head)
	if viaRef != want {
		t.Fatalf("--base main differs from --base <folder>:\n%s\n---\n%s", viaRef, want)
	}
}

// A user's conftest folder written for descriptors (seed 004's, no guard
// on the document's kind) says nothing about the product's contract.
func TestSeedPolicyFolderSparesContracts(t *testing.T) {
	root := testutil.RepoRoot(t)
	pol := t.TempDir()
	for _, f := range []string{"fixed/dataproduct.rego", "residency/residency.rego"} {
		src, err := os.ReadFile(filepath.Join(root, "internal/policyeval/testdata/seed004", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(pol, filepath.Base(f)), src, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, stderr, _ := check(t, "--policy", pol, "--today", goldenToday, "--format", "json", filepath.Join(root, "testdata", "mesh"))
	var rep struct {
		Findings []struct {
			Message  string `json:"message"`
			Location struct {
				File string `json:"file"`
			} `json:"location"`
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s%s", err, out, stderr)
	}
	for _, f := range rep.Findings {
		if !strings.HasSuffix(f.Location.File, "dataproduct.yaml") {
			t.Errorf("a descriptor rule judged %s: %s", f.Location.File, f.Message)
		}
	}
}

type jsonReport struct {
	Findings []struct {
		Rule     string `json:"rule"`
		Level    string `json:"level"`
		Message  string `json:"message"`
		Help     string `json:"help"`
		Location struct {
			File string `json:"file"`
			Line int    `json:"line"`
		} `json:"location"`
	} `json:"findings"`
}

// A deprecated port removed before its sunset while a consumer reads it is
// one error, from the most specific rule, naming the consumer and the
// sunset; its help does not tell to deprecate what is deprecated already.
func TestOneCauseOneFinding(t *testing.T) {
	base, head := testutil.Scenario(t, "deprecated-removed-early")
	out, stderr, code := check(t, "--base", base, "--today", goldenToday, "--format", "json", head)
	if code != exitFindings {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep jsonReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	var errs []string
	for _, f := range rep.Findings {
		if f.Level != "error" {
			continue
		}
		errs = append(errs, f.Rule)
		if f.Rule != "deprecation/removed-before-sunset" {
			continue
		}
		for _, want := range []string{"iceberg-v1", "2027-03-31", "inventory.stock-levels", "team-inventory"} {
			if !strings.Contains(f.Message, want) {
				t.Errorf("message %q does not name %s", f.Message, want)
			}
		}
		if strings.Contains(f.Message+f.Help, "/mesh deprecate") || strings.Contains(f.Message, "deprecate it") {
			t.Errorf("the fix tells to deprecate a deprecated port: %q / %q", f.Message, f.Help)
		}
	}
	if len(errs) != 1 || errs[0] != "deprecation/removed-before-sunset" {
		t.Errorf("errors %q, want one deprecation/removed-before-sunset", errs)
	}
}

// Every rule id is <source>/<name>: the source one of meshbot's parts, the
// name lower-kebab-case.
func TestRuleIDScheme(t *testing.T) {
	id := regexp.MustCompile(`^(input|policy|compat|deprecation)/[a-z0-9][a-z0-9.-]*(/[a-z0-9_]+)?$`)
	for _, name := range testutil.ScenarioNames(t) {
		base, head := testutil.Scenario(t, name)
		out, _, _ := check(t, "--base", base, "--today", goldenToday, "--format", "json", head)
		var rep jsonReport
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatal(err)
		}
		for _, f := range rep.Findings {
			if !id.MatchString(f.Rule) {
				t.Errorf("%s: rule id %q does not follow <source>/<name>", name, f.Rule)
			}
		}
	}
}

// JSON findings is [] when there are none, never null.
func TestJSONFindingsEmptyArray(t *testing.T) {
	mesh := filepath.Join(testutil.RepoRoot(t), "testdata", "mesh")
	out, stderr, code := check(t, "--base", mesh, "--format", "json", "--today", goldenToday, mesh)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, `"findings": []`) {
		t.Errorf("findings is not []:\n%s", out)
	}
}

// Flags may follow DIR, as in `meshbot check . --base main`.
func TestFlagsAfterDir(t *testing.T) {
	base, head := testutil.Scenario(t, "breaking-consumer")
	before, _, code1 := check(t, "--base", base, "--today", goldenToday, "--format", "json", head)
	after, stderr, code2 := check(t, head, "--base", base, "--today", goldenToday, "--format", "json")
	if code1 != code2 || before != after {
		t.Fatalf("flags after DIR: exit %d vs %d, stderr %s\n%s\n---\n%s", code2, code1, stderr, after, before)
	}
}

// Paths are relative to the repository's top level, not to DIR: checking
// the contracts folder of a repository annotates contracts/x.yaml.
func TestPathsRelativeToRepoRoot(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	base, head := testutil.Scenario(t, "breaking-consumer")
	repo := t.TempDir()
	sub := filepath.Join(repo, "mesh")
	gitc := func(args ...string) { testutil.Git(t, repo, args...) }
	if err := testutil.CopyTree(base, sub); err != nil {
		t.Fatal(err)
	}
	gitc("init", "-q", "-b", "main")
	gitc("add", "-A")
	gitc("commit", "-qm", "base")
	if err := os.RemoveAll(sub); err != nil {
		t.Fatal(err)
	}
	if err := testutil.CopyTree(head, sub); err != nil {
		t.Fatal(err)
	}
	gitc("add", "-A")
	gitc("commit", "-qm", "head")
	for _, format := range []string{"json", "sarif", "github"} {
		out, stderr, _ := check(t, "--base", "HEAD~1", "--today", goldenToday, "--format", format, sub)
		if !strings.Contains(out, "mesh/orders/") {
			t.Errorf("%s: paths are not relative to the repository root:\n%s%s", format, out, stderr)
		}
	}
	var rep jsonReport
	out, _, _ := check(t, "--base", "HEAD~1", "--today", goldenToday, "--format", "json", sub)
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Findings {
		if !strings.HasPrefix(f.Location.File, "mesh/") {
			t.Errorf("%s points at %s, not under mesh/", f.Rule, f.Location.File)
		}
		if _, err := os.Stat(filepath.Join(repo, f.Location.File)); err != nil && f.Location.File != "" {
			// a removal points at the base version's file; it may be gone
			t.Logf("%s: %v", f.Location.File, err)
		}
	}
}

// Issue 11.5: a contract that is a symbolic link in the checkout is a
// finding at that file (input/symlink), not followed and not an error.
func TestSymlinkedContractIsAFinding(t *testing.T) {
	mesh := filepath.Join(testutil.RepoRoot(t), "testdata", "mesh")
	head := t.TempDir()
	if err := testutil.CopyTree(mesh, head); err != nil {
		t.Fatal(err)
	}
	const rel = "finance/data-products/revenue/contracts/revenue.v1.yaml"
	elsewhere := filepath.Join(t.TempDir(), "revenue.v1.yaml")
	if err := os.Rename(filepath.Join(head, filepath.FromSlash(rel)), elsewhere); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(elsewhere, filepath.Join(head, filepath.FromSlash(rel))); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := check(t, "--base", mesh, "--format", "json", "--today", goldenToday, head)
	if code != exitFindings {
		t.Fatalf("exit %d, want %d (findings); stderr: %s\n%s", code, exitFindings, stderr, out)
	}
	var rep struct {
		Findings []struct {
			Rule     string `json:"rule"`
			Message  string `json:"message"`
			Location struct {
				File string `json:"file"`
			} `json:"location"`
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range rep.Findings {
		if f.Rule == "input/symlink" && f.Location.File == rel && strings.Contains(f.Message, "meshbot reads regular files only") {
			found = true
		}
	}
	if !found {
		t.Errorf("no input/symlink finding at %s:\n%s", rel, out)
	}
}

// TestFilesReadAndSkipped: documents are found by their content whatever
// their names, the repository's .meshbot.yaml narrows what is read, and
// the JSON report lists every file read and every file skipped with why.
func TestFilesReadAndSkipped(t *testing.T) {
	dir := t.TempDir()
	mesh := filepath.Join(testutil.RepoRoot(t), "testdata", "mesh")
	odcs, err := os.ReadFile(filepath.Join(mesh, "pricing", "data-products", "price-list", "contracts", "price-list.odcs.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for p, content := range map[string]string{
		"contracts/price-list-v0.1.0.yaml": string(odcs),
		"deploy/app.yaml":                  "apiVersion: apps/v1\nkind: Deployment\n",
		"examples/odcs.yaml":               string(odcs),
		"README.md":                        "# contracts\n",
		".meshbot.yaml":                    "discovery:\n  exclude: ['examples/**']\n",
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, stderr, code := check(t, "--format", "json", "--today", goldenToday, dir)
	if code == exitUnusable {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep struct {
		Files fileReport `json:"files"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(rep.Files)
	want := `{"read":[{"path":".meshbot.yaml","as":"config"},{"path":"contracts/price-list-v0.1.0.yaml","as":"contract"}],` +
		`"skipped":[{"path":"README.md","reason":"not a YAML or JSON file"},` +
		`{"path":"deploy/app.yaml","reason":"kind Deployment is not a data product or data contract"},` +
		`{"path":"examples/odcs.yaml","reason":"excluded by .meshbot.yaml (exclude \"examples/**\")"}]}`
	if string(got) != want {
		t.Errorf("files:\n%s\nwant:\n%s", got, want)
	}
	text, _, _ := check(t, "--today", goldenToday, dir)
	if !strings.Contains(text, "files: 2 read, 3 skipped (1 excluded by .meshbot.yaml") {
		t.Errorf("text report does not count the files:\n%s", text)
	}
}

type fileReport struct {
	Read []struct {
		Path string `json:"path"`
		As   string `json:"as"`
	} `json:"read"`
	Skipped []struct {
		Path   string `json:"path"`
		Reason string `json:"reason"`
	} `json:"skipped"`
}
