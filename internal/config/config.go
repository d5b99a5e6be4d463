// Package config reads `meshbot serve`'s configuration from the environment,
// under the names fixed in the product description, and validates it with
// errors that name the variable at fault.
package config

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/meshbot/meshbot/internal/store"
)

// Environment variable names.
const (
	EnvAddr           = "MESHBOT_ADDR"
	EnvAppID          = "GITHUB_APP_ID"
	EnvPrivateKey     = "GITHUB_PRIVATE_KEY"
	EnvPrivateKeyFile = "GITHUB_PRIVATE_KEY_FILE"
	EnvWebhookSecret  = "GITHUB_WEBHOOK_SECRET"
	EnvAPIURL         = "GITHUB_API_URL"
	EnvRedisURL       = "REDIS_URL"
	EnvPolicyRepo     = "MESHBOT_POLICY_REPO"
	EnvPolicyDir      = "MESHBOT_POLICY_DIR"
	EnvBackstageToken = "MESHBOT_BACKSTAGE_TOKEN"
	// EnvBackstageOrgTokens holds tokens of the provider endpoint that read
	// one organisation each: "acme=TOKEN,globex=TOKEN". Not in the product
	// description's list, which names no such variable; named in its style.
	EnvBackstageOrgTokens = "MESHBOT_BACKSTAGE_ORG_TOKENS"
)

// Defaults.
const (
	DefaultAddr   = ":8080"
	DefaultAPIURL = "https://api.github.com/"
)

// Config is the validated configuration of `meshbot serve`.
type Config struct {
	Addr string
	// AppID is 0 when no GitHub App is configured: serve still starts (a
	// newcomer's first run) and jobs that need GitHub fail with a clear log.
	AppID      int64
	PrivateKey []byte // PEM, from GITHUB_PRIVATE_KEY or the file GITHUB_PRIVATE_KEY_FILE names
	// KeySource says where PrivateKey came from, for logs ("" when none).
	KeySource string
	// WebhookSecret verifies deliveries. With DevSecret set it was generated
	// because neither an App nor a secret is configured.
	WebhookSecret []byte
	DevSecret     bool
	// APIURL is GitHub's REST base with a trailing slash:
	// https://api.github.com/ or, for GHES, https://HOST/api/v3/.
	APIURL string
	// RedisURL is empty for the embedded in-memory store (one replica).
	RedisURL string
	// PolicyRepo is the guild's policy repository (owner, name), optional.
	PolicyOwner, PolicyName string
	// PolicyDir is a local policy folder; empty means the bundled policy.
	PolicyDir      string
	BackstageToken string
	// BackstageOrgTokens maps an organisation's login (lower-cased) to a
	// token that reads only that organisation's entities.
	BackstageOrgTokens map[string]string

	// ReminderDays are the days before a sunset at which consumers are
	// reminded (EnvReminderDays); empty when reminders are off.
	ReminderDays []int
}

// Load reads the configuration through getenv (os.Getenv in production) and
// readFile (os.ReadFile). All problems are reported together.
func Load(getenv func(string) string, readFile func(string) ([]byte, error)) (*Config, error) {
	env := func(k string) string { return strings.TrimSpace(getenv(k)) }
	c := &Config{
		Addr:           env(EnvAddr),
		RedisURL:       env(EnvRedisURL),
		PolicyDir:      env(EnvPolicyDir),
		BackstageToken: env(EnvBackstageToken),
	}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if c.Addr == "" {
		c.Addr = DefaultAddr
	} else if _, port, err := net.SplitHostPort(c.Addr); err != nil {
		bad("%s=%q: want host:port or :port: %v", EnvAddr, c.Addr, err)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		bad("%s=%q: port %q is not a number from 0 to 65535", EnvAddr, c.Addr, port)
	}

	if s := env(EnvAppID); s != "" {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			bad("%s=%q: want the App's numeric id (a positive integer, shown on the App's settings page)", EnvAppID, s)
		}
		c.AppID = id
	}

	// The PEM may arrive with literal "\n" sequences when the platform only
	// takes single-line values.
	keyText := getenv(EnvPrivateKey)
	if strings.TrimSpace(keyText) != "" && !strings.Contains(keyText, "\n") && strings.Contains(keyText, `\n`) {
		keyText = strings.ReplaceAll(keyText, `\n`, "\n")
	}
	keyFile := env(EnvPrivateKeyFile)
	switch {
	case strings.TrimSpace(keyText) != "" && keyFile != "":
		bad("both %s and %s are set: use one", EnvPrivateKey, EnvPrivateKeyFile)
	case strings.TrimSpace(keyText) != "":
		c.PrivateKey, c.KeySource = []byte(keyText), EnvPrivateKey
	case keyFile != "":
		b, err := readFile(keyFile)
		if err != nil {
			bad("%s: read the App's private key: %v", EnvPrivateKeyFile, err)
		} else {
			c.PrivateKey, c.KeySource = b, keyFile
		}
	}
	if c.PrivateKey != nil && !strings.Contains(string(c.PrivateKey), "-----BEGIN") {
		bad("%s: the private key is not PEM (expected a -----BEGIN RSA PRIVATE KEY----- block as downloaded from the App's settings)", c.KeySource)
	}
	if c.AppID != 0 && c.PrivateKey == nil && len(errs) == 0 {
		bad("%s is set but neither %s nor %s is: the App needs its private key", EnvAppID, EnvPrivateKey, EnvPrivateKeyFile)
	}
	if c.AppID == 0 && c.PrivateKey != nil {
		bad("a private key is set but %s is not: set the App's id too", EnvAppID)
	}

	c.WebhookSecret = []byte(getenv(EnvWebhookSecret))
	if len(c.WebhookSecret) == 0 {
		if c.AppID != 0 {
			bad("%s is set but %s is not: refusing to accept unsigned deliveries for a real App (use the secret entered in the App's settings)", EnvAppID, EnvWebhookSecret)
		} else {
			// A newcomer's first run: a random secret, printed in the log,
			// for signing sample deliveries. Never for a configured App.
			var b [16]byte
			if _, err := rand.Read(b[:]); err != nil {
				bad("generate a development webhook secret: %v", err)
			}
			c.WebhookSecret, c.DevSecret = []byte("dev-"+hex.EncodeToString(b[:])), true
		}
	}

	api, err := NormalizeAPIURL(env(EnvAPIURL))
	if err != nil {
		bad("%s: %v", EnvAPIURL, err)
	}
	c.APIURL = api

	if c.RedisURL != "" {
		// One parser for the forms REDIS_URL takes (one server, cluster,
		// sentinel): the store's, which serve then connects with.
		if _, err := store.ParseRedisURL(c.RedisURL); err != nil {
			bad("%v", err)
		}
	}

	if s := env(EnvPolicyRepo); s != "" {
		owner, name, ok := strings.Cut(s, "/")
		if !ok || !validName(owner) || !validName(name) {
			bad("%s=%q: want owner/name", EnvPolicyRepo, s)
		}
		c.PolicyOwner, c.PolicyName = owner, name
	}
	if c.PolicyDir != "" {
		if fi, err := os.Stat(c.PolicyDir); err != nil {
			bad("%s: %v", EnvPolicyDir, err)
		} else if !fi.IsDir() {
			bad("%s=%q is not a folder", EnvPolicyDir, c.PolicyDir)
		}
	}
	if s := env(EnvBackstageOrgTokens); s != "" {
		tokens, err := parseOrgTokens(s, c.BackstageToken)
		if err != nil {
			bad("%s: %v", EnvBackstageOrgTokens, err)
		}
		c.BackstageOrgTokens = tokens
	}
	if days, err := parseReminderDays(env(EnvReminderDays)); err != nil {
		bad("%s: %v", EnvReminderDays, err)
	} else {
		c.ReminderDays = days
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	return c, nil
}

