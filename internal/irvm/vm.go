// Package irvm runs a policy that OPA's planner has lowered to its
// intermediate representation (package ir), instead of OPA's tree-walking
// evaluator (topdown).
//
// The planner is OPA's own: it resolves Rego's semantics (rule kinds,
// defaults, else chains, comprehensions, every, with, virtual and base
// documents) into a small imperative program of blocks and statements, the
// same program OPA compiles to WebAssembly. Running that program directly
// skips the per-evaluation set-up and unification that dominate topdown's
// cost on small documents, and built-in functions are still OPA's own
// implementations (topdown.GetBuiltin), so their results are identical.
//
// Relation built-ins (walk) run too: the plan scans an array of their
// outputs. Prepare accepts only what irvm lists (prepare.go: the statement
// types, the built-ins OPA implements but http.send, the planner's shape of
// a dynamic call) and refuses anything else with an *UnsupportedError,
// before any evaluation; the caller keeps topdown for those. What irvm
// takes from the planner beyond package ir's documentation is pinned by
// conventions_test.go, and OPA's own evaluation cases run through irvm in
// conformance_test.go.
package irvm

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/ir"
	"github.com/open-policy-agent/opa/v1/topdown"
	"github.com/open-policy-agent/opa/v1/topdown/builtins"
	"github.com/open-policy-agent/opa/v1/topdown/print"
)

// ErrUnsupported marks a plan Prepare will not run; evaluate it with topdown.
var ErrUnsupported = errors.New("plan not supported by irvm")

// readsClock are the built-ins that read BuiltinContext.Time (topdown's
// time.go, tokens.go and http.go); only plans calling one pay for a clock.
var readsClock = map[string]bool{"time.now_ns": true, "io.jwt.decode_verify": true, "http.send": true}

// Program is a prepared plan. It is immutable and safe for concurrent use;
// each evaluation has its own frame stack and memo.
type Program struct {
	plan     *ir.Plan
	strings  []*ast.Term
	funcs    []*function
	byName   map[string]*function
	byPath   map[string]*function
	builtins map[string]*builtin
	calls    map[*ir.CallStmt]*call
	// dynamic is, for each dynamic call, the break that ends its
	// reference when the rule it calls is undefined (Prepare reads it
	// from the plan's shape).
	dynamic map[*ir.CallDynamicStmt]uint32
	locals  int // locals of the plan
	caps    *ast.Capabilities
	clock   bool // a built-in reads the evaluation's time
	// machines are reused: an evaluation's frames, memo and built-in cache
	// are most of what it would otherwise allocate.
	machines sync.Pool
}

type function struct {
	index  int
	fn     *ir.Func
	locals int
	// memo: a rule's value, a function of the input and data documents
	// only, is computed once per evaluation (Prepare checks that it is).
	memo bool
}

type builtin struct {
	name string
	f    topdown.BuiltinFunc
	void bool
	// relation built-ins (walk) have many outputs; the plan scans an
	// array of them.
	relation bool
}

// call is a CallStmt resolved at Prepare: a planned function or a built-in.
type call struct {
	fn  *function
	bi  *builtin
	loc *ast.Location
}

// EvalOptions are the per-evaluation settings built-ins may read.
type EvalOptions struct {
	// Time is the evaluation's clock (time.now_ns); zero means now.
	Time time.Time
	// Timeout bounds the evaluation (zero: only ctx does). It is cheaper
	// than a context with a deadline, which the hot path would pay for on
	// every document.
	Timeout time.Duration
	// Print receives print() output, as topdown's rego.PrintHook does;
	// nil drops it. Policies compiled without print statements make none.
	Print print.Hook
}

// ErrTimeout is returned when EvalOptions.Timeout ran out.
var ErrTimeout = fmt.Errorf("irvm: evaluation timed out: %w", context.DeadlineExceeded)

