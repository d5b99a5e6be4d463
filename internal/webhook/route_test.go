package webhook

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/meshbot/meshbot/internal/jobs"
	"github.com/meshbot/meshbot/internal/store"
)

const (
	prHead   = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
	prBase   = "f95f852bd8fca8fcc58a9a2d6c842781e32a215e"
	pushHead = "6113728f27ae82c7b1a177c8d03f9e96e0adf246"
	oldHead  = "1111111111111111111111111111111111111111"
)

type wantJob struct {
	kind string
	key  string
	body any // a jobs.* value
}

// decodeAs decodes j's payload into a fresh value of want's type.
func decodeAs(t *testing.T, j store.Job, want any) any {
	t.Helper()
	v := reflect.New(reflect.TypeOf(want))
	if err := json.Unmarshal(j.Payload, v.Interface()); err != nil {
		t.Fatal(err)
	}
	return v.Elem().Interface()
}

func TestRoute(t *testing.T) {
	const d = "72d3162e-cc78-11e3-81ab-4c9367dc0958"
	check := func(pr int, head string) jobs.PullCheck {
		return jobs.PullCheck{Delivery: d, Installation: 1, Owner: "Codertocat", Repo: "Hello-World",
			PR: pr, HeadSHA: head, BaseSHA: prBase, BaseRef: "master"}
	}
	opened := check(2, prHead)
	suite := check(2, prHead)
	suite.Installation = 957387
	suite.Requested = true // "Re-run all checks"
	staleSuite := suite
	staleSuite.HeadSHA = oldHead
	run := jobs.PullCheck{Delivery: d, Installation: 1, Owner: "github", Repo: "hello-world",
		HeadSHA: "d6fde92930d4715a2b49857d24b940956b26d2d3", CheckRunID: 4}
	runPR := jobs.PullCheck{Delivery: d, Installation: 690857, Owner: "electron", Repo: "electron", PR: 26764,
		HeadSHA: "5bd5f196a46b8222fb7484f05faba41a73cf34bd", BaseSHA: "45eee468647309e9e6cdb2a88a3b460a59771fef",
		BaseRef: "master", CheckRunID: 1494503112}
	index := func(inst int64, owner, repo, ref string, paths ...string) jobs.Index {
		return jobs.Index{Delivery: d, Installation: inst, Owner: owner, Repo: repo, Ref: ref, Paths: paths}
	}
	cmd := jobs.Command{Delivery: d, Installation: 1, Owner: "Codertocat", Repo: "Hello-World", Issue: 1,
		CommentID: 492700400, User: "Codertocat", Body: "/mesh help"}
	cmdPR := cmd
	cmdPR.IsPR, cmdPR.Body = true, "\n\n  /mesh recheck\nplease"

	tests := []struct {
		name    string
		file    string
		event   string
		edits   map[string]any
		jobs    []wantJob
		heads   []Head
		ignored string // substring of Work.Ignored when no jobs
	}{
		{name: "pr opened", file: "pull_request/opened.payload.json", event: "pull_request",
			jobs:  []wantJob{{jobs.KindPullCheck.Name(), opened.Key(), opened}},
			heads: []Head{{opened.Key(), prHead}}},
		{name: "pr opened in an organisation", file: "pull_request/opened.with-organization.payload.json", event: "pull_request",
			jobs:  []wantJob{{jobs.KindPullCheck.Name(), opened.Key(), opened}},
			heads: []Head{{opened.Key(), prHead}}},
		{name: "pr synchronize", file: "pull_request/synchronize.payload.json", event: "pull_request",
			jobs:  []wantJob{{jobs.KindPullCheck.Name(), opened.Key(), opened}},
			heads: []Head{{opened.Key(), prHead}}},
		{name: "pr reopened", file: "pull_request/reopened.payload.json", event: "pull_request",
			jobs:  []wantJob{{jobs.KindPullCheck.Name(), opened.Key(), opened}},
			heads: []Head{{opened.Key(), prHead}}},
		{name: "pr ready for review", file: "pull_request/ready_for_review.payload.json", event: "pull_request",
			edits: map[string]any{"installation": map[string]any{"id": 1}},
			jobs:  []wantJob{{jobs.KindPullCheck.Name(), opened.Key(), opened}},
			heads: []Head{{opened.Key(), prHead}}},
		{name: "pr ready for review without installation", file: "pull_request/ready_for_review.payload.json", event: "pull_request",
			ignored: "no installation"},
		{name: "draft pr opened is checked too", file: "pull_request/opened.payload.json", event: "pull_request",
			edits: map[string]any{"pull_request.draft": true},
			jobs:  []wantJob{{jobs.KindPullCheck.Name(), opened.Key(), opened}},
			heads: []Head{{opened.Key(), prHead}}},
		{name: "pr closed", file: "pull_request/closed.payload.json", event: "pull_request", ignored: "closed"},
		{name: "check suite rerequested", file: "check_suite/rerequested.payload.json", event: "check_suite",
			jobs:  []wantJob{{jobs.KindPullCheck.Name(), suite.Key(), suite}},
			heads: []Head{{suite.Key(), prHead}}},
		{name: "check suite of an older commit is not the newest head", file: "check_suite/rerequested.payload.json", event: "check_suite",
			edits: map[string]any{"check_suite.head_sha": oldHead},
			jobs:  []wantJob{{jobs.KindPullCheck.Name(), staleSuite.Key(), staleSuite}}},
		{name: "check suite requested without pull request", file: "check_suite/requested.payload.json", event: "check_suite",
			ignored: "no pull request"},
		{name: "check run rerequested without pull request", file: "check_run/rerequested.payload.json", event: "check_run",
			jobs: []wantJob{{jobs.KindPullCheck.Name(), run.Key(), run}}},
		{name: "check run rerequested with a pull request", file: "check_run/requested_action.payload.json", event: "check_run",
			edits: map[string]any{"action": "rerequested"},
			jobs:  []wantJob{{jobs.KindPullCheck.Name(), runPR.Key(), runPR}},
			heads: []Head{{runPR.Key(), runPR.HeadSHA}}},
		{name: "check run requested action", file: "check_run/requested_action.payload.json", event: "check_run",
			ignored: "requested_action"},
		{name: "push creating the default branch scans it all", file: "push/with-new-branch.payload.json", event: "push",
			jobs: []wantJob{{jobs.KindIndex.Name(), "", index(1, "Codertocat", "Hello-World", pushHead)}}},
		{name: "push to the default branch", file: "push/with-new-branch.payload.json", event: "push",
			edits: map[string]any{"created": false, "before": prBase, "commits": []any{
				map[string]any{"added": []any{"b/dataproduct.yaml"}, "modified": []any{"a/c.yaml"}, "removed": []any{}},
				map[string]any{"added": []any{}, "modified": []any{"a/c.yaml"}, "removed": []any{"z.txt"}},
			}},
			jobs: []wantJob{{jobs.KindIndex.Name(), "", index(1, "Codertocat", "Hello-World", pushHead, "a/c.yaml", "b/dataproduct.yaml", "z.txt")}}},
		{name: "force push scans it all", file: "push/with-new-branch.payload.json", event: "push",
			edits: map[string]any{"created": false, "forced": true, "before": prBase},
			jobs:  []wantJob{{jobs.KindIndex.Name(), "", index(1, "Codertocat", "Hello-World", pushHead)}}},
		{name: "push to another branch", file: "push/with-new-branch.payload.json", event: "push",
			edits: map[string]any{"ref": "refs/heads/feature"}, ignored: "not the default branch"},
		{name: "push of a tag", file: "push/with-installation.payload.json", event: "push", ignored: "not the default branch"},
		{name: "default branch deleted", file: "push/with-installation.payload.json", event: "push",
			edits: map[string]any{"ref": "refs/heads/master"}, ignored: "deleted"},
		{name: "push without installation", file: "push/payload.json", event: "push", ignored: "no installation"},
		{name: "installation created", file: "installation/created.payload.json", event: "installation",
			jobs: []wantJob{{jobs.KindIndex.Name(), "", index(957387, "Codertocat", "Hello-World", "")}}},
		{name: "installation created without a repository list scans it", file: "installation/created.payload.json", event: "installation",
			edits: map[string]any{"repositories": []any{}},
			jobs:  []wantJob{{jobs.KindIndex.Name(), "", jobs.Index{Delivery: d, Installation: 957387}}}},
		{name: "installation deleted", file: "installation/deleted.payload.json", event: "installation",
			jobs: []wantJob{{jobs.KindPurge.Name(), "", jobs.Purge{Delivery: d, Installation: 2}}}},
		{name: "installation suspended", file: "installation/deleted.payload.json", event: "installation",
			edits: map[string]any{"action": "suspend"}, ignored: "suspend"},
		{name: "repositories added", file: "installation_repositories/added.payload.json", event: "installation_repositories",
			jobs: []wantJob{{jobs.KindIndex.Name(), "", index(957387, "Codertocat", "Space", "")}}},
		{name: "repositories removed", file: "installation_repositories/added.payload.json", event: "installation_repositories",
			edits: map[string]any{"action": "removed", "repositories_added": []any{}, "repositories_removed": []any{
				map[string]any{"name": "Space", "full_name": "Codertocat/Space"},
				map[string]any{"name": "Other", "full_name": "Codertocat/Other"},
			}},
			jobs: []wantJob{{jobs.KindPurge.Name(), "", jobs.Purge{Delivery: d, Installation: 957387, Repos: []string{"Codertocat/Space", "Codertocat/Other"}}}}},
		{name: "comment command on an issue", file: "issue_comment/created.with-installation.payload.json", event: "issue_comment",
			edits: map[string]any{"comment.body": "/mesh help"},
			jobs:  []wantJob{{jobs.KindCommand.Name(), "", cmd}}},
		{name: "comment command on a pull request", file: "issue_comment/created.with-installation.payload.json", event: "issue_comment",
			edits: map[string]any{"comment.body": cmdPR.Body, "issue.pull_request": map[string]any{"url": "https://api.github.com/repos/Codertocat/Hello-World/pulls/1"}},
			jobs:  []wantJob{{jobs.KindCommand.Name(), "", cmdPR}}},
		{name: "ordinary comment", file: "issue_comment/created.with-installation.payload.json", event: "issue_comment",
			ignored: "not a /mesh command"},
		{name: "comment by a bot", file: "issue_comment/created.with-installation.payload.json", event: "issue_comment",
			edits: map[string]any{"comment.body": "/mesh help", "comment.user.type": "Bot"}, ignored: "bot"},
		{name: "comment edited", file: "issue_comment/edited.payload.json", event: "issue_comment",
			edits: map[string]any{"installation": map[string]any{"id": 1}, "comment.body": "/mesh help"}, ignored: "edited"},
		{name: "comment deleted", file: "issue_comment/deleted.payload.json", event: "issue_comment",
			edits: map[string]any{"installation": map[string]any{"id": 1}}, ignored: "deleted"},
		{name: "event meshbot does not use", file: "pull_request/opened.payload.json", event: "pull_request_review",
			ignored: "not used"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := Route(d, tt.event, example(t, tt.file, tt.edits))
			if err != nil {
				t.Fatalf("Route: %v", err)
			}
			if len(w.Jobs) != len(tt.jobs) {
				t.Fatalf("got %d jobs (ignored %q), want %d", len(w.Jobs), w.Ignored, len(tt.jobs))
			}
			for i, want := range tt.jobs {
				j := w.Jobs[i]
				if j.ID != jobs.ID(d, i) || j.Kind != want.kind || j.Key != want.key {
					t.Errorf("job %d = {%s %s %s}, want {%s %s %s}", i, j.ID, j.Kind, j.Key, jobs.ID(d, i), want.kind, want.key)
				}
				if got := decodeAs(t, j, want.body); !reflect.DeepEqual(got, want.body) {
					t.Errorf("job %d payload\n got %+v\nwant %+v", i, got, want.body)
				}
			}
			if !reflect.DeepEqual(w.Heads, tt.heads) {
				t.Errorf("heads = %v, want %v", w.Heads, tt.heads)
			}
			if len(tt.jobs) == 0 && !strings.Contains(w.Ignored, tt.ignored) {
				t.Errorf("ignored = %q, want it to mention %q", w.Ignored, tt.ignored)
			}
			if len(tt.jobs) > 0 && w.Ignored != "" {
				t.Errorf("jobs and ignored %q", w.Ignored)
			}
		})
	}
}

