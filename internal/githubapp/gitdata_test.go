package githubapp

import (
	"context"
	"errors"
	"net/http"
	"testing"
)

// TestProposeThroughGitData makes a commit on top of main through the git
// data API, puts it on a branch of its own (created, then moved by force),
// and opens, finds and updates the pull request from it.
func TestProposeThroughGitData(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := context.Background()
	main := e.repo.Commit("main", map[string][]byte{"a/dataproduct.yaml": []byte("kind: DataProduct\n"), "README.md": []byte("hi\n")})
	commit := func(content string) string {
		t.Helper()
		root, err := e.client.RootTree(ctx, "acme", "mesh", main)
		if err != nil {
			t.Fatal(err)
		}
		blob, err := e.client.CreateBlob(ctx, "acme", "mesh", []byte(content))
		if err != nil {
			t.Fatal(err)
		}
		tree, err := e.client.CreateTree(ctx, "acme", "mesh", root, []TreeChange{{Path: "a/dataproduct.yaml", Blob: blob}})
		if err != nil {
			t.Fatal(err)
		}
		sha, err := e.client.CreateCommit(ctx, "acme", "mesh", NewCommit{Message: "edit", Tree: tree, Parents: []string{main}})
		if err != nil {
			t.Fatal(err)
		}
		return sha
	}
	first := commit("kind: DataProduct\n# one\n")
	if e.repo.Branch("main") != main {
		t.Fatal("a commit object moved main")
	}
	created, err := e.client.SetBranch(ctx, "acme", "mesh", "meshbot/x", first)
	if err != nil || !created || e.repo.Branch("meshbot/x") != first {
		t.Fatalf("SetBranch (new) = %v, %v; branch at %s, want %s", created, err, e.repo.Branch("meshbot/x"), first)
	}
	if _, ok, err := e.client.OpenPullByHead(ctx, "acme", "mesh", "meshbot/x"); ok || err != nil {
		t.Fatalf("OpenPullByHead before any = %v, %v", ok, err)
	}
	pr, err := e.client.CreatePull(ctx, "acme", "mesh", NewPull{Title: "T1", Body: "B1", Head: "meshbot/x", Base: "main"})
	if err != nil || pr.Number == 0 || pr.URL == "" || !pr.Open {
		t.Fatalf("CreatePull = %+v, %v", pr, err)
	}

	// Again from main's head: a sibling of the first commit, not a
	// descendant, so only a forced move gets it onto the branch.
	second := commit("kind: DataProduct\n# two\n")
	created, err = e.client.SetBranch(ctx, "acme", "mesh", "meshbot/x", second)
	if err != nil || created || e.repo.Branch("meshbot/x") != second {
		t.Fatalf("SetBranch (existing) = %v, %v", created, err)
	}
	found, ok, err := e.client.OpenPullByHead(ctx, "acme", "mesh", "meshbot/x")
	if err != nil || !ok || found.Number != pr.Number {
		t.Fatalf("OpenPullByHead = %+v, %v, %v; want #%d", found, ok, err, pr.Number)
	}
	upd, err := e.client.UpdatePull(ctx, "acme", "mesh", pr.Number, "T2", "B2")
	if err != nil || upd.Title != "T2" || upd.Body != "B2" {
		t.Fatalf("UpdatePull = %+v, %v", upd, err)
	}
	if got, _ := e.repo.File("meshbot/x", "a/dataproduct.yaml"); string(got) != "kind: DataProduct\n# two\n" {
		t.Errorf("branch holds %q", got)
	}
	if got, ok := e.repo.File("meshbot/x", "README.md"); !ok || string(got) != "hi\n" {
		t.Errorf("other files of the base not kept: %q", got)
	}
	if n := len(e.repo.Pulls()); n != 1 {
		t.Errorf("%d pull requests, want 1", n)
	}

	// Closed, it is no longer found: the next request opens a new one.
	e.repo.ClosePullRequest(pr.Number)
	if _, ok, err := e.client.OpenPullByHead(ctx, "acme", "mesh", "meshbot/x"); ok || err != nil {
		t.Errorf("OpenPullByHead after close = %v, %v", ok, err)
	}

	// A ref to something that is not a commit is an error, not a create.
	if _, err := e.client.SetBranch(ctx, "acme", "mesh", "meshbot/y", "1111111111111111111111111111111111111111"); err == nil {
		t.Error("SetBranch to an unknown sha succeeded")
	}
	if e.repo.Branch("meshbot/y") != "" {
		t.Error("a branch was created at an unknown sha")
	}
	// A refusal for good (an installation without contents: write) is
	// ErrRefused; GitHub down is ErrUnavailable, for the job to retry.
	forbidden := e.fake.FailPath("POST", "/repos/acme/mesh/git/trees", http.StatusForbidden)
	if _, err := e.client.CreateTree(ctx, "acme", "mesh", "", []TreeChange{{Path: "a", Blob: "1111111111111111111111111111111111111111"}}); !errors.Is(err, ErrRefused) {
		t.Errorf("CreateTree answered 403: %v, want ErrRefused", err)
	}
	forbidden()
	if _, err := e.client.CreatePull(ctx, "acme", "mesh", NewPull{Title: "T", Head: "nope", Base: "main"}); !errors.Is(err, ErrRefused) {
		t.Errorf("CreatePull from a missing branch (422): %v, want ErrRefused", err)
	}
	stop := e.fake.FailPath("POST", "/repos/acme/mesh/git/blobs", http.StatusBadGateway)
	defer stop()
	if _, err := e.client.CreateBlob(ctx, "acme", "mesh", []byte("x")); !errors.Is(err, ErrUnavailable) {
		t.Errorf("CreateBlob during a 502: %v, want ErrUnavailable", err)
	}
}
