package yamledit

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/meshbot/meshbot/internal/mesh"
)

var update = flag.Bool("update", false, "rewrite the golden files")

type goldenCase struct {
	name   string // testdata/<name>.in.yaml; <name>.out.yaml (or .err.txt), <name>.notes.txt
	in     string // input file when it differs from name (several cases share one input)
	format mesh.Format
	target Target
	undo   bool // Undeprecate instead of Deprecate
	d      Deprecation
}

var terms = Deprecation{Sunset: "2027-03-31", Replacement: "finance.revenue-v2/iceberg-curated", Reason: "superseded by the v2 ledger"}

var goldenCases = []goldenCase{
	// Native descriptors with comments, anchors, a folded scalar, flow
	// collections, quoted keys, 4-space indentation, CRLF, no final newline.
	{name: "native_comments_product", in: "native_comments", format: mesh.FormatNative, target: Target{"finance.revenue", ""}, d: terms},
	{name: "native_comments_port", in: "native_comments", format: mesh.FormatNative, target: Target{"finance.revenue", "iceberg-curated"}, d: terms},
	{name: "native_comments_flowport", in: "native_comments", format: mesh.FormatNative, target: Target{"finance.revenue", "kafka-raw"}, d: Deprecation{Sunset: "2027-03-31", Reason: "use iceberg, or: nothing"}},
	{name: "native_crlf_product", in: "native_crlf", format: mesh.FormatNative, target: Target{"finance.revenue", ""}, d: terms},
	{name: "native_crlf_port", in: "native_crlf", format: mesh.FormatNative, target: Target{"finance.revenue", "csv-export"}, d: terms},
	{name: "native_indent4_product", in: "native_indent4", format: mesh.FormatNative, target: Target{"finance.revenue", ""}, d: terms},
	{name: "native_indent4_port", in: "native_indent4", format: mesh.FormatNative, target: Target{"finance.revenue", "parquet-daily"}, d: terms},
	{name: "native_update", format: mesh.FormatNative, target: Target{"finance.revenue", ""}, d: Deprecation{Sunset: "2027-06-30", Reason: "it's replaced"}},
	{name: "native_update_undo", in: "native_update", format: mesh.FormatNative, target: Target{"finance.revenue", ""}, undo: true},
	{name: "native_flowdep_update", in: "native_flowdep", format: mesh.FormatNative, target: Target{"finance.revenue", "iceberg-curated"}, d: terms},
	{name: "native_flowdep_undo", in: "native_flowdep", format: mesh.FormatNative, target: Target{"finance.revenue", "iceberg-curated"}, undo: true},
	{name: "native_noeol", format: mesh.FormatNative, target: Target{"finance.revenue", ""}, d: terms},
	{name: "native_multidoc", format: mesh.FormatNative, target: Target{"finance.revenue", ""}, d: terms},
	{name: "native_unknown_port", in: "native_crlf", format: mesh.FormatNative, target: Target{"finance.revenue", "iceberg"}, d: terms},
	{name: "native_bom_blockscalar", format: mesh.FormatNative, target: Target{"finance.revenue", "iceberg-curated"}, d: terms},
	{name: "native_bom_blockscalar_product", in: "native_bom_blockscalar", format: mesh.FormatNative, target: Target{"finance.revenue", ""}, d: terms},
	// The product's lifecycle is an anchor the port's aliases: writing it
	// would change the port too, so the edit is refused.
	{name: "native_anchored", format: mesh.FormatNative, target: Target{"finance.revenue", ""}, d: terms},
	{name: "native_null_block", format: mesh.FormatNative, target: Target{"finance.revenue", ""}, d: terms},
	{name: "odps_null_custom", format: mesh.FormatODPS, target: Target{"finance.revenue", ""}, d: terms},
	{name: "odps_null_custom_port", in: "odps_null_custom", format: mesh.FormatODPS, target: Target{"finance.revenue", "iceberg-curated"}, d: terms},
	{name: "native_mesh_example", format: mesh.FormatNative, target: Target{"customer.customer-profile", "iceberg-curated"}, d: terms},
	// ODPS: the official examples (testdata/corpus); the v1.0 one is the
	// v0.9 customer example with its apiVersion raised.
	{name: "odps09_product", format: mesh.FormatODPS, target: Target{"064c4630-8aad-4dc0-ba95-0f69940e6b18", ""}, d: terms},
	{name: "odps09_port", format: mesh.FormatODPS, target: Target{"064c4630-8aad-4dc0-ba95-0f69940e6b18", "processed-data"}, d: terms},
	{name: "odps10_port", format: mesh.FormatODPS, target: Target{"seller.fbe8d147-28db-4f1d-bedf-a3fe9f458427", "rawtransactions"}, d: terms},
	{name: "odps10_product", in: "odps10_port", format: mesh.FormatODPS, target: Target{"seller.fbe8d147-28db-4f1d-bedf-a3fe9f458427", ""}, d: terms},
	// Contracts.
	{name: "odcs_full", format: mesh.FormatODCS, target: Target{"finance.revenue", "iceberg-curated"}, d: terms},
	{name: "odcs_flow", format: mesh.FormatODCS, target: Target{"finance.revenue", "iceberg-curated"}, d: terms},
	{name: "odcs_deprecated_flag_undo", in: "odcs_deprecated_flag", format: mesh.FormatODCS, target: Target{"finance.orders", "iceberg"}, undo: true},
	{name: "odcs_deprecated_flag_update", in: "odcs_deprecated_flag", format: mesh.FormatODCS, target: Target{"finance.orders", "iceberg"}, d: Deprecation{Sunset: "2027-03-31", Reason: "replaced by nothing"}},
	{name: "dcs_orders", format: mesh.FormatDCS, target: Target{"checkout.orders", "s3"}, d: terms},
	{name: "dps_port", format: mesh.FormatDPS, target: Target{"search.search-queries-all", "snowflake_search_queries_all_npii_v1"}, d: terms},
	{name: "dps_product", in: "dps_port", format: mesh.FormatDPS, target: Target{"search.search-queries-all", ""}, d: terms},
}