func TestRouteMalformed(t *testing.T) {
	tests := []struct {
		name, file, event string
		edits             map[string]any
		body              string
	}{
		{name: "not json", event: "push", body: "{"},
		{name: "json array", event: "push", body: "[]"},
		{name: "json null", event: "pull_request", body: "null"},
		{name: "empty", event: "pull_request", body: ""},
		{name: "installation id is a string", event: "pull_request", body: `{"action":"opened","installation":{"id":"1"}}`},
		{name: "pr without pull_request", file: "pull_request/opened.payload.json", event: "pull_request",
			edits: map[string]any{"-pull_request": nil}},
		{name: "pr head sha not a sha", file: "pull_request/opened.payload.json", event: "pull_request",
			edits: map[string]any{"pull_request.head.sha": "main"}},
		{name: "pr without repository", file: "pull_request/opened.payload.json", event: "pull_request",
			edits: map[string]any{"-repository": nil}},
		{name: "check run without id", file: "check_run/rerequested.payload.json", event: "check_run",
			edits: map[string]any{"-check_run.id": nil}},
		{name: "push after not a sha", file: "push/with-new-branch.payload.json", event: "push",
			edits: map[string]any{"after": "HEAD"}},
		{name: "added repository without name", file: "installation_repositories/added.payload.json", event: "installation_repositories",
			edits: map[string]any{"repositories_added.0": map[string]any{"id": 3}}},
		{name: "command without comment id", file: "issue_comment/created.with-installation.payload.json", event: "issue_comment",
			edits: map[string]any{"comment.body": "/mesh help", "-comment.id": nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(tt.body)
			if tt.file != "" {
				body = example(t, tt.file, tt.edits)
			}
			w, err := Route("d", tt.event, body)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Route = %+v, %v; want ErrMalformed", w, err)
			}
		})
	}
}

