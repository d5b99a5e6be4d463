package policyeval

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/ir"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/util"

	"github.com/meshbot/meshbot/internal/irvm"
	"github.com/meshbot/meshbot/internal/mesh"
)

// Limits on a policy folder: the guild's repository is trusted more than a
// PR's files, but a runaway folder must not exhaust a replica.
const (
	maxPolicyFiles = 2000
	maxPolicyBytes = 16 << 20
)

// Set is a compiled, prepared policy folder. It is immutable and safe for
// concurrent use.
type Set struct {
	version    string
	timeout    time.Duration
	compiler   *ast.Compiler
	data       map[string]any
	query      ast.Body
	rules      []*ruleInfo // aligned with the aggregator's results array
	exceptions []string    // package of each entry of the aggregator's exceptions array
	free       chan *evaluator
	// prog is the query planned for irvm; nil when the plan needs topdown.
	prog *irvm.Program
	// fallback is why prog is nil when irvm was wanted (Fallback).
	fallback error
	funcs    []int // the plan's functions of rules, then of exceptions
	dataVal  ast.Object
	// topData and meshbotData are data's top level and data.meshbot's
	// keys (context aside), converted once; each evaluation puts its
	// context beside them.
	topData, meshbotData map[string]any
	// readsContext is false when no policy refers to data.meshbot: conftest
	// policies do not, and then the context is neither built nor mounted.
	readsContext bool
	origin       Origin // where the Set came from (WithOrigin)
}

// An evaluator is a prepared query over a store of its own. The context is
// written into that store inside a transaction that is never committed; an
// evaluator serves one evaluation at a time, so concurrent evaluations never
// wait on one store's write lock.
type evaluator struct {
	store storage.Store
	query rego.PreparedEvalQuery
}

// maxIdleEvaluators bounds the evaluators a Set keeps between evaluations.
const maxIdleEvaluators = 64

func (s *Set) newEvaluator(ctx context.Context) (*evaluator, error) {
	store := inmem.NewFromObjectWithOpts(s.data, inmem.OptRoundTripOnWrite(false), inmem.OptReturnASTValuesOnRead(true))
	pq, err := rego.New(
		rego.ParsedQuery(s.query),
		rego.Compiler(s.compiler),
		rego.Store(store),
		// Most rule bodies produce nothing; keep results as OPA terms and
		// convert only the messages there are.
		rego.GenerateJSON(func(t *ast.Term, _ *rego.EvalContext) (any, error) { return t, nil }),
	).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("load policy: prepare query: %w", err)
	}
	return &evaluator{store: store, query: pq}, nil
}

func (s *Set) acquire(ctx context.Context) (*evaluator, error) {
	select {
	case e := <-s.free:
		return e, nil
	default:
		return s.newEvaluator(ctx)
	}
}

func (s *Set) release(e *evaluator) {
	select {
	case s.free <- e:
	default:
	}
}

// Version is a short content hash of the policy files: the policy version
// that judged, shown in reports.
func (s *Set) Version() string { return s.version }

// Rules is how many deny/violation/warn rule bodies the Set evaluates.
func (s *Set) Rules() int { return len(s.rules) }

// readsContext reports whether a policy module (tests aside) may read
// data.meshbot. Imports are resolved by the compiler, so every reference is
// a full one; a reference into data with a computed key counts as reading it.
func readsContext(c *ast.Compiler) bool {
	found := false
	for path, m := range c.Modules {
		if isTestFile(path) {
			continue
		}
		ast.WalkRefs(m, func(r ast.Ref) bool {
			if found || !r[0].Equal(ast.DefaultRootDocument) {
				return found
			}
			if len(r) < 2 {
				found = true
				return true
			}
			if key, ok := r[1].Value.(ast.String); !ok || key == "meshbot" {
				found = true
			}
			return found
		})
	}
	return found
}

// policyFiles is a policy folder read into memory.
type policyFiles struct {
	modules map[string]*ast.Module // by slash path
	sources map[string]string
	data    map[string]any
	version string
}

// sandboxed are the builtins a policy may not call: they reach the network
// or leak the process environment. Today's date is in the context instead
// of the environment, so time.now_ns stays.
var sandboxed = map[string]bool{
	ast.HTTPSend.Name:        true,
	ast.NetLookupIPAddr.Name: true,
	ast.OPARuntime.Name:      true,
}

