package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// requireNode skips the test when node or npm is missing, except under
// CI=true, where the end-to-end proof must run.
func requireNode(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is required under CI=true: %v", tool, err)
			}
			t.Skipf("skipping: %s is not installed (the Backstage end-to-end test runs a real Backstage backend)", tool)
		}
	}
}

// prepareModule installs the module's locked packages when node_modules is
// missing or older than the lock, then runs its checks: `npm test` is
// tsc --strict (which also builds dist/, what the backend loads) and the
// unit tests.
func prepareModule(ctx context.Context, t *testing.T, dir string) error {
	marker := filepath.Join(dir, "node_modules", ".package-lock.json")
	lock, err := os.Stat(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return fmt.Errorf("the module's package-lock.json: %w", err)
	}
	if m, err := os.Stat(marker); err != nil || m.ModTime().Before(lock.ModTime()) {
		start := time.Now()
		if out, err := run(ctx, dir, "npm", "ci", "--no-audit", "--no-fund"); err != nil {
			return fmt.Errorf("npm ci in %s: %w\n%s", dir, err, tail(out, 4000))
		}
		t.Logf("npm ci: %s", time.Since(start).Round(time.Second))
	}
	start := time.Now()
	out, err := run(ctx, dir, "npm", "test")
	if err != nil {
		return fmt.Errorf("the module's npm test (tsc --strict and unit tests) failed: %w\n%s", err, tail(out, 8000))
	}
	t.Logf("module npm test: %s (%s)", time.Since(start).Round(100*time.Millisecond), summary(out))
	return nil
}

func run(ctx context.Context, dir, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NO_COLOR=1", "CI=true")
	return cmd.CombinedOutput()
}

// summary picks node's test runner's closing counts.
func summary(out []byte) string {
	var parts []string
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[0] == "#" && (f[1] == "pass" || f[1] == "fail" || f[1] == "tests") {
			parts = append(parts, f[1]+" "+f[2])
		}
	}
	return strings.Join(parts, ", ")
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// proc is a child process whose output goes to a file, shown when the test
// fails, and which is stopped (SIGTERM, then SIGKILL) when the test ends.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	// noise are substrings of log lines left out of the failure dump.
	noise []string
}

func startProc(t *testing.T, name string, cmd *exec.Cmd) *proc {
	t.Helper()
	p := &proc{name: name, cmd: cmd, log: filepath.Join(t.TempDir(), name+".log"), done: make(chan struct{})}
	f, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		_ = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("--- %s log (last 16 KB of %s, without %q) ---\n%s", name, p.log, p.noise, tail(p.logText(), 16000))
		}
	})
	return p
}

func (p *proc) logText() []byte {
	b, _ := os.ReadFile(p.log)
	var out bytes.Buffer
next:
	for _, l := range bytes.SplitAfter(b, []byte("\n")) {
		for _, n := range p.noise {
			if bytes.Contains(l, []byte(n)) {
				continue next
			}
		}
		out.Write(l)
	}
	return out.Bytes()
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *proc) stop() {
	if p.exited() {
		return
	}
	// The process group: node may have started helpers of its own.
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type meshbotProc struct {
	*proc
	url string
}

// startMeshbot builds cmd/meshbot and runs `meshbot serve` with env (and the
// in-memory store), returning once /healthz answers.
func startMeshbot(ctx context.Context, t *testing.T, root string, env map[string]string) *meshbotProc {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "meshbot")
	if out, err := run(ctx, root, "go", "build", "-o", bin, "./cmd/meshbot"); err != nil {
		t.Fatalf("go build ./cmd/meshbot: %v\n%s", err, out)
	}
	addr := freeAddr(t)
	cmd := exec.CommandContext(ctx, bin, "serve")
	cmd.Env = cleanEnv("REDIS_URL", "MESHBOT_", "GITHUB_")
	env["MESHBOT_ADDR"] = addr
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	m := &meshbotProc{proc: startProc(t, "meshbot", cmd), url: "http://" + addr}
	eventually(ctx, t, 20*time.Second, "meshbot serve answers /healthz", func() (bool, string) {
		if m.exited() {
			t.Fatalf("meshbot serve exited early; see its log")
		}
		resp, err := http.Get(m.url + "/healthz")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})
	return m
}

// cleanEnv is the test's environment without the variables whose names
// start with one of drop, so a developer's own settings do not leak in.
func cleanEnv(drop ...string) []string {
	var env []string
next:
	for _, kv := range os.Environ() {
		for _, d := range drop {
			if strings.HasPrefix(kv, d) {
				continue next
			}
		}
		env = append(env, kv)
	}
	return env
}

