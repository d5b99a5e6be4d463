package ghfake

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// step is one request of a sequence whose answers feed the next requests.
type step struct {
	name, method, path, body string
	status                   int
	template                 string // the spec's path, to validate the answer; "" for none
	violation                string // the recorded violation's text; "" for none
}

// run sends s and checks its status, its answer against GitHub's schema
// and the violations it records.
func (fx *fixture) run(t *testing.T, s step) answer {
	t.Helper()
	before := len(fx.f.Violations())
	got := fx.do(t, s.method, s.path, "token "+fx.tok, s.body)
	if got.status != s.status {
		t.Fatalf("%s: status %d, want %d: %.400s", s.name, got.status, s.status, got.body)
	}
	if s.template != "" {
		status := fmt.Sprint(s.status)
		if s.status == http.StatusUnprocessableEntity {
			status = "validation_failed"
		}
		sch, err := fx.f.spec.responseSchema(s.method, s.template, status)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if _, msg := validate(sch, got.body); msg != "" {
			t.Errorf("%s: answer does not match GitHub's schema:\n%s\nbody: %.600s", s.name, msg, got.body)
		}
	}
	v := fx.f.Violations()[before:]
	switch {
	case s.violation == "" && len(v) > 0:
		t.Errorf("%s: recorded violations %q for a request GitHub takes", s.name, v)
	case s.violation != "" && (len(v) != 1 || !strings.Contains(v[0], s.violation)):
		t.Errorf("%s: violations %q, want one about %q", s.name, v, s.violation)
	}
	return got
}

