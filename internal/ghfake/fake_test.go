package ghfake

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meshbot/meshbot/internal/testutil"
)

const appID = 4242

var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func loadSpecBytes(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(testutil.Shared(t, "external/github/openapi-subset.json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// signJWT mints an app JWT the way GitHub documents it, with chosen claims.
func signJWT(t testing.TB, key *rsa.PrivateKey, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	head := enc(map[string]string{"alg": "RS256", "typ": "JWT"}) + "." + enc(claims)
	sum := sha256.Sum256([]byte(head))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return head + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func validClaims() map[string]any {
	now := time.Now().Unix()
	return map[string]any{"iat": now - 30, "exp": now + 300, "iss": fmt.Sprint(appID)}
}

type fixture struct {
	f    *Fake
	repo *Repo
	pr   *PullRequest
	tok  string
}

func newFixture(t *testing.T, prefix string) *fixture {
	t.Helper()
	f := New(Options{Spec: loadSpecBytes(t), AppID: appID, PublicKey: &testKey().PublicKey, PathPrefix: prefix})
	t.Cleanup(f.Close)
	f.AddInstallation(7, "acme")
	r := f.AddRepo(7, "acme/mesh", "main")
	r.Commit("main", map[string][]byte{
		"finance/dataproduct.yaml":          []byte("apiVersion: mesh/v1\nkind: DataProduct\n"),
		"finance/contracts/revenue.v1.yaml": []byte("a\nb\nc\n"),
		"README.md":                         []byte("hello\n"),
	})
	r.Commit("feature", map[string][]byte{
		"finance/dataproduct.yaml":          []byte("apiVersion: mesh/v1\nkind: DataProduct\nmetadata: {}\n"),
		"finance/contracts/revenue.v2.yaml": []byte("a\nb\nc\n"), // renamed
		"docs/new.md":                       []byte("new\n"),
	})
	pr := r.OpenPullRequest(12, "main", "feature")
	r.SetPermission("alice", "maintain")
	fx := &fixture{f: f, repo: r, pr: pr}
	resp := fx.do(t, "POST", "/app/installations/7/access_tokens", "Bearer "+signJWT(t, testKey(), validClaims()), "")
	if resp.status != http.StatusCreated {
		t.Fatalf("token exchange: %d %s", resp.status, resp.body)
	}
	fx.tok = resp.json["token"].(string)
	return fx
}

type answer struct {
	status int
	header http.Header
	body   []byte
	json   map[string]any
}

func (fx *fixture) do(t *testing.T, method, path, auth, body string) answer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, fx.f.URL()+strings.TrimPrefix(path, "/"), rd)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := fx.f.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, body: b}
	_ = json.Unmarshal(b, &a.json)
	return a
}

func TestAppJWT(t *testing.T) {
	fx := newFixture(t, "")
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Unix()
	for _, tc := range []struct {
		name string
		auth string
		want int
	}{
		{"valid", "Bearer " + signJWT(t, testKey(), validClaims()), http.StatusCreated},
		{"other key", "Bearer " + signJWT(t, other, validClaims()), http.StatusUnauthorized},
		{"wrong app", "Bearer " + signJWT(t, testKey(), map[string]any{"iat": now, "exp": now + 60, "iss": "1"}), http.StatusUnauthorized},
		{"numeric iss", "Bearer " + signJWT(t, testKey(), map[string]any{"iat": now, "exp": now + 60, "iss": appID}), http.StatusCreated},
		{"expired", "Bearer " + signJWT(t, testKey(), map[string]any{"iat": now - 700, "exp": now - 100, "iss": appID}), http.StatusUnauthorized},
		{"over ten minutes", "Bearer " + signJWT(t, testKey(), map[string]any{"iat": now, "exp": now + 660, "iss": appID}), http.StatusUnauthorized},
		{"no exp", "Bearer " + signJWT(t, testKey(), map[string]any{"iat": now, "iss": appID}), http.StatusUnauthorized},
		{"garbage", "Bearer not.a.jwt", http.StatusUnauthorized},
		{"installation token", "token " + fx.tok, http.StatusUnauthorized},
		{"none", "", http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := fx.do(t, "POST", "/app/installations/7/access_tokens", tc.auth, "")
			if got.status != tc.want {
				t.Fatalf("status %d, want %d: %s", got.status, tc.want, got.body)
			}
		})
	}
	if got := fx.do(t, "POST", "/app/installations/99/access_tokens", "Bearer "+signJWT(t, testKey(), validClaims()), ""); got.status != http.StatusNotFound {
		t.Errorf("unknown installation: status %d, want 404", got.status)
	}
	for _, auth := range []string{"", "token ghs_unknown", "Bearer " + signJWT(t, testKey(), validClaims())} {
		if got := fx.do(t, "GET", "/repos/acme/mesh", auth, ""); got.status != http.StatusUnauthorized {
			t.Errorf("GET repo with %q: status %d, want 401", auth, got.status)
		}
	}
}

