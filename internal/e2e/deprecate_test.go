package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/meshbot/meshbot/internal/ghfake"
)

// comment is an issue_comment created delivery: user wrote body on issue
// (the fake holds the comment, so meshbot can react to it).
func (w *world) comment(issue int, user, body string) (delivery []byte, commentID int64) {
	commentID = w.fake.AddComment(repoFull, issue, user, body)
	return w.example("issue_comment/created.with-installation.payload.json", func(p map[string]any) {
		is := obj(p, "issue")
		is["number"] = issue
		delete(is, "pull_request")
		c := obj(p, "comment")
		c["id"], c["body"] = commentID, body
		obj(c, "user")["login"] = user
		obj(p, "sender")["login"] = user
	}), commentID
}

// reply waits for meshbot's answer to the comment: its reply on issue after
// the replies it had (n), and its last reaction once that is no longer the
// acknowledgement.
func (w *world) reply(issue, n int, commentID int64) (string, string) {
	w.t.Helper()
	var replies []string
	w.eventually(20*time.Second, "meshbot's reply", func() bool {
		replies = replies[:0]
		for _, c := range w.fake.Comments(repoFull, issue) {
			if c.User == "meshbot[bot]" {
				replies = append(replies, c.Body)
			}
		}
		r := w.fake.Reactions(repoFull, commentID)
		return len(replies) > n && len(r) > 1
	})
	r := w.fake.Reactions(repoFull, commentID)
	return replies[len(replies)-1], r[len(r)-1]
}

// TestDeprecateThroughTheIntake: `/mesh deprecate` comments go in as
// signed deliveries through the webhook intake and the queue (memory, and
// Redis when configured) to the worker, against the registry the
// installation delivery indexed: a writer outside the owning team is
// refused without the team being notified, and a member's slip gets the
// nearest port and a corrected example. Nothing is written to the
// repository.
func TestDeprecateThroughTheIntake(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			w := newWorld(t, b.open(t))
			w.repo.OpenIssue(40)
			w.repo.SetPermission("alice", "write")
			w.repo.SetPermission("maud", "maintain")
			w.fake.AddTeamMember(owner, "team-orders", "maud", "member", ghfake.MembershipActive)
			w.startPool(w.handlers(nil), poolOpts())
			w.install()

			body, id := w.comment(40, "alice", "/mesh deprecate orders.order-events/iceberg-curated --sunset 2027-03-31")
			w.mustDeliver("issue_comment", w.nextID(), body)
			reply, reaction := w.reply(40, 0, id)
			if reaction != "confused" || !strings.Contains(reply, "owned by the team `acme/team-orders`") || strings.Contains(reply, "@acme/team-orders") {
				t.Errorf("a writer outside the team: %s\n%s", reaction, reply)
			}

			body, id = w.comment(40, "maud", "/mesh deprecate orders.order-events/iceberg-curatd --sunset 2027-03-31 --reason \"moving to v2\"")
			w.mustDeliver("issue_comment", w.nextID(), body)
			reply, reaction = w.reply(40, 1, id)
			want := "For example: `/mesh deprecate orders.order-events/iceberg-curated --sunset 2027-03-31 --reason \"moving to v2\"`"
			if reaction != "confused" || !strings.Contains(reply, "did you mean `iceberg-curated`?") || !strings.Contains(reply, want) {
				t.Errorf("a misspelt port: %s\n%s", reaction, reply)
			}

			w.drained(10 * time.Second)
			if dl, _ := w.st.DeadLetters(context.Background(), 10); len(dl) > 0 {
				t.Errorf("dead letters: %+v", dl)
			}
			for _, r := range w.fake.Requests() {
				if r.Method != "GET" && (strings.Contains(r.Path, "/git/") || strings.Contains(r.Path, "/pulls")) {
					t.Errorf("a refused command wrote: %s %s", r.Method, r.Path)
				}
			}
			if v := w.fake.Violations(); len(v) > 0 {
				t.Errorf("GitHub would have refused: %q", v)
			}
		})
	}
}
