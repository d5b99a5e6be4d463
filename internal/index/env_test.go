package index

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/meshbot/meshbot/internal/ghfake"
	"github.com/meshbot/meshbot/internal/ghfake/ghfaketest"
	"github.com/meshbot/meshbot/internal/githubapp"
	"github.com/meshbot/meshbot/internal/store"
	"github.com/meshbot/meshbot/internal/store/storetest"
)

const testAppID = 4242

// backend is a registry implementation the tests run against.
type backend struct {
	name string
	open func(t testing.TB) store.Store
}

// backends is the memory store, and Redis when MESHBOT_TEST_REDIS_URL names
// one (scripts/redis-test.sh starts it).
func backends(t testing.TB) []backend {
	out := []backend{{"memory", func(t testing.TB) store.Store {
		s := store.NewMemory(store.Options{})
		t.Cleanup(func() { _ = s.Close() })
		return s
	}}}
	if url := storetest.URL(t); url != "" {
		out = append(out, backend{"redis", func(t testing.TB) store.Store {
			return storetest.Open(t, url, store.Options{})
		}})
	}
	return out
}

type env struct {
	fake  *ghfake.Fake
	repo  *ghfake.Repo
	store store.Store
	app   *githubapp.App
	ix    *Indexer
}

func newEnv(t testing.TB, b backend) *env {
	t.Helper()
	f := ghfaketest.New(t, testAppID)
	f.AddInstallation(7, "acme")
	repo := f.AddRepo(7, "acme/mesh", "main")
	key := ghfaketest.PEM()
	app, err := githubapp.NewApp(githubapp.Config{
		AppID: testAppID, PrivateKey: key, BaseURL: f.URL(), HTTPClient: f.Client(),
		RetryBaseDelay: time.Millisecond, MaxWait: 2 * time.Second,
		Logger: quiet(),
	})
	if err != nil {
		t.Fatal(err)
	}
	s := b.open(t)
	return &env{fake: f, repo: repo, store: s, app: app, ix: NewIndexer(Deps{GitHub: app, Registry: s, Marks: s, Logger: quiet()})}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
