package githubapp

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-github/v60/github"

	"github.com/meshbot/meshbot/internal/ghfake/ghfaketest"
)

func TestTokenExchange(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.repo.Commit("main", map[string][]byte{"a.txt": []byte("a")})
	ctx := context.Background()

	if _, err := e.client.DefaultBranch(ctx, "acme", "mesh"); err != nil {
		t.Fatalf("installation client: %v", err)
	}
	if n := e.count("POST", "/app/installations/7/access_tokens"); n != 1 {
		t.Errorf("token requests = %d, want 1", n)
	}
	// The token is cached: more calls, no more exchanges.
	if _, err := e.client.DefaultBranch(ctx, "acme", "mesh"); err != nil {
		t.Fatal(err)
	}
	if n := e.count("POST", "/app/installations/7/access_tokens"); n != 1 {
		t.Errorf("token requests after a second call = %d, want 1 (cached)", n)
	}
	again, _ := e.app.Installation(7)
	if again != e.client {
		t.Error("Installation(7) returned a new client; want the cached one")
	}

	// An App holding another key is refused by the fake as by GitHub.
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	wrong, err := NewApp(Config{AppID: testAppID, PrivateKey: pemOf(other), BaseURL: e.fake.URL(), HTTPClient: e.fake.Client()})
	if err != nil {
		t.Fatal(err)
	}
	wc, _ := wrong.Installation(7)
	_, err = wc.DefaultBranch(ctx, "acme", "mesh")
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("token with a JWT of another key: err = %v, want a 401", err)
	}
	// An installation the App does not have.
	c99, _ := e.app.Installation(99)
	if _, err := c99.DefaultBranch(ctx, "acme", "mesh"); err == nil {
		t.Error("installation 99 got a token")
	}
}

func TestNewAppConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"ok", Config{AppID: 1, PrivateKey: ghfaketest.PEM()}, true},
		{"ghes", Config{AppID: 1, PrivateKey: ghfaketest.PEM(), BaseURL: "https://ghe.example.com/api/v3"}, true},
		{"no app id", Config{PrivateKey: ghfaketest.PEM()}, false},
		{"no key", Config{AppID: 1}, false},
		{"not pem", Config{AppID: 1, PrivateKey: []byte("secret")}, false},
		{"bad url", Config{AppID: 1, PrivateKey: ghfaketest.PEM(), BaseURL: "ghe.example.com"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := NewApp(tc.cfg)
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
			if err == nil && !strings.HasSuffix(a.base.Path, "/") {
				t.Errorf("base url %s lacks the trailing slash", a.base)
			}
		})
	}
}

func TestGHESPrefix(t *testing.T) {
	e := newEnv(t, envOpts{prefix: "/api/v3"})
	if !strings.HasSuffix(e.fake.URL(), "/api/v3/") {
		t.Fatalf("fake URL %s", e.fake.URL())
	}
	e.repo.Commit("main", map[string][]byte{"mesh/dataproduct.yaml": []byte("kind: DataProduct\n")})
	head := e.repo.Commit("change", map[string][]byte{"mesh/dataproduct.yaml": []byte("kind: DataProduct\nspec: {}\n")})
	e.repo.OpenPullRequest(3, "main", "change")
	ctx := context.Background()
	pr, err := e.client.PullRequest(ctx, "acme", "mesh", 3)
	if err != nil {
		t.Fatal(err)
	}
	if pr.HeadSHA != head || pr.Number != 3 || pr.Closed || pr.BaseRef != "main" || len(pr.BaseSHA) != 40 {
		t.Errorf("pull request %+v, want head %s", pr, head)
	}
	b, err := e.client.File(ctx, "acme", "mesh", "mesh/dataproduct.yaml", head)
	if err != nil || string(b) != "kind: DataProduct\nspec: {}\n" {
		t.Fatalf("File = %q, %v", b, err)
	}
	for _, r := range e.fake.Requests() {
		if r.Status == http.StatusNotFound {
			t.Errorf("%s %s answered 404", r.Method, r.Path)
		}
	}
	// Without the prefix nothing is found: the prefix really is in use.
	bare, err := NewApp(Config{AppID: testAppID, PrivateKey: ghfaketest.PEM(), BaseURL: strings.TrimSuffix(e.fake.URL(), "api/v3/"), HTTPClient: e.fake.Client()})
	if err != nil {
		t.Fatal(err)
	}
	bc, _ := bare.Installation(7)
	if _, err := bc.PullRequest(ctx, "acme", "mesh", 3); err == nil {
		t.Error("a client without /api/v3/ reached the GHES fake")
	}
}

