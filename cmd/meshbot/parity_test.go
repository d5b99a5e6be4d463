package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meshbot/meshbot/internal/checkrun"
	"github.com/meshbot/meshbot/internal/engine"
	"github.com/meshbot/meshbot/internal/ghfake"
	"github.com/meshbot/meshbot/internal/ghfake/ghfaketest"
	"github.com/meshbot/meshbot/internal/githubapp"
	"github.com/meshbot/meshbot/internal/index"
	"github.com/meshbot/meshbot/internal/jobs"
	"github.com/meshbot/meshbot/internal/policyeval"
	"github.com/meshbot/meshbot/internal/pullcheck"
	"github.com/meshbot/meshbot/internal/render"
	"github.com/meshbot/meshbot/internal/store"
	"github.com/meshbot/meshbot/internal/testutil"
	"github.com/meshbot/meshbot/policy"
)

// TestCLIAppParity runs every change twice: `meshbot check --base main` on
// a git repository whose main holds the base and whose work tree holds the
// head, and the App's check run on the same pull request against the fake
// GitHub, with the registry filled by the real indexer from main. The
// verdict (conclusion and title) and every annotation (file, line, level,
// title, message) must be the same; any difference is printed.
//
// The changes are every scenario of the example mesh, every neighbouring
// pair of real file histories in testdata/corpus/history, and each
// corpus repository's documents added at once (which tests discovery by
// content on the names real repositories use).
func TestCLIAppParity(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	root := testutil.RepoRoot(t)
	pol, err := policyeval.Load(context.Background(), policy.FS(), policyeval.Options{})
	if err != nil {
		t.Fatal(err)
	}
	app := newParityApp(t, pol)
	n := 0
	run := func(t *testing.T, base, head string) {
		n++
		app.compare(t, n, base, head)
	}

	t.Run("scenarios", func(t *testing.T) {
		for _, name := range testutil.ScenarioNames(t) {
			t.Run(name, func(t *testing.T) {
				base, head := testutil.Scenario(t, name)
				run(t, base, head)
			})
		}
	})

	corpus := filepath.Join(root, "testdata", "corpus")
	t.Run("history", func(t *testing.T) {
		repos, err := os.ReadDir(filepath.Join(corpus, "history"))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range repos {
			docs, err := os.ReadDir(filepath.Join(corpus, "history", r.Name()))
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range docs {
				dir := filepath.Join(corpus, "history", r.Name(), d.Name())
				versions, err := os.ReadDir(dir)
				if err != nil {
					t.Fatal(err)
				}
				// The file keeps its path in its repository.
				rel := filepath.FromSlash(strings.ReplaceAll(d.Name(), "__", "/"))
				for i := 1; i < len(versions); i++ {
					t.Run(r.Name()+"/"+d.Name()+"/"+versions[i].Name(), func(t *testing.T) {
						base, head := t.TempDir(), t.TempDir()
						copyFile(t, filepath.Join(dir, versions[i-1].Name()), filepath.Join(base, rel))
						copyFile(t, filepath.Join(dir, versions[i].Name()), filepath.Join(head, rel))
						run(t, base, head)
					})
				}
			}
		}
	})

	t.Run("docs", func(t *testing.T) {
		repos, err := os.ReadDir(filepath.Join(corpus, "docs"))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range repos {
			t.Run(r.Name(), func(t *testing.T) {
				base, head := t.TempDir(), t.TempDir()
				writeFile(t, filepath.Join(base, "README.md"), "documents to come\n")
				writeFile(t, filepath.Join(head, "README.md"), "documents to come\n")
				docs, err := os.ReadDir(filepath.Join(corpus, "docs", r.Name()))
				if err != nil {
					t.Fatal(err)
				}
				for _, d := range docs {
					copyFile(t, filepath.Join(corpus, "docs", r.Name(), d.Name()),
						filepath.Join(head, filepath.FromSlash(strings.ReplaceAll(d.Name(), "__", "/"))))
				}
				run(t, base, head)
			})
		}
	})
}

// parityApp is the App against the fake GitHub: an installation with one
// repository per change.
type parityApp struct {
	fake  *ghfake.Fake
	gh    githubapp.Clients
	store store.Store
	pol   *policyeval.Swappable
	log   *slog.Logger
}

const (
	parityAppID = 4343
	parityInst  = 9
)

