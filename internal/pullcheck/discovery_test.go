package pullcheck

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshbot/meshbot/internal/ghsource"
	"github.com/meshbot/meshbot/internal/testutil"
)

// TestDiscoveryInTheApp: the App finds documents by content and applies
// the repository's .meshbot.yaml: the one the index recorded, or, for a
// repository not indexed yet, the head's, fetched once.
func TestDiscoveryInTheApp(t *testing.T) {
	odcs, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "testdata", "mesh", "pricing", "data-products", "price-list", "contracts", "price-list.odcs.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// A contract whose name says nothing, with a policy violation: if it
	// is read, the check says so.
	contract := strings.Replace(string(odcs), "id: ", "id: new-", 1)

	t.Run("not indexed: the head's configuration is fetched", func(t *testing.T) {
		e := newEnv(t, false)
		c := e.branch("odcs-by-content", 31, map[string]string{
			"contracts/orders-v0.1.0.yaml": contract,
			".meshbot.yaml":                "discovery:\n  exclude: ['examples/**']\n",
		})
		if err := e.run(New(e.deps), c, 1); err != nil {
			t.Fatal(err)
		}
		run := e.only(c.HeadSHA)
		if run.Title == TitleNothingChanged {
			t.Fatalf("the contract found by content was not judged: %s", run.Summary)
		}
		n := 0
		for _, call := range e.repoCalls() {
			if strings.HasPrefix(call, "GET /contents/.meshbot.yaml") {
				n++
			}
		}
		if n != 1 {
			t.Errorf("the head's configuration was fetched %d times, want once: %q", n, e.repoCalls())
		}
	})

	t.Run("recorded configuration excludes", func(t *testing.T) {
		e := newEnv(t, true)
		if err := e.store.SetMark(context.Background(), ghsource.ConfigMark(inst, repo),
			ghsource.EncodeConfig([]byte("discovery:\n  exclude: ['examples/**']\n")), 0); err != nil {
			t.Fatal(err)
		}
		c := e.branch("excluded", 32, map[string]string{"examples/orders-v0.1.0.yaml": contract})
		before := len(e.repoCalls())
		if err := e.run(New(e.deps), c, 1); err != nil {
			t.Fatal(err)
		}
		if run := e.only(c.HeadSHA); run.Title != TitleNothingChanged {
			t.Errorf("an excluded file was judged: %q\n%s", run.Title, run.Summary)
		}
		for _, call := range e.repoCalls()[before:] {
			if strings.Contains(call, "/contents/") {
				t.Errorf("fetched %s; the configuration was recorded and the file is excluded", call)
			}
		}
	})

	t.Run("recorded absence: nothing fetched for it", func(t *testing.T) {
		e := newEnv(t, true)
		c := e.branch("odcs-by-content", 33, map[string]string{"contracts/orders-v0.1.0.yaml": contract})
		before := len(e.repoCalls())
		if err := e.run(New(e.deps), c, 1); err != nil {
			t.Fatal(err)
		}
		if run := e.only(c.HeadSHA); run.Title == TitleNothingChanged {
			t.Fatalf("the contract found by content was not judged: %s", run.Summary)
		}
		for _, call := range e.repoCalls()[before:] {
			if strings.Contains(call, ".meshbot.yaml") {
				t.Errorf("fetched the configuration the index recorded as absent: %s", call)
			}
		}
	})
}
