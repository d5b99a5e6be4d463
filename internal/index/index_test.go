package index

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meshbot/meshbot/internal/ghsource"
	"github.com/meshbot/meshbot/internal/githubapp"
	"github.com/meshbot/meshbot/internal/jobs"
	"github.com/meshbot/meshbot/internal/mesh"
	"github.com/meshbot/meshbot/internal/store"
	"github.com/meshbot/meshbot/internal/testutil"
)

// meshFiles is the example mesh as a fixture snapshot.
func meshFiles(t *testing.T) map[string][]byte {
	t.Helper()
	return testutil.ReadTree(t, filepath.Join(testutil.RepoRoot(t), "testdata", "mesh"))
}

// summary describes products the way the registry must hold them: id, file,
// repository, and each output port with the contract it is linked to.
func summary(ps []*mesh.Product) []string {
	var out []string
	for _, p := range ps {
		s := fmt.Sprintf("%s %s repo=%s", p.ID(), p.File, p.Repo)
		for _, o := range p.OutputPorts {
			linked := "unlinked"
			if o.Contract != nil {
				linked = fmt.Sprintf("contract=%s fields=%d", o.Contract.File, len(o.Contract.Fields()))
			}
			s += fmt.Sprintf(" | %s %s", o.Name, linked)
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// expected is what mesh.Load reads from files on disk, with repo set.
func expected(t *testing.T, files map[string][]byte, repo string) []string {
	t.Helper()
	dir := t.TempDir()
	for p, b := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m, err := mesh.Load(context.Background(), os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Products {
		p.Repo = repo
	}
	return summary(m.Products)
}

func registry(t *testing.T, s store.Registry, inst int64) []string {
	t.Helper()
	ps, err := s.Products(context.Background(), inst)
	if err != nil {
		t.Fatal(err)
	}
	return summary(ps)
}

func TestIndexExampleMesh(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b)
			files := meshFiles(t)
			files["README.md"] = []byte("# not a descriptor\n")
			// Folders mesh.Load does not walk are not fetched either.
			hidden := []byte("apiVersion: mesh/v1\nkind: DataProduct\nmetadata: {name: hidden, domain: x, owner: team-x}\n")
			files[".github/dataproduct.yaml"] = hidden
			files["web/node_modules/pkg/dataproduct.yaml"] = hidden
			e.repo.Commit("main", files)
			if err := e.ix.HandleIndex(context.Background(), jobs.Index{Installation: 7, Owner: "acme", Repo: "mesh"}, jobs.Meta{}); err != nil {
				t.Fatal(err)
			}
			got, want := registry(t, e.store, 7), expected(t, files, "acme/mesh")
			if len(want) < 6 {
				t.Fatalf("example mesh reads as %d products on disk; the fixture changed", len(want))
			}
			if !slices.Equal(got, want) {
				t.Errorf("registry:\n%s\nwant (mesh.Load on disk):\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			for _, s := range got {
				if strings.Contains(s, "unlinked") {
					t.Errorf("port without its contract: %s", s)
				}
			}
			// Only descriptors and contracts are fetched: one request each.
			fetched := 0
			for _, r := range e.fake.Requests() {
				if strings.Contains(r.Path, "README") || strings.Contains(r.Path, ".github") || strings.Contains(r.Path, "node_modules") {
					t.Errorf("fetched %s", r.Path)
				}
				if strings.Contains(r.Path, "/contents/") {
					fetched++
				}
			}
			if want := len(meshFiles(t)) - 1; fetched != want { // the mesh's own README.md is not fetched
				t.Errorf("%d files fetched, want %d (every descriptor and contract of the example mesh)", fetched, want)
			}
		})
	}
}

func TestPushWithoutYAMLMakesNoCalls(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b)
			sha := e.repo.Commit("main", meshFiles(t))
			for _, paths := range [][]string{{"README.md"}, {"docs/guide.md", "src/main.go", "Makefile"}} {
				before := len(e.fake.Requests())
				err := e.ix.HandleIndex(context.Background(), jobs.Index{Installation: 7, Owner: "acme", Repo: "mesh", Ref: sha, Paths: paths}, jobs.Meta{})
				if err != nil {
					t.Fatal(err)
				}
				if n := len(e.fake.Requests()) - before; n != 0 {
					t.Errorf("paths %v: %d API calls, want 0", paths, n)
				}
			}
			if repos, _ := e.store.Repos(context.Background(), 7); len(repos) != 0 {
				t.Errorf("registry holds %v after skipped pushes", repos)
			}
		})
	}
}

