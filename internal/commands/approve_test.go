package commands

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/meshbot/meshbot/internal/ghfake"
	"github.com/meshbot/meshbot/internal/store"
)

// brokenHere records that the pull request's head breaks two consumers:
// finance.revenue (team-finance, in acme/finance) and customer.c360
// (acme/team-customer, in this repository).
func brokenHere(t *testing.T, e *env, sha string) {
	t.Helper()
	err := e.store.SetBreaks(context.Background(), 7, store.PRKey("acme", "mesh", prNumber), store.Breaks{SHA: sha, Consumers: []store.BrokenConsumer{
		{Consumer: "customer.c360", Owner: "@acme/team-customer", Repo: repoName, Breaks: []string{"compat/field-removed on orders.events/p (m.a)"}},
		{Consumer: "finance.revenue", Owner: "team-finance", Repo: "acme/finance", Breaks: []string{"compat/field-removed on orders.events/p (m.a)", "compat/x on orders.events/p"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
}

func TestApproveCommand(t *testing.T) {
	for _, tc := range []struct {
		name    string
		setup   func(t *testing.T, e *env) // before the comment
		issue   int
		user    string
		body    string
		refused bool
		reply   []string // substrings of the reply
		granted string   // the consumer an approval is recorded for
	}{
		{name: "on an issue", issue: issueNum, user: "alice", body: "/mesh approve", refused: true, reply: []string{"works on pull requests; #3 is an issue"}},
		{name: "before the check finished", setup: func(*testing.T, *env) {}, issue: prNumber, user: "fiona", body: "/mesh approve", refused: true,
			reply: []string{"has not finished checking the head of this pull request"}},
		{name: "an older head's check", setup: func(t *testing.T, e *env) { brokenHere(t, e, "0123456789") }, issue: prNumber, user: "fiona", body: "/mesh approve", refused: true,
			reply: []string{"has not finished checking"}},
		{name: "breaks nobody", setup: func(t *testing.T, e *env) {
			if err := e.store.SetBreaks(context.Background(), 7, store.PRKey("acme", "mesh", prNumber), store.Breaks{SHA: e.pr.HeadSHA()}); err != nil {
				t.Fatal(err)
			}
		}, issue: prNumber, user: "fiona", body: "/mesh approve", refused: true, reply: []string{"breaks no registered consumer at", "nothing to approve"}},
		{name: "team member, one consumer, no argument", issue: prNumber, user: "fiona", body: "/mesh approve",
			reply: []string{"**finance.revenue** accepts", "approved by @fiona", "`compat/x on orders.events/p`"}, granted: "finance.revenue"},
		{name: "team named with its organisation", issue: prNumber, user: "cora", body: "/mesh approve customer.C360",
			reply: []string{"**customer.c360** accepts"}, granted: "customer.c360"},
		{name: "writer of the consumer's repository", issue: prNumber, user: "walt", body: "/mesh approve finance.revenue",
			reply: []string{"**finance.revenue** accepts"}, granted: "finance.revenue"},
		{name: "writer of two consumers must choose", issue: prNumber, user: "alice", body: "/mesh approve", refused: true,
			reply: []string{"say which", "- customer.c360 (owner @acme/team-customer)"}},
		{name: "not the owning team", issue: prNumber, user: "cora", body: "/mesh approve finance.revenue", refused: true,
			reply: []string{"you cannot approve for finance.revenue: you are not a member of its owning team @acme/team-finance and without write permission on acme/finance (you have none)"}},
		{name: "an invitation is not a membership", issue: prNumber, user: "ivan", body: "/mesh approve finance.revenue", refused: true,
			reply: []string{"not a member of its owning team @acme/team-finance"}},
		{name: "nobody's", issue: prNumber, user: "bob", body: "/mesh approve", refused: true,
			reply: []string{"you cannot approve for any consumer", "- customer.c360: you are not a member", "- finance.revenue: you are not a member"}},
		{name: "a consumer it does not break", issue: prNumber, user: "fiona", body: "/mesh approve finance.revnue", refused: true,
			reply: []string{"`finance.revnue` is not a consumer this pull request breaks", "breaks at 2cc2a9e. Did you mean `finance.revenue`? It breaks:", "- finance.revenue (owner team-finance)"}},
		{name: "two consumers", issue: prNumber, user: "fiona", body: "/mesh approve finance.revenue customer.c360", refused: true,
			reply: []string{"takes at most one consumer", "got 2 words"}},
		{name: "a flag", issue: prNumber, user: "fiona", body: "/mesh approve --force", refused: true, reply: []string{"has no flag `--force`"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.fake.AddTeamMember("acme", "team-finance", "fiona", "member", ghfake.MembershipActive)
			e.fake.AddTeamMember("acme", "team-finance", "ivan", "member", ghfake.MembershipPending)
			e.fake.AddTeamMember("acme", "team-customer", "cora", "member", ghfake.MembershipActive)
			for _, u := range []string{"fiona", "cora", "ivan"} {
				e.repo.SetPermission(u, "read")
			}
			fin := e.fake.AddRepo(7, "acme/finance", "main")
			fin.SetPermission("walt", "write")
			fin.SetPermission("alice", "write")
			e.repo.SetPermission("walt", "read")
			if tc.setup != nil {
				tc.setup(t, e)
			} else {
				brokenHere(t, e, e.pr.HeadSHA())
			}
			id := e.run(t, tc.issue, tc.user, tc.body)
			reply := oneReply(t, e, tc.issue)
			for _, want := range tc.reply {
				if !strings.Contains(reply, want) {
					t.Errorf("reply lacks %q:\n%s", want, reply)
				}
			}
			if _, ok := Parse(reply); ok {
				t.Errorf("the reply reads as a command:\n%s", reply)
			}
			want := []string{"eyes", "+1"}
			if tc.refused {
				want = []string{"eyes", "confused"}
			}
			if got := e.fake.Reactions(repoName, id); !slices.Equal(got, want) {
				t.Errorf("reactions %v, want %v", got, want)
			}
			as, err := e.store.ApprovalsOf(context.Background(), 7, store.PRKey("acme", "mesh", prNumber))
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.granted == "" && (len(as) != 0 || e.pending(t) != 0):
				t.Errorf("refused, yet approvals %+v and %d jobs", as, e.pending(t))
			case tc.granted != "":
				if len(as) != 1 || as[0].Consumer != tc.granted || as[0].By != tc.user || as[0].SHA != e.pr.HeadSHA() || len(as[0].Breaks) == 0 {
					t.Errorf("approvals %+v, want one for %s by %s at the head", as, tc.granted, tc.user)
				}
				if e.pending(t) != 1 {
					t.Errorf("%d jobs pending, want the check again", e.pending(t))
				}
			}
		})
	}
}

func TestUnapproveCommand(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.fake.AddTeamMember("acme", "team-finance", "fiona", "member", ghfake.MembershipActive)
	e.fake.AddTeamMember("acme", "team-finance", "fred", "member", ghfake.MembershipActive)
	for _, u := range []string{"fiona", "fred", "cora"} {
		e.repo.SetPermission(u, "read")
	}
	key := store.PRKey("acme", "mesh", prNumber)
	brokenHere(t, e, e.pr.HeadSHA())
	e.run(t, prNumber, "cora", "/mesh unapprove")
	if r := e.replies(prNumber); !strings.Contains(r[len(r)-1], "nothing to withdraw") {
		t.Fatalf("unapprove with no approval: %s", r[len(r)-1])
	}
	e.run(t, prNumber, "fiona", "/mesh approve")
	e.run(t, prNumber, "cora", "/mesh unapprove finance.revenue")
	if r := e.replies(prNumber); !strings.Contains(r[len(r)-1], "you cannot withdraw the approval for finance.revenue") {
		t.Fatalf("a stranger withdrew: %s", r[len(r)-1])
	}
	e.run(t, prNumber, "fred", "/mesh unapprove")
	if r := e.replies(prNumber); !strings.Contains(r[len(r)-1], "you have not approved for any consumer here") {
		t.Fatalf("fred without an argument: %s", r[len(r)-1])
	}
	if as, _ := e.store.ApprovalsOf(ctx, 7, key); len(as) != 1 {
		t.Fatalf("approvals after refusals: %+v", as)
	}
	before := e.pending(t)
	e.run(t, prNumber, "fred", "/mesh unapprove finance.revenue")
	if r := e.replies(prNumber); !strings.Contains(r[len(r)-1], "Withdrawn: finance.revenue no longer accepts") || !strings.Contains(r[len(r)-1], "approved by @fiona") {
		t.Fatalf("a team mate's withdrawal: %s", r[len(r)-1])
	}
	if as, _ := e.store.ApprovalsOf(ctx, 7, key); len(as) != 0 {
		t.Fatalf("approvals after unapprove: %+v", as)
	}
	if e.pending(t) != before+1 {
		t.Errorf("unapprove did not ask for the check again")
	}
}

// FuzzApproveTarget: whatever follows `/mesh approve`, the argument reader
// gives at most one word without blanks or backticks, or a refusal; never
// a panic.
func FuzzApproveTarget(f *testing.F) {
	for _, s := range []string{"/mesh approve", "/mesh approve finance.revenue", "/mesh unapprove a b", "/mesh approve --x", "/mesh approve \"a b\"", "/mesh approve '`'", "/mesh approve -- --x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		inv, ok := Parse(body)
		if !ok {
			return
		}
		target, err := ApproveTarget(inv)
		if err != nil {
			var r refusal
			if !errors.As(err, &r) {
				t.Fatalf("not a refusal: %v", err)
			}
			if target != "" {
				t.Fatalf("target %q with an error", target)
			}
			return
		}
		if strings.ContainsAny(target, " \t`") || (target == "" && len(inv.Args) > 0) || len(inv.Args) > 1 || len(inv.Flags) > 0 {
			t.Fatalf("ApproveTarget(%+v) = %q", inv, target)
		}
	})
}

// `/mesh approve` asks GitHub once per team and per repository, however
// many broken consumers share them, and not again for the commented
// repository, whose role the dispatcher read.
func TestApproveAsksOncePerTeamAndRepository(t *testing.T) {
	e := newEnv(t)
	e.fake.AddRepo(7, "acme/finance", "main")
	err := e.store.SetBreaks(context.Background(), 7, store.PRKey("acme", "mesh", prNumber), store.Breaks{SHA: e.pr.HeadSHA(), Consumers: []store.BrokenConsumer{
		{Consumer: "customer.c360", Owner: "@acme/team-customer", Repo: repoName, Breaks: []string{"compat/field-removed on orders.events/p (m.a)"}},
		{Consumer: "finance.revenue", Owner: "team-finance", Repo: "acme/finance", Breaks: []string{"compat/x on orders.events/p"}},
		{Consumer: "finance.ledger", Owner: "team-finance", Repo: "acme/finance", Breaks: []string{"compat/x on orders.events/p"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	e.run(t, prNumber, "bob", "/mesh approve")
	reply := oneReply(t, e, prNumber)
	for _, want := range []string{"you cannot approve for any consumer", "- customer.c360: you are not a member", "- finance.revenue: you are not a member", "- finance.ledger: you are not a member"} {
		if !strings.Contains(reply, want) {
			t.Errorf("reply lacks %q:\n%s", want, reply)
		}
	}
	for _, c := range []struct{ path, what string }{
		{"/repos/acme/mesh/collaborators/bob/permission", "role on the commented repository"},
		{"/repos/acme/finance/collaborators/bob/permission", "role on acme/finance"},
		{"/teams/team-finance/memberships/bob", "membership of team-finance"},
	} {
		if n := e.count("GET", c.path); n != 1 {
			t.Errorf("%s asked %d times, want once", c.what, n)
		}
	}
}
