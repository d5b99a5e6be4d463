package commands

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/meshbot/meshbot/internal/ghfake"
	"github.com/meshbot/meshbot/internal/ghfake/ghfaketest"
	"github.com/meshbot/meshbot/internal/githubapp"
	"github.com/meshbot/meshbot/internal/index"
	"github.com/meshbot/meshbot/internal/jobs"
	"github.com/meshbot/meshbot/internal/mesh"
	"github.com/meshbot/meshbot/internal/policyeval"
	"github.com/meshbot/meshbot/internal/reminders"
	"github.com/meshbot/meshbot/internal/store"
	"github.com/meshbot/meshbot/internal/store/storetest"
	"github.com/meshbot/meshbot/internal/testutil"
	"github.com/meshbot/meshbot/internal/yamledit"
	"github.com/meshbot/meshbot/policy"
)

// meshToday is the date sunsets are judged on in these tests.
var meshToday = time.Date(2026, 11, 21, 15, 4, 5, 0, time.UTC)

// analytics is a consumer in another repository of the installation,
// owned by a team written as @org/team.
const analytics = `apiVersion: mesh/v1
kind: DataProduct
metadata:
  name: order-funnel
  domain: analytics
  owner: "@acme/team-analytics"
spec:
  lifecycle: production
  inputPorts:
    - name: orders
      product: orders.order-events
      port: iceberg-curated
      fields: [order_id]
  outputPorts:
    - name: funnel
      type: iceberg
      location: s3://eu-mesh-analytics/funnel/
`

