package irvm

import (
	"context"
	"fmt"
	goast "go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/ir"
)

// listed is every statement stmtParts accepts, one of each.
var listed = []ir.Stmt{
	&ir.ReturnLocalStmt{}, &ir.CallStmt{}, &ir.CallDynamicStmt{}, &ir.BlockStmt{}, &ir.BreakStmt{},
	&ir.DotStmt{}, &ir.LenStmt{}, &ir.ScanStmt{}, &ir.NotStmt{}, &ir.AssignIntStmt{},
	&ir.AssignVarStmt{}, &ir.AssignVarOnceStmt{}, &ir.ResetLocalStmt{}, &ir.MakeNullStmt{},
	&ir.MakeNumberIntStmt{}, &ir.MakeNumberRefStmt{}, &ir.MakeArrayStmt{}, &ir.MakeObjectStmt{},
	&ir.MakeSetStmt{}, &ir.EqualStmt{}, &ir.NotEqualStmt{}, &ir.IsArrayStmt{}, &ir.IsObjectStmt{},
	&ir.IsSetStmt{}, &ir.IsDefinedStmt{}, &ir.IsUndefinedStmt{}, &ir.ArrayAppendStmt{},
	&ir.ObjectInsertStmt{}, &ir.ObjectInsertOnceStmt{}, &ir.ObjectMergeStmt{}, &ir.SetAddStmt{},
	&ir.WithStmt{}, &ir.NopStmt{}, &ir.ResultSetAddStmt{},
}

// Every statement Prepare accepts has a case in machine.block: the two
// lists cannot drift apart, so an accepted plan never meets "irvm:
// statement" during an evaluation.
func TestEveryListedStatementRuns(t *testing.T) {
	prog := &Program{plan: &ir.Plan{}, calls: map[*ir.CallStmt]*call{}, dynamic: map[*ir.CallDynamicStmt]uint32{}}
	for _, s := range listed {
		if _, ok := stmtParts(s); !ok {
			t.Errorf("%T is in this list but stmtParts refuses it", s)
			continue
		}
		var err error
		func() {
			// Zero-valued statements may panic on their operands; what
			// is checked is only that block has a case for the type.
			defer func() { _ = recover() }()
			m := prog.start(context.Background(), EvalOptions{})
			defer m.finish()
			_, err = m.block(&ir.Block{Stmts: []ir.Stmt{s}}, make([]*ast.Term, 8))
		}()
		if err != nil && strings.Contains(err.Error(), "irvm: statement") {
			t.Errorf("%T is accepted by Prepare but machine.block has no case for it", s)
		}
	}
	if _, ok := stmtParts(&alienStmt{}); ok {
		t.Error("stmtParts accepts a statement type it does not list")
	}
}

// OPA's ir package, as this build's OPA module declares it, has no
// statement type irvm does not list. When an upgrade adds one, a plan using
// it is refused at Prepare (the policy falls back to topdown): this test
// says which to implement, or to list as refused here on purpose.
func TestOPAStatementsAreListed(t *testing.T) {
	refusedOnPurpose := map[string]bool{}
	dir := opaModuleDir(t)
	if dir == "" {
		return
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, filepath.Join(dir, "v1", "ir", "ir.go"), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var declared []string
	goast.Inspect(f, func(n goast.Node) bool {
		if ts, ok := n.(*goast.TypeSpec); ok && strings.HasSuffix(ts.Name.Name, "Stmt") {
			if _, isStruct := ts.Type.(*goast.StructType); isStruct {
				declared = append(declared, "*ir."+ts.Name.Name)
			}
		}
		return true
	})
	var have []string
	for _, s := range listed {
		have = append(have, fmt.Sprintf("%T", s))
	}
	if len(declared) < 30 {
		t.Fatalf("found %d statement types in OPA's ir.go, want over 30: %v", len(declared), declared)
	}
	for _, d := range declared {
		if !slices.Contains(have, d) && !refusedOnPurpose[d] {
			t.Errorf("OPA's ir declares %s, which irvm does not list: Prepare refuses plans using it", d)
		}
	}
	for _, h := range have {
		if !slices.Contains(declared, h) {
			t.Errorf("irvm lists %s, which OPA's ir no longer declares", h)
		}
	}
}

// opaModuleDir is the OPA module's source in the module cache, at the
// version go.mod requires (go list -m). Absent (a trimmed cache, no go
// command), the test skips, except under CI=true.
func opaModuleDir(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/open-policy-agent/opa").Output()
	dir := strings.TrimSpace(string(out))
	if err == nil {
		_, err = os.Stat(filepath.Join(dir, "v1", "ir", "ir.go"))
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("OPA's module source (%q) is required under CI=true: %v", dir, err)
		}
		t.Skipf("OPA's module source is not in the module cache (%q: %v): cannot compare its statement types", dir, err)
		return ""
	}
	return dir
}
