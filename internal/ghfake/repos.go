package ghfake

import (
	"encoding/base64"
	"io"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Repo is a repository of the fake, built from fixtures.
type Repo struct {
	f             *Fake
	id            int64
	owner, name   string
	defaultBranch string
	installation  int64
	branches      map[string]string // branch -> commit sha
	commits       map[string]*commit
	trees         map[string]*tree
	blobs         map[string][]byte
	generated     map[string]Generated // blobs made up as they are read
	pulls         map[int]*PullRequest
	issues        map[int]bool
	perms         map[string]string
	diffs         map[[2]string][]fileChange
}

// PullRequest is an open pull request between two branches of a Repo; its
// head and files follow the branches as they move.
type PullRequest struct {
	Number     int
	Base, Head string
	id         int64
	title      string
	body       any
	author     string
	draft      bool
	closed     bool
	repo       *Repo
	// mergeCommit is the commit MergePullRequest made ("" unless merged).
	mergeCommit string
}

func (p *PullRequest) state() string {
	if p.closed {
		return "closed"
	}
	return "open"
}

// HeadSHA is the sha the head branch points at now.
func (p *PullRequest) HeadSHA() string {
	p.repo.f.mu.Lock()
	defer p.repo.f.mu.Unlock()
	return p.repo.branches[p.Head]
}

func (r *Repo) fullName() string { return r.owner + "/" + r.name }

// ID is the repository id the API reports (for webhook payloads).
func (r *Repo) ID() int64 { return r.id }

// BaseSHA is the sha the base branch points at now.
func (p *PullRequest) BaseSHA() string {
	p.repo.f.mu.Lock()
	defer p.repo.f.mu.Unlock()
	return p.repo.branches[p.Base]
}

// FullName is owner/name.
func (r *Repo) FullName() string { return r.fullName() }

// Branch is the sha a branch points at ("" when it does not exist).
func (r *Repo) Branch(name string) string {
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	return r.branches[name]
}

// File returns a file's content at a ref, for asserting on writes the App
// made through the contents API.
func (r *Repo) File(ref, p string) ([]byte, bool) {
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	c := r.resolve(ref)
	if c == nil {
		return nil, false
	}
	sha, ok := c.files[strings.Trim(p, "/")]
	if !ok {
		return nil, false
	}
	return r.blobBytes(sha)
}

// OpenPullRequest opens pull request number from headBranch into baseBranch.
func (r *Repo) OpenPullRequest(number int, baseBranch, headBranch string) *PullRequest {
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	return r.openPullLocked(number, baseBranch, headBranch, "Change "+headBranch, "octocat", false)
}

func (r *Repo) openPullLocked(number int, base, head, title, author string, draft bool) *PullRequest {
	pr := &PullRequest{Number: number, Base: base, Head: head, id: r.f.id(), title: title, author: author, draft: draft, repo: r}
	r.pulls[number] = pr
	r.issues[number] = true
	return pr
}

// OpenIssue makes issue number exist, so comments can be made on it.
func (r *Repo) OpenIssue(number int) {
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	r.issues[number] = true
}

// SetPermission gives user a role on the repository: admin, maintain,
// write, triage, read or none.
func (r *Repo) SetPermission(user, permission string) {
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	r.perms[strings.ToLower(user)] = permission
}

func (f *Fake) getRepo(c *call) { c.json(http.StatusOK, f.repoJSON(c.repo)) }

func (f *Fake) getRepoInstallation(c *call) {
	in := f.installations[c.repo.installation]
	if in == nil {
		c.notFound()
		return
	}
	c.json(http.StatusOK, f.installationJSON(in))
}

func (f *Fake) getContents(c *call) {
	r := c.repo
	cm := r.resolve(c.r.URL.Query().Get("ref"))
	if cm == nil {
		c.fail(http.StatusNotFound, "No commit found for the ref "+c.r.URL.Query().Get("ref"))
		return
	}
	p := strings.Trim(c.r.PathValue("path"), "/")
	typ, sha, ok := r.lookup(cm, p)
	if !ok {
		c.notFound()
		return
	}
	if typ == "tree" {
		var out []obj
		for _, e := range r.trees[sha].entries {
			child := strings.TrimPrefix(p+"/"+e.name, "/")
			o := f.contentJSON(r, cm, child, e.sha, e.typ)
			delete(o, "content")
			delete(o, "encoding")
			out = append(out, o)
		}
		if out == nil {
			out = []obj{}
		}
		c.json(http.StatusOK, out)
		return
	}
	if cm.links[p] {
		c.json(http.StatusOK, f.linkJSON(r, cm, p, sha))
		return
	}
	c.json(http.StatusOK, f.contentJSON(r, cm, p, sha, "blob"))
}

// linkJSON is the contents API's answer for a symbolic link: the file it
// points at when that is a regular file of the repository (with that
// file's own path, name and sha), else the link itself, type "symlink"
// with its target.
func (f *Fake) linkJSON(r *Repo, cm *commit, p, sha string) obj {
	b, _ := r.blobBytes(sha)
	target := string(b)
	if !path.IsAbs(target) {
		to := path.Join(path.Dir(p), target)
		if s, ok := cm.files[to]; ok && !cm.links[to] && !strings.HasPrefix(to, "../") {
			return f.contentJSON(r, cm, to, s, "blob")
		}
	}
	o := f.contentJSON(r, cm, p, sha, "blob")
	delete(o, "content")
	delete(o, "encoding")
	o["type"], o["target"], o["size"] = "symlink", target, len(b)
	return o
}

// maxContentsSize is where the contents API stops inlining a file: above it
// GitHub answers content "" with encoding "none" and the blobs API must be
// used.
const maxContentsSize = 1 << 20

func (f *Fake) contentJSON(r *Repo, cm *commit, p, sha, typ string) obj {
	base := f.api() + "/repos/" + r.fullName()
	self := base + "/contents/" + p + "?ref=" + cm.sha
	kind, gitURL := "file", base+"/git/blobs/"+sha
	if typ == "tree" {
		kind, gitURL = "dir", base+"/git/trees/"+sha
	}
	html := f.web() + "/" + r.fullName() + "/blob/" + cm.sha + "/" + p
	o := obj{
		"type": kind, "name": path.Base(p), "path": p, "sha": sha, "size": 0,
		"url": self, "git_url": gitURL, "html_url": html, "download_url": nil,
		"_links": obj{"self": self, "git": gitURL, "html": html},
	}
	if typ == "blob" {
		size := r.blobSize(sha)
		o["size"] = size
		o["download_url"] = f.web() + "/raw/" + r.fullName() + "/" + cm.sha + "/" + p
		if size > maxContentsSize {
			o["content"], o["encoding"] = "", "none"
		} else {
			b, _ := r.blobBytes(sha)
			o["content"], o["encoding"] = wrap60(base64.StdEncoding.EncodeToString(b)), "base64"
		}
	}
	return o
}

// wrap60 breaks base64 into lines as GitHub's contents API does.
func wrap60(s string) string {
	var b strings.Builder
	for len(s) > 60 {
		b.WriteString(s[:60])
		b.WriteByte('\n')
		s = s[60:]
	}
	b.WriteString(s)
	if b.Len() > 0 {
		b.WriteByte('\n')
	}
	return b.String()
}

func (f *Fake) putContents(c *call) {
	var in struct {
		Message string `json:"message"`
		Content string `json:"content"`
		SHA     string `json:"sha"`
		Branch  string `json:"branch"`
	}
	if err := decodeInto(c.raw, &in); err != nil {
		c.fail(http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	r := c.repo
	branch := in.Branch
	if branch == "" {
		branch = r.defaultBranch
	}
	tip, ok := r.branches[branch]
	if !ok {
		c.fail(http.StatusNotFound, "Branch "+branch+" not found")
		return
	}
	content, err := base64.StdEncoding.DecodeString(in.Content)
	if err != nil {
		c.violation("content is not valid Base64")
		c.unprocessable("content is not valid Base64")
		return
	}
	p := strings.Trim(c.r.PathValue("path"), "/")
	cur := r.commits[tip]
	old, exists := cur.files[p]
	status := http.StatusCreated
	switch {
	case exists && in.SHA == "":
		c.violation("%q exists and no sha was supplied", p)
		c.unprocessable("Invalid request.\n\n\"sha\" wasn't supplied.")
		return
	case exists && in.SHA != old:
		c.fail(http.StatusConflict, p+" does not match "+in.SHA)
		return
	case exists:
		status = http.StatusOK
	}
	snap := make(map[string]string, len(cur.files)+1)
	for k, v := range cur.files {
		snap[k] = v
	}
	snap[p] = r.putBlob(content)
	var links map[string]bool
	for k := range cur.links {
		if k != p { // written through the contents API: a regular file now
			if links == nil {
				links = map[string]bool{}
			}
			links[k] = true
		}
	}
	sha := r.commitSnapshot(branch, snap, links, in.Message)
	cm := r.commits[sha]
	file := f.contentJSON(r, cm, p, snap[p], "blob")
	delete(file, "content")
	delete(file, "encoding")
	c.json(status, obj{"content": file, "commit": f.gitCommitJSON(r, cm)})
}

func (f *Fake) gitCommitJSON(r *Repo, cm *commit) obj {
	full := f.commitJSON(r, cm)
	inner := full["commit"].(obj)
	return obj{
		"sha": cm.sha, "node_id": full["node_id"], "url": inner["url"], "html_url": full["html_url"],
		"author": inner["author"], "committer": inner["committer"], "message": cm.message,
		"tree": inner["tree"], "parents": full["parents"], "verification": inner["verification"],
	}
}

func (f *Fake) getBlob(c *call) {
	r := c.repo
	sha := c.r.PathValue("file_sha")
	accept := c.r.Header.Get("Accept")
	if g, ok := r.generated[sha]; ok && strings.Contains(accept, ".raw") {
		c.w.Header().Set("Content-Type", "application/vnd.github.raw")
		c.w.Header().Set("Content-Length", strconv.FormatInt(g.Size, 10))
		c.w.WriteHeader(http.StatusOK)
		_, _ = io.Copy(c.w, g.reader())
		return
	}
	b, ok := r.blobBytes(sha)
	if !ok {
		c.notFound()
		return
	}
	if strings.Contains(accept, ".raw") {
		c.w.Header().Set("Content-Type", "application/vnd.github.raw")
		c.w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		c.w.WriteHeader(http.StatusOK)
		_, _ = c.w.Write(b)
		return
	}
	c.json(http.StatusOK, obj{
		"sha": sha, "node_id": nodeID("B", int64(len(b))), "size": len(b),
		"url":     f.api() + "/repos/" + r.fullName() + "/git/blobs/" + sha,
		"content": wrap60(base64.StdEncoding.EncodeToString(b)), "encoding": "base64",
	})
}

func (f *Fake) getTree(c *call) {
	r := c.repo
	ref := c.r.PathValue("tree_sha")
	t := r.trees[ref]
	if t == nil {
		if cm := r.resolve(ref); cm != nil {
			t = r.trees[cm.tree]
		}
	}
	if t == nil {
		if len(r.commits) == 0 {
			c.emptyRepository()
			return
		}
		c.notFound()
		return
	}
	q := c.r.URL.Query().Get("recursive")
	recursive := q != "" && q != "0" && q != "false"
	base := f.api() + "/repos/" + r.fullName()
	var entries []obj
	truncated := false
	var walk func(t *tree, prefix string) bool
	walk = func(t *tree, prefix string) bool {
		for _, e := range t.entries {
			if len(entries) >= f.opts.MaxTreeEntries {
				truncated = true
				return false
			}
			entries = append(entries, r.treeEntryJSON(base, prefix+e.name, e))
			if recursive && e.typ == "tree" && !walk(r.trees[e.sha], prefix+e.name+"/") {
				return false
			}
		}
		return true
	}
	walk(t, "")
	if entries == nil {
		entries = []obj{}
	}
	c.json(http.StatusOK, obj{"sha": t.sha, "url": base + "/git/trees/" + t.sha, "tree": entries, "truncated": truncated})
}

func (f *Fake) refJSON(r *Repo, branch, sha string) obj {
	base := f.api() + "/repos/" + r.fullName()
	return obj{
		"ref": "refs/heads/" + branch, "node_id": nodeID("REF", int64(len(branch))),
		"url":    base + "/git/refs/heads/" + branch,
		"object": obj{"type": "commit", "sha": sha, "url": base + "/git/commits/" + sha},
	}
}

func (f *Fake) getRef(c *call) {
	ref := c.r.PathValue("ref")
	branch, ok := strings.CutPrefix(ref, "heads/")
	sha, found := c.repo.branches[branch]
	if len(c.repo.commits) == 0 {
		c.emptyRepository()
		return
	}
	if !ok || !found {
		c.notFound()
		return
	}
	c.json(http.StatusOK, f.refJSON(c.repo, branch, sha))
}

func (f *Fake) createRef(c *call) {
	var in struct{ Ref, SHA string }
	if err := decodeInto(c.raw, &in); err != nil {
		c.fail(http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	branch, ok := strings.CutPrefix(in.Ref, "refs/heads/")
	if !ok || branch == "" || strings.Count(in.Ref, "/") < 2 {
		c.violation("ref %q is not fully qualified (refs/heads/...)", in.Ref)
		c.unprocessable("Reference name must start with 'refs/' and have at least two slashes.")
		return
	}
	if _, exists := c.repo.branches[branch]; exists {
		c.unprocessable("Reference already exists")
		return
	}
	if _, ok := c.repo.commits[in.SHA]; !ok {
		c.unprocessable("Object does not exist")
		return
	}
	c.repo.branches[branch] = in.SHA
	c.json(http.StatusCreated, f.refJSON(c.repo, branch, in.SHA))
}

func (f *Fake) getBranch(c *call) {
	r := c.repo
	name := c.r.PathValue("branch")
	sha, ok := r.branches[name]
	if !ok {
		c.fail(http.StatusNotFound, "Branch not found")
		return
	}
	base := f.api() + "/repos/" + r.fullName() + "/branches/" + name
	c.json(http.StatusOK, obj{
		"name": name, "commit": f.commitJSON(r, r.commits[sha]),
		"_links":    obj{"self": base, "html": f.web() + "/" + r.fullName() + "/tree/" + name},
		"protected": false, "protection": obj{"enabled": false}, "protection_url": base + "/protection",
	})
}

func (f *Fake) compare(c *call) {
	r := c.repo
	baseRef, headRef, ok := strings.Cut(c.r.PathValue("basehead"), "...")
	if !ok {
		c.notFound()
		return
	}
	base, head := r.resolve(baseRef), r.resolve(headRef)
	if base == nil || head == nil {
		c.notFound()
		return
	}
	mb := r.mergeBase(base, head)
	if mb == nil {
		c.notFound()
		return
	}
	count := func(from, to *commit) []*commit {
		var out []*commit
		for _, x := range r.ancestors(from) {
			if x.sha == to.sha {
				break
			}
			out = append(out, x)
		}
		return out
	}
	ahead, behind := count(head, mb), count(base, mb)
	status := "diverged"
	switch {
	case len(ahead) == 0 && len(behind) == 0:
		status = "identical"
	case len(behind) == 0:
		status = "ahead"
	case len(ahead) == 0:
		status = "behind"
	}
	var commits []obj
	for _, x := range slices.Backward(ahead) {
		commits = append(commits, f.commitJSON(r, x))
	}
	if commits == nil {
		commits = []obj{}
	}
	files := []obj{}
	for i, fc := range r.diff(mb, head) {
		if i == 300 { // GitHub lists at most 300 files in a comparison
			break
		}
		files = append(files, f.diffEntryJSON(r, head.sha, fc))
	}
	api := f.api() + "/repos/" + r.fullName()
	web := f.web() + "/" + r.fullName() + "/compare/" + baseRef + "..." + headRef
	c.json(http.StatusOK, obj{
		"url": api + "/compare/" + baseRef + "..." + headRef, "html_url": web,
		"permalink_url": f.web() + "/" + r.fullName() + "/compare/" + base.sha + "..." + head.sha,
		"diff_url":      web + ".diff", "patch_url": web + ".patch",
		"base_commit": f.commitJSON(r, base), "merge_base_commit": f.commitJSON(r, mb),
		"status": status, "ahead_by": len(ahead), "behind_by": len(behind), "total_commits": len(ahead),
		"commits": commits, "files": files,
	})
}