// TestResponsesMatchSpec holds every answer the fake gives to the schema
// GitHub documents for it.
func TestResponsesMatchSpec(t *testing.T) {
	fx := newFixture(t, "")
	head := fx.pr.HeadSHA()
	jwt := "Bearer " + signJWT(t, testKey(), validClaims())
	tok := "token " + fx.tok
	created := fx.do(t, "POST", "/repos/acme/mesh/check-runs", tok, fmt.Sprintf(`{"name":"meshbot","head_sha":%q,"status":"in_progress"}`, head))
	if created.status != http.StatusCreated {
		t.Fatalf("create check run: %d %s", created.status, created.body)
	}
	crID := int64(created.json["id"].(float64))
	comment := fx.f.AddComment("acme/mesh", 12, "alice", "/mesh help")

	for _, tc := range []struct {
		method, path, template, auth, body string
		status                             int
	}{
		{"GET", "/app", "/app", jwt, "", 200},
		{"GET", "/app/installations", "/app/installations", jwt, "", 200},
		{"POST", "/app/installations/7/access_tokens", "/app/installations/{installation_id}/access_tokens", jwt, `{"repositories":["mesh"]}`, 201},
		{"GET", "/installation/repositories", "/installation/repositories", tok, "", 200},
		{"GET", "/repos/acme/mesh", "/repos/{owner}/{repo}", tok, "", 200},
		{"GET", "/repos/acme/mesh/installation", "/repos/{owner}/{repo}/installation", jwt, "", 200},
		{"GET", "/repos/acme/mesh/pulls/12", "/repos/{owner}/{repo}/pulls/{pull_number}", tok, "", 200},
		{"GET", "/repos/acme/mesh/pulls/13", "/repos/{owner}/{repo}/pulls/{pull_number}", tok, "", 404},
		{"GET", "/repos/acme/mesh/pulls/12/files", "/repos/{owner}/{repo}/pulls/{pull_number}/files", tok, "", 200},
		{"GET", "/repos/acme/mesh/contents/finance/dataproduct.yaml?ref=" + head, "/repos/{owner}/{repo}/contents/{path}", tok, "", 200},
		{"GET", "/repos/acme/mesh/contents/finance?ref=feature", "/repos/{owner}/{repo}/contents/{path}", tok, "", 200},
		{"GET", "/repos/acme/mesh/contents/nope.yaml", "/repos/{owner}/{repo}/contents/{path}", tok, "", 404},
		{"GET", "/repos/acme/mesh/git/trees/" + head + "?recursive=1", "/repos/{owner}/{repo}/git/trees/{tree_sha}", tok, "", 200},
		{"GET", "/repos/acme/mesh/git/ref/heads/main", "/repos/{owner}/{repo}/git/ref/{ref}", tok, "", 200},
		{"GET", "/repos/acme/mesh/branches/main", "/repos/{owner}/{repo}/branches/{branch}", tok, "", 200},
		{"GET", "/repos/acme/mesh/compare/main...feature", "/repos/{owner}/{repo}/compare/{basehead}", tok, "", 200},
		{"GET", fmt.Sprintf("/repos/acme/mesh/check-runs/%d", crID), "/repos/{owner}/{repo}/check-runs/{check_run_id}", tok, "", 200},
		{"PATCH", fmt.Sprintf("/repos/acme/mesh/check-runs/%d", crID), "/repos/{owner}/{repo}/check-runs/{check_run_id}", tok,
			`{"status":"completed","conclusion":"success","output":{"title":"ok","summary":"fine","annotations":[{"path":"README.md","start_line":1,"end_line":1,"annotation_level":"notice","message":"m"}]}}`, 200},
		{"GET", "/repos/acme/mesh/commits/" + head + "/check-runs", "/repos/{owner}/{repo}/commits/{ref}/check-runs", tok, "", 200},
		{"POST", "/repos/acme/mesh/issues/12/comments", "/repos/{owner}/{repo}/issues/{issue_number}/comments", tok, `{"body":"hello"}`, 201},
		{"GET", "/repos/acme/mesh/issues/12/comments", "/repos/{owner}/{repo}/issues/{issue_number}/comments", tok, "", 200},
		{"POST", fmt.Sprintf("/repos/acme/mesh/issues/comments/%d/reactions", comment), "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions", tok, `{"content":"eyes"}`, 201},
		{"POST", fmt.Sprintf("/repos/acme/mesh/issues/comments/%d/reactions", comment), "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions", tok, `{"content":"eyes"}`, 200},
		{"GET", "/repos/acme/mesh/collaborators/alice/permission", "/repos/{owner}/{repo}/collaborators/{username}/permission", tok, "", 200},
		{"POST", "/repos/acme/mesh/git/refs", "/repos/{owner}/{repo}/git/refs", tok, fmt.Sprintf(`{"ref":"refs/heads/deprecate","sha":%q}`, head), 201},
		{"PUT", "/repos/acme/mesh/contents/finance/dataproduct.yaml", "/repos/{owner}/{repo}/contents/{path}", tok,
			`{"message":"deprecate","content":"` + base64.StdEncoding.EncodeToString([]byte("kind: DataProduct\n")) + `","branch":"deprecate","sha":"` + gitHash("blob", []byte("apiVersion: mesh/v1\nkind: DataProduct\nmetadata: {}\n")) + `"}`, 200},
		{"PUT", "/repos/acme/mesh/contents/finance/new.yaml", "/repos/{owner}/{repo}/contents/{path}", tok,
			`{"message":"add","content":"eA==","branch":"deprecate"}`, 201},
		{"POST", "/repos/acme/mesh/pulls", "/repos/{owner}/{repo}/pulls", tok, `{"title":"Deprecate","head":"deprecate","base":"main","body":"why"}`, 201},
		{"POST", "/repos/acme/mesh/check-runs", "/repos/{owner}/{repo}/check-runs", tok, `{"name":"meshbot","head_sha":"0000000000000000000000000000000000000000"}`, 422},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			got := fx.do(t, tc.method, tc.path, tc.auth, tc.body)
			if got.status != tc.status {
				t.Fatalf("status %d, want %d: %s", got.status, tc.status, got.body)
			}
			status := fmt.Sprint(tc.status)
			if tc.status == http.StatusUnprocessableEntity {
				// Not every operation documents its 422; all use this shape.
				status = "validation_failed"
			}
			sch, err := fx.f.spec.responseSchema(tc.method, tc.template, status)
			if err != nil {
				t.Fatal(err)
			}
			if _, msg := validate(sch, got.body); msg != "" {
				t.Errorf("response does not match GitHub's schema:\n%s\nbody: %.600s", msg, got.body)
			}
		})
	}
	// 422 above is a semantic refusal (unknown sha), recorded as such.
	if v := fx.f.Violations(); len(v) != 1 || !strings.Contains(v[0], "is not a commit") {
		t.Errorf("violations = %q, want exactly the unknown head_sha", v)
	}
}