// Eval runs the plan with input and data and returns the values the plan
// added to its result set. It stops with ctx's error when ctx ends.
func (p *Program) Eval(ctx context.Context, input, data ast.Value, opts EvalOptions) ([]*ast.Term, error) {
	m := p.start(ctx, opts)
	defer m.finish()
	frame := m.push(p.locals)
	if input != nil {
		frame[ir.Input] = m.root(input)
	}
	if data != nil {
		frame[ir.Data] = m.root(data)
	}
	for _, b := range p.plan.Blocks {
		st, err := m.block(b, frame)
		if err != nil {
			return nil, err
		}
		if st.ret {
			break
		}
	}
	// A built-in cut short by the deadline reads as undefined; the results
	// of such a run are not the policy's.
	if err := m.stopped(); err != nil {
		return nil, err
	}
	return slices.Clone(m.results), nil
}

// Func finds the planned function of the rule at path (data.a.b.c is
// ["a", "b", "c"]) by the path the planner gives it after its generation
// (OPA's Func.Path, the key dynamic calls use), not by its name. Only rules
// the plan's query reaches are planned; a path planned in more than one
// generation (under a with) is ambiguous and not found.
func (p *Program) Func(path ...string) (int, bool) {
	found := -1
	for _, fn := range p.funcs {
		fp := fn.fn.Path
		if len(fp) != len(path)+1 || !slices.Equal(fp[1:], path) || !rootParams(fn.fn.Params) {
			continue
		}
		if found >= 0 {
			return 0, false
		}
		found = fn.index
	}
	return found, found >= 0
}

