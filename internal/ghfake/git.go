package ghfake

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// The fake stores real git objects, hashed as git hashes them, so SHAs look
// and behave like GitHub's (blob SHAs match `git hash-object`).

type commit struct {
	sha     string
	tree    string
	parent  string
	message string
	when    time.Time
	files   map[string]string // path -> blob sha: the full snapshot
	// links are the paths of files that are symbolic links (tree mode
	// 120000): their blob holds the link's target, as git stores it.
	links map[string]bool
}

type treeEntry struct {
	name string
	mode string // as the API shows it: 100644, 120000 (a symbolic link) or 040000
	typ  string // blob or tree
	sha  string
}

type tree struct {
	sha     string
	entries []treeEntry
}

func gitHash(kind string, body []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "%s %d\x00", kind, len(body))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// epoch makes commit times, and so commit SHAs, deterministic.
var epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func (r *Repo) putBlob(b []byte) string {
	sha := gitHash("blob", b)
	if _, ok := r.blobs[sha]; !ok {
		r.blobs[sha] = append([]byte(nil), b...)
	}
	return sha
}

// buildTree stores the trees of a snapshot (path -> blob sha) and returns the
// root tree's sha.
func (r *Repo) buildTree(files map[string]string, links map[string]bool) string {
	direct := map[string]string{}
	sub := map[string]map[string]string{}
	subLinks := map[string]map[string]bool{}
	for p, sha := range files {
		if i := strings.IndexByte(p, '/'); i >= 0 {
			d := p[:i]
			if sub[d] == nil {
				sub[d] = map[string]string{}
				subLinks[d] = map[string]bool{}
			}
			sub[d][p[i+1:]] = sha
			if links[p] {
				subLinks[d][p[i+1:]] = true
			}
		} else {
			direct[p] = sha
		}
	}
	var entries []treeEntry
	for name, sha := range direct {
		mode := "100644"
		if links[name] {
			mode = modeSymlink
		}
		entries = append(entries, treeEntry{name: name, mode: mode, typ: "blob", sha: sha})
	}
	for name, m := range sub {
		entries = append(entries, treeEntry{name: name, mode: "040000", typ: "tree", sha: r.buildTree(m, subLinks[name])})
	}
	// git orders a tree's entries by name, a subtree's name compared as if
	// it ended in "/".
	key := func(e treeEntry) string {
		if e.typ == "tree" {
			return e.name + "/"
		}
		return e.name
	}
	sort.Slice(entries, func(i, j int) bool { return key(entries[i]) < key(entries[j]) })
	var buf bytes.Buffer
	for _, e := range entries {
		mode := e.mode
		if e.typ == "tree" {
			mode = "40000"
		}
		raw, _ := hex.DecodeString(e.sha)
		fmt.Fprintf(&buf, "%s %s\x00", mode, e.name)
		buf.Write(raw)
	}
	sha := gitHash("tree", buf.Bytes())
	r.trees[sha] = &tree{sha: sha, entries: entries}
	return sha
}

// Commit records a new commit on branch whose tree is exactly files (a full
// snapshot, keys are slash-separated paths) and moves the branch to it. A new
// branch starts from the default branch's tip. It returns the commit's sha.
func (r *Repo) Commit(branch string, files map[string][]byte) string {
	return r.CommitLinks(branch, files, nil)
}

// modeSymlink is the tree mode of a symbolic link.
const modeSymlink = "120000"

// CommitLinks is Commit with symbolic links besides the files: links maps
// a path to the link's target as git stores it (relative to the link's
// folder, or absolute).
func (r *Repo) CommitLinks(branch string, files map[string][]byte, links map[string]string) string {
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	snap := make(map[string]string, len(files)+len(links))
	for p, b := range files {
		snap[cleanPath(p)] = r.putBlob(b)
	}
	var linked map[string]bool
	for p, target := range links {
		if linked == nil {
			linked = map[string]bool{}
		}
		p = cleanPath(p)
		snap[p] = r.putBlob([]byte(target))
		linked[p] = true
	}
	return r.commitSnapshot(branch, snap, linked, "fixture snapshot")
}

func (r *Repo) commitSnapshot(branch string, snap map[string]string, links map[string]bool, message string) string {
	parent, ok := r.branches[branch]
	if !ok {
		parent = r.branches[r.defaultBranch]
	}
	c := r.newCommit(parent, snap, links, message)
	r.branches[branch] = c.sha
	return c.sha
}

// newCommit stores a commit of snap on parent ("" for a root commit)
// without moving any branch.
func (r *Repo) newCommit(parent string, snap map[string]string, links map[string]bool, message string) *commit {
	r.f.clock++
	c := &commit{
		tree:    r.buildTree(snap, links),
		parent:  parent,
		message: message,
		when:    epoch.Add(time.Duration(r.f.clock) * time.Minute),
		files:   snap,
		links:   links,
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "tree %s\n", c.tree)
	if parent != "" {
		fmt.Fprintf(&buf, "parent %s\n", parent)
	}
	sig := fmt.Sprintf("Fixture <fixture@example.com> %d +0000", c.when.Unix())
	fmt.Fprintf(&buf, "author %s\ncommitter %s\n\n%s\n", sig, sig, message)
	c.sha = gitHash("commit", buf.Bytes())
	r.commits[c.sha] = c
	return c
}

