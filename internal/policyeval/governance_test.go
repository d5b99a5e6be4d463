package policyeval

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"
)

func TestGovernance(t *testing.T) {
	const rego = "package x\n\ndeny contains msg if { input.never; msg := \"no\" }\n"
	for _, tc := range []struct {
		name    string
		files   map[string]string
		want    DeprecateRules
		wantErr string
	}{
		{"no governance data: the defaults", nil, DefaultGovernance().Deprecate, ""},
		{"yaml at the folder path", map[string]string{"meshbot/governance/deprecate.yaml": "deprecate:\n  minimum_notice_days: 90\n  repository_admins: true\n"},
			DeprecateRules{Role: "write", OwningTeam: true, RepositoryAdmins: true, MinimumNoticeDays: 90}, ""},
		{"data.json at the root", map[string]string{"data.json": `{"meshbot":{"governance":{"deprecate":{"role":"maintain","owning_team":false}}}}`},
			DeprecateRules{Role: "maintain", OwningTeam: false, MinimumNoticeDays: 30}, ""},
		{"zero notice", map[string]string{"data.json": `{"meshbot":{"governance":{"deprecate":{"minimum_notice_days":0}}}}`},
			DeprecateRules{Role: "write", OwningTeam: true, MinimumNoticeDays: 0}, ""},
		{"role below write", map[string]string{"data.json": `{"meshbot":{"governance":{"deprecate":{"role":"read"}}}}`}, DeprecateRules{}, "role"},
		{"days as text", map[string]string{"data.json": `{"meshbot":{"governance":{"deprecate":{"minimum_notice_days":"30"}}}}`}, DeprecateRules{}, "minimum_notice_days"},
		{"fractional days", map[string]string{"data.json": `{"meshbot":{"governance":{"deprecate":{"minimum_notice_days":1.5}}}}`}, DeprecateRules{}, "minimum_notice_days"},
		{"negative days", map[string]string{"data.json": `{"meshbot":{"governance":{"deprecate":{"minimum_notice_days":-1}}}}`}, DeprecateRules{}, "minimum_notice_days"},
		{"flag as text", map[string]string{"data.json": `{"meshbot":{"governance":{"deprecate":{"owning_team":"yes"}}}}`}, DeprecateRules{}, "owning_team"},
		{"not an object", map[string]string{"data.json": `{"meshbot":{"governance":{"deprecate":true}}}`}, DeprecateRules{}, "not an object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{"x.rego": {Data: []byte(rego)}}
			for p, s := range tc.files {
				fsys[p] = &fstest.MapFile{Data: []byte(s)}
			}
			set, err := Load(context.Background(), fsys, Options{Timeout: testTimeout})
			if err != nil {
				t.Fatal(err)
			}
			g, err := set.Governance()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one naming %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || g.Deprecate != tc.want {
				t.Errorf("Governance = %+v, %v; want %+v", g.Deprecate, err, tc.want)
			}
		})
	}
}

// The bundled policy states the defaults as data the guild can read and
// copy, and they are the ones applied without data.
func TestBundledGovernance(t *testing.T) {
	s := loadBundled(t)
	g, err := s.Governance()
	if err != nil {
		t.Fatal(err)
	}
	if g != DefaultGovernance() {
		t.Errorf("bundled governance %+v, defaults %+v: keep policy/meshbot/governance/deprecate.yaml and DefaultGovernance in step", g, DefaultGovernance())
	}
	mb, _ := s.data["meshbot"].(map[string]any)
	gov, _ := mb["governance"].(map[string]any)
	dep, _ := gov["deprecate"].(map[string]any)
	for _, k := range []string{"role", "owning_team", "repository_admins", "minimum_notice_days"} {
		if _, ok := dep[k]; !ok {
			t.Errorf("the bundled data does not write data.meshbot.governance.deprecate.%s", k)
		}
	}
}