func TestRelevant(t *testing.T) {
	for _, tc := range []struct {
		paths []string
		want  bool
	}{
		{nil, true},
		{[]string{"README.md"}, false},
		{[]string{"a/dataproduct.yaml"}, true},
		{[]string{"x.md", "c/contract.YML"}, true},
		{[]string{"schema.json"}, true},
		{[]string{"yaml", "a.yaml.bak", "b.jsonl"}, false},
	} {
		if got := Relevant(tc.paths); got != tc.want {
			t.Errorf("Relevant(%v) = %v, want %v", tc.paths, got, tc.want)
		}
	}
}

func TestPushReindexReplacesRemovedProduct(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b)
			ctx := context.Background()
			files := meshFiles(t)
			first := e.repo.Commit("main", files)
			if err := e.ix.HandleIndex(ctx, jobs.Index{Installation: 7, Owner: "acme", Repo: "mesh", Ref: first}, jobs.Meta{}); err != nil {
				t.Fatal(err)
			}
			before := registry(t, e.store, 7)

			removed := "finance/data-products/revenue/dataproduct.yaml"
			next := maps.Clone(files)
			delete(next, removed)
			delete(next, "finance/data-products/revenue/contracts/revenue.v1.yaml")
			second := e.repo.Commit("main", next)
			err := e.ix.HandleIndex(ctx, jobs.Index{Installation: 7, Owner: "acme", Repo: "mesh", Ref: second,
				Paths: []string{removed, "finance/data-products/revenue/contracts/revenue.v1.yaml"}}, jobs.Meta{})
			if err != nil {
				t.Fatal(err)
			}
			got := registry(t, e.store, 7)
			if want := expected(t, next, "acme/mesh"); !slices.Equal(got, want) {
				t.Errorf("after the push:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if len(got) != len(before)-1 || slices.ContainsFunc(got, func(s string) bool { return strings.HasPrefix(s, "finance.revenue ") }) {
				t.Errorf("finance.revenue still registered or others lost:\nbefore %v\nafter %v", before, got)
			}

			// A job for the older push that runs late changes nothing.
			if err := e.ix.HandleIndex(ctx, jobs.Index{Installation: 7, Owner: "acme", Repo: "mesh", Ref: first}, jobs.Meta{}); err != nil {
				t.Fatal(err)
			}
			if late := registry(t, e.store, 7); !slices.Equal(late, got) {
				t.Errorf("a stale push job rewrote the registry:\n%s", strings.Join(late, "\n"))
			}
		})
	}
}

func TestBrokenDescriptorDoesNotStopOthers(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b)
			files := meshFiles(t)
			files["broken/dataproduct.yaml"] = []byte("apiVersion: mesh/v1\nkind: DataProduct\nmetadata: {name: [unclosed\n")
			files["bad-ref/dataproduct.yaml"] = []byte("apiVersion: mesh/v1\nkind: DataProduct\nmetadata:\n  name: lost\n  domain: misc\n  owner: team-misc\nspec:\n  outputPorts:\n    - name: p\n      type: iceberg\n      contract: ./nowhere.yaml\n")
			e.repo.Commit("main", files)
			if err := e.ix.HandleIndex(context.Background(), jobs.Index{Installation: 7, Owner: "acme", Repo: "mesh"}, jobs.Meta{}); err != nil {
				t.Fatalf("a broken descriptor failed the job: %v", err)
			}
			got := registry(t, e.store, 7)
			if want := expected(t, files, "acme/mesh"); !slices.Equal(got, want) {
				t.Errorf("registry:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if len(got) != len(expected(t, meshFiles(t), "acme/mesh"))+1 {
				t.Errorf("want every example product plus misc.lost, got:\n%s", strings.Join(got, "\n"))
			}
		})
	}
}

