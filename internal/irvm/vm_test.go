package irvm

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/ir"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/util"
)

// Every case runs twice, through OPA's topdown and through irvm, and the two
// must agree: same value, same undefinedness, an error in both or neither.
var cases = []struct {
	name   string
	module string
	query  string
	inputs []string
	data   string
}{
	{
		name: "partial set with iteration and sprintf",
		module: `package t
deny contains msg if {
	some port in input.ports
	not endswith(port.location, "/")
	msg := sprintf("port %v: %v", [port.name, port.location])
}`,
		query:  "x = data.t.deny",
		inputs: []string{`{"ports":[{"name":"a","location":"s3://x"},{"name":"b","location":"s3://y/"}]}`, `{}`, `{"ports":"nope"}`, `{"ports":[{"name":"a"}]}`},
	},
	{
		name: "complete rules, default, else",
		module: `package t
default level := "low"
level := "high" if input.n > 10
else := "mid" if input.n > 5
size := count(input.xs)
flag if input.flag == true`,
		query:  "a = data.t.level; b = data.t",
		inputs: []string{`{"n":11,"xs":[1,2]}`, `{"n":6}`, `{"n":1,"flag":true}`, `{}`},
	},
	{
		name: "conflict in a complete rule",
		module: `package t
v := x if some x in input.xs`,
		query:  "a = data.t.v",
		inputs: []string{`{"xs":[1]}`, `{"xs":[1,2]}`, `{"xs":[]}`},
	},
	{
		name: "functions, else in functions, recursion through helpers",
		module: `package t
kebab(s) if regex.match("^[a-z0-9]+(-[a-z0-9]+)*$", s)
kind(x) := "num" if is_number(x)
else := "str" if is_string(x)
else := "other"
bad contains name if { some name in input.names; not kebab(name) }
kinds := [kind(x) | some x in input.vals]`,
		query:  "a = data.t.bad; b = data.t.kinds",
		inputs: []string{`{"names":["ok-name","Bad_Name","x"],"vals":[1,"a",true,null]}`, `{}`},
	},
	{
		name: "comprehensions and every",
		module: `package t
objs := {k: v | some k, v in input.m; v > 1}
sets := {x | some x in input.xs; x != 2}
all_pos if every x in input.xs { x > 0 }
none_neg if { not any_neg }
any_neg if { some x in input.xs; x < 0 }`,
		query:  "a = data.t",
		inputs: []string{`{"m":{"a":1,"b":2,"c":3},"xs":[1,2,3]}`, `{"m":{},"xs":[-1,2]}`, `{"xs":[]}`},
	},
	{
		name: "with on input and data",
		module: `package t
limit := data.cfg.limit
over if input.n > limit
probe := r if { r := over with input as {"n": 100} }
probe2 := r if { r := over with data.cfg.limit as 1000 }`,
		query:  "a = data.t",
		data:   `{"cfg":{"limit":10}}`,
		inputs: []string{`{"n":5}`, `{"n":50}`},
	},
	{
		name: "base documents, virtual documents and a data ref with a variable",
		module: `package lib.names
up := upper(input.name)
package t
import data.lib
name_of(k) := data.lib.names[k]
got := name_of("up")
static := data.lib.static.v
some_pkg contains p if { some p, _ in data.lib }`,
		query:  "a = data.t",
		data:   `{"lib":{"static":{"v":7}}}`,
		inputs: []string{`{"name":"ab"}`, `{}`},
	},
	{
		name: "numbers, equality across representations, builtin errors are undefined",
		module: `package t
eq if input.a == 1.0
n := to_number(input.s)
d := input.a / input.b
big := 12345678901234567890
idx := input.arr[1]
neg := input.arr[-1]`,
		query:  "a = data.t",
		inputs: []string{`{"a":1,"s":"12","b":2,"arr":[5,6]}`, `{"a":1,"s":"x","b":0}`},
	},
	{
		name: "ref heads and multi-value objects",
		module: `package t
deny.owner contains "missing owner" if not input.owner
deny.name contains "bad name" if contains(input.name, "_")
byname[input.name] := input.owner if input.name`,
		query:  "a = data.t.deny; b = data.t",
		inputs: []string{`{"name":"a_b"}`, `{"name":"ab","owner":"me"}`, `{}`},
	},
	{
		name: "sets and objects as input values, set iteration order, walk (a relation)",
		module: `package t
keys := [k | some k, _ in input.o]
vals := {v | some v in input.o}
paths contains p if { walk(input, [p, v]); is_string(v) }
nodes := count([x | walk(input, x)])
leaves := [v | walk(input.o, [_, v]); not is_object(v); not is_array(v)]`,
		query:  "a = data.t.keys; b = data.t.vals; c = data.t.paths; d = data.t.nodes; e = data.t.leaves",
		inputs: []string{`{"o":{"z":"1","a":"2","m":"3"}}`, `{"o":{"x":[{"y":"s"}, 1, "t"]}}`, `{}`},
	},
	{
		name: "iteration order over values the plan builds",
		module: `package t
s := {x | some x in input.xs}
o := {k: 1 | some k in input.xs}
from_set := [x | some x in s]
from_obj := [k | some k, _ in o]
pairs := [[k, v] | some k, v in {"b": 2, "a": 1, "c": [3]}]
nested := {p: {q | some q in input.xs; q != p} | some p in input.xs}`,
		query:  "a = data.t",
		inputs: []string{`{"xs":["c","a","b","a"]}`, `{"xs":[3,1,2]}`, `{"xs":[]}`},
	},
	{
		name: "not over a function and object pattern matching",
		module: `package t
pair(x) if { [a, b] := x; a < b }
ok if not pair(input.p)
obj if { {"k": v} := input.o; v == 1 }`,
		query:  "a = data.t",
		inputs: []string{`{"p":[1,2],"o":{"k":1}}`, `{"p":[2,1],"o":{"k":2,"j":3}}`, `{"p":[1,2,3]}`},
	},
}

