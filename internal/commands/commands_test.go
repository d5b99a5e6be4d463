package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meshbot/meshbot/internal/ghfake"
	"github.com/meshbot/meshbot/internal/ghfake/ghfaketest"
	"github.com/meshbot/meshbot/internal/githubapp"
	"github.com/meshbot/meshbot/internal/jobs"
	"github.com/meshbot/meshbot/internal/store"
	"github.com/meshbot/meshbot/internal/testutil"
	"github.com/meshbot/meshbot/internal/webhook"
)

const (
	testAppID = 4242
	repoName  = "acme/mesh"
	prNumber  = 5
	issueNum  = 3
)

type env struct {
	fake    *ghfake.Fake
	repo    *ghfake.Repo
	pr      *ghfake.PullRequest
	store   store.Store
	handle  func(context.Context, store.Job) error // as the worker runs it
	payload []byte                                 // GitHub's published issue_comment example
	n       int
}

func newEnv(t *testing.T) *env {
	t.Helper()
	payload, err := os.ReadFile(testutil.Shared(t, "external/github/webhooks/issue_comment/created.with-installation.payload.json"))
	if err != nil {
		t.Fatal(err)
	}
	f := ghfaketest.New(t, testAppID)
	f.AddInstallation(7, "acme")
	repo := f.AddRepo(7, repoName, "main")
	repo.Commit("main", map[string][]byte{"README.md": []byte("mesh\n")})
	repo.Commit("feature", map[string][]byte{"README.md": []byte("mesh\n"), "a/dataproduct.yaml": []byte("kind: DataProduct\n")})
	pr := repo.OpenPullRequest(prNumber, "main", "feature")
	repo.OpenIssue(issueNum)
	for user, role := range map[string]string{"alice": "write", "bob": "read", "carol": "none", "dave": "triage", "erin": "maintain", "frank": "admin"} {
		repo.SetPermission(user, role)
	}
	key := ghfaketest.PEM()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	app, err := githubapp.NewApp(githubapp.Config{
		AppID: testAppID, PrivateKey: key, BaseURL: f.URL(), HTTPClient: f.Client(),
		RetryBaseDelay: time.Millisecond, MaxWait: time.Second, MaxRetries: 1, Logger: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	s := store.NewMemory(store.Options{})
	t.Cleanup(func() { _ = s.Close() })
	return &env{
		fake: f, repo: repo, pr: pr, store: s, payload: payload,
		handle: viaRegistry(New(Deps{GitHub: app, Queue: s, Latest: s, Logger: log, Approvals: s})),
	}
}

// viaRegistry runs h on a stored job as the worker does: decoded once by
// the registry of kinds.
func viaRegistry(h jobs.Handler[jobs.Command]) func(context.Context, store.Job) error {
	reg := jobs.NewRegistry()
	jobs.Register(reg, jobs.KindCommand, h)
	return func(ctx context.Context, j store.Job) error {
		d, err := reg.Decode(j)
		if err != nil {
			return err
		}
		return d.Run(ctx)
	}
}

// comment records a comment by user on issue in the fake and returns the
// job the webhook intake makes of its delivery: GitHub's published example,
// moved to the fixture repository. ok is false when the intake drops it.
func (e *env) comment(t *testing.T, issue int, user, body string) (j store.Job, commentID int64, ok bool) {
	t.Helper()
	commentID = e.fake.AddComment(repoName, issue, user, body)
	var p map[string]any
	if err := json.Unmarshal(e.payload, &p); err != nil {
		t.Fatal(err)
	}
	obj := func(v any) map[string]any { return v.(map[string]any) }
	p["installation"].(map[string]any)["id"] = 7
	r := obj(p["repository"])
	r["full_name"], r["name"] = repoName, "mesh"
	obj(r["owner"])["login"] = "acme"
	is := obj(p["issue"])
	is["number"] = issue
	if issue == prNumber {
		is["pull_request"] = map[string]any{"url": fmt.Sprintf("https://api.github.com/repos/%s/pulls/%d", repoName, issue)}
	} else {
		delete(is, "pull_request")
	}
	c := obj(p["comment"])
	c["id"], c["body"] = commentID, body
	obj(c["user"])["login"] = user
	obj(p["sender"])["login"] = user
	raw, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	e.n++
	w, err := webhook.Route(fmt.Sprintf("delivery-%d", e.n), "issue_comment", raw)
	if err != nil {
		t.Fatalf("route: %v", err)
	}
	for _, j := range w.Jobs {
		if j.Kind == jobs.KindCommand.Name() {
			return j, commentID, true
		}
	}
	return store.Job{}, commentID, false
}

// run routes a comment and runs the job it makes.
func (e *env) run(t *testing.T, issue int, user, body string) int64 {
	t.Helper()
	j, id, ok := e.comment(t, issue, user, body)
	if !ok {
		t.Fatalf("the webhook intake made no command job of %q", body)
	}
	if err := e.handle(context.Background(), j); err != nil {
		t.Fatalf("handle: %v", err)
	}
	return id
}

// replies are meshbot's comments on issue.
func (e *env) replies(issue int) []string {
	var out []string
	for _, c := range e.fake.Comments(repoName, issue) {
		if c.User == "meshbot[bot]" {
			out = append(out, c.Body)
		}
	}
	return out
}

func (e *env) count(method, pathPart string) int {
	n := 0
	for _, r := range e.fake.Requests() {
		if r.Method == method && strings.Contains(r.Path, pathPart) {
			n++
		}
	}
	return n
}

func (e *env) pending(t *testing.T) int64 {
	t.Helper()
	st, err := e.store.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st.Pending
}

func oneReply(t *testing.T, e *env, issue int) string {
	t.Helper()
	r := e.replies(issue)
	if len(r) != 1 {
		t.Fatalf("replies on #%d = %q, want exactly one", issue, r)
	}
	return r[0]
}

func TestHelp(t *testing.T) {
	for _, body := range []string{"/mesh help", "/mesh", "  /mesh HELP me"} {
		t.Run(body, func(t *testing.T) { testHelp(t, body) })
	}
}

func testHelp(t *testing.T, body string) {
	e := newEnv(t)
	id := e.run(t, issueNum, "bob", body)
	reply := oneReply(t, e, issueNum)
	for _, c := range Builtin() {
		if !strings.Contains(reply, "`"+c.Usage+"`") || !strings.Contains(reply, c.Summary) {
			t.Errorf("help does not list %s:\n%s", c.Usage, reply)
		}
	}
	// Who may run a command is more than a role where teams decide.
	for name, who := range map[string]string{
		"recheck":     "| write |",
		"deprecate":   "| write, and membership of the product's owning team, unless the guild's policy says otherwise |",
		"undeprecate": "| write, and membership of the product's owning team, unless the guild's policy says otherwise |",
		"approve":     "| membership of the consumer's owning team, or write on its repository |",
		"unapprove":   "| whoever approved, or whoever may approve for that consumer |",
	} {
		var row string
		for _, l := range strings.Split(reply, "\n") {
			if strings.HasPrefix(l, "| `/mesh "+name) {
				row = l
			}
		}
		if !strings.HasSuffix(row, who) {
			t.Errorf("help's row of %s does not end with %q: %s", name, who, row)
		}
	}
	if _, ok := Parse(reply); ok {
		t.Errorf("the help reply itself reads as a command:\n%s", reply)
	}
	if got := e.fake.Reactions(repoName, id); !slices.Equal(got, []string{"eyes", "+1"}) {
		t.Errorf("reactions = %v, want [eyes +1]", got)
	}
	if e.pending(t) != 0 {
		t.Error("help enqueued work")
	}
}

func TestRecheckByWriter(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := e.run(t, prNumber, "alice", "/mesh recheck\n\nThe contract is fixed.")
	head := e.pr.HeadSHA()
	if reply := oneReply(t, e, prNumber); reply != "Re-running meshbot on "+head+"." {
		t.Errorf("reply = %q", reply)
	}
	if got := e.fake.Reactions(repoName, id); !slices.Equal(got, []string{"eyes", "+1"}) {
		t.Errorf("reactions = %v, want [eyes +1]", got)
	}
	l, err := e.store.Claim(ctx, "test", 100*time.Millisecond)
	if err != nil || l == nil {
		t.Fatalf("no check job enqueued: %v", err)
	}
	var c jobs.PullCheck
	if err := json.Unmarshal(l.Job.Payload, &c); err != nil {
		t.Fatal(err)
	}
	want := jobs.PullCheck{Delivery: c.Delivery, Installation: 7, Owner: "acme", Repo: "mesh", PR: prNumber,
		HeadSHA: head, BaseSHA: e.repo.Branch("main"), BaseRef: "main", Requested: true}
	if l.Job.Kind != jobs.KindPullCheck.Name() || c != want || l.Job.Key != want.Key() || c.Delivery == "" {
		t.Errorf("job %s key %q: %+v\nwant kind %s key %q: %+v", l.Job.Kind, l.Job.Key, c, jobs.KindPullCheck.Name(), want.Key(), want)
	}
	if ok, _ := e.store.IsLatest(ctx, want.Key(), head); !ok {
		t.Error("the head is not recorded as the newest")
	}
	if ok, _ := e.store.IsLatest(ctx, want.Key(), strings.Repeat("0", 40)); ok {
		t.Error("another sha counts as newest: SetLatest was not called")
	}
}

func TestRecheckPermissions(t *testing.T) {
	for _, tc := range []struct {
		user, role string
		allowed    bool
	}{
		{"carol", "none", false},
		{"bob", "read", false},
		{"dave", "triage", false},
		{"alice", "write", true},
		{"erin", "maintain", true},
		{"frank", "admin", true},
		{"mallory", "none", false}, // not a collaborator at all
	} {
		t.Run(tc.user, func(t *testing.T) {
			e := newEnv(t)
			id := e.run(t, prNumber, tc.user, "/mesh recheck")
			reply := oneReply(t, e, prNumber)
			reactions := e.fake.Reactions(repoName, id)
			if tc.allowed {
				if !strings.HasPrefix(reply, "Re-running meshbot on ") || e.pending(t) != 1 || !slices.Equal(reactions, []string{"eyes", "+1"}) {
					t.Errorf("%s (%s): reply %q, %d jobs, reactions %v; want it run", tc.user, tc.role, reply, e.pending(t), reactions)
				}
				return
			}
			want := fmt.Sprintf("@%s, `/mesh recheck` needs **write** permission on acme/mesh; you have **%s**.", tc.user, tc.role)
			if reply != want {
				t.Errorf("reply = %q\nwant    %q", reply, want)
			}
			if e.pending(t) != 0 {
				t.Error("a refused recheck enqueued a check")
			}
			if !slices.Equal(reactions, []string{"eyes", "confused"}) {
				t.Errorf("reactions = %v, want [eyes confused]", reactions)
			}
		})
	}
}

func TestUnknownCommand(t *testing.T) {
	e := newEnv(t)
	id := e.run(t, issueNum, "carol", "/mesh frobnicate `now`")
	reply := oneReply(t, e, issueNum)
	if !strings.HasPrefix(reply, "@carol, meshbot has no command `frobnicate`.") {
		t.Errorf("reply = %q", reply)
	}
	for _, c := range Builtin() {
		if !strings.Contains(reply, "`"+c.Usage+"`") {
			t.Errorf("the reply does not list %s", c.Usage)
		}
	}
	if got := e.fake.Reactions(repoName, id); !slices.Equal(got, []string{"eyes", "confused"}) {
		t.Errorf("reactions = %v, want [eyes confused]", got)
	}
	if n := e.count("GET", "/permission"); n != 0 {
		t.Errorf("%d permission lookups for an unknown command", n)
	}
}

func TestRecheckOnIssue(t *testing.T) {
	e := newEnv(t)
	id := e.run(t, issueNum, "alice", "/mesh recheck")
	if reply := oneReply(t, e, issueNum); reply != "@alice, `/mesh recheck` works on pull requests; #3 is an issue." {
		t.Errorf("reply = %q", reply)
	}
	if got := e.fake.Reactions(repoName, id); !slices.Equal(got, []string{"eyes", "confused"}) {
		t.Errorf("reactions = %v, want [eyes confused]", got)
	}
	if e.pending(t) != 0 || e.count("GET", "/pulls/") != 0 {
		t.Error("recheck on an issue fetched a pull request or enqueued work")
	}
}

func TestIgnoredComments(t *testing.T) {
	for _, tc := range []struct{ name, user, body string }{
		{"code block", "alice", "To re-run it, type:\n```\n/mesh recheck\n```\n"},
		{"quote", "alice", "> /mesh recheck\n\nDid that work?"},
		{"inline", "alice", "type `/mesh recheck` to re-run"},
		{"bot", "dependabot[bot]", "/mesh recheck"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			// Whatever the intake decides, the handler itself ignores it.
			_, id, _ := e.comment(t, prNumber, tc.user, tc.body)
			j, err := jobs.KindCommand.New("direct", "", jobs.Command{
				Delivery: "direct", Installation: 7, Owner: "acme", Repo: "mesh", Issue: prNumber, IsPR: true,
				CommentID: id, User: tc.user, Body: tc.body,
			})
			if err != nil {
				t.Fatal(err)
			}
			before := len(e.fake.Requests())
			if err := e.handle(context.Background(), j); err != nil {
				t.Fatal(err)
			}
			if n := len(e.fake.Requests()) - before; n != 0 {
				t.Errorf("%d API calls for a comment that is no command", n)
			}
			if r := e.replies(prNumber); len(r) != 0 || e.pending(t) != 0 {
				t.Errorf("replies %q, %d jobs", r, e.pending(t))
			}
		})
	}
}

func TestTransientFailureIsRetried(t *testing.T) {
	e := newEnv(t)
	j, id, ok := e.comment(t, prNumber, "alice", "/mesh recheck")
	if !ok {
		t.Fatal("no job")
	}
	// GitHub answers 502 to every attempt (the client retries once).
	ctx := context.Background()
	e.fake.FailNext(2, http.StatusBadGateway, nil)
	err := e.handle(ctx, j)
	if err == nil || store.IsPermanent(err) {
		t.Fatalf("err = %v, want a transient error for the queue to retry", err)
	}
	if r := e.replies(prNumber); len(r) != 0 {
		t.Errorf("replied %q on a transient failure", r)
	}
	// The retry succeeds, with one eyes reaction (GitHub keeps one per user
	// and content) and one reply.
	if err := e.handle(ctx, j); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if r := e.replies(prNumber); len(r) != 1 {
		t.Errorf("replies after the retry = %q", r)
	}
	if got := e.fake.Reactions(repoName, id); !slices.Equal(got, []string{"eyes", "+1"}) {
		t.Errorf("reactions = %v", got)
	}
}