// installedPayload is GitHub's published installation created example,
// adjusted to the fake's installation, account and repository.
func installedPayload(t *testing.T, src []byte, inst int64, account string, repoID int64, fullName string) []byte {
	t.Helper()
	var p map[string]any
	if err := json.Unmarshal(src, &p); err != nil {
		t.Fatalf("installation/created.payload.json: %v", err)
	}
	in, _ := p["installation"].(map[string]any)
	acc, _ := in["account"].(map[string]any)
	if in == nil || acc == nil {
		t.Fatalf("installation/created.payload.json has no installation.account")
	}
	in["id"] = inst
	acc["login"] = account
	_, name, _ := strings.Cut(fullName, "/")
	p["repositories"] = []any{map[string]any{
		"id": repoID, "node_id": fmt.Sprintf("R_%d", repoID), "name": name, "full_name": fullName, "private": false,
	}}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// deliver posts a delivery signed as GitHub signs it.
func deliver(t *testing.T, base, secret, event string, body []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/webhook", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "GitHub-Hookshot/backstage-e2e")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("backstage-e2e-%d", time.Now().UnixNano()))
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusOK {
		t.Fatalf("%s delivery answered %s: %s", event, resp.Status, msg)
	}
}

type backstageProc struct {
	*proc
	url, token string
}

// startBackstage runs the module's e2e/backend.js (createBackend with the
// catalog and our module) on PostgreSQL, reading meshbot every 2 seconds,
// and returns once its catalog answers.
func startBackstage(ctx context.Context, t *testing.T, moduleDir, meshbotURL, meshbotToken string) *backstageProc {
	t.Helper()
	db := postgres(ctx, t, moduleDir)
	addr := freeAddr(t)
	host, port, _ := net.SplitHostPort(addr)
	token := randomHex(t, 24)
	cfg := map[string]any{
		"app": map[string]any{"baseUrl": "http://127.0.0.1:3000"},
		"backend": map[string]any{
			// The module's 304 line is debug; the ETag check counts it.
			"logger": map[string]any{"overrides": []any{map[string]any{
				"matchers": map[string]any{"provider": "meshbot:default"}, "level": "debug",
			}}},
			"baseUrl": "http://" + addr,
			"listen":  map[string]any{"host": host, "port": port},
			"database": map[string]any{
				"client":             "pg",
				"connection":         map[string]any{"host": db.host, "port": db.port, "user": "postgres"},
				"pluginDivisionMode": "database",
				"prefix":             db.prefix,
			},
			"auth": map[string]any{"externalAccess": []any{map[string]any{
				"type": "static", "options": map[string]any{"token": token, "subject": "meshbot-e2e"},
			}}},
		},
		"catalog": map[string]any{"providers": map[string]any{"meshbot": map[string]any{
			"baseUrl": meshbotURL,
			"token":   meshbotToken,
			"schedule": map[string]any{
				"frequency":    map[string]any{"seconds": 2},
				"timeout":      map[string]any{"seconds": 30},
				"initialDelay": map[string]any{"seconds": 1},
			},
		}}},
	}
	// JSON is YAML: the config loader reads it as app-config.
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(t.TempDir(), "app-config.yaml")
	if err := os.WriteFile(cfgPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, "node", filepath.Join("e2e", "backend.js"), "--config", cfgPath)
	cmd.Dir = moduleDir
	// Production mode logs one JSON object a line, which processingErrors reads.
	cmd.Env = append(cleanEnv("NODE_ENV", "APP_CONFIG_"), "NODE_ENV=production", "NO_COLOR=1")
	b2 := &backstageProc{proc: startProc(t, "backstage", cmd), url: "http://" + addr, token: token}
	b2.noise = []string{`"type":"incomingRequest"`}
	start := time.Now()
	// Readiness first: a request to the catalog while its plugin still
	// starts waits 5 s, then fails 503 and Backstage logs an error for it,
	// which processingErrors would count against the module. The root
	// health endpoint answers 503 until every plugin is up, quietly.
	eventually(ctx, t, 90*time.Second, "Backstage is ready", func() (bool, string) {
		if b2.exited() {
			t.Fatalf("the Backstage backend exited early; see its log")
		}
		req, _ := http.NewRequest(http.MethodGet, b2.url+"/.backstage/health/v1/readiness", nil)
		var v any
		code := getJSON(t, req, &v)
		return code == http.StatusOK, fmt.Sprintf("status %d", code)
	})
	eventually(ctx, t, 90*time.Second, "Backstage's catalog answers", func() (bool, string) {
		if b2.exited() {
			t.Fatalf("the Backstage backend exited early; see its log")
		}
		req, _ := http.NewRequest(http.MethodGet, b2.url+"/api/catalog/entities?limit=1", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		var v any
		code := getJSON(t, req, &v)
		return code == http.StatusOK, fmt.Sprintf("status %d", code)
	})
	t.Logf("Backstage backend up in %s", time.Since(start).Round(100*time.Millisecond))
	return b2
}

func (b *backstageProc) entities(t *testing.T) []bsEntity {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.url+"/api/catalog/entities", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+b.token)
	var es []bsEntity
	if code := getJSON(t, req, &es); code != http.StatusOK {
		t.Logf("GET %s: %d", req.URL, code)
		return nil
	}
	return es
}

// logCount counts the JSON log lines whose message contains s.
func (b *backstageProc) logCount(t *testing.T, s string) int {
	t.Helper()
	n := 0
	for _, l := range bytes.Split(b.logText(), []byte("\n")) {
		var line struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(l, &line) == nil && strings.Contains(line.Message, s) {
			n++
		}
	}
	return n
}

// processingErrors are the log lines our module's processing-error handler
// wrote, and any other error Backstage logged about the catalog or meshbot.
func (b *backstageProc) processingErrors(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(b.log)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var line struct {
			Level   string `json:"level"`
			Message string `json:"message"`
			Plugin  string `json:"plugin"`
		}
		if json.Unmarshal(sc.Bytes(), &line) != nil {
			continue
		}
		if strings.Contains(line.Message, "catalog processing error") ||
			(line.Plugin == "catalog" && (line.Level == "error" || line.Level == "warn") && !expectedWarning(line.Message)) {
			out = append(out, line.Level+": "+line.Message)
		}
	}
	return out
}

