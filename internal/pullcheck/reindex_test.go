package pullcheck

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/meshbot/meshbot/internal/jobs"
	"github.com/meshbot/meshbot/internal/store"
)

// unreadableRegistry is a real store whose registry also lists repositories
// whose record did not decode, as the Redis store reports a record of
// another format version or a corrupt one (the store's own tests make
// those from bytes; here only prcheck's reaction is under test).
type unreadableRegistry struct {
	store.Store
	repos map[string]error
}

func (u unreadableRegistry) ProductsByRepo(ctx context.Context, inst int64) ([]store.RepoProducts, error) {
	rs, err := u.Store.ProductsByRepo(ctx, inst)
	if err != nil {
		return nil, err
	}
	for repo, cause := range u.repos {
		rs = append(rs, store.RepoProducts{Repo: repo, Unreadable: fmt.Errorf("registry: %d/%s: %w", inst, repo, cause)})
	}
	return rs, nil
}

// TestUnreadableRegistryRecords: repositories whose registry record does not
// decode (an older or newer format version, a corrupt record) do not fail
// the check: the pull request gets its verdict from the rest of the
// registry, and each such repository is queued for re-indexing once.
func TestUnreadableRegistryRecords(t *testing.T) {
	e := newEnv(t, true)
	st := unreadableRegistry{Store: e.store, repos: map[string]error{
		"acme/old":     store.ErrFormatVersion,
		"acme/future":  store.ErrFormatVersion,
		"acme/corrupt": store.ErrCorruptRecord,
	}}
	e.deps.Store = st
	for i, scenario := range []string{"breaking-consumer", "clean-change"} {
		c := e.scenario(scenario, 200+i)
		if err := e.run(New(e.deps), c, 1); err != nil {
			t.Fatalf("%s: the check failed instead of judging without the unreadable records: %v", scenario, err)
		}
		run := e.only(c.HeadSHA)
		want := map[string]string{"breaking-consumer": "failure", "clean-change": "success"}[scenario]
		if run.Status != "completed" || run.Conclusion != want {
			t.Fatalf("%s: %s %s, want completed %s", scenario, run.Status, run.Conclusion, want)
		}
		if scenario == "breaking-consumer" && !strings.Contains(run.Summary, "team-finance") {
			t.Errorf("the verdict lost the consumers of the readable repository:\n%s", run.Summary)
		}
	}

	// Two checks read the registry; each unreadable repository is queued once.
	ctx := context.Background()
	got := map[string]int{}
	for {
		l, err := e.store.Claim(ctx, "test", 0)
		if err != nil {
			t.Fatal(err)
		}
		if l == nil {
			break
		}
		var in jobs.Index
		if err := json.Unmarshal(l.Job.Payload, &in); err != nil || l.Job.Kind != jobs.KindIndex.Name() {
			t.Fatalf("queued %s job %s: %v", l.Job.Kind, l.Job.ID, err)
		}
		if in.Installation != inst || len(in.Paths) != 0 {
			t.Errorf("re-index job %+v: want installation %d, whole tree", in, inst)
		}
		got[in.Owner+"/"+in.Repo]++
		if err := e.store.Ack(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	for repo := range st.repos {
		if got[repo] != 1 {
			t.Errorf("%s queued for re-indexing %d times, want once", repo, got[repo])
		}
	}
	if len(got) != len(st.repos) {
		t.Errorf("queued re-index of %v, want exactly the unreadable repositories", got)
	}
}
