package mesh

import "testing"

// TestYAMLErrorLine: a syntax error points at the line where the parser
// failed, not where the collection holding it starts.
func TestYAMLErrorLine(t *testing.T) {
	tests := []struct {
		src  string
		line int
	}{
		{"a:\n  b:\n    c: 1\n    d: 2\n   e: 3\n", 5},
		{"schema:\n  - name: x\n    properties:\n      - name: a\n        type: b\n     bad: 1\n", 6},
		{"a: 1\nb: 2\nc: [1,\n  2,\n  3\nd: 4\n", 6},
		{"a: 1\nb: [1, 2\nc: 3\n", 3},
		{"a: 1\nb: {x: 1,\n  y: 2\nc: 3\n", 4},
		{"a: 1\nb: c: d\n", 2},
		{"- a\nb: 1\n", 2},
		{"a:\n  - b\n  c: 1\n", 3},
		{"a:\n  b: 1\n c: 2\n", 3},
		{"a: 1\nb:\n  - x\n y: 2\n", 4},
	}
	for _, tt := range tests {
		_, err := ParseYAML("f.yaml", []byte(tt.src))
		p, ok := err.(Problem)
		if !ok || p.Code != "yaml-syntax" || p.Pos.Line != tt.line {
			t.Errorf("%q: got %v; want a yaml-syntax error on line %d", tt.src, err, tt.line)
		}
	}
}