func TestPurge(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b)
			ctx := context.Background()
			other := e.fake.AddRepo(7, "acme/other", "trunk")
			files := meshFiles(t)
			e.repo.Commit("main", files)
			other.Commit("trunk", map[string][]byte{
				"p/dataproduct.yaml": []byte("apiVersion: mesh/v1\nkind: DataProduct\nmetadata:\n  name: solo\n  domain: misc\n  owner: team-misc\n"),
			})
			for _, r := range []string{"mesh", "other"} {
				if err := e.ix.HandleIndex(ctx, jobs.Index{Installation: 7, Owner: "acme", Repo: r}, jobs.Meta{}); err != nil {
					t.Fatal(err)
				}
			}
			if repos, _ := e.store.Repos(ctx, 7); !slices.Equal(repos, []string{"acme/mesh", "acme/other"}) {
				t.Fatalf("repos = %v", repos)
			}
			if err := e.ix.HandlePurge(ctx, jobs.Purge{Installation: 7, Repos: []string{"acme/mesh"}}, jobs.Meta{}); err != nil {
				t.Fatal(err)
			}
			if repos, _ := e.store.Repos(ctx, 7); !slices.Equal(repos, []string{"acme/other"}) {
				t.Errorf("after purging acme/mesh repos = %v", repos)
			}
			if got := registry(t, e.store, 7); len(got) != 1 || !strings.HasPrefix(got[0], "misc.solo ") {
				t.Errorf("after purging acme/mesh products = %v", got)
			}
			if err := e.ix.HandlePurge(ctx, jobs.Purge{Installation: 7}, jobs.Meta{}); err != nil {
				t.Fatal(err)
			}
			insts, _ := e.store.Installations(ctx)
			if slices.Contains(insts, 7) {
				t.Errorf("installation 7 still registered: %v", insts)
			}
			if got := registry(t, e.store, 7); len(got) != 0 {
				t.Errorf("after purging the installation products = %v", got)
			}
		})
	}
}

