package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/meshbot/meshbot/internal/config"
	"github.com/meshbot/meshbot/internal/ghfake"
	"github.com/meshbot/meshbot/internal/ghfake/ghfaketest"
	"github.com/meshbot/meshbot/internal/store"
	"github.com/meshbot/meshbot/internal/store/storetest"
	"github.com/meshbot/meshbot/internal/testutil"
	"github.com/meshbot/meshbot/internal/webhook"
)

// The fixture of the policy repository tests: one installation holding the
// example mesh (acme/mesh) and the guild's policy repository.
const (
	prAppID   = 6161
	prInst    = 31
	prOwner   = "acme"
	prMesh    = prOwner + "/mesh"
	prPolicy  = prOwner + "/governance"
	prSecret  = "policy-repo-secret"
	guildRule = "guild-rule-v2" // the message prefix of the merged policy's rule
)

// replica is one `meshbot serve` of the test, on its own listener and its
// own connection to the shared Redis.
type replica struct {
	name string
	addr string
	stop func()
}

// fleet is the deployment under test: a fake GitHub, the Redis key prefix
// the replicas share, and the replicas started so far.
type fleet struct {
	t      *testing.T
	fake   *ghfake.Fake
	mesh   *ghfake.Repo
	policy *ghfake.Repo
	url    string
	prefix string
	cfg    *config.Config
	main   string // the mesh's main
	meshFS map[string][]byte
	seq    int
}

func newFleet(t *testing.T) *fleet {
	url := storetest.Required(t)
	gin.SetMode(gin.ReleaseMode)
	f := ghfaketest.New(t, prAppID)
	f.AddInstallation(prInst, prOwner)
	fl := &fleet{t: t, fake: f, url: url, mesh: f.AddRepo(prInst, prMesh, "main"), policy: f.AddRepo(prInst, prPolicy, "main")}
	root := testutil.RepoRoot(t)
	fl.meshFS = testutil.ReadTree(t, filepath.Join(root, "testdata", "mesh"))
	fl.main = fl.mesh.Commit("main", fl.meshFS)
	fl.policy.Commit("main", map[string][]byte{"README.md": []byte("# governance\n")})
	var b [6]byte
	_, _ = rand.Read(b[:])
	fl.prefix = "meshbot-test:" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() {
		cfg, err := store.ParseRedisURL(url)
		if err != nil {
			return
		}
		c := cfg.NewClient()
		defer c.Close()
		_ = storetest.DeletePrefix(context.Background(), c, fl.prefix)
	})
	env := map[string]string{
		config.EnvAddr: "127.0.0.1:0", config.EnvAppID: strconv.Itoa(prAppID), config.EnvPrivateKey: string(ghfaketest.PEM()),
		config.EnvWebhookSecret: prSecret, config.EnvAPIURL: f.URL(), config.EnvPolicyRepo: prPolicy,
	}
	cfg, err := config.Load(func(k string) string { return env[k] }, os.ReadFile)
	if err != nil {
		t.Fatal(err)
	}
	fl.cfg = cfg
	return fl
}

// start runs one more `meshbot serve` on the shared Redis.
func (fl *fleet) start(name string) *replica {
	t := fl.t
	st, err := store.NewRedis(context.Background(), fl.url, store.Options{Prefix: fl.prefix})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("MESHBOT_E2E_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil)).With("replica", name)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, fl.cfg, st, serveDeps{Logger: log, Listening: func(a string) { addr <- a }, Workers: 2, PolicyPoll: time.Second})
	}()
	r := &replica{name: name}
	select {
	case r.addr = <-addr:
	case err := <-done:
		t.Fatalf("serve %s: %v", name, err)
	case <-time.After(60 * time.Second):
		t.Fatalf("serve %s did not start", name)
	}
	stopped := false
	r.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve %s: %v", name, err)
			}
		case <-time.After(60 * time.Second):
			t.Errorf("serve %s did not stop", name)
		}
		st.Close()
	}
	t.Cleanup(r.stop)
	return r
}

