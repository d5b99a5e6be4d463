package policyeval

import (
	"fmt"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Which documents a package judges. A conftest folder is run on the files
// its CI names (`conftest test dataproduct.yaml --namespace mesh.dataproduct`),
// so its rules carry no guard on the document's kind; meshbot judges
// descriptors and contracts alike, and routes each package to the documents
// it is written for, in this order:
//
//  1. METADATA at package (or subpackages) scope, `custom.documents`:
//     `descriptor`, `contract` or a list of both;
//  2. a package that reads data.meshbot.context.kind guards itself and sees
//     every document;
//  3. a package with a name segment containing `contract`
//     (mesh.contract, contracts.pii, odcs_contract) judges contracts;
//  4. any other package judges descriptors.

// kinds is a set of document kinds.
type kinds uint8

const (
	kindsDescriptor kinds = 1 << iota
	kindsContract
	kindsAll = kindsDescriptor | kindsContract
)

// has reports whether a document of kind k is judged. A document of no
// kind (a direct Eval with an empty context) is judged by every rule.
func (ks kinds) has(k Kind) bool {
	switch k {
	case KindDescriptor:
		return ks&kindsDescriptor != 0
	case KindContract:
		return ks&kindsContract != 0
	}
	return true
}

// documentsKey is the METADATA custom key that routes a package.
const documentsKey = "documents"

var contextKindRef = ast.MustParseRef("data.meshbot.context.kind")

// routes decides, for every package of the compiled user policy, which
// documents its rules judge.
func routes(c *ast.Compiler) (map[string]kinds, error) {
	declared := map[string]kinds{} // package or subpackages prefix → kinds
	subtree := map[string]bool{}
	aware := map[string]bool{}
	pkgs := map[string]bool{}
	var problems []Problem
	for path, m := range c.Modules {
		if isTestFile(path) {
			continue
		}
		pkg := strings.TrimPrefix(m.Package.Path.String(), "data.")
		pkgs[pkg] = true
		for _, a := range m.Annotations {
			if a.Scope != "package" && a.Scope != "subpackages" {
				continue
			}
			v, ok := a.Custom[documentsKey]
			if !ok {
				continue
			}
			ks, err := parseKinds(v)
			if err != nil {
				p := Problem{File: path, Message: err.Error(), Fix: "custom.documents: [descriptor, contract]"}
				if a.Location != nil {
					p.Line, p.Col = a.Location.Row, a.Location.Col
				}
				problems = append(problems, p)
				continue
			}
			declared[pkg] |= ks
			if a.Scope == "subpackages" {
				subtree[pkg] = true
			}
		}
		ast.WalkRefs(m, func(r ast.Ref) bool {
			if r.HasPrefix(contextKindRef) || contextKindRef.HasPrefix(r) && len(r) > 2 {
				aware[pkg] = true
			}
			return aware[pkg]
		})
	}
	if len(problems) > 0 {
		slices.SortFunc(problems, func(a, b Problem) int { return strings.Compare(a.File, b.File) })
		return nil, &CompileError{Errors: problems}
	}
	out := make(map[string]kinds, len(pkgs))
	for pkg := range pkgs {
		out[pkg] = routeOf(pkg, declared, subtree, aware[pkg])
	}
	return out, nil
}

func routeOf(pkg string, declared map[string]kinds, subtree map[string]bool, aware bool) kinds {
	if ks, ok := declared[pkg]; ok {
		return ks
	}
	// The nearest enclosing package declared for its subpackages.
	for p := pkg; strings.Contains(p, "."); {
		p = p[:strings.LastIndex(p, ".")]
		if ks, ok := declared[p]; ok && subtree[p] {
			return ks
		}
	}
	if aware {
		return kindsAll
	}
	for _, seg := range strings.Split(pkg, ".") {
		if strings.Contains(strings.ToLower(seg), "contract") {
			return kindsContract
		}
	}
	return kindsDescriptor
}

// parseKinds reads custom.documents: one kind or a list of them.
func parseKinds(v any) (kinds, error) {
	var names []any
	switch v := v.(type) {
	case string:
		names = []any{v}
	case []any:
		names = v
	default:
		return 0, fmt.Errorf("METADATA custom.%s is %v: want descriptor, contract or a list of them", documentsKey, v)
	}
	var ks kinds
	for _, n := range names {
		switch n {
		case string(KindDescriptor):
			ks |= kindsDescriptor
		case string(KindContract):
			ks |= kindsContract
		default:
			return 0, fmt.Errorf("METADATA custom.%s names %v: want descriptor or contract", documentsKey, n)
		}
	}
	if ks == 0 {
		return 0, fmt.Errorf("METADATA custom.%s is empty: want descriptor, contract or both", documentsKey)
	}
	return ks, nil
}
