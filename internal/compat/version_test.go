package compat

import (
	"testing"

	"github.com/meshbot/meshbot/internal/mesh"
)

func TestVersionRules(t *testing.T) {
	breakingChange := []*mesh.Field{}                                     // head drops the field: breaking
	infoChange := []*mesh.Field{fieldOf("a", "int"), fieldOf("b", "int")} // head adds an optional field: info
	same := []*mesh.Field{fieldOf("a", "int")}
	tests := []struct {
		name     string
		old, new string
		head     []*mesh.Field
		want     string // version rule, "" for none
		bumped   bool
		breaking bool
	}{
		{"breaking without a bump", "2.0.0", "2.0.0", breakingChange, RuleBreakingInMajor, false, true},
		{"breaking with a minor bump", "2.0.0", "2.1.0", breakingChange, RuleBreakingInMajor, false, true},
		{"breaking with a major bump", "2.0.0", "3.0.0", breakingChange, "", true, true},
		{"breaking with a tolerant major bump", "v2", "3.0", breakingChange, "", true, true},
		{"breaking, versions unreadable", "latest", "next", breakingChange, RuleBreakingInMajor, false, true},
		{"additive with a minor bump", "2.0.0", "2.1.0", infoChange, "", false, false},
		{"additive with a major bump", "2.0.0", "3.0.0", infoChange, RuleMajorWithoutBreaking, true, false},
		{"additive without a bump", "2.0.0", "2.0.0", infoChange, RuleVersionNotBumped, false, false},
		{"additive, same version spelled differently", "2.0", "v2.0.0", infoChange, RuleVersionNotBumped, false, false},
		{"additive, no version at all", "", "", infoChange, RuleVersionNotBumped, false, false},
		{"additive with a lower version", "2.1.0", "2.0.5", infoChange, RuleVersionDecreased, false, false},
		{"nothing changed but the version", "2.0.0", "3.0.0", same, "", true, false},
		{"nothing changed", "2.0.0", "2.0.0", same, "", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := contractOf("c.yaml", tt.old, modelOf("m", fieldOf("a", "int")))
			head := contractOf("c.yaml", tt.new, modelOf("m", tt.head...))
			cs, v := diffContract(base, head)
			checkTable(t, cs)
			var got []Change
			for _, c := range cs {
				if len(structural([]Change{c})) == 0 {
					got = append(got, c)
				}
			}
			switch {
			case tt.want == "" && len(got) > 0:
				t.Errorf("want no version rule, got %v", got)
			case tt.want != "" && (len(got) != 1 || got[0].Rule != tt.want):
				t.Errorf("want %s, got %v", tt.want, got)
			case tt.want != "" && (got[0].Pos != mesh.Pos{File: "c.yaml", Line: 4, Col: 3}):
				t.Errorf("version rule should point at the version key, got %v", got[0].Pos)
			}
			if v.MajorBumped != tt.bumped || v.Breaking != tt.breaking || v.Old != tt.old || v.New != tt.new || v.Contract != "c.yaml" {
				t.Errorf("version record = %+v", v)
			}
		})
	}
}
