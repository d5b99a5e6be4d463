package policyeval

import "sort"

// SandboxedBuiltins names the built-ins no policy may call (they reach the
// network or read the process's environment), sorted: what a check run
// tells a policy's authors the sandbox refuses.
func SandboxedBuiltins() []string {
	out := make([]string, 0, len(sandboxed))
	for name := range sandboxed {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}
