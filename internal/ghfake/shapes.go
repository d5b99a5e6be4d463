package ghfake

import (
	"encoding/base64"
	"fmt"
	"strings"
	"time"
)

// The builders below produce GitHub's response shapes. Every field the
// OpenAPI description marks required is present (the fake's tests validate
// the answers against the description's response schemas).

type obj = map[string]any

func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

func nodeID(kind string, id int64) string {
	return base64.RawStdEncoding.EncodeToString([]byte(fmt.Sprintf("%s:%d", kind, id)))
}

// api is the API base without the trailing slash; web the HTML base.
func (f *Fake) api() string { return strings.TrimSuffix(f.URL(), "/") }
func (f *Fake) web() string { return f.srv.URL }

func (f *Fake) userID(login string) int64 {
	// Stable ids from the login keep responses deterministic.
	var h int64 = 7
	for _, c := range strings.ToLower(login) {
		h = h*31 + int64(c)
	}
	if h < 0 {
		h = -h
	}
	return h%1_000_000 + 1
}

func (f *Fake) user(login, typ string) obj {
	u := f.api() + "/users/" + login
	return obj{
		"login": login, "id": f.userID(login), "node_id": nodeID("U", f.userID(login)),
		"avatar_url": f.web() + "/avatars/" + login, "gravatar_id": "",
		"url": u, "html_url": f.web() + "/" + login,
		"followers_url": u + "/followers", "following_url": u + "/following{/other_user}",
		"gists_url": u + "/gists{/gist_id}", "starred_url": u + "/starred{/owner}{/repo}",
		"subscriptions_url": u + "/subscriptions", "organizations_url": u + "/orgs",
		"repos_url": u + "/repos", "events_url": u + "/events{/privacy}",
		"received_events_url": u + "/received_events", "type": typ, "site_admin": false,
	}
}

func (f *Fake) ownerType(login string) string {
	for _, in := range f.installations {
		if strings.EqualFold(in.account, login) {
			return "Organization"
		}
	}
	return "User"
}

var repoURLTemplates = map[string]string{
	"archive_url": "/{archive_format}{/ref}", "assignees_url": "/assignees{/user}",
	"blobs_url": "/git/blobs{/sha}", "branches_url": "/branches{/branch}",
	"collaborators_url": "/collaborators{/collaborator}", "comments_url": "/comments{/number}",
	"commits_url": "/commits{/sha}", "compare_url": "/compare/{base}...{head}",
	"contents_url": "/contents/{+path}", "contributors_url": "/contributors",
	"deployments_url": "/deployments", "downloads_url": "/downloads", "events_url": "/events",
	"forks_url": "/forks", "git_commits_url": "/git/commits{/sha}", "git_refs_url": "/git/refs{/sha}",
	"git_tags_url": "/git/tags{/sha}", "hooks_url": "/hooks",
	"issue_comment_url": "/issues/comments{/number}", "issue_events_url": "/issues/events{/number}",
	"issues_url": "/issues{/number}", "keys_url": "/keys{/key_id}", "labels_url": "/labels{/name}",
	"languages_url": "/languages", "merges_url": "/merges", "milestones_url": "/milestones{/number}",
	"notifications_url": "/notifications{?since,all,participating}", "pulls_url": "/pulls{/number}",
	"releases_url": "/releases{/id}", "stargazers_url": "/stargazers", "statuses_url": "/statuses/{sha}",
	"subscribers_url": "/subscribers", "subscription_url": "/subscription", "tags_url": "/tags",
	"teams_url": "/teams", "trees_url": "/git/trees{/sha}",
}

func (f *Fake) repoJSON(r *Repo) obj {
	base := f.api() + "/repos/" + r.fullName()
	host := strings.TrimPrefix(strings.TrimPrefix(f.web(), "http://"), "https://")
	o := obj{
		"id": r.id, "node_id": nodeID("R", r.id), "name": r.name, "full_name": r.fullName(),
		"owner": f.user(r.owner, f.ownerType(r.owner)), "private": true,
		"html_url": f.web() + "/" + r.fullName(), "description": nil, "fork": false,
		"url": base, "homepage": nil, "language": nil, "mirror_url": nil,
		"clone_url": f.web() + "/" + r.fullName() + ".git", "git_url": "git://" + host + "/" + r.fullName() + ".git",
		"ssh_url": "git@" + host + ":" + r.fullName() + ".git", "svn_url": f.web() + "/" + r.fullName(),
		"default_branch": r.defaultBranch, "forks": 0, "forks_count": 0, "stargazers_count": 0,
		"watchers": 0, "watchers_count": 0, "open_issues": len(r.pulls), "open_issues_count": len(r.pulls),
		"size": len(r.blobs), "has_issues": true, "has_projects": false, "has_wiki": false,
		"has_pages": false, "has_downloads": true, "has_discussions": false, "archived": false,
		"disabled": false, "license": nil, "visibility": "private",
		"pushed_at": ts(epoch.Add(time.Duration(f.clock) * time.Minute)), "created_at": ts(epoch), "updated_at": ts(epoch),
		"network_count": 0, "subscribers_count": 0,
	}
	for k, v := range repoURLTemplates {
		o[k] = base + v
	}
	return o
}

