package e2e_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meshbot/meshbot/internal/backstage"
	"github.com/meshbot/meshbot/internal/ghfake/ghfaketest"
	"github.com/meshbot/meshbot/internal/mesh"
	"github.com/meshbot/meshbot/internal/meshgen"
	"github.com/meshbot/meshbot/internal/store"
	"github.com/meshbot/meshbot/internal/testutil"
)

// TestBackstageIngestsTheMesh is the proof that a real Backstage shows the
// mesh: a fake GitHub holds the example mesh, the real `meshbot serve`
// indexes it on a signed installation delivery, and a real Backstage backend
// (backend-defaults, the catalog plugin and our module, on PostgreSQL) reads
// meshbot's provider endpoint. The catalog must then hold every product,
// port and owner, with every relation pointing at an entity that exists,
// lifecycles as written, and no processing error.
//
// It also runs the module's own checks (tsc --strict and its unit tests),
// since it builds the module anyway. Skipped when node or npm is missing,
// except under CI=true.
func TestBackstageIngestsTheMesh(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping: starts meshbot and a Backstage backend (-short)")
	}
	requireNode(t)
	root := testutil.RepoRoot(t)
	moduleDir := filepath.Join(root, "plugin-manifest", "backstage")
	payload, err := os.ReadFile(testutil.Shared(t, "external/github/webhooks/installation/created.payload.json"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()

	// The npm install is the slow part; it runs while meshbot indexes.
	npmDone := make(chan error, 1)
	npmCtx, stopNpm := context.WithCancel(ctx)
	go func() { npmDone <- prepareModule(npmCtx, t, moduleDir) }()
	npmWaited := false
	t.Cleanup(func() {
		// A test that failed early must not end while npm still logs to it.
		stopNpm()
		if !npmWaited {
			<-npmDone
		}
	})

	example, err := mesh.Load(ctx, os.DirFS(filepath.Join(root, "testdata", "mesh")))
	if err != nil {
		t.Fatalf("load the example mesh: %v", err)
	}

	const (
		appID   = 5150
		inst    = 4711
		account = "acme"
		repo    = "acme/data-mesh"
	)
	fake := ghfaketest.New(t, appID)
	fake.AddInstallation(inst, account)
	r := fake.AddRepo(inst, repo, "main")
	if _, err := r.CommitDir("main", filepath.Join(root, "testdata", "mesh")); err != nil {
		t.Fatal(err)
	}

	secret, token := randomHex(t, 16), randomHex(t, 16)
	mb := startMeshbot(ctx, t, root, map[string]string{
		"GITHUB_APP_ID":           fmt.Sprint(appID),
		"GITHUB_PRIVATE_KEY":      string(ghfaketest.PEM()),
		"GITHUB_WEBHOOK_SECRET":   secret,
		"GITHUB_API_URL":          fake.URL(),
		"MESHBOT_BACKSTAGE_TOKEN": token,
	})
	deliver(t, mb.url, secret, "installation", installedPayload(t, payload, inst, account, r.ID(), repo))

	var served []bsEntity
	eventually(ctx, t, 60*time.Second, "meshbot's endpoint serves every product of the example mesh", func() (bool, string) {
		served = meshbotEntities(t, mb.url, token)
		missing := missingProducts(example, served)
		return len(missing) == 0, fmt.Sprintf("%d entities, products missing: %v", len(served), missing)
	})

	npmWaited = true
	if err := <-npmDone; err != nil {
		t.Fatal(err)
	}
	bs := startBackstage(ctx, t, moduleDir, mb.url, token)

	var got []bsEntity
	eventually(ctx, t, 120*time.Second, "Backstage holds every entity meshbot serves, with resolved relations", func() (bool, string) {
		got = bs.entities(t)
		problems := ingestionProblems(served, got)
		return len(problems) == 0, strings.Join(problems, "; ")
	})

	checkMesh(t, example, got)

	// The mesh does not change any more: the next reads send the ETag back,
	// meshbot answers 304 and the module leaves the catalog alone.
	eventually(ctx, t, 20*time.Second, "the module's next reads of meshbot are answered 304", func() (bool, string) {
		n := bs.logCount(t, "meshbot:default: mesh unchanged")
		return n >= 2, fmt.Sprintf("%d unchanged reads logged", n)
	})
	if n := bs.logCount(t, "meshbot:default: applied"); n != 1 {
		t.Errorf("the module applied meshbot's entities %d times; want once, then 304s", n)
	}
	if errs := bs.processingErrors(t); len(errs) > 0 {
		t.Errorf("Backstage logged processing errors:\n%s", strings.Join(errs, "\n"))
	}
	for _, e := range got {
		if e.Status != nil {
			for _, it := range e.Status.Items {
				if it.Level == "error" {
					t.Errorf("%s: status error %s: %s", e.ref(), it.Type, it.Error.Message)
				}
			}
		}
	}
	t.Logf("Backstage ingested %d entities (%s) for %d products", len(got), countKinds(got), len(example.Products))
}

// checkMesh asserts, from the descriptors themselves, that every product,
// port and owner is in the catalog with its lifecycle and its consumption.
func checkMesh(t *testing.T, m *mesh.Mesh, got []bsEntity) {
	t.Helper()
	byRef := map[string]*bsEntity{}
	for i := range got {
		byRef[got[i].ref()] = &got[i]
	}
	find := func(kind, product, port string) *bsEntity {
		for i := range got {
			e := &got[i]
			if strings.EqualFold(e.Kind, kind) && e.Metadata.Annotations[backstage.AnnotationProduct] == product &&
				(port == "" || e.Metadata.Annotations[backstage.AnnotationPort] == port) {
				return e
			}
		}
		return nil
	}
	deprecated, deprecatedProducts := 0, 0
	for _, p := range m.Products {
		id := p.ID()
		sys, comp := find("System", id, ""), find("Component", id, "")
		if sys == nil || comp == nil {
			t.Errorf("%s: System %v, Component %v: want both in the catalog", id, sys != nil, comp != nil)
			continue
		}
		wantDeprecated := p.Lifecycle == "deprecated" || p.Deprecation != nil
		if wantDeprecated {
			deprecatedProducts++
			if p.Deprecation != nil && sys.Metadata.Annotations[backstage.AnnotationSunset] != p.Deprecation.Sunset {
				t.Errorf("%s: sunset annotation %q, descriptor says %q", sys.ref(), sys.Metadata.Annotations[backstage.AnnotationSunset], p.Deprecation.Sunset)
			}
		}
		for _, e := range []*bsEntity{sys, comp} {
			lc, _ := e.Spec["lifecycle"].(string)
			if e.Kind == "Component" && (lc == "deprecated") != wantDeprecated {
				t.Errorf("%s: lifecycle %q, descriptor says %q (deprecation %v)", e.ref(), lc, p.Lifecycle, p.Deprecation != nil)
			}
			if wantDeprecated {
				deprecated++
			}
			owners := e.targets("ownedBy")
			slug := p.Owner[strings.LastIndex(p.Owner, "/")+1:]
			// Every entity of the mesh is in its organisation's namespace.
			if len(owners) != 1 || !strings.EqualFold(owners[0], "group:"+backstage.OrgNamespace(repoOwnerOf(p.Repo, "acme"))+"/"+slug) {
				t.Errorf("%s: ownedBy %v, want the Group of %q", e.ref(), owners, p.Owner)
			} else if byRef[strings.ToLower(owners[0])] == nil {
				t.Errorf("%s: owner %s is not in the catalog", e.ref(), owners[0])
			}
		}
		if !slices.Contains(comp.targets("partOf"), sys.ref()) {
			t.Errorf("%s: partOf %v, want its System %s", comp.ref(), comp.targets("partOf"), sys.ref())
		}
		for _, o := range p.OutputPorts {
			api := find("API", id, o.Name)
			if api == nil {
				t.Errorf("%s/%s: no API in the catalog", id, o.Name)
				continue
			}
			if !slices.Contains(comp.targets("providesApi"), api.ref()) {
				t.Errorf("%s: providesApi %v, want %s (port %s)", comp.ref(), comp.targets("providesApi"), api.ref(), o.Name)
			}
			if !slices.Contains(api.targets("partOf"), sys.ref()) {
				t.Errorf("%s: partOf %v, want %s", api.ref(), api.targets("partOf"), sys.ref())
			}
			if def, _ := api.Spec["definition"].(string); strings.TrimSpace(def) == "" {
				t.Errorf("%s: empty definition", api.ref())
			}
			portDeprecated := wantDeprecated || o.Lifecycle == "deprecated" || o.Deprecation != nil
			if lc, _ := api.Spec["lifecycle"].(string); (lc == "deprecated") != portDeprecated {
				t.Errorf("%s: lifecycle %q, descriptor says port %q, product %q", api.ref(), lc, o.Lifecycle, p.Lifecycle)
			}
			if portDeprecated {
				deprecated++
				if o.Deprecation != nil && api.Metadata.Annotations[backstage.AnnotationSunset] == "" {
					t.Errorf("%s: deprecated port without its sunset annotation", api.ref())
				}
			}
		}
		for _, in := range p.InputPorts {
			api := find("API", in.Product, in.Port)
			if api == nil {
				continue // reads a product outside the mesh; nothing to relate
			}
			if !slices.Contains(comp.targets("consumesApi"), api.ref()) {
				t.Errorf("%s: consumesApi %v, want %s (input port %s reads %s/%s)", comp.ref(), comp.targets("consumesApi"), api.ref(), in.Name, in.Product, in.Port)
			}
			if !slices.Contains(api.targets("apiConsumedBy"), comp.ref()) {
				t.Errorf("%s: apiConsumedBy %v, want %s", api.ref(), api.targets("apiConsumedBy"), comp.ref())
			}
		}
	}
	if deprecated == 0 || deprecatedProducts == 0 {
		t.Errorf("the example mesh has %d deprecated products and %d deprecated entities: this test would not see a lost lifecycle", deprecatedProducts, deprecated)
	}
}

// ingestionProblems is empty once the catalog holds exactly what meshbot
// serves and every relation of it points at an entity in the catalog.
func ingestionProblems(served, got []bsEntity) []string {
	have := map[string]*bsEntity{}
	for i := range got {
		have[got[i].ref()] = &got[i]
	}
	var problems []string
	for _, e := range served {
		if have[e.ref()] == nil {
			problems = append(problems, "missing "+e.ref())
		}
	}
	if len(got) != len(served) {
		problems = append(problems, fmt.Sprintf("catalog holds %d entities, meshbot serves %d", len(got), len(served)))
	}
	for _, e := range got {
		if len(e.Relations) == 0 && e.Kind != "Domain" {
			problems = append(problems, e.ref()+" has no relations yet")
		}
		for _, rel := range e.Relations {
			if have[strings.ToLower(rel.TargetRef)] == nil {
				problems = append(problems, fmt.Sprintf("%s %s %s: target not in the catalog", e.ref(), rel.Type, rel.TargetRef))
			}
		}
	}
	if len(problems) > 12 {
		problems = append(problems[:12], fmt.Sprintf("... %d more", len(problems)-12))
	}
	return problems
}

func missingProducts(m *mesh.Mesh, served []bsEntity) []string {
	var missing []string
	for _, p := range m.Products {
		if !slices.ContainsFunc(served, func(e bsEntity) bool {
			return e.Kind == "System" && e.Metadata.Annotations[backstage.AnnotationProduct] == p.ID()
		}) {
			missing = append(missing, p.ID())
		}
	}
	return missing
}

// repoOwnerOf is the organisation of repo, or def for a product loaded
// from disk (which has no repository).
func repoOwnerOf(repo, def string) string {
	if owner, _, ok := strings.Cut(repo, "/"); ok {
		return owner
	}
	return def
}

func countKinds(es []bsEntity) string {
	n := map[string]int{}
	for _, e := range es {
		n[e.Kind]++
	}
	var parts []string
	for _, k := range []string{"Domain", "Group", "System", "Component", "API"} {
		parts = append(parts, fmt.Sprintf("%d %s", n[k], k))
		delete(n, k)
	}
	for k, c := range n {
		parts = append(parts, fmt.Sprintf("%d %s", c, k))
	}
	return strings.Join(parts, ", ")
}

// meshbotEntities reads meshbot's provider endpoint as Backstage does.
func meshbotEntities(t *testing.T, base, token string) []bsEntity {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+backstage.Path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	var body struct {
		Entities []bsEntity `json:"entities"`
	}
	if code := getJSON(t, req, &body); code != http.StatusOK {
		t.Logf("GET %s: %d", req.URL, code)
		return nil
	}
	return body.Entities
}

// getJSON does req and decodes a 200 answer into v; it returns the status
// (0 when meshbot or Backstage is not reachable yet).
func getJSON(t *testing.T, req *http.Request, v any) int {
	t.Helper()
	c := &http.Client{Timeout: 20 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatalf("GET %s: decode: %v", req.URL, err)
		}
	}
	return resp.StatusCode
}