// TestBodyValidation proves the validator refuses what GitHub refuses.
func TestBodyValidation(t *testing.T) {
	fx := newFixture(t, "")
	head := fx.pr.HeadSHA()
	tok := "token " + fx.tok
	ann := func(n int) string {
		var parts []string
		for i := range n {
			parts = append(parts, fmt.Sprintf(`{"path":"a.yaml","start_line":%d,"end_line":%d,"annotation_level":"warning","message":"m"}`, i+1, i+1))
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	long := strings.Repeat("x", 65536)
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		violation                string // "" means the body is valid
	}{
		{"valid create", "POST", "/repos/acme/mesh/check-runs", fmt.Sprintf(`{"name":"meshbot","head_sha":%q,"status":"in_progress"}`, head), 201, ""},
		{"missing head_sha", "POST", "/repos/acme/mesh/check-runs", `{"name":"meshbot"}`, 422, "head_sha"},
		{"completed without conclusion", "POST", "/repos/acme/mesh/check-runs", fmt.Sprintf(`{"name":"m","head_sha":%q,"status":"completed"}`, head), 422, "checks/create"},
		{"unknown status", "POST", "/repos/acme/mesh/check-runs", fmt.Sprintf(`{"name":"m","head_sha":%q,"status":"done"}`, head), 422, "checks/create"},
		{"bad date", "POST", "/repos/acme/mesh/check-runs", fmt.Sprintf(`{"name":"m","head_sha":%q,"started_at":"yesterday"}`, head), 422, "date-time"},
		{"51 annotations", "POST", "/repos/acme/mesh/check-runs", fmt.Sprintf(`{"name":"m","head_sha":%q,"output":{"title":"t","summary":"s","annotations":%s}}`, head, ann(51)), 422, "maxItems"},
		{"50 annotations", "POST", "/repos/acme/mesh/check-runs", fmt.Sprintf(`{"name":"m","head_sha":%q,"output":{"title":"t","summary":"s","annotations":%s}}`, head, ann(50)), 201, ""},
		{"summary too long", "POST", "/repos/acme/mesh/check-runs", fmt.Sprintf(`{"name":"m","head_sha":%q,"output":{"title":"t","summary":%q}}`, head, long), 422, "maxLength"},
		{"title too long", "POST", "/repos/acme/mesh/check-runs", fmt.Sprintf(`{"name":"m","head_sha":%q,"output":{"title":%q,"summary":"s"}}`, head, long), 422, "output.title"},
		{"output without title", "POST", "/repos/acme/mesh/check-runs", fmt.Sprintf(`{"name":"m","head_sha":%q,"output":{"summary":"s"}}`, head), 422, "title"},
		{"annotation without message", "POST", "/repos/acme/mesh/check-runs", fmt.Sprintf(`{"name":"m","head_sha":%q,"output":{"title":"t","summary":"s","annotations":[{"path":"a","start_line":1,"end_line":1,"annotation_level":"warning"}]}}`, head), 422, "message"},
		{"bad level", "POST", "/repos/acme/mesh/check-runs", fmt.Sprintf(`{"name":"m","head_sha":%q,"output":{"title":"t","summary":"s","annotations":[{"path":"a","start_line":1,"end_line":1,"annotation_level":"error","message":"m"}]}}`, head), 422, "annotation_level"},
		{"columns across lines", "POST", "/repos/acme/mesh/check-runs", fmt.Sprintf(`{"name":"m","head_sha":%q,"output":{"title":"t","summary":"s","annotations":[{"path":"a","start_line":1,"end_line":2,"start_column":1,"end_column":2,"annotation_level":"warning","message":"m"}]}}`, head), 422, "columns"},
		{"not json", "POST", "/repos/acme/mesh/issues/12/comments", `{"body":`, 400, "Problems parsing JSON"},
		{"comment without body", "POST", "/repos/acme/mesh/issues/12/comments", `{"text":"hi"}`, 422, "body"},
		{"bad reaction", "POST", "/repos/acme/mesh/issues/comments/1/reactions", `{"content":"thumbsup"}`, 422, "content"},
		{"ref without sha", "POST", "/repos/acme/mesh/git/refs", `{"ref":"refs/heads/x"}`, 422, "sha"},
		{"short ref", "POST", "/repos/acme/mesh/git/refs", fmt.Sprintf(`{"ref":"x","sha":%q}`, head), 422, "refs/heads"},
		{"put without sha on existing", "PUT", "/repos/acme/mesh/contents/README.md", `{"message":"m","content":"eA=="}`, 422, "no sha"},
		{"patch completed without conclusion", "PATCH", "/repos/acme/mesh/check-runs/%d", `{"status":"completed"}`, 422, "checks/update"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(fx.f.Violations())
			path := tc.path
			if strings.Contains(path, "%d") {
				cr := fx.f.CheckRuns("acme/mesh")
				path = fmt.Sprintf(path, cr[0].ID)
			}
			got := fx.do(t, tc.method, path, tok, tc.body)
			if got.status != tc.status {
				t.Fatalf("status %d, want %d: %.300s", got.status, tc.status, got.body)
			}
			v := fx.f.Violations()[before:]
			if tc.violation == "" {
				if len(v) != 0 {
					t.Fatalf("valid body recorded violations: %q", v)
				}
				return
			}
			if len(v) == 0 || !strings.Contains(strings.Join(v, "\n"), tc.violation) {
				t.Fatalf("violations %q, want one mentioning %q", v, tc.violation)
			}
		})
	}
}

