package ghfake

import (
	"fmt"
	"maps"
)

// MergePullRequest merges pull request number as GitHub's "Squash and
// merge" does: one new commit on the base branch that applies the head's
// changes since the merge base, and the pull request closed as merged. A
// file changed on both sides since the merge base is a conflict: nothing
// changes and the error says which file (GitHub would not offer the
// merge). It returns the merge commit's sha.
func (r *Repo) MergePullRequest(number int) (string, error) {
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	p := r.pulls[number]
	switch {
	case p == nil:
		return "", fmt.Errorf("ghfake: %s has no pull request #%d", r.fullName(), number)
	case p.closed:
		return "", fmt.Errorf("ghfake: %s#%d is closed", r.fullName(), number)
	}
	head, base := r.resolve(p.Head), r.resolve(p.Base)
	if head == nil || base == nil {
		return "", fmt.Errorf("ghfake: %s#%d: branch %q or %q is gone", r.fullName(), number, p.Head, p.Base)
	}
	mb := r.mergeBase(base, head)
	var since map[string]string
	if mb != nil {
		since = mb.files
	}
	snap, links := maps.Clone(base.files), maps.Clone(base.links)
	if links == nil {
		links = map[string]bool{}
	}
	for _, fc := range r.computeDiff(mb, head) {
		for _, name := range []string{fc.filename, fc.previous} {
			if name != "" && base.files[name] != since[name] {
				return "", fmt.Errorf("ghfake: %s#%d does not merge: %s changed on %s too", r.fullName(), number, name, p.Base)
			}
		}
		if fc.previous != "" {
			delete(snap, fc.previous)
			delete(links, fc.previous)
		}
		delete(links, fc.filename)
		if fc.status == "removed" {
			delete(snap, fc.filename)
		} else {
			snap[fc.filename] = head.files[fc.filename]
			if head.links[fc.filename] {
				links[fc.filename] = true // a link stays a link
			}
		}
	}
	c := r.newCommit(base.sha, snap, links, fmt.Sprintf("Merge pull request #%d from %s", number, p.Head))
	r.branches[p.Base] = c.sha
	p.closed, p.mergeCommit = true, c.sha
	return c.sha, nil
}
