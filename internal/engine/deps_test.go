package engine

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestKnowsNothingOfGitHub: the engine judges a change set; presenting the
// report to GitHub is package render's job and talking to GitHub the seam's.
// Nothing GitHub-shaped may reach the engine, even through another package,
// and no meshbot package it depends on may speak HTTP. OPA itself imports
// net/http (http.send, remote bundles; the policy sandbox removes http.send),
// so net/http is judged on meshbot's own packages only.
func TestKnowsNothingOfGitHub(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the go command is needed to list the engine's dependencies: %v", err)
		}
		t.Skipf("the go command is not on PATH (%v): cannot list the engine's dependencies", err)
	}
	const self = "github.com/meshbot/meshbot/"
	out, err := exec.Command(gobin, "list", "-deps", "-f", `{{.ImportPath}} {{join .Imports " "}}`, self+"internal/engine").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	imports := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		imports[f[0]] = f[1:]
	}
	if _, ok := imports[self+"internal/compat"]; !ok || len(imports) < 10 {
		t.Fatalf("go list -deps gave an implausible list (%d packages)", len(imports))
	}
	forbidden := []string{
		"github.com/google/go-github", // the GitHub API client
		self + "internal/checkrun",    // a check run's output, in GitHub's terms
		self + "internal/github",
		self + "internal/render",
	}
	for pkg, imps := range imports {
		for _, f := range forbidden {
			if pkg == f || strings.HasPrefix(pkg, f+"/") {
				t.Errorf("the engine depends on %s", pkg)
			}
		}
		if strings.HasPrefix(pkg, self) && slices.Contains(imps, "net/http") {
			t.Errorf("%s, which the engine depends on, imports net/http", pkg)
		}
	}
}