// TestGitObjects holds the fake's hashing to git's own: the tree of a
// snapshot has the sha `git write-tree` gives for the same files.
func TestGitObjects(t *testing.T) {
	if got := gitHash("blob", []byte("hello\n")); got != "ce013625030ba8dba906f756967f9e9ca394464a" {
		t.Fatalf("blob hash %s", got)
	}
	gitBin, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git not installed: tree hashes checked only against the blob constant")
	}
	dir := t.TempDir()
	files := map[string]string{
		"a.yaml": "a\n", "b/c.yaml": "c\n", "b/d/e.yaml": "e\n", "b-x.yaml": "x\n", "b.yaml": "b\n", "ä/ü.txt": "u\n",
	}
	for p, c := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func(args ...string) string {
		cmd := exec.Command(gitBin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	// A symbolic link is a blob of mode 120000 holding its target.
	if err := os.Symlink("../a.yaml", filepath.Join(dir, "b", "link.yaml")); err != nil {
		t.Fatal(err)
	}
	run("init", "-q")
	run("add", ".")
	want := run("write-tree")

	f := New(Options{Spec: loadSpecBytes(t), AppID: appID, PublicKey: &testKey().PublicKey})
	defer f.Close()
	f.AddInstallation(1, "acme")
	r := f.AddRepo(1, "acme/x", "main")
	sha, err := r.CommitDir("main", dir)
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	got := r.commits[sha].tree
	f.mu.Unlock()
	if got != want {
		t.Errorf("tree %s, git says %s", got, want)
	}
}

// TestRequestRecordedBeforeAnswer: a test that has its answer must find the
// request in Requests(). The handler here has sent its whole answer and then
// waits, so a recorder that runs after the handler returns misses it.
func TestRequestRecordedBeforeAnswer(t *testing.T) {
	f := New(Options{Spec: loadSpecBytes(t), AppID: appID, PublicKey: &testKey().PublicKey})
	t.Cleanup(f.Close)
	release := make(chan struct{})
	srv := httptest.NewServer(f.middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusAccepted, map[string]any{"ok": true})
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("flush: %v", err)
		}
		<-release
	})))
	defer srv.Close()
	defer close(release)
	resp, err := srv.Client().Get(srv.URL + "/repos/acme/mesh/pulls/1/files?page=2")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(resp.Body); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	got := f.Requests()
	if len(got) != 1 {
		t.Fatalf("%d requests recorded once the answer arrived, want 1", len(got))
	}
	if r := got[0]; r.Method != "GET" || r.Path != "/repos/acme/mesh/pulls/1/files" || r.Query != "page=2" || r.Status != http.StatusAccepted {
		t.Errorf("recorded %+v", r)
	}
}

