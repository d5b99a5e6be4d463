package gitsnap

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func run(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_GLOBAL=/dev/null")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

func write(t *testing.T, p, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSnapshotOfSubfolderAtRef(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	ctx := context.Background()
	repo := t.TempDir()
	run(t, repo, "init", "-q", "-b", "main")
	write(t, filepath.Join(repo, "mesh", "a", "dataproduct.yaml"), "v: 1\n")
	write(t, filepath.Join(repo, "other.txt"), "x\n")
	run(t, repo, "add", "-A")
	run(t, repo, "commit", "-qm", "one")
	write(t, filepath.Join(repo, "mesh", "a", "dataproduct.yaml"), "v: 2\n")
	write(t, filepath.Join(repo, "mesh", "b", "dataproduct.yaml"), "new\n")

	dir := filepath.Join(repo, "mesh")
	if !IsRef(ctx, dir, "main") || IsRef(ctx, dir, "no-such-branch") || IsRef(ctx, dir, "--output=x") {
		t.Fatal("IsRef gives the wrong answer")
	}
	snap, cleanup, err := Snapshot(ctx, dir, "main")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(snap, "a", "dataproduct.yaml"))
	if err != nil || string(got) != "v: 1\n" {
		t.Fatalf("base content = %q, %v", got, err)
	}
	if _, err := os.Stat(filepath.Join(snap, "b")); !os.IsNotExist(err) {
		t.Fatalf("uncommitted folder leaked into the snapshot: %v", err)
	}
	if _, err := os.Stat(filepath.Join(snap, "other.txt")); !os.IsNotExist(err) {
		t.Fatalf("file outside the folder leaked into the snapshot: %v", err)
	}
	cleanup()
	if _, err := os.Stat(snap); !os.IsNotExist(err) {
		t.Fatal("cleanup left the snapshot behind")
	}
	if _, _, err := Snapshot(ctx, dir, "nope"); err == nil {
		t.Fatal("unknown ref accepted")
	}
}
