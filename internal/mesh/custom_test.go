package mesh

import "testing"

// The deprecation /mesh deprecate writes where a standard has no field
// for it is read back: ODPS and ODCS custom properties, the DCS
// info.deprecation block; other custom properties are not judged.
func TestCustomDeprecation(t *testing.T) {
	odps := `apiVersion: v1.0.0
kind: DataProduct
id: revenue
domain: finance
status: deprecated
customProperties:
  - {property: other, value: [1, 2]}
  - property: deprecation
    value: {sunset: 2027-03-31, replacement: finance.v2/p, reason: old}
outputPorts:
  - name: p
    version: 1.0.0
    customProperties:
      - {property: status, value: deprecated}
      - {property: deprecation, value: {sunset: 2027-04-30}}
  - name: q
    version: 1.0.0
`
	p, _, probs := ReadDescriptor("d.odps.yaml", []byte(odps))
	if len(probs) > 0 {
		t.Fatalf("problems: %v", probs)
	}
	if p.Deprecation == nil || p.Deprecation.Sunset != "2027-03-31" || p.Deprecation.Replacement != "finance.v2/p" || p.Deprecation.Reason != "old" || p.Deprecation.SunsetDate.IsZero() {
		t.Errorf("product deprecation %+v", p.Deprecation)
	}
	if o := p.OutputPort("p"); o.Lifecycle != LifecycleDeprecated || o.Deprecation == nil || o.Deprecation.Sunset != "2027-04-30" {
		t.Errorf("port p: %q %+v", o.Lifecycle, o.Deprecation)
	}
	if o := p.OutputPort("q"); o.Lifecycle != "" || o.Deprecation != nil {
		t.Errorf("port q: %q %+v", o.Lifecycle, o.Deprecation)
	}

	for name, src := range map[string]string{
		"odcs": "apiVersion: v3.2.0\nkind: DataContract\nid: c\nversion: 1.0.0\nstatus: deprecated\ncustomProperties:\n  - property: deprecation\n    value:\n      sunset: 2027-03-31\n      replacement: a.b/c\n",
		"dcs":  "dataContractSpecification: 1.1.0\nid: c\ninfo:\n  title: C\n  version: 1.0.0\n  status: deprecated\n  deprecation:\n    sunset: 2027-03-31\n    replacement: a.b/c\n",
	} {
		c, _, probs := ReadContract(name+".yaml", []byte(src))
		if len(probs) > 0 {
			t.Fatalf("%s problems: %v", name, probs)
		}
		if c.Status != LifecycleDeprecated || c.Deprecation == nil || c.Deprecation.Sunset != "2027-03-31" || c.Deprecation.Replacement != "a.b/c" {
			t.Errorf("%s: %q %+v", name, c.Status, c.Deprecation)
		}
	}
	bad := "apiVersion: v3.2.0\nkind: DataContract\nid: c\nversion: 1.0.0\nstatus: active\ncustomProperties:\n  - {property: deprecation, value: soon}\n"
	if _, _, probs := ReadContract("bad.yaml", []byte(bad)); len(probs) != 1 || probs[0].Code != CodeWrongType {
		t.Errorf("a deprecation custom property that is not a block: %v", probs)
	}
}
