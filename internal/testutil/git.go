package testutil

import (
	"os"
	"os/exec"
	"testing"
)

// Git runs git with args in dir, failing the test with git's output if it
// fails. The identity is fixed and the user's global configuration ignored,
// so commits succeed on a machine with no git setup and do not depend on
// whoever runs the tests. Tests that build a repository to read call it
// rather than each spelling out the environment.
func Git(t testing.TB, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_GLOBAL=/dev/null")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}
