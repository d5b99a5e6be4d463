package ghfake

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"unicode/utf8"
)

// The git data API's writes (blobs, trees, commits, refs) and pull request
// updates, as GitHub answers them: objects are real git objects hashed as
// git hashes them, a ref moves only to a commit that exists, and a
// non-fast-forward update needs force. GitHub refuses with 422 where the
// request is well-formed but names what does not exist, and with 409 on a
// repository without commits.

// gitWrite decodes a git data write's body into in and refuses a
// repository without commits as GitHub does (409); false means the
// answer is sent.
func (c *call) gitWrite(in any) bool {
	if err := decodeInto(c.raw, in); err != nil {
		c.fail(http.StatusBadRequest, "Problems parsing JSON")
		return false
	}
	if len(c.repo.commits) == 0 {
		c.emptyRepository()
		return false
	}
	return true
}

func (f *Fake) createBlob(c *call) {
	var in struct {
		Content  string  `json:"content"`
		Encoding *string `json:"encoding"`
	}
	if !c.gitWrite(&in) {
		return
	}
	r := c.repo
	var b []byte
	switch enc := "utf-8"; {
	case in.Encoding != nil && *in.Encoding == "base64":
		// GitHub tolerates the line breaks its own contents API puts in.
		d, err := base64.StdEncoding.DecodeString(strings.NewReplacer("\n", "", "\r", "").Replace(in.Content))
		if err != nil {
			c.violation("content is not valid Base64")
			c.unprocessable("Validation Failed", obj{"resource": "Blob", "field": "content", "code": "invalid"})
			return
		}
		b = d
	case in.Encoding == nil || *in.Encoding == enc || *in.Encoding == "utf8":
		b = []byte(in.Content)
	default:
		c.violation("encoding %q is neither utf-8 nor base64", *in.Encoding)
		c.unprocessable("Validation Failed", obj{"resource": "Blob", "field": "encoding", "code": "invalid"})
		return
	}
	sha := r.putBlob(b)
	c.w.Header().Set("Location", f.api()+"/repos/"+r.fullName()+"/git/blobs/"+sha)
	c.json(http.StatusCreated, obj{"url": f.api() + "/repos/" + r.fullName() + "/git/blobs/" + sha, "sha": sha})
}

// filesOf is the snapshot (path -> blob sha) a stored tree holds.
func (r *Repo) filesOf(treeSHA string) (map[string]string, map[string]bool, bool) {
	t := r.trees[treeSHA]
	if t == nil {
		return nil, nil, false
	}
	out, links := map[string]string{}, map[string]bool{}
	var walk func(t *tree, prefix string)
	walk = func(t *tree, prefix string) {
		for _, e := range t.entries {
			if e.typ == "tree" {
				walk(r.trees[e.sha], prefix+e.name+"/")
				continue
			}
			out[prefix+e.name] = e.sha
			if e.mode == "120000" {
				links[prefix+e.name] = true
			}
		}
	}
	walk(t, "")
	return out, links, true
}

// validTreePath is a path git accepts in a tree: relative, no empty, "."
// or ".." segment.
func validTreePath(p string) bool {
	if p == "" || strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") {
		return false
	}
	for _, s := range strings.Split(p, "/") {
		if s == "" || s == "." || s == ".." || s == ".git" {
			return false
		}
	}
	return true
}

