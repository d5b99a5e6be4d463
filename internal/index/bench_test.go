package index

import (
	"context"
	"fmt"
	"testing"

	"github.com/meshbot/meshbot/internal/jobs"
	"github.com/meshbot/meshbot/internal/meshgen"
)

// BenchmarkIndexRepo indexes one repository of generated products against
// the local fake (real HTTP, token, JSON and base64 as GitHub sends them),
// reporting the API requests one index costs.
func BenchmarkIndexRepo(b *testing.B) {
	for _, n := range []int{10, 200} {
		b.Run(fmt.Sprintf("products=%d", n), func(b *testing.B) {
			e := newEnv(b, backends(b)[0])
			files := map[string][]byte{}
			for p, f := range meshgen.GenerateFS(meshgen.Options{Products: n, Fields: 20, Consumers: true, Seed: 1}) {
				files[p] = f.Data
			}
			e.repo.Commit("main", files)
			ctx := context.Background()
			j := jobs.Index{Installation: 7, Owner: "acme", Repo: "mesh"}
			if err := e.ix.HandleIndex(ctx, j, jobs.Meta{}); err != nil { // token exchange out of the loop
				b.Fatal(err)
			}
			before := len(e.fake.Requests())
			b.ResetTimer()
			for b.Loop() {
				if err := e.ix.HandleIndex(ctx, j, jobs.Meta{}); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(len(e.fake.Requests())-before)/float64(b.N), "requests/op")
			ps, _ := e.store.Products(ctx, 7)
			if len(ps) != n {
				b.Fatalf("%d products indexed, want %d", len(ps), n)
			}
		})
	}
}
