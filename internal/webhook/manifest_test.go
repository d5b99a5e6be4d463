package webhook

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/meshbot/meshbot/internal/testutil"
)

// TestAppManifest holds plugin-manifest/github-app.yml to the code: every
// permission is justified by a call in the code that needs it (checked to
// exist, so removing the call fails here until the permission goes too), no
// permission is asked for without one, and the subscribed events are
// exactly the ones the router handles.
func TestAppManifest(t *testing.T) {
	root := testutil.RepoRoot(t)
	src, err := os.ReadFile(filepath.Join(root, "plugin-manifest", "github-app.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Name           string `yaml:"name"`
		URL            string `yaml:"url"`
		Description    string `yaml:"description"`
		HookAttributes struct {
			URL    string `yaml:"url"`
			Active bool   `yaml:"active"`
		} `yaml:"hook_attributes"`
		RedirectURL        string            `yaml:"redirect_url"`
		Public             *bool             `yaml:"public"`
		DefaultPermissions map[string]string `yaml:"default_permissions"`
		DefaultEvents      []string          `yaml:"default_events"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(src)))
	dec.KnownFields(true)
	// Unknown keys fail too: GitHub silently ignores a misspelt one.
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("parse manifest: %v", err)
	}
	if m.Name == "" || m.URL == "" || m.RedirectURL == "" || m.Public == nil {
		t.Errorf("name, url, redirect_url and public are required: %+v", m)
	}
	if !strings.HasSuffix(m.HookAttributes.URL, "/webhook") || !m.HookAttributes.Active {
		t.Errorf("hook_attributes must point at an active /webhook: %+v", m.HookAttributes)
	}

	// permission → level → where the code needs it (file, and a string that
	// must appear in it).
	type need struct{ file, uses string }
	needs := map[string]struct {
		level string
		by    []need
	}{
		"checks": {"write", []need{
			{"internal/githubapp/checkrun.go", "Checks.CreateCheckRun"},
			{"internal/githubapp/checkrun.go", "http.MethodPatch"},
			{"internal/githubapp/checkrun.go", "Checks.ListCheckRunsForRef"},
		}},
		"contents": {"write", []need{
			{"internal/githubapp/compare.go", "Repositories.GetContents"},
			{"internal/githubapp/client.go", "Git.GetTree"},
			{"internal/githubapp/compare.go", "git/blobs/"},
			{"internal/githubapp/client.go", "Git.GetRef"},
			// write: the commit /mesh deprecate proposes, on its own branch.
			{"internal/githubapp/gitdata.go", "Git.CreateBlob"},
			{"internal/githubapp/gitdata.go", "Git.CreateTree"},
			{"internal/githubapp/gitdata.go", "Git.CreateCommit"},
			{"internal/githubapp/gitdata.go", "Git.UpdateRef"},
			{"internal/githubapp/gitdata.go", "Git.CreateRef"},
		}},
		// Comments and reactions on a pull request's conversation go through
		// the issues API but are authorized against the pull request.
		"pull_requests": {"write", []need{
			{"internal/githubapp/client.go", "PullRequests.ListFiles"},
			{"internal/githubapp/client.go", "PullRequests.Get"},
			{"internal/githubapp/client.go", "Issues.CreateComment"},
			{"internal/githubapp/client.go", "Reactions.CreateIssueCommentReaction"},
			// The pull request /mesh deprecate opens, finds and updates.
			{"internal/githubapp/gitdata.go", "PullRequests.Create"},
			{"internal/githubapp/gitdata.go", "PullRequests.List"},
			{"internal/githubapp/gitdata.go", "PullRequests.Edit"},
			{"internal/githubapp/comments.go", "Issues.ListComments"},
		}},
		"issues": {"write", []need{
			{"internal/githubapp/client.go", "Issues.CreateComment"},
			{"internal/githubapp/client.go", "Reactions.CreateIssueCommentReaction"},
			{"internal/githubapp/comments.go", "Issues.ListComments"},
		}},
		"members": {"read", []need{
			{"internal/githubapp/teams.go", "Teams.GetTeamMembershipBySlug"},
		}},
		"metadata": {"read", []need{
			{"internal/githubapp/client.go", "/collaborators/"},
			{"internal/githubapp/client.go", "Apps.ListRepos"},
		}},
	}
	for perm, level := range m.DefaultPermissions {
		n, ok := needs[perm]
		if !ok {
			t.Errorf("manifest asks for %s: %s but no code path needs it", perm, level)
			continue
		}
		if level != n.level {
			t.Errorf("manifest asks for %s: %s, the code needs %s", perm, level, n.level)
		}
		for _, b := range n.by {
			text, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(b.file)))
			if err != nil {
				t.Errorf("%s: %s is justified by %s, which cannot be read: %v", perm, level, b.file, err)
				continue
			}
			if !strings.Contains(string(text), b.uses) {
				t.Errorf("%s: %s is justified by %s in %s, which no longer uses it: update the manifest and this table", perm, level, b.uses, b.file)
			}
		}
	}
	for perm := range needs {
		if _, ok := m.DefaultPermissions[perm]; !ok {
			t.Errorf("the code needs %s but the manifest does not ask for it", perm)
		}
	}

	got := slices.Sorted(slices.Values(m.DefaultEvents))
	want := slices.Sorted(slices.Values(SubscribedEvents()))
	if !slices.Equal(got, want) {
		t.Errorf("manifest events %v, router handles %v", got, want)
	}
	for _, e := range []string{"installation", "installation_repositories"} {
		if slices.Contains(m.DefaultEvents, e) {
			t.Errorf("%s reaches every App without a subscription; GitHub refuses it in default_events", e)
		}
	}
}
