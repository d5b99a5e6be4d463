package backstage

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshbot/meshbot/internal/testutil"
)

// validator returns the folder of validate.mjs with its node_modules
// installed (npm ci on first use), or skips when node or npm is missing
// outside CI.
func validator(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(testutil.RepoRoot(t), "plugin-manifest", "backstage", "validate")
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is required under CI=true: %v", tool, err)
			}
			t.Skipf("skipping: %s is not installed (install Node.js 20+ to validate entities with @backstage/catalog-model)", tool)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@backstage", "catalog-model")); err != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
		}
	}
	return dir
}

// runValidator runs validate.mjs on body and returns its exit code and
// output.
func runValidator(t *testing.T, dir string, body []byte) (int, string) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "entities.json")
	if err := os.WriteFile(f, body, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "validate.mjs", f)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	}
	if err != nil {
		t.Fatalf("node validate.mjs: %v\n%s", err, out)
	}
	return 0, string(out)
}

// TestBackstageValidatesEntities runs every entity the endpoint would
// return, for the example mesh (two installations, so names collide) and a
// 10,000-product generated mesh, through @backstage/catalog-model's entity
// policies and kind validators, and shows that the validator does reject
// what Backstage would.
func TestBackstageValidatesEntities(t *testing.T) {
	dir := validator(t)
	ctx := context.Background()

	st := exampleRegistry(t, true)
	acme, _ := st.Products(ctx, instAcme)
	globex, _ := st.Products(ctx, instGlobex)
	var example bytes.Buffer
	if _, err := Write(ctx, &example, append(acme, globex...), WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if code, out := runValidator(t, dir, example.Bytes()); code != 0 {
		t.Errorf("example mesh: validate.mjs exit %d:\n%s", code, out)
	} else {
		t.Log(strings.TrimSpace(out))
	}

	t.Run("rejects", func(t *testing.T) {
		var r Response
		if err := json.Unmarshal(example.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name, want string
			spoil      func(e *Entity)
		}{
			{"bad name", `"metadata.name" is not valid`, func(e *Entity) { e.Metadata.Name = "orders/order events" }},
			{"too long name", `"metadata.name" is not valid`, func(e *Entity) { e.Metadata.Name = strings.Repeat("a", 64) }},
			{"bad tag", `"tags.0" is not valid`, func(e *Entity) { e.Metadata.Tags = []string{"Residency_EU"} }},
			{"no location", "backstage.io/managed-by-location", func(e *Entity) { delete(e.Metadata.Annotations, AnnotationLocation) }},
			{"dangling owner", "does not resolve", func(e *Entity) { e.Spec.Owner = "group:default/nobody" }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				es := append([]Entity{}, r.Entities...)
				i := len(es) - 1 // an API: every relation field of it is checked
				spoiled := es[i]
				spoiled.Metadata.Annotations = map[string]string{}
				for k, v := range es[i].Metadata.Annotations {
					spoiled.Metadata.Annotations[k] = v
				}
				tc.spoil(&spoiled)
				es[i] = spoiled
				body, _ := json.Marshal(Response{APIVersion: ResponseVersion, Entities: es})
				code, out := runValidator(t, dir, body)
				if code != 1 || !strings.Contains(out, tc.want) {
					t.Errorf("validate.mjs exit %d, want 1 with %q:\n%s", code, tc.want, out)
				}
			})
		}
	})

	t.Run("generated", func(t *testing.T) {
		var gen bytes.Buffer
		if _, err := Write(ctx, &gen, generatedProducts(t), WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		if code, out := runValidator(t, dir, gen.Bytes()); code != 0 {
			t.Errorf("generated mesh: validate.mjs exit %d:\n%.4000s", code, out)
		} else {
			t.Log(strings.TrimSpace(out))
		}
	})
}
