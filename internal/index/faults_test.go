package index

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meshbot/meshbot/internal/githubapp"
	"github.com/meshbot/meshbot/internal/jobs"
	"github.com/meshbot/meshbot/internal/mesh"
	"github.com/meshbot/meshbot/internal/store"
	"github.com/meshbot/meshbot/internal/store/storetest"
)

// queueOpts give a job three attempts with backoffs short enough for a
// test to wait them out.
var queueOpts = store.Options{MaxAttempts: 3, BackoffBase: time.Millisecond, BackoffMax: 5 * time.Millisecond}

// queueBackends are the stores with a queue the tests drain themselves.
func queueBackends(t testing.TB) []backend {
	out := []backend{{"memory", func(t testing.TB) store.Store {
		s := store.NewMemory(queueOpts)
		t.Cleanup(func() { _ = s.Close() })
		return s
	}}}
	if url := storetest.URL(t); url != "" {
		out = append(out, backend{"redis", func(t testing.TB) store.Store { return storetest.Open(t, url, queueOpts) }})
	}
	return out
}

// drain runs the queue's jobs through reg, one at a time, retries and all,
// until nothing is pending, in flight or delayed, as a worker would.
func drain(t *testing.T, st store.Store, reg *jobs.Registry) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	for {
		l, err := st.Claim(ctx, "test-worker", 10*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if l == nil {
			s, err := st.Stats(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if s.Pending == 0 && s.InFlight == 0 && s.Delayed == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("queue not drained: %+v", s)
			}
			continue
		}
		d, err := reg.Decode(l.Job)
		if err == nil {
			err = d.Run(ctx)
		}
		if err == nil {
			err = st.Ack(ctx, l)
		} else {
			err = st.Fail(ctx, l, err)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func (e *env) registry() *jobs.Registry {
	reg := jobs.NewRegistry()
	jobs.Register(reg, jobs.KindIndex, e.ix.HandleIndex)
	jobs.Register(reg, jobs.KindPurge, e.ix.HandlePurge)
	return reg
}

func newQueueEnv(t *testing.T, b backend) *env {
	e := newEnv(t, b)
	e.ix = NewIndexer(Deps{GitHub: e.app, Registry: e.store, Queue: e.store, Logger: quiet()})
	return e
}

// indexed indexes owner/repo once, as the test's starting point.
func (e *env) indexed(t *testing.T, repo string) {
	t.Helper()
	owner, name, _ := strings.Cut(repo, "/")
	if err := e.ix.HandleIndex(context.Background(), jobs.Index{Installation: 7, Owner: owner, Repo: name}, jobs.Meta{ID: "setup"}); err != nil {
		t.Fatal(err)
	}
}

// A 404 on the default branch's ref is no evidence that the repository is
// empty (GitHub answers an empty one 409): the push's job fails for the
// queue to retry, the repository's products stay, and once GitHub answers
// again the job indexes as usual.
func TestRefNotFoundKeepsProducts(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b)
			ctx := context.Background()
			tip := e.repo.Commit("main", meshFiles(t))
			e.indexed(t, "acme/mesh")
			before := registry(t, e.store, 7)
			if len(before) < 6 {
				t.Fatalf("example mesh indexed as %d products", len(before))
			}
			stop := e.fake.FailPath(http.MethodGet, "/repos/acme/mesh/git/ref/heads/main", http.StatusNotFound)
			push := jobs.Index{Installation: 7, Owner: "acme", Repo: "mesh", Ref: tip, Paths: []string{"finance/dataproduct.yaml"}}
			err := e.ix.HandleIndex(ctx, push, jobs.Meta{ID: "push", Attempt: 1})
			if err == nil || store.IsPermanent(err) || !errors.Is(err, githubapp.ErrNotFound) {
				t.Fatalf("err = %v, want a transient not-found for the queue to retry", err)
			}
			if got := registry(t, e.store, 7); !slices.Equal(got, before) {
				t.Fatalf("a 404 on the branch changed the registry:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(before, "\n"))
			}
			// The repository was read again, for a renamed default branch.
			repoReads := 0
			for _, r := range e.fake.Requests() {
				if r.Method == http.MethodGet && r.Path == "/repos/acme/mesh" {
					repoReads++
				}
			}
			if repoReads < 3 { // setup, and twice for the push
				t.Errorf("repository read %d times, want the default branch re-read after the 404", repoReads)
			}
			stop()
			if err := e.ix.HandleIndex(ctx, push, jobs.Meta{ID: "push", Attempt: 2}); err != nil {
				t.Fatal(err)
			}
			if got := registry(t, e.store, 7); !slices.Equal(got, before) {
				t.Errorf("after the retry:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(before, "\n"))
			}
		})
	}
}

// copyProducts are ps as if indexed from repo (a stale registry entry).
func copyProducts(ps []*mesh.Product, repo string) []*mesh.Product {
	out := make([]*mesh.Product, 0, len(ps))
	for _, p := range ps {
		c := *p
		c.Repo = repo
		out = append(out, &c)
	}
	return out
}

func reposOf(t *testing.T, s store.Registry) map[string]int {
	t.Helper()
	rs, err := s.ProductsByRepo(context.Background(), 7)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, r := range rs {
		out[r.Repo] = len(r.Products)
	}
	return out
}

// An installation-wide scan is one job per repository: a repository whose
// default branch is verified empty (409) loses its products, and only it;
// one GitHub fails on every time (a 5xx storm) is retried and dead-lettered
// on its own, keeping its products, while the others are indexed; a
// repository the installation no longer lists is dropped.
func TestScanIsOneJobPerRepository(t *testing.T) {
	for _, b := range queueBackends(t) {
		t.Run(b.name, func(t *testing.T) {
			e := newQueueEnv(t, b)
			ctx := context.Background()
			files := meshFiles(t)
			e.repo.Commit("main", files)
			e.indexed(t, "acme/mesh")
			ps, err := e.store.Products(ctx, 7)
			if err != nil {
				t.Fatal(err)
			}
			// Sorted before acme/mesh, so a scan in one job would stop at
			// them first.
			e.fake.AddRepo(7, "acme/a-emptied", "main") // its history was wiped
			storm := e.fake.AddRepo(7, "acme/a-storm", "main")
			storm.Commit("main", files)
			other := e.fake.AddRepo(7, "acme/other", "main")
			other.Commit("main", files)
			for _, r := range []string{"acme/a-emptied", "acme/a-storm", "acme/gone"} {
				if err := e.store.PutRepo(ctx, 7, r, copyProducts(ps, r)); err != nil {
					t.Fatal(err)
				}
			}
			defer e.fake.FailPath(http.MethodGet, "/repos/acme/a-storm", http.StatusBadGateway)()

			scan := jobs.Index{Delivery: "d1", Installation: 7}
			j, err := jobs.KindIndex.New("d1", "", scan)
			if err != nil {
				t.Fatal(err)
			}
			if err := e.store.Enqueue(ctx, j); err != nil {
				t.Fatal(err)
			}
			drain(t, e.store, e.registry())

			n := len(ps)
			want := map[string]int{"acme/a-emptied": 0, "acme/a-storm": n, "acme/mesh": n, "acme/other": n}
			got := reposOf(t, e.store)
			if !maps.Equal(got, want) {
				t.Errorf("registry by repository = %v, want %v", got, want)
			}
			dl, err := e.store.DeadLetters(ctx, 10)
			if err != nil {
				t.Fatal(err)
			}
			var dead []string
			for _, d := range dl {
				var in jobs.Index
				if err := json.Unmarshal(d.Job.Payload, &in); err != nil {
					t.Fatal(err)
				}
				dead = append(dead, in.Owner+"/"+in.Repo)
				if d.Job.Attempt != queueOpts.MaxAttempts {
					t.Errorf("%s dead after %d attempts, want %d", d.Job.ID, d.Job.Attempt, queueOpts.MaxAttempts)
				}
			}
			if !slices.Equal(dead, []string{"acme/a-storm"}) {
				t.Errorf("dead letters %v, want only acme/a-storm", dead)
			}
			if len(dl) > 0 && !strings.Contains(dl[0].Cause, githubapp.ErrUnavailable.Error()) {
				t.Errorf("dead letter cause %q, want GitHub unavailable", dl[0].Cause)
			}
		})
	}
}

// A scan job that runs again (its lease lost, or retried after enqueueing)
// enqueues each repository's job once.
func TestScanRunTwiceEnqueuesOnce(t *testing.T) {
	for _, b := range queueBackends(t) {
		t.Run(b.name, func(t *testing.T) {
			e := newQueueEnv(t, b)
			ctx := context.Background()
			e.repo.Commit("main", meshFiles(t))
			e.fake.AddRepo(7, "acme/other", "main")
			scan := jobs.Index{Delivery: "d1", Installation: 7}
			for attempt := 1; attempt <= 2; attempt++ {
				if err := e.ix.HandleIndex(ctx, scan, jobs.Meta{ID: "d1", Attempt: attempt}); err != nil {
					t.Fatal(err)
				}
			}
			s, err := e.store.Stats(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if s.Pending != 2 {
				t.Errorf("%d jobs pending after the scan ran twice, want 2 (one per repository)", s.Pending)
			}
		})
	}
}

// renamed is the real client whose first read of a repository still names
// the default branch it had before a rename (a lagging replica, or a rename
// between the two reads).
type renamed struct {
	githubapp.Clients
	old   string
	stale sync.Once
}

func (c *renamed) Installation(inst int64) (githubapp.Installation, error) {
	r, err := c.Clients.Installation(inst)
	return renamedRepo{r, c}, err
}

type renamedRepo struct {
	githubapp.Installation
	c *renamed
}

func (r renamedRepo) DefaultBranch(ctx context.Context, owner, repo string) (string, error) {
	b, err := r.Installation.DefaultBranch(ctx, owner, repo)
	r.c.stale.Do(func() { b = r.c.old })
	return b, err
}

// A 404 on the default branch because it was renamed: the repository is
// read again and the branch it names now is indexed.
func TestRenamedDefaultBranch(t *testing.T) {
	e := newEnv(t, backends(t)[0])
	ctx := context.Background()
	trunk := e.fake.AddRepo(7, "acme/trunked", "trunk")
	files := meshFiles(t)
	trunk.Commit("trunk", files)
	ix := NewIndexer(Deps{GitHub: &renamed{Clients: e.app, old: "main"}, Registry: e.store, Logger: quiet()})
	if err := ix.HandleIndex(ctx, jobs.Index{Installation: 7, Owner: "acme", Repo: "trunked"}, jobs.Meta{ID: "push", Attempt: 1}); err != nil {
		t.Fatal(err)
	}
	if got, want := registry(t, e.store, 7), expected(t, files, "acme/trunked"); !slices.Equal(got, want) {
		t.Errorf("registry:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