func manyFiles(n int, content string) map[string][]byte {
	files := make(map[string][]byte, n)
	for i := range n {
		files[fmt.Sprintf("products/p%04d/dataproduct.yaml", i)] = []byte(fmt.Sprintf("name: p%d\n%s", i, content))
	}
	return files
}

func TestChangedFiles3000(t *testing.T) {
	for _, tc := range []struct {
		changed, want, pages int
	}{
		{0, 0, 1},
		{1, 1, 1},
		{100, 100, 1},
		{101, 101, 2},
		{3000, 3000, 30},
		{3050, 3000, 30}, // GitHub lists no more than 3,000
	} {
		t.Run(fmt.Sprint(tc.changed), func(t *testing.T) {
			e := newEnv(t, envOpts{})
			e.repo.Commit("main", manyFiles(tc.changed, ""))
			e.repo.Commit("change", manyFiles(tc.changed, "spec: {}\n"))
			e.repo.OpenPullRequest(1, "main", "change")
			files, err := e.client.ChangedFiles(context.Background(), "acme", "mesh", 1)
			if err != nil {
				t.Fatal(err)
			}
			if len(files) != tc.want {
				t.Errorf("%d files, want %d", len(files), tc.want)
			}
			if n := e.count("GET", "/repos/acme/mesh/pulls/1/files"); n != tc.pages {
				t.Errorf("%d pages fetched, want %d", n, tc.pages)
			}
			seen := map[string]bool{}
			for _, f := range files {
				if seen[f.Path] {
					t.Fatalf("%s listed twice", f.Path)
				}
				seen[f.Path] = true
				if f.Status != FileModified || f.Previous != "" {
					t.Fatalf("file %+v", f)
				}
			}
		})
	}
}

func TestChangedFileStatuses(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.repo.Commit("main", map[string][]byte{
		"keep.yaml": []byte("a\nb\nc\n"), "gone.yaml": []byte("x\n"),
		"old/name.yaml": []byte("same\ncontent\n"), "edit.yaml": []byte("1\n2\n3\n4\n"),
	})
	e.repo.Commit("change", map[string][]byte{
		"keep.yaml": []byte("a\nb\nc\n"), "new.yaml": []byte("n1\nn2\n"),
		"new/name.yaml": []byte("same\ncontent\n"), "edit.yaml": []byte("1\ntwo\n3\n4\n5\n"),
	})
	e.repo.OpenPullRequest(2, "main", "change")
	files, err := e.client.ChangedFiles(context.Background(), "acme", "mesh", 2)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		got = append(got, fmt.Sprintf("%s %s prev=%s in base %v, in head %v", f.Status, f.Path, f.Previous, f.Status.InBase(), f.Status.InHead()))
	}
	want := []string{
		"modified edit.yaml prev= in base true, in head true",
		"removed gone.yaml prev= in base true, in head false",
		"added new.yaml prev= in base false, in head true", // byte order, as git orders paths
		"renamed new/name.yaml prev=old/name.yaml in base false, in head true",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("files:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestFile(t *testing.T) {
	e := newEnv(t, envOpts{})
	big := bytes.Repeat([]byte("0123456789abcdef\n"), 2<<20/17+1) // just over 2 MB
	exact := bytes.Repeat([]byte("x"), 1<<20)                     // the largest inlined size
	sha := e.repo.Commit("main", map[string][]byte{
		"big.json": big, "exact.bin": exact, "small.yaml": []byte("kind: DataProduct\n"),
		"dir/a.yaml": []byte("a"), "empty.txt": {}, "odd dir/ä #1.yaml": []byte("odd"),
	})
	later := e.repo.Commit("main", map[string][]byte{"small.yaml": []byte("changed\n")})
	ctx := context.Background()
	for _, tc := range []struct {
		path, ref string
		want      []byte
		viaBlob   bool
		err       error
	}{
		{"small.yaml", sha, []byte("kind: DataProduct\n"), false, nil},
		{"small.yaml", later, []byte("changed\n"), false, nil},
		{"empty.txt", sha, []byte{}, false, nil},
		{"odd dir/ä #1.yaml", sha, []byte("odd"), false, nil},
		{"exact.bin", sha, exact, false, nil},
		{"big.json", sha, big, true, nil},
		{"missing.yaml", sha, nil, false, ErrNotFound},
		{"big.json", later, nil, false, ErrNotFound},
		{"small.yaml", strings.Repeat("0", 40), nil, false, ErrNotFound},
	} {
		t.Run(tc.path+"@"+tc.ref[:7], func(t *testing.T) {
			before := e.count("GET", "/repos/acme/mesh/git/blobs/")
			b, err := e.client.File(ctx, "acme", "mesh", tc.path, tc.ref)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, tc.want) {
				t.Errorf("got %d bytes, want %d", len(b), len(tc.want))
			}
			if blobs := e.count("GET", "/repos/acme/mesh/git/blobs/") - before; (blobs == 1) != tc.viaBlob {
				t.Errorf("blob requests = %d, via blob wanted: %v", blobs, tc.viaBlob)
			}
		})
	}
	if _, err := e.client.File(ctx, "acme", "mesh", "dir", sha); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("a directory: err = %v, want a not-a-file error", err)
	}
}