func capabilities() *ast.Capabilities {
	c := ast.CapabilitiesForThisVersion()
	kept := c.Builtins[:0:0]
	for _, b := range c.Builtins {
		if !sandboxed[b.Name] {
			kept = append(kept, b)
		}
	}
	c.Builtins = kept
	c.AllowNet = []string{} // belt and braces: no host is reachable
	return c
}

// Load compiles every .rego file of fsys (Rego v1), mounts its .json/.yaml
// data files under data by folder path, and prepares one query evaluating
// every deny/violation/warn rule body of every package. Rules in _test.rego
// files are compiled but never evaluated as policy. A folder that does not
// compile returns *CompileError.
func Load(ctx context.Context, fsys fs.FS, opts Options) (*Set, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	pf, err := readPolicy(fsys)
	if err != nil {
		return nil, err
	}
	if len(pf.modules) == 0 {
		return nil, fmt.Errorf("load policy: no .rego files found")
	}
	// Compile the folder as written first, so errors point at the user's
	// rules and are reported once.
	user, err := compile(pf.modules, false)
	if err != nil {
		return nil, err
	}

	route, err := routes(user)
	if err != nil {
		return nil, err
	}
	comp, err := buildCompanions(pf)
	if err != nil {
		return nil, fmt.Errorf("load policy: %w", err)
	}
	for _, r := range comp.rules {
		r.documents = route[r.pkg]
	}
	all := maps.Clone(pf.modules)
	maps.Copy(all, comp.modules)
	compiler, err := compile(all, false)
	if err != nil {
		return nil, fmt.Errorf("load policy: companion modules: %w", err)
	}
	reserveContext(pf.data)
	set := &Set{
		version:    pf.version,
		timeout:    opts.Timeout,
		compiler:   compiler,
		data:       pf.data,
		query:      ast.MustParseBody(fmt.Sprintf("%s = %s.results; %s = %s.exceptions", resultVar, aggregatorPkg, exceptionVar, aggregatorPkg)),
		rules:      comp.rules,
		exceptions: comp.exceptions,
		free:       make(chan *evaluator, maxIdleEvaluators),

		readsContext: readsContext(user),
	}
	if !opts.Topdown {
		log := opts.Logger
		if log == nil {
			log = slog.Default()
		}
		if err := set.prepareIRVM(ctx, comp, log, opts.mutatePlan); err != nil {
			return nil, err
		}
	}
	if set.prog == nil {
		// Prepare one evaluator now: a query that cannot be prepared fails
		// Load, not the first check.
		e, err := set.newEvaluator(ctx)
		if err != nil {
			return nil, err
		}
		set.release(e)
	}
	return set, nil
}

// reserveContext makes room at data.meshbot.context, where each evaluation
// mounts its Context, keeping data files' other keys under data.meshbot.
func reserveContext(data map[string]any) {
	if m, ok := data["meshbot"].(map[string]any); ok {
		if _, ok := m["context"]; !ok {
			m["context"] = map[string]any{}
		}
		return
	}
	data["meshbot"] = map[string]any{"context": map[string]any{}}
}

// ErrNoRuleFunc is a plan in which the planned function of a rule Eval
// reads could not be found (irvm.Program.Func): the Set falls back to
// topdown.
var ErrNoRuleFunc = errors.New("the plan has no unique function for a rule")

// prepareIRVM plans the query for irvm. When the planner or irvm refuses
// the plan, or a rule's function cannot be found in it, s.prog stays nil,
// topdown judges, and why is logged once and kept (Fallback).
func (s *Set) prepareIRVM(ctx context.Context, comp *companions, log *slog.Logger, mutate func(*ir.Policy)) error {
	prog, dataVal, err := prepareProgram(ctx, s.compiler, s.query, s.data, mutate)
	if err == nil {
		if s.funcs, err = ruleFuncs(prog, comp); err == nil {
			s.prog, s.dataVal = prog, dataVal
			s.topData, s.meshbotData = splitData(dataVal)
			return nil
		}
	}
	var data dataError
	if errors.As(err, &data) {
		return data.err
	}
	s.fallback = err
	log.WarnContext(ctx, "policy: irvm cannot run this policy; it is judged with OPA's topdown",
		"policy_version", s.version, "reason", err.Error())
	return nil
}

// dataError is a data document that cannot be a policy's data: an error of
// Load, not a reason to fall back.
type dataError struct{ err error }

func (e dataError) Error() string { return e.err.Error() }