func TestScanInstallation(t *testing.T) {
	for _, b := range queueBackends(t) {
		t.Run(b.name, func(t *testing.T) {
			e := newQueueEnv(t, b)
			ctx := context.Background()
			e.repo.Commit("main", meshFiles(t))
			e.fake.AddRepo(7, "acme/empty", "main") // no commits yet
			// A repository the installation no longer sees.
			if err := e.store.PutRepo(ctx, 7, "acme/gone", nil); err != nil {
				t.Fatal(err)
			}
			if err := e.ix.HandleIndex(ctx, jobs.Index{Installation: 7}, jobs.Meta{ID: "scan"}); err != nil {
				t.Fatal(err)
			}
			drain(t, e.store, e.registry())
			if repos, _ := e.store.Repos(ctx, 7); !slices.Equal(repos, []string{"acme/empty", "acme/mesh"}) {
				t.Errorf("repos after a scan = %v", repos)
			}
			if got, want := registry(t, e.store, 7), expected(t, meshFiles(t), "acme/mesh"); !slices.Equal(got, want) {
				t.Errorf("registry:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

func TestRateLimitIsReturned(t *testing.T) {
	e := newEnv(t, backends(t)[0])
	e.repo.Commit("main", meshFiles(t))
	ctx := context.Background()
	// Warm the token so the limit hits the repository call itself.
	if err := e.ix.HandleIndex(ctx, jobs.Index{Installation: 7, Owner: "acme", Repo: "mesh"}, jobs.Meta{}); err != nil {
		t.Fatal(err)
	}
	reset := time.Now().Add(time.Hour)
	e.fake.FailNext(1, http.StatusForbidden, http.Header{
		"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {strconv.FormatInt(reset.Unix(), 10)},
	})
	err := e.ix.HandleIndex(ctx, jobs.Index{Installation: 7, Owner: "acme", Repo: "mesh"}, jobs.Meta{})
	var rl *githubapp.RateLimitError
	if !errors.As(err, &rl) {
		t.Fatalf("err = %v, want a *githubapp.RateLimitError for the queue to back off", err)
	}
	if store.IsPermanent(err) {
		t.Error("a rate limit was marked permanent")
	}
}

func TestMissingRepoIsPermanent(t *testing.T) {
	e := newEnv(t, backends(t)[0])
	err := e.ix.HandleIndex(context.Background(), jobs.Index{Installation: 7, Owner: "acme", Repo: "nope"}, jobs.Meta{})
	if err == nil || !store.IsPermanent(err) || !errors.Is(err, githubapp.ErrNotFound) {
		t.Fatalf("err = %v, want a permanent not-found", err)
	}
}

func TestLaterReadmePushDoesNotStrandAnEarlierOne(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b)
			ctx := context.Background()
			files := meshFiles(t)
			e.repo.Commit("main", files)
			if err := e.ix.HandleIndex(ctx, jobs.Index{Installation: 7, Owner: "acme", Repo: "mesh"}, jobs.Meta{}); err != nil {
				t.Fatal(err)
			}
			// Push A removes a product; push B, right after, touches only the
			// README. B's job runs first (nothing to do), then A's, which finds
			// the branch at B.
			next := maps.Clone(files)
			delete(next, "finance/data-products/revenue/dataproduct.yaml")
			a := e.repo.Commit("main", next)
			next["README.md"] = []byte("# changed\n")
			bSHA := e.repo.Commit("main", next)
			if err := e.ix.HandleIndex(ctx, jobs.Index{Installation: 7, Owner: "acme", Repo: "mesh", Ref: bSHA, Paths: []string{"README.md"}}, jobs.Meta{}); err != nil {
				t.Fatal(err)
			}
			if err := e.ix.HandleIndex(ctx, jobs.Index{Installation: 7, Owner: "acme", Repo: "mesh", Ref: a, Paths: []string{"finance/data-products/revenue/dataproduct.yaml"}}, jobs.Meta{}); err != nil {
				t.Fatal(err)
			}
			if got, want := registry(t, e.store, 7), expected(t, next, "acme/mesh"); !slices.Equal(got, want) {
				t.Errorf("registry:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// moving is the real client, with a push landing on the default branch
// during the first tree read: the race between two pushes, made certain.
type moving struct {
	githubapp.Clients
	push func()
	once sync.Once
}

func (m *moving) Installation(inst int64) (githubapp.Installation, error) {
	r, err := m.Clients.Installation(inst)
	return movingRepos{r, m}, err
}

type movingRepos struct {
	githubapp.Installation
	m *moving
}

func (r movingRepos) Tree(ctx context.Context, owner, repo, ref string) ([]githubapp.TreeEntry, error) {
	t, err := r.Installation.Tree(ctx, owner, repo, ref)
	r.m.once.Do(r.m.push)
	return t, err
}

func TestBranchMovingWhileReading(t *testing.T) {
	e := newEnv(t, backends(t)[0])
	ctx := context.Background()
	files := meshFiles(t)
	e.repo.Commit("main", files)
	next := maps.Clone(files)
	delete(next, "pricing/data-products/price-list/dataproduct.yaml")
	gh := &moving{Clients: e.app, push: func() { e.repo.Commit("main", next) }}
	ix := NewIndexer(Deps{GitHub: gh, Registry: e.store, Logger: quiet()})
	if err := ix.HandleIndex(ctx, jobs.Index{Installation: 7, Owner: "acme", Repo: "mesh"}, jobs.Meta{}); err != nil {
		t.Fatal(err)
	}
	if got, want := registry(t, e.store, 7), expected(t, next, "acme/mesh"); !slices.Equal(got, want) {
		t.Errorf("registry holds the tree read before the push:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if n := strings.Count(fmt.Sprint(e.fake.Requests()), "/git/trees/"); n != 2 {
		t.Errorf("%d tree reads, want 2 (the moved branch is read again)", n)
	}
}

// TestIndexKeepsSources: the registry keeps the documents it read, byte for
// byte, at the commit it read them at, so a policy preview can judge them
// without GitHub; a push replaces them with the new tip's.
func TestIndexKeepsSources(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b)
			ctx := context.Background()
			files := meshFiles(t)
			files["README.md"] = []byte("# not a descriptor\n")
			files["finance/notes.yaml"] = []byte("not: a contract\n")
			sha := e.repo.Commit("main", files)
			if err := e.ix.HandleIndex(ctx, jobs.Index{Installation: 7, Owner: "acme", Repo: "mesh", Ref: sha}, jobs.Meta{}); err != nil {
				t.Fatal(err)
			}
			want := map[string][]byte{}
			for p, b := range files {
				if mesh.IsDescriptorName(path.Base(p)) || mesh.IsContractName(path.Base(p)) || strings.Contains(p, "/contracts/") {
					want[p] = b
				}
			}
			src := sourcesOf(t, e.store, "acme/mesh")
			got, err := src.Files()
			if err != nil {
				t.Fatal(err)
			}
			if src.SHA != sha || !slices.Equal(slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want))) {
				t.Fatalf("sources at %s: %v\nwant at %s: %v", src.SHA, slices.Sorted(maps.Keys(got)), sha, slices.Sorted(maps.Keys(want)))
			}
			// Each document is kept parsed, and is what parsing it gives.
			for p, b := range got {
				doc, err := mesh.DecodeDocument(p, b)
				if err != nil {
					t.Fatalf("%s: %v", p, err)
				}
				if parsed, _ := mesh.ParseYAML(p, want[p]); !reflect.DeepEqual(doc, parsed) {
					t.Errorf("%s: the stored document is not the parsed one", p)
				}
			}

			next := maps.Clone(files)
			next["finance/data-products/revenue/dataproduct.yaml"] = append(slices.Clone(files["finance/data-products/revenue/dataproduct.yaml"]), "# edited\n"...)
			sha2 := e.repo.Commit("main", next)
			if err := e.ix.HandleIndex(ctx, jobs.Index{Installation: 7, Owner: "acme", Repo: "mesh", Ref: sha2}, jobs.Meta{}); err != nil {
				t.Fatal(err)
			}
			src = sourcesOf(t, e.store, "acme/mesh")
			got, err = src.Files()
			if err != nil || src.SHA != sha2 {
				t.Fatalf("after a push: sources at %s (want %s), %v", src.SHA, sha2, err)
			}
			edited := "finance/data-products/revenue/dataproduct.yaml"
			if doc, err := mesh.DecodeDocument(edited, got[edited]); err != nil || doc.Sum != sha256.Sum256(next[edited]) {
				t.Errorf("after a push: %s is not the edited version (%v)", edited, err)
			}
		})
	}
}

func sourcesOf(t *testing.T, s store.Registry, repo string) store.RepoSources {
	t.Helper()
	all, err := s.Sources(context.Background(), 7)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range all {
		if r.Repo == repo {
			if r.Unreadable != nil {
				t.Fatal(r.Unreadable)
			}
			return r
		}
	}
	t.Fatalf("no sources for %s", repo)
	return store.RepoSources{}
}

// Issue 11.5: a symbolic link named like a descriptor or contract does not
// fail the index job; it is not read, and the other products are indexed.
func TestSymlinkDoesNotFailIndexing(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b)
			files := meshFiles(t)
			e.repo.CommitLinks("main", files, map[string]string{
				"linked/dataproduct.yaml":    "../finance/data-products/revenue/dataproduct.yaml",
				"linked/x.datacontract.yaml": "/etc/passwd",
			})
			if err := e.ix.HandleIndex(context.Background(), jobs.Index{Installation: 7, Owner: "acme", Repo: "mesh"}, jobs.Meta{}); err != nil {
				t.Fatalf("a link failed the job: %v", err)
			}
			if got, want := registry(t, e.store, 7), expected(t, files, "acme/mesh"); !slices.Equal(got, want) {
				t.Errorf("registry:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			for _, r := range e.fake.Requests() {
				if strings.Contains(r.Path, "linked/") {
					t.Errorf("a link was fetched: %s", r.Path)
				}
			}
		})
	}
}

