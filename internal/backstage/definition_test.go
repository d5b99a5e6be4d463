package backstage

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/meshbot/meshbot/internal/mesh"
)

// TestDefinitionIsYAML: every rendered contract reads back as YAML holding
// the same text, however hostile the contract's strings.
func TestDefinitionIsYAML(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	hostile := []string{"yes", "no", "null", "~", "123", "1e3", "0x1F", "- item", "key: value", "# comment", "a #b", "multi\nline\ttab", "  lead", "trail ", "\"quoted\"", "back\\slash", "é日本", "\u2028", "{flow}", "[seq]", "*alias", "&anchor", "!tag", "%dir", "@at", "`tick", "|", ">", "", "\x00ctl", "\xff"}
	for _, s := range hostile {
		c := &mesh.Contract{File: "c.yaml", Format: mesh.FormatDCS, SpecVersion: "1.1.0", ID: s, Title: s, Version: s,
			Models: []*mesh.Model{{Name: "m" + s, Description: s, Fields: []*mesh.Field{{
				Name: "f" + s, Type: "string", Description: s, Enum: []string{s, "x"}, Pattern: s, MaxLength: f(3),
				Fields: []*mesh.Field{{Name: s, Type: "integer", Minimum: f(-1.5)}},
				Items:  &mesh.Field{Type: s},
			}}, Quality: []mesh.QualityRule{{Type: "sql", Description: s, Canonical: s}, {Canonical: `{"q":"` + "x" + `"}`}}}}}
		p := &mesh.Product{Domain: "d", Name: "p"}
		def := definition(p, &mesh.OutputPort{Name: "o", Contract: c})
		var v map[string]any
		if err := yaml.Unmarshal([]byte(def), &v); err != nil {
			t.Fatalf("%q: definition is not YAML: %v\n%s", s, err, def)
		}
		want := strings.ToValidUTF8(s, "\uFFFD")
		if s != "" {
			if v["id"] != want || v["title"] != want || v["version"] != want {
				t.Errorf("%q: id/title/version read back as %#v %#v %#v", s, v["id"], v["title"], v["version"])
			}
		}
		models := v["models"].(map[string]any)
		m := models["m"+want].(map[string]any)
		fields := m["fields"].(map[string]any)
		fl := fields["f"+want].(map[string]any)
		if s != "" && (fl["description"] != want || fl["pattern"] != want) {
			t.Errorf("%q: field read back as %#v", s, fl)
		}
		if enum := fl["enum"].([]any); enum[0] != want {
			t.Errorf("%q: enum read back as %#v", s, enum)
		}
		q := m["quality"].([]any)
		if rule, ok := q[1].(map[string]any)["rule"].(map[string]any); !ok || rule["q"] != "x" {
			t.Errorf("%q: JSON rule not a mapping: %#v", s, q[1])
		}
	}
	for _, tc := range []struct {
		port mesh.OutputPort
		want string
	}{
		{mesh.OutputPort{Name: "o"}, "declares no data contract"},
		{mesh.OutputPort{Name: "o", ContractPath: "x.yaml"}, "could not be read"},
		{mesh.OutputPort{Name: "o", ContractID: "urn:x"}, "urn:x"},
	} {
		def := definition(&mesh.Product{Domain: "d", Name: "p"}, &tc.port)
		if !strings.Contains(def, tc.want) || !strings.HasPrefix(def, "# ") {
			t.Errorf("placeholder %q does not say %q", def, tc.want)
		}
	}
}
