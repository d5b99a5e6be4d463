package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshbot/meshbot/internal/backstage"
	"github.com/meshbot/meshbot/internal/ghfake"
	"github.com/meshbot/meshbot/internal/ghfake/ghfaketest"
	"github.com/meshbot/meshbot/internal/mesh"
	"github.com/meshbot/meshbot/internal/reminders"
	"github.com/meshbot/meshbot/internal/store"
	"github.com/meshbot/meshbot/internal/testutil"
)

// The story's repositories: the producer of orders.order-events, and the
// two repositories of the consumers of its iceberg-curated port.
const (
	producerRepo = owner + "/orders"   // orders.*, pricing.*
	financeRepo  = owner + "/finance"  // finance.revenue reads iceberg-curated
	customerRepo = owner + "/customer" // customer.customer-360 reads it too; inventory.*
	revenueFile  = "finance/data-products/revenue/dataproduct.yaml"
	storySunset  = "2027-01-31"
	storyRepl    = "orders.order-events/kafka-realtime"
	storyTarget  = "orders.order-events/iceberg-curated"
	storyBranch  = "meshbot/deprecate/port/orders.order-events/iceberg-curated"
)

// meshPart is the files of the example mesh under the given top folders.
func meshPart(t testing.TB, tops ...string) map[string][]byte {
	t.Helper()
	root := filepath.Join(testutil.RepoRoot(t), "testdata", "mesh")
	files := map[string][]byte{}
	for _, top := range tops {
		for rel, b := range testutil.ReadTree(t, filepath.Join(root, top)) {
			files[top+"/"+rel] = b
		}
	}
	return files
}

// story is a deployment serving one installation of three repositories,
// with a clock the test moves.
type story struct {
	*world
	repos map[string]*ghfake.Repo
	now   atomic.Int64 // unix seconds
}

func newStory(t *testing.T, st store.Store) *story {
	t.Helper()
	f := ghfaketest.New(t, appID)
	f.AddInstallation(inst, owner)
	s := &story{repos: map[string]*ghfake.Repo{}}
	for full, tops := range map[string][]string{
		producerRepo: {"orders", "pricing"},
		financeRepo:  {"finance"},
		customerRepo: {"customer", "inventory"},
	} {
		r := f.AddRepo(inst, full, "main")
		r.Commit("main", meshPart(t, tops...))
		s.repos[full] = r
	}
	prod := s.repos[producerRepo]
	s.world = assemble(t, st, f, prod, prod.Branch("main"), nil)
	s.setNow(today)
	s.deps.Now = func() time.Time { return time.Unix(s.now.Load(), 0).UTC() }
	return s
}

func (s *story) setNow(t time.Time) { s.now.Store(t.Unix()) }

func (s *story) clock() time.Time { return time.Unix(s.now.Load(), 0).UTC() }

func setRepo(r map[string]any, full string) {
	o, n, _ := strings.Cut(full, "/")
	r["name"], r["full_name"], r["default_branch"] = n, full, "main"
	obj(r, "owner")["login"] = o
}

// installAll delivers the installation with its three repositories and
// waits until the registry holds every product of the example mesh.
func (s *story) installAll() {
	s.t.Helper()
	s.mustDeliver("installation", s.nextID(), s.example("installation/created.payload.json", func(p map[string]any) {
		obj(obj(p, "installation"), "account")["login"] = owner
		var list []any
		for _, full := range []string{producerRepo, financeRepo, customerRepo} {
			_, n, _ := strings.Cut(full, "/")
			list = append(list, map[string]any{"id": s.repos[full].ID(), "node_id": "R_" + n, "name": n, "full_name": full, "private": false})
		}
		p["repositories"] = list
	}))
	s.eventually(20*time.Second, "the registry indexed three repositories", func() bool {
		rs, err := s.st.ProductsByRepo(context.Background(), inst)
		return err == nil && len(rs) == 3 && len(rs[0].Products)+len(rs[1].Products)+len(rs[2].Products) == 7
	})
}

