package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/meshbot/meshbot/internal/engine"
	"github.com/meshbot/meshbot/internal/ghfake"
	"github.com/meshbot/meshbot/internal/githubapp"
	"github.com/meshbot/meshbot/internal/jobs"
	"github.com/meshbot/meshbot/internal/mesh"
	"github.com/meshbot/meshbot/internal/pullcheck"
	"github.com/meshbot/meshbot/internal/render"
	"github.com/meshbot/meshbot/internal/store"
	"github.com/meshbot/meshbot/internal/store/storetest"
	"github.com/meshbot/meshbot/internal/testutil"
)

// engineAnnotations is what the engine reports on the scenario's whole
// checkout, as `meshbot check --base` sees it: the check run must pin the
// same findings to the same files and lines.
func engineAnnotations(t *testing.T, name string) map[string]bool {
	t.Helper()
	base, head := testutil.Scenario(t, name)
	ctx := context.Background()
	hm, bm, err := mesh.LoadPair(ctx, os.DirFS(head), os.DirFS(base))
	if err != nil {
		t.Fatal(err)
	}
	pol, err := bundledPolicy()
	if err != nil {
		t.Fatal(err)
	}
	rep, err := engine.Evaluate(ctx, engine.Request{Head: hm, Base: bm, Policy: pol, Today: today})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, a := range render.CheckRun(rep).Annotations {
		out[fmt.Sprintf("%s:%d %s %s", a.Path, a.StartLine, a.Level, a.Title)] = true
	}
	return out
}

func runAnnotations(r ghfake.CheckRun) map[string]bool {
	out := map[string]bool{}
	for _, a := range r.Annotations {
		out[fmt.Sprintf("%s:%d %s %s", a.Path, a.StartLine, a.AnnotationLevel, a.Title)] = true
	}
	return out
}

// TestScenarios: for every scenario of the example mesh, a signed
// pull_request delivery goes in and the check run `meshbot` comes out with
// the conclusion `meshbot check` gives (exit 1 is failure), a summary naming
// what the scenario expects (consumers, owners, rules), and the engine's
// annotations at the same files and lines.
func TestScenarios(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			w := newWorld(t, b.open(t))
			w.startPool(w.handlers(nil), poolOpts())
			w.install()
			names := testutil.ScenarioNames(t)
			prs := map[string]pr{}
			for i, name := range names {
				p := w.scenario(name, 10+i)
				prs[name] = p
				w.mustDeliver("pull_request", w.nextID(), w.pullRequest("opened", p.n, p.sha, p.branch))
			}
			for _, name := range names {
				t.Run(name, func(t *testing.T) {
					p := prs[name]
					run := w.completed(p.sha, 30*time.Second)
					if run.Name != pullcheck.CheckName {
						t.Errorf("check run named %q", run.Name)
					}
					switch want := p.spec.Expect.Exit; {
					case want == 1 && run.Conclusion != "failure",
						want == 0 && run.Conclusion != "success" && run.Conclusion != "neutral":
						t.Errorf("conclusion %s, but meshbot check exits %d\n%s\n%s", run.Conclusion, want, run.Title, run.Summary)
					}
					text := run.Title + "\n" + run.Summary
					for _, a := range run.Annotations {
						text += "\n" + a.Title + " " + a.Message + " " + a.RawDetails
					}
					for _, r := range p.spec.Expect.Rules {
						if !strings.Contains(text, r) {
							t.Errorf("check run does not mention %q:\n%s", r, text)
						}
					}
					got, want := runAnnotations(run), engineAnnotations(t, name)
					if p.spec.Expect.Exit == 1 && len(want) == 0 {
						t.Fatal("the engine reports nothing on a failing scenario")
					}
					if strings.Join(sortedKeys(got), "\n") != strings.Join(sortedKeys(want), "\n") {
						t.Errorf("annotations differ from the engine's on the whole checkout\ngot:\n  %s\nwant:\n  %s",
							strings.Join(sortedKeys(got), "\n  "), strings.Join(sortedKeys(want), "\n  "))
					}
				})
			}
			// The breaking change names who breaks and who owns them.
			sum := w.completed(prs["breaking-consumer"].sha, time.Second).Summary
			for _, s := range []string{"Consumers that would break", "finance.revenue", "team-finance", "customer.customer-360", "team-customer-insights"} {
				if !strings.Contains(sum, s) {
					t.Errorf("breaking-consumer summary lacks %q:\n%s", s, sum)
				}
			}
			w.drained(10 * time.Second)
			if dl, _ := w.st.DeadLetters(context.Background(), 10); len(dl) > 0 {
				t.Errorf("dead letters: %+v", dl)
			}
		})
	}
}