// meshEnv is a commands env over the example mesh (testdata/mesh) in
// acme/mesh, a consumer in acme/analytics, the registry built by the real
// indexer in Redis (memory when no Redis is configured, failing under
// CI=true), and the bundled policy, or pol when given.
func meshEnv(t *testing.T, pol *policyeval.Set) *env {
	t.Helper()
	e := newEnv(t) // the comment payload, the fake's App and users
	f := ghfaketest.New(t, testAppID)
	f.AddInstallation(7, "acme")
	repo := f.AddRepo(7, repoName, "main")
	if _, err := repo.CommitDir("main", filepath.Join(testutil.RepoRoot(t), "testdata", "mesh")); err != nil {
		t.Fatal(err)
	}
	repo.OpenIssue(issueNum)
	other := f.AddRepo(7, "acme/analytics", "main")
	other.Commit("main", map[string][]byte{"dataproduct.yaml": []byte(analytics)})
	for user, role := range map[string]string{"alice": "write", "bob": "read", "carol": "write", "frank": "admin", "maud": "maintain"} {
		repo.SetPermission(user, role)
	}
	f.AddTeamMember("acme", "team-orders", "alice", "member", ghfake.MembershipActive)
	f.AddTeamMember("acme", "team-orders", "maud", "maintainer", ghfake.MembershipActive)
	f.AddTeamMember("acme", "team-orders", "ivan", "member", ghfake.MembershipPending)

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	app, err := githubapp.NewApp(githubapp.Config{
		AppID: testAppID, PrivateKey: ghfaketest.PEM(), BaseURL: f.URL(), HTTPClient: f.Client(),
		RetryBaseDelay: time.Millisecond, MaxWait: time.Second, MaxRetries: 1, Logger: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	var st store.Store
	if url := storetest.URL(t); url != "" {
		st = storetest.Open(t, url, store.Options{})
	} else {
		st = store.NewMemory(store.Options{})
		t.Cleanup(func() { _ = st.Close() })
	}
	ix := index.NewIndexer(index.Deps{GitHub: app, Registry: st, Queue: st, Logger: log})
	for _, r := range []string{"mesh", "analytics"} {
		if err := ix.HandleIndex(context.Background(), jobs.Index{Delivery: "install", Installation: 7, Owner: "acme", Repo: r}, jobs.Meta{Attempt: 1}); err != nil {
			t.Fatalf("index acme/%s: %v", r, err)
		}
	}
	if pol == nil {
		if pol, err = policyeval.Load(context.Background(), policy.FS(), policyeval.Options{}); err != nil {
			t.Fatal(err)
		}
	}
	e.fake, e.repo, e.pr, e.store = f, repo, nil, st
	e.handle = viaRegistry(New(Deps{GitHub: app, Queue: st, Latest: st, Logger: log, Registry: st, Marks: st,
		Policy: policyeval.NewSwappable(pol), Now: func() time.Time { return meshToday }}))
	t.Cleanup(func() {
		if v := f.Violations(); len(v) > 0 {
			t.Errorf("GitHub would have refused: %q", v)
		}
	})
	return e
}

// writes are the requests that change the repository: git objects, refs
// and pull requests.
func (e *env) writes() []string {
	var out []string
	for _, r := range e.fake.Requests() {
		if r.Method != "GET" && (strings.Contains(r.Path, "/git/") || strings.Contains(r.Path, "/pulls")) {
			out = append(out, r.Method+" "+r.Path)
		}
	}
	return out
}

// answer runs one command by user on the issue and returns meshbot's reply
// and its last reaction.
func (e *env) answer(t *testing.T, user, body string) (reply, reaction string) {
	t.Helper()
	before := len(e.replies(issueNum))
	id := e.run(t, issueNum, user, body)
	rs := e.replies(issueNum)
	if len(rs) != before+1 {
		t.Fatalf("%d replies to %q, want one", len(rs)-before, body)
	}
	reacts := e.fake.Reactions(repoName, id)
	if len(reacts) == 0 || reacts[0] != string(ReactSeen) {
		t.Fatalf("reactions %q: the command was not acknowledged first", reacts)
	}
	return rs[len(rs)-1], reacts[len(reacts)-1]
}

// TestDeprecateRefused: every way `/mesh deprecate` and `/mesh undeprecate`
// are refused or have nothing to do answers with what was wrong, and
// writes nothing to the repository.
func TestDeprecateRefused(t *testing.T) {
	e := meshEnv(t, nil)
	const ok = "--sunset 2027-03-31 --replacement orders.order-events/kafka-realtime"
	for _, tc := range []struct {
		name, user, body string
		reaction         githubapp.Reaction
		says             []string
		never            []string
	}{
		{"read permission", "bob", "/mesh deprecate orders.order-events/iceberg-curated " + ok, ReactRefused,
			[]string{"needs **write** permission", "you have **read**"}, nil},
		{"write, not in the owning team", "carol", "/mesh deprecate orders.order-events/iceberg-curated " + ok, ReactRefused,
			[]string{"owned by the team `acme/team-orders`", "Nothing was changed"}, []string{"@acme/team-orders"}},
		{"admin, not in the owning team (the bundled policy exempts no admin)", "frank", "/mesh deprecate orders.order-events/iceberg-curated " + ok, ReactRefused,
			[]string{"owned by the team `acme/team-orders`"}, nil},
		{"an invitation not accepted", "ivan", "/mesh deprecate orders.order-events/iceberg-curated " + ok, ReactRefused,
			[]string{"needs **write**"}, nil},
		{"not a date", "alice", "/mesh deprecate orders.order-events/iceberg-curated --sunset 2027-02-30", ReactRefused,
			[]string{"`--sunset 2027-02-30` is not a date", "For example: `/mesh deprecate orders.order-events/iceberg-curated --sunset 2026-12-21`"}, nil},
		{"too close", "alice", "/mesh deprecate orders.order-events/iceberg-curated --sunset 2026-12-01", ReactRefused,
			[]string{"is 10 days away", "at least 30 days' notice", "2026-12-21 or later"}, nil},
		{"in the past", "alice", "/mesh deprecate orders.order-events/iceberg-curated --sunset 2026-11-21", ReactRefused,
			[]string{"not in the future"}, nil},
		{"unknown product", "alice", "/mesh deprecate orders.order-event/iceberg-curated " + ok, ReactRefused,
			[]string{"no product `orders.order-event` is registered; did you mean `orders.order-events`?",
				"For example: `/mesh deprecate orders.order-events/iceberg-curated --sunset 2027-03-31 --replacement orders.order-events/kafka-realtime`"}, nil},
		{"unknown port", "alice", "/mesh deprecate orders.order-events/iceberg-curatd " + ok, ReactRefused,
			[]string{"has no output port `iceberg-curatd`; did you mean `iceberg-curated`?"}, nil},
		{"unknown port, nothing near", "alice", "/mesh deprecate orders.order-events/parquet " + ok, ReactRefused,
			[]string{"its ports are `iceberg-curated`, `kafka-realtime`, `iceberg-v1`"}, nil},
		{"unknown flag", "alice", "/mesh deprecate orders.order-events/iceberg-curated --sunet 2027-03-31", ReactRefused,
			[]string{"there is no flag `--sunet`; did you mean `--sunset`?", "For example: `/mesh deprecate orders.order-events/iceberg-curated --sunset 2027-03-31`"}, nil},
		{"reason without quotes", "alice", "/mesh deprecate orders.order-events/iceberg-curated --sunset 2027-03-31 --reason moved to v2", ReactRefused,
			[]string{"goes in quotes", `--reason "moved to v2"`}, nil},
		{"unknown replacement", "alice", "/mesh deprecate orders.order-events/iceberg-curated --sunset 2027-03-31 --replacement finance.revenu/iceberg-curated", ReactRefused,
			[]string{"did you mean `finance.revenue`?", "--replacement finance.revenue/iceberg-curated"}, nil},
		{"replacement deprecated itself", "alice", "/mesh deprecate orders.order-events/kafka-realtime --sunset 2027-03-31 --replacement orders.order-events/iceberg-v1", ReactRefused,
			[]string{"`orders.order-events/iceberg-v1` is itself deprecated"}, nil},
		{"replacement is the target", "alice", "/mesh deprecate orders.order-events --sunset 2027-03-31 --replacement orders.order-events/kafka-realtime", ReactRefused,
			[]string{"part of what is being deprecated"}, nil},
		{"same terms", "alice", "/mesh deprecate orders.order-events/iceberg-v1 --sunset 2027-03-31 --replacement orders.order-events/iceberg-curated", ReactDone,
			[]string{"already deprecated on main with these terms"}, nil},
		{"in another repository", "alice", "/mesh deprecate analytics.order-funnel --sunset 2027-03-31", ReactRefused,
			[]string{"lives in acme/analytics"}, nil},
		{"undeprecate what is not deprecated", "alice", "/mesh undeprecate orders.order-events/kafka-realtime", ReactDone,
			[]string{"is not deprecated on main; nothing to undo"}, nil},
		{"undeprecate with a flag", "alice", "/mesh undeprecate orders.order-events/iceberg-v1 --sunset 2027-03-31", ReactRefused,
			[]string{"takes no flags", "For example: `/mesh undeprecate orders.order-events/iceberg-v1`"}, nil},
		{"help documents both", "bob", "/mesh help", ReactDone,
			[]string{"| `" + usageDeprecate + "` |", "| `/mesh undeprecate <domain.product>[/<port>]` |"}, nil},
		{"a misspelt command", "alice", "/mesh deprecat orders.order-events", ReactRefused,
			[]string{"no command `deprecat`. Did you mean `deprecate`?"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reply, reaction := e.answer(t, tc.user, tc.body)
			if reaction != string(tc.reaction) {
				t.Errorf("reaction %q, want %q; reply:\n%s", reaction, tc.reaction, reply)
			}
			if !strings.HasPrefix(reply, "@"+tc.user+", ") && tc.reaction == ReactRefused {
				t.Errorf("the refusal does not address @%s:\n%s", tc.user, reply)
			}
			for _, s := range tc.says {
				if !strings.Contains(reply, s) {
					t.Errorf("reply does not say %q:\n%s", s, reply)
				}
			}
			for _, s := range tc.never {
				if strings.Contains(reply, s) {
					t.Errorf("reply says %q:\n%s", s, reply)
				}
			}
		})
	}
	if w := e.writes(); len(w) > 0 {
		t.Errorf("refused commands wrote to the repository: %q", w)
	}
	if n := len(e.repo.Pulls()); n != 0 {
		t.Errorf("%d pull requests opened", n)
	}
}

// TestDeprecateGovernanceData: the guild's data changes who may and how
// much notice is due.
func TestDeprecateGovernanceData(t *testing.T) {
	fsys := fstest.MapFS{
		"x.rego":    {Data: []byte("package x\n\ndeny contains msg if { input.never; msg := \"no\" }\n")},
		"data.yaml": {Data: []byte("meshbot:\n  governance:\n    deprecate:\n      role: maintain\n      minimum_notice_days: 200\n")},
	}
	pol, err := policyeval.Load(context.Background(), fsys, policyeval.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := meshEnv(t, pol)
	reply, reaction := e.answer(t, "alice", "/mesh deprecate orders.order-events/iceberg-curated --sunset 2027-03-31")
	if reaction != string(ReactRefused) || !strings.Contains(reply, "lets only people with **maintain** permission") {
		t.Errorf("a writer under a maintain rule: %s\n%s", reaction, reply)
	}
	reply, reaction = e.answer(t, "maud", "/mesh deprecate orders.order-events/iceberg-curated --sunset 2027-03-31")
	if reaction != string(ReactRefused) || !strings.Contains(reply, "at least 200 days' notice") || !strings.Contains(reply, "2027-06-09 or later") {
		t.Errorf("130 days under a 200-day rule: %s\n%s", reaction, reply)
	}
	if w := e.writes(); len(w) > 0 {
		t.Errorf("refused commands wrote to the repository: %q", w)
	}

	// Admins through: frank (admin, not in the team) gets past who may,
	// to the next check, a sunset too close.
	admins, err := policyeval.Load(context.Background(), fstest.MapFS{
		"x.rego":    fsys["x.rego"],
		"data.json": {Data: []byte(`{"meshbot":{"governance":{"deprecate":{"repository_admins":true}}}}`)},
	}, policyeval.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e = meshEnv(t, admins)
	reply, reaction = e.answer(t, "frank", "/mesh deprecate orders.order-events/iceberg-curated --sunset 2026-12-01")
	if reaction != string(ReactRefused) || !strings.Contains(reply, "is 10 days away") {
		t.Errorf("an admin under repository_admins: %s\n%s", reaction, reply)
	}
	reply, _ = e.answer(t, "carol", "/mesh deprecate orders.order-events/iceberg-curated --sunset 2026-12-01")
	if !strings.Contains(reply, "owned by the team") {
		t.Errorf("a writer under repository_admins:\n%s", reply)
	}

	broken, err := policyeval.Load(context.Background(), fstest.MapFS{
		"x.rego":    fsys["x.rego"],
		"data.json": {Data: []byte(`{"meshbot":{"governance":{"deprecate":{"minimum_notice_days":"soon"}}}}`)},
	}, policyeval.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e = meshEnv(t, broken)
	reply, reaction = e.answer(t, "alice", "/mesh deprecate orders.order-events/iceberg-curated --sunset 2027-03-31")
	if reaction != string(ReactRefused) || !strings.Contains(reply, "minimum_notice_days") {
		t.Errorf("mistyped governance data: %s\n%s", reaction, reply)
	}
}

// TestDeprecateProposes is the one test that needs internal/yamledit's
// edit: the pull request, its update on a repeated command, undeprecate,
// and the consumers' teams mentioned in the reply.
func TestDeprecateProposes(t *testing.T) {
	e := meshEnv(t, nil)
	const descriptor = "orders/data-products/order-events/dataproduct.yaml"
	port := func(ref, name string) *mesh.OutputPort {
		t.Helper()
		src, ok := e.repo.File(ref, descriptor)
		if !ok {
			t.Fatalf("%s has no %s", ref, descriptor)
		}
		p, _, _ := mesh.ReadDescriptor(descriptor, src)
		if p == nil || p.OutputPort(name) == nil {
			t.Fatalf("%s at %s does not read as a descriptor with port %s", descriptor, ref, name)
		}
		return p.OutputPort(name)
	}
	const branch = "meshbot/deprecate/port/orders.order-events/iceberg-curated"

	reply, reaction := e.answer(t, "alice", `/mesh deprecate orders.order-events/iceberg-curated --sunset 2027-03-31 --replacement orders.order-events/kafka-realtime --reason "moving to the stream"`)
	if reaction != string(ReactDone) {
		t.Fatalf("reaction %q; reply:\n%s", reaction, reply)
	}
	pulls := e.repo.Pulls()
	if len(pulls) != 1 || pulls[0].Head != branch || pulls[0].Base != "main" || !pulls[0].Open {
		t.Fatalf("pull requests: %+v", pulls)
	}
	pr := pulls[0]
	t.Logf("reply:\n%s\n\npull request %q:\n%s", reply, pr.Title, pr.Body)
	for _, s := range []string{
		"@alice, opened ", "/acme/mesh/pull/", "to deprecate `orders.order-events/iceberg-curated`",
		"sunset: **2027-03-31**", "replacement: `orders.order-events/kafka-realtime`", "reason: moving to the stream",
		"`customer.customer-360` (input port `orders`), owned by @acme/team-customer-insights",
		"`finance.revenue` (input port `orders`), owned by @acme/team-finance",
		"`analytics.order-funnel` (input port `orders`), owned by @acme/team-analytics",
	} {
		if !strings.Contains(reply, s) {
			t.Errorf("reply does not say %q:\n%s", s, reply)
		}
	}
	if strings.Contains(reply, "stock-levels") {
		t.Errorf("reply names a consumer of another port:\n%s", reply)
	}
	if strings.Contains(pr.Body, "@acme/") {
		t.Errorf("the pull request body mentions teams (the reply does, once):\n%s", pr.Body)
	}
	got := port(branch, "iceberg-curated")
	if got.Lifecycle != mesh.LifecycleDeprecated || got.Deprecation == nil || got.Deprecation.Sunset != "2027-03-31" ||
		got.Deprecation.Replacement != "orders.order-events/kafka-realtime" || got.Deprecation.Reason != "moving to the stream" {
		t.Errorf("the branch's port: %+v %+v", got, got.Deprecation)
	}
	if p := port("main", "iceberg-curated"); p.Lifecycle != mesh.LifecycleProduction {
		t.Errorf("main was changed: %+v", p)
	}
	// Sunset reminders will be posted on this pull request.
	if th, ok, err := reminders.RecordedThread(context.Background(), e.store, 7, "orders.order-events", "iceberg-curated"); err != nil || !ok ||
		th != (reminders.Thread{Repo: "acme/mesh", Number: pr.Number}) {
		t.Errorf("reminder thread = %v, %v, %v; want acme/mesh#%d", th, ok, err, pr.Number)
	}
	first := e.repo.Branch(branch)

	// main moves on, and the command is repeated with another reason: the
	// same pull request, a new commit on the new main, the body updated.
	mainNow, err := e.repo.CommitDir("main", filepath.Join(testutil.RepoRoot(t), "testdata", "mesh"))
	if err != nil {
		t.Fatal(err)
	}
	reply, reaction = e.answer(t, "maud", `/mesh deprecate orders.order-events/iceberg-curated --sunset 2027-04-30 --replacement orders.order-events/kafka-realtime --reason "v2 is the stream"`)
	if reaction != string(ReactDone) || !strings.Contains(reply, "@maud, updated ") {
		t.Fatalf("repeat: %s\n%s", reaction, reply)
	}
	pulls = e.repo.Pulls()
	if len(pulls) != 1 || pulls[0].Number != pr.Number {
		t.Fatalf("a repeated command opened another pull request: %+v", pulls)
	}
	if !strings.Contains(pulls[0].Body, "v2 is the stream") || !strings.Contains(pulls[0].Title, "2027-04-30") {
		t.Errorf("the pull request was not updated: %q\n%s", pulls[0].Title, pulls[0].Body)
	}
	if e.repo.Branch(branch) == first {
		t.Error("the branch did not move")
	}
	if got := port(branch, "iceberg-curated"); got.Deprecation == nil || got.Deprecation.Sunset != "2027-04-30" {
		t.Errorf("the branch's port after the repeat: %+v", got.Deprecation)
	}
	if parent := e.repo.Parent(e.repo.Branch(branch)); parent != mainNow {
		t.Errorf("the new commit's parent is %s, want main's head %s", parent, mainNow)
	}

	// Undeprecating what is only proposed points at the proposal.
	reply, reaction = e.answer(t, "alice", "/mesh undeprecate orders.order-events/iceberg-curated")
	if reaction != string(ReactDone) || !strings.Contains(reply, fmt.Sprintf("still proposed in #%d: close that pull request", pr.Number)) {
		t.Errorf("undeprecate while the deprecation is proposed: %s\n%s", reaction, reply)
	}

	// Undeprecate the port that is deprecated on main: its consumer's team
	// hears it may stay.
	reply, reaction = e.answer(t, "alice", "/mesh undeprecate orders.order-events/iceberg-v1")
	if reaction != string(ReactDone) || !strings.Contains(reply, "to withdraw the deprecation of `orders.order-events/iceberg-v1`") ||
		!strings.Contains(reply, "`inventory.stock-levels` (input port `orders`), owned by @acme/team-inventory") {
		t.Fatalf("undeprecate: %s\n%s", reaction, reply)
	}
	pulls = e.repo.Pulls()
	if len(pulls) != 2 || pulls[1].Head != "meshbot/undeprecate/port/orders.order-events/iceberg-v1" {
		t.Fatalf("pull requests after undeprecate: %+v", pulls)
	}
	if got := port(pulls[1].Head, "iceberg-v1"); got.Lifecycle == mesh.LifecycleDeprecated || got.Deprecation != nil {
		t.Errorf("still deprecated on the undeprecate branch: %+v %+v", got.Lifecycle, got.Deprecation)
	}
	// A product in ODPS whose port's contract is ODCS: both files are
	// edited, and what the formats cannot say is in the reply. What the
	// editor writes and notes is its own; here the command must carry it.
	e.fake.AddTeamMember("acme", "team-pricing", "alice", "member", ghfake.MembershipActive)
	const odps, odcs = "pricing/data-products/price-list/dataproduct.yaml", "pricing/data-products/price-list/contracts/price-list.odcs.yaml"
	reply, reaction = e.answer(t, "alice", `/mesh deprecate pricing.price-list/prices --sunset 2027-06-30 --replacement finance.revenue/iceberg-curated --reason "prices move to finance"`)
	if reaction != string(ReactDone) {
		t.Fatalf("ODPS: %s\n%s", reaction, reply)
	}
	pulls = e.repo.Pulls()
	head := pulls[len(pulls)-1].Head
	if head != "meshbot/deprecate/port/pricing.price-list/prices" {
		t.Fatalf("ODPS pull request from %q", head)
	}
	d := yamledit.Deprecation{Sunset: "2027-06-30", Replacement: "finance.revenue/iceberg-curated", Reason: "prices move to finance"}
	target := yamledit.Target{Product: "pricing.price-list", Port: "prices"}
	for _, f := range []struct {
		path   string
		format mesh.Format
	}{{odps, mesh.FormatODPS}, {odcs, mesh.FormatODCS}} {
		src, _ := e.repo.File("main", f.path)
		want, notes, err := yamledit.Deprecate(src, f.format, target, d)
		if err != nil {
			t.Fatalf("the editor on %s: %v", f.path, err)
		}
		if got, _ := e.repo.File(head, f.path); string(got) != string(want) {
			t.Errorf("%s on the branch is not the editor's edit:\n%s", f.path, got)
		}
		for _, n := range notes {
			if !strings.Contains(reply, "`"+f.path+"`: "+n) {
				t.Errorf("the reply does not carry the note %q on %s:\n%s", n, f.path, reply)
			}
		}
	}
	for _, s := range []string{"owned by @acme/team-customer-insights", "owned by @acme/team-finance"} {
		if !strings.Contains(reply, s) {
			t.Errorf("ODPS reply does not say %q:\n%s", s, reply)
		}
	}

	// An installation without contents: write: GitHub refuses the blob, and
	// the reply says what to do; no pull request is opened.
	stop := e.fake.FailPath("POST", "/repos/acme/mesh/git/blobs", 403)
	reply, reaction = e.answer(t, "alice", "/mesh deprecate orders.order-events/kafka-realtime --sunset 2027-03-31 --replacement orders.order-events/iceberg-curated")
	stop()
	if reaction != string(ReactRefused) || !strings.Contains(reply, "approves its new permissions (contents: write)") {
		t.Errorf("refused by GitHub: %s\n%s", reaction, reply)
	}
	if n := len(e.repo.Pulls()); n != 3 {
		t.Errorf("%d pull requests after GitHub refused, want 3", n)
	}

	if slices.ContainsFunc(e.writes(), func(w string) bool { return strings.Contains(w, "/git/refs/heads/main") }) {
		t.Error("meshbot moved main")
	}
}
