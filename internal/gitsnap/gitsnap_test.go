package gitsnap

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/meshbot/meshbot/internal/mesh"
	"github.com/meshbot/meshbot/internal/testutil"
)

func write(t *testing.T, p, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSourceOfSubfolderAtRef(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	ctx := context.Background()
	repo := t.TempDir()
	testutil.Git(t, repo, "init", "-q", "-b", "main")
	write(t, filepath.Join(repo, "mesh", "a", "dataproduct.yaml"), "v: 1\n")
	write(t, filepath.Join(repo, "mesh", "big.yaml"), strings.Repeat("x", mesh.MaxFileBytes+10))
	write(t, filepath.Join(repo, "mesh", "z.yaml"), "after the big one\n")
	write(t, filepath.Join(repo, "other.txt"), "x\n")
	testutil.Git(t, repo, "add", "-A")
	testutil.Git(t, repo, "commit", "-qm", "one")
	write(t, filepath.Join(repo, "mesh", "a", "dataproduct.yaml"), "v: 2\n")
	write(t, filepath.Join(repo, "mesh", "b", "dataproduct.yaml"), "new\n")

	dir := filepath.Join(repo, "mesh")
	if !IsRef(ctx, dir, "main") || IsRef(ctx, dir, "no-such-branch") || IsRef(ctx, dir, "--output=x") {
		t.Fatal("IsRef gives the wrong answer")
	}
	src, err := Open(ctx, dir, "main")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	files, err := src.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, f := range files {
		paths = append(paths, f.Path)
		if len(f.Version) != 40 {
			t.Errorf("%s listed without its blob id: %q", f.Path, f.Version)
		}
	}
	// Neither the uncommitted folder nor the file outside the folder.
	if want := []string{"a/dataproduct.yaml", "big.yaml", "z.yaml"}; !slices.Equal(paths, want) {
		t.Fatalf("listed %q, want %q", paths, want)
	}
	if files[0].Version != mesh.GitBlobID([]byte("v: 1\n")) {
		t.Errorf("blob id %s is not git's", files[0].Version)
	}
	got, err := src.Read(ctx, "a/dataproduct.yaml")
	if err != nil || string(got) != "v: 1\n" {
		t.Fatalf("base content = %q, %v", got, err)
	}
	// An oversized blob is cut one byte past the limit, and the next read
	// still finds its own blob.
	if big, err := src.Read(ctx, "big.yaml"); err != nil || len(big) != mesh.MaxFileBytes+1 {
		t.Fatalf("oversized blob: %d bytes, %v", len(big), err)
	}
	if z, err := src.Read(ctx, "z.yaml"); err != nil || string(z) != "after the big one\n" {
		t.Fatalf("after the oversized blob: %q, %v", z, err)
	}
	if _, err := src.Read(ctx, "b/dataproduct.yaml"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("uncommitted file: %v, want not found", err)
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, dir, "nope"); err == nil {
		t.Fatal("unknown ref accepted")
	}
}

// Issue 11.5 on a git revision: a committed symbolic link (mode 120000) is
// listed as a link with its target and never read as a file, so a linked
// descriptor, a linked contract and a contract path through a linked
// folder are input/symlink findings, as in a folder.
func TestLinksInARevisionAreFindings(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	ctx := context.Background()
	repo := t.TempDir()
	testutil.Git(t, repo, "init", "-q", "-b", "main")
	contract := "dataContractSpecification: 1.1.0\nid: orders\ninfo: {title: Orders, version: 1.0.0, owner: team-x}\n"
	write(t, filepath.Join(repo, "real", "orders.yaml"), contract)
	write(t, filepath.Join(repo, "a", "dataproduct.yaml"), "apiVersion: mesh/v1\nkind: DataProduct\nmetadata: {name: a, domain: d}\nspec:\n  outputPorts:\n    - name: x\n      contract: orders.yaml\n    - name: y\n      contract: shared/orders.yaml\n")
	for link, target := range map[string]string{
		"a/orders.yaml":              "../real/orders.yaml",
		"a/shared":                   "../real",
		"c/dataproduct.yaml":         "/etc/passwd",
		"d/orders.datacontract.yaml": "../real/orders.yaml",
		"d/compose.yaml":             "../real/orders.yaml",
	} {
		if err := os.MkdirAll(filepath.Join(repo, filepath.Dir(link)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, filepath.Join(repo, filepath.FromSlash(link))); err != nil {
			t.Fatal(err)
		}
	}
	testutil.Git(t, repo, "add", "-A")
	testutil.Git(t, repo, "commit", "-qm", "links")
	src, err := Open(ctx, repo, "main")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	m, err := mesh.LoadSource(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"a/orders.yaml":              "a/orders.yaml is a symbolic link (to ../real/orders.yaml)",
		"a/shared/orders.yaml":       "is reached through the symbolic link a/shared (to ../real)",
		"c/dataproduct.yaml":         "c/dataproduct.yaml is a symbolic link (to /etc/passwd)",
		"d/orders.datacontract.yaml": "is a symbolic link (to ../real/orders.yaml)",
	}
	got := map[string]string{}
	for _, p := range m.Problems {
		if p.Code == mesh.CodeSymlink {
			got[p.Pos.File] = p.Message
		}
	}
	for f, frag := range want {
		if !strings.Contains(got[f], frag) {
			t.Errorf("finding at %s = %q, want it to say %q", f, got[f], frag)
		}
	}
	if len(got) != len(want) {
		t.Errorf("symlink findings at %v, want exactly %v", got, want)
	}
	skipped := false
	for _, s := range m.Files.Skipped {
		if s.Path == "d/compose.yaml" && strings.Contains(s.Reason, "symbolic link") {
			skipped = true
		}
	}
	if !skipped {
		t.Errorf("a YAML link named like no document is not listed as skipped: %+v", m.Files.Skipped)
	}
	if len(m.Contracts) != 1 || m.Contracts["real/orders.yaml"] == nil {
		t.Errorf("contracts %v, want only real/orders.yaml (nothing read through a link)", m.Contracts)
	}
}
