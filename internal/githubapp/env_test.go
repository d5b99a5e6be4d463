package githubapp

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/meshbot/meshbot/internal/ghfake"
	"github.com/meshbot/meshbot/internal/ghfake/ghfaketest"
)

const testAppID = 4242

func pemOf(k *rsa.PrivateKey) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
}

type env struct {
	fake   *ghfake.Fake
	repo   *ghfake.Repo
	app    *App
	client *client
	// violationsAllowed is set by tests that send bad bodies on purpose.
	violationsAllowed bool
}

type envOpts struct {
	prefix         string
	maxTreeEntries int
	cfg            func(*Config)
}

func newEnv(t testing.TB, o envOpts) *env {
	t.Helper()
	spec := ghfaketest.Spec(t)
	f := ghfake.New(ghfake.Options{
		Spec: spec, AppID: testAppID, PublicKey: &ghfaketest.Key().PublicKey,
		PathPrefix: o.prefix, MaxTreeEntries: o.maxTreeEntries,
	})
	t.Cleanup(f.Close)
	f.AddInstallation(7, "acme")
	repo := f.AddRepo(7, "acme/mesh", "main")
	cfg := Config{
		AppID: testAppID, PrivateKey: ghfaketest.PEM(), BaseURL: f.URL(), HTTPClient: f.Client(),
		RetryBaseDelay: 5 * time.Millisecond, MaxWait: 5 * time.Second,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if o.cfg != nil {
		o.cfg(&cfg)
	}
	app, err := NewApp(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c, err := app.Installation(7)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{fake: f, repo: repo, app: app, client: c.(*client)}
	t.Cleanup(func() {
		if v := f.Violations(); len(v) > 0 && !e.violationsAllowed {
			t.Errorf("GitHub would have refused %d request bodies:\n%s", len(v), strings.Join(v, "\n"))
		}
	})
	return e
}

// count is how many recorded requests match method and path prefix.
func (e *env) count(method, pathPrefix string) int {
	n := 0
	for _, r := range e.fake.Requests() {
		if r.Method == method && strings.HasPrefix(r.Path, pathPrefix) {
			n++
		}
	}
	return n
}
