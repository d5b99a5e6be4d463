package compat

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/meshbot/meshbot/internal/mesh"
)

// Builders for small model values. Positions are synthetic but distinct, so
// tests can tell base positions from head positions.

func contractOf(file, version string, models ...*mesh.Model) *mesh.Contract {
	return &mesh.Contract{
		File: file, Version: version, Models: models, Pos: mesh.Pos{File: file, Line: 1, Col: 1},
		Locs: mesh.Locs{"info.version": {File: file, Line: 4, Col: 3}},
	}
}

func modelOf(name string, fields ...*mesh.Field) *mesh.Model {
	return &mesh.Model{Name: name, Type: "table", Fields: fields, Pos: mesh.Pos{Line: 10}}
}

func fieldOf(name, typ string, opts ...func(*mesh.Field)) *mesh.Field {
	f := &mesh.Field{Name: name, Type: typ}
	for _, o := range opts {
		o(f)
	}
	return f
}

func ptr(v float64) *float64 { return &v }

var (
	required   = func(f *mesh.Field) { f.Required = true }
	unique     = func(f *mesh.Field) { f.Unique = true }
	primaryKey = func(f *mesh.Field) { f.PrimaryKey = true }
	pii        = func(f *mesh.Field) { f.PII = true }
)

func physical(t string) func(*mesh.Field)         { return func(f *mesh.Field) { f.PhysicalType = t } }
func format(s string) func(*mesh.Field)           { return func(f *mesh.Field) { f.Format = s } }
func pattern(s string) func(*mesh.Field)          { return func(f *mesh.Field) { f.Pattern = s } }
func enum(v ...string) func(*mesh.Field)          { return func(f *mesh.Field) { f.Enum = v } }
func class(s string) func(*mesh.Field)            { return func(f *mesh.Field) { f.Classification = s } }
func refs(s string) func(*mesh.Field)             { return func(f *mesh.Field) { f.References = s } }
func ref(s string) func(*mesh.Field)              { return func(f *mesh.Field) { f.Ref = s } }
func describe(s string) func(*mesh.Field)         { return func(f *mesh.Field) { f.Description = s } }
func minLength(v float64) func(*mesh.Field)       { return func(f *mesh.Field) { f.MinLength = ptr(v) } }
func maxLength(v float64) func(*mesh.Field)       { return func(f *mesh.Field) { f.MaxLength = ptr(v) } }
func minimum(v float64) func(*mesh.Field)         { return func(f *mesh.Field) { f.Minimum = ptr(v) } }
func maximum(v float64) func(*mesh.Field)         { return func(f *mesh.Field) { f.Maximum = ptr(v) } }
func exclMin(v float64) func(*mesh.Field)         { return func(f *mesh.Field) { f.ExclusiveMinimum = ptr(v) } }
func exclMax(v float64) func(*mesh.Field)         { return func(f *mesh.Field) { f.ExclusiveMaximum = ptr(v) } }
func children(c ...*mesh.Field) func(*mesh.Field) { return func(f *mesh.Field) { f.Fields = c } }
func items(it *mesh.Field) func(*mesh.Field)      { return func(f *mesh.Field) { f.Items = it } }
func quality(q ...mesh.QualityRule) func(*mesh.Field) {
	return func(f *mesh.Field) { f.Quality = q }
}
func located(file string, line int) func(*mesh.Field) {
	return func(f *mesh.Field) { f.Pos = mesh.Pos{File: file, Line: line} }
}

// qr is a quality rule as the reader builds it: keyed by name, else by its
// canonical form.
func qr(name, canonical string) mesh.QualityRule {
	k := name
	if k == "" {
		k = canonical
	}
	return mesh.QualityRule{Key: k, Name: name, Canonical: canonical}
}

// checkTable fails when a change's severity is not its rule's severity in
// the table, or its rule is not in the table at all.
func checkTable(t *testing.T, cs []Change) {
	t.Helper()
	for _, c := range cs {
		r, ok := Lookup(c.Rule)
		if !ok {
			t.Errorf("rule %q is not in the rule table (change: %s)", c.Rule, c)
			continue
		}
		if r.Severity != c.Severity {
			t.Errorf("%s: severity %s, table says %s", c.Rule, c.Severity, r.Severity)
		}
		if c.Message == "" {
			t.Errorf("%s: empty message", c.Rule)
		}
	}
}

// structural drops the version rules, which have tests of their own.
func structural(cs []Change) []Change {
	return slices.DeleteFunc(slices.Clone(cs), func(c Change) bool {
		switch c.Rule {
		case RuleBreakingInMajor, RuleMajorWithoutBreaking, RuleVersionNotBumped, RuleVersionDecreased:
			return true
		}
		return false
	})
}

// summary renders changes as "rule fields..." lines, sorted, for comparing
// with a want list.
func summary(cs []Change) []string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		s := c.Rule
		if len(c.Fields) > 0 {
			s += " " + strings.Join(c.Fields, ",")
		}
		if c.RenamedTo != "" {
			s += " ->" + c.RenamedTo
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

func sortedCopy(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func diffLists(got, want []string) string {
	if slices.Equal(got, want) {
		return ""
	}
	return fmt.Sprintf("\n got: %q\nwant: %q", got, want)
}