// TestRequestsCountedInOrder: through the real routes, each answer is
// counted by the time the client holds it (the race TestPullFiles3000 hit
// at 29 of 30 pages).
func TestRequestsCountedInOrder(t *testing.T) {
	fx := newFixture(t, "")
	before := len(fx.f.Requests())
	for i := range 200 {
		status := http.StatusOK
		path := "/repos/acme/mesh/pulls/12/files"
		if i%2 == 1 {
			status, path = http.StatusNotFound, "/repos/acme/mesh/pulls/99/files"
		}
		if got := fx.do(t, "GET", path, "token "+fx.tok, ""); got.status != status {
			t.Fatalf("GET %s: %d, want %d", path, got.status, status)
		}
		reqs := fx.f.Requests()
		if n := len(reqs) - before; n != i+1 {
			t.Fatalf("after %d answers, %d requests recorded", i+1, n)
		}
		if last := reqs[len(reqs)-1]; last.Path != path || last.Status != status {
			t.Fatalf("last recorded %+v, want %s %d", last, path, status)
		}
	}
}

// TestEmptyRepositoryAndPathFailures: an empty repository answers 409 "Git
// Repository is empty." on its git ref and tree, as GitHub does (a missing
// branch of a repository with commits is 404); FailPath confines a fault to
// the paths it names until stopped.
func TestEmptyRepositoryAndPathFailures(t *testing.T) {
	fx := newFixture(t, "")
	fx.f.AddRepo(7, "acme/empty", "main")
	auth := "token " + fx.tok
	for _, tc := range []struct {
		path   string
		status int
		msg    string
	}{
		{"/repos/acme/empty/git/ref/heads/main", http.StatusConflict, "Git Repository is empty."},
		{"/repos/acme/empty/git/trees/main", http.StatusConflict, "Git Repository is empty."},
		{"/repos/acme/mesh/git/ref/heads/nope", http.StatusNotFound, "Not Found"},
		{"/repos/acme/mesh/git/ref/heads/main", http.StatusOK, ""},
	} {
		a := fx.do(t, "GET", tc.path, auth, "")
		if a.status != tc.status || tc.msg != "" && a.json["message"] != tc.msg {
			t.Errorf("GET %s: %d %s, want %d %q", tc.path, a.status, a.body, tc.status, tc.msg)
		}
	}
	stop := fx.f.FailPath("GET", "/repos/acme/mesh/git/ref/", http.StatusBadGateway)
	for range 3 {
		if a := fx.do(t, "GET", "/repos/acme/mesh/git/ref/heads/main", auth, ""); a.status != http.StatusBadGateway {
			t.Errorf("failed path answered %d, want 502", a.status)
		}
	}
	if a := fx.do(t, "GET", "/repos/acme/mesh", auth, ""); a.status != http.StatusOK {
		t.Errorf("another path answered %d while one path fails", a.status)
	}
	stop()
	if a := fx.do(t, "GET", "/repos/acme/mesh/git/ref/heads/main", auth, ""); a.status != http.StatusOK {
		t.Errorf("after stop: %d", a.status)
	}
}