// deliver posts a delivery to r, signed as GitHub signs it.
func (fl *fleet) deliver(r *replica, event string, body []byte) {
	t := fl.t
	t.Helper()
	fl.seq++
	req, err := http.NewRequest(http.MethodPost, "http://"+r.addr+"/webhook", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("pr-%d-%d", time.Now().UnixNano(), fl.seq))
	req.Header.Set("X-Hub-Signature-256", webhook.Sign([]byte(prSecret), body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s delivery to %s: %d %s", event, r.name, resp.StatusCode, b)
	}
}

// example is one of GitHub's published payloads, edited.
func (fl *fleet) example(rel string, edit func(p map[string]any)) []byte {
	fl.t.Helper()
	src, err := os.ReadFile(testutil.Shared(fl.t, filepath.Join("external/github/webhooks", rel)))
	if err != nil {
		fl.t.Fatal(err)
	}
	var p map[string]any
	if err := json.Unmarshal(src, &p); err != nil {
		fl.t.Fatal(err)
	}
	objOf(p, "installation")["id"] = prInst
	edit(p)
	b, err := json.Marshal(p)
	if err != nil {
		fl.t.Fatal(err)
	}
	return b
}

func objOf(m map[string]any, key string) map[string]any {
	o, _ := m[key].(map[string]any)
	if o == nil {
		o = map[string]any{}
		m[key] = o
	}
	return o
}

func setRepo(r map[string]any, full string) {
	owner, name, _ := strings.Cut(full, "/")
	r["name"], r["full_name"], r["default_branch"] = name, full, "main"
	objOf(r, "owner")["login"] = owner
}

// openPR commits snap on a branch of repo, opens pull request n and
// delivers its opened event to r; it returns the head.
func (fl *fleet) openPR(r *replica, repo *ghfake.Repo, n int, snap map[string][]byte) string {
	branch := fmt.Sprintf("change-%d", n)
	head := repo.Commit(branch, snap)
	repo.OpenPullRequest(n, "main", branch)
	base := repo.Branch("main")
	fl.deliver(r, "pull_request", fl.example("pull_request/opened.payload.json", func(p map[string]any) {
		p["number"] = n
		pr := objOf(p, "pull_request")
		pr["number"] = n
		h, b := objOf(pr, "head"), objOf(pr, "base")
		h["sha"], h["ref"] = head, branch
		b["sha"], b["ref"] = base, "main"
		setRepo(objOf(h, "repo"), repo.FullName())
		setRepo(objOf(b, "repo"), repo.FullName())
		setRepo(objOf(p, "repository"), repo.FullName())
	}))
	return head
}

// merge commits snap to the policy repository's main and delivers the push
// to r; it returns the commit.
func (fl *fleet) merge(r *replica, snap map[string][]byte) string {
	before := fl.policy.Branch("main")
	after := fl.policy.Commit("main", snap)
	fl.deliver(r, "push", fl.example("push/with-installation.payload.json", func(p map[string]any) {
		p["ref"], p["before"], p["after"] = "refs/heads/main", before, after
		p["created"], p["deleted"], p["forced"] = false, false, false
		p["commits"] = []any{map[string]any{"id": after, "distinct": true, "message": "merge policy",
			"added": []any{}, "modified": []any{"policy/mesh/guild.rego"}, "removed": []any{}}}
		setRepo(objOf(p, "repository"), prPolicy)
	}))
	return after
}

// latestRun waits for a completed check run at sha newer than after (a
// check run id) and returns the newest.
func (fl *fleet) latestRun(repo, sha string, after int64, within time.Duration) ghfake.CheckRun {
	fl.t.Helper()
	deadline := time.Now().Add(within)
	for {
		var last ghfake.CheckRun
		for _, r := range fl.fake.CheckRuns(repo) {
			if r.HeadSHA == sha && r.ID > after && r.Status == "completed" && r.ID > last.ID {
				last = r
			}
		}
		if last.ID != 0 {
			return last
		}
		if time.Now().After(deadline) {
			fl.t.Fatalf("no completed check run at %s@%s (after run %d) within %v", repo, sha, after, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// metric reads r's /metrics and returns the lines of the named metric.
func (fl *fleet) metric(r *replica, name string) []string {
	fl.t.Helper()
	resp, err := http.Get("http://" + r.addr + "/metrics")
	if err != nil {
		fl.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, name+"{") || strings.HasPrefix(l, name+" ") {
			out = append(out, l)
		}
	}
	return out
}

func (fl *fleet) judgesWith(r *replica, commit string) bool {
	ls := fl.metric(r, "meshbot_policy_commit_info")
	return len(ls) == 1 && strings.Contains(ls[0], `commit="`+commit+`"`)
}

func (fl *fleet) waitJudges(r *replica, commit string, within time.Duration) {
	fl.t.Helper()
	deadline := time.Now().Add(within)
	for !fl.judgesWith(r, commit) {
		if time.Now().After(deadline) {
			fl.t.Fatalf("%s does not judge with %s within %v: %v", r.name, commit, within, fl.metric(r, "meshbot_policy_commit_info"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// productChange is the example mesh with the revenue descriptor touched.
func (fl *fleet) productChange(n int) map[string][]byte {
	snap := map[string][]byte{}
	for p, b := range fl.meshFS {
		snap[p] = b
	}
	p := "finance/data-products/revenue/dataproduct.yaml"
	snap[p] = append(append([]byte(nil), snap[p]...), []byte(fmt.Sprintf("# touched by pull request %d\n", n))...)
	return snap
}

func guildPolicy(t *testing.T, extra map[string]string) map[string][]byte {
	snap := testutil.ReadTree(t, filepath.Join(testutil.RepoRoot(t), "internal", "policyrepo", "testdata", "good"))
	for p, s := range extra {
		snap[p] = []byte(s)
	}
	return snap
}

func hasGuildFinding(r ghfake.CheckRun) bool {
	for _, a := range r.Annotations {
		if strings.Contains(a.Message, guildRule) {
			return true
		}
	}
	return false
}

// TestServePolicyRepository is the guild's workflow end to end on two
// `meshbot serve` replicas sharing one Redis, against the fake GitHub:
// policy pull requests with a compile error and with a failing test get
// failing checks at file and line; merging a sound policy switches both
// replicas (each judges the next product pull request with the new rule,
// open product pull requests are re-checked); merging a broken policy is
// refused and leaves it active on both; a restarted replica loads it.
func TestServePolicyRepository(t *testing.T) {
	fl := newFleet(t)
	a, b := fl.start("a"), fl.start("b")

	fl.deliver(a, "installation", fl.example("installation/created.payload.json", func(p map[string]any) {
		objOf(objOf(p, "installation"), "account")["login"] = prOwner
		p["repositories"] = []any{map[string]any{"id": fl.mesh.ID(), "node_id": "R_1", "name": "mesh", "full_name": prMesh, "private": false}}
	}))

	// A product pull request judged by the bundled policy, before any merge.
	before := fl.openPR(b, fl.mesh, 10, fl.productChange(10))
	first := fl.latestRun(prMesh, before, 0, 60*time.Second)
	if hasGuildFinding(first) || strings.Contains(first.Summary, prPolicy+"@") {
		t.Fatalf("before any merge the product check run already shows the guild's rule or commit: %q", first.Summary)
	}

	broken, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "internal", "policyeval", "testdata", "seed004", "broken", "dataproduct.rego"))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("pull request with a compile error", func(t *testing.T) {
		head := fl.openPR(a, fl.policy, 1, guildPolicy(t, map[string]string{"policy/mesh/dataproduct.rego": string(broken)}))
		run := fl.latestRun(prPolicy, head, 0, 60*time.Second)
		if run.Conclusion != "failure" || !strings.Contains(run.Title, "does not compile") {
			t.Fatalf("policy check %q %q", run.Conclusion, run.Title)
		}
		found := false
		for _, an := range run.Annotations {
			if an.Path == "policy/mesh/dataproduct.rego" && an.StartLine == 6 && strings.Contains(an.Message, "some port in input.spec.outputPorts; not port.contract") {
				found = true
			}
		}
		if !found {
			t.Fatalf("no annotation at policy/mesh/dataproduct.rego:6 with the fix: %+v", run.Annotations)
		}
	})
	t.Run("pull request with a failing test", func(t *testing.T) {
		failing := "package mesh.guild_more_test\n\nimport rego.v1\n\nimport data.mesh.guild\n\ntest_empty_support_denied if {\n\tprint(\"deny is\", guild.deny)\n\tcount(guild.deny) == 1 with input as {\"kind\": \"DataProduct\", \"metadata\": {\"name\": \"x\"}, \"spec\": {\"sla\": {\"support\": \"\"}}}\n}\n"
		head := fl.openPR(b, fl.policy, 2, guildPolicy(t, map[string]string{"policy/mesh/guild_more_test.rego": failing}))
		run := fl.latestRun(prPolicy, head, 0, 60*time.Second)
		if run.Conclusion != "failure" || run.Title != "1 of 3 policy tests fail" {
			t.Fatalf("policy check %q %q", run.Conclusion, run.Title)
		}
		if len(run.Annotations) != 1 || run.Annotations[0].Path != "policy/mesh/guild_more_test.rego" || run.Annotations[0].StartLine != 7 ||
			!strings.Contains(run.Annotations[0].Message, "deny is") {
			t.Fatalf("annotations %+v, want one at policy/mesh/guild_more_test.rego:7 with the print output", run.Annotations)
		}
	})

	t.Run("pull request with an impact", func(t *testing.T) {
		// The guild's rule judged against the registry the installation
		// indexed: the check names the products it would newly fail and
		// their teams, before anything is merged.
		head := fl.openPR(a, fl.policy, 3, guildPolicy(t, nil))
		run := fl.latestRun(prPolicy, head, 0, 60*time.Second)
		if run.Conclusion != "success" || !strings.HasPrefix(run.Title, "would newly fail ") || !strings.Contains(run.Title, " owned by ") {
			t.Fatalf("policy check %q %q\n%s", run.Conclusion, run.Title, run.Summary)
		}
		for _, want := range []string{"### Policy impact", "#### Newly fail", guildRule, "no GitHub calls"} {
			if !strings.Contains(run.Summary, want) {
				t.Errorf("the impact section does not say %q:\n%s", want, run.Summary)
			}
		}
	})

	// Merging a sound policy switches both replicas.
	good := fl.merge(a, guildPolicy(t, nil))
	if run := fl.latestRun(prPolicy, good, 0, 60*time.Second); run.Conclusion != "success" || !strings.HasPrefix(run.Title, "Active policy") {
		t.Fatalf("check run at the merged commit: %q %q", run.Conclusion, run.Title)
	}
	fl.waitJudges(a, good, 10*time.Second)
	fl.waitJudges(b, good, 10*time.Second)

	// The open product pull request is re-checked under the new policy.
	rechecked := fl.latestRun(prMesh, before, first.ID, 60*time.Second)
	if !hasGuildFinding(rechecked) || rechecked.Conclusion != "failure" {
		t.Fatalf("the re-check of the open pull request: %q %q, guild finding %v", rechecked.Conclusion, rechecked.Title, hasGuildFinding(rechecked))
	}
	link := fmt.Sprintf("[%s@%s](%s/%s/commit/%s)", prPolicy, good[:12], strings.TrimSuffix(fl.fake.URL(), "/"), prPolicy, good)
	if !strings.Contains(rechecked.Summary, link) {
		t.Errorf("the product check run does not name the policy commit with its link %s:\n%s", link, rechecked.Summary)
	}

	// Merging a broken policy is refused; the sound one stays on both.
	bad := fl.merge(b, guildPolicy(t, map[string]string{"policy/mesh/dataproduct.rego": string(broken)}))
	run := fl.latestRun(prPolicy, bad, 0, 60*time.Second)
	if run.Conclusion != "failure" || !strings.HasPrefix(run.Title, "Refused as the active policy") {
		t.Fatalf("check run at the broken commit: %q %q", run.Conclusion, run.Title)
	}
	time.Sleep(1500 * time.Millisecond) // more than a poll period: a wrong switch would show
	for _, r := range []*replica{a, b} {
		if !fl.judgesWith(r, good) {
			t.Errorf("%s judges with %v after the refusal, want %s", r.name, fl.metric(r, "meshbot_policy_commit_info"), good)
		}
	}
	refusals := append(fl.metric(a, "meshbot_policy_refusals_total"), fl.metric(b, "meshbot_policy_refusals_total")...)
	if len(refusals) != 1 || !strings.Contains(refusals[0], `reason="compile"`) || !strings.HasSuffix(refusals[0], " 1") {
		t.Errorf("refusals in /metrics: %v, want one compile refusal", refusals)
	}

	// Each replica judges the next product pull request with the new rule:
	// a alone first, then b alone after a restart that loads the recorded
	// policy.
	b.stop()
	pr11 := fl.openPR(a, fl.mesh, 11, fl.productChange(11))
	if run := fl.latestRun(prMesh, pr11, 0, 60*time.Second); !hasGuildFinding(run) || !strings.Contains(run.Summary, link) {
		t.Fatalf("a judged pull request 11 without the merged rule: %q\n%s", run.Title, run.Summary)
	}
	b2 := fl.start("b-restarted")
	if !fl.judgesWith(b2, good) {
		t.Fatalf("the restarted replica starts with %v, want the recorded %s", fl.metric(b2, "meshbot_policy_commit_info"), good)
	}
	a.stop()
	pr12 := fl.openPR(b2, fl.mesh, 12, fl.productChange(12))
	if run := fl.latestRun(prMesh, pr12, 0, 60*time.Second); !hasGuildFinding(run) || !strings.Contains(run.Summary, link) {
		t.Fatalf("the restarted replica judged pull request 12 without the merged rule: %q\n%s", run.Title, run.Summary)
	}
}
