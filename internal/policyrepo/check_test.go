package policyrepo

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/meshbot/meshbot/internal/ghfake"
	"github.com/meshbot/meshbot/internal/jobs"
	"github.com/meshbot/meshbot/internal/policyeval"
	"github.com/meshbot/meshbot/internal/store"
)

const failingTest = `package mesh.guild_more_test

import rego.v1

import data.mesh.guild

test_support_required_even_when_empty if {
	print("judging a product with an empty support:", guild.deny)
	count(guild.deny) == 1 with input as {"kind": "DataProduct", "metadata": {"name": "x"}, "spec": {"sla": {"support": ""}}}
}
`

const sandboxed = `package mesh.lookup

import rego.v1

deny contains msg if {
	resp := http.send({"method": "GET", "url": "https://catalog.example/owners"})
	not resp.body[input.metadata.owner]
	msg := "unknown owner"
}
`

func seedBroken(t *testing.T) string {
	b, err := os.ReadFile("../policyeval/testdata/seed004/broken/dataproduct.rego")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func annotationAt(rs []ghfake.Annotation, path string, line int) *ghfake.Annotation {
	for i, a := range rs {
		if a.Path == path && a.StartLine == line {
			return &rs[i]
		}
	}
	return nil
}

// TestPullRequestCheck: the policy check of a pull request reports compile
// errors (with meshbot's fix), sandbox refusals and failing tests at their
// file and line, and passes a sound bundle, previewing it when a preview is
// wired in.
func TestPullRequestCheck(t *testing.T) {
	e := newEnv(t, store.NewMemory(store.Options{}))
	var previewed []*policyeval.Set
	e.svc.SetPreview(func(_ context.Context, installation int64, proposed *policyeval.Set) (Section, error) {
		if installation != inst {
			t.Errorf("preview of installation %d", installation)
		}
		previewed = append(previewed, proposed)
		return Section{Title: "would newly fail 2 products owned by 1 team", Summary: "finance.revenue newly fails"}, nil
	})

	t.Run("compile error", func(t *testing.T) {
		run := e.pullRequest(1, with(t, map[string]string{"policy/mesh/dataproduct.rego": seedBroken(t)}))
		if run.Conclusion != "failure" || !strings.Contains(run.Title, "does not compile") {
			t.Fatalf("run %q %q", run.Conclusion, run.Title)
		}
		a := annotationAt(run.Annotations, "policy/mesh/dataproduct.rego", 6)
		if a == nil {
			t.Fatalf("no annotation at policy/mesh/dataproduct.rego:6: %+v", run.Annotations)
		}
		if a.AnnotationLevel != "failure" || !strings.Contains(a.Message, "some port in input.spec.outputPorts; not port.contract") {
			t.Errorf("annotation %+v does not give meshbot's fix", a)
		}
		if !strings.Contains(run.Summary, "`policy/mesh/dataproduct.rego:6`") {
			t.Errorf("summary does not name the file and line:\n%s", run.Summary)
		}
	})
	t.Run("sandbox", func(t *testing.T) {
		run := e.pullRequest(2, with(t, map[string]string{"policy/mesh/lookup.rego": sandboxed}))
		if run.Conclusion != "failure" || !strings.Contains(run.Title, "sandbox refuses: http.send") {
			t.Fatalf("run %q %q", run.Conclusion, run.Title)
		}
		if a := annotationAt(run.Annotations, "policy/mesh/lookup.rego", 6); a == nil || !strings.Contains(a.Title, "http.send") {
			t.Fatalf("no sandbox annotation at policy/mesh/lookup.rego:6: %+v", run.Annotations)
		}
	})
	t.Run("failing tests", func(t *testing.T) {
		run := e.pullRequest(3, with(t, map[string]string{"policy/mesh/guild_more_test.rego": failingTest}))
		if run.Conclusion != "failure" || run.Title != "1 of 3 policy tests fail" {
			t.Fatalf("run %q %q", run.Conclusion, run.Title)
		}
		a := annotationAt(run.Annotations, "policy/mesh/guild_more_test.rego", 7)
		if a == nil {
			t.Fatalf("no annotation at the failing test's line: %+v", run.Annotations)
		}
		if !strings.Contains(a.Message, "judging a product with an empty support:") {
			t.Errorf("annotation does not carry the test's print output: %q", a.Message)
		}
		if !strings.Contains(a.RawDetails, "policy/mesh/guild.rego:6") {
			t.Errorf("the trace does not name the repository's paths:\n%s", a.RawDetails)
		}
		if !strings.Contains(run.Summary, "judging a product with an empty support:") {
			t.Errorf("summary does not carry the print output:\n%s", run.Summary)
		}
	})
	if len(previewed) != 1 {
		t.Fatalf("preview ran %d times before the sound bundle; want once (tests fail but it compiles)", len(previewed))
	}
	t.Run("sound", func(t *testing.T) {
		run := e.pullRequest(4, files(t, "good"))
		if run.Conclusion != "success" || run.Title != "would newly fail 2 products owned by 1 team" {
			t.Fatalf("run %q %q", run.Conclusion, run.Title)
		}
		for _, want := range []string{"2 of 2 tests pass", "fetched with 4 GitHub request(s)", "No rule calls a refused built-in", "finance.revenue newly fails"} {
			if want == "2 of 2 tests pass" {
				want = "2 passed, 0 failed"
			}
			if !strings.Contains(run.Summary, want) {
				t.Errorf("summary lacks %q:\n%s", want, run.Summary)
			}
		}
		if len(previewed) != 2 || previewed[1].Rules() != 1 {
			t.Errorf("preview saw %d sets, the last with %d rules; want the proposed 1-rule policy", len(previewed), previewed[len(previewed)-1].Rules())
		}
	})
	t.Run("preview error", func(t *testing.T) {
		e.svc.SetPreview(func(context.Context, int64, *policyeval.Set) (Section, error) {
			return Section{}, errors.New("registry unavailable")
		})
		run := e.pullRequest(5, files(t, "good"))
		if run.Conclusion != "success" || !strings.Contains(run.Summary, "could not be computed: `registry unavailable`") {
			t.Fatalf("run %q %q\n%s", run.Conclusion, run.Title, run.Summary)
		}
	})
}

// TestRootLayout: without a policy/ folder the root is the policy, and only
// Rego and data.* files are fetched.
func TestRootLayout(t *testing.T) {
	e := newEnv(t, store.NewMemory(store.Options{}))
	snap := map[string][]byte{}
	for p, b := range files(t, "good") {
		snap[strings.TrimPrefix(p, "policy/")] = b
	}
	snap["mkdocs.yml"] = []byte("site_name: [unclosed\n") // not policy data: never read
	run := e.pullRequest(1, snap)
	if run.Conclusion != "success" || !strings.Contains(run.Summary, "the repository's root") || !strings.Contains(run.Summary, "fetched with 4 GitHub request(s)") {
		t.Fatalf("run %q %q\n%s", run.Conclusion, run.Title, run.Summary)
	}
}

// TestUnfinished: a job that cannot succeed (a Rego file past the size a
// bundle file may have) completes its check run with a failure saying why,
// rather than leaving it in progress.
func TestUnfinished(t *testing.T) {
	e := newEnv(t, store.NewMemory(store.Options{}))
	snap := files(t, "good")
	snap["policy/mesh/huge.rego"] = append([]byte("package mesh.huge\n# "), bytes.Repeat([]byte("x"), maxFileBytes)...)
	sha := e.pol.Commit("huge", snap)
	e.pol.OpenPullRequest(1, "main", "huge")
	chk := jobs.PullCheck{Delivery: "d-huge", Installation: inst, Owner: owner, Repo: polName, PR: 1, HeadSHA: sha}
	err := e.svc.HandleCheck(context.Background(), chk, jobs.Meta{ID: "j", Attempt: 1})
	if !store.IsPermanent(err) || !errors.Is(err, ErrTooLarge) {
		t.Fatalf("HandleCheck = %v, want a permanent ErrTooLarge", err)
	}
	run := e.runAt(sha)
	if run.Status != "completed" || run.Conclusion != "failure" || run.Title != TitleUnfinished || !strings.Contains(run.Summary, "policy/mesh/huge.rego") {
		t.Fatalf("run %s %s %q\n%s", run.Status, run.Conclusion, run.Title, run.Summary)
	}
}