func (c goldenCase) run(src []byte) ([]byte, []string, error) {
	if c.undo {
		return Undeprecate(src, c.format, c.target)
	}
	return Deprecate(src, c.format, c.target, c.d)
}

func TestGolden(t *testing.T) {
	for _, c := range goldenCases {
		t.Run(c.name, func(t *testing.T) {
			in := c.in
			if in == "" {
				in = c.name
			}
			src, err := os.ReadFile(filepath.Join("testdata", in+".in.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			out, notes, err := c.run(src)
			if err != nil {
				golden(t, c.name+".err.txt", []byte(err.Error()+"\n"))
				return
			}
			golden(t, c.name+".out.yaml", out)
			golden(t, c.name+".notes.txt", []byte(strings.Join(notes, "\n")+"\n"))
			onlyDeprecationLines(t, src, out)
			if c.undo {
				assertNotDeprecated(t, out, c.format, c.target)
			} else if !bytes.Equal(out, src) || len(notes) == 0 {
				assertDeprecated(t, out, c.format, c.target, c.d)
			}
			again, _, err := c.run(out)
			if err != nil {
				t.Fatalf("second run: %v", err)
			}
			if !bytes.Equal(again, out) {
				t.Errorf("not idempotent: the second run changed\n%s\ninto\n%s", out, again)
			}
		})
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// managedLine is a line the editor may add, change or remove: one that
// holds a deprecation key, or a custom property item of its own.
var managedLine = regexp.MustCompile(`\b(lifecycle|status|deprecation|deprecated|sunset|replacement|reason|customProperties|property|value)\b|^\s*$`)

// onlyDeprecationLines checks that every line outside the changed ones is
// byte-identical (line endings included) and that every changed line is a
// deprecation line: it names a deprecation key, or it continues one (a
// deeper-indented line right after it: a block scalar, a nested key), or
// it is an unchanged line into which a deprecation was inserted (a flow
// mapping gaining ", lifecycle: deprecated").
func onlyDeprecationLines(t *testing.T, a, b []byte) {
	t.Helper()
	al, bl := splitKeep(a), splitKeep(b)
	// The original's last line, when it has no line break, gains one
	// when something is added after it: the bytes stay a prefix.
	if n := len(al); n > 0 && !strings.HasSuffix(al[n-1], "\n") && n <= len(bl) && strings.HasPrefix(bl[n-1], al[n-1]) && strings.TrimRight(bl[n-1][len(al[n-1]):], "\r\n") == "" {
		al[n-1] = bl[n-1]
	}
	ops := lineDiff(al, bl)
	contIndent := -1 // indentation of the managed line being continued
	for _, op := range ops {
		ind := len(op.line) - len(strings.TrimLeft(op.line, " "))
		switch {
		case managedLine.MatchString(op.line):
			if contIndent < 0 || ind <= contIndent {
				contIndent = ind
			}
			continue
		case contIndent >= 0 && ind > contIndent:
			continue
		case op.what == "was removed" && insertedInto(op.line, ops):
			continue
		}
		contIndent = -1
		t.Errorf("line %q %s, which holds no deprecation key", op.line, op.what)
	}
}

// insertedInto reports whether an added line is line with deprecation
// text inserted somewhere in its middle.
func insertedInto(line string, ops []lineOp) bool {
	for _, op := range ops {
		if op.what != "was added" || len(op.line) <= len(line) {
			continue
		}
		p := 0
		for p < len(line) && line[p] == op.line[p] {
			p++
		}
		rest := line[p:]
		if strings.HasSuffix(op.line, rest) && managedLine.MatchString(op.line[p:len(op.line)-len(rest)]) {
			return true
		}
	}
	return false
}

func splitKeep(b []byte) []string {
	var out []string
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			out = append(out, string(b))
			break
		}
		out = append(out, string(b[:i+1]))
		b = b[i+1:]
	}
	return out
}

type lineOp struct{ what, line string }

// lineDiff is a longest-common-subsequence diff of whole lines (their
// breaks included, so a CRLF turned LF is a change).
func lineDiff(a, b []string) []lineOp {
	n, m := len(a), len(b)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var ops []lineOp
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && a[i] == b[j]:
			i++
			j++
		case j < m && (i == n || lcs[i][j+1] >= lcs[i+1][j]):
			ops = append(ops, lineOp{"was added", b[j]})
			j++
		default:
			ops = append(ops, lineOp{"was removed", a[i]})
			i++
		}
	}
	return ops
}