// TestGitDataWrites builds a commit the way meshbot proposes a change —
// blob, tree on a base tree, commit, branch, pull request — and holds each
// answer to GitHub's schema and each refusal to GitHub's status code.
func TestGitDataWrites(t *testing.T) {
	fx := newFixture(t, "")
	main := fx.repo.Branch("main")
	feature := fx.repo.Branch("feature")
	fx.f.mu.Lock()
	baseTree := fx.repo.commits[main].tree
	fx.f.mu.Unlock()
	content := []byte("apiVersion: mesh/v1\nkind: DataProduct\n# deprecated\n")
	b64 := base64.StdEncoding.EncodeToString(content)

	blob := fx.run(t, step{"create blob", "POST", "/repos/acme/mesh/git/blobs", fmt.Sprintf(`{"content":%q,"encoding":"base64"}`, b64), 201, "/repos/{owner}/{repo}/git/blobs", ""})
	if sha := blob.json["sha"]; sha != gitHash("blob", content) {
		t.Fatalf("blob sha %v, want git's %s", sha, gitHash("blob", content))
	}
	fx.run(t, step{"utf-8 blob", "POST", "/repos/acme/mesh/git/blobs", `{"content":"plain text"}`, 201, "/repos/{owner}/{repo}/git/blobs", ""})
	fx.run(t, step{"bad base64", "POST", "/repos/acme/mesh/git/blobs", `{"content":"!!","encoding":"base64"}`, 422, "", "Base64"})
	fx.run(t, step{"unknown encoding", "POST", "/repos/acme/mesh/git/blobs", `{"content":"x","encoding":"latin1"}`, 422, "", "encoding"})
	fx.run(t, step{"blob without content", "POST", "/repos/acme/mesh/git/blobs", `{"encoding":"utf-8"}`, 422, "", "content"})

	treeBody := fmt.Sprintf(`{"base_tree":%q,"tree":[{"path":"finance/dataproduct.yaml","mode":"100644","type":"blob","sha":%q}]}`, baseTree, blob.json["sha"])
	tree := fx.run(t, step{"create tree", "POST", "/repos/acme/mesh/git/trees", treeBody, 201, "/repos/{owner}/{repo}/git/trees", ""})
	treeSHA, _ := tree.json["sha"].(string)
	fx.run(t, step{"unknown base tree", "POST", "/repos/acme/mesh/git/trees", `{"base_tree":"1111111111111111111111111111111111111111","tree":[]}`, 422, "", ""})
	fx.run(t, step{"unknown blob", "POST", "/repos/acme/mesh/git/trees", `{"tree":[{"path":"a","mode":"100644","type":"blob","sha":"1111111111111111111111111111111111111111"}]}`, 422, "", ""})
	fx.run(t, step{"sha and content", "POST", "/repos/acme/mesh/git/trees", fmt.Sprintf(`{"tree":[{"path":"a","mode":"100644","type":"blob","sha":%q,"content":"x"}]}`, blob.json["sha"]), 422, "", "both"})
	fx.run(t, step{"bad mode", "POST", "/repos/acme/mesh/git/trees", `{"tree":[{"path":"a","mode":"644","type":"blob","content":"x"}]}`, 422, "", "mode"})
	fx.run(t, step{"absolute path", "POST", "/repos/acme/mesh/git/trees", `{"tree":[{"path":"/a","mode":"100644","type":"blob","content":"x"}]}`, 422, "", ""})

	commit := fx.run(t, step{"create commit", "POST", "/repos/acme/mesh/git/commits",
		fmt.Sprintf(`{"message":"Deprecate finance.revenue","tree":%q,"parents":[%q]}`, treeSHA, main), 201, "/repos/{owner}/{repo}/git/commits", ""})
	commitSHA, _ := commit.json["sha"].(string)
	fx.run(t, step{"unknown tree", "POST", "/repos/acme/mesh/git/commits", fmt.Sprintf(`{"message":"m","tree":"1111111111111111111111111111111111111111","parents":[%q]}`, main), 422, "", ""})
	fx.run(t, step{"unknown parent", "POST", "/repos/acme/mesh/git/commits", fmt.Sprintf(`{"message":"m","tree":%q,"parents":["1111111111111111111111111111111111111111"]}`, treeSHA), 422, "", ""})
	fx.run(t, step{"commit without tree", "POST", "/repos/acme/mesh/git/commits", `{"message":"m"}`, 422, "", "tree"})
	if fx.repo.Branch("main") != main {
		t.Fatal("creating a commit moved main")
	}

	// The branch does not exist: PATCH is 422, not 404; then it is created.
	fx.run(t, step{"update missing ref", "PATCH", "/repos/acme/mesh/git/refs/heads/meshbot/x", fmt.Sprintf(`{"sha":%q,"force":true}`, commitSHA), 422, "", ""})
	fx.run(t, step{"create ref", "POST", "/repos/acme/mesh/git/refs", fmt.Sprintf(`{"ref":"refs/heads/meshbot/x","sha":%q}`, commitSHA), 201, "/repos/{owner}/{repo}/git/refs", ""})
	fx.run(t, step{"update to unknown sha", "PATCH", "/repos/acme/mesh/git/refs/heads/meshbot/x", `{"sha":"1111111111111111111111111111111111111111"}`, 422, "", ""})
	fx.run(t, step{"not a fast forward", "PATCH", "/repos/acme/mesh/git/refs/heads/meshbot/x", fmt.Sprintf(`{"sha":%q}`, feature), 422, "", ""})
	fx.run(t, step{"forced", "PATCH", "/repos/acme/mesh/git/refs/heads/meshbot/x", fmt.Sprintf(`{"sha":%q,"force":true}`, feature), 200, "/repos/{owner}/{repo}/git/refs/{ref}", ""})
	fx.run(t, step{"back by force", "PATCH", "/repos/acme/mesh/git/refs/heads/meshbot/x", fmt.Sprintf(`{"sha":%q,"force":true}`, commitSHA), 200, "/repos/{owner}/{repo}/git/refs/{ref}", ""})
	fx.run(t, step{"ref without sha", "PATCH", "/repos/acme/mesh/git/refs/heads/meshbot/x", `{"force":true}`, 422, "", "sha"})
	if got, _ := fx.repo.File("meshbot/x", "finance/dataproduct.yaml"); string(got) != string(content) {
		t.Fatalf("the branch holds %q, want the new blob", got)
	}
	if got, ok := fx.repo.File("meshbot/x", "finance/contracts/revenue.v1.yaml"); !ok || string(got) != "a\nb\nc\n" {
		t.Fatalf("the base tree's other files are not kept: %q %v", got, ok)
	}
	refs := fx.run(t, step{"matching refs", "GET", "/repos/acme/mesh/git/matching-refs/heads/meshbot/", "", 200, "/repos/{owner}/{repo}/git/matching-refs/{ref}", ""})
	if !strings.Contains(string(refs.body), `"refs/heads/meshbot/x"`) || strings.Contains(string(refs.body), "refs/heads/main") {
		t.Errorf("matching refs: %s", refs.body)
	}
	if none := fx.run(t, step{"no matching refs", "GET", "/repos/acme/mesh/git/matching-refs/heads/nothing", "", 200, "", ""}); string(none.body) != "[]" {
		t.Errorf("no match: %s, want []", none.body)
	}

	pr := fx.run(t, step{"open pull request", "POST", "/repos/acme/mesh/pulls", `{"title":"Deprecate","head":"meshbot/x","base":"main","body":"v1"}`, 201, "/repos/{owner}/{repo}/pulls", ""})
	n := int(pr.json["number"].(float64))
	fx.run(t, step{"a second one from the same head", "POST", "/repos/acme/mesh/pulls", `{"title":"Again","head":"meshbot/x","base":"main"}`, 422, "", ""})
	list := fx.run(t, step{"list by head", "GET", "/repos/acme/mesh/pulls?state=open&head=acme:meshbot/x", "", 200, "/repos/{owner}/{repo}/pulls", ""})
	if !strings.Contains(string(list.body), fmt.Sprintf(`"number":%d`, n)) || strings.Contains(string(list.body), `"number":12`) {
		t.Errorf("list by head: %.300s", list.body)
	}
	fx.run(t, step{"update pull request", "PATCH", fmt.Sprintf("/repos/acme/mesh/pulls/%d", n), `{"title":"Deprecate (v2)","body":"v2"}`, 200, "/repos/{owner}/{repo}/pulls/{pull_number}", ""})
	fx.run(t, step{"update unknown pull request", "PATCH", "/repos/acme/mesh/pulls/999", `{"body":"x"}`, 404, "", ""})
	fx.run(t, step{"bad state", "PATCH", fmt.Sprintf("/repos/acme/mesh/pulls/%d", n), `{"state":"merged"}`, 422, "", "state"})
	fx.run(t, step{"close", "PATCH", fmt.Sprintf("/repos/acme/mesh/pulls/%d", n), `{"state":"closed"}`, 200, "/repos/{owner}/{repo}/pulls/{pull_number}", ""})
	if open := fx.run(t, step{"none open from the head", "GET", "/repos/acme/mesh/pulls?head=acme:meshbot/x", "", 200, "", ""}); string(open.body) != "[]" {
		t.Errorf("closed pull request still listed as open: %.300s", open.body)
	}
	closed := fx.run(t, step{"closed ones", "GET", "/repos/acme/mesh/pulls?state=closed&head=acme:meshbot/x", "", 200, "/repos/{owner}/{repo}/pulls", ""})
	if !strings.Contains(string(closed.body), `"state":"closed"`) {
		t.Errorf("closed list: %.300s", closed.body)
	}
	got := fx.repo.Pulls()
	last := got[len(got)-1]
	if last.Number != n || last.Title != "Deprecate (v2)" || last.Body != "v2" || last.Open || last.Author != "meshbot[bot]" {
		t.Errorf("pull request as recorded: %+v", last)
	}
}

// TestGitDataEmptyRepository: the git data API answers 409 on a
// repository without commits.
func TestGitDataEmptyRepository(t *testing.T) {
	fx := newFixture(t, "")
	fx.f.AddRepo(7, "acme/empty", "main")
	for _, s := range []step{
		{"blob", "POST", "/repos/acme/empty/git/blobs", `{"content":"x"}`, 409, "", ""},
		{"tree", "POST", "/repos/acme/empty/git/trees", `{"tree":[{"path":"a","mode":"100644","type":"blob","content":"x"}]}`, 409, "", ""},
		{"commit", "POST", "/repos/acme/empty/git/commits", `{"message":"m","tree":"1111111111111111111111111111111111111111"}`, 409, "", ""},
		{"ref", "PATCH", "/repos/acme/empty/git/refs/heads/main", `{"sha":"1111111111111111111111111111111111111111"}`, 409, "", ""},
		{"matching refs", "GET", "/repos/acme/empty/git/matching-refs/heads/", "", 409, "", ""},
	} {
		fx.run(t, s)
	}
}
