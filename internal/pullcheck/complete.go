package pullcheck

import (
	"context"
	"fmt"
	"log/slog"
	"slices"

	"github.com/meshbot/meshbot/internal/checkrun"
	"github.com/meshbot/meshbot/internal/githubapp"
)

// TitlePartial is the title of a check that could not see the whole change.
const TitlePartial = "Pull request too large to check in full"

// theChange is what a pull request changes, and what was learnt finding out.
type theChange struct {
	changes []change
	// head is the head's tree when it was read to find the change.
	head *githubapp.Tree
	// partial explains why the change could not be known in full; the check
	// then judges nothing and says so.
	partial string
}

// changesOf lists a pull request's files. GitHub's list stops at
// githubapp.MaxChangedFiles; a list that long may be cut, so the change is
// then computed from the recursive trees of the merge base and the head,
// as GitHub computes the list. A tree GitHub truncates (about 100,000
// entries or 7 MB) cannot give the whole change: then partial says so.
func changesOf(ctx context.Context, j *job) (theChange, error) {
	files, err := j.cl.ChangedFiles(ctx, j.Owner, j.Repo, j.PR)
	if err != nil {
		return theChange{}, err
	}
	if len(files) < githubapp.MaxChangedFiles {
		out := make([]change, 0, len(files))
		for _, f := range files {
			out = append(out, change(f))
		}
		return theChange{changes: out}, nil
	}
	base := j.BaseSHA
	if base == "" {
		pr, err := j.cl.PullRequest(ctx, j.Owner, j.Repo, j.PR)
		if err != nil {
			return theChange{}, err
		}
		if base = pr.BaseSHA; base == "" {
			return theChange{}, fmt.Errorf("pull request %s#%d has no base SHA", j.fullName(), j.PR)
		}
	}
	mb, err := j.cl.MergeBase(ctx, j.Owner, j.Repo, base, j.HeadSHA)
	if err != nil {
		return theChange{}, err
	}
	bt, err := j.cl.TreeAt(ctx, j.Owner, j.Repo, mb)
	if err != nil {
		return theChange{}, err
	}
	ht, err := j.cl.TreeAt(ctx, j.Owner, j.Repo, j.HeadSHA)
	if err != nil {
		return theChange{}, err
	}
	for _, t := range []struct {
		tree githubapp.Tree
		what string
	}{{bt, "merge base " + mb}, {ht, "head " + j.HeadSHA}} {
		if t.tree.Truncated {
			return theChange{partial: fmt.Sprintf("GitHub lists at most %d files of a pull request, and this one changes at least that many. "+
				"meshbot then compares the trees of the merge base and the head, but GitHub cut the tree of the %s short "+
				"(it returns at most about 100,000 entries or 7 MB of a tree), so meshbot could not see the whole change and judged none of it. "+
				"Run `meshbot check` on a checkout of the pull request to judge it.", githubapp.MaxChangedFiles, t.what)}, nil
		}
	}
	changes := treeDiff(bt, ht)
	j.log.Info("pullcheck: GitHub's file list is cut; the change was computed from the trees",
		slog.Int("listed", len(files)), slog.Int("changed", len(changes)), slog.String("merge_base", mb))
	return theChange{changes: changes, head: &ht}, nil
}

// treeDiff is the change from base to head, file by file, sorted by path.
// Renames are not detected: a moved file is removed at its old path and
// added at its new one, which classify treats alike.
func treeDiff(base, head githubapp.Tree) []change {
	bb, hb := base.Blobs(), head.Blobs()
	var out []change
	for p, h := range hb {
		b, ok := bb[p]
		switch {
		case !ok:
			out = append(out, change{Path: p, Status: githubapp.FileAdded})
		case b.SHA != h.SHA:
			out = append(out, change{Path: p, Status: githubapp.FileModified})
		case b.Mode != h.Mode:
			out = append(out, change{Path: p, Status: githubapp.FileChanged})
		}
	}
	for p := range bb {
		if _, ok := hb[p]; !ok {
			out = append(out, change{Path: p, Status: githubapp.FileRemoved})
		}
	}
	slices.SortFunc(out, func(a, b change) int {
		switch {
		case a.Path < b.Path:
			return -1
		case a.Path > b.Path:
			return 1
		}
		return 0
	})
	return out
}

func partialOutput(why string) checkrun.Output {
	return checkrun.Output{Conclusion: checkrun.Neutral, Title: TitlePartial, Summary: why}
}
