package policyrepo

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/meshbot/meshbot/internal/githubapp"
	"github.com/meshbot/meshbot/internal/store"
)

// fetchConcurrency bounds the file downloads of one bundle.
const fetchConcurrency = 8

// ErrTooLarge: the policy folder holds more than a bundle may.
var ErrTooLarge = errors.New("policy folder too large")

// fetch reads the bundle of owner/repo at commit sha: the commit's tree in
// one call, then each bundled file (one call each). A tree GitHub truncated
// or a folder over the limits is a permanent error: fetching again gives
// the same.
func fetch(ctx context.Context, cl githubapp.Installation, owner, repo, sha string) (*Bundle, error) {
	tree, err := cl.TreeAt(ctx, owner, repo, sha)
	if err != nil {
		return nil, fmt.Errorf("policy bundle %s/%s@%s: %w", owner, repo, sha, err)
	}
	if tree.Truncated {
		return nil, store.Permanent(fmt.Errorf("policy bundle %s/%s@%s: GitHub truncated the tree: %w", owner, repo, sha, ErrTooLarge))
	}
	blobs := tree.Blobs()
	paths := make([]string, 0, len(blobs))
	for p := range blobs {
		paths = append(paths, p)
	}
	root, files := layout(paths)
	b := &Bundle{Repo: owner + "/" + repo, Commit: sha, Root: root, Files: make(map[string][]byte, len(files))}
	var total int64
	for _, rp := range files {
		total += blobs[rp].Size
	}
	if len(files) > maxFiles || total > maxBytes {
		return nil, store.Permanent(fmt.Errorf("policy bundle %s@%s: %d files, %d bytes (at most %d files, %d bytes): %w",
			b.Repo, sha, len(files), total, maxFiles, maxBytes, ErrTooLarge))
	}
	rels := make([]string, 0, len(files))
	for rel := range files {
		rels = append(rels, rel)
	}
	sort.Strings(rels)

	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
		sem   = make(chan struct{}, fetchConcurrency)
	)
	for _, rel := range rels {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			src, err := cl.FileUpTo(ctx, owner, repo, files[rel], sha, maxFileBytes)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				var tl *githubapp.TooLargeError
				if errors.As(err, &tl) {
					err = store.Permanent(fmt.Errorf("%w: %w", err, ErrTooLarge))
				}
				if first == nil {
					first = fmt.Errorf("policy bundle %s@%s: %w", b.Repo, sha, err)
				}
				return
			}
			b.Files[rel] = src
		}()
	}
	wg.Wait()
	if first != nil {
		return nil, first
	}
	return b, nil
}
