package policyeval

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/meshbot/meshbot/internal/mesh"
)

// Names meshbot generates next to the user's policy. Several bodies share
// the name deny; to tell which body produced a message (and so its METADATA
// and location) every body is cloned under a name of its own into a
// companion module of the same package. The user's rules stay untouched, so
// their unit tests still see deny.
const (
	companionPrefix = "meshbot__r"
	exceptionRule   = "meshbot__exceptions"
	aggregatorPkg   = "data.meshbot_internal.eval"
	resultVar       = "meshbot_results"
	exceptionVar    = "meshbot_exceptions"
)

// ruleInfo is what Load knows about one evaluated rule body.
type ruleInfo struct {
	pkg       string // "mesh.residency"
	name      string // as written: deny, deny_foo, warn_bar
	severity  Severity
	id        string
	title     string
	related   []string
	policyPos mesh.Pos
	exception string // the name exception rules use for it: deny_foo → foo
	documents kinds  // the kinds of document it judges (route.go)
	loc       *locator
}

// companions is what Load generates next to the user's policy: the
// companion modules, the rule bodies they evaluate and the packages with
// exception rules.
type companions struct {
	modules    map[string]*ast.Module
	rules      []*ruleInfo
	exceptions []string // packages with exception rules, aligned with the aggregator's exceptions
}

// severityOf tells conftest's rule families apart: deny, violation and warn,
// alone or with a _suffix.
func severityOf(name string) Severity {
	for _, fam := range []struct {
		prefix string
		sev    Severity
	}{
		{"deny", SeverityDeny}, {"violation", SeverityDeny}, {"warn", SeverityWarn},
	} {
		if name == fam.prefix || strings.HasPrefix(name, fam.prefix+"_") {
			return fam.sev
		}
	}
	return ""
}

// exceptionName is the name conftest's exception rules use for a rule: the
// rule name without its deny_/violation_/warn_ prefix.
func exceptionName(name string) string {
	for _, p := range []string{"deny_", "violation_", "warn_"} {
		if strings.HasPrefix(name, p) {
			return strings.TrimPrefix(name, p)
		}
	}
	return name
}

func isTestFile(p string) bool { return strings.HasSuffix(p, "_test.rego") }

func ruleName(r *ast.Rule) string {
	if len(r.Head.Reference) == 1 {
		if v, ok := r.Head.Reference[0].Value.(ast.Var); ok {
			return string(v)
		}
	}
	if len(r.Head.Reference) == 0 {
		return string(r.Head.Name)
	}
	return "" // ref heads (deny.foo contains ...) are not conftest rules
}

// buildCompanions writes a companion module for every policy module with
// deny/violation/warn or exception rules, and the aggregator whose results
// and exceptions arrays the prepared query reads.
func buildCompanions(pf *policyFiles) (*companions, error) {
	comp := &companions{modules: map[string]*ast.Module{}}
	var results, excRefs []string
	excPkgs := map[string]bool{}
	for _, p := range slices.Sorted(maps.Keys(pf.modules)) {
		if isTestFile(p) {
			continue
		}
		res, exc, err := comp.addModule(p, pf.modules[p], excPkgs)
		if err != nil {
			return nil, err
		}
		results, excRefs = append(results, res...), append(excRefs, exc...)
	}

	var agg strings.Builder
	fmt.Fprintf(&agg, "package %s\n", strings.TrimPrefix(aggregatorPkg, "data."))
	fmt.Fprintf(&agg, "results := [%s]\n", strings.Join(results, ", "))
	fmt.Fprintf(&agg, "exceptions := [%s]\n", strings.Join(excRefs, ", "))
	am, err := ast.ParseModuleWithOpts("meshbot#aggregator", agg.String(), parserOptions())
	if err != nil {
		return nil, fmt.Errorf("aggregator: %w", err)
	}
	comp.modules["meshbot#aggregator"] = am
	return comp, nil
}