// TestSymlinkAnswers: links are what GitHub shows them as. The tree gives
// mode 120000; the contents API answers a link to a regular file of the
// repository with that file (its own path), any other link with type
// "symlink" and its target; the pull request lists a link like a file.
func TestSymlinkAnswers(t *testing.T) {
	fx := newFixture(t, "")
	head := fx.repo.CommitLinks("links", map[string][]byte{
		"finance/dataproduct.yaml":          []byte("apiVersion: mesh/v1\nkind: DataProduct\n"),
		"finance/contracts/revenue.v1.yaml": []byte("a\nb\nc\n"),
	}, map[string]string{
		"finance/contracts/linked.yaml":  "revenue.v1.yaml",
		"finance/contracts/outside.yaml": "../../../etc/passwd",
		"finance/contracts/dir.yaml":     "..",
	})
	fx.repo.OpenPullRequest(13, "main", "links")
	tok := "token " + fx.tok
	sch, err := fx.f.spec.responseSchema("GET", "/repos/{owner}/{repo}/contents/{path}", "200")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, typ, gotPath, target string }{
		{"finance/contracts/linked.yaml", "file", "finance/contracts/revenue.v1.yaml", ""},
		{"finance/contracts/outside.yaml", "symlink", "finance/contracts/outside.yaml", "../../../etc/passwd"},
		{"finance/contracts/dir.yaml", "symlink", "finance/contracts/dir.yaml", ".."},
	} {
		got := fx.do(t, "GET", "/repos/acme/mesh/contents/"+tc.path+"?ref="+head, tok, "")
		if got.status != http.StatusOK {
			t.Fatalf("%s: %d %s", tc.path, got.status, got.body)
		}
		if got.json["type"] != tc.typ || got.json["path"] != tc.gotPath || (tc.target != "" && got.json["target"] != tc.target) {
			t.Errorf("%s: type %v path %v target %v, want %s %s %q", tc.path, got.json["type"], got.json["path"], got.json["target"], tc.typ, tc.gotPath, tc.target)
		}
		if _, msg := validate(sch, got.body); msg != "" {
			t.Errorf("%s: answer does not match GitHub's schema:\n%s", tc.path, msg)
		}
	}
	tree := fx.do(t, "GET", "/repos/acme/mesh/git/trees/"+head+"?recursive=1", tok, "")
	modes := map[string]string{}
	for _, e := range tree.json["tree"].([]any) {
		e := e.(map[string]any)
		modes[e["path"].(string)] = e["mode"].(string)
	}
	if modes["finance/contracts/linked.yaml"] != "120000" || modes["finance/contracts/revenue.v1.yaml"] != "100644" {
		t.Errorf("tree modes = %v", modes)
	}
	files := fx.do(t, "GET", "/repos/acme/mesh/pulls/13/files", tok, "")
	if !strings.Contains(string(files.body), `"filename":"finance/contracts/linked.yaml"`) {
		t.Errorf("the pull request does not list the link: %s", files.body)
	}
}