func newParityApp(t *testing.T, pol *policyeval.Set) *parityApp {
	f := ghfaketest.New(t, parityAppID)
	f.AddInstallation(parityInst, "acme")
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	gh, err := githubapp.NewApp(githubapp.Config{
		AppID: parityAppID, PrivateKey: ghfaketest.PEM(), BaseURL: f.URL(), HTTPClient: f.Client(),
		RetryBaseDelay: time.Millisecond, MaxRetries: -1, Logger: quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	st := store.NewMemory(store.Options{})
	t.Cleanup(func() { st.Close() })
	return &parityApp{fake: f, gh: gh, store: st, pol: policyeval.NewSwappable(pol), log: quiet}
}

// verdict is what both sides are compared on.
type verdict struct {
	Conclusion, Title string
	Annotations       []string
}

func (a *parityApp) compare(t *testing.T, n int, base, head string) {
	t.Helper()
	cli := cliVerdict(t, base, head)
	app := a.appVerdict(t, n, base, head)
	t.Logf("CLI %s %q, %d annotations; App %s %q, %d annotations", cli.Conclusion, cli.Title, len(cli.Annotations), app.Conclusion, app.Title, len(app.Annotations))
	if cli.Conclusion != app.Conclusion || cli.Title != app.Title {
		t.Errorf("verdict differs:\n  CLI %s %q\n  App %s %q", cli.Conclusion, cli.Title, app.Conclusion, app.Title)
	}
	for _, s := range cli.Annotations {
		if !slices.Contains(app.Annotations, s) {
			t.Errorf("only the CLI: %s", s)
		}
	}
	for _, s := range app.Annotations {
		if !slices.Contains(cli.Annotations, s) {
			t.Errorf("only the App: %s", s)
		}
	}
}

// cliVerdict is `meshbot check --base main` on a repository whose main is
// base and whose work tree is head, rendered as the App renders.
func cliVerdict(t *testing.T, base, head string) verdict {
	t.Helper()
	repo := t.TempDir()
	if err := testutil.CopyTree(base, repo); err != nil {
		t.Fatal(err)
	}
	testutil.Git(t, repo, "init", "-q", "-b", "main")
	testutil.Git(t, repo, "add", "-A")
	testutil.Git(t, repo, "commit", "-qm", "base", "--allow-empty")
	entries, err := os.ReadDir(repo)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != ".git" {
			if err := os.RemoveAll(filepath.Join(repo, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := testutil.CopyTree(head, repo); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := check(t, "--base", "main", "--today", goldenToday, "--format", "json", repo)
	if code == exitUnusable {
		t.Fatalf("meshbot check: exit %d: %s", code, stderr)
	}
	var rep engine.Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("meshbot check output: %v\n%s", err, stdout)
	}
	out := render.CheckRun(&rep)
	return verdictOf(string(out.Conclusion), out.Title, annotationsOf(out))
}

// appVerdict pushes base to main and head to a branch of a new repository,
// indexes main, opens pull request n and runs the App's check on it.
func (a *parityApp) appVerdict(t *testing.T, n int, base, head string) verdict {
	t.Helper()
	ctx := context.Background()
	name := fmt.Sprintf("acme/parity-%d", n)
	r := a.fake.AddRepo(parityInst, name, "main")
	baseSHA, err := r.CommitDir("main", base)
	if err != nil {
		t.Fatal(err)
	}
	headSHA, err := r.CommitDir("change", head)
	if err != nil {
		t.Fatal(err)
	}
	r.OpenPullRequest(n, "main", "change")
	owner, repo, _ := strings.Cut(name, "/")
	ix := index.NewIndexer(index.Deps{GitHub: a.gh, Registry: a.store, Marks: a.store, Logger: a.log})
	if err := ix.HandleIndex(ctx, jobs.Index{Installation: parityInst, Owner: owner, Repo: repo}, jobs.Meta{}); err != nil {
		t.Fatal(err)
	}
	h := pullcheck.New(pullcheck.Deps{GitHub: a.gh, Store: a.store, Policy: a.pol, Logger: a.log,
		Now: func() time.Time { return time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC) }})
	chk := jobs.PullCheck{Delivery: fmt.Sprintf("parity-%d", n), Installation: parityInst, Owner: owner, Repo: repo, PR: n, HeadSHA: headSHA, BaseSHA: baseSHA}
	if err := h(ctx, chk, jobs.Meta{ID: chk.Delivery, Attempt: 1}); err != nil {
		t.Fatal(err)
	}
	// Each change is its own repository: drop it from the registry so the
	// next change's consumers are its own alone, as the CLI's are.
	defer func() {
		if err := a.store.DeleteRepo(ctx, parityInst, name); err != nil {
			t.Fatal(err)
		}
	}()
	for _, run := range a.fake.CheckRuns(name) {
		if run.HeadSHA == headSHA && run.Status == "completed" {
			var anns []string
			for _, x := range run.Annotations {
				anns = append(anns, fmt.Sprintf("%s:%d-%d:%d-%d %s %q %q", x.Path, x.StartLine, x.EndLine, x.StartColumn, x.EndColumn, x.AnnotationLevel, x.Title, x.Message))
			}
			return verdictOf(run.Conclusion, run.Title, anns)
		}
	}
	t.Fatalf("no completed check run at %s: %+v", headSHA, a.fake.CheckRuns(name))
	return verdict{}
}

// annotationsOf formats a rendered output's annotations as the fake
// records the App's.
func annotationsOf(o checkrun.Output) []string {
	var out []string
	for _, x := range o.Annotations {
		end := x.EndLine
		if end == 0 {
			end = x.StartLine
		}
		out = append(out, fmt.Sprintf("%s:%d-%d:%d-%d %s %q %q", x.Path, x.StartLine, end, x.StartColumn, x.EndColumn, x.Level, x.Title, x.Message))
	}
	return out
}

func verdictOf(conclusion, title string, anns []string) verdict {
	slices.Sort(anns)
	return verdict{Conclusion: conclusion, Title: title, Annotations: anns}
}

func writeFile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, to, string(b))
}