// CommitDir commits a snapshot of the regular files and symbolic links
// under dir (any .git folder left out), links as links, as git does.
func (r *Repo) CommitDir(branch, dir string) (string, error) {
	files := map[string][]byte{}
	links := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir // a checkout's repository is not content
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			links[filepath.ToSlash(rel)] = filepath.ToSlash(target)
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(rel)] = b
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("snapshot %s: %w", dir, err)
	}
	return r.CommitLinks(branch, files, links), nil
}

// resolve turns a ref as the API takes it (a commit sha, a branch name,
// heads/x or refs/heads/x; "" meaning the default branch) into a commit.
func (r *Repo) resolve(ref string) *commit {
	if ref == "" {
		ref = r.defaultBranch
	}
	if c, ok := r.commits[ref]; ok {
		return c
	}
	ref = strings.TrimPrefix(strings.TrimPrefix(ref, "refs/"), "heads/")
	if sha, ok := r.branches[ref]; ok {
		return r.commits[sha]
	}
	// GitHub accepts unambiguous abbreviated shas.
	if len(ref) >= 7 && len(ref) < 40 && isHex(ref) {
		var found *commit
		for sha, c := range r.commits {
			if strings.HasPrefix(sha, ref) {
				if found != nil {
					return nil
				}
				found = c
			}
		}
		return found
	}
	return nil
}

func isHex(s string) bool {
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	return true
}

// ancestors lists c and its parents, newest first.
func (r *Repo) ancestors(c *commit) []*commit {
	var out []*commit
	for c != nil {
		out = append(out, c)
		c = r.commits[c.parent]
	}
	return out
}

// mergeBase is the newest common ancestor, as a three-dot diff uses it.
func (r *Repo) mergeBase(a, b *commit) *commit {
	seen := map[string]bool{}
	for _, c := range r.ancestors(a) {
		seen[c.sha] = true
	}
	for _, c := range r.ancestors(b) {
		if seen[c.sha] {
			return c
		}
	}
	return nil
}

// lookup finds path in a commit: a blob (file) or a tree (directory).
func (r *Repo) lookup(c *commit, p string) (typ, sha string, ok bool) {
	p = strings.Trim(p, "/")
	if p == "" {
		return "tree", c.tree, true
	}
	if sha, ok := c.files[p]; ok {
		return "blob", sha, true
	}
	t := r.trees[c.tree]
	for _, part := range strings.Split(p, "/") {
		var next *treeEntry
		for i := range t.entries {
			if t.entries[i].name == part {
				next = &t.entries[i]
				break
			}
		}
		if next == nil || next.typ != "tree" {
			return "", "", false
		}
		t = r.trees[next.sha]
	}
	return "tree", t.sha, true
}

// fileChange is one entry of a diff between two snapshots.
type fileChange struct {
	filename, previous   string
	status               string // added, removed, modified, renamed
	sha                  string // the head blob; for a removal, the base blob
	additions, deletions int
	baseBlob, headBlob   string
}

// diff lists the changes from base to head. Commits never change, so the
// answer is kept: a paginated listing asks for the same diff on every page.
func (r *Repo) diff(base, head *commit) []fileChange {
	key := [2]string{"", head.sha}
	if base != nil {
		key[0] = base.sha
	}
	if d, ok := r.diffs[key]; ok {
		return d
	}
	d := r.computeDiff(base, head)
	r.diffs[key] = d
	return d
}

func (r *Repo) computeDiff(base, head *commit) []fileChange {
	var bfiles map[string]string
	if base != nil {
		bfiles = base.files
	}
	var out []fileChange
	var added, removed []string
	for p, hs := range head.files {
		bs, ok := bfiles[p]
		switch {
		case !ok:
			added = append(added, p)
		case bs != hs:
			a, d := lineDiff(r.blobs[bs], r.blobs[hs])
			out = append(out, fileChange{filename: p, status: "modified", sha: hs, additions: a, deletions: d, baseBlob: bs, headBlob: hs})
		case base != nil && base.links[p] != head.links[p]:
			// The same bytes as a file and as a link: GitHub lists a
			// change of mode alone as "changed".
			out = append(out, fileChange{filename: p, status: "changed", sha: hs, baseBlob: bs, headBlob: hs})
		}
	}
	for p := range bfiles {
		if _, ok := head.files[p]; !ok {
			removed = append(removed, p)
		}
	}
	sort.Strings(added)
	sort.Strings(removed)
	// An exact-content move is reported as a rename, as GitHub does.
	renamedFrom := map[string]string{}
	usedRemoved := map[string]bool{}
	for _, a := range added {
		for _, rm := range removed {
			if !usedRemoved[rm] && bfiles[rm] == head.files[a] {
				renamedFrom[a] = rm
				usedRemoved[rm] = true
				break
			}
		}
	}
	for _, a := range added {
		hs := head.files[a]
		if prev, ok := renamedFrom[a]; ok {
			out = append(out, fileChange{filename: a, previous: prev, status: "renamed", sha: hs, baseBlob: hs, headBlob: hs})
			continue
		}
		add, _ := lineDiff(nil, r.blobs[hs])
		out = append(out, fileChange{filename: a, status: "added", sha: hs, additions: add, headBlob: hs})
	}
	for _, rm := range removed {
		if usedRemoved[rm] {
			continue
		}
		bs := bfiles[rm]
		_, del := lineDiff(r.blobs[bs], nil)
		out = append(out, fileChange{filename: rm, status: "removed", sha: bs, deletions: del, baseBlob: bs})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].filename < out[j].filename })
	return out
}