// EvalFuncs evaluates planned rules (see Func) with input and data and
// returns their values, nil where a rule is undefined. Rules shared between
// them are evaluated once. Callers that want several rules' values avoid
// the plan's own assembly of them.
func (p *Program) EvalFuncs(ctx context.Context, input, data ast.Value, funcs []int, opts EvalOptions) ([]*ast.Term, error) {
	m := p.start(ctx, opts)
	defer m.finish()
	args := []*ast.Term{m.root(input), m.root(data)}
	out := make([]*ast.Term, len(funcs))
	for i, f := range funcs {
		v, err := m.invoke(p.funcs[f], args)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	if err := m.stopped(); err != nil {
		return nil, err
	}
	return out, nil
}

func (m *machine) root(v ast.Value) *ast.Term {
	t := ast.NewTerm(v)
	m.stable[t] = struct{}{}
	return t
}

// start readies a machine for one evaluation; finish returns it.
func (p *Program) start(ctx context.Context, opts EvalOptions) (m *machine) {
	m, _ = p.machines.Get().(*machine)
	if m == nil {
		m = &machine{
			prog:   p,
			memo:   make([]*ast.Term, len(p.funcs)),
			known:  make([]bool, len(p.funcs)),
			stack:  make([]*ast.Term, 0, 256),
			cache:  builtins.Cache{},
			dots:   map[dotKey]*ast.Term{},
			stable: map[*ast.Term]struct{}{},
		}
		m.emit, m.gather = m.output, m.collect
	}
	m.ctx = ctx
	// Long-running built-ins (numbers.range, concat, replace, ...) watch
	// Cancel, not ctx.
	cancel := topdown.NewCancel()
	if ctx.Done() != nil {
		m.stopCtx = context.AfterFunc(ctx, cancel.Cancel)
	}
	if opts.Timeout > 0 {
		m.timer = time.AfterFunc(opts.Timeout, cancel.Cancel)
	}
	m.bctx = topdown.BuiltinContext{
		Context:      ctx,
		Cancel:       cancel,
		Seed:         rand.Reader,
		Cache:        m.cache,
		Capabilities: p.caps,
		PrintHook:    opts.Print,
	}
	if p.clock {
		now := opts.Time
		if now.IsZero() {
			now = time.Now()
		}
		m.bctx.Time = ast.NumberTerm(jsonNumber(now.UnixNano()))
	}
	return m
}

// finish stops the machine's watchers and returns it to the pool.
func (m *machine) finish() {
	if m.stopCtx != nil {
		m.stopCtx()
	}
	if m.timer != nil {
		m.timer.Stop()
	}
	m.stopCtx, m.timer = nil, nil
	m.prog.release(m)
}

func (p *Program) release(m *machine) {
	m.ctx, m.bctx = nil, topdown.BuiltinContext{}
	clear(m.memo)
	clear(m.known)
	clear(m.stack[:m.high])
	m.stack, m.high = m.stack[:0], 0
	clear(m.results)
	m.results = m.results[:0]
	clear(m.cache)
	m.out, m.outSet = nil, false
	clear(m.args[:cap(m.args)])
	clear(m.dots)
	clear(m.stable)
	m.steps = 0
	p.machines.Put(m)
}

func jsonNumber(n int64) json.Number { return json.Number(strconv.FormatInt(n, 10)) }

type machine struct {
	prog    *Program
	ctx     context.Context
	bctx    topdown.BuiltinContext
	cache   builtins.Cache
	stack   []*ast.Term
	high    int // the stack's high-water mark, cleared on release
	memo    []*ast.Term
	known   []bool
	results []*ast.Term
	steps   int
	// A built-in's output lands here through emit, bound once per machine
	// so that a call does not allocate a closure.
	emit   func(*ast.Term) error
	gather func(*ast.Term) error
	outs   []*ast.Term
	out    *ast.Term
	outSet bool
	args   []*ast.Term
	// what ends an evaluation early: ctx and EvalOptions.Timeout
	stopCtx func() bool
	timer   *time.Timer
	dots    map[dotKey]*ast.Term
	stable  map[*ast.Term]struct{}
}

func (m *machine) output(t *ast.Term) error {
	m.out, m.outSet = t, true
	return nil
}

func (m *machine) collect(t *ast.Term) error {
	m.outs = append(m.outs, t)
	return nil
}

func (m *machine) push(n int) []*ast.Term {
	start := len(m.stack)
	for range n {
		m.stack = append(m.stack, nil)
	}
	m.high = max(m.high, len(m.stack))
	// A later push may move the stack; a frame keeps the array it was cut
	// from, which nothing else writes to, so callers hold on to it.
	return m.stack[start : start+n : start+n]
}

// status is how a block ended. brk > 0 asks the enclosing blocks to end too:
// a block ending with brk k makes its parent act as if it ran BreakStmt k-1.
// ret is a function's return.
type status struct {
	brk  uint32
	done bool // the last statement ran (the block is defined)
	ret  bool
	val  *ast.Term
}

var (
	errConflict       = errors.New("eval_conflict_error: complete rules must not produce multiple outputs")
	errObjectConflict = errors.New("eval_conflict_error: object keys must be unique")
)

// emptySet stands for every set a plan makes until something is added; it
// is never changed.
var emptySet = ast.NewTerm(ast.NewSet())

func (m *machine) operand(frame []*ast.Term, o ir.Operand) *ast.Term {
	switch v := o.Value.(type) {
	case ir.Local:
		return frame[v]
	case ir.StringIndex:
		return m.prog.strings[v]
	case ir.Bool:
		return ast.InternedTerm(bool(v))
	}
	return nil
}

// tick checks for cancellation every so often: ctx.Err takes a lock.
func (m *machine) tick() error {
	m.steps++
	if m.steps&1023 == 0 {
		return m.stopped()
	}
	return nil
}

func (m *machine) stopped() error {
	if err := m.ctx.Err(); err != nil {
		return err
	}
	if m.bctx.Cancel.Cancelled() {
		return ErrTimeout
	}
	return nil
}

func (m *machine) block(b *ir.Block, frame []*ast.Term) (status, error) {
	for _, s := range b.Stmts {
		switch s := s.(type) {
		case *ir.ReturnLocalStmt:
			return status{ret: true, val: frame[s.Source]}, nil
		case *ir.CallStmt:
			ok, err := m.call(s, frame)
			if err != nil {
				return status{}, err
			}
			if !ok {
				return status{}, nil
			}
		case *ir.CallDynamicStmt:
			st, ok, err := m.callDynamic(s, frame)
			if err != nil || !ok {
				return st, err
			}
		case *ir.BlockStmt:
			for _, nb := range s.Blocks {
				st, err := m.block(nb, frame)
				if err != nil || st.ret {
					return st, err
				}
				if st.brk > 0 {
					return status{brk: st.brk - 1}, nil
				}
			}
		case *ir.BreakStmt:
			return status{brk: s.Index}, nil
		case *ir.DotStmt:
			v := m.dot(m.operand(frame, s.Source), m.operand(frame, s.Key))
			if v == nil {
				return status{}, nil
			}
			frame[s.Target] = v
		case *ir.LenStmt:
			n, ok := length(m.operand(frame, s.Source))
			if !ok {
				return status{}, nil
			}
			frame[s.Target] = ast.InternedTerm(n)
		case *ir.ScanStmt:
			st, err := m.scan(s, frame)
			if err != nil || st.ret {
				return st, err
			}
			if st.brk > 0 {
				return status{brk: st.brk - 1}, nil
			}
		case *ir.NotStmt:
			st, err := m.block(s.Block, frame)
			if err != nil || st.ret {
				return st, err
			}
			if st.brk > 0 {
				return status{brk: st.brk - 1}, nil
			}
			if st.done {
				return status{}, nil
			}
		case *ir.AssignIntStmt:
			frame[s.Target] = ast.InternedTerm(int(s.Value))
		case *ir.AssignVarStmt:
			frame[s.Target] = m.operand(frame, s.Source)
		case *ir.AssignVarOnceStmt:
			v := m.operand(frame, s.Source)
			if cur := frame[s.Target]; cur != nil {
				if cur.Value.Compare(v.Value) != 0 {
					return status{}, fmt.Errorf("%s: %w", locText(s.Location), errConflict)
				}
				continue
			}
			frame[s.Target] = v
		case *ir.ResetLocalStmt:
			frame[s.Target] = nil
		case *ir.MakeNullStmt:
			frame[s.Target] = ast.InternedNullTerm
		case *ir.MakeNumberIntStmt:
			frame[s.Target] = ast.InternedTerm(int(s.Value))
		case *ir.MakeNumberRefStmt:
			frame[s.Target] = ast.NumberTerm(numberRef(m.prog.strings[s.Index]))
		case *ir.MakeArrayStmt:
			frame[s.Target] = ast.NewTerm(ast.NewArrayWithCapacity(int(s.Capacity)))
		case *ir.MakeObjectStmt:
			frame[s.Target] = ast.NewTerm(ast.NewObject())
		case *ir.MakeSetStmt:
			// Most rule bodies add nothing: their set is the shared empty
			// one until the first add replaces it.
			frame[s.Target] = emptySet
		case *ir.EqualStmt:
			a, b := m.operand(frame, s.A), m.operand(frame, s.B)
			if a == nil || b == nil || a.Value.Compare(b.Value) != 0 {
				return status{}, nil
			}
		case *ir.NotEqualStmt:
			a, b := m.operand(frame, s.A), m.operand(frame, s.B)
			if a == nil || b == nil || a.Value.Compare(b.Value) == 0 {
				return status{}, nil
			}
		case *ir.IsArrayStmt:
			if !isKind[*ast.Array](m.operand(frame, s.Source)) {
				return status{}, nil
			}
		case *ir.IsObjectStmt:
			if !isKind[ast.Object](m.operand(frame, s.Source)) {
				return status{}, nil
			}
		case *ir.IsSetStmt:
			if !isKind[ast.Set](m.operand(frame, s.Source)) {
				return status{}, nil
			}
		case *ir.IsDefinedStmt:
			if frame[s.Source] == nil {
				return status{}, nil
			}
		case *ir.IsUndefinedStmt:
			if frame[s.Source] != nil {
				return status{}, nil
			}
		case *ir.ArrayAppendStmt:
			arr := frame[s.Array].Value.(*ast.Array)
			frame[s.Array].Value = arr.Append(m.operand(frame, s.Value))
		case *ir.ObjectInsertStmt:
			frame[s.Object].Value.(ast.Object).Insert(m.operand(frame, s.Key), m.operand(frame, s.Value))
		case *ir.ObjectInsertOnceStmt:
			obj := frame[s.Object].Value.(ast.Object)
			k, v := m.operand(frame, s.Key), m.operand(frame, s.Value)
			if cur := obj.Get(k); cur != nil {
				if cur.Value.Compare(v.Value) != 0 {
					return status{}, fmt.Errorf("%s: %w", locText(s.Location), errObjectConflict)
				}
				continue
			}
			obj.Insert(k, v)
		case *ir.ObjectMergeStmt:
			frame[s.Target] = merge(frame[s.A], frame[s.B])
		case *ir.SetAddStmt:
			if frame[s.Set] == emptySet {
				frame[s.Set] = ast.NewTerm(ast.NewSet())
			}
			frame[s.Set].Value.(ast.Set).Add(m.operand(frame, s.Value))
		case *ir.WithStmt:
			st, err := m.with(s, frame)
			if err != nil || st.ret {
				return st, err
			}
			if st.brk > 0 {
				return status{brk: st.brk - 1}, nil
			}
			if !st.done {
				return status{}, nil
			}
		case *ir.NopStmt:
		case *ir.ResultSetAddStmt:
			m.results = append(m.results, frame[s.Value])
		default:
			// Prepare refuses every statement stmtParts does not list.
			return status{}, fmt.Errorf("irvm: statement %T", s)
		}
	}
	return status{done: true}, nil
}

// merge is a base document (a) with the virtual documents (b) beside it,
// as topdown and OPA's Wasm runtime merge them: objects key by key,
// recursively; where either side is not an object, the base document wins.
func merge(a, b *ast.Term) *ast.Term {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	ao, aok := a.Value.(ast.Object)
	bo, bok := b.Value.(ast.Object)
	if !aok || !bok {
		return a
	}
	out := ast.NewObject()
	ao.Foreach(func(k, v *ast.Term) {
		if w := bo.Get(k); w != nil {
			v = merge(v, w)
		}
		out.Insert(k, v)
	})
	bo.Foreach(func(k, v *ast.Term) {
		if ao.Get(k) == nil {
			out.Insert(k, v)
		}
	})
	return ast.NewTerm(out)
}

// isKind reports whether a defined value is of kind V.
func isKind[V ast.Value](t *ast.Term) bool {
	if t == nil {
		return false
	}
	_, ok := t.Value.(V)
	return ok
}

// numberRef is the number a MakeNumberRefStmt names, kept as written.
func numberRef(t *ast.Term) json.Number { return json.Number(t.Value.(ast.String)) }

func locText(l ir.Location) string { return fmt.Sprintf("%d:%d", l.Row, l.Col) }

// dot remembers lookups into the input and data documents: every rule of
// a policy reads input.spec and the like again, and the input arrives as a
// lazy object whose every read allocates. Only those documents and values
// read from them are remembered; objects a plan builds change as it runs.
func (m *machine) dot(src, key *ast.Term) *ast.Term {
	if src == nil || key == nil {
		return nil
	}
	if _, ok := m.stable[src]; !ok {
		return dot(src, key)
	}
	k := dotKey{src, key}
	if v, ok := m.dots[k]; ok {
		return v
	}
	v := dot(src, key)
	m.dots[k] = v
	if v != nil {
		m.stable[v] = struct{}{}
	}
	return v
}

type dotKey struct{ src, key *ast.Term }

func dot(src, key *ast.Term) *ast.Term {
	if src == nil || key == nil {
		return nil
	}
	switch v := src.Value.(type) {
	case ast.Object:
		return v.Get(key)
	case *ast.Array:
		n, ok := key.Value.(ast.Number)
		if !ok {
			return nil
		}
		i, ok := n.Int()
		if !ok {
			return nil
		}
		return v.Get(ast.InternedTerm(i))
	case ast.Set:
		if v.Contains(key) {
			return key
		}
	}
	return nil
}

func length(t *ast.Term) (int, bool) {
	if t == nil {
		return 0, false
	}
	switch v := t.Value.(type) {
	case *ast.Array:
		return v.Len(), true
	case ast.Object:
		return v.Len(), true
	case ast.Set:
		return v.Len(), true
	case ast.String:
		return len([]rune(string(v))), true
	}
	return 0, false
}

func (m *machine) scan(s *ir.ScanStmt, frame []*ast.Term) (status, error) {
	src := frame[s.Source]
	if src == nil {
		return status{}, nil
	}
	// The scan's block is a level of its own and so is the scan: a break
	// of 1 from the block leaves the scan and goes on after it.
	body := func(k, v *ast.Term) (status, bool, error) {
		if err := m.tick(); err != nil {
			return status{}, true, err
		}
		frame[s.Key], frame[s.Value] = k, v
		st, err := m.block(s.Block, frame)
		if err != nil || st.ret {
			return st, true, err
		}
		if st.brk > 0 {
			if st.brk == 1 {
				return status{}, true, nil
			}
			return status{brk: st.brk - 1}, true, nil
		}
		return status{}, false, nil
	}
	switch v := src.Value.(type) {
	case *ast.Array:
		for i := range v.Len() {
			st, stop, err := body(ast.InternedTerm(i), v.Elem(i))
			if stop {
				return st, err
			}
		}
	case ast.Object:
		for _, k := range v.Keys() {
			st, stop, err := body(k, v.Get(k))
			if stop {
				return st, err
			}
		}
	case ast.Set:
		for _, e := range v.Slice() {
			st, stop, err := body(e, e)
			if stop {
				return st, err
			}
		}
	}
	return status{}, nil
}

func (m *machine) with(s *ir.WithStmt, frame []*ast.Term) (status, error) {
	saved := frame[s.Local]
	val := m.operand(frame, s.Value)
	if len(s.Path) == 0 {
		frame[s.Local] = val
	} else {
		frame[s.Local] = upsert(saved, s.Path, m.prog.strings, val)
	}
	// A with changes what rules see: their memoised values do not hold
	// inside it, nor do values computed inside hold after it.
	memo, known := m.memo, m.known
	m.memo, m.known = make([]*ast.Term, len(memo)), make([]bool, len(known))
	st, err := m.block(s.Block, frame)
	m.memo, m.known = memo, known
	frame[s.Local] = saved
	return st, err
}

// upsert copies the objects along path and sets the value at its end.
func upsert(t *ast.Term, path []int, strs []*ast.Term, val *ast.Term) *ast.Term {
	var obj ast.Object
	if t != nil {
		if o, ok := t.Value.(ast.Object); ok {
			obj = o.Copy()
		}
	}
	if obj == nil {
		obj = ast.NewObject()
	}
	key := strs[path[0]]
	if len(path) == 1 {
		obj.Insert(key, val)
	} else {
		obj.Insert(key, upsert(obj.Get(key), path[1:], strs, val))
	}
	return ast.NewTerm(obj)
}

func (m *machine) call(s *ir.CallStmt, frame []*ast.Term) (bool, error) {
	c := m.prog.calls[s]
	if c.fn != nil {
		var buf [4]*ast.Term
		args := buf[:0]
		for _, a := range s.Args {
			args = append(args, m.operand(frame, a))
		}
		v, err := m.invoke(c.fn, args)
		if err != nil || v == nil {
			return false, err
		}
		frame[s.Result] = v
		return true, nil
	}
	// Built-ins do not keep their operand slice, and none calls back into
	// the machine, so one buffer serves every call.
	args := m.args[:0]
	for _, a := range s.Args {
		v := m.operand(frame, a)
		if v == nil {
			return false, nil
		}
		args = append(args, v)
	}
	m.args = args
	m.out, m.outSet = nil, false
	bctx := m.bctx
	bctx.Location = c.loc
	if c.bi.relation {
		return m.callRelation(s, c, bctx, args, frame)
	}
	err := c.bi.f(bctx, args, m.emit)
	out, called := m.out, m.outSet
	m.out, m.outSet = nil, false
	if err != nil {
		return false, m.builtinError(err)
	}
	if c.bi.void {
		return called, nil
	}
	if out == nil {
		return false, nil
	}
	frame[s.Result] = out
	return true, nil
}

// builtinError is what a failed built-in call does to the evaluation: nil
// (the call is undefined, as in topdown without strict built-in errors), or
// the error that ends it: the deadline, which built-ins watching Cancel
// report as an error of their own, or a halt.
func (m *machine) builtinError(err error) error {
	if stop := m.stopped(); stop != nil {
		return stop
	}
	var h topdown.Halt
	if errors.As(err, &h) {
		return h.Err
	}
	return nil
}

func (m *machine) callRelation(s *ir.CallStmt, c *call, bctx topdown.BuiltinContext, args []*ast.Term, frame []*ast.Term) (bool, error) {
	m.outs = m.outs[:0]
	err := c.bi.f(bctx, args, m.gather)
	outs := ast.NewArray(slices.Clone(m.outs)...) // NewArray keeps its slice
	clear(m.outs)
	m.outs = m.outs[:0]
	if err != nil {
		return false, m.builtinError(err)
	}
	frame[s.Result] = ast.NewTerm(outs)
	return true, nil
}

func (m *machine) callDynamic(s *ir.CallDynamicStmt, frame []*ast.Term) (status, bool, error) {
	parts := make([]string, len(s.Path))
	for i, p := range s.Path {
		t := m.operand(frame, p)
		if t == nil {
			return status{}, false, nil
		}
		str, ok := t.Value.(ast.String)
		if !ok {
			return status{}, false, nil
		}
		parts[i] = string(str)
	}
	fn, ok := m.prog.byPath[pathKey(parts)]
	if !ok {
		return status{}, false, nil // not a rule: the plan reads the base document next
	}
	args := make([]*ast.Term, len(s.Args))
	for i, a := range s.Args {
		args[i] = frame[a]
	}
	v, err := m.invoke(fn, args)
	if err != nil {
		return status{}, false, err
	}
	if v == nil {
		// The rule exists and is undefined: the whole reference is, as
		// the plan's own break after the base document's lookup says.
		return status{brk: m.prog.dynamic[s]}, false, nil
	}
	frame[s.Result] = v
	return status{}, true, nil
}

func (m *machine) invoke(fn *function, args []*ast.Term) (*ast.Term, error) {
	if err := m.tick(); err != nil {
		return nil, err
	}
	if fn.memo && m.known[fn.index] {
		return m.memo[fn.index], nil
	}
	base := len(m.stack)
	frame := m.push(fn.locals)
	for i, p := range fn.fn.Params {
		if i < len(args) {
			frame[p] = args[i]
		}
	}
	var result *ast.Term
	for _, b := range fn.fn.Blocks {
		st, err := m.block(b, frame)
		if err != nil {
			m.stack = m.stack[:base]
			return nil, err
		}
		if st.ret {
			result = st.val
			break
		}
		if st.brk > 0 {
			break
		}
	}
	m.stack = m.stack[:base]
	if fn.memo {
		m.memo[fn.index], m.known[fn.index] = result, true
	}
	return result, nil
}
