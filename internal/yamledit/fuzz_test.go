package yamledit

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v3"

	"github.com/meshbot/meshbot/internal/mesh"
)

// FuzzDeprecate: for any file meshbot reads as a descriptor or contract
// and any terms, an edit that succeeds yields a file that parses, that
// internal/mesh reads as deprecated with exactly those terms, and whose
// node tree equals the original's once the deprecation keys are taken out
// of both; and a second run changes nothing. (The editor may refuse an
// edit it cannot make cleanly; it must never hand out a wrong one.)
func FuzzDeprecate(f *testing.F) {
	ins, _ := filepath.Glob("testdata/*.in.yaml")
	for _, p := range ins {
		src, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src, "finance.revenue-v2/iceberg-curated", "superseded by the v2 ledger")
	}
	f.Add([]byte("apiVersion: mesh/v1\nkind: DataProduct\nmetadata: {name: a}\nspec:\n  outputPorts: [{name: p}]\n"), "", "it's: #done")
	f.Add([]byte("apiVersion: mesh/v1\nkind: DataProduct\nmetadata:\n  name: a\nspec:\n  lifecycle: &l production\n  x: *l\n"), "a/b", "\"quoted\"\nnewline")
	f.Fuzz(func(t *testing.T, src []byte, replacement, reason string) {
		watch := time.AfterFunc(20*time.Second, func() { // a hang, not a timing: one run takes milliseconds
			panic(fmt.Sprintf("fuzz body hangs on %q %q %q", src, replacement, reason))
		})
		defer watch.Stop()
		if !utf8.ValidString(replacement) || !utf8.ValidString(reason) {
			return
		}
		var format mesh.Format
		var tg Target
		if p, _, _ := mesh.ReadDescriptor("d", src); p != nil && p.Format != "" {
			format, tg = p.Format, Target{Product: p.ID()}
			if len(p.OutputPorts) > 0 && len(reason)%2 == 1 { // both shapes of target
				tg.Port = p.OutputPorts[0].Name
			}
		} else if c, _, _ := mesh.ReadContract("c", src); c != nil && c.Format != "" {
			format, tg = c.Format, Target{Product: "x.y", Port: "p"}
		} else {
			return
		}
		d := Deprecation{Sunset: "2027-03-31", Replacement: replacement, Reason: reason}
		out, _, err := Deprecate(src, format, tg, d)
		if err != nil || bytes.Equal(out, src) {
			return
		}
		assertDeprecated(t, out, format, tg, d)
		a, b := canonTree(t, src), canonTree(t, out)
		if a == nil || b == nil {
			return // too large to compare (aliases expanding): mesh refuses such files anyway
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("the edit changed more than the deprecation keys:\n%s\n---\n%s", src, out)
		}
		again, _, err := Deprecate(out, format, tg, d)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("second run: err %v, changed %v", err, !bytes.Equal(again, out))
		}
	})
}

// canonTree is a file's node tree as comparable values (a scalar is its
// tag and value; aliases are what they point at) without any deprecation
// key, wherever it is: lifecycle, status, deprecation, deprecated, and
// custom properties named status or deprecation.
func canonTree(t *testing.T, src []byte) any {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal(src, &n); err != nil {
		t.Fatalf("does not parse: %v\n%s", err, src)
	}
	budget := mesh.MaxNodes
	v := canon(&n, &budget)
	if budget < 0 {
		return nil
	}
	return v
}

func canon(n *yaml.Node, budget *int) any {
	if *budget--; *budget < 0 {
		return nil
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil
		}
		return canon(n.Content[0], budget)
	case yaml.AliasNode:
		return canon(n.Alias, budget)
	case yaml.ScalarNode:
		return [2]string{n.ShortTag(), n.Value}
	case yaml.SequenceNode:
		var out []any
		for _, c := range n.Content {
			if isManagedItem(c) {
				continue
			}
			out = append(out, canon(c, budget))
		}
		return out
	}
	out := map[string]any{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i].Value
		switch k {
		case keyLifecycle, keyStatus, keyDeprecation, keyDeprecated:
			continue
		}
		v := canon(n.Content[i+1], budget)
		if l, ok := v.([]any); ok && k == keyCustom && len(l) == 0 {
			continue
		}
		if k == keyCustom && isEmptyValue(n.Content[i+1]) {
			continue
		}
		out[k] = v
	}
	return out
}

func isManagedItem(n *yaml.Node) bool {
	if n.Kind != yaml.MappingNode {
		return false
	}
	p := value(n, keyProperty)
	return p != nil && (p.Value == keyDeprecation || p.Value == keyStatus) && value(n, keyValue) != nil
}
