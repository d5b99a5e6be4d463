package irvm

import (
	"fmt"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/ir"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// Refusal is what about a plan Prepare refused.
type Refusal string

// The refusals of an UnsupportedError.
const (
	RefuseStatement   Refusal = "statement"    // a statement type irvm does not list
	RefuseBuiltin     Refusal = "built-in"     // a built-in irvm cannot run exactly
	RefuseFunction    Refusal = "function"     // a call to a function the plan does not define
	RefuseOperand     Refusal = "operand"      // an operand of a kind or index irvm does not know
	RefuseDynamicCall Refusal = "dynamic call" // a CallDynamicStmt outside the planner's lookup shape
	RefusePlan        Refusal = "plan"         // not exactly one plan
)

// UnsupportedError is a plan Prepare refuses, naming what it refused and
// where. It matches ErrUnsupported (errors.Is).
type UnsupportedError struct {
	What Refusal
	Name string // the statement's type (*ir.CallStmt), the built-in or the function
	In   string // the function it occurs in, or "plan"
	Loc  ir.Location
}

func (e *UnsupportedError) Error() string {
	s := fmt.Sprintf("%s: %s %s", ErrUnsupported, e.What, e.Name)
	if e.In != "" {
		s += " in " + e.In
	}
	if e.Loc.Row > 0 {
		s += fmt.Sprintf(" (%d:%d)", e.Loc.Row, e.Loc.Col)
	}
	return s
}

// Is makes every UnsupportedError match ErrUnsupported.
func (e *UnsupportedError) Is(target error) bool { return target == ErrUnsupported }

// unsupportedBuiltins are built-ins OPA implements that irvm does not run:
// http.send reads the evaluator's metrics, which irvm does not keep (and it
// reaches the network, which meshbot's sandbox removes anyway).
var unsupportedBuiltins = map[string]bool{ast.HTTPSend.Name: true}

// Prepare checks and indexes a plan. The policy must hold exactly one plan,
// and every statement of it must be one irvm lists (stmtParts), every
// built-in one it runs, every call resolved and every dynamic call in the
// shape the planner gives a data lookup; anything else is refused here, with
// an *UnsupportedError, never met during an evaluation.
func Prepare(p *ir.Policy, caps *ast.Capabilities) (*Program, error) {
	if p == nil || p.Plans == nil || len(p.Plans.Plans) != 1 {
		return nil, &UnsupportedError{What: RefusePlan, Name: "count", In: "policy"}
	}
	prog := &Program{
		plan:     p.Plans.Plans[0],
		byName:   map[string]*function{},
		byPath:   map[string]*function{},
		builtins: map[string]*builtin{},
		calls:    map[*ir.CallStmt]*call{},
		dynamic:  map[*ir.CallDynamicStmt]uint32{},
		caps:     caps,
	}
	if p.Static != nil {
		for _, s := range p.Static.Strings {
			prog.strings = append(prog.strings, ast.StringTerm(s.Value))
		}
		for _, b := range p.Static.BuiltinFuncs {
			decl, ok := ast.BuiltinMap[b.Name]
			impl := topdown.GetBuiltin(b.Name)
			if !ok || impl == nil || unsupportedBuiltins[b.Name] {
				return nil, &UnsupportedError{What: RefuseBuiltin, Name: b.Name}
			}
			prog.builtins[b.Name] = &builtin{name: b.Name, f: impl, void: decl.Decl.Result() == nil, relation: decl.Relation}
			prog.clock = prog.clock || readsClock[b.Name]
		}
	}
	if p.Funcs != nil {
		for i, f := range p.Funcs.Funcs {
			fn := &function{index: i, fn: f, memo: rootParams(f.Params)}
			fn.locals = maxLocal(f.Blocks, f.Params, f.Return) + 1
			prog.funcs = append(prog.funcs, fn)
			prog.byName[f.Name] = fn
			if len(f.Path) > 0 {
				prog.byPath[pathKey(f.Path)] = fn
			}
		}
	}
	prog.locals = maxLocal(prog.plan.Blocks, nil, 0) + 1
	c := &checker{prog: prog, policy: p, memo: true}
	c.in = "plan " + prog.plan.Name
	for _, b := range prog.plan.Blocks {
		c.block(b, nil)
	}
	for _, f := range prog.funcs {
		c.in = "function " + f.fn.Name
		for _, b := range f.fn.Blocks {
			c.block(b, nil)
		}
	}
	if c.err != nil {
		return nil, c.err
	}
	// A rule's value is remembered for the evaluation only when nothing but
	// a with statement (which sets the memo aside) can change the input and
	// data it is called with.
	for _, f := range prog.funcs {
		f.memo = f.memo && c.memo && !c.otherArgs[f]
	}
	return prog, nil
}

// rootParams reports whether a function's parameters are exactly the input
// and data documents: a rule, whose value depends on nothing else.
func rootParams(params []ir.Local) bool {
	return len(params) == 2 && params[0] == ir.Input && params[1] == ir.Data
}

// pathKey joins a function's path; NUL cannot occur in a Rego path string
// the planner turns into a function path.
func pathKey(parts []string) string { return strings.Join(parts, "\x00") }

// checker walks every block of a plan once, refusing what irvm does not list.
type checker struct {
	prog   *Program
	policy *ir.Policy
	in     string
	err    error
	// memo is false once any statement writes the input or data local
	// other than through a with statement.
	memo bool
	// otherArgs are the functions some call passes something other than
	// the input and data documents.
	otherArgs map[*function]bool
}

func (c *checker) refuse(what Refusal, name string, loc ir.Location) {
	if c.err == nil {
		c.err = &UnsupportedError{What: what, Name: name, In: c.in, Loc: loc}
	}
}

// frame is the chain of blocks enclosing a statement, innermost first, with
// the statement each is at: what a CallDynamicStmt's shape is checked on.
type frame struct {
	block *ir.Block
	at    int
	up    *frame
}

func (c *checker) block(b *ir.Block, up *frame) {
	for i, s := range b.Stmts {
		if c.err != nil {
			return
		}
		here := &frame{block: b, at: i, up: up}
		parts, ok := stmtParts(s)
		if !ok {
			c.refuse(RefuseStatement, fmt.Sprintf("%T", s), location(s))
			return
		}
		for _, o := range parts.ops {
			c.operand(o, s)
		}
		for _, l := range parts.writes {
			if l == ir.Input || l == ir.Data {
				c.memo = false
			}
		}
		for _, ix := range parts.strs {
			c.stringIndex(ix, s)
		}
		switch s := s.(type) {
		case *ir.CallStmt:
			c.call(s)
		case *ir.CallDynamicStmt:
			c.callDynamic(s, here)
		}
		for _, nb := range parts.blocks {
			c.block(nb, here)
		}
	}
}

func (c *checker) operand(o ir.Operand, s ir.Stmt) {
	switch v := o.Value.(type) {
	case ir.Local, ir.Bool:
	case ir.StringIndex:
		c.stringIndex(int(v), s)
	default:
		c.refuse(RefuseOperand, fmt.Sprintf("%T", o.Value), location(s))
	}
}

// stringIndex refuses an index into the plan's strings that is out of
// range, whether an operand or a statement's own field holds it.
func (c *checker) stringIndex(ix int, s ir.Stmt) {
	if ix < 0 || ix >= len(c.prog.strings) {
		c.refuse(RefuseOperand, fmt.Sprintf("string index %d", ix), location(s))
	}
}

func (c *checker) call(s *ir.CallStmt) {
	cl := &call{loc: sourceLocation(c.policy, s.Location)}
	if fn, ok := c.prog.byName[s.Func]; ok {
		cl.fn = fn
		if !rootArgs(s.Args) {
			c.passOther(fn)
		}
	} else if bi, ok := c.prog.builtins[s.Func]; ok {
		cl.bi = bi
	} else {
		c.refuse(RefuseFunction, s.Func, s.Location)
	}
	c.prog.calls[s] = cl
}

func (c *checker) passOther(fn *function) {
	if c.otherArgs == nil {
		c.otherArgs = map[*function]bool{}
	}
	c.otherArgs[fn] = true
}

func rootArgs(args []ir.Operand) bool {
	if len(args) != 2 {
		return false
	}
	a, aok := args[0].Value.(ir.Local)
	b, bok := args[1].Value.(ir.Local)
	return aok && bok && a == ir.Input && b == ir.Data
}

// callDynamic checks that a dynamic call sits where OPA's planner puts the
// lookup of a data reference whose rules may be called by path:
//
//	block                          (the reference's block, "b")
//	  block                        (one BlockStmt of two blocks)
//	    [call_dynamic; break 1]    (the call: defined, go on after b)
//	    [base document lookup ...] (no rule at that path)
//	  break N                      (neither: the reference is undefined)
//
// A rule that exists and is undefined makes the reference undefined, so
// irvm then does what b's break N does: it ends the call's block with a
// break of N+1. N is read from the plan, not assumed.
func (c *checker) callDynamic(s *ir.CallDynamicStmt, here *frame) {
	loc := s.Location
	if !rootLocals(s.Args) {
		// Every planned function the path may name would be called with
		// something else than the documents: remember none of them.
		for _, f := range c.prog.funcs {
			c.passOther(f)
		}
	}
	call := here.block
	if here.at != 0 || len(call.Stmts) != 2 || !isBreak(call.Stmts[1], 1) {
		c.refuse(RefuseDynamicCall, "not followed by break 1", loc)
		return
	}
	pair := here.up
	if pair == nil {
		c.refuse(RefuseDynamicCall, "outside a block statement", loc)
		return
	}
	bs, ok := pair.block.Stmts[pair.at].(*ir.BlockStmt)
	if !ok || len(bs.Blocks) != 2 || bs.Blocks[0] != call || pair.at != 0 || len(pair.block.Stmts) != 2 {
		c.refuse(RefuseDynamicCall, "not the first of a call/lookup pair", loc)
		return
	}
	brk, ok := pair.block.Stmts[1].(*ir.BreakStmt)
	if !ok {
		c.refuse(RefuseDynamicCall, "reference block without a closing break", loc)
		return
	}
	c.prog.dynamic[s] = brk.Index + 1
}

func rootLocals(args []ir.Local) bool {
	return len(args) == 2 && args[0] == ir.Input && args[1] == ir.Data
}

func isBreak(s ir.Stmt, index uint32) bool {
	b, ok := s.(*ir.BreakStmt)
	return ok && b.Index == index
}

// location is a statement's place in the policy, for refusals.
func location(s ir.Stmt) ir.Location {
	if l, ok := s.(interface{ GetLocation() *ir.Location }); ok {
		if p := l.GetLocation(); p != nil {
			return *p
		}
	}
	return ir.Location{}
}

func sourceLocation(p *ir.Policy, l ir.Location) *ast.Location {
	file := ""
	if p.Static != nil && l.File >= 0 && l.File < len(p.Static.Files) {
		file = p.Static.Files[l.File].Value
	}
	return &ast.Location{File: file, Row: l.Row, Col: l.Col}
}

// parts is what a statement refers to.
type parts struct {
	ops    []ir.Operand
	reads  []ir.Local
	writes []ir.Local // locals it sets or changes in place
	strs   []int      // indexes into the plan's strings besides operands
	blocks []*ir.Block
}

// stmtParts lists the statements irvm runs, and what each refers to; ok is
// false for any other statement, which Prepare refuses. A statement added
// here must be added to machine.block too (TestEveryListedStatementRuns).
func stmtParts(s ir.Stmt) (p parts, ok bool) {
	switch s := s.(type) {
	case *ir.ReturnLocalStmt:
		p.reads = []ir.Local{s.Source}
	case *ir.CallStmt:
		p.ops, p.writes = s.Args, []ir.Local{s.Result}
	case *ir.CallDynamicStmt:
		p.ops, p.reads, p.writes = s.Path, s.Args, []ir.Local{s.Result}
	case *ir.BlockStmt:
		p.blocks = s.Blocks
	case *ir.BreakStmt:
	case *ir.DotStmt:
		p.ops, p.writes = []ir.Operand{s.Source, s.Key}, []ir.Local{s.Target}
	case *ir.LenStmt:
		p.ops, p.writes = []ir.Operand{s.Source}, []ir.Local{s.Target}
	case *ir.ScanStmt:
		p.reads, p.writes, p.blocks = []ir.Local{s.Source}, []ir.Local{s.Key, s.Value}, []*ir.Block{s.Block}
	case *ir.NotStmt:
		p.blocks = []*ir.Block{s.Block}
	case *ir.AssignIntStmt:
		p.writes = []ir.Local{s.Target}
	case *ir.AssignVarStmt:
		p.ops, p.writes = []ir.Operand{s.Source}, []ir.Local{s.Target}
	case *ir.AssignVarOnceStmt:
		p.ops, p.writes = []ir.Operand{s.Source}, []ir.Local{s.Target}
	case *ir.ResetLocalStmt:
		p.writes = []ir.Local{s.Target}
	case *ir.MakeNullStmt:
		p.writes = []ir.Local{s.Target}
	case *ir.MakeNumberIntStmt:
		p.writes = []ir.Local{s.Target}
	case *ir.MakeNumberRefStmt:
		p.writes, p.strs = []ir.Local{s.Target}, []int{s.Index}
	case *ir.MakeArrayStmt:
		p.writes = []ir.Local{s.Target}
	case *ir.MakeObjectStmt:
		p.writes = []ir.Local{s.Target}
	case *ir.MakeSetStmt:
		p.writes = []ir.Local{s.Target}
	case *ir.EqualStmt:
		p.ops = []ir.Operand{s.A, s.B}
	case *ir.NotEqualStmt:
		p.ops = []ir.Operand{s.A, s.B}
	case *ir.IsArrayStmt:
		p.ops = []ir.Operand{s.Source}
	case *ir.IsObjectStmt:
		p.ops = []ir.Operand{s.Source}
	case *ir.IsSetStmt:
		p.ops = []ir.Operand{s.Source}
	case *ir.IsDefinedStmt:
		p.reads = []ir.Local{s.Source}
	case *ir.IsUndefinedStmt:
		p.reads = []ir.Local{s.Source}
	case *ir.ArrayAppendStmt:
		p.ops, p.writes = []ir.Operand{s.Value}, []ir.Local{s.Array}
	case *ir.ObjectInsertStmt:
		p.ops, p.writes = []ir.Operand{s.Key, s.Value}, []ir.Local{s.Object}
	case *ir.ObjectInsertOnceStmt:
		p.ops, p.writes = []ir.Operand{s.Key, s.Value}, []ir.Local{s.Object}
	case *ir.ObjectMergeStmt:
		p.reads, p.writes = []ir.Local{s.A, s.B}, []ir.Local{s.Target}
	case *ir.SetAddStmt:
		p.ops, p.writes = []ir.Operand{s.Value}, []ir.Local{s.Set}
	case *ir.WithStmt:
		// The with statement's local is set only inside its block and
		// restored after it, with the rules' memo set aside: not a write.
		p.ops, p.reads, p.blocks, p.strs = []ir.Operand{s.Value}, []ir.Local{s.Local}, []*ir.Block{s.Block}, s.Path
	case *ir.NopStmt:
	case *ir.ResultSetAddStmt:
		p.reads = []ir.Local{s.Value}
	default:
		return parts{}, false
	}
	return p, true
}

// maxLocal is the highest local a function or plan uses, so a frame can be
// sized once.
func maxLocal(blocks []*ir.Block, params []ir.Local, ret ir.Local) int {
	m := int(ret)
	see := func(l ir.Local) { m = max(m, int(l)) }
	for _, l := range params {
		see(l)
	}
	var walk func(b *ir.Block)
	walk = func(b *ir.Block) {
		for _, s := range b.Stmts {
			p, _ := stmtParts(s)
			for _, o := range p.ops {
				if l, ok := o.Value.(ir.Local); ok {
					see(l)
				}
			}
			for _, l := range p.reads {
				see(l)
			}
			for _, l := range p.writes {
				see(l)
			}
			for _, nb := range p.blocks {
				walk(nb)
			}
		}
	}
	for _, b := range blocks {
		walk(b)
	}
	return m
}
