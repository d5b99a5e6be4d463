package webhook

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/meshbot/meshbot/internal/testutil"
)

// example reads one of GitHub's published payload examples and applies
// edits: each key is a dotted path ("issue.pull_request", "commits.0.added")
// and each value replaces what is there (nil writes JSON null; delete with
// the key prefixed by "-").
func example(t testing.TB, rel string, edits map[string]any) []byte {
	t.Helper()
	dir := testutil.Shared(t, "external/github/webhooks")
	src, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatalf("read example: %v", err)
	}
	if len(edits) == 0 {
		return src
	}
	var doc any
	if err := json.Unmarshal(src, &doc); err != nil {
		t.Fatalf("example %s: %v", rel, err)
	}
	for path, v := range edits {
		del := strings.HasPrefix(path, "-")
		setPath(t, doc, strings.Split(strings.TrimPrefix(path, "-"), "."), v, del)
	}
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func setPath(t testing.TB, node any, path []string, v any, del bool) {
	t.Helper()
	last := len(path) == 1
	switch n := node.(type) {
	case map[string]any:
		if last {
			if del {
				delete(n, path[0])
			} else {
				n[path[0]] = v
			}
			return
		}
		child, ok := n[path[0]]
		if !ok || child == nil {
			child = map[string]any{}
			n[path[0]] = child
		}
		setPath(t, child, path[1:], v, del)
	case []any:
		i, err := strconv.Atoi(path[0])
		if err != nil || i < 0 || i >= len(n) {
			t.Fatalf("bad index %q", path[0])
		}
		if last {
			n[i] = v
			return
		}
		setPath(t, n[i], path[1:], v, del)
	default:
		t.Fatalf("cannot descend into %T at %q", node, path[0])
	}
}
