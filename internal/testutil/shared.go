// Package testutil holds helpers shared by meshbot's tests.
package testutil

import (
	"os"
	"path/filepath"
	"testing"
)

// RepoRoot is the folder holding go.mod, found by walking up from the test's
// working directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("getwd: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod above the test's working directory")
		}
		dir = parent
	}
}

// Shared returns the path of rel inside the read-only ../shared folder that
// sits beside the repository (MESHBOT_SHARED overrides where it is). Where it
// is absent, as in a user's clone, the test is skipped with a clear message;
// under CI=true it fails instead, so CI never silently skips.
func Shared(t testing.TB, rel string) string {
	t.Helper()
	base := os.Getenv("MESHBOT_SHARED")
	if base == "" {
		base = filepath.Join(filepath.Dir(RepoRoot(t)), "shared")
	}
	p := filepath.Join(base, filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required under CI=true but is missing: %v", p, err)
		}
		t.Skipf("skipping: %s is absent (it holds the external test corpora; clone meshbot beside ../shared or set MESHBOT_SHARED to run this test)", p)
	}
	return p
}
