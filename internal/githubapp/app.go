// Package githubapp is meshbot's one seam to GitHub. Every call meshbot makes
// goes through an Installation, obtained from the App (a Clients) by
// installation id: the App's authentication (ghinstallation), GitHub
// Enterprise Server base URLs, retries and rate limits, pagination, and the
// translation between go-github and the domain's terms (changed files with
// typed statuses, check-run outputs from internal/checkrun, roles, typed
// errors) all live here, once. A feature that needs a new GitHub call adds
// one method to Installation, not a call through go-github elsewhere.
package githubapp

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v60/github"
)

// DefaultBaseURL is api.github.com; GHES is https://HOST/api/v3/.
const DefaultBaseURL = "https://api.github.com/"

// Config configures an App.
type Config struct {
	AppID      int64
	PrivateKey []byte // PEM (PKCS#1 as GitHub issues it, or PKCS#8)
	BaseURL    string // GITHUB_API_URL; default DefaultBaseURL
	// HTTPClient supplies the transport; its Timeout is not used because a
	// rate-limit wait may legitimately outlast it (use contexts instead).
	HTTPClient *http.Client
	MaxRetries int // default 4; negative disables retries
	Logger     *slog.Logger
	// RetryBaseDelay is the first backoff step (default 500ms); MaxWait caps
	// any single wait (default 60s): a rate limit that needs longer is
	// returned as *RateLimitError instead of blocking.
	RetryBaseDelay time.Duration
	MaxWait        time.Duration
	// Budgets records each installation's rate limit and calls; nil makes
	// one on time.Now. Pass one to read it (metrics) or to fix its clock.
	Budgets *Budgets
}

// App is the GitHub App, meshbot's Clients: it mints the installation
// clients (JWT, then installation tokens) against github.com or GHES. A
// call made as the App itself (listing deliveries, say) would be a method
// here, next to Installation.
type App struct {
	appID int64
	key   *rsa.PrivateKey
	base  *url.URL
	rt    http.RoundTripper
	log   *slog.Logger
	// budgets is shared by the installation clients, which consult it
	// before every request.
	budgets *Budgets
	// Installation clients are few (one per installation of the App) and
	// each carries its cached token, so they are kept for the process.
	clients sync.Map // int64 -> *client
}

// NewApp validates cfg and prepares the App.
func NewApp(cfg Config) (*App, error) {
	if cfg.AppID <= 0 {
		return nil, errors.New("github app: app id is required")
	}
	key, err := parseKey(cfg.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("github app: %w", err)
	}
	base, err := baseURL(cfg.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("github app: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	next := http.DefaultTransport
	if cfg.HTTPClient != nil && cfg.HTTPClient.Transport != nil {
		next = cfg.HTTPClient.Transport
	}
	retries := cfg.MaxRetries
	switch {
	case retries == 0:
		retries = 4
	case retries < 0:
		retries = 0
	}
	rt := &retryTransport{
		next: next, maxRetries: retries, log: log,
		baseDelay: orDefault(cfg.RetryBaseDelay, 500*time.Millisecond),
		maxWait:   orDefault(cfg.MaxWait, 60*time.Second),
	}
	budgets := cfg.Budgets
	if budgets == nil {
		budgets = NewBudgets(nil)
	}
	return &App{appID: cfg.AppID, key: key, base: base, rt: rt, log: log, budgets: budgets}, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

func parseKey(pemBytes []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("private key: no PEM block")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("private key: neither PKCS#1 nor PKCS#8: %w", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("private key: %T is not RSA", k)
	}
	return rk, nil
}

// baseURL takes GITHUB_API_URL literally (GHES users give .../api/v3/),
// adding only the trailing slash go-github needs.
func baseURL(s string) (*url.URL, error) {
	if s == "" {
		s = DefaultBaseURL
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("base url %q: %w", s, err)
	}
	if u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("base url %q: want http(s)://host/path", s)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	return u, nil
}

// appsTransport is built per use: ghinstallation's installation transport
// writes into its AppsTransport on every token refresh, so sharing one
// between installations would race.
func (a *App) appsTransport() *ghinstallation.AppsTransport {
	atr := ghinstallation.NewAppsTransportFromPrivateKey(a.rt, a.appID, a.key)
	atr.BaseURL = strings.TrimSuffix(a.base.String(), "/")
	return atr
}

func newGH(hc *http.Client, base *url.URL) *github.Client {
	c := github.NewClient(hc)
	u := *base
	c.BaseURL = &u
	c.UserAgent = "meshbot"
	return c
}

// Budgets is the record of the installations' rate limits and calls.
func (a *App) Budgets() *Budgets { return a.budgets }

// Installation returns the client of an installation; the same one (and so
// the same cached token) for the same id.
func (a *App) Installation(id int64) (Installation, error) {
	if id <= 0 {
		return nil, fmt.Errorf("github: installation id %d", id)
	}
	if c, ok := a.clients.Load(id); ok {
		return c.(*client), nil
	}
	itr := ghinstallation.NewFromAppsTransport(a.appsTransport(), id)
	bt := &budgetTransport{id: id, b: a.budgets, next: itr}
	c := &client{gh: newGH(&http.Client{Transport: bt}, a.base), log: a.log.With(slog.Int64("installation", id))}
	actual, _ := a.clients.LoadOrStore(id, c)
	return actual.(*client), nil
}
