package ghfake

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

func (f *Fake) getApp(c *call) { c.json(http.StatusOK, f.appJSON()) }

func (f *Fake) listInstallations(c *call) {
	ids := make([]int64, 0, len(f.installations))
	for id := range f.installations {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	lo, hi := c.paginate(len(ids))
	out := []obj{}
	for _, id := range ids[lo:hi] {
		out = append(out, f.installationJSON(f.installations[id]))
	}
	c.json(http.StatusOK, out)
}

func (f *Fake) createToken(c *call) {
	id, _ := strconv.ParseInt(c.r.PathValue("installation_id"), 10, 64)
	if f.installations[id] == nil {
		c.notFound()
		return
	}
	tok, exp := f.newToken(id)
	c.json(http.StatusCreated, obj{
		"token": tok, "expires_at": ts(exp), "permissions": f.appJSON()["permissions"],
		"repository_selection": "selected",
	})
}

func (f *Fake) installationRepos(inst int64) []*Repo {
	var out []*Repo
	for _, r := range f.repos {
		if r.installation == inst {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].fullName() < out[j].fullName() })
	return out
}

func (f *Fake) listInstallationRepos(c *call) {
	repos := f.installationRepos(c.inst)
	lo, hi := c.paginate(len(repos))
	out := []obj{}
	for _, r := range repos[lo:hi] {
		out = append(out, f.repoJSON(r))
	}
	c.json(http.StatusOK, obj{"total_count": len(repos), "repositories": out, "repository_selection": "selected"})
}

func (c *call) pull() *PullRequest {
	n, err := strconv.Atoi(c.r.PathValue("pull_number"))
	if err != nil {
		return nil
	}
	return c.repo.pulls[n]
}

func (f *Fake) getPull(c *call) {
	pr := c.pull()
	if pr == nil {
		c.notFound()
		return
	}
	c.json(http.StatusOK, f.pullJSON(c.repo, pr))
}

// maxPullFiles is how many files GitHub lists for a pull request.
const maxPullFiles = 3000

func (f *Fake) listPullFiles(c *call) {
	pr := c.pull()
	if pr == nil {
		c.notFound()
		return
	}
	r := c.repo
	head, base := r.resolve(pr.Head), r.resolve(pr.Base)
	var files []fileChange
	if head != nil && base != nil {
		files = r.diff(r.mergeBase(base, head), head)
	}
	if len(files) > maxPullFiles {
		files = files[:maxPullFiles]
	}
	lo, hi := c.paginate(len(files))
	out := []obj{}
	for _, fc := range files[lo:hi] {
		out = append(out, f.diffEntryJSON(r, head.sha, fc))
	}
	c.json(http.StatusOK, out)
}

func (f *Fake) createPull(c *call) {
	var in struct {
		Title, Head, Base, Body string
		Draft                   bool
	}
	if err := decodeInto(c.raw, &in); err != nil {
		c.fail(http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	r := c.repo
	head := in.Head
	if owner, branch, ok := strings.Cut(head, ":"); ok && strings.EqualFold(owner, r.owner) {
		head = branch
	}
	for field, b := range map[string]string{"head": head, "base": in.Base} {
		if _, ok := r.branches[b]; !ok {
			c.unprocessable("Validation Failed", obj{"resource": "PullRequest", "field": field, "code": "invalid"})
			return
		}
	}
	if r.openPullFrom(head, in.Base) != nil {
		c.unprocessable("Validation Failed", obj{"resource": "PullRequest", "code": "custom", "message": "A pull request already exists for " + r.owner + ":" + head + "."})
		return
	}
	hc, bc := r.commits[r.branches[head]], r.commits[r.branches[in.Base]]
	if mb := r.mergeBase(bc, hc); mb != nil && mb.sha == hc.sha {
		c.unprocessable("Validation Failed", obj{"resource": "PullRequest", "code": "custom", "message": "No commits between " + in.Base + " and " + head})
		return
	}
	n := 1
	for k := range r.issues {
		n = max(n, k+1)
	}
	pr := r.openPullLocked(n, in.Base, head, in.Title, f.opts.AppSlug+"[bot]", in.Draft)
	pr.body = nil
	if in.Body != "" {
		pr.body = in.Body
	}
	c.w.Header().Set("Location", fmt.Sprintf("%s/repos/%s/pulls/%d", f.api(), r.fullName(), n))
	c.json(http.StatusCreated, f.pullJSON(r, pr))
}

func (f *Fake) listComments(c *call) {
	n, _ := strconv.Atoi(c.r.PathValue("issue_number"))
	if !c.repo.issues[n] {
		c.notFound()
		return
	}
	var list []*comment
	for _, cm := range f.comments {
		if cm.repo == c.repo && cm.Issue == n {
			list = append(list, cm)
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	lo, hi := c.paginate(len(list))
	out := []obj{}
	for _, cm := range list[lo:hi] {
		out = append(out, f.commentJSON(cm))
	}
	c.json(http.StatusOK, out)
}

func (f *Fake) createComment(c *call) {
	n, _ := strconv.Atoi(c.r.PathValue("issue_number"))
	if !c.repo.issues[n] {
		c.notFound()
		return
	}
	var in struct{ Body string }
	if err := decodeInto(c.raw, &in); err != nil {
		c.fail(http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	// GitHub refuses comment bodies over 65,536 characters.
	if len([]rune(in.Body)) > 65536 {
		c.violation("comment body is %d characters (max 65536)", len([]rune(in.Body)))
		c.unprocessable("Validation Failed", obj{"resource": "IssueComment", "field": "body", "code": "custom", "message": "Body is too long (maximum is 65536 characters)"})
		return
	}
	cm := &comment{Comment: Comment{ID: f.id(), Issue: n, User: f.opts.AppSlug + "[bot]", Body: in.Body, CreatedAt: epoch}, repo: c.repo}
	f.comments[cm.ID] = cm
	o := f.commentJSON(cm)
	c.w.Header().Set("Location", o["url"].(string))
	c.json(http.StatusCreated, o)
}

func (f *Fake) createReaction(c *call) {
	id, _ := strconv.ParseInt(c.r.PathValue("comment_id"), 10, 64)
	cm := f.comments[id]
	if cm == nil || cm.repo != c.repo {
		c.notFound()
		return
	}
	var in struct{ Content string }
	if err := decodeInto(c.raw, &in); err != nil {
		c.fail(http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	user := f.opts.AppSlug + "[bot]"
	for _, r := range cm.reactions {
		if r.user == user && r.content == in.Content {
			c.json(http.StatusOK, f.reactionJSON(r))
			return
		}
	}
	r := reaction{id: f.id(), user: user, content: in.Content, created: epoch}
	cm.reactions = append(cm.reactions, r)
	c.json(http.StatusCreated, f.reactionJSON(r))
}

func (f *Fake) reactionJSON(r reaction) obj {
	return obj{"id": r.id, "node_id": nodeID("REA", r.id), "user": f.user(r.user, "Bot"), "content": r.content, "created_at": ts(r.created)}
}

// legacyPermission is the coarse `permission` field GitHub still returns
// next to the precise role_name.
var legacyPermission = map[string]string{
	"admin": "admin", "maintain": "write", "write": "write", "triage": "read", "read": "read", "none": "none",
}

func (f *Fake) getPermission(c *call) {
	user := c.r.PathValue("username")
	role, ok := c.repo.perms[strings.ToLower(user)]
	if !ok {
		role = "none"
	}
	u := f.user(user, "User")
	u["role_name"] = role
	c.json(http.StatusOK, obj{"permission": legacyPermission[role], "role_name": role, "user": u})
}
