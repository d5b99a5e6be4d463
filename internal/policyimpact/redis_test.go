package policyimpact

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/meshbot/meshbot/internal/ghfake/ghfaketest"
	"github.com/meshbot/meshbot/internal/githubapp"
	"github.com/meshbot/meshbot/internal/index"
	"github.com/meshbot/meshbot/internal/jobs"
	"github.com/meshbot/meshbot/internal/policyeval"
	"github.com/meshbot/meshbot/internal/store"
	"github.com/meshbot/meshbot/internal/store/storetest"
)

// TestPreviewIndexedRedisRegistry: repositories indexed from (fake) GitHub
// into Redis by the indexer are previewed from Redis alone: the preview
// makes no GitHub call, names the products and teams the proposed policy
// newly fails, and links their files at the commits indexing read.
func TestPreviewIndexedRedisRegistry(t *testing.T) {
	url := storetest.Required(t)
	const inst = 7
	f := ghfaketest.New(t, 4242)
	f.AddInstallation(inst, "acme")
	app, err := githubapp.NewApp(githubapp.Config{
		AppID: 4242, PrivateKey: ghfaketest.PEM(), BaseURL: f.URL(), HTTPClient: f.Client(),
		RetryBaseDelay: time.Millisecond, MaxWait: 2 * time.Second, Logger: quiet(),
	})
	if err != nil {
		t.Fatal(err)
	}
	st := storetest.Open(t, url, store.Options{})
	ix := index.NewIndexer(index.Deps{GitHub: app, Registry: st, Logger: quiet()})

	byRepo := map[string]map[string][]byte{}
	for p, b := range exampleFiles(t) {
		top, rest, _ := strings.Cut(p, "/")
		if byRepo[top] == nil {
			byRepo[top] = map[string][]byte{}
		}
		byRepo[top][rest] = b // each domain's repository holds its folder at the root
	}
	shas := map[string]string{}
	ctx := context.Background()
	for name, files := range byRepo {
		repo := f.AddRepo(inst, "acme/"+name, "main")
		shas[name] = repo.Commit("main", files)
		if err := ix.HandleIndex(ctx, jobs.Index{Installation: inst, Owner: "acme", Repo: name}, jobs.Meta{}); err != nil {
			t.Fatal(err)
		}
	}

	calls := len(f.Requests())
	pv := New(Deps{Registry: st, Policy: policyeval.NewSwappable(loadPolicy(t, "bench/active")),
		GitHubURL: f.URL() + "/", Now: func() time.Time { return today }, Logger: quiet()})
	sec, err := pv.Section(ctx, inst, loadPolicy(t, "bench/proposed"))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(f.Requests()) - calls; n != 0 {
		t.Errorf("the preview made %d GitHub calls, want none", n)
	}
	if want := "would newly fail 2 products owned by 2 teams"; sec.Title != want {
		t.Errorf("title %q, want %q", sec.Title, want)
	}
	rep := sec.Report
	if rep.Products != 7 || rep.Repos != len(byRepo) || len(rep.NotPreviewed) != 0 || rep.StoredBytes <= 0 || rep.StoredBytes >= rep.SourceBytes {
		t.Errorf("report: %d products in %d repositories, %d not previewed, %d of %d bytes stored", rep.Products, rep.Repos, len(rep.NotPreviewed), rep.StoredBytes, rep.SourceBytes)
	}
	for _, want := range []string{
		"**team-customer**", "**team-finance**", "`customer.customer-profile`", "`finance.revenue`", "`policy/freshness-30m`",
		f.URL() + "/acme/finance/blob/" + shas["finance"] + "/data-products/revenue/dataproduct.yaml#L26",
	} {
		if !strings.Contains(sec.Markdown, want) {
			t.Errorf("the section lacks %q:\n%s", want, sec.Markdown)
		}
	}

	// A repository whose record holds no documents (as one of an earlier
	// format version does) is not previewed, is said so, and is queued for
	// a re-index, once however many previews meet it.
	if err := st.PutRepo(ctx, inst, "acme/finance", nil); err != nil { // a record without documents
		t.Fatal(err)
	}
	pvq := New(Deps{Registry: st, Policy: policyeval.NewSwappable(loadPolicy(t, "bench/active")), Queue: st,
		Now: func() time.Time { return today }, Logger: quiet()})
	for range 2 {
		sec, err := pvq.Section(ctx, inst, loadPolicy(t, "bench/proposed"))
		if err != nil {
			t.Fatal(err)
		}
		if want := "would newly fail 1 product owned by 1 team (1 repository not previewed)"; sec.Title != want {
			t.Errorf("with acme/finance unreadable: title %q, want %q", sec.Title, want)
		}
	}
	stats, err := st.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Pending != 1 {
		t.Errorf("%d jobs queued after two previews met acme/finance unreadable, want 1 re-index", stats.Pending)
	}
	if err := ix.HandleIndex(ctx, jobs.Index{Installation: inst, Owner: "acme", Repo: "finance"}, jobs.Meta{}); err != nil {
		t.Fatal(err)
	}

	// A policy swapped in becomes the one previewed against.
	pv.policy.Swap(loadPolicy(t, "bench/proposed"))
	again, err := pv.Section(ctx, inst, loadPolicy(t, "bench/proposed"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "no product changes verdict (7 products)"; again.Title != want {
		t.Errorf("after the swap: title %q, want %q", again.Title, want)
	}
}
