package e2e

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshbot/meshbot/internal/engine"
	"github.com/meshbot/meshbot/internal/ghfake"
	"github.com/meshbot/meshbot/internal/store"
	"github.com/meshbot/meshbot/internal/testutil"
)

const orderEvents = "orders/data-products/order-events/dataproduct.yaml"

// meshFiles is the example mesh as a commit's files, with edit applied to
// the order-events descriptor.
func meshFiles(t *testing.T, edit func(string) string) map[string][]byte {
	t.Helper()
	files := testutil.ReadTree(t, filepath.Join(testutil.RepoRoot(t), "testdata", "mesh"))
	src := string(files[orderEvents])
	out := edit(src)
	if out == src {
		t.Fatal("the edit changed nothing")
	}
	files[orderEvents] = []byte(out)
	return files
}

// Edits of the iceberg-curated port, which finance.revenue and
// customer.customer-360 read.
func moveCurated(to string) func(string) string {
	return func(s string) string {
		return strings.Replace(s, "location: s3://eu-mesh-orders/order_events/v2/", "location: s3://eu-mesh-orders/"+to+"/", 1)
	}
}

func and(fs ...func(string) string) func(string) string {
	return func(s string) string {
		for _, f := range fs {
			s = f(s)
		}
		return s
	}
}

func retypeCurated(s string) string {
	return strings.Replace(s, "    - name: iceberg-curated\n      type: iceberg\n", "    - name: iceberg-curated\n      type: delta\n", 1)
}

func redescribe(s string) string {
	return strings.Replace(s, "Authoritative stream", "The authoritative stream", 1)
}