func TestTree(t *testing.T) {
	files := map[string][]byte{}
	for i := range 40 {
		files[fmt.Sprintf("d%d/sub%d/f%d.yaml", i%4, i%3, i)] = []byte(fmt.Sprint(i))
	}
	files["top.yaml"] = []byte("top")
	var results [][]TreeEntry
	for _, limit := range []int{0, 10} { // 0: never truncated; 10: truncated
		e := newEnv(t, envOpts{maxTreeEntries: limit})
		sha := e.repo.Commit("main", files)
		got, err := e.client.Tree(context.Background(), "acme", "mesh", sha)
		if err != nil {
			t.Fatal(err)
		}
		sort.Slice(got, func(i, j int) bool { return got[i].Path < got[j].Path })
		results = append(results, got)
		if limit > 0 && e.count("GET", "/repos/acme/mesh/git/trees/") < 2 {
			t.Errorf("truncated tree was not walked")
		}
	}
	blobs := 0
	for _, en := range results[0] {
		if en.Type == "blob" {
			blobs++
			if en.Size <= 0 || len(en.SHA) != 40 {
				t.Errorf("entry %+v", en)
			}
		}
	}
	if blobs != len(files) {
		t.Errorf("%d blobs in tree, want %d", blobs, len(files))
	}
	if fmt.Sprint(results[0]) != fmt.Sprint(results[1]) {
		t.Errorf("walking a truncated tree gave a different listing:\n%v\n%v", results[0], results[1])
	}
}

func TestRepositories(t *testing.T) {
	e := newEnv(t, envOpts{})
	for i := range 149 { // 150 with the env's own
		e.fake.AddRepo(7, fmt.Sprintf("acme/r%03d", i), "main")
	}
	e.fake.AddInstallation(8, "other")
	e.fake.AddRepo(8, "other/hidden", "main")
	repos, err := e.client.Repositories(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(repos) != 150 {
		t.Errorf("%d repos, want 150", len(repos))
	}
	for _, r := range repos {
		if !strings.HasPrefix(r, "acme/") {
			t.Errorf("saw %s of another installation", r)
		}
	}
	if n := e.count("GET", "/installation/repositories"); n != 2 {
		t.Errorf("%d pages, want 2", n)
	}
	// A repository of another installation is invisible.
	if _, err := e.client.DefaultBranch(context.Background(), "other", "hidden"); !errors.Is(err, ErrNotFound) {
		t.Errorf("other installation's repo: %v, want ErrNotFound", err)
	}
}

func TestPermission(t *testing.T) {
	e := newEnv(t, envOpts{})
	for _, role := range []string{"admin", "maintain", "write", "triage", "read"} {
		e.repo.SetPermission("u-"+role, role)
	}
	for _, tc := range []struct {
		user string
		want Role
	}{
		{"u-admin", "admin"}, {"u-maintain", "maintain"}, {"u-write", "write"},
		{"u-triage", "triage"}, {"u-read", "read"}, {"stranger", "none"},
	} {
		got, err := e.client.Permission(context.Background(), "acme", "mesh", tc.user)
		if err != nil || got != tc.want {
			t.Errorf("Permission(%s) = %q, %v; want %q", tc.user, got, err, tc.want)
		}
	}
}

func TestCommentAndReact(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.repo.Commit("main", map[string][]byte{"a": []byte("a")})
	e.repo.Commit("x", map[string][]byte{"a": []byte("b")})
	e.repo.OpenPullRequest(5, "main", "x")
	ctx := context.Background()
	id := e.fake.AddComment("acme/mesh", 5, "alice", "/mesh help")
	if err := e.client.React(ctx, "acme", "mesh", id, "eyes"); err != nil {
		t.Fatal(err)
	}
	if err := e.client.Comment(ctx, "acme", "mesh", 5, "Commands: help, recheck"); err != nil {
		t.Fatal(err)
	}
	got := e.fake.Comments("acme/mesh", 5)
	if len(got) != 2 || got[1].Body != "Commands: help, recheck" {
		t.Errorf("comments %+v", got)
	}
	if r := e.fake.Reactions("acme/mesh", id); fmt.Sprint(r) != "[eyes]" {
		t.Errorf("reactions %v", r)
	}
	if err := e.client.React(ctx, "acme", "mesh", 999999, "eyes"); !errors.Is(err, ErrNotFound) {
		t.Errorf("react to a missing comment: %v", err)
	}
	if err := e.client.Comment(ctx, "acme", "mesh", 77, "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("comment on a missing issue: %v", err)
	}
}

// TestInvalidBodyCaught proves the fake's validation can fail through the
// client: a body GitHub would refuse is refused and recorded.
func TestInvalidBodyCaught(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.violationsAllowed = true
	sha := e.repo.Commit("main", map[string][]byte{"a": []byte("a")})
	_, _, err := e.client.gh.Checks.CreateCheckRun(context.Background(), "acme", "mesh", github.CreateCheckRunOptions{
		Name: "meshbot", HeadSHA: sha, Status: github.String("completed"), // no conclusion
	})
	var er *github.ErrorResponse
	if !errors.As(err, &er) || er.Response.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("err = %v, want a 422", err)
	}
	if v := e.fake.Violations(); len(v) != 1 || !strings.Contains(v[0], "checks/create") {
		t.Errorf("violations = %q", v)
	}
	if n := len(e.fake.CheckRuns("acme/mesh")); n != 0 {
		t.Errorf("%d check runs were created from a refused body", n)
	}
}