// Fallback is why the Set evaluates with topdown although Options.Topdown
// was not asked for (the planner's or irvm's refusal, an
// *irvm.UnsupportedError when irvm refused a statement or built-in); nil
// when irvm judges or topdown was asked for.
func (s *Set) Fallback() error { return s.fallback }

// splitData is data's top level and data.meshbot's keys but context, which
// each evaluation completes with its own context.
func splitData(data ast.Object) (top, meshbot map[string]any) {
	top, meshbot = map[string]any{}, map[string]any{}
	data.Foreach(func(k, v *ast.Term) {
		key, _ := k.Value.(ast.String)
		if key != "meshbot" {
			top[string(key)] = v.Value
			return
		}
		if mb, ok := v.Value.(ast.Object); ok {
			mb.Foreach(func(k2, v2 *ast.Term) {
				if key2, _ := k2.Value.(ast.String); key2 != "context" {
					meshbot[string(key2)] = v2.Value
				}
			})
		}
	})
	return top, meshbot
}

// prepareProgram plans the query for irvm and prepares the plan. A plan the
// planner or irvm refuses is returned as that error (irvm refusals are
// *irvm.UnsupportedError); data that is no object is a dataError.
func prepareProgram(ctx context.Context, compiler *ast.Compiler, query ast.Body, data map[string]any, mutate func(*ir.Policy)) (*irvm.Program, ast.Object, error) {
	plan, err := irvm.Plan(ctx, compiler, query)
	if err != nil {
		return nil, nil, err
	}
	if mutate != nil {
		mutate(plan)
	}
	prog, err := irvm.Prepare(plan, compiler.Capabilities())
	if err != nil {
		return nil, nil, fmt.Errorf("prepare plan: %w", err)
	}
	v, err := ast.InterfaceToValue(data)
	if err != nil {
		return nil, nil, dataError{fmt.Errorf("load policy: data: %w", err)}
	}
	obj, ok := v.(ast.Object)
	if !ok {
		return nil, nil, dataError{fmt.Errorf("load policy: data is %T, not an object", v)}
	}
	return prog, obj, nil
}