// TestIndexByContentAndConfig: the index reads a repository as `meshbot
// check` reads a checkout: documents by their content whatever their
// names, what the repository's .meshbot.yaml excludes left out; and it
// records that configuration for pull-request checks.
func TestIndexByContentAndConfig(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b)
			files := meshFiles(t)
			files["extra/product.yml"] = []byte("apiVersion: mesh/v1\nkind: DataProduct\nmetadata: {name: extra, domain: x, owner: team-x}\nspec: {lifecycle: experimental}\n")
			files["deploy/app.yaml"] = []byte("apiVersion: apps/v1\nkind: Deployment\n")
			config := "discovery:\n  exclude: ['pricing/**']\n"
			files[mesh.ConfigFile] = []byte(config)
			e.repo.Commit("main", files)
			ctx := context.Background()
			if err := e.ix.HandleIndex(ctx, jobs.Index{Installation: 7, Owner: "acme", Repo: "mesh"}, jobs.Meta{}); err != nil {
				t.Fatal(err)
			}
			got, want := registry(t, e.store, 7), expected(t, files, "acme/mesh")
			if !slices.Equal(got, want) {
				t.Errorf("registry:\n%s\nwant (mesh.Load on disk):\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			joined := strings.Join(got, "\n")
			if !strings.Contains(joined, "x.extra extra/product.yml") || strings.Contains(joined, "pricing") {
				t.Errorf("want the product found by content and pricing excluded:\n%s", joined)
			}
			for _, r := range e.fake.Requests() {
				if strings.Contains(r.Path, "/contents/pricing/") {
					t.Errorf("fetched an excluded file: %s", r.Path)
				}
			}
			if mark, _ := e.store.Mark(ctx, ghsource.ConfigMark(7, "acme/mesh")); mark != "file:"+config {
				t.Errorf("recorded configuration %q", mark)
			}

			delete(files, mesh.ConfigFile)
			e.repo.Commit("main", files)
			if err := e.ix.HandleIndex(ctx, jobs.Index{Installation: 7, Owner: "acme", Repo: "mesh"}, jobs.Meta{}); err != nil {
				t.Fatal(err)
			}
			if mark, _ := e.store.Mark(ctx, ghsource.ConfigMark(7, "acme/mesh")); mark != "none" {
				t.Errorf("recorded configuration %q after its removal, want none", mark)
			}
		})
	}
}