// bsEntity is a catalog entity as Backstage's API returns it: meshbot's
// fields plus what the catalog adds (relations, status).
type bsEntity struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name        string            `json:"name"`
		Namespace   string            `json:"namespace"`
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata"`
	Spec      map[string]any `json:"spec"`
	Relations []struct {
		Type      string `json:"type"`
		TargetRef string `json:"targetRef"`
	} `json:"relations"`
	Status *struct {
		Items []struct {
			Type  string `json:"type"`
			Level string `json:"level"`
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
		} `json:"items"`
	} `json:"status"`
}

// ref is kind:namespace/name, lower-cased as Backstage compares refs.
func (e *bsEntity) ref() string {
	ns := e.Metadata.Namespace
	if ns == "" {
		ns = "default"
	}
	return strings.ToLower(e.Kind + ":" + ns + "/" + e.Metadata.Name)
}

func (e *bsEntity) targets(relType string) []string {
	var out []string
	for _, r := range e.Relations {
		if r.Type == relType {
			out = append(out, strings.ToLower(r.TargetRef))
		}
	}
	slices.Sort(out)
	return out
}

func randomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// eventually polls cond every half second until it holds, failing with the
// last explanation cond gave when within passes.
func eventually(ctx context.Context, t *testing.T, within time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	start := time.Now()
	deadline := start.Add(within)
	var why string
	for {
		var ok bool
		if ok, why = cond(); ok {
			t.Logf("%s: after %s", what, time.Since(start).Round(100*time.Millisecond))
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("%s: not within %s: %s", what, within, why)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// BenchmarkBackstageModuleMemory measures the catalog module's memory
// reading meshbot's real provider endpoint (the handler meshbot serve
// mounts, over HTTP, on a memory registry of a generated mesh): a first,
// full read, then a read after 1% of the products changed and 1% went away
// (a delta for the paged module). Metrics: the peak of V8's heap and external
// memory above the baseline during each read (sampled every millisecond),
// and the node process's peak RSS (which V8's lazy collection inflates on a
// machine with memory to spare). MESHBOT_MODULE_DIST measures another build
// of the module, for a before/after comparison; MESHBOT_NODE_HEAP_MB=64,128
// also runs each build with V8's old space capped at those sizes
// (--max-old-space-size) and logs which caps the reads survive:
//
//	go test ./internal/e2e -run '^$' -bench BackstageModuleMemory -benchtime 1x
func BenchmarkBackstageModuleMemory(b *testing.B) {
	requireNodeB(b)
	root := testutil.RepoRoot(b)
	moduleDir := filepath.Join(root, "plugin-manifest", "backstage")
	if _, err := os.Stat(filepath.Join(moduleDir, "dist", "provider.js")); err != nil && os.Getenv("MESHBOT_MODULE_DIST") == "" {
		b.Skipf("skipping: build the module first (npm ci && npm run build in %s): %v", moduleDir, err)
	}
	for _, n := range []int{10_000, 50_000} {
		b.Run(fmt.Sprintf("products=%d", n), func(b *testing.B) {
			ctx := context.Background()
			dir := b.TempDir()
			if err := meshgen.Generate(dir, meshgen.Options{Products: n, Fields: 8, Consumers: true, Seed: 4}); err != nil {
				b.Fatal(err)
			}
			m, err := mesh.Load(ctx, os.DirFS(dir))
			if err != nil {
				b.Fatal(err)
			}
			const inst, repo = 7, "acme/mesh"
			for _, p := range m.Products {
				p.Repo = repo
			}
			st := store.NewMemory(store.Options{})
			defer st.Close()
			if err := st.PutRepo(ctx, inst, repo, m.Products); err != nil {
				b.Fatal(err)
			}
			token := randomHex(b, 16)
			mux := http.NewServeMux()
			mux.Handle(backstage.Path, backstage.NewProvider(st, backstage.HandlerOptions{Token: token, Logger: slog.New(slog.DiscardHandler)}))
			mux.HandleFunc("/mutate", func(w http.ResponseWriter, r *http.Request) {
				// 1% of the products change their description, 1% go away.
				ps := slices.Clone(m.Products[:len(m.Products)-n/100])
				for i := 0; i < n/100; i++ {
					cp := *ps[i*50]
					cp.Description += " (changed)"
					ps[i*50] = &cp
				}
				if err := st.PutRepo(r.Context(), inst, repo, ps); err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
				}
			})
			srv := httptest.NewServer(mux)
			defer srv.Close()
			builds := []string{filepath.Join(moduleDir, "dist")}
			if other := os.Getenv("MESHBOT_MODULE_DIST"); other != "" {
				builds = append(builds, other)
			}
			for i, dist := range builds {
				name := "module=current"
				if i > 0 {
					name = "module=MESHBOT_MODULE_DIST"
				}
				b.Run(name, func(b *testing.B) {
					for b.Loop() {
						if err := st.PutRepo(ctx, inst, repo, m.Products); err != nil {
							b.Fatal(err)
						}
						if err := moduleMemory(b, moduleDir, dist, srv.URL, token, ""); err != nil {
							b.Fatal(err)
						}
					}
					for heapMB := range strings.SplitSeq(os.Getenv("MESHBOT_NODE_HEAP_MB"), ",") {
						if heapMB = strings.TrimSpace(heapMB); heapMB == "" {
							continue
						}
						if err := st.PutRepo(ctx, inst, repo, m.Products); err != nil {
							b.Fatal(err)
						}
						if err := moduleMemory(b, moduleDir, dist, srv.URL, token, "--max-old-space-size="+heapMB); err != nil {
							b.Logf("old space capped at %s MB: the reads fail (%v)", heapMB, err)
						} else {
							b.Logf("old space capped at %s MB: both reads succeed", heapMB)
						}
					}
				})
			}
		})
	}
}

// moduleMemory runs e2e/memory.js with the module build dist (and the node
// flag, when given) and reports what it measured.
func moduleMemory(b *testing.B, moduleDir, dist, url, token, flag string) error {
	args := []string{"--expose-gc", filepath.Join("e2e", "memory.js"), url, token, url + "/mutate"}
	if flag != "" {
		args = append([]string{flag}, args...)
	}
	cmd := exec.Command("node", args...)
	cmd.Dir = moduleDir
	cmd.Env = append(os.Environ(), "MESHBOT_MODULE_DIST="+dist)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("e2e/memory.js %s: %v\n%s%s", flag, err, out, tail([]byte(stderr.String()), 300))
	}
	if flag != "" {
		return nil
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var r struct {
			Read       int     `json:"read"`
			Mutation   string  `json:"mutation"`
			Entities   int     `json:"entities"`
			PeakHeapMB float64 `json:"peakHeapMB"`
			RetainedMB float64 `json:"retainedMB"`
			MaxRssMB   float64 `json:"maxRssMB"`
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			b.Fatalf("e2e/memory.js printed %q: %v", line, err)
		}
		b.Logf("read %d (%s, %d entities): peak heap %.1f MB, retained %.1f MB, peak RSS %.1f MB", r.Read, r.Mutation, r.Entities, r.PeakHeapMB, r.RetainedMB, r.MaxRssMB)
		b.ReportMetric(r.PeakHeapMB, fmt.Sprintf("read%d-heap-MB", r.Read))
		b.ReportMetric(r.MaxRssMB, fmt.Sprintf("read%d-rss-MB", r.Read))
	}
	return nil
}

// requireNodeB is requireNode for benchmarks.
func requireNodeB(b *testing.B) {
	b.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		b.Skipf("skipping: node is not installed: %v", err)
	}
}