// commentIn is user's comment on issue or pull request n of repo, delivered
// as GitHub delivers it; it returns the comment's id.
func (s *story) commentIn(repo string, n int, isPR bool, user, body string) int64 {
	s.t.Helper()
	id := s.fake.AddComment(repo, n, user, body)
	s.mustDeliver("issue_comment", s.nextID(), s.example("issue_comment/created.with-installation.payload.json", func(p map[string]any) {
		setRepo(obj(p, "repository"), repo)
		is := obj(p, "issue")
		is["number"] = n
		delete(is, "pull_request")
		if isPR {
			is["pull_request"] = map[string]any{"url": "https://api.github.com/repos/" + repo + "/pulls/" + itoa(n)}
		}
		c := obj(p, "comment")
		c["id"], c["body"] = id, body
		obj(c, "user")["login"] = user
		obj(p, "sender")["login"] = user
	}))
	return id
}

// answered waits until meshbot has reacted to comment id beyond its eyes
// and returns its reactions and its newest comment on n.
func (s *story) answered(repo string, n int, id int64) (reactions []string, reply string) {
	s.t.Helper()
	s.eventually(20*time.Second, "an answer to the command", func() bool {
		return len(s.fake.Reactions(repo, id)) >= 2
	})
	for _, c := range s.fake.Comments(repo, n) {
		if c.User == "meshbot[bot]" {
			reply = c.Body
		}
	}
	return s.fake.Reactions(repo, id), reply
}

// pullRequestIn is a pull_request delivery for pull request n of repo.
func (s *story) pullRequestIn(repo, action string, n int, ref string) (delivery []byte, head string) {
	r := s.repos[repo]
	head = r.Branch(ref)
	return s.example("pull_request/"+action+".payload.json", func(p map[string]any) {
		setRepo(obj(p, "repository"), repo)
		p["number"] = n
		pr := obj(p, "pull_request")
		pr["number"] = n
		h, b := obj(pr, "head"), obj(pr, "base")
		h["sha"], h["ref"] = head, ref
		b["sha"], b["ref"] = r.Branch("main"), "main"
		setRepo(obj(h, "repo"), repo)
		setRepo(obj(b, "repo"), repo)
	}), head
}