// NormalizeAPIURL checks GitHub's REST base URL and gives it a trailing
// slash (go-github resolves paths against it, and without the slash the last
// segment, "v3" on GHES, would be dropped). Empty means api.github.com.
func NormalizeAPIURL(s string) (string, error) {
	if s == "" {
		return DefaultAPIURL, nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("%q is not a URL: %v", s, err)
	}
	if u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
		return "", fmt.Errorf("%q: want https://api.github.com/ or, for GitHub Enterprise Server, https://HOST/api/v3/", s)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("%q: a base URL takes no query, fragment or credentials", s)
	}
	// A bare GHES host is a common slip that would only show later as 404s;
	// loopback hosts are local fakes and proxies, served from the root.
	if u.Host != "api.github.com" && !loopback(u.Hostname()) && (u.Path == "" || u.Path == "/") {
		return "", fmt.Errorf("%q: GitHub Enterprise Server's REST API is at https://%s/api/v3/", s, u.Host)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	return u.String(), nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// PolicyRepo is "owner/name", or "" when none is configured.
func (c *Config) PolicyRepo() string {
	if c.PolicyOwner == "" {
		return ""
	}
	return c.PolicyOwner + "/" + c.PolicyName
}

// HasApp reports whether a GitHub App is configured.
func (c *Config) HasApp() bool { return c.AppID != 0 }

// RedactedRedisURL is RedisURL without its passwords, for logs.
func (c *Config) RedactedRedisURL() string { return store.RedactRedisURL(c.RedisURL) }

// validName is a GitHub owner or repository name: letters, digits, '-',
// '_' and '.'.
func validName(s string) bool {
	if s == "" || len(s) > 100 || s == "." || s == ".." {
		return false
	}
	for _, c := range s {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// parseOrgTokens reads "org=token" pairs separated by commas or white space
// (org: a GitHub login, letters, digits, '-' and, for enterprise-managed
// users, '_'). Errors never quote a token.
func parseOrgTokens(s, adminToken string) (map[string]string, error) {
	out := map[string]string{}
	seen := map[string]string{}
	for i, pair := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r' }) {
		org, tok, ok := strings.Cut(pair, "=")
		org = strings.ToLower(strings.TrimSpace(org))
		if !ok || tok == "" || !validName(org) || strings.Contains(org, ".") {
			return nil, fmt.Errorf("entry %d: want organisation=token (the organisation's GitHub login)", i+1)
		}
		if _, dup := out[org]; dup {
			return nil, fmt.Errorf("organisation %q is given twice", org)
		}
		if other, dup := seen[tok]; dup {
			return nil, fmt.Errorf("organisations %q and %q share a token: each needs its own", other, org)
		}
		if tok == adminToken {
			return nil, fmt.Errorf("the token of organisation %q is %s, which reads every organisation", org, EnvBackstageToken)
		}
		seen[tok] = org
		out[org] = tok
	}
	return out, nil
}
