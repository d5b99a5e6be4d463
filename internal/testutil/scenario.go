package testutil

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"
)

// ScenarioFile is the name of the file describing a scenario; every other
// file in a scenario folder is laid over the mesh at the same relative path.
const ScenarioFile = "scenario.yaml"

// ScenarioSpec is a scenario's scenario.yaml.
type ScenarioSpec struct {
	Description string   `yaml:"description"`
	Delete      []string `yaml:"delete"` // slash paths relative to the mesh root
	Expect      struct {
		Exit  int      `yaml:"exit"`  // meshbot check's exit code on the head
		Rules []string `yaml:"rules"` // rule ids or substrings the report should mention
	} `yaml:"expect"`
}

// ReadScenarioSpec reads and checks dir/scenario.yaml.
func ReadScenarioSpec(dir string) (*ScenarioSpec, error) {
	src, err := os.ReadFile(filepath.Join(dir, ScenarioFile))
	if err != nil {
		return nil, fmt.Errorf("read scenario: %w", err)
	}
	var s ScenarioSpec
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("parse %s: %w", filepath.Join(dir, ScenarioFile), err)
	}
	if strings.TrimSpace(s.Description) == "" {
		return nil, fmt.Errorf("%s: description is empty", filepath.Join(dir, ScenarioFile))
	}
	if s.Expect.Exit < 0 || s.Expect.Exit > 2 {
		return nil, fmt.Errorf("%s: expect.exit %d is not 0, 1 or 2", filepath.Join(dir, ScenarioFile), s.Expect.Exit)
	}
	for _, d := range s.Delete {
		if _, err := localPath(d); err != nil {
			return nil, fmt.Errorf("%s: delete %q: %w", filepath.Join(dir, ScenarioFile), d, err)
		}
	}
	return &s, nil
}

// MaterializeScenario lays out the head version of a scenario in dst: a copy
// of meshDir, the deletions of scenarioDir/scenario.yaml applied, then every
// other file of scenarioDir copied over at its relative path. dst is created
// if needed; files already in it are overwritten. A deletion naming a file
// the mesh does not have is an error, so scenarios cannot silently go stale.
func MaterializeScenario(meshDir, scenarioDir, dst string) error {
	spec, err := ReadScenarioSpec(scenarioDir)
	if err != nil {
		return err
	}
	if err := CopyTree(meshDir, dst); err != nil {
		return fmt.Errorf("copy mesh: %w", err)
	}
	for _, d := range spec.Delete {
		rel, _ := localPath(d) // checked by ReadScenarioSpec
		target := filepath.Join(dst, rel)
		if _, err := os.Lstat(target); err != nil {
			return fmt.Errorf("scenario %s deletes %s: %w", filepath.Base(scenarioDir), d, err)
		}
		if err := os.RemoveAll(target); err != nil {
			return fmt.Errorf("scenario %s: delete %s: %w", filepath.Base(scenarioDir), d, err)
		}
	}
	return copyTree(scenarioDir, dst, func(rel string) bool { return rel == ScenarioFile })
}

// Scenario materialises testdata/scenarios/name over testdata/mesh in two
// fresh temporary folders and returns them: base is the untouched mesh, head
// the mesh with the scenario applied.
func Scenario(t testing.TB, name string) (base, head string) {
	t.Helper()
	root := RepoRoot(t)
	meshDir := filepath.Join(root, "testdata", "mesh")
	tmp := t.TempDir()
	base, head = filepath.Join(tmp, "base"), filepath.Join(tmp, "head")
	if err := CopyTree(meshDir, base); err != nil {
		t.Fatalf("scenario %s: copy base: %v", name, err)
	}
	if err := MaterializeScenario(meshDir, filepath.Join(root, "testdata", "scenarios", name), head); err != nil {
		t.Fatalf("scenario %s: %v", name, err)
	}
	return base, head
}

// CopyTree copies the regular files and folders under src into dst.
// Symbolic links are refused rather than followed: a fixture should not
// reach outside its folder.
func CopyTree(src, dst string) error {
	return copyTree(src, dst, func(string) bool { return false })
}

// ReadTree is the regular files under dir as a snapshot, slash path
// relative to dir -> bytes, the shape ghfake's Repo.Commit takes; any .git
// folder is left out (a checkout's repository is not content). Like
// CopyTree it refuses symbolic links rather than follow them. Tests that
// commit or compare a folder of fixtures share it instead of each walking
// the folder themselves.
func ReadTree(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && d.Name() == ".git":
			return filepath.SkipDir
		case d.IsDir():
			return nil
		case !d.Type().IsRegular():
			return fmt.Errorf("%s: only regular files and folders can be read", p)
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		out[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatalf("read %s: %v", dir, err)
	}
	return out
}

func copyTree(src, dst string, skip func(rel string) bool) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		if skip(filepath.ToSlash(rel)) {
			return nil
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type().IsRegular():
			return copyFile(p, target)
		default:
			return fmt.Errorf("%s: only regular files and folders can be copied", p)
		}
	})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return out.Close()
}

// localPath turns a slash path relative to the mesh root into an OS path,
// refusing paths that are absolute, empty or leave the root.
func localPath(p string) (string, error) {
	clean := path.Clean(p)
	if p == "" || clean == "." || path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") || !filepath.IsLocal(filepath.FromSlash(clean)) {
		return "", fmt.Errorf("must be a path inside the mesh")
	}
	return filepath.FromSlash(clean), nil
}

// ScenarioNames lists the example mesh's scenarios (testdata/scenarios).
func ScenarioNames(t testing.TB) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(RepoRoot(t), "testdata", "scenarios"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	if len(names) < 8 {
		t.Fatalf("expected the example mesh's eight scenarios, found %v", names)
	}
	return names
}

// Spec reads the named scenario's scenario.yaml or fails t.
func Spec(t testing.TB, name string) *ScenarioSpec {
	t.Helper()
	s, err := ReadScenarioSpec(filepath.Join(RepoRoot(t), "testdata", "scenarios", name))
	if err != nil {
		t.Fatalf("scenario %s: %v", name, err)
	}
	return s
}