// TestPushOfWidenedNamesIsIndexed: a repository whose .meshbot.yaml
// includes other names than YAML and JSON has a push of such a file
// indexed; other pushes without YAML or JSON still cost nothing.
func TestPushOfWidenedNamesIsIndexed(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b)
			ctx := context.Background()
			files := meshFiles(t)
			files[mesh.ConfigFile] = []byte("discovery:\n  include: ['**/*.yaml', '**/*.dcs']\n")
			e.repo.Commit("main", files)
			if err := e.ix.HandleIndex(ctx, jobs.Index{Installation: 7, Owner: "acme", Repo: "mesh"}, jobs.Meta{}); err != nil {
				t.Fatal(err)
			}
			files["legacy/payments.dcs"] = []byte("apiVersion: mesh/v1\nkind: DataProduct\nmetadata: {name: payments, domain: legacy, owner: team-x}\nspec: {lifecycle: production}\n")
			sha := e.repo.Commit("main", files)
			before := len(e.fake.Requests())
			if err := e.ix.HandleIndex(ctx, jobs.Index{Installation: 7, Owner: "acme", Repo: "mesh", Ref: sha, Paths: []string{"docs/guide.md"}}, jobs.Meta{}); err != nil {
				t.Fatal(err)
			}
			if n := len(e.fake.Requests()) - before; n != 0 {
				t.Errorf("a push of a file nothing includes made %d API calls", n)
			}
			if err := e.ix.HandleIndex(ctx, jobs.Index{Installation: 7, Owner: "acme", Repo: "mesh", Ref: sha, Paths: []string{"legacy/payments.dcs"}}, jobs.Meta{}); err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(registry(t, e.store, 7), "\n"); !strings.Contains(got, "legacy.payments legacy/payments.dcs") {
				t.Errorf("the included file was not indexed:\n%s", got)
			}
		})
	}
}