func (f *Fake) createTree(c *call) {
	var in struct {
		BaseTree string `json:"base_tree"`
		Tree     []struct {
			Path    string          `json:"path"`
			Mode    string          `json:"mode"`
			Type    string          `json:"type"`
			SHA     json.RawMessage `json:"sha"`
			Content *string         `json:"content"`
		} `json:"tree"`
	}
	if !c.gitWrite(&in) {
		return
	}
	r := c.repo
	snap, links := map[string]string{}, map[string]bool{}
	if in.BaseTree != "" {
		base, baseLinks, ok := r.filesOf(in.BaseTree)
		if !ok {
			c.unprocessable("Invalid tree info", obj{"resource": "Tree", "field": "base_tree", "code": "invalid"})
			return
		}
		snap, links = base, baseLinks
	}
	for i, e := range in.Tree {
		var sha *string
		if len(e.SHA) > 0 && string(e.SHA) != "null" {
			var s string
			if err := json.Unmarshal(e.SHA, &s); err != nil {
				c.fail(http.StatusBadRequest, "Problems parsing JSON")
				return
			}
			sha = &s
		}
		deleted := len(e.SHA) > 0 && string(e.SHA) == "null" && e.Content == nil
		switch {
		case !validTreePath(e.Path):
			c.unprocessable("Invalid tree info", obj{"resource": "Tree", "field": "path", "code": "invalid", "index": i})
			return
		case sha != nil && e.Content != nil:
			c.violation("tree[%d] sets both sha and content", i)
			c.unprocessable("Invalid tree info: use either sha or content")
			return
		case e.Type != "" && e.Type != "blob" || e.Mode != "" && e.Mode != "100644":
			// The fake models regular files only; say so rather than
			// store something other than what was asked.
			c.violation("tree[%d]: mode %q type %q: the fake stores regular files (100644 blob) only", i, e.Mode, e.Type)
			c.unprocessable("Invalid tree info", obj{"resource": "Tree", "field": "mode", "code": "invalid", "index": i})
			return
		case deleted:
			if _, ok := snap[e.Path]; !ok {
				c.unprocessable("Invalid tree info", obj{"resource": "Tree", "field": "path", "code": "missing", "index": i})
				return
			}
			delete(snap, e.Path)
			delete(links, e.Path)
			continue
		case sha == nil && e.Content == nil:
			c.violation("tree[%d] has neither sha nor content", i)
			c.unprocessable("Invalid tree info", obj{"resource": "Tree", "field": "sha", "code": "missing", "index": i})
			return
		}
		delete(links, e.Path) // written as a regular file (the only mode taken)
		if e.Content != nil {
			snap[e.Path] = r.putBlob([]byte(*e.Content))
			continue
		}
		if _, ok := r.blobBytes(*sha); !ok {
			c.unprocessable("Invalid tree info", obj{"resource": "Tree", "field": "sha", "code": "invalid", "index": i})
			return
		}
		snap[e.Path] = *sha
	}
	// A path cannot be both a file and a folder.
	paths := make([]string, 0, len(snap))
	for p := range snap {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for i := 1; i < len(paths); i++ {
		if strings.HasPrefix(paths[i], paths[i-1]+"/") {
			c.unprocessable("Invalid tree info", obj{"resource": "Tree", "field": "path", "code": "invalid"})
			return
		}
	}
	sha := r.buildTree(snap, links)
	base := f.api() + "/repos/" + r.fullName()
	entries := []obj{}
	for _, e := range r.trees[sha].entries {
		entries = append(entries, r.treeEntryJSON(base, e.name, e))
	}
	c.w.Header().Set("Location", base+"/git/trees/"+sha)
	c.json(http.StatusCreated, obj{"sha": sha, "url": base + "/git/trees/" + sha, "tree": entries, "truncated": false})
}

// treeEntryJSON is one entry of a tree as the trees API shows it; base is
// the repository's API URL.
func (r *Repo) treeEntryJSON(base, path string, e treeEntry) obj {
	o := obj{"path": path, "mode": e.mode, "type": e.typ, "sha": e.sha}
	if e.typ == "blob" {
		o["size"] = r.blobSize(e.sha)
		o["url"] = base + "/git/blobs/" + e.sha
	} else {
		o["url"] = base + "/git/trees/" + e.sha
	}
	return o
}

func (f *Fake) createCommit(c *call) {
	var in struct {
		Message string   `json:"message"`
		Tree    string   `json:"tree"`
		Parents []string `json:"parents"`
	}
	if !c.gitWrite(&in) {
		return
	}
	r := c.repo
	if in.Message == "" || in.Tree == "" {
		c.violation("message and tree are required")
		c.unprocessable("Invalid request.\n\n\"message\" and \"tree\" are required.")
		return
	}
	snap, links, ok := r.filesOf(in.Tree)
	if !ok {
		c.unprocessable("Tree SHA does not exist")
		return
	}
	if len(in.Parents) > 1 {
		c.violation("%d parents: the fake does not model merge commits", len(in.Parents))
		c.unprocessable("Validation Failed: the fake does not model merge commits")
		return
	}
	parent := ""
	if len(in.Parents) == 1 {
		if _, ok := r.commits[in.Parents[0]]; !ok {
			c.unprocessable("Parent SHA does not exist or is not a commit object")
			return
		}
		parent = in.Parents[0]
	}
	cm := r.newCommit(parent, snap, links, in.Message)
	c.w.Header().Set("Location", f.api()+"/repos/"+r.fullName()+"/git/commits/"+cm.sha)
	c.json(http.StatusCreated, f.gitCommitJSON(r, cm))
}

// updateRef moves a branch (heads/x). GitHub answers 422 for a ref that
// does not exist, a sha that is not a commit, and a move that is not a
// fast-forward without force.
func (f *Fake) updateRef(c *call) {
	var in struct {
		SHA   string `json:"sha"`
		Force bool   `json:"force"`
	}
	if !c.gitWrite(&in) {
		return
	}
	r := c.repo
	ref := strings.TrimPrefix(c.r.PathValue("ref"), "refs/")
	branch, ok := strings.CutPrefix(ref, "heads/")
	old, exists := r.branches[branch]
	if !ok || !exists {
		c.unprocessable("Reference does not exist")
		return
	}
	target := r.commits[in.SHA]
	if target == nil {
		c.unprocessable("Object does not exist")
		return
	}
	if !in.Force && !r.isAncestor(old, target) {
		c.unprocessable("Update is not a fast forward")
		return
	}
	r.branches[branch] = in.SHA
	c.json(http.StatusOK, f.refJSON(r, branch, in.SHA))
}

func (r *Repo) isAncestor(sha string, of *commit) bool {
	for _, a := range r.ancestors(of) {
		if a.sha == sha {
			return true
		}
	}
	return false
}

// matchingRefs lists the branches whose full ref starts with refs/{ref}:
// [] when none, sorted by name as GitHub lists them.
func (f *Fake) matchingRefs(c *call) {
	r := c.repo
	if len(r.commits) == 0 {
		c.emptyRepository()
		return
	}
	prefix := "refs/" + strings.TrimPrefix(c.r.PathValue("ref"), "refs/")
	var names []string
	for b := range r.branches {
		if strings.HasPrefix("refs/heads/"+b, prefix) {
			names = append(names, b)
		}
	}
	sort.Strings(names)
	out := []obj{}
	for _, b := range names {
		out = append(out, f.refJSON(r, b, r.branches[b]))
	}
	c.json(http.StatusOK, out)
}

// updatePull changes a pull request's title, body, state or base.
func (f *Fake) updatePull(c *call) {
	pr := c.pull()
	if pr == nil {
		c.notFound()
		return
	}
	var in struct {
		Title *string `json:"title"`
		Body  *string `json:"body"`
		State *string `json:"state"`
		Base  *string `json:"base"`
	}
	if err := decodeInto(c.raw, &in); err != nil {
		c.fail(http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	r := c.repo
	if in.Base != nil {
		if _, ok := r.branches[*in.Base]; !ok {
			c.unprocessable("Validation Failed", obj{"resource": "PullRequest", "field": "base", "code": "invalid"})
			return
		}
	}
	if in.Body != nil && utf8.RuneCountInString(*in.Body) > 65536 {
		c.violation("pull request body is %d characters (max 65536)", utf8.RuneCountInString(*in.Body))
		c.unprocessable("Validation Failed", obj{"resource": "Issue", "field": "body", "code": "custom", "message": "body is too long (maximum is 65536 characters)"})
		return
	}
	if in.State != nil && *in.State == "open" && pr.closed && r.openPullFrom(pr.Head, pr.Base) != nil {
		c.unprocessable("Validation Failed", obj{"resource": "PullRequest", "code": "custom", "message": "A pull request already exists for " + r.owner + ":" + pr.Head + "."})
		return
	}
	if in.Title != nil {
		pr.title = *in.Title
	}
	if in.Body != nil {
		pr.body = *in.Body
	}
	if in.State != nil {
		pr.closed = *in.State == "closed"
	}
	if in.Base != nil {
		pr.Base = *in.Base
	}
	c.json(http.StatusOK, f.pullJSON(r, pr))
}

// openPullFrom is the open pull request from head into base, if any:
// GitHub allows one.
func (r *Repo) openPullFrom(head, base string) *PullRequest {
	for _, p := range r.pulls {
		if !p.closed && p.Head == head && p.Base == base {
			return p
		}
	}
	return nil
}

// PullInfo is what a test reads of a pull request.
type PullInfo struct {
	Number     int
	Base, Head string
	Title      string
	Body       string
	Author     string
	Open       bool
}

// Pulls lists the repository's pull requests, by number.
func (r *Repo) Pulls() []PullInfo {
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	var out []PullInfo
	for _, p := range r.pulls {
		body, _ := p.body.(string)
		out = append(out, PullInfo{Number: p.Number, Base: p.Base, Head: p.Head, Title: p.title, Body: body, Author: p.author, Open: !p.closed})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Number < out[j].Number })
	return out
}

// Parent is the (first) parent of commit sha, "" for a root commit or an
// unknown sha.
func (r *Repo) Parent(sha string) string {
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	if c := r.commits[sha]; c != nil {
		return c.parent
	}
	return ""
}

// ClosePullRequest closes pull request number, as a person declining it
// would.
func (r *Repo) ClosePullRequest(number int) {
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	if p := r.pulls[number]; p != nil {
		p.closed = true
	}
}

// pullMatches applies pulls/list's filters: head is user:branch (or a
// branch of the repository's owner), base a branch name.
func (r *Repo) pullMatches(p *PullRequest, state, head, base string) bool {
	switch state {
	case "", "open":
		if p.closed {
			return false
		}
	case "closed":
		if !p.closed {
			return false
		}
	}
	if head != "" {
		owner, branch, ok := strings.Cut(head, ":")
		if !ok {
			owner, branch = r.owner, head
		}
		if !strings.EqualFold(owner, r.owner) || branch != p.Head {
			return false
		}
	}
	return base == "" || base == p.Base
}