// checked waits for the newest check run at sha in repo to be completed and
// to satisfy cond.
func (s *story) checked(repo, sha, what string, cond func(ghfake.CheckRun) bool) ghfake.CheckRun {
	s.t.Helper()
	var last ghfake.CheckRun
	deadline := time.Now().Add(30 * time.Second)
	for {
		for _, r := range s.fake.CheckRuns(repo) {
			if r.HeadSHA == sha {
				last = r
			}
		}
		if last.Status == "completed" && cond(last) {
			return last
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%s: no completed check run at %s with %s; the newest: %s %s\n%s", repo, sha, what, last.Conclusion, last.Title, last.Summary)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// entity reads one entity from the Backstage provider endpoint.
func entity(t *testing.T, url, token, kind, name string) *backstage.Entity {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url+backstage.Path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", backstage.Path, resp.Status)
	}
	var body backstage.Response
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	for i, e := range body.Entities {
		if e.Kind == kind && e.Metadata.Name == name {
			return &body.Entities[i]
		}
	}
	t.Fatalf("Backstage has no %s %s among %d entities", kind, name, len(body.Entities))
	return nil
}

// remindersOn are the reminder comments on pull request n of repo.
func (s *story) remindersOn(repo string, n int) []string {
	var out []string
	for _, c := range s.fake.Comments(repo, n) {
		if c.User == "meshbot[bot]" && strings.Contains(c.Body, "<!-- meshbot:reminder ") {
			out = append(out, c.Body)
		}
	}
	return out
}

// TestDeprecationStory is issue 9 as its users live it, across three
// repositories of one installation: the owner of orders.order-events
// retires its iceberg-curated port from a comment; meshbot proposes the
// edit as a pull request and tells the two consumers' teams; the pull
// request is merged and indexed; Backstage shows the deprecation; a
// consumer touching its descriptor is warned, and fails after the sunset;
// the producer cannot remove the port early; the consumers are reminded
// once at 30 and 7 days, by one of two replicas.
func TestDeprecationStory(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			s := newStory(t, b.open(t))
			prod, fin := s.repos[producerRepo], s.repos[financeRepo]
			prod.OpenIssue(5)
			prod.SetPermission("olivia", "write")
			s.fake.AddTeamMember(owner, "team-orders", "olivia", "member", ghfake.MembershipActive)
			s.startPool(s.handlers(nil), poolOpts())
			s.installAll()

			bs := httptest.NewServer(backstage.NewProvider(s.st, backstage.HandlerOptions{Token: "bs-token", Logger: logger()}))
			t.Cleanup(bs.Close)
			if e := entity(t, bs.URL, "bs-token", "API", "orders.order-events--iceberg-curated"); e.Spec.Lifecycle != "production" {
				t.Fatalf("before: lifecycle %q", e.Spec.Lifecycle)
			}

			// Help names every command with its usage.
			id := s.commentIn(producerRepo, 5, false, "olivia", "/mesh help")
			if rs, reply := s.answered(producerRepo, 5, id); rs[len(rs)-1] != "+1" ||
				!strings.Contains(reply, "/mesh deprecate <domain.product>[/<port>] --sunset YYYY-MM-DD") ||
				!strings.Contains(reply, "/mesh undeprecate <domain.product>[/<port>]") ||
				!strings.Contains(reply, "/mesh approve [<domain.product>]") || !strings.Contains(reply, "/mesh unapprove [<domain.product>]") {
				t.Fatalf("help answered %v:\n%s", rs, reply)
			}

			// The owner retires the port.
			cmd := "/mesh deprecate " + storyTarget + " --sunset " + storySunset + " --replacement " + storyRepl + ` --reason "one stream for all readers"`
			id = s.commentIn(producerRepo, 5, false, "olivia", cmd)
			rs, reply := s.answered(producerRepo, 5, id)
			if strings.Join(rs, ",") != "eyes,+1" {
				t.Fatalf("reactions %v, want eyes then +1; reply:\n%s", rs, reply)
			}
			pulls := prod.Pulls()
			if len(pulls) != 1 || pulls[0].Head != storyBranch || !pulls[0].Open {
				t.Fatalf("pull requests %+v, want one open from %s", pulls, storyBranch)
			}
			dep := pulls[0].Number
			for _, want := range []string{"/pull/" + itoa(dep), storySunset, storyRepl, "one stream for all readers",
				"`finance.revenue` (input port `orders`), owned by @acme/team-finance",
				"`customer.customer-360` (input port `orders`), owned by @acme/team-customer-insights"} {
				if !strings.Contains(reply, want) {
					t.Errorf("the reply lacks %q:\n%s", want, reply)
				}
			}

			// Repeated with another reason: the same pull request, updated.
			cmd = strings.Replace(cmd, "one stream for all readers", "one stream for every reader", 1)
			id = s.commentIn(producerRepo, 5, false, "olivia", cmd)
			if rs, reply := s.answered(producerRepo, 5, id); rs[len(rs)-1] != "+1" || !strings.Contains(reply, "updated") {
				t.Fatalf("the repeated command answered %v:\n%s", rs, reply)
			}
			if n := len(prod.Pulls()); n != 1 {
				t.Fatalf("%d pull requests after the repeat, want 1", n)
			}

			// The edit: only the port's lifecycle line, and the block below
			// it; every other byte and every other file as on main.
			before := meshPart(t, "orders", "pricing")
			for path, want := range before {
				got, ok := prod.File(storyBranch, path)
				if !ok {
					t.Fatalf("%s is gone on %s", path, storyBranch)
				}
				if path != orderEvents && string(got) != string(want) {
					t.Errorf("%s changed on %s", path, storyBranch)
				}
			}
			edited, _ := prod.File(storyBranch, orderEvents)
			wantEdit := strings.Replace(string(before[orderEvents]),
				"      contract: ./contracts/order-events.v2.yaml\n      lifecycle: production\n    - name: kafka-realtime",
				"      contract: ./contracts/order-events.v2.yaml\n      lifecycle: deprecated\n      deprecation:\n        sunset: "+storySunset+
					"\n        replacement: "+storyRepl+"\n        reason: one stream for every reader\n    - name: kafka-realtime", 1)
			if string(edited) != wantEdit {
				t.Fatalf("the edited descriptor:\n%s\nwant:\n%s", edited, wantEdit)
			}

			pd, depHead := s.pullRequestIn(producerRepo, "opened", dep, storyBranch)
			s.mustDeliver("pull_request", s.nextID(), pd)
			// The deprecation pull request's own check does not fail, and
			// tells its reviewers the terms.
			s.checked(producerRepo, depHead, "a notice of the terms", func(r ghfake.CheckRun) bool {
				return r.Conclusion != "failure" && has("compat/output-port-deprecated", "is now deprecated (sunset "+storySunset+", replacement "+storyRepl+")")(r)
			})

			// Merged: the push is indexed and the registry has the terms.
			main0 := prod.Branch("main")
			merged, err := prod.MergePullRequest(dep)
			if err != nil {
				t.Fatal(err)
			}
			s.mustDeliver("push", s.nextID(), s.example("push/with-installation.payload.json", func(p map[string]any) {
				setRepo(obj(p, "repository"), producerRepo)
				p["ref"], p["before"], p["after"] = "refs/heads/main", main0, merged
				p["created"], p["deleted"], p["forced"] = false, false, false
				p["commits"] = []any{map[string]any{"id": merged, "distinct": true, "message": "Deprecate " + storyTarget,
					"added": []any{}, "modified": []any{orderEvents}, "removed": []any{}}}
			}))
			var recorded *mesh.Deprecation
			s.eventually(20*time.Second, "the registry records the deprecation", func() bool {
				ps, err := s.st.Products(ctx, inst)
				if err != nil {
					return false
				}
				for _, p := range ps {
					if p.ID() == "orders.order-events" {
						if o := p.OutputPort("iceberg-curated"); o != nil && o.Deprecation != nil && o.Lifecycle == mesh.LifecycleDeprecated {
							recorded = o.Deprecation
							return true
						}
					}
				}
				return false
			})
			if recorded.Sunset != storySunset || recorded.Replacement != storyRepl || recorded.Reason != "one stream for every reader" {
				t.Errorf("the registry records %+v", recorded)
			}

			// Backstage shows it.
			api := entity(t, bs.URL, "bs-token", "API", "orders.order-events--iceberg-curated")
			if api.Spec.Lifecycle != "deprecated" || api.Metadata.Annotations[backstage.AnnotationSunset] != storySunset ||
				api.Metadata.Annotations[backstage.AnnotationReplacement] != storyRepl ||
				!strings.Contains(api.Metadata.Description, "Deprecated, sunset "+storySunset+"; use "+storyRepl+" instead.") {
				t.Errorf("Backstage shows %s: lifecycle %q, annotations %v, description %q", api.Metadata.Name, api.Spec.Lifecycle, api.Metadata.Annotations, api.Metadata.Description)
			}

			// The producer cannot remove the port before its sunset.
			mainFiles := meshPart(t, "orders", "pricing")
			desc, _ := prod.File("main", orderEvents)
			start := strings.Index(string(desc), "    - name: iceberg-curated\n")
			end := strings.Index(string(desc), "    - name: kafka-realtime\n")
			mainFiles[orderEvents] = []byte(string(desc[:start]) + string(desc[end:]))
			prod.Commit("drop-curated", mainFiles)
			prod.OpenPullRequest(7, "main", "drop-curated")
			pd, dropHead := s.pullRequestIn(producerRepo, "opened", 7, "drop-curated")
			s.mustDeliver("pull_request", s.nextID(), pd)
			s.checked(producerRepo, dropHead, "removed before the sunset, naming the consumers", concluded("failure", has(
				"deprecation/removed-before-sunset", storySunset, "customer.customer-360 (owner team-customer-insights)", "finance.revenue (owner team-finance)")))

			// A consumer touching its descriptor is warned.
			finFiles := meshPart(t, "finance")
			finFiles[revenueFile] = []byte(strings.Replace(string(finFiles[revenueFile]), "Daily recognised revenue", "Daily recognized revenue", 1))
			fin.Commit("touch-revenue", finFiles)
			fin.OpenPullRequest(3, "main", "touch-revenue")
			pd, finHead := s.pullRequestIn(financeRepo, "opened", 3, "touch-revenue")
			s.mustDeliver("pull_request", s.nextID(), pd)
			run := s.checked(financeRepo, finHead, "a warning naming the sunset and replacement", has("deprecation/reads-deprecated", storySunset, storyRepl))
			if run.Conclusion == "failure" {
				t.Errorf("a warning failed the check:\n%s", run.Summary)
			}

			// Reminders: two replicas share the store; each threshold is
			// posted once, on the deprecation pull request.
			var reps []*reminders.Scheduler
			for _, h := range []string{"replica-a", "replica-b"} {
				r, err := reminders.New(s.app, s.st, reminders.Options{Holder: h, Now: s.clock, Logger: logger()})
				if err != nil {
					t.Fatal(err)
				}
				reps = append(reps, r)
			}
			sweepAll := func(at time.Time) (posted int) {
				s.setNow(at)
				for _, r := range reps {
					rep, err := r.Sweep(ctx)
					if err != nil {
						t.Fatalf("sweep at %s: %v", at, err)
					}
					posted += rep.Posted
				}
				return posted
			}
			day := func(d string) time.Time { tm, _ := time.Parse(time.DateOnly, d); return tm.Add(9 * time.Hour) }
			if n := sweepAll(day("2026-12-31")); n != 0 { // 31 days before
				t.Fatalf("%d reminders 31 days before the sunset", n)
			}
			if n := sweepAll(day("2027-01-01")); n != 2 {
				t.Fatalf("%d reminders 30 days before, want one per consumer", n)
			}
			if n := sweepAll(day("2027-01-01").Add(time.Hour)) + sweepAll(day("2027-01-02")); n != 0 {
				t.Fatalf("%d reminders posted again", n)
			}
			got := s.remindersOn(producerRepo, dep)
			if len(got) != 2 {
				t.Fatalf("%d reminders on #%d, want 2", len(got), dep)
			}
			for i, team := range []string{"@acme/team-customer-insights", "@acme/team-finance"} {
				if !strings.Contains(strings.Join(got, "\n"), team+": `"+storyTarget+"` reaches its sunset on **"+storySunset+"** (in 30 days)") {
					t.Errorf("reminder %d does not tell %s:\n%s", i, team, strings.Join(got, "\n---\n"))
				}
			}
			if n := sweepAll(day("2027-01-24")); n != 2 {
				t.Fatalf("%d reminders 7 days before, want 2", n)
			}
			if n := sweepAll(day("2027-01-25")) + sweepAll(day("2027-02-01")); n != 0 {
				t.Fatalf("%d reminders after the 7-day one", n)
			}
			if got := s.remindersOn(producerRepo, dep); len(got) != 4 || !strings.Contains(got[3], "(in 7 days)") {
				t.Fatalf("%d reminders in all, want 4, the last 7 days before:\n%s", len(got), strings.Join(got, "\n---\n"))
			}

			// After the sunset the consumer's next push fails.
			s.setNow(day("2027-02-01"))
			finFiles[revenueFile] = []byte(strings.Replace(string(finFiles[revenueFile]), "Daily recognized revenue", "Recognized revenue, daily,", 1))
			fin.Commit("touch-revenue", finFiles)
			pd, finHead2 := s.pullRequestIn(financeRepo, "synchronize", 3, "touch-revenue")
			s.mustDeliver("pull_request", s.nextID(), pd)
			s.checked(financeRepo, finHead2, "reading past the sunset fails", concluded("failure", has("deprecation/reads-past-sunset", storySunset, storyRepl)))

			s.drained(20 * time.Second)
			if dl, _ := s.st.DeadLetters(ctx, 10); len(dl) > 0 {
				t.Errorf("dead letters: %+v", dl)
			}
			if v := s.fake.Violations(); len(v) > 0 {
				t.Errorf("requests GitHub would refuse: %q", v)
			}
		})
	}
}