func BenchmarkChangedFiles3000(b *testing.B) {
	e := newEnv(b, envOpts{})
	e.repo.Commit("main", manyFiles(3000, ""))
	e.repo.Commit("change", manyFiles(3000, "spec: {}\n"))
	e.repo.OpenPullRequest(1, "main", "change")
	ctx := context.Background()
	if _, err := e.client.ChangedFiles(ctx, "acme", "mesh", 1); err != nil { // token exchange outside the loop
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		files, err := e.client.ChangedFiles(ctx, "acme", "mesh", 1)
		if err != nil || len(files) != 3000 {
			b.Fatalf("%d files, %v", len(files), err)
		}
	}
}

// TestErrorKinds: callers tell GitHub's answers apart by kind, not status.
func TestErrorKinds(t *testing.T) {
	for _, tc := range []struct {
		name    string
		status  int
		headers http.Header
		branch  string
		want    error
	}{
		{"missing branch", 0, nil, "nope", ErrNotFound},
		{"empty repository", http.StatusConflict, nil, "main", ErrEmptyRepository},
		{"server error after the retries", http.StatusBadGateway, nil, "main", ErrUnavailable},
		{"quota spent", http.StatusForbidden, http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {"4102444800"}}, "main", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOpts{cfg: func(c *Config) { c.MaxRetries = 1 }})
			e.repo.Commit("main", map[string][]byte{"a": []byte("a")})
			ctx := context.Background()
			if _, err := e.client.DefaultBranch(ctx, "acme", "mesh"); err != nil { // the token first
				t.Fatal(err)
			}
			if tc.status != 0 {
				e.fake.FailNext(2, tc.status, tc.headers)
			}
			_, err := e.client.BranchHead(ctx, "acme", "mesh", tc.branch)
			if tc.want == nil {
				var rl *RateLimitError
				if !errors.As(err, &rl) {
					t.Fatalf("err = %v, want a *RateLimitError", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			for _, other := range []error{ErrNotFound, ErrEmptyRepository, ErrUnavailable} {
				if other != tc.want && errors.Is(err, other) {
					t.Errorf("err = %v is also %v", err, other)
				}
			}
		})
	}
}

func TestFileStatusSides(t *testing.T) {
	for _, tc := range []struct {
		status     FileStatus
		base, head bool
	}{
		{FileAdded, false, true}, {FileRemoved, true, false}, {FileModified, true, true},
		{FileRenamed, false, true}, {FileCopied, false, true}, {FileChanged, true, true},
	} {
		if tc.status.InBase() != tc.base || tc.status.InHead() != tc.head {
			t.Errorf("%s: InBase %v InHead %v, want %v %v", tc.status, tc.status.InBase(), tc.status.InHead(), tc.base, tc.head)
		}
	}
}
