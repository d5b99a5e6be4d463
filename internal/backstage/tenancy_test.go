package backstage

import (
	"encoding/json"
	"regexp"
	"slices"
	"testing"

	"github.com/meshbot/meshbot/internal/mesh"
)

// tenantProducts is two organisations' meshes with the same domain and
// product names but different owners: acme's orders domain is team-orders',
// globex's is team-shipping's.
func tenantProducts() (acme, globex []*mesh.Product) {
	mk := func(repo, file, domain, name, owner string, ports ...string) *mesh.Product {
		p := &mesh.Product{Repo: repo, File: file, Domain: domain, Name: name, Owner: owner, Lifecycle: "production"}
		for _, o := range ports {
			p.OutputPorts = append(p.OutputPorts, &mesh.OutputPort{Name: o, Type: "kafka"})
		}
		return p
	}
	acmeConsumer := mk("acme/mesh", "c/dataproduct.yaml", "sales", "report", "team-sales")
	acmeConsumer.InputPorts = []*mesh.InputPort{{Product: "orders.events", Port: "stream"}}
	acme = []*mesh.Product{
		mk("acme/mesh", "a/dataproduct.yaml", "orders", "events", "team-orders", "stream"),
		mk("acme/mesh", "b/dataproduct.yaml", "orders", "returns", "team-orders", "stream"),
		acmeConsumer,
	}
	globexConsumer := mk("Globex/data", "c/dataproduct.yaml", "sales", "report", "@globex/team-sales")
	globexConsumer.InputPorts = []*mesh.InputPort{{Product: "orders.events", Port: "stream"}}
	globex = []*mesh.Product{
		mk("Globex/data", "a/dataproduct.yaml", "orders", "events", "team-shipping", "stream"),
		mk("Globex/data", "b/dataproduct.yaml", "orders", "returns", "team-shipping", "stream"),
		globexConsumer,
	}
	return acme, globex
}

var hashed = regexp.MustCompile(`-[0-9a-f]{8}$`)

func entityJSON(t *testing.T, es []Entity) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, e := range es {
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		out[e.Ref()] = string(b)
	}
	return out
}

// TestEntitiesTenancy: two organisations with the same domain, product and
// team names never share an entity, and an organisation's entities are the
// same whether or not the other organisation is in the answer.
func TestEntitiesTenancy(t *testing.T) {
	acme, globex := tenantProducts()
	both := Entities(append(slices.Clone(acme), globex...), Options{})
	checkEntities(t, append(slices.Clone(acme), globex...), both)

	for _, tc := range []struct {
		ref, owner string
	}{
		{"domain:acme/orders", "group:acme/team-orders"},
		{"domain:globex/orders", "group:globex/team-shipping"},
	} {
		var d *Entity
		for i := range both {
			if both[i].Ref() == tc.ref {
				d = &both[i]
			}
		}
		if d == nil {
			t.Errorf("no %s in the answer for both organisations", tc.ref)
			continue
		}
		if d.Spec.Owner != tc.owner {
			t.Errorf("%s owner %s, want %s", tc.ref, d.Spec.Owner, tc.owner)
		}
	}
	for _, want := range []string{
		"system:acme/orders.events", "system:globex/orders.events",
		"api:acme/orders.events--stream", "api:globex/orders.events--stream",
		"group:acme/team-sales", "group:globex/team-sales",
	} {
		if !slices.ContainsFunc(both, func(e Entity) bool { return e.Ref() == want }) {
			t.Errorf("no %s", want)
		}
	}
	for _, e := range both {
		if hashed.MatchString(e.Metadata.Name) {
			t.Errorf("%s: a hash suffix, though the organisations do not share a namespace", e.Ref())
		}
	}
	// Each consumer reads its own organisation's producer.
	for _, ns := range []string{"acme", "globex"} {
		c := find(both, KindComponent, "sales.report")
		for i := range both {
			if both[i].Ref() == "component:"+ns+"/sales.report" {
				c = &both[i]
			}
		}
		if want := []string{"api:" + ns + "/orders.events--stream"}; !slices.Equal(c.Spec.ConsumesAPIs, want) {
			t.Errorf("%s consumer reads %v, want %v", ns, c.Spec.ConsumesAPIs, want)
		}
	}

	// Stable: each organisation alone gives exactly its part of the joint
	// answer, in either order of installation.
	joint := entityJSON(t, both)
	reversed := entityJSON(t, Entities(append(slices.Clone(globex), acme...), Options{}))
	for _, part := range [][]*mesh.Product{acme, globex} {
		for ref, alone := range entityJSON(t, Entities(part, Options{})) {
			if joint[ref] != alone {
				t.Errorf("%s differs when the other organisation is installed:\nalone: %s\njoint: %s", ref, alone, joint[ref])
			}
			if reversed[ref] != alone {
				t.Errorf("%s differs with the installations in the other order", ref)
			}
		}
	}
}