// ruleFuncs finds the planned function of every rule body's companion and
// every package's exception rule, in the order Eval reads them.
func ruleFuncs(prog *irvm.Program, comp *companions) ([]int, error) {
	var out []int
	find := func(pkg, rule string) error {
		path, ok := rulePath(pkg, rule)
		f, found := 0, false
		if ok {
			f, found = prog.Func(path...)
		}
		if !found {
			return fmt.Errorf("%w: data.%s.%s", ErrNoRuleFunc, pkg, rule)
		}
		out = append(out, f)
		return nil
	}
	for i, r := range comp.rules {
		if err := find(r.pkg, fmt.Sprintf("%s%d", companionPrefix, i)); err != nil {
			return nil, err
		}
	}
	for _, pkg := range comp.exceptions {
		if err := find(pkg, exceptionRule); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// rulePath is the path of rule in package pkg ("mesh.residency") as the
// planner's function paths spell it.
func rulePath(pkg, rule string) ([]string, bool) {
	ref, err := ast.ParseRef("data." + pkg)
	if err != nil {
		return nil, false
	}
	var out []string
	for _, t := range ref[1:] {
		s, ok := t.Value.(ast.String)
		if !ok {
			return nil, false
		}
		out = append(out, string(s))
	}
	return append(out, rule), true
}

// Engine names the evaluator the Set uses: "irvm" or "topdown".
func (s *Set) Engine() string {
	if s.prog != nil {
		return "irvm"
	}
	return "topdown"
}

func parserOptions() ast.ParserOptions {
	return ast.ParserOptions{RegoVersion: ast.RegoV1, ProcessAnnotation: true}
}

func newCompiler() *ast.Compiler {
	return ast.NewCompiler().
		WithCapabilities(capabilities()).
		WithDefaultRegoVersion(ast.RegoV1).
		SetErrorLimit(0)
}

func compile(modules map[string]*ast.Module, prints bool) (*ast.Compiler, error) {
	c := newCompiler().WithEnablePrintStatements(prints)
	c.Compile(modules)
	if c.Failed() {
		return nil, compileError(c.Errors, modules)
	}
	return c, nil
}

// readPolicy reads, hashes and parses a policy folder. Hidden folders (.git,
// .github) are skipped.
func readPolicy(fsys fs.FS) (*policyFiles, error) {
	pf := &policyFiles{
		modules: map[string]*ast.Module{},
		sources: map[string]string{},
		data:    map[string]any{},
	}
	type file struct {
		path string
		src  []byte
	}
	var files []file
	total := 0
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && strings.HasPrefix(d.Name(), ".") {
				return fs.SkipDir
			}
			return nil
		}
		switch path.Ext(p) {
		case ".rego", ".json", ".yaml", ".yml":
		default:
			return nil
		}
		src, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		total += len(src)
		if len(files) >= maxPolicyFiles || total > maxPolicyBytes {
			return fmt.Errorf("policy folder is larger than %d files or %d bytes", maxPolicyFiles, maxPolicyBytes)
		}
		files = append(files, file{p, src})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read policy: %w", err)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].path < files[j].path })

	h := sha256.New()
	var problems []Problem
	for _, f := range files {
		fmt.Fprintf(h, "%s\x00%d\x00", f.path, len(f.src))
		h.Write(f.src)
		if path.Ext(f.path) == ".rego" {
			m, err := ast.ParseModuleWithOpts(f.path, string(f.src), parserOptions())
			if err != nil {
				problems = append(problems, astProblems(err, nil)...)
				continue
			}
			pf.modules[f.path] = m
			pf.sources[f.path] = string(f.src)
			continue
		}
		if err := mountData(pf.data, f.path, f.src); err != nil {
			var p Problem
			if errors.As(err, &p) {
				problems = append(problems, p)
				continue
			}
			problems = append(problems, Problem{File: f.path, Line: 1, Message: err.Error()})
		}
	}
	if len(problems) > 0 {
		return nil, &CompileError{Errors: problems}
	}
	pf.version = hex.EncodeToString(h.Sum(nil))[:12]
	return pf, nil
}

// Problem is usable as an error where a data file fails.
func (p Problem) Error() string { return p.String() }

// mountData merges a data file under data at its folder path, as OPA's
// loader and conftest do: a/b/x.yaml holding {"k": 1} becomes data.a.b.k.
func mountData(root map[string]any, p string, src []byte) error {
	var v any
	if path.Ext(p) == ".json" {
		if err := util.UnmarshalJSON(src, &v); err != nil {
			return Problem{File: p, Line: 1, Message: "data file is not valid JSON: " + err.Error()}
		}
	} else {
		doc, err := mesh.ParseYAML(p, src)
		if err != nil {
			var mp mesh.Problem
			if errors.As(err, &mp) {
				return Problem{File: p, Line: mp.Pos.Line, Col: mp.Pos.Col, Message: mp.Message}
			}
			return Problem{File: p, Line: 1, Message: err.Error()}
		}
		// Normalise YAML scalars (int64 and friends) to what the store expects.
		bs, err := json.Marshal(doc.Value)
		if err != nil {
			return Problem{File: p, Line: 1, Message: "data file cannot be represented as JSON: " + err.Error()}
		}
		if err := util.UnmarshalJSON(bs, &v); err != nil {
			return Problem{File: p, Line: 1, Message: err.Error()}
		}
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return Problem{File: p, Line: 1, Message: "data file must hold an object at its top level"}
	}
	node := root
	if dir := path.Dir(p); dir != "." {
		for _, k := range strings.Split(dir, "/") {
			next, ok := node[k].(map[string]any)
			if !ok {
				if _, exists := node[k]; exists {
					return Problem{File: p, Line: 1, Message: fmt.Sprintf("data at %q conflicts with another data file", dir)}
				}
				next = map[string]any{}
				node[k] = next
			}
			node = next
		}
	}
	return mergeData(node, obj, p)
}

func mergeData(dst, src map[string]any, file string) error {
	for k, v := range src {
		old, exists := dst[k]
		if !exists {
			dst[k] = v
			continue
		}
		om, ok1 := old.(map[string]any)
		nm, ok2 := v.(map[string]any)
		if !ok1 || !ok2 {
			return Problem{File: file, Line: 1, Message: fmt.Sprintf("data key %q is defined by two data files", k)}
		}
		if err := mergeData(om, nm, file); err != nil {
			return err
		}
	}
	return nil
}

// compileError turns OPA's errors into Problems, adding the fix where meshbot
// knows one.
func compileError(errs ast.Errors, modules map[string]*ast.Module) error {
	return &CompileError{Errors: astProblems(errs, modules)}
}

func astProblems(err error, modules map[string]*ast.Module) []Problem {
	var errs ast.Errors
	if !errors.As(err, &errs) {
		return []Problem{{Message: err.Error()}}
	}
	out := make([]Problem, 0, len(errs))
	for _, e := range errs {
		p := Problem{Message: e.Message}
		if e.Location != nil {
			p.File, p.Line, p.Col = e.Location.File, e.Location.Row, e.Location.Col
		}
		explain(&p, e, modules)
		out = append(out, p)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].File != out[j].File {
			return out[i].File < out[j].File
		}
		return out[i].Line < out[j].Line
	})
	return out
}

