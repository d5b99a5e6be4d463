package policyrepo

import (
	"context"
	"errors"
	"io/fs"

	"github.com/meshbot/meshbot/internal/policyeval"
)

// Reason is why a bundle was refused; it labels the refusals metric.
type Reason string

// The reasons a bundle is refused.
const (
	ReasonNone    Reason = ""
	ReasonLoad    Reason = "load"    // no Rego file in the policy folder, or past its limits
	ReasonCompile Reason = "compile" // a compile error (data files included)
	ReasonSandbox Reason = "sandbox" // a built-in the sandbox refuses
	ReasonTests   Reason = "tests"   // a Rego test failed or errored
)

// Verdict is what meshbot makes of a bundle: compiled (Set) or not
// (Problems), and its tests' report.
type Verdict struct {
	Bundle   *Bundle
	Set      *policyeval.Set      // nil unless it compiled
	Problems []policyeval.Problem // compile errors, paths inside the bundle
	// LoadErr is a failure that is not a compile error of a file (no Rego
	// file at all, the folder's limits).
	LoadErr error
	Tests   *policyeval.TestReport // nil unless it compiled
}

// Reason says why the bundle is refused, ReasonNone when it is not.
func (v *Verdict) Reason() Reason {
	switch {
	case v.LoadErr != nil:
		return ReasonLoad
	case len(v.Problems) > 0:
		for _, p := range v.Problems {
			if p.Sandbox != "" {
				return ReasonSandbox
			}
		}
		return ReasonCompile
	case v.Tests != nil && !v.Tests.OK():
		return ReasonTests
	}
	return ReasonNone
}

// OK says whether the bundle may become the active policy.
func (v *Verdict) OK() bool { return v.Reason() == ReasonNone }

// verify compiles the bundle in the sandbox (policyeval refuses the
// sandboxed built-ins at compile time, so a policy calling one never
// loads), then runs its Rego tests. The only error is ctx's.
func verify(ctx context.Context, b *Bundle) (*Verdict, error) {
	v := &Verdict{Bundle: b}
	fsys, err := b.FS()
	if err != nil {
		v.LoadErr = err
		return v, nil
	}
	set, err := policyeval.Load(ctx, fsys, policyeval.Options{})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var ce *policyeval.CompileError
	switch {
	case errors.As(err, &ce):
		v.Problems = ce.Errors
		return v, nil
	case err != nil:
		v.LoadErr = err
		return v, nil
	}
	v.Set = set
	rep, err := runTests(ctx, fsys)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	switch {
	case errors.As(err, &ce):
		v.Problems = ce.Errors
	case err != nil:
		v.LoadErr = err
	default:
		v.Tests = rep
	}
	return v, nil
}

// runTests is the one place the policy repository's Rego tests run: on
// OPA's tester (topdown) and on irvm, the engine that judges pull requests;
// a test the two engines judge differently fails the bundle (Report.OK), so
// a merged policy never judges otherwise than its tests said.
func runTests(ctx context.Context, fsys fs.FS) (*policyeval.TestReport, error) {
	return policyeval.Test(ctx, fsys)
}