func TestHasCommandLine(t *testing.T) {
	tests := []struct {
		body string
		want bool
	}{
		{"/mesh help", true},
		{"/mesh", true},
		{"\r\n  \n\t/mesh\trecheck", true},
		{"/mesh deprecate finance.revenue --sunset 2027-03-31", true},
		{"/meshy help", false},
		{"please /mesh help", false},
		{"hello\n/mesh help", true},
		{"> /mesh help", false},
		{"", false},
		{"   \n\n", false},
		{"/MESH help", false},
	}
	for _, tt := range tests {
		if got := HasCommandLine(tt.body); got != tt.want {
			t.Errorf("HasCommandLine(%q) = %v, want %v", tt.body, got, tt.want)
		}
	}
}

// TestRouteJobIDsUnique holds the jobs of a several-job delivery to the jobs package's
// contract: ids unique within a delivery, payloads decodable.
func TestRouteJobIDsUnique(t *testing.T) {
	body := example(t, "installation/created.payload.json", map[string]any{"repositories": []any{
		map[string]any{"name": "a", "full_name": "o/a"},
		map[string]any{"name": "b", "full_name": "o/b"},
		map[string]any{"name": "c", "full_name": "o/c"},
	}})
	w, err := Route("dlv", "installation", body)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, j := range w.Jobs {
		if seen[j.ID] {
			t.Errorf("duplicate job id %s", j.ID)
		}
		seen[j.ID] = true
		var ix jobs.Index
		if err := json.Unmarshal(j.Payload, &ix); err != nil || ix.Delivery != "dlv" {
			t.Errorf("job %s: %v %+v", j.ID, err, ix)
		}
	}
	if len(seen) != 3 {
		t.Errorf("got %d jobs, want 3", len(seen))
	}
}
