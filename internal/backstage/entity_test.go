package backstage

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/meshbot/meshbot/internal/mesh"
)

func TestEntitiesExampleGolden(t *testing.T) {
	st := exampleRegistry(t, false)
	ps, err := st.Products(context.Background(), instAcme)
	if err != nil {
		t.Fatal(err)
	}
	es := Entities(ps, Options{})
	checkEntities(t, ps, es)
	got, err := json.MarshalIndent(es, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	golden := filepath.Join("testdata", "example.golden.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run TestEntitiesExampleGolden -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("entities differ from %s (rerun with -update if the change is intended):\n%s", golden, firstDiff(string(want), string(got)))
	}
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < min(len(al), len(bl)); i++ {
		if al[i] != bl[i] {
			return "line " + strconv.Itoa(i+1) + ":\n- " + al[i] + "\n+ " + bl[i]
		}
	}
	return "lengths differ"
}

// TestEntitiesExampleMapping pins the parts of the mapping a user sees, on
// the example mesh: the consumption graph, lifecycles, deprecation,
// classification and links.
func TestEntitiesExampleMapping(t *testing.T) {
	ps := exampleProducts(t)
	for _, p := range ps {
		cp := *p
		cp.Repo = repoAcme
		*p = cp
	}
	// Namespace is for products without a repository; these have one, so
	// they go to their organisation's.
	es := Entities(ps, Options{GitHubURL: "https://ghe.example.com/", Namespace: "mesh"})
	checkEntities(t, ps, es)

	revenue := find(es, KindComponent, "finance.revenue")
	if revenue == nil {
		t.Fatal("no Component finance.revenue")
	}
	wantConsumes := []string{"api:acme/orders.order-events--iceberg-curated", "api:acme/pricing.price-list--prices"}
	if !slices.Equal(revenue.Spec.ConsumesAPIs, wantConsumes) {
		t.Errorf("revenue consumesApis = %v, want %v", revenue.Spec.ConsumesAPIs, wantConsumes)
	}
	if revenue.Spec.System != "system:acme/finance.revenue" || revenue.Spec.Owner != "group:acme/team-finance" {
		t.Errorf("revenue spec = %+v", revenue.Spec)
	}
	stock := find(es, KindComponent, "inventory.stock-levels")
	if stock == nil || !slices.Contains(stock.Spec.ConsumesAPIs, "api:acme/orders.order-events--iceberg-v1") {
		t.Errorf("stock-levels should consume the deprecated iceberg-v1 port: %+v", stock)
	}

	v1 := find(es, KindAPI, "orders.order-events--iceberg-v1")
	if v1 == nil {
		t.Fatal("no API for orders.order-events/iceberg-v1")
	}
	a := v1.Metadata.Annotations
	for k, want := range map[string]string{
		AnnotationSunset:         "2027-03-31",
		AnnotationReplacement:    "orders.order-events/iceberg-curated",
		AnnotationReplacementRef: "api:acme/orders.order-events--iceberg-curated",
		AnnotationLifecycle:      "deprecated",
		AnnotationContract:       "orders/data-products/order-events/contracts/order-events.v1.yaml",
		AnnotationLocation:       "url:https://ghe.example.com/acme/mesh/blob/HEAD/orders/data-products/order-events/dataproduct.yaml",
		AnnotationViewURL:        "https://ghe.example.com/acme/mesh/blob/HEAD/orders/data-products/order-events/contracts/order-events.v1.yaml",
	} {
		if a[k] != want {
			t.Errorf("iceberg-v1 annotation %s = %q, want %q", k, a[k], want)
		}
	}
	if v1.Spec.Lifecycle != "deprecated" || v1.Spec.Type != "iceberg" {
		t.Errorf("iceberg-v1 spec type %q lifecycle %q", v1.Spec.Type, v1.Spec.Lifecycle)
	}
	if !strings.Contains(v1.Metadata.Description, "sunset 2027-03-31") || !strings.Contains(v1.Metadata.Description, "use orders.order-events/iceberg-curated instead") {
		t.Errorf("iceberg-v1 description %q does not tell the deprecation", v1.Metadata.Description)
	}
	if !slices.Equal(v1.Metadata.Tags, []string{"pii", "residency-eu"}) {
		t.Errorf("iceberg-v1 tags = %v", v1.Metadata.Tags)
	}
	if !strings.Contains(v1.Spec.Definition, "order_id:") || !strings.HasPrefix(v1.Spec.Definition, "# Rendered by meshbot from orders/data-products/order-events/contracts/order-events.v1.yaml") {
		t.Errorf("iceberg-v1 definition does not render its contract:\n%s", v1.Spec.Definition)
	}
	if cur := find(es, KindAPI, "orders.order-events--iceberg-curated"); cur == nil || cur.Spec.Lifecycle != "production" || cur.Metadata.Annotations[AnnotationSunset] != "" {
		t.Errorf("iceberg-curated should be production without sunset: %+v", cur)
	}
	if k := find(es, KindAPI, "orders.order-events--kafka-realtime"); k == nil || k.Spec.Type != "kafka" || k.Metadata.Annotations[AnnotationTopic] != "orders.order-events.v2" {
		t.Errorf("kafka-realtime: %+v", k)
	}
	// Domain owner: the team owning most of the domain's products, ties
	// broken by name.
	if d := find(es, KindDomain, "customer"); d == nil || d.Spec.Owner != "group:acme/team-customer" {
		t.Errorf("domain customer: %+v", d)
	}
	if g := find(es, KindGroup, "team-orders"); g == nil || g.Metadata.Annotations[AnnotationTeamSlug] != "acme/team-orders" {
		t.Errorf("group team-orders: %+v", g)
	}
}

func TestLifecycleAndDeprecation(t *testing.T) {
	dep := &mesh.Deprecation{Sunset: "2027-01-31", Replacement: "x.new", Reason: "superseded."}
	tests := []struct {
		name          string
		product, port string
		pdep, odep    *mesh.Deprecation
		wantProduct   string
		wantPort      string
		wantSunset    string // on the API
	}{
		{"port inherits", "production", "", nil, nil, "production", "production", ""},
		{"port overrides", "production", "experimental", nil, nil, "production", "experimental", ""},
		{"unstated is experimental", "", "", nil, nil, "experimental", "experimental", ""},
		{"deprecated product deprecates ports", "deprecated", "production", dep, nil, "deprecated", "deprecated", "2027-01-31"},
		{"deprecation without lifecycle", "", "", dep, nil, "deprecated", "deprecated", "2027-01-31"},
		{"port deprecation only", "production", "", nil, dep, "production", "deprecated", "2027-01-31"},
		{"case as written", "Production", "", nil, nil, "production", "production", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &mesh.Product{Repo: "o/r", File: "x/dataproduct.yaml", Domain: "x", Name: "old", Owner: "t",
				Lifecycle: tc.product, Deprecation: tc.pdep,
				OutputPorts: []*mesh.OutputPort{{Name: "p", Type: "Iceberg Table", Lifecycle: tc.port, Deprecation: tc.odep}}}
			q := &mesh.Product{Repo: "o/r", File: "y/dataproduct.yaml", Domain: "x", Name: "new", Owner: "t"}
			es := Entities([]*mesh.Product{p, q}, Options{})
			checkEntities(t, []*mesh.Product{p, q}, es)
			c, a := find(es, KindComponent, "x.old"), find(es, KindAPI, "x.old--p")
			if c.Spec.Lifecycle != tc.wantProduct || a.Spec.Lifecycle != tc.wantPort {
				t.Errorf("lifecycles component %q api %q, want %q %q", c.Spec.Lifecycle, a.Spec.Lifecycle, tc.wantProduct, tc.wantPort)
			}
			if got := a.Metadata.Annotations[AnnotationSunset]; got != tc.wantSunset {
				t.Errorf("api sunset %q, want %q", got, tc.wantSunset)
			}
			if a.Spec.Type != "iceberg-table" {
				t.Errorf("api type %q", a.Spec.Type)
			}
			if tc.pdep != nil {
				if got := c.Metadata.Annotations[AnnotationReplacementRef]; got != "system:o/x.new" {
					t.Errorf("replacement ref %q", got)
				}
				if !strings.HasSuffix(c.Metadata.Description, "Reason: superseded.") {
					t.Errorf("description %q", c.Metadata.Description)
				}
			}
		})
	}
}

