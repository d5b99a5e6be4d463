package engine

import (
	"context"
	"encoding/json"
	"path"
	"testing"
	"testing/fstest"
	"time"

	"github.com/meshbot/meshbot/internal/memfs"
	"github.com/meshbot/meshbot/internal/mesh"
	"github.com/meshbot/meshbot/internal/meshgen"
	"github.com/meshbot/meshbot/internal/policyeval"
	"github.com/meshbot/meshbot/internal/testutil"
	"github.com/meshbot/meshbot/policy"
)

// stricterRule reads the input, the context's contract and its consumers,
// so that a policy judging after another on a shared input reads what the
// first one converted: any leak between the two shows as a finding the
// separate evaluation does not make.
const stricterRule = `package mesh.each_stricter

# METADATA
# title: Consumed products name a lifecycle
# custom:
#   id: each-consumed-lifecycle
deny contains msg if {
	data.meshbot.context.kind == "descriptor"
	count(data.meshbot.context.consumers) > 1
	msg := sprintf("%v has %d consumers", [input.metadata.name, count(data.meshbot.context.consumers)])
}

# METADATA
# title: Personal fields are few
# custom:
#   id: each-pii-fields
warn contains msg if {
	some f in data.meshbot.context.contract.fields
	f.pii
	msg := sprintf("%v holds personal data", [f.path])
}
`

// bundledWith is the bundled policy plus extra files.
func bundledWith(t *testing.T, extra map[string]string) *policyeval.Set {
	t.Helper()
	fsys := testutil.MapFS(t, policy.FS())
	for p, src := range extra {
		fsys[p] = &fstest.MapFile{Data: []byte(src)}
	}
	set, err := policyeval.Load(context.Background(), fsys, policyeval.Options{Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func generatedMesh(t *testing.T, opts meshgen.Options) *mesh.Mesh {
	t.Helper()
	files := map[string][]byte{}
	for p, f := range meshgen.GenerateFS(opts) {
		files[path.Clean(p)] = f.Data
	}
	fsys, err := memfs.New(files)
	if err != nil {
		t.Fatal(err)
	}
	m, err := mesh.Load(context.Background(), fsys)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// EvaluateEach gives, for each policy, the report Evaluate gives with that
// policy, field for field.
func TestEvaluateEachIsEvaluatePerPolicy(t *testing.T) {
	ctx := context.Background()
	bundled := bundledWith(t, nil)
	stricter := bundledWith(t, map[string]string{
		"each_stricter.rego": stricterRule,
		"data.yaml":          "deprecation:\n  new_reader_notice_days: 90\n",
	})
	opts := meshgen.Options{Products: 60, Fields: 8, Consumers: true, Seed: 3}
	base := generatedMesh(t, opts)
	opts.Change = true
	head := generatedMesh(t, opts)
	today := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		req      Request
		policies []*policyeval.Set
	}{
		{"no base", Request{Head: head, Today: today}, []*policyeval.Set{bundled, stricter}},
		{"with base", Request{Head: head, Base: base, Today: today}, []*policyeval.Set{stricter, bundled}},
		{"a nil policy", Request{Head: head, Base: base, Today: today}, []*policyeval.Set{nil, stricter, nil}},
		{"one policy twice", Request{Head: head, Today: today}, []*policyeval.Set{stricter, stricter}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := EvaluateEach(ctx, tc.req, tc.policies)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.policies) {
				t.Fatalf("%d reports for %d policies", len(got), len(tc.policies))
			}
			for i, pol := range tc.policies {
				req := tc.req
				req.Policy = pol
				want, err := Evaluate(ctx, req)
				if err != nil {
					t.Fatal(err)
				}
				if g, w := asJSON(t, got[i]), asJSON(t, want); g != w {
					t.Errorf("policy %d: EvaluateEach differs from Evaluate:\n got %.600s\nwant %.600s", i, g, w)
				}
			}
		})
	}
	// The two policies must judge differently, or the test could not tell
	// one policy's findings leaking into the other's report.
	reps, err := EvaluateEach(ctx, Request{Head: head, Today: today}, []*policyeval.Set{bundled, stricter})
	if err != nil {
		t.Fatal(err)
	}
	if reps[0].Checked.Errors == reps[1].Checked.Errors || reps[0].Checked.Warnings == reps[1].Checked.Warnings {
		t.Fatalf("the policies judge alike: %+v and %+v", reps[0].Checked, reps[1].Checked)
	}
}

func asJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
