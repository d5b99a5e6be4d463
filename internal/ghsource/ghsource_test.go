package ghsource

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meshbot/meshbot/internal/ghfake"
	"github.com/meshbot/meshbot/internal/ghfake/ghfaketest"
	"github.com/meshbot/meshbot/internal/githubapp"
	"github.com/meshbot/meshbot/internal/mesh"
)

const appID = 4545

func setup(t *testing.T) (*ghfake.Fake, githubapp.Installation, string) {
	t.Helper()
	f := ghfaketest.New(t, appID)
	f.AddInstallation(3, "acme")
	r := f.AddRepo(3, "acme/mesh", "main")
	sha := r.Commit("main", map[string][]byte{
		"a.yaml":          []byte("kind: DataContract\n"),
		"big.yaml":        []byte(strings.Repeat("x", mesh.MaxFileBytes+10)),
		".github/ci.yaml": []byte("on: push\n"),
	})
	app, err := githubapp.NewApp(githubapp.Config{
		AppID: appID, PrivateKey: ghfaketest.PEM(), BaseURL: f.URL(), HTTPClient: f.Client(),
		RetryBaseDelay: time.Millisecond, MaxRetries: -1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := app.Installation(3)
	if err != nil {
		t.Fatal(err)
	}
	return f, cl, sha
}

func contents(f *ghfake.Fake) []string {
	var out []string
	for _, r := range f.Requests() {
		if strings.Contains(r.Path, "/contents/") {
			out = append(out, r.Path)
		}
	}
	return out
}

// TestReaderReadsEachFileOnce: concurrent reads of one file at one commit
// make one request; a missing file is fs.ErrNotExist and not a failure of
// GitHub.
func TestReaderReadsEachFileOnce(t *testing.T) {
	f, cl, sha := setup(t)
	ctx := context.Background()
	r := NewReader(cl, "acme", "mesh", 4)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if b, err := r.Read(ctx, "a.yaml", sha); err != nil || string(b) != "kind: DataContract\n" {
				t.Errorf("read = %q, %v", b, err)
			}
		})
	}
	r.Prefetch(ctx, "a.yaml", sha)
	wg.Wait()
	r.Wait()
	if got := contents(f); len(got) != 1 || r.Calls() != 1 {
		t.Errorf("%d calls, requests %q; want one", r.Calls(), got)
	}
	if _, err := r.Read(ctx, "nope.yaml", sha); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if err := r.Err(); err != nil {
		t.Errorf("a 404 recorded as a failure of GitHub: %v", err)
	}
}

// TestTreeSizesSpareDownloads: a file the tree says is over the limit is
// refused with its size, without a request; the tree's ids are the
// versions the loader compares.
func TestTreeSizesSpareDownloads(t *testing.T) {
	f, cl, sha := setup(t)
	ctx := context.Background()
	tree := &Tree{R: NewReader(cl, "acme", "mesh", 4), SHA: sha}
	files, err := tree.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 3 || files[0].Version == "" {
		t.Fatalf("listed %+v", files)
	}
	_, err = tree.Read(ctx, "big.yaml")
	var big *mesh.TooLargeError
	if !errors.As(err, &big) || big.Size != mesh.MaxFileBytes+10 {
		t.Fatalf("big file: %v", err)
	}
	if got := contents(f); len(got) != 0 {
		t.Errorf("requested %q", got)
	}
	if _, err := tree.Read(ctx, "not/in/the/tree.yaml"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a file not in the tree: %v", err)
	}
	if got := contents(f); len(got) != 0 {
		t.Errorf("asked GitHub for a file the tree does not hold: %q", got)
	}
}

// TestGitHubFailureIsRecorded: a 5xx on a file is an error the caller sees
// after loading (Err), so no verdict is built on a partial read.
func TestGitHubFailureIsRecorded(t *testing.T) {
	f, cl, sha := setup(t)
	ctx := context.Background()
	r := NewReader(cl, "acme", "mesh", 4)
	stop := f.FailPath(http.MethodGet, "/repos/acme/mesh/contents/", http.StatusBadGateway)
	defer stop()
	m, err := mesh.LoadSource(ctx, &Files{R: r, Files: []mesh.File{{Path: "a.yaml"}},
		At: func(context.Context, string) (string, bool, error) { return sha, true, nil }})
	if err != nil {
		t.Fatal(err)
	}
	if r.Err() == nil {
		t.Fatalf("the failure was not recorded; the load made of it: %v", m.Problems)
	}
}

// TestLinksAreListedNotFetched (issue 11.5): a tree entry of mode 120000 is
// listed as a link and never requested, so the loader reports a linked
// descriptor as input/symlink; a link the contents API reveals (a file
// read without a tree) is a *mesh.SymlinkError too, never its target.
func TestLinksAreListedNotFetched(t *testing.T) {
	f, cl, _ := setup(t)
	ctx := context.Background()
	sha := f.AddRepo(3, "acme/links", "main").CommitLinks("main", map[string][]byte{
		"real/dataproduct.yaml": []byte("apiVersion: mesh/v1\nkind: DataProduct\nmetadata: {name: r, domain: d, owner: team-x}\n"),
	}, map[string]string{
		"p/dataproduct.yaml": "../real/dataproduct.yaml",
		"q/dataproduct.yaml": "/etc/passwd",
	})
	tree := &Tree{R: NewReader(cl, "acme", "links", 4), SHA: sha}
	m, err := mesh.LoadSource(ctx, tree)
	if err != nil {
		t.Fatal(err)
	}
	links := 0
	for _, p := range m.Problems {
		if p.Code == mesh.CodeSymlink && (p.Pos.File == "p/dataproduct.yaml" || p.Pos.File == "q/dataproduct.yaml") {
			links++
		}
	}
	if links != 2 || len(m.Products) != 1 {
		t.Errorf("%d symlink findings, %d products; want 2 and the real one: %v", links, len(m.Products), m.Problems)
	}
	for _, p := range contents(f) {
		if strings.Contains(p, "/contents/p/") || strings.Contains(p, "/contents/q/") {
			t.Errorf("a link the tree showed was requested: %s", p)
		}
	}

	// Without a tree the contents API tells: GitHub answers a link to a
	// file of the repository with that file, any other with its target.
	r := NewReader(cl, "acme", "links", 4)
	for p, target := range map[string]string{"p/dataproduct.yaml": "real/dataproduct.yaml", "q/dataproduct.yaml": "/etc/passwd"} {
		_, err := r.Read(ctx, p, sha)
		var se *mesh.SymlinkError
		if !errors.As(err, &se) || se.Link != p || se.Target != target {
			t.Errorf("read %s: %v, want a link to %s", p, err, target)
		}
	}
	if err := r.Err(); err != nil {
		t.Errorf("a link recorded as a failure of GitHub: %v", err)
	}
}