// TestRedelivery: GitHub redelivers with the same X-GitHub-Delivery; the
// work happens once.
func TestRedelivery(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			w := newWorld(t, b.open(t))
			w.startPool(w.handlers(nil), poolOpts())
			w.install()
			p := w.scenario("breaking-consumer", 21)
			body := w.pullRequest("opened", p.n, p.sha, p.branch)
			id := w.nextID()
			w.mustDeliver("pull_request", id, body)
			w.mustDeliver("pull_request", id, body)
			run := w.completed(p.sha, 20*time.Second)
			w.mustDeliver("pull_request", id, body) // and once more after the work is done
			w.drained(5 * time.Second)
			time.Sleep(100 * time.Millisecond)
			if rs := w.runsAt(p.sha); len(rs) != 1 || rs[0].ID != run.ID {
				t.Errorf("redelivery made %d check runs, want 1", len(rs))
			}
			creates := 0
			for _, r := range w.fake.Requests() {
				if r.Method == "POST" && strings.HasSuffix(r.Path, "/check-runs") {
					creates++
				}
			}
			if creates != 1 {
				t.Errorf("%d check runs created, want 1", creates)
			}
		})
	}
}

// TestSupersededWhileQueued: a synchronize with a newer head arrives while
// the older head's job is still queued; the older job is skipped, and only
// the newer head gets a check run.
func TestSupersededWhileQueued(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			w := newWorld(t, b.open(t))
			stop := w.startPool(w.handlers(nil), poolOpts())
			w.install()
			stop() // workers away: deliveries queue up
			old := w.scenario("clean-change", 31)
			w.mustDeliver("pull_request", w.nextID(), w.pullRequest("opened", old.n, old.sha, old.branch))
			// The author pushes again: the branch now carries the breaking change.
			newer := w.scenario("breaking-consumer", 32)
			newSHA := w.repo.Commit(old.branch, filesAt(t, w.repo, newer.sha))
			w.mustDeliver("pull_request", w.nextID(), w.pullRequest("synchronize", old.n, newSHA, old.branch))
			w.startPool(w.handlers(nil), poolOpts())
			run := w.completed(newSHA, 20*time.Second)
			if run.Conclusion != "failure" {
				t.Errorf("newest head: %s, want failure", run.Conclusion)
			}
			w.drained(5 * time.Second)
			if rs := w.runsAt(old.sha); len(rs) != 0 {
				t.Errorf("the superseded head got %d check run(s): %+v", len(rs), rs)
			}
		})
	}
}

// filesAt reads back the full snapshot of a commit of the fake repository.
func filesAt(t *testing.T, r *ghfake.Repo, sha string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	root := filepath.Join(testutil.RepoRoot(t), "testdata", "mesh")
	// Every path of the mesh and of the scenario overlays is a candidate.
	candidates := map[string]bool{}
	for _, dir := range []string{root, filepath.Join(testutil.RepoRoot(t), "testdata", "scenarios")} {
		_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				rel, _ := filepath.Rel(dir, p)
				rel = filepath.ToSlash(rel)
				candidates[rel] = true
				if i := strings.Index(rel, "/"); dir != root && i > 0 {
					candidates[rel[i+1:]] = true
				}
			}
			return nil
		})
	}
	for p := range candidates {
		if b, ok := r.File(sha, p); ok {
			files[p] = b
		}
	}
	return files
}

// stallingGitHub is the App's real client whose file listing stalls until
// its job is cancelled: a worker that hangs mid-job.
type stallingGitHub struct {
	githubapp.Clients
	stalled chan struct{}
}

func (s stallingGitHub) Installation(id int64) (githubapp.Installation, error) {
	c, err := s.Clients.Installation(id)
	return stallingClient{c, s.stalled}, err
}

type stallingClient struct {
	githubapp.Installation
	stalled chan struct{}
}

func (c stallingClient) ChangedFiles(ctx context.Context, owner, repo string, n int) ([]githubapp.ChangedFile, error) {
	select {
	case c.stalled <- struct{}{}:
	default:
	}
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestWorkerKilledMidJob: the first worker has created the check run and
// hangs; it is stopped without acking. After the visibility timeout a
// second pool takes the job over, reuses the check run and completes it.
func TestWorkerKilledMidJob(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			w := newWorld(t, b.open(t))
			stop := w.startPool(w.handlers(nil), poolOpts())
			w.install()
			stop()
			stalled := make(chan struct{}, 1)
			opts := poolOpts()
			opts.Drain = 50 * time.Millisecond
			kill := w.startPool(w.handlers(stallingGitHub{w.deps.GitHub, stalled}), opts)
			p := w.scenario("breaking-consumer", 41)
			w.mustDeliver("pull_request", w.nextID(), w.pullRequest("opened", p.n, p.sha, p.branch))
			select {
			case <-stalled:
			case <-time.After(20 * time.Second):
				t.Fatal("the first worker never started the job")
			}
			kill()
			if rs := w.runsAt(p.sha); len(rs) != 1 || rs[0].Status != "in_progress" {
				t.Fatalf("after the kill: %+v, want one check run in progress", rs)
			}
			st, _ := w.st.Stats(context.Background())
			if st.InFlight != 1 {
				t.Fatalf("after the kill the job is not held un-acked: %+v", st)
			}
			w.startPool(w.handlers(nil), poolOpts())
			run := w.completed(p.sha, 20*time.Second)
			if run.Conclusion != "failure" {
				t.Errorf("conclusion %s, want failure", run.Conclusion)
			}
			w.drained(5 * time.Second)
		})
	}
}

