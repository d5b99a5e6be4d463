package config

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n"

func TestLoad(t *testing.T) {
	policyDir := t.TempDir()
	notDir := filepath.Join(policyDir, "file.rego")
	if err := os.WriteFile(notDir, []byte("package x"), 0o600); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"/keys/app.pem": pem, "/keys/not.pem": "hello"}
	readFile := func(p string) ([]byte, error) {
		if s, ok := files[p]; ok {
			return []byte(s), nil
		}
		return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
	}

	tests := []struct {
		name    string
		env     map[string]string
		check   func(t *testing.T, c *Config)
		wantErr []string // substrings of the error; nil = no error
	}{
		{name: "empty environment: newcomer defaults", env: nil, check: func(t *testing.T, c *Config) {
			if c.Addr != ":8080" || c.APIURL != "https://api.github.com/" || c.HasApp() || c.RedisURL != "" || c.PolicyRepo() != "" {
				t.Errorf("defaults: %+v", c)
			}
			if !c.DevSecret || !strings.HasPrefix(string(c.WebhookSecret), "dev-") || len(c.WebhookSecret) < 20 {
				t.Errorf("dev secret %q (dev=%v)", c.WebhookSecret, c.DevSecret)
			}
		}},
		{name: "full App with inline key", env: map[string]string{
			"MESHBOT_ADDR": "127.0.0.1:9000", "GITHUB_APP_ID": "12345", "GITHUB_PRIVATE_KEY": pem,
			"GITHUB_WEBHOOK_SECRET": "s3cret", "GITHUB_API_URL": "https://ghe.example.com/api/v3",
			"REDIS_URL": "redis://:pw@redis:6379/2", "MESHBOT_POLICY_REPO": "acme/mesh-policy",
			"MESHBOT_POLICY_DIR": policyDir, "MESHBOT_BACKSTAGE_TOKEN": "tok",
		}, check: func(t *testing.T, c *Config) {
			if c.Addr != "127.0.0.1:9000" || c.AppID != 12345 || string(c.PrivateKey) != pem || c.KeySource != EnvPrivateKey {
				t.Errorf("app: %+v", c)
			}
			if string(c.WebhookSecret) != "s3cret" || c.DevSecret {
				t.Errorf("secret %q dev=%v", c.WebhookSecret, c.DevSecret)
			}
			if c.APIURL != "https://ghe.example.com/api/v3/" {
				t.Errorf("api url %q", c.APIURL)
			}
			if c.PolicyOwner != "acme" || c.PolicyName != "mesh-policy" || c.PolicyDir != policyDir || c.BackstageToken != "tok" {
				t.Errorf("policy/backstage: %+v", c)
			}
			if got := c.RedactedRedisURL(); strings.Contains(got, "pw") {
				t.Errorf("redacted redis url %q", got)
			}
		}},
		{name: "key from file", env: map[string]string{
			"GITHUB_APP_ID": "1", "GITHUB_PRIVATE_KEY_FILE": "/keys/app.pem", "GITHUB_WEBHOOK_SECRET": "s",
		}, check: func(t *testing.T, c *Config) {
			if string(c.PrivateKey) != pem || c.KeySource != "/keys/app.pem" {
				t.Errorf("key %q from %q", c.PrivateKey, c.KeySource)
			}
		}},
		{name: "single-line key with escaped newlines", env: map[string]string{
			"GITHUB_APP_ID": "1", "GITHUB_PRIVATE_KEY": strings.ReplaceAll(pem, "\n", `\n`), "GITHUB_WEBHOOK_SECRET": "s",
		}, check: func(t *testing.T, c *Config) {
			if string(c.PrivateKey) != pem {
				t.Errorf("key %q", c.PrivateKey)
			}
		}},
		{name: "secret without App is used as given", env: map[string]string{"GITHUB_WEBHOOK_SECRET": "abc"},
			check: func(t *testing.T, c *Config) {
				if string(c.WebhookSecret) != "abc" || c.DevSecret {
					t.Errorf("secret %q dev=%v", c.WebhookSecret, c.DevSecret)
				}
			}},
		{name: "api url gets its trailing slash", env: map[string]string{"GITHUB_API_URL": "https://api.github.com"},
			check: func(t *testing.T, c *Config) {
				if c.APIURL != "https://api.github.com/" {
					t.Errorf("api url %q", c.APIURL)
				}
			}},
		{name: "loopback fake at the root", env: map[string]string{"GITHUB_API_URL": "http://127.0.0.1:4000"},
			check: func(t *testing.T, c *Config) {
				if c.APIURL != "http://127.0.0.1:4000/" {
					t.Errorf("api url %q", c.APIURL)
				}
			}},

		{name: "both key forms", env: map[string]string{"GITHUB_APP_ID": "1", "GITHUB_PRIVATE_KEY": pem,
			"GITHUB_PRIVATE_KEY_FILE": "/keys/app.pem", "GITHUB_WEBHOOK_SECRET": "s"},
			wantErr: []string{"both GITHUB_PRIVATE_KEY and GITHUB_PRIVATE_KEY_FILE"}},
		{name: "unreadable key file", env: map[string]string{"GITHUB_APP_ID": "1", "GITHUB_PRIVATE_KEY_FILE": "/keys/missing.pem", "GITHUB_WEBHOOK_SECRET": "s"},
			wantErr: []string{"GITHUB_PRIVATE_KEY_FILE", "missing.pem"}},
		{name: "key file not PEM", env: map[string]string{"GITHUB_APP_ID": "1", "GITHUB_PRIVATE_KEY_FILE": "/keys/not.pem", "GITHUB_WEBHOOK_SECRET": "s"},
			wantErr: []string{"not PEM"}},
		{name: "bad app id", env: map[string]string{"GITHUB_APP_ID": "my-app", "GITHUB_PRIVATE_KEY": pem, "GITHUB_WEBHOOK_SECRET": "s"},
			wantErr: []string{`GITHUB_APP_ID="my-app"`}},
		{name: "negative app id", env: map[string]string{"GITHUB_APP_ID": "-3", "GITHUB_PRIVATE_KEY": pem, "GITHUB_WEBHOOK_SECRET": "s"},
			wantErr: []string{"GITHUB_APP_ID"}},
		{name: "app id without key", env: map[string]string{"GITHUB_APP_ID": "1", "GITHUB_WEBHOOK_SECRET": "s"},
			wantErr: []string{"private key"}},
		{name: "key without app id", env: map[string]string{"GITHUB_PRIVATE_KEY": pem},
			wantErr: []string{"GITHUB_APP_ID is not"}},
		{name: "app without webhook secret is refused", env: map[string]string{"GITHUB_APP_ID": "1", "GITHUB_PRIVATE_KEY": pem},
			wantErr: []string{"GITHUB_WEBHOOK_SECRET"}},
		{name: "api url not a url", env: map[string]string{"GITHUB_API_URL": "api.github.com"},
			wantErr: []string{"GITHUB_API_URL"}},
		{name: "api url with ftp", env: map[string]string{"GITHUB_API_URL": "ftp://ghe.example.com/api/v3/"},
			wantErr: []string{"GITHUB_API_URL"}},
		{name: "bare GHES host", env: map[string]string{"GITHUB_API_URL": "https://ghe.example.com/"},
			wantErr: []string{"https://ghe.example.com/api/v3/"}},
		{name: "api url with query", env: map[string]string{"GITHUB_API_URL": "https://ghe.example.com/api/v3/?x=1"},
			wantErr: []string{"no query"}},
		{name: "bad redis url", env: map[string]string{"REDIS_URL": "localhost:6379"},
			wantErr: []string{"REDIS_URL"}},
		{name: "redis password is not echoed", env: map[string]string{"REDIS_URL": "http://u:hunter2@x/"},
			wantErr: []string{"REDIS_URL"}},
		{name: "redis cluster", env: map[string]string{"REDIS_URL": "redis+cluster://:hunter2@r1:7001,r2:7002?wait_replicas=1"},
			check: func(t *testing.T, c *Config) {
				if got := c.RedactedRedisURL(); strings.Contains(got, "hunter2") || !strings.Contains(got, "r1:7001,r2:7002") {
					t.Errorf("redacted redis url %q", got)
				}
			}},
		{name: "redis sentinel", env: map[string]string{"REDIS_URL": "rediss+sentinel://s1:26379,s2:26379/mymaster/0"},
			check: func(t *testing.T, c *Config) {}},
		{name: "redis cluster without a port", env: map[string]string{"REDIS_URL": "redis+cluster://:hunter2@r1:7001,r2"},
			wantErr: []string{"REDIS_URL", "r2"}},
		{name: "redis sentinel without a master", env: map[string]string{"REDIS_URL": "redis+sentinel://u:hunter2@s1:26379"},
			wantErr: []string{"REDIS_URL", "master"}},
		{name: "bad addr", env: map[string]string{"MESHBOT_ADDR": "8080"},
			wantErr: []string{"MESHBOT_ADDR"}},
		{name: "bad port", env: map[string]string{"MESHBOT_ADDR": ":http-alt"},
			wantErr: []string{"MESHBOT_ADDR"}},
		{name: "bad policy repo", env: map[string]string{"MESHBOT_POLICY_REPO": "mesh-policy"},
			wantErr: []string{"MESHBOT_POLICY_REPO"}},
		{name: "policy repo with path", env: map[string]string{"MESHBOT_POLICY_REPO": "acme/mesh/policy"},
			wantErr: []string{"MESHBOT_POLICY_REPO"}},
		{name: "missing policy dir", env: map[string]string{"MESHBOT_POLICY_DIR": filepath.Join(policyDir, "nope")},
			wantErr: []string{"MESHBOT_POLICY_DIR"}},
		{name: "policy dir is a file", env: map[string]string{"MESHBOT_POLICY_DIR": notDir},
			wantErr: []string{"not a folder"}},
		{name: "organisation tokens", env: map[string]string{"MESHBOT_BACKSTAGE_TOKEN": "all", "MESHBOT_BACKSTAGE_ORG_TOKENS": " Acme=t1, globex=t=2\nx_emu=t3 "},
			check: func(t *testing.T, c *Config) {
				want := map[string]string{"acme": "t1", "globex": "t=2", "x_emu": "t3"}
				if len(c.BackstageOrgTokens) != len(want) {
					t.Fatalf("org tokens %v", c.BackstageOrgTokens)
				}
				for k, v := range want {
					if c.BackstageOrgTokens[k] != v {
						t.Errorf("org tokens %v, want %v", c.BackstageOrgTokens, want)
					}
				}
			}},
		{name: "organisation token without organisation", env: map[string]string{"MESHBOT_BACKSTAGE_ORG_TOKENS": "=secret1"},
			wantErr: []string{"MESHBOT_BACKSTAGE_ORG_TOKENS: entry 1"}},
		{name: "organisation without token", env: map[string]string{"MESHBOT_BACKSTAGE_ORG_TOKENS": "acme"},
			wantErr: []string{"MESHBOT_BACKSTAGE_ORG_TOKENS: entry 1"}},
		{name: "organisation twice", env: map[string]string{"MESHBOT_BACKSTAGE_ORG_TOKENS": "acme=a,ACME=b"},
			wantErr: []string{`"acme" is given twice`}},
		{name: "shared organisation token", env: map[string]string{"MESHBOT_BACKSTAGE_ORG_TOKENS": "acme=same1,globex=same1"},
			wantErr: []string{"share a token"}},
		{name: "organisation token is the admin token", env: map[string]string{"MESHBOT_BACKSTAGE_TOKEN": "same1", "MESHBOT_BACKSTAGE_ORG_TOKENS": "acme=same1"},
			wantErr: []string{"reads every organisation"}},
		{name: "every problem at once", env: map[string]string{"MESHBOT_ADDR": "x", "GITHUB_APP_ID": "x", "REDIS_URL": "x"},
			wantErr: []string{"MESHBOT_ADDR", "GITHUB_APP_ID", "REDIS_URL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(func(k string) string { return tt.env[k] }, readFile)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				tt.check(t, c)
				return
			}
			if err == nil {
				t.Fatalf("Load succeeded: %+v", c)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error echoes a password: %v", err)
			}
		})
	}
}

func TestDevSecretsDiffer(t *testing.T) {
	a, err := Load(func(string) string { return "" }, os.ReadFile)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Load(func(string) string { return "" }, os.ReadFile)
	if err != nil {
		t.Fatal(err)
	}
	if string(a.WebhookSecret) == string(b.WebhookSecret) {
		t.Error("two runs generated the same development secret")
	}
}

func TestNormalizeAPIURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "https://api.github.com/"},
		{"https://api.github.com", "https://api.github.com/"},
		{"https://api.github.com/", "https://api.github.com/"},
		{"https://ghe.example.com/api/v3", "https://ghe.example.com/api/v3/"},
		{"https://ghe.example.com/api/v3/", "https://ghe.example.com/api/v3/"},
		{"http://localhost:8081", "http://localhost:8081/"},
		{"http://[::1]:8081/", "http://[::1]:8081/"},
	}
	for _, tt := range tests {
		got, err := NormalizeAPIURL(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("NormalizeAPIURL(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := NormalizeAPIURL("https://ghe.example.com"); err == nil {
		t.Error("bare GHES host accepted")
	}
}