func (f *Fake) appJSON() obj {
	return obj{
		"id": f.opts.AppID, "slug": f.opts.AppSlug, "node_id": nodeID("A", f.opts.AppID),
		"owner": f.user("meshbot", "Organization"), "name": f.opts.AppSlug, "description": "data-mesh governance",
		"external_url": "https://meshbot.example", "html_url": f.web() + "/apps/" + f.opts.AppSlug,
		"created_at": ts(epoch), "updated_at": ts(epoch),
		"permissions": obj{"checks": "write", "contents": "read", "pull_requests": "read", "issues": "write", "metadata": "read"},
		"events":      []string{"check_run", "check_suite", "installation_repositories", "issue_comment", "pull_request", "push"},
	}
}

func (f *Fake) installationJSON(in *installation) obj {
	account := f.user(in.account, f.ownerType(in.account))
	// Octokit's copy of GET /app/installations (the one in the subset)
	// describes the account as user and enterprise at once (allOf); GitHub
	// sends an organisation's name and slug too, so both readings hold.
	account["name"], account["slug"] = in.account, strings.ToLower(in.account)
	account["created_at"], account["updated_at"] = ts(in.created), ts(in.created)
	return obj{
		"id": in.id, "app_id": f.opts.AppID, "app_slug": f.opts.AppSlug, "target_id": f.userID(in.account),
		"target_type": f.ownerType(in.account), "account": account,
		"repository_selection": "selected", "single_file_name": nil,
		"access_tokens_url": fmt.Sprintf("%s/app/installations/%d/access_tokens", f.api(), in.id),
		"repositories_url":  f.api() + "/installation/repositories",
		"html_url":          fmt.Sprintf("%s/organizations/%s/settings/installations/%d", f.web(), in.account, in.id),
		"events":            f.appJSON()["events"], "permissions": f.appJSON()["permissions"],
		"created_at": ts(in.created), "updated_at": ts(in.created), "suspended_by": nil, "suspended_at": nil,
	}
}

func (f *Fake) commitJSON(r *Repo, c *commit) obj {
	base := f.api() + "/repos/" + r.fullName()
	person := obj{"name": "Fixture", "email": "fixture@example.com", "date": ts(c.when)}
	var parents []obj
	if c.parent != "" {
		parents = append(parents, obj{"sha": c.parent, "url": base + "/commits/" + c.parent, "html_url": f.web() + "/" + r.fullName() + "/commit/" + c.parent})
	}
	if parents == nil {
		parents = []obj{}
	}
	return obj{
		"sha": c.sha, "node_id": nodeID("C", int64(len(c.sha))), "url": base + "/commits/" + c.sha,
		"html_url": f.web() + "/" + r.fullName() + "/commit/" + c.sha, "comments_url": base + "/commits/" + c.sha + "/comments",
		"commit": obj{
			"url": base + "/git/commits/" + c.sha, "author": person, "committer": person, "message": c.message,
			"comment_count": 0, "tree": obj{"sha": c.tree, "url": base + "/git/trees/" + c.tree},
			"verification": obj{"verified": false, "reason": "unsigned", "payload": nil, "signature": nil, "verified_at": nil},
		},
		"author": obj{}, "committer": obj{}, "parents": parents,
	}
}

func (f *Fake) diffEntryJSON(r *Repo, ref string, fc fileChange) obj {
	o := obj{
		"sha": fc.sha, "filename": fc.filename, "status": fc.status,
		"additions": fc.additions, "deletions": fc.deletions, "changes": fc.additions + fc.deletions,
		"blob_url":     f.web() + "/" + r.fullName() + "/blob/" + ref + "/" + fc.filename,
		"raw_url":      f.web() + "/" + r.fullName() + "/raw/" + ref + "/" + fc.filename,
		"contents_url": f.api() + "/repos/" + r.fullName() + "/contents/" + fc.filename + "?ref=" + ref,
	}
	if fc.previous != "" {
		o["previous_filename"] = fc.previous
	}
	return o
}

