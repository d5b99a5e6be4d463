package mesh

import "testing"

func TestParseYAMLSmoke(t *testing.T) {
	d, err := ParseYAML("a.yaml", []byte("a:\n  b: [1, x]\n  c: 2027-03-31\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := d.Index.Lookup("a", "b", 1); !ok || p.Line != 2 {
		t.Fatalf("lookup: %v %v", p, ok)
	}
	if d.Value.(map[string]any)["a"].(map[string]any)["c"] != "2027-03-31" {
		t.Fatalf("date: %#v", d.Value)
	}
	if _, err := ParseYAML("b.yaml", []byte("a: 1\na: 2\n")); err == nil {
		t.Fatal("duplicate key accepted")
	} else {
		t.Log(err)
	}
	if _, err := ParseYAML("c.yaml", []byte("a: [1, 2\nb: }")); err == nil {
		t.Fatal("syntax accepted")
	} else {
		t.Log(err)
	}
}