// TestEntitiesDisambiguate: names that collide (same product id in two
// organisations, ids that differ only in case or in characters Backstage
// does not allow, ids too long) stay unique, valid and stable.
func TestEntitiesDisambiguate(t *testing.T) {
	long := strings.Repeat("very-long-domain-name", 4)
	mk := func(repo, file, domain, name, owner string, ports ...string) *mesh.Product {
		p := &mesh.Product{Repo: repo, File: file, Domain: domain, Name: name, Owner: owner, Lifecycle: "production"}
		for _, o := range ports {
			p.OutputPorts = append(p.OutputPorts, &mesh.OutputPort{Name: o, Type: "kafka"})
		}
		return p
	}
	consumerA := mk("acme/a", "c/dataproduct.yaml", "sales", "consumer", "team-x")
	consumerA.InputPorts = []*mesh.InputPort{{Product: "orders.events", Port: "stream"}, {Product: "nowhere.none", Port: "p"}}
	ps := []*mesh.Product{
		mk("acme/a", "a/dataproduct.yaml", "orders", "events", "@acme/team-x", "stream"),
		mk("globex/b", "b/dataproduct.yaml", "orders", "events", "globex/team-x", "stream"),
		mk("acme/a", "d/dataproduct.yaml", "Orders", "Events", "team-y", "Stream"),
		mk("acme/a", "e/dataproduct.yaml", "orders", "évents", "team-y", "stream"),
		mk("acme/a", "f/dataproduct.yaml", long, "product-one", "team-y", "port"),
		mk("acme/a", "g/dataproduct.yaml", long, "product-two", "team-y", "port"),
		mk("acme/a", "h/dataproduct.yaml", "orders", "dup-ports", "", "p", "p"),
	}
	consumerB := mk("globex/b", "c/dataproduct.yaml", "sales", "consumer2", "team-z")
	consumerB.InputPorts = []*mesh.InputPort{{Product: "orders.events", Port: "stream"}}
	ps = append(ps, consumerA, consumerB)
	es := Entities(ps, Options{})
	checkEntities(t, ps, es)

	systems := map[string]string{} // file → name
	for _, e := range es {
		if e.Kind == KindSystem {
			systems[e.Metadata.Annotations[AnnotationLocation]] = e.Metadata.Name
		}
	}
	loc := func(repo, file string) string { return "url:https://github.com/" + repo + "/blob/HEAD/" + file }
	if n := systems[loc("acme/a", "a/dataproduct.yaml")]; n != "orders.events" {
		t.Errorf("first claimant should keep its name, got %q", n)
	}
	if n := systems[loc("globex/b", "b/dataproduct.yaml")]; n != "orders.events" {
		t.Errorf("orders.events of another organisation (its own namespace) should keep its name, got %q", n)
	}
	if n := systems[loc("acme/a", "d/dataproduct.yaml")]; !strings.HasPrefix(n, "Orders.Events-") {
		t.Errorf("case-insensitive collision should get a hash suffix, got %q", n)
	}
	if n := systems[loc("acme/a", "e/dataproduct.yaml")]; n != "orders.-vents" {
		t.Errorf("invalid characters: got %q", n)
	}
	one, two := systems[loc("acme/a", "f/dataproduct.yaml")], systems[loc("acme/a", "g/dataproduct.yaml")]
	if len(one) > maxName || len(two) > maxName || one == two {
		t.Errorf("long ids: %q %q", one, two)
	}
	// Consumers resolve to the producer of their own organisation.
	if c := find(es, KindComponent, "sales.consumer"); !slices.Equal(c.Spec.ConsumesAPIs, []string{"api:acme/orders.events--stream"}) || c.Metadata.Annotations[AnnotationUnresolved] != "nowhere.none/p" {
		t.Errorf("acme consumer: %+v %v", c.Spec.ConsumesAPIs, c.Metadata.Annotations[AnnotationUnresolved])
	}
	c2 := find(es, KindComponent, "sales.consumer2")
	if !slices.Equal(c2.Spec.ConsumesAPIs, []string{"api:globex/orders.events--stream"}) {
		t.Errorf("globex consumer should read globex's orders.events: %v", c2.Spec.ConsumesAPIs)
	}
	// Team x of two organisations is two Groups, each in its
	// organisation's namespace with its team-slug; the product without
	// owner is owned by "unowned".
	var teamX []string
	for _, e := range es {
		if e.Kind == KindGroup && e.Metadata.Name == "team-x" {
			teamX = append(teamX, e.Ref()+" "+e.Metadata.Annotations[AnnotationTeamSlug])
		}
	}
	if want := []string{"group:acme/team-x acme/team-x", "group:globex/team-x globex/team-x"}; !slices.Equal(teamX, want) {
		t.Errorf("team-x groups %v, want %v", teamX, want)
	}
	if find(es, KindGroup, "unowned") == nil {
		t.Error("no unowned group")
	}
	// Deterministic: the same input gives the same names.
	again := Entities(ps, Options{})
	for i := range es {
		if es[i].Ref() != again[i].Ref() {
			t.Fatalf("entity %d: %s then %s", i, es[i].Ref(), again[i].Ref())
		}
	}
}