func TestAgreesWithTopdown(t *testing.T) {
	ctx := context.Background()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			modules := map[string]*ast.Module{}
			for i, src := range strings.Split(tc.module, "package ")[1:] {
				m, err := ast.ParseModuleWithOpts(string(rune('a'+i))+".rego", "package "+src, ast.ParserOptions{RegoVersion: ast.RegoV1})
				if err != nil {
					t.Fatal(err)
				}
				modules[m.Package.Path.String()] = m
			}
			compiler := ast.NewCompiler()
			compiler.Compile(modules)
			if compiler.Failed() {
				t.Fatal(compiler.Errors)
			}
			query := ast.MustParseBody(tc.query)
			data := map[string]any{}
			if tc.data != "" {
				if err := util.UnmarshalJSON([]byte(tc.data), &data); err != nil {
					t.Fatal(err)
				}
			}
			store := inmem.NewFromObject(data)
			pq, err := rego.New(rego.ParsedQuery(query), rego.Compiler(compiler), rego.Store(store)).PrepareForEval(ctx)
			if err != nil {
				t.Fatal(err)
			}
			prog := prepare(t, compiler, query)
			dataVal, err := ast.InterfaceToValue(data)
			if err != nil {
				t.Fatal(err)
			}
			for _, in := range tc.inputs {
				input := ast.MustParseTerm(in).Value
				want, werr := topdownResult(ctx, pq, input)
				got, gerr := irvmResult(ctx, prog, input, dataVal)
				if (werr != nil) != (gerr != nil) {
					t.Fatalf("input %s: topdown error %v, irvm error %v", in, werr, gerr)
				}
				if werr != nil {
					continue
				}
				if want.Compare(got) != 0 {
					t.Errorf("input %s:\ntopdown %v\nirvm    %v", in, want, got)
				}
			}
		})
	}
}

func prepare(t *testing.T, compiler *ast.Compiler, query ast.Body) *Program {
	t.Helper()
	plan, err := Plan(context.Background(), compiler, query)
	if err != nil {
		t.Fatal(err)
	}
	prog, err := Prepare(plan, nil)
	if err != nil {
		t.Fatal(err)
	}
	return prog
}