// explain adds meshbot's advice to errors users will meet when moving
// conftest policies to OPA v1 or to meshbot's sandbox.
func explain(p *Problem, e *ast.Error, modules map[string]*ast.Module) {
	for name := range sandboxed {
		if strings.Contains(e.Message, "undefined function "+name) {
			p.Message = fmt.Sprintf("%s is not available: meshbot evaluates policy in a sandbox without network or runtime-environment access (%s)", name, e.Message)
			p.Sandbox = name
			p.Fix = "ship reference data as .json/.yaml files in the policy folder (mounted under data by folder path) and read meshbot's context from data.meshbot.context"
			return
		}
	}
	if e.Code == ast.CompileErr && strings.HasPrefix(e.Message, "var ") && strings.HasSuffix(e.Message, " is unsafe") ||
		e.Code == "rego_unsafe_var_error" {
		if modules == nil || e.Location == nil {
			return
		}
		m := modules[e.Location.File]
		if m == nil {
			return
		}
		if fix, meaning, ok := negatedWildcardFix(m, e.Location.Row); ok {
			p.Message = fmt.Sprintf("%s: OPA v1 cannot bind a wildcard inside `not`; and as written the rule would mean %q, not that every one does", e.Message, meaning)
			p.Fix = fix
		}
	}
}

// negatedWildcardFix finds the negated expression at line whose reference
// iterates with a wildcard (not input.spec.outputPorts[_].contract) and
// rewrites it to name the element (some port in input.spec.outputPorts; not
// port.contract), which is what "every element must have it" means.
func negatedWildcardFix(m *ast.Module, line int) (fix, meaning string, ok bool) {
	ast.WalkExprs(m, func(x *ast.Expr) bool {
		if ok || !x.Negated || x.Location == nil || x.Location.Row != line {
			return ok
		}
		var target ast.Ref
		wild := -1
		ast.WalkRefs(x, func(r ast.Ref) bool {
			if wild >= 0 {
				return true
			}
			for i := 1; i < len(r); i++ {
				if v, isVar := r[i].Value.(ast.Var); isVar && v.IsWildcard() {
					target, wild = r, i
					return true
				}
			}
			return false
		})
		if wild < 0 {
			return false
		}
		coll := target[:wild].Copy()
		elem := elementName(coll)
		rest := target[wild+1:]
		replacement := ast.Ref{ast.VarTerm(elem)}.Concat(rest)
		rewritten := x.Copy()
		rewritten.Negated = false
		out, err := ast.TransformRefs(rewritten, func(r ast.Ref) (ast.Value, error) {
			if r.Equal(target) {
				return replacement, nil
			}
			return r, nil
		})
		if err != nil {
			return false
		}
		body := out.(*ast.Expr).String()
		fix = fmt.Sprintf("some %s in %s; not %s", elem, coll, body)
		if len(rest) > 0 && body == replacement.String() {
			meaning = fmt.Sprintf("no %s has a %s", elem, strings.TrimPrefix(ast.Ref(append(ast.Ref{ast.VarTerm("x")}, rest...)).String(), "x."))
		} else {
			meaning = fmt.Sprintf("no %s satisfies %s", elem, body)
		}
		ok = true
		return true
	})
	return fix, meaning, ok
}

// elementName derives a variable name for an element of coll: outputPorts
// gives port, items gives item.
func elementName(coll ast.Ref) string {
	name := "x"
	if last, ok := coll[len(coll)-1].Value.(ast.String); ok {
		s := string(last)
		// last camelCase word, lower-cased
		for i := len(s) - 1; i > 0; i-- {
			if s[i] >= 'A' && s[i] <= 'Z' {
				s = s[i:]
				break
			}
		}
		s = strings.ToLower(s)
		switch {
		case strings.HasSuffix(s, "ies") && len(s) > 3:
			s = s[:len(s)-3] + "y"
		case strings.HasSuffix(s, "s") && len(s) > 1:
			s = s[:len(s)-1]
		default:
			s = s + "_item"
		}
		if varName.MatchString(s) && !ast.IsKeyword(s) {
			name = s
		}
	}
	return name
}

var varName = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)