// TestRedisRestart: a dedicated redis-server (append-only file, fsync on
// every write) is killed with SIGKILL and restarted twice: once with every
// delivery queued and no worker running (the queue must survive whole), and
// again while the workers are busy with them. Every delivery still ends in
// one completed check run.
func TestRedisRestart(t *testing.T) {
	storetest.Required(t) // only to honour the skip / CI rule: this test runs its own server
	srv := startRedis(t)
	st, err := store.NewRedis(context.Background(), srv.url(), storeOpts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	w := newWorld(t, st)
	stop := w.startPool(w.handlers(nil), poolOpts())
	w.install()
	stop()
	names := testutil.ScenarioNames(t)
	var prs []pr
	for i, name := range names {
		p := w.scenario(name, 60+i)
		prs = append(prs, p)
		w.mustDeliver("pull_request", w.nextID(), w.pullRequest("opened", p.n, p.sha, p.branch))
	}
	pending := func() int64 {
		s, err := st.Stats(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return s.Pending
	}
	if n := pending(); n != int64(len(prs)) {
		t.Fatalf("%d jobs pending before the restart, want %d", n, len(prs))
	}
	srv.kill()
	srv.start()
	if n := pending(); n != int64(len(prs)) {
		t.Fatalf("%d jobs pending after kill -9 and restart, want %d: acknowledged deliveries were lost", n, len(prs))
	}
	// Each check takes a little longer than usual, so the second kill finds
	// jobs in flight.
	h := w.handlers(nil)
	check := pullcheck.New(w.deps)
	jobs.Register(h, jobs.KindPullCheck, func(ctx context.Context, c jobs.PullCheck, m jobs.Meta) error {
		select {
		case <-time.After(150 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
		return check(ctx, c, m)
	})
	w.startPool(h, poolOpts())
	w.eventually(30*time.Second, "the first check run", func() bool { return len(w.fake.CheckRuns(repoFull)) > 0 })
	srv.kill()
	time.Sleep(3 * time.Second) // longer than go-redis' own retries: the workers meet a dead Redis
	srv.start()
	for _, p := range prs {
		run := w.completed(p.sha, 60*time.Second)
		if run.Status != "completed" {
			t.Errorf("%s: %s", p.branch, run.Status)
		}
	}
	w.drained(20 * time.Second)
	if dl, _ := st.DeadLetters(context.Background(), 10); len(dl) > 0 {
		t.Errorf("dead letters after the restarts: %+v", dl)
	}
}

type redisServer struct {
	t    testing.TB
	port int
	dir  string
	cmd  *exec.Cmd
	// fsync is appendfsync: "always" unless set (startRedisAs).
	fsync string
}

func (s *redisServer) url() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", s.port) }

// startRedis runs a redis-server of the test's own on a free port, with an
// append-only file fsynced on every write.
func startRedis(t testing.TB) *redisServer {
	t.Helper()
	return startRedisAs(t, "always")
}

// startRedisAs is startRedis with appendfsync fsync ("everysec" is Redis'
// default under appendonly yes, the setting README and the chart ask for).
func startRedisAs(t testing.TB, fsync string) *redisServer {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server is not installed")
		}
		t.Skip("skipping: redis-server is not installed")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	s := &redisServer{t: t, port: port, dir: t.TempDir(), fsync: fsync}
	s.start()
	t.Cleanup(s.kill)
	return s
}

func (s *redisServer) start() {
	s.t.Helper()
	s.cmd = exec.Command("redis-server", "--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--appendonly", "yes", "--appendfsync", s.fsync, "--save", "", "--dir", s.dir)
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", s.port), 100*time.Millisecond)
		if err == nil {
			_, _ = c.Write([]byte("PING\r\n"))
			buf := make([]byte, 64)
			_ = c.SetReadDeadline(time.Now().Add(time.Second))
			n, _ := c.Read(buf)
			c.Close()
			if strings.HasPrefix(string(buf[:n]), "+PONG") {
				return
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("redis-server on %d did not answer: %v", s.port, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill is SIGKILL: no shutdown save, only what the append-only file holds.
func (s *redisServer) kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	err := s.cmd.Wait()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		s.t.Logf("redis-server: %v", err)
	}
	s.cmd = nil
}