// TestHandWrittenDeprecationIsReminded: a producer writes the deprecation
// into the descriptor by hand, in a pull request of its own; its check
// records it as the reminders' thread, so once merged and indexed the
// consumers are reminded there 30 days before the sunset, once.
func TestHandWrittenDeprecationIsReminded(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			s := newStory(t, b.open(t))
			prod := s.repos[producerRepo]
			s.startPool(s.handlers(nil), poolOpts())
			s.installAll()

			files := meshPart(t, "orders", "pricing")
			src := string(files[orderEvents])
			files[orderEvents] = []byte(strings.Replace(src,
				"      contract: ./contracts/order-events.v2.yaml\n      lifecycle: production\n    - name: kafka-realtime",
				"      contract: ./contracts/order-events.v2.yaml\n      lifecycle: deprecated\n      deprecation:\n        sunset: "+storySunset+
					"\n        replacement: "+storyRepl+"\n    - name: kafka-realtime", 1))
			prod.Commit("retire-curated", files)
			prod.OpenPullRequest(11, "main", "retire-curated")
			pd, head := s.pullRequestIn(producerRepo, "opened", 11, "retire-curated")
			s.mustDeliver("pull_request", s.nextID(), pd)
			s.checked(producerRepo, head, "a verdict", func(ghfake.CheckRun) bool { return true })

			main0 := prod.Branch("main")
			merged, err := prod.MergePullRequest(11)
			if err != nil {
				t.Fatal(err)
			}
			s.mustDeliver("push", s.nextID(), s.example("push/with-installation.payload.json", func(p map[string]any) {
				setRepo(obj(p, "repository"), producerRepo)
				p["ref"], p["before"], p["after"] = "refs/heads/main", main0, merged
				p["created"], p["deleted"], p["forced"] = false, false, false
				p["commits"] = []any{map[string]any{"id": merged, "distinct": true, "message": "Retire iceberg-curated",
					"added": []any{}, "modified": []any{orderEvents}, "removed": []any{}}}
			}))
			s.eventually(20*time.Second, "the registry records the deprecation", func() bool {
				ps, _ := s.st.Products(ctx, inst)
				for _, p := range ps {
					if o := p.OutputPort("iceberg-curated"); p.ID() == "orders.order-events" && o != nil && o.Deprecation != nil {
						return true
					}
				}
				return false
			})
			s.drained(20 * time.Second)

			s.setNow(time.Date(2027, 1, 1, 9, 0, 0, 0, time.UTC))
			for _, h := range []string{"replica-a", "replica-b"} {
				r, err := reminders.New(s.app, s.st, reminders.Options{Holder: h, Now: s.clock, Logger: logger()})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := r.Sweep(ctx); err != nil {
					t.Fatal(err)
				}
			}
			got := s.remindersOn(producerRepo, 11)
			if len(got) != 2 || !strings.Contains(strings.Join(got, "\n"), "@acme/team-finance: `"+storyTarget+"` reaches its sunset on **"+storySunset+"** (in 30 days)") {
				t.Fatalf("%d reminders on the hand-written deprecation's pull request, want one per consumer:\n%s", len(got), strings.Join(got, "\n---\n"))
			}
			if v := s.fake.Violations(); len(v) > 0 {
				t.Errorf("requests GitHub would refuse: %q", v)
			}
		})
	}
}
