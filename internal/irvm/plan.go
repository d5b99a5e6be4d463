package irvm

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/ir"
	"github.com/open-policy-agent/opa/v1/rego"
)

// OPA's planner is internal to OPA; its public door is a rego target plugin,
// which receives the plan of a query at PrepareForEval. Plugins live in one
// registry per process, so meshbot registers one and hands plans back
// through it one preparation at a time.
const targetName = "meshbot-irvm"

type capture struct {
	mu   sync.Mutex
	plan *ir.Policy
}

func (*capture) IsTarget(t string) bool { return t == targetName }

func (c *capture) PrepareForEval(_ context.Context, p *ir.Policy, _ ...rego.PrepareOption) (rego.TargetPluginEval, error) {
	c.plan = p
	return refuse{}, nil
}

// refuse is what OPA would call had anyone evaluated the capture query.
type refuse struct{}

func (refuse) Eval(context.Context, *rego.EvalContext, ast.Value) (ast.Value, error) {
	return nil, errors.New("irvm: the capture target does not evaluate")
}

var (
	registerOnce sync.Once
	plans        = &capture{}
)

// Plan lowers query, over the compiled modules, to OPA's IR.
func Plan(ctx context.Context, compiler *ast.Compiler, query ast.Body) (*ir.Policy, error) {
	registerOnce.Do(func() { rego.RegisterPlugin(targetName, plans) })
	plans.mu.Lock()
	defer plans.mu.Unlock()
	plans.plan = nil
	_, err := rego.New(
		rego.ParsedQuery(query),
		rego.Compiler(compiler),
		rego.Target(targetName),
	).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("plan policy: %w", err)
	}
	if plans.plan == nil {
		return nil, errors.New("plan policy: the planner produced no plan")
	}
	return plans.plan, nil
}