// addModule writes the companion of policy module m (file p): a clone of
// every deny/violation/warn body under a name of its own, and the package's
// exception names. It returns the references the aggregator collects: one
// per rule body, and the package's exceptions when it has any (excPkgs
// counts each package once).
func (comp *companions) addModule(p string, m *ast.Module, excPkgs map[string]bool) (results, excRefs []string, err error) {
	pkgRef := m.Package.Path
	pkg := strings.TrimPrefix(pkgRef.String(), "data.")

	var src strings.Builder
	fmt.Fprintf(&src, "%s\n", m.Package)
	for _, imp := range m.Imports {
		fmt.Fprintf(&src, "%s\n", imp)
	}
	var clones []*ast.Rule
	wrote := false
	for _, r := range m.Rules {
		name := ruleName(r)
		if name == "exception" && !excPkgs[pkg] {
			excPkgs[pkg] = true
			comp.exceptions = append(comp.exceptions, pkg)
			excRefs = append(excRefs, pkgRef.Append(ast.StringTerm(exceptionRule)).String())
			fmt.Fprintf(&src, "%s contains name if { some names in exception; some name in names }\n", exceptionRule)
			wrote = true
			continue
		}
		sev := severityOf(name)
		if sev == "" || r.Default || len(r.Head.Args) > 0 {
			continue
		}
		id := fmt.Sprintf("%s%d", companionPrefix, len(comp.rules))
		comp.rules = append(comp.rules, ruleInfoOf(r, pkg, name, sev))
		results = append(results, pkgRef.Append(ast.StringTerm(id)).String())

		if r.Head.RuleKind() == ast.MultiValue {
			c := r.Copy()
			c.Head.Name = ast.Var(id)
			c.Head.Reference = ast.Ref{ast.VarTerm(id)}
			c.Annotations = nil
			clones = append(clones, c)
			continue
		}
		// A complete rule (deny := "msg" if ..., warn if ...) is unique in
		// its package, so a wrapper reading it attributes correctly; false
		// means no finding, as in conftest.
		fmt.Fprintf(&src, "%s contains v if { v := %s; v != false }\n", id, name)
		wrote = true
	}
	if len(clones) == 0 && !wrote {
		return results, excRefs, nil
	}
	file := p + "#meshbot"
	cm, err := ast.ParseModuleWithOpts(file, src.String(), parserOptions())
	if err != nil {
		return nil, nil, fmt.Errorf("companion of %s: %w", p, err)
	}
	for _, c := range clones {
		c.Module = cm
		cm.Rules = append(cm.Rules, c)
	}
	comp.modules[file] = cm
	return results, excRefs, nil
}

// ruleInfoOf is what Eval needs to know of rule body r to report its
// messages.
func ruleInfoOf(r *ast.Rule, pkg, name string, sev Severity) *ruleInfo {
	info := &ruleInfo{
		pkg:       pkg,
		name:      name,
		severity:  sev,
		id:        pkg + "/" + name,
		exception: exceptionName(name),
		loc:       analyze(r),
	}
	if r.Location != nil {
		info.policyPos = mesh.Pos{File: r.Location.File, Line: r.Location.Row, Col: r.Location.Col}
	}
	applyAnnotations(info, r.Annotations)
	return info
}

func applyAnnotations(info *ruleInfo, anns []*ast.Annotations) {
	for _, a := range anns {
		if a.Title != "" {
			info.title = a.Title
		}
		if id, ok := a.Custom["id"].(string); ok && id != "" {
			info.id = id
		}
		if sev, ok := a.Custom["severity"].(string); ok {
			switch strings.ToLower(sev) {
			case "deny", "error", "failure", "violation":
				info.severity = SeverityDeny
			case "warn", "warning":
				info.severity = SeverityWarn
			}
		}
		for _, rr := range a.RelatedResources {
			if rr != nil {
				info.related = append(info.related, rr.Ref.String())
			}
		}
	}
}
