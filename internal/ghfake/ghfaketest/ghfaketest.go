// Package ghfaketest sets up the fake GitHub for tests: GitHub's OpenAPI
// description from ../shared, one App key per test binary, and a failure at
// the end of the test for every request body GitHub would have refused.
package ghfaketest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/meshbot/meshbot/internal/ghfake"
	"github.com/meshbot/meshbot/internal/testutil"
)

// Key is the App's private key, made once per test binary (RSA generation
// is the slowest step of these tests) and never written to disk.
var Key = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// PEM is Key as GITHUB_PRIVATE_KEY expects it.
func PEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(Key())})
}

// Spec is GitHub's OpenAPI description (skips where ../shared is absent,
// fails under CI=true).
func Spec(t testing.TB) []byte {
	t.Helper()
	spec, err := os.ReadFile(testutil.Shared(t, "external/github/openapi-subset.json"))
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

// New starts a fake GitHub for the App appID with Key, closed when t ends;
// t fails then if GitHub would have refused any request body the App sent.
func New(t testing.TB, appID int64) *ghfake.Fake {
	t.Helper()
	return NewWith(t, appID, ghfake.Options{})
}

// NewWith is New with the rest of opts (Spec, AppID and PublicKey are set
// here).
func NewWith(t testing.TB, appID int64, opts ghfake.Options) *ghfake.Fake {
	t.Helper()
	opts.Spec, opts.AppID, opts.PublicKey = Spec(t), appID, &Key().PublicKey
	f := ghfake.New(opts)
	t.Cleanup(f.Close)
	t.Cleanup(func() {
		if v := f.Violations(); len(v) > 0 {
			t.Errorf("GitHub would have refused %d request bodies:\n%s", len(v), strings.Join(v, "\n"))
		}
	})
	return f
}