func TestEntitiesGenerated(t *testing.T) {
	ps := generatedProducts(t)
	es := Entities(ps, Options{})
	checkEntities(t, ps, es)
	consumes := 0
	for _, e := range es {
		consumes += len(e.Spec.ConsumesAPIs)
	}
	inputs := 0
	for _, p := range ps {
		inputs += len(p.InputPorts)
	}
	if consumes != inputs {
		t.Errorf("%d consumesApis for %d input ports", consumes, inputs)
	}
}

func TestWriteMatchesEntities(t *testing.T) {
	ps := exampleProducts(t)
	for _, gz := range []bool{false, true} {
		var buf bytes.Buffer
		n, err := Write(context.Background(), &buf, ps, WriteOptions{Installations: []Installation{{ID: 7, Version: 3}}, Gzip: gz})
		if err != nil {
			t.Fatal(err)
		}
		raw := buf.Bytes()
		if gz {
			raw = gunzip(t, raw)
		}
		if int64(len(raw)) != n {
			t.Errorf("gzip=%t: Write says %d bytes, wrote %d", gz, n, len(raw))
		}
		var r Response
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatalf("gzip=%t: %v", gz, err)
		}
		want := Entities(ps, Options{})
		gotJSON, _ := json.Marshal(r.Entities)
		wantJSON, _ := json.Marshal(want)
		if !bytes.Equal(gotJSON, wantJSON) || r.APIVersion != ResponseVersion || len(r.Installations) != 1 || r.Installations[0] != (Installation{7, 3}) {
			t.Errorf("gzip=%t: Write's body differs from Entities", gz)
		}
	}
}

func TestWebURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://api.github.com/":           "https://github.com",
		"https://ghe.example.com/api/v3/":   "https://ghe.example.com",
		"http://127.0.0.1:9999/":            "http://127.0.0.1:9999",
		"":                                  "https://github.com",
		"https://ghe.example.com:8443/api/": "https://ghe.example.com:8443",
	} {
		if got := WebURL(in); got != want {
			t.Errorf("WebURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestAppendJSONMatchesEncodingJSON holds the hand-written encoder to
// encoding/json, byte for byte, on every entity of the example mesh, on
// hostile strings, and on the generated mesh.
func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	es := Entities(exampleProducts(t), Options{})
	hostile := Entity{APIVersion: "a\"b\\c", Kind: "K\x00\x01\x1f\b\f\n\r\t", Metadata: Metadata{
		Name: "<&>", Title: "\u2028\u2029 é 日本 \xff\xfe", Description: "\x7f",
		Annotations: map[string]string{"z": "1", "a": "2", "": ""}, Tags: []string{}, Links: []Link{{URL: "u"}},
	}, Spec: Spec{Children: []string{}}}
	es = append(es, hostile, Entity{})
	if !testing.Short() {
		es = append(es, Entities(generatedProducts(t)[:500], Options{})...)
	}
	for i := range es {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(&es[i]); err != nil {
			t.Fatal(err)
		}
		got := es[i].appendJSON(nil)
		if !bytes.Equal(append(got, '\n'), want.Bytes()) {
			t.Fatalf("entity %d (%s):\n got %s\nwant %s", i, es[i].Ref(), got, want.Bytes())
		}
	}
}

// manyProducts clones the example mesh n times under other names: enough
// products for many chunks, without loading the generated mesh.
func manyProducts(t testing.TB, n int) []*mesh.Product {
	base := exampleProducts(t)
	var out []*mesh.Product
	for i := range n {
		for _, p := range base {
			cp := *p
			cp.Repo = repoAcme
			cp.Name = p.Name + "-" + strconv.Itoa(i)
			cp.File = strconv.Itoa(i) + "/" + p.File
			out = append(out, &cp)
		}
	}
	return out
}

// TestWriteParallel: the chunked, parallel build writes exactly what a
// sequential one would, every time; a cancelled build stops with an error.
func TestWriteParallel(t *testing.T) {
	ps := manyProducts(t, 60) // 360 products, 6 chunks
	want, _ := json.Marshal(Entities(ps, Options{}))
	for run := range 3 {
		for _, gz := range []bool{false, true} {
			var buf bytes.Buffer
			if _, err := Write(context.Background(), &buf, ps, WriteOptions{Gzip: gz, NoGroups: run == 2}); err != nil {
				t.Fatal(err)
			}
			raw := buf.Bytes()
			if gz {
				raw = gunzip(t, raw)
			}
			var r Response
			if err := json.Unmarshal(raw, &r); err != nil {
				t.Fatalf("run %d gzip=%t: %v", run, gz, err)
			}
			if run == 2 {
				for _, e := range r.Entities {
					if e.Kind == KindGroup {
						t.Fatalf("NoGroups wrote %s", e.Ref())
					}
				}
				continue
			}
			got, _ := json.Marshal(r.Entities)
			if !bytes.Equal(got, want) {
				t.Fatalf("run %d gzip=%t: parallel output differs from the sequential entities", run, gz)
			}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Write(ctx, io.Discard, ps, WriteOptions{Gzip: true}); err == nil {
		t.Error("a cancelled build reported success")
	}
}