// topdownResult is the query's result set as irvm returns it: one object
// per solution, keyed by the query's variables.
func topdownResult(ctx context.Context, pq rego.PreparedEvalQuery, input ast.Value) (ast.Value, error) {
	rs, err := pq.Eval(ctx, rego.EvalParsedInput(input))
	if err != nil {
		return nil, err
	}
	out := ast.NewSet()
	for _, r := range rs {
		obj := ast.NewObject()
		for k, v := range r.Bindings {
			val, err := ast.InterfaceToValue(v)
			if err != nil {
				return nil, err
			}
			obj.Insert(ast.StringTerm(k), ast.NewTerm(val))
		}
		out.Add(ast.NewTerm(obj))
	}
	return out, nil
}

func irvmResult(ctx context.Context, prog *Program, input, data ast.Value) (ast.Value, error) {
	rs, err := prog.Eval(ctx, input, data, EvalOptions{})
	if err != nil {
		return nil, err
	}
	out := ast.NewSet()
	for _, r := range rs {
		// Sets built in place by the plan must read back as plain values.
		v, err := ast.InterfaceToValue(mustJSON(r.Value))
		if err != nil {
			return nil, err
		}
		out.Add(ast.NewTerm(v))
	}
	return out, nil
}

func mustJSON(v ast.Value) any {
	x, err := ast.JSON(v)
	if err != nil {
		panic(err)
	}
	return x
}

func TestCancelled(t *testing.T) {
	ctx := context.Background()
	m := ast.MustParseModuleWithOpts(`package t
n := count([1 | some a in numbers.range(1, 300); some b in numbers.range(1, 300); some c in numbers.range(1, 300)])`, ast.ParserOptions{RegoVersion: ast.RegoV1})
	compiler := ast.NewCompiler()
	compiler.Compile(map[string]*ast.Module{"t": m})
	query := ast.MustParseBody("x = data.t.n")
	prog := prepare(t, compiler, query)
	ctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := prog.Eval(ctx, ast.NewObject(), ast.NewObject(), EvalOptions{}); err == nil {
		t.Fatal("a 27-million-step evaluation finished inside 50 ms, or ignored its deadline")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("stopped after %s, want soon after the 50 ms deadline", d)
	}
}

func TestClock(t *testing.T) {
	m := ast.MustParseModuleWithOpts("package t\nnow := time.now_ns()\n", ast.ParserOptions{RegoVersion: ast.RegoV1})
	compiler := ast.NewCompiler()
	compiler.Compile(map[string]*ast.Module{"t": m})
	prog := prepare(t, compiler, ast.MustParseBody("x = data.t.now"))
	at := time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)
	rs, err := prog.Eval(context.Background(), ast.NewObject(), ast.NewObject(), EvalOptions{Time: at})
	if err != nil || len(rs) != 1 {
		t.Fatal(err, rs)
	}
	got := rs[0].Value.(ast.Object).Get(ast.StringTerm("x"))
	if want := ast.NumberTerm(jsonNumber(at.UnixNano())); !got.Equal(want) {
		t.Fatalf("time.now_ns() = %v, want %v", got, want)
	}
}

func TestTimeout(t *testing.T) {
	m := ast.MustParseModuleWithOpts(`package t
n := count([1 | some a in numbers.range(1, 300); some b in numbers.range(1, 300); some c in numbers.range(1, 300)])`, ast.ParserOptions{RegoVersion: ast.RegoV1})
	compiler := ast.NewCompiler()
	compiler.Compile(map[string]*ast.Module{"t": m})
	prog := prepare(t, compiler, ast.MustParseBody("x = data.t.n"))
	start := time.Now()
	_, err := prog.Eval(context.Background(), ast.NewObject(), ast.NewObject(), EvalOptions{Timeout: 50 * time.Millisecond})
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("stopped after %s, want soon after 50 ms", d)
	}
}

// A plan naming a built-in topdown does not have is refused, so that the
// caller keeps topdown.
func TestPrepareRefuses(t *testing.T) {
	p := &ir.Policy{
		Static: &ir.Static{BuiltinFuncs: []*ir.BuiltinFunc{{Name: "no.such.builtin"}}},
		Plans:  &ir.Plans{Plans: []*ir.Plan{{Name: "eval"}}},
	}
	if _, err := Prepare(p, nil); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("err = %v, want ErrUnsupported", err)
	}
	if _, err := Prepare(&ir.Policy{Plans: &ir.Plans{}}, nil); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("no plan: err = %v, want ErrUnsupported", err)
	}
}