// commentOn delivers an issue_comment by user on pull request n, as GitHub
// would, and returns the comment's id.
func (w *world) commentOn(n int, user, body string) int64 {
	w.t.Helper()
	id := w.fake.AddComment(repoFull, n, user, body)
	raw := w.example("issue_comment/created.with-installation.payload.json", func(p map[string]any) {
		is := obj(p, "issue")
		is["number"] = n
		is["pull_request"] = map[string]any{"url": "https://api.github.com/repos/" + repoFull + "/pulls/" + itoa(n)}
		c := obj(p, "comment")
		c["id"], c["body"] = id, body
		obj(c, "user")["login"] = user
		obj(p, "sender")["login"] = user
	})
	w.mustDeliver("issue_comment", w.nextID(), raw)
	return id
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// answer waits for meshbot's answer to comment id (its reaction after the
// eyes) and returns the newest comment by the App.
func (w *world) answer(n int, id int64) (string, string) {
	w.t.Helper()
	var reaction string
	w.eventually(20*time.Second, "an answer to the command", func() bool {
		rs := w.fake.Reactions(repoFull, id)
		if len(rs) >= 2 {
			reaction = rs[len(rs)-1]
			return true
		}
		return false
	})
	cs := w.fake.Comments(repoFull, n)
	return cs[len(cs)-1].Body, reaction
}

// latestRun waits until the newest check run at sha is completed and
// satisfies cond, and returns it.
func (w *world) latestRun(sha, what string, cond func(ghfake.CheckRun) bool) ghfake.CheckRun {
	w.t.Helper()
	var last ghfake.CheckRun
	deadline := time.Now().Add(30 * time.Second)
	for {
		rs := w.runsAt(sha)
		if len(rs) > 0 {
			last = rs[len(rs)-1]
			if last.Status == "completed" && cond(last) {
				return last
			}
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("no completed check run at %s with %s; the newest:\n%s: %s\n%s", sha, what, last.Conclusion, last.Title, last.Summary)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func has(subs ...string) func(ghfake.CheckRun) bool {
	return func(r ghfake.CheckRun) bool {
		for _, s := range subs {
			if !strings.Contains(r.Summary, s) {
				return false
			}
		}
		return true
	}
}

func concluded(c string, more func(ghfake.CheckRun) bool) func(ghfake.CheckRun) bool {
	return func(r ghfake.CheckRun) bool { return r.Conclusion == c && more(r) }
}

// TestApprove: the consumers a pull request breaks say yes in the pull
// request. A stranger is refused; one approval of two leaves the check
// failing and naming who is left; both make it pass with the breaking
// findings as notices naming the approvers; a push that breaks them the
// same way keeps the approvals, one that breaks them differently drops
// them and says why; unapprove makes it fail again.
func TestApprove(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			w := newWorld(t, b.open(t))
			w.startPool(w.handlers(nil), poolOpts())
			w.install()
			w.fake.AddTeamMember(owner, "team-finance", "fiona", "member", ghfake.MembershipActive)
			w.fake.AddTeamMember(owner, "team-customer-insights", "cora", "maintainer", ghfake.MembershipActive)
			for _, u := range []string{"fiona", "cora", "sam"} {
				w.repo.SetPermission(u, "read")
			}
			w.repo.SetPermission("wendy", "write")
			const n = 41
			const branch = "move-curated"

			sha1 := w.repo.Commit(branch, meshFiles(t, moveCurated("curated-v2")))
			w.repo.OpenPullRequest(n, "main", branch)
			w.mustDeliver("pull_request", w.nextID(), w.pullRequest("opened", n, sha1, branch))
			w.latestRun(sha1, "both consumers waited for", concluded("failure",
				has("compat/output-port-location-changed", "Waiting for: customer.customer-360 (team-customer-insights), finance.revenue (team-finance)")))

			// A stranger is refused, with the reason; nothing changes.
			body, reaction := w.answer(n, w.commentOn(n, "sam", "/mesh approve finance.revenue"))
			if reaction != "confused" || !strings.Contains(body, "you cannot approve for finance.revenue: you are not a member of its owning team @acme/team-finance and without write permission on acme/mesh (you have read)") {
				t.Fatalf("stranger's approval answered %s:\n%s", reaction, body)
			}
			if as, _ := w.st.ApprovalsOf(context.Background(), inst, store.PRKey(owner, repoName, n)); len(as) != 0 {
				t.Fatalf("a refused approval was recorded: %+v", as)
			}
			// A writer of the consumers' repository may speak for both, so
			// must say which.
			body, reaction = w.answer(n, w.commentOn(n, "wendy", "/mesh approve"))
			if reaction != "confused" || !strings.Contains(body, "say which") || !strings.Contains(body, "- finance.revenue (owner team-finance)") {
				t.Fatalf("ambiguous approval answered %s:\n%s", reaction, body)
			}

			// One of two: still failing, naming who is left.
			body, reaction = w.answer(n, w.commentOn(n, "fiona", "/mesh approve"))
			if reaction != "+1" || !strings.Contains(body, "**finance.revenue** accepts") {
				t.Fatalf("fiona's approval answered %s:\n%s", reaction, body)
			}
			short1 := engine.ShortSHA(sha1)
			w.latestRun(sha1, "one approval", concluded("failure",
				has("✅ finance.revenue: approved by @fiona at "+short1, "still waiting for customer.customer-360 (owner team-customer-insights)", "Waiting for: customer.customer-360")))

			// Both: the check passes, the breaking finding a notice naming
			// the approvers.
			_, reaction = w.answer(n, w.commentOn(n, "cora", "/mesh approve customer.customer-360"))
			if reaction != "+1" {
				t.Fatalf("cora's approval: %s", reaction)
			}
			run := w.latestRun(sha1, "both approvals", concluded("success",
				has("customer.customer-360: approved by @cora at "+short1, "finance.revenue: approved by @fiona at "+short1)))
			if run.Title != "Passes with breaking changes accepted by 2 consumers" {
				t.Errorf("title %q", run.Title)
			}
			if strings.Contains(run.Summary, "Waiting for") {
				t.Errorf("nobody should be waited for:\n%s", run.Summary)
			}
			if !strings.Contains(run.Summary, "| ℹ️ | `compat/output-port-location-changed`") {
				t.Errorf("the accepted break is not a notice:\n%s", run.Summary)
			}

			// The same break on a new head keeps both approvals.
			sha2 := w.repo.Commit(branch, meshFiles(t, and(moveCurated("curated-v3"), redescribe)))
			w.mustDeliver("pull_request", w.nextID(), w.pullRequest("synchronize", n, sha2, branch))
			w.latestRun(sha2, "approvals kept", concluded("success", has("✅ finance.revenue: approved by @fiona at "+short1, "✅ customer.customer-360")))

			// Withdrawn: failing again, waiting for finance.revenue.
			body, reaction = w.answer(n, w.commentOn(n, "fiona", "/mesh unapprove"))
			if reaction != "+1" || !strings.Contains(body, "Withdrawn: finance.revenue") {
				t.Fatalf("unapprove answered %s:\n%s", reaction, body)
			}
			w.latestRun(sha2, "approval withdrawn", concluded("failure", has("Waiting for: finance.revenue (team-finance)")))
			_, reaction = w.answer(n, w.commentOn(n, "fiona", "/mesh approve finance.revenue"))
			if reaction != "+1" {
				t.Fatalf("approving again: %s", reaction)
			}
			short2 := engine.ShortSHA(sha2)
			w.latestRun(sha2, "approved again", concluded("success", has("finance.revenue: approved by @fiona at "+short2)))

			// A different break drops the approvals that no longer match,
			// saying why; the port's type change reaches both consumers.
			sha3 := w.repo.Commit(branch, meshFiles(t, and(moveCurated("curated-v3"), redescribe, retypeCurated)))
			w.mustDeliver("pull_request", w.nextID(), w.pullRequest("synchronize", n, sha3, branch))
			w.latestRun(sha3, "approvals dropped", concluded("failure", has(
				"⛔ finance.revenue: approved by @fiona at "+short2+" — dropped: the change breaks finance.revenue differently now: new compat/output-port-type-changed on orders.order-events/iceberg-curated",
				"Waiting for: customer.customer-360 (team-customer-insights), finance.revenue (team-finance)")))

			// On a pull request that breaks no one, approving says so.
			sha4 := w.repo.Commit(branch, meshFiles(t, redescribe))
			w.mustDeliver("pull_request", w.nextID(), w.pullRequest("synchronize", n, sha4, branch))
			w.latestRun(sha4, "no break", func(r ghfake.CheckRun) bool { return r.Conclusion != "failure" })
			body, reaction = w.answer(n, w.commentOn(n, "fiona", "/mesh approve"))
			if reaction != "confused" || !strings.Contains(body, "breaks no registered consumer at "+engine.ShortSHA(sha4)) {
				t.Fatalf("approving a harmless change answered %s:\n%s", reaction, body)
			}
			w.drained(20 * time.Second)
			if v := w.fake.Violations(); len(v) > 0 {
				t.Fatalf("requests GitHub would refuse: %v", v)
			}
		})
	}
}
