package backstage

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/meshbot/meshbot/internal/mesh"
	"github.com/meshbot/meshbot/internal/meshgen"
	"github.com/meshbot/meshbot/internal/store"
	"github.com/meshbot/meshbot/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite golden files")

// Installations and repositories the tests register.
const (
	instAcme   = int64(101)
	instGlobex = int64(202)
	repoAcme   = "acme/mesh"
	repoGlobex = "globex/data"
)

func loadMesh(t testing.TB, dir string) []*mesh.Product {
	t.Helper()
	m, err := mesh.Load(context.Background(), os.DirFS(dir))
	if err != nil {
		t.Fatalf("load %s: %v", dir, err)
	}
	if len(m.Problems) > 0 {
		t.Fatalf("load %s: %v", dir, m.Problems)
	}
	return m.Products
}

func exampleProducts(t testing.TB) []*mesh.Product {
	return loadMesh(t, filepath.Join(testutil.RepoRoot(t), "testdata", "mesh"))
}

// exampleRegistry is a real memory store holding the example mesh under
// installation instAcme (repository acme/mesh) and, when second is set, its
// finance and pricing products again under instGlobex: the same product ids
// in another organisation.
func exampleRegistry(t testing.TB, second bool) store.Store {
	t.Helper()
	st := store.NewMemory(store.Options{})
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	ps := exampleProducts(t)
	if err := st.PutRepo(ctx, instAcme, repoAcme, ps); err != nil {
		t.Fatal(err)
	}
	if second {
		var some []*mesh.Product
		for _, p := range ps {
			if p.Domain == "finance" || p.Domain == "pricing" {
				some = append(some, p)
			}
		}
		if err := st.PutRepo(ctx, instGlobex, repoGlobex, some); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

// generated is a 10,000-product mesh from meshgen, written to disk and
// loaded once per test binary (fstest.MapFS lists folders in quadratic
// time; a real folder loads in seconds).
var generated = sync.OnceValues(func() ([]*mesh.Product, error) {
	dir, err := os.MkdirTemp("", "meshbot-backstage-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := meshgen.Generate(dir, meshgen.Options{Products: 10_000, Fields: 8, Consumers: true, Seed: 4}); err != nil {
		return nil, err
	}
	m, err := mesh.Load(context.Background(), os.DirFS(dir))
	if err != nil {
		return nil, err
	}
	if len(m.Problems) > 0 {
		return nil, fmt.Errorf("generated mesh: %v", m.Problems[0])
	}
	for _, p := range m.Products {
		p.Repo = repoAcme
	}
	return m.Products, nil
})

func generatedProducts(t testing.TB) []*mesh.Product {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping the 10,000-product mesh in -short mode")
	}
	ps, err := generated()
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 10_000 {
		t.Fatalf("generated mesh has %d products, want 10000", len(ps))
	}
	return ps
}

// checkEntities asserts what Backstage requires of a set of entities and
// what the mapping promises: valid and unique names, resolvable relations,
// required annotations, valid tags, and every product, port and owner
// present.
func checkEntities(t *testing.T, products []*mesh.Product, es []Entity) {
	t.Helper()
	byRef := map[string]*Entity{}
	for i := range es {
		e := &es[i]
		r := strings.ToLower(e.Ref())
		if byRef[r] != nil {
			t.Errorf("duplicate entity %s", e.Ref())
		}
		byRef[r] = e
		if !ValidName(e.Metadata.Name) {
			t.Errorf("%s: invalid name", e.Ref())
		}
		if e.APIVersion != APIVersion || e.Metadata.Namespace == "" {
			t.Errorf("%s: apiVersion %q namespace %q", e.Ref(), e.APIVersion, e.Metadata.Namespace)
		}
		for _, k := range []string{AnnotationLocation, AnnotationOriginLocation} {
			v := e.Metadata.Annotations[k]
			if !strings.HasPrefix(v, "url:https://") {
				t.Errorf("%s: annotation %s = %q, want url:https://...", e.Ref(), k, v)
			}
		}
		for _, tag := range e.Metadata.Tags {
			if !ValidTag(tag) {
				t.Errorf("%s: invalid tag %q", e.Ref(), tag)
			}
		}
		for _, l := range e.Metadata.Links {
			if !strings.HasPrefix(l.URL, "https://") {
				t.Errorf("%s: link %q", e.Ref(), l.URL)
			}
		}
	}
	mustKind := func(from, target, kind string) {
		t.Helper()
		e := byRef[strings.ToLower(target)]
		if e == nil || e.Kind != kind {
			t.Errorf("%s refers to %s, which is not a %s entity of the response", from, target, kind)
		}
	}
	for _, e := range es {
		s := e.Spec
		switch e.Kind {
		case KindDomain:
			mustKind(e.Ref(), s.Owner, KindGroup)
		case KindGroup:
			if s.Type != GroupType || s.Children == nil {
				t.Errorf("%s: group spec %+v", e.Ref(), s)
			}
		case KindSystem:
			mustKind(e.Ref(), s.Owner, KindGroup)
			if s.Domain != "" {
				mustKind(e.Ref(), s.Domain, KindDomain)
			}
		case KindComponent:
			mustKind(e.Ref(), s.Owner, KindGroup)
			mustKind(e.Ref(), s.System, KindSystem)
			for _, a := range append(slices.Clone(s.ProvidesAPIs), s.ConsumesAPIs...) {
				mustKind(e.Ref(), a, KindAPI)
			}
			if s.Lifecycle == "" || s.Type == "" {
				t.Errorf("%s: spec %+v", e.Ref(), s)
			}
		case KindAPI:
			mustKind(e.Ref(), s.Owner, KindGroup)
			mustKind(e.Ref(), s.System, KindSystem)
			if s.Lifecycle == "" || s.Type == "" || strings.TrimSpace(s.Definition) == "" {
				t.Errorf("%s: spec type %q lifecycle %q, definition %d bytes", e.Ref(), s.Type, s.Lifecycle, len(s.Definition))
			}
		default:
			t.Errorf("unexpected kind %s", e.Kind)
		}
	}
	// Every product, port and owner is there, found by the annotations
	// that name them.
	type portKey struct{ product, port string }
	systems, apis, groups := map[string]int{}, map[portKey]int{}, map[string]bool{}
	for _, e := range es {
		switch e.Kind {
		case KindSystem:
			systems[e.Metadata.Annotations[AnnotationProduct]]++
		case KindAPI:
			apis[portKey{e.Metadata.Annotations[AnnotationProduct], e.Metadata.Annotations[AnnotationPort]}]++
		case KindGroup:
			groups[e.Metadata.Title] = true
		}
	}
	wantSystems, wantAPIs := map[string]int{}, map[portKey]int{}
	for _, p := range products {
		wantSystems[p.ID()]++
		slug, _ := teamSlug(p.Owner)
		if !groups[slug] {
			t.Errorf("owner %q of %s has no Group", p.Owner, p.ID())
		}
		for _, o := range p.OutputPorts {
			wantAPIs[portKey{p.ID(), o.Name}]++
		}
	}
	for id, n := range wantSystems {
		if systems[id] != n {
			t.Errorf("product %s: %d System entities, want %d", id, systems[id], n)
		}
	}
	for k, n := range wantAPIs {
		if apis[k] != n {
			t.Errorf("port %s/%s: %d API entities, want %d", k.product, k.port, apis[k], n)
		}
	}
}

func find(es []Entity, kind, name string) *Entity {
	for i := range es {
		if es[i].Kind == kind && es[i].Metadata.Name == name {
			return &es[i]
		}
	}
	return nil
}
