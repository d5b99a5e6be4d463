package ghfake

import (
	"net/http"
	"strings"
	"testing"
)

// TestMergePullRequest: a squash merge applies the head's changes since
// the merge base (modified, renamed, added, removed) on top of a base that
// moved meanwhile, keeps the base's own change, and shows the pull request
// merged; a file changed on both sides refuses the merge and changes
// nothing.
func TestMergePullRequest(t *testing.T) {
	fx := newFixture(t, "")
	r := fx.repo
	main := map[string][]byte{
		"finance/dataproduct.yaml":          []byte("apiVersion: mesh/v1\nkind: DataProduct\n"),
		"finance/contracts/revenue.v1.yaml": []byte("a\nb\nc\n"),
		"README.md":                         []byte("hello\n"),
		"other.md":                          []byte("main moved\n"),
	}
	r.Commit("main", main)
	sha, err := r.MergePullRequest(12)
	if err != nil {
		t.Fatal(err)
	}
	if r.Branch("main") != sha || r.Parent(sha) == "" {
		t.Fatalf("main at %s, merge commit %s with parent %q", r.Branch("main"), sha, r.Parent(sha))
	}
	for path, want := range map[string]string{
		"finance/dataproduct.yaml":          "apiVersion: mesh/v1\nkind: DataProduct\nmetadata: {}\n",
		"finance/contracts/revenue.v2.yaml": "a\nb\nc\n",
		"docs/new.md":                       "new\n",
		"other.md":                          "main moved\n",
		"finance/contracts/revenue.v1.yaml": "",
		"README.md":                         "",
	} {
		got, ok := r.File("main", path)
		if string(got) != want || ok != (want != "") {
			t.Errorf("%s on main: %q (present %v), want %q", path, got, ok, want)
		}
	}
	got := fx.run(t, step{"merged pull", "GET", "/repos/acme/mesh/pulls/12", "", http.StatusOK, "/repos/{owner}/{repo}/pulls/{pull_number}", ""})
	if got.json["merged"] != true || got.json["merge_commit_sha"] != sha || got.json["state"] != "closed" || got.json["merged_at"] == nil {
		t.Errorf("merged pull request shows merged %v, merge_commit_sha %v, state %v, merged_at %v", got.json["merged"], got.json["merge_commit_sha"], got.json["state"], got.json["merged_at"])
	}
	if _, err := r.MergePullRequest(12); err == nil {
		t.Error("a merged pull request merged again")
	}

	fx = newFixture(t, "")
	r = fx.repo
	main["finance/dataproduct.yaml"] = []byte("apiVersion: mesh/v1\nkind: DataProduct\nspec: {}\n")
	tip := r.Commit("main", main)
	if _, err := r.MergePullRequest(12); err == nil || !strings.Contains(err.Error(), "finance/dataproduct.yaml changed on main too") {
		t.Fatalf("a conflicting merge: %v", err)
	}
	if r.Branch("main") != tip || !r.Pulls()[0].Open {
		t.Error("a refused merge changed main or closed the pull request")
	}
}