type seenState struct {
	lifecycle string
	dep       *mesh.Deprecation
}

// read is what internal/mesh sees of the target.
func read(t *testing.T, b []byte, f mesh.Format, tg Target) []seenState {
	t.Helper()
	var out []seenState
	switch f {
	case mesh.FormatDCS, mesh.FormatODCS:
		c, _, _ := mesh.ReadContract("c.yaml", b)
		if c == nil {
			t.Fatalf("mesh does not read the edited contract")
		}
		out = append(out, seenState{c.Status, c.Deprecation})
	default:
		p, _, _ := mesh.ReadDescriptor("d.yaml", b)
		if p == nil {
			t.Fatalf("mesh does not read the edited descriptor")
		}
		if tg.Port == "" {
			return []seenState{{p.Lifecycle, p.Deprecation}}
		}
		for _, o := range p.OutputPorts {
			if o.Name == tg.Port {
				out = append(out, seenState{o.Lifecycle, o.Deprecation})
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("mesh does not find %s in the edited file", tg)
	}
	return out
}

func assertDeprecated(t *testing.T, b []byte, f mesh.Format, tg Target, d Deprecation) {
	t.Helper()
	for _, s := range read(t, b, f, tg) {
		if s.lifecycle != mesh.LifecycleDeprecated {
			t.Errorf("mesh reads lifecycle %q, want deprecated", s.lifecycle)
		}
		if f == mesh.FormatDPS {
			continue // DPS has no place for the terms (the notes say so)
		}
		if s.dep == nil {
			t.Fatalf("mesh reads no deprecation")
		}
		if s.dep.Sunset != d.Sunset || s.dep.SunsetDate.IsZero() || s.dep.Replacement != d.Replacement || s.dep.Reason != d.Reason {
			t.Errorf("mesh reads %+v, want %+v", *s.dep, d)
		}
	}
}

func assertNotDeprecated(t *testing.T, b []byte, f mesh.Format, tg Target) {
	t.Helper()
	for _, s := range read(t, b, f, tg) {
		if s.lifecycle == mesh.LifecycleDeprecated || s.dep != nil {
			t.Errorf("still deprecated: %q %+v", s.lifecycle, s.dep)
		}
	}
}
