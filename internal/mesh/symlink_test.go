package mesh

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Issue 11.5: a descriptor or contract that is a symbolic link is a finding
// at that file, never followed and never silently skipped.
func TestSymlinksAreFindings(t *testing.T) {
	dir := t.TempDir()
	write := func(p, s string) {
		t.Helper()
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := func(target, p string) {
		t.Helper()
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, full); err != nil {
			if runtime.GOOS == "windows" {
				t.Skip("no symlinks here:", err)
			}
			t.Fatal(err)
		}
	}
	contract := string(readTestdata(t, "seed004.datacontract.yaml"))
	write("real/orders.yaml", contract)
	write("outside/secret.yaml", "secret: 1\n")
	// a: its port names a contract that is a link to a file in the checkout.
	write("a/dataproduct.yaml", "apiVersion: mesh/v1\nkind: DataProduct\nmetadata: {name: a, domain: d}\nspec:\n  outputPorts:\n    - name: x\n      contract: orders.yaml\n")
	link("../real/orders.yaml", "a/orders.yaml")
	// b: its port names a contract through a linked folder.
	write("b/dataproduct.yaml", "apiVersion: mesh/v1\nkind: DataProduct\nmetadata: {name: b, domain: d}\nspec:\n  outputPorts:\n    - name: y\n      contract: shared/orders.yaml\n")
	link("../real", "b/shared")
	// c: the descriptor itself is a link; d: a standalone contract is one.
	link(filepath.Join(dir, "outside", "secret.yaml"), "c/dataproduct.yaml")
	link("../real/orders.yaml", "d/orders.datacontract.yaml")
	// e: a link named like neither is none of meshbot's business.
	link("../real/orders.yaml", "d/notes.txt")

	m, err := Load(context.Background(), os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"a/orders.yaml":              "a/orders.yaml is a symbolic link (to ../real/orders.yaml)",
		"b/shared/orders.yaml":       "is reached through the symbolic link b/shared (to ../real)",
		"c/dataproduct.yaml":         "c/dataproduct.yaml is a symbolic link",
		"d/orders.datacontract.yaml": "is a symbolic link (to ../real/orders.yaml)",
	}
	got := map[string]string{}
	for _, p := range m.Problems {
		if p.Code != CodeSymlink {
			t.Errorf("unexpected problem %s: %s", p.Code, p)
			continue
		}
		if _, dup := got[p.Pos.File]; dup {
			t.Errorf("two problems at %s", p.Pos.File)
		}
		got[p.Pos.File] = p.Message
	}
	for f, frag := range want {
		msg, ok := got[f]
		switch {
		case !ok:
			t.Errorf("no symlink finding at %s; problems: %v", f, m.Problems)
		case !strings.Contains(msg, frag) || !strings.Contains(msg, "meshbot reads regular files only"):
			t.Errorf("finding at %s = %q, want it to say %q and what to do", f, msg, frag)
		}
	}
	if len(got) != len(want) {
		t.Errorf("findings at %v, want exactly %v", got, want)
	}
	if len(m.Products) != 2 {
		t.Errorf("%d products, want a and b (c is a link, not read)", len(m.Products))
	}
	for _, p := range m.Products {
		if p.OutputPorts[0].Contract != nil {
			t.Errorf("%s: a linked contract was followed", p.File)
		}
	}
	// real/orders.yaml is a contract in its own right (found by its
	// content); nothing is read at a link's path.
	for p := range m.Contracts {
		if p != "real/orders.yaml" {
			t.Errorf("contract read through a link: %s", p)
		}
	}
	for _, f := range m.Files.Read {
		if strings.HasPrefix(f.Path, "a/orders") || strings.HasPrefix(f.Path, "b/shared") || strings.HasPrefix(f.Path, "c/") || strings.HasPrefix(f.Path, "d/") {
			t.Errorf("a link listed as read: %v", f)
		}
	}
}
