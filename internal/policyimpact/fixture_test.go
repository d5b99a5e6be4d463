package policyimpact

import (
	"context"
	"crypto/sha1"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/meshbot/meshbot/internal/memfs"
	"github.com/meshbot/meshbot/internal/mesh"
	"github.com/meshbot/meshbot/internal/meshgen"
	"github.com/meshbot/meshbot/internal/policyeval"
	"github.com/meshbot/meshbot/internal/store"
	"github.com/meshbot/meshbot/internal/testutil"
	"github.com/meshbot/meshbot/policy"
)

// today fixes sunset windows for reproducible reports.
var today = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

// loadPolicy is the bundled policy with the .rego files of overlay added
// or replaced (testdata/<overlay>/*.rego); "" is the bundled policy.
func loadPolicy(t testing.TB, overlay string) *policyeval.Set {
	t.Helper()
	fsys := testutil.MapFS(t, policy.FS())
	if overlay != "" {
		extra, err := filepath.Glob(filepath.Join("testdata", overlay, "*.rego"))
		if err != nil || len(extra) == 0 {
			t.Fatalf("overlay %s: %v (%d files)", overlay, err, len(extra))
		}
		for _, f := range extra {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			fsys[filepath.Base(f)] = &fstest.MapFile{Data: b}
		}
	}
	// A generous bound: a loaded shared machine must not turn slowness
	// into policy/timeout findings.
	s, err := policyeval.Load(context.Background(), fsys, policyeval.Options{Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// putRepos indexes files into reg as the indexer does: one repository per
// top folder (owner "acme"), its products read by mesh.Load and stored
// with the documents (parsed, mesh.EncodeFiles) at a made-up commit.
func putRepos(t testing.TB, reg store.Registry, inst int64, files map[string][]byte) {
	t.Helper()
	byRepo := map[string]map[string][]byte{}
	for p, b := range files {
		top, _, _ := strings.Cut(p, "/")
		if byRepo[top] == nil {
			byRepo[top] = map[string][]byte{}
		}
		byRepo[top][p] = b
	}
	ctx := context.Background()
	for _, top := range slices.Sorted(maps.Keys(byRepo)) {
		fsys, err := memfs.New(byRepo[top])
		if err != nil {
			t.Fatal(err)
		}
		m, err := mesh.Load(ctx, fsys)
		if err != nil {
			t.Fatal(err)
		}
		sha := fmt.Sprintf("%x", sha1.Sum([]byte(top))) // a stable stand-in for the indexed commit
		if _, err := reg.PutRepoSources(ctx, inst, "acme/"+top, m.Products, store.Sources{SHA: sha, Files: mesh.EncodeFiles(m, byRepo[top])}); err != nil {
			t.Fatal(err)
		}
	}
}

// generated is a meshgen mesh as files.
func generated(t testing.TB, opts meshgen.Options) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for p, f := range meshgen.GenerateFS(opts) {
		out[path.Clean(p)] = f.Data
	}
	return out
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