func (f *Fake) pullJSON(r *Repo, pr *PullRequest) obj {
	base := f.api() + "/repos/" + r.fullName()
	num := fmt.Sprint(pr.Number)
	head, baseC := r.resolve(pr.Head), r.resolve(pr.Base)
	adds, dels, changed, commits := 0, 0, 0, 0
	headSHA, baseSHA := "", ""
	if head != nil {
		headSHA = head.sha
	}
	if baseC != nil {
		baseSHA = baseC.sha
	}
	if head != nil && baseC != nil {
		mb := r.mergeBase(baseC, head)
		for _, fc := range r.diff(mb, head) {
			adds += fc.additions
			dels += fc.deletions
			changed++
		}
		for _, c := range r.ancestors(head) {
			if mb != nil && c.sha == mb.sha {
				break
			}
			commits++
		}
	}
	side := func(ref, sha string) obj {
		return obj{"label": r.owner + ":" + ref, "ref": ref, "sha": sha, "repo": f.repoJSON(r), "user": f.user(r.owner, f.ownerType(r.owner))}
	}
	link := func(u string) obj { return obj{"href": u} }
	html := f.web() + "/" + r.fullName() + "/pull/" + num
	return obj{
		"url": base + "/pulls/" + num, "id": pr.id, "node_id": nodeID("PR", pr.id), "number": pr.Number,
		"html_url": html, "diff_url": html + ".diff", "patch_url": html + ".patch",
		"issue_url": base + "/issues/" + num, "commits_url": base + "/pulls/" + num + "/commits",
		"review_comments_url": base + "/pulls/" + num + "/comments", "review_comment_url": base + "/pulls/comments{/number}",
		"comments_url": base + "/issues/" + num + "/comments", "statuses_url": base + "/statuses/" + headSHA,
		"state": pr.state(), "locked": false, "title": pr.title, "user": f.user(pr.author, "User"), "body": pr.body,
		"labels": []obj{}, "milestone": nil, "active_lock_reason": nil, "created_at": ts(epoch), "updated_at": ts(epoch),
		"closed_at": closedAt(pr), "merged_at": mergedAt(pr), "merge_commit_sha": nullable(pr.mergeCommit), "assignee": nil, "assignees": []obj{},
		"requested_reviewers": []obj{}, "requested_teams": []obj{},
		"head": side(pr.Head, headSHA), "base": side(pr.Base, baseSHA),
		"_links": obj{
			"self": link(base + "/pulls/" + num), "html": link(html), "issue": link(base + "/issues/" + num),
			"comments": link(base + "/issues/" + num + "/comments"), "review_comments": link(base + "/pulls/" + num + "/comments"),
			"review_comment": link(base + "/pulls/comments{/number}"), "commits": link(base + "/pulls/" + num + "/commits"),
			"statuses": link(base + "/statuses/" + headSHA),
		},
		"author_association": "MEMBER", "auto_merge": nil, "draft": pr.draft, "merged": pr.mergeCommit != "",
		"mergeable": true, "rebaseable": true, "mergeable_state": "clean", "merged_by": nil,
		"comments": 0, "review_comments": 0, "maintainer_can_modify": false,
		"commits": commits, "additions": adds, "deletions": dels, "changed_files": changed,
	}
}

func (f *Fake) commentJSON(c *comment) obj {
	base := f.api() + "/repos/" + c.repo.fullName()
	typ := "User"
	if strings.HasSuffix(c.User, "[bot]") {
		typ = "Bot"
	}
	return obj{
		"id": c.ID, "node_id": nodeID("IC", c.ID), "url": fmt.Sprintf("%s/issues/comments/%d", base, c.ID),
		"html_url":  fmt.Sprintf("%s/%s/issues/%d#issuecomment-%d", f.web(), c.repo.fullName(), c.Issue, c.ID),
		"issue_url": fmt.Sprintf("%s/issues/%d", base, c.Issue),
		"body":      c.Body, "user": f.user(c.User, typ), "created_at": ts(c.CreatedAt), "updated_at": ts(c.CreatedAt),
		"author_association": "NONE",
		"reactions":          f.reactionRollup(c),
	}
}

func (f *Fake) reactionRollup(c *comment) obj {
	o := obj{"url": fmt.Sprintf("%s/repos/%s/issues/comments/%d/reactions", f.api(), c.repo.fullName(), c.ID), "total_count": len(c.reactions)}
	for _, k := range []string{"+1", "-1", "laugh", "confused", "heart", "hooray", "eyes", "rocket"} {
		o[k] = 0
	}
	for _, r := range c.reactions {
		o[r.content] = o[r.content].(int) + 1
	}
	return o
}

func mergedAt(pr *PullRequest) any {
	if pr.mergeCommit != "" {
		return ts(epoch)
	}
	return nil
}

func closedAt(pr *PullRequest) any {
	if pr.closed {
		return ts(epoch)
	}
	return nil
}