// expectedWarning: what a local test setup makes Backstage say (a loopback
// baseUrl in production mode; no events plugin installed; the test's own
// readiness probe answered 503 while the catalog still initialises on a
// busy machine).
func expectedWarning(msg string) bool {
	return strings.Contains(msg, "is set to a localhost URL and NODE_ENV is 'production'") ||
		strings.Contains(msg, "events backend not found") ||
		strings.Contains(msg, "Service has not started up yet")
}

type pgServer struct {
	host   string
	port   int
	prefix string
}

// postgres finds the machine's PostgreSQL (starting the cluster when it is
// installed but down) and names a database prefix of the test's own; the
// databases Backstage creates under it are dropped when the test ends.
func postgres(ctx context.Context, t *testing.T, moduleDir string) pgServer {
	t.Helper()
	s := pgServer{host: "127.0.0.1", port: 5432, prefix: "meshbot_e2e_" + randomHex(t, 4) + "_"}
	if h := os.Getenv("MESHBOT_TEST_PGHOST"); h != "" {
		s.host = h
	}
	reachable := func() bool {
		c, err := net.DialTimeout("tcp", net.JoinHostPort(s.host, fmt.Sprint(s.port)), time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	}
	if !reachable() {
		if err := startCluster(ctx); err != nil {
			t.Logf("PostgreSQL at %s:%d is not reachable and could not be started: %v", s.host, s.port, err)
		}
		for i := 0; i < 20 && !reachable(); i++ {
			time.Sleep(500 * time.Millisecond)
		}
		if !reachable() {
			msg := fmt.Sprintf("PostgreSQL is not reachable at %s:%d (the Backstage backend needs it; set MESHBOT_TEST_PGHOST to use another host)", s.host, s.port)
			if os.Getenv("CI") == "true" {
				t.Fatal(msg)
			}
			t.Skip("skipping: " + msg)
		}
	}
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(cctx, "node", filepath.Join("e2e", "dropdb.js"), s.prefix)
		cmd.Dir = moduleDir
		cmd.Env = append(os.Environ(), "PGHOST="+s.host, fmt.Sprintf("PGPORT=%d", s.port), "PGUSER=postgres")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("drop the test's databases %s*: %v\n%s", s.prefix, err, out)
		}
	})
	return s
}

// startCluster starts the Debian PostgreSQL cluster, as a fresh machine of
// this kind has it installed.
func startCluster(ctx context.Context) error {
	versions, err := os.ReadDir("/etc/postgresql")
	if err != nil || len(versions) == 0 {
		return errors.New("no cluster under /etc/postgresql")
	}
	out, err := exec.CommandContext(ctx, "pg_ctlcluster", "--skip-systemctl-redirect", versions[0].Name(), "main", "start").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctlcluster: %w: %s", err, out)
	}
	return nil
}
