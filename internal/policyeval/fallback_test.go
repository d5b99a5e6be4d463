package policyeval

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/open-policy-agent/opa/v1/ir"

	"github.com/meshbot/meshbot/internal/irvm"
)

// unlistedStmt stands for a statement a newer OPA's planner might emit and
// irvm does not list.
type unlistedStmt struct{ ir.NopStmt }

func prependToPlan(p *ir.Policy) {
	b := p.Plans.Plans[0].Blocks[0]
	b.Stmts = append([]ir.Stmt{&unlistedStmt{}}, b.Stmts...)
}

// A policy irvm cannot run is refused when it is loaded, not when a worker
// evaluates it: the Set judges with topdown, says why (Fallback) and logs it
// once; its findings are topdown's.
func TestLoadFallsBackToTopdown(t *testing.T) {
	const sharedPrefix = `package t
import rego.v1
p[x] := 1 if some x in ["a"]
p.b := v if v := p.a + 1
deny contains "p.b is two" if p.b == 2
deny contains "no owner" if not input.metadata.owner
`
	tests := []struct {
		name     string
		src      string
		mutate   func(*ir.Policy)
		fallback bool
		reason   string // in the logged reason and Fallback()
	}{
		{"irvm runs it", inlinePolicy, nil, false, ""},
		{"a statement irvm does not list", inlinePolicy, prependToPlan, true, "statement *policyeval.unlistedStmt"},
		{"the planner refuses it", sharedPrefix, nil, true, "rules sharing that path prefix"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			fsys := fstest.MapFS{"p.rego": &fstest.MapFile{Data: []byte(tc.src)}}
			s, err := Load(context.Background(), fsys, Options{
				Timeout:    testTimeout,
				Logger:     slog.New(slog.NewTextHandler(&logs, nil)),
				mutatePlan: tc.mutate,
			})
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Count(logs.String(), "\n")
			if !tc.fallback {
				if s.Engine() != "irvm" || s.Fallback() != nil || lines != 0 {
					t.Fatalf("engine %s, fallback %v, log %q", s.Engine(), s.Fallback(), logs.String())
				}
				return
			}
			if s.Engine() != "topdown" || s.Fallback() == nil {
				t.Fatalf("engine %s, fallback %v: want topdown and a reason", s.Engine(), s.Fallback())
			}
			if !strings.Contains(s.Fallback().Error(), tc.reason) {
				t.Errorf("Fallback() = %v, want it to name %q", s.Fallback(), tc.reason)
			}
			if tc.mutate != nil {
				var ue *irvm.UnsupportedError
				if !errors.As(s.Fallback(), &ue) || ue.What != irvm.RefuseStatement {
					t.Errorf("Fallback() = %#v, want an *irvm.UnsupportedError refusing a statement", s.Fallback())
				}
			}
			if lines != 1 || !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), tc.reason) ||
				!strings.Contains(logs.String(), "policy_version="+s.Version()) {
				t.Errorf("want one warning naming %q and the version, logged:\n%s", tc.reason, logs.String())
			}
			td, err := Load(context.Background(), fsys, Options{Timeout: testTimeout, Topdown: true})
			if err != nil {
				t.Fatal(err)
			}
			doc := parseDoc(t, "dp.yaml", "kind: DataProduct\nmetadata: {name: x}\n")
			c := Context{Kind: "descriptor", Today: "2027-01-01"}
			got, want := evalDoc(t, s, doc, c), evalDoc(t, td, doc, c)
			if len(got) == 0 || !reflect.DeepEqual(got, want) {
				t.Errorf("fallback findings %+v, topdown %+v", got, want)
			}
		})
	}
}
