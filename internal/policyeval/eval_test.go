package policyeval

import (
	"context"
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/meshbot/meshbot/internal/mesh"
)

const sampleDoc = `apiVersion: mesh/v1
kind: DataProduct
metadata:
  name: revenue
  domain: finance
  owner: team-finance
spec:
  outputPorts:
    - name: curated
      type: iceberg
      location: s3://mesh/curated/
    - name: raw
      type: iceberg
      location: s3://mesh/raw
`

// Several deny bodies share a name; each message carries its own body's
// METADATA and location.
func TestEvalAttributesEachBody(t *testing.T) {
	s, err := loadFiles(t, map[string]string{"p/a.rego": `package mesh.a

# METADATA
# title: First
# custom:
#   id: FIRST-1
# related_resources:
# - ref: https://example.com/docs#first
deny contains "first" if input.kind == "DataProduct"

# METADATA
# title: Second
# custom:
#   id: FIRST-2
deny contains "second" if input.metadata.owner == "team-finance"

deny contains "third" if input.metadata.name == "revenue"
`})
	if err != nil {
		t.Fatal(err)
	}
	doc := parseDoc(t, "dp.yaml", sampleDoc)
	res := evalDoc(t, s, doc, Context{})
	byMsg := map[string]Result{}
	for _, r := range res {
		byMsg[r.Message] = r
	}
	owner, _ := doc.Index.Lookup("metadata", "owner")
	name, _ := doc.Index.Lookup("metadata", "name")
	kind, _ := doc.Index.Lookup("kind")
	tests := []struct {
		msg, id, title string
		related        []string
		pos            mesh.Pos
		policyLine     int
	}{
		{"first", "FIRST-1", "First", []string{"https://example.com/docs#first"}, kind, 9},
		{"second", "FIRST-2", "Second", nil, owner, 15},
		{"third", "mesh.a/deny", "", nil, name, 17},
	}
	if len(res) != len(tests) {
		t.Fatalf("got %d results: %+v", len(res), res)
	}
	for _, tc := range tests {
		r, ok := byMsg[tc.msg]
		if !ok {
			t.Errorf("no result %q", tc.msg)
			continue
		}
		if r.ID != tc.id || r.Title != tc.title || !reflect.DeepEqual(r.Related, tc.related) {
			t.Errorf("%s: id=%q title=%q related=%v", tc.msg, r.ID, r.Title, r.Related)
		}
		if r.Pos != tc.pos {
			t.Errorf("%s: pos %v, want %v", tc.msg, r.Pos, tc.pos)
		}
		if r.PolicyPos != (mesh.Pos{File: "p/a.rego", Line: tc.policyLine, Col: 1}) {
			t.Errorf("%s: policy pos %v, want line %d", tc.msg, r.PolicyPos, tc.policyLine)
		}
	}
}

// Rule families and shapes conftest accepts: deny/violation/warn with
// suffixes, set and complete rules, string/object/boolean messages.
func TestEvalRuleFamiliesAndMessages(t *testing.T) {
	s, err := loadFiles(t, map[string]string{"x.rego": `package x

deny_names contains "deny suffix" if true
violation contains {"msg": "violation object", "owner": input.metadata.owner, "_loc": {"line": 7}} if true
violation_b contains {"msg": "located", "_loc": {"file": "other.yaml", "line": 3, "column": 5}} if true
violation_c contains {"msg": "nested", "_loc": {"_loc": {"line": 4}}} if true
warn_style := "complete warn" if true
warn if true
deny_off := false if true
denyish contains "not a policy rule" if true
test_deny_looking contains "a test rule" if true
`})
	if err != nil {
		t.Fatal(err)
	}
	doc := parseDoc(t, "dp.yaml", sampleDoc)
	res := evalDoc(t, s, doc, Context{})
	type row struct {
		Sev       Severity
		Rule, Msg string
		Pos       mesh.Pos
		Meta      map[string]any
	}
	var got []row
	for _, r := range res {
		got = append(got, row{r.Severity, r.Rule, r.Message, r.Pos, r.Metadata})
	}
	root := doc.Index.Root()
	want := []row{
		{"deny", "deny_names", "deny suffix", root, nil},
		{"deny", "violation", "violation object", mesh.Pos{File: "dp.yaml", Line: 7}, map[string]any{"owner": "team-finance"}},
		{"deny", "violation_b", "located", mesh.Pos{File: "other.yaml", Line: 3, Col: 5}, nil},
		{"deny", "violation_c", "nested", mesh.Pos{File: "dp.yaml", Line: 4}, nil},
		{"warn", "warn_style", "complete warn", root, nil},
		{"warn", "warn", "x/warn", root, nil},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("results\n got %+v\nwant %+v", got, want)
	}
}

// exception rules exempt rules by their name without the deny_/violation_/
// warn_ prefix, as conftest does, and only in their own package.
func TestEvalExceptions(t *testing.T) {
	s, err := loadFiles(t, map[string]string{
		"a.rego": `package a
deny_raw contains "raw" if true
deny_kept contains "kept" if true
warn_noisy contains "noisy" if true
exception contains rules if {
	input.metadata.name == "revenue"
	rules := ["raw", "noisy"]
}
`,
		"b.rego": `package b
deny_raw contains "raw in b" if true
`,
	})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, r := range evalDoc(t, s, parseDoc(t, "dp.yaml", sampleDoc), Context{}) {
		msgs = append(msgs, r.Message)
	}
	sort.Strings(msgs)
	if want := []string{"kept", "raw in b"}; !reflect.DeepEqual(msgs, want) {
		t.Errorf("messages %v, want %v", msgs, want)
	}
	// The exception's condition fails on another product: nothing exempted.
	other := parseDoc(t, "dp.yaml", strings.Replace(sampleDoc, "name: revenue", "name: costs", 1))
	if n := len(evalDoc(t, s, other, Context{})); n != 4 {
		t.Errorf("got %d results without exemption, want 4", n)
	}
}

// The context is mounted at data.meshbot.context while input stays the
// document exactly as written.
func TestEvalContext(t *testing.T) {
	s, err := loadFiles(t, map[string]string{"c.rego": `package c
deny contains msg if {
	c := data.meshbot.context
	msg := sprintf("%s|%s|%s|%v|%d|%s|%v", [c.path, c.kind, c.today, c.base.metadata.name, count(c.consumers), c.consumers[0].owner, c.changes[0].rule])
}
deny contains sprintf("input keys %v", [sort(object.keys(input))]) if true
`})
	if err != nil {
		t.Fatal(err)
	}
	doc := parseDoc(t, "dp.yaml", sampleDoc)
	res := evalDoc(t, s, doc, Context{
		Path: "dp.yaml", Kind: "descriptor", Today: "2027-01-15",
		Base:      map[string]any{"metadata": map[string]any{"name": "old"}},
		Consumers: []Consumer{{Product: "sales.forecast", Owner: "team-sales", Port: "curated"}},
		Changes:   []Change{{Rule: "field-removed"}},
	})
	var msgs []string
	for _, r := range res {
		msgs = append(msgs, r.Message)
	}
	sort.Strings(msgs)
	want := []string{
		"dp.yaml|descriptor|2027-01-15|old|1|team-sales|field-removed",
		`input keys ["apiVersion", "kind", "metadata", "spec"]`,
	}
	if !reflect.DeepEqual(msgs, want) {
		t.Errorf("messages\n got %q\nwant %q", msgs, want)
	}
}

// Locating without _loc: the key a rule is about, the element the message
// names, the parent that should hold a missing key.
func TestEvalLocates(t *testing.T) {
	doc := parseDoc(t, "dp.yaml", `kind: DataProduct
metadata:
  name: revenue
spec:
  outputPorts:
    - name: curated
      type: iceberg
      location: s3://mesh/curated/
      contract: ./c.yaml
    - name: raw
      type: iceberg
      location: s3://mesh/raw
    - name: raw-iceberg
      type: iceberg
      location: s3://mesh/raw2/
  sla:
    availability: 99%
`)
	at := func(path ...any) mesh.Pos {
		p, ok := doc.Index.Lookup(path...)
		if !ok {
			t.Fatalf("fixture lacks %v", path)
		}
		return p
	}
	tests := []struct {
		name, rule string
		want       mesh.Pos
	}{
		{"negated key of the named element", `deny contains msg if {
	some port in input.spec.outputPorts
	not endswith(port.location, "/")
	msg := sprintf("port %s is not a prefix", [port.name])
}`, at("spec", "outputPorts", 1, "location")},
		{"indexed with a variable", `deny contains msg if {
	input.spec.outputPorts[i].type == "iceberg"
	not endswith(input.spec.outputPorts[i].location, "/")
	msg := sprintf("port %s", [input.spec.outputPorts[i].name])
}`, at("spec", "outputPorts", 1, "location")},
		{"missing key points at its parent", `deny contains "no freshness" if {
	not input.spec.sla.freshness
}`, at("spec", "sla")},
		{"missing parent points at the deepest existing", `deny contains "no pii" if {
	not input.spec.classification.contains_pii
}`, at("spec")},
		{"missing key of an unnamed element: the first that lacks it", `deny contains "some port lacks a contract" if {
	some port in input.spec.outputPorts
	not port.contract
}`, at("spec", "outputPorts", 1)},
		{"assigned from a wildcard", `deny contains msg if {
	port := input.spec.outputPorts[_]
	port.location == "s3://mesh/raw2/"
	msg := sprintf("%s", [port.name])
}`, at("spec", "outputPorts", 2, "location")},
		{"object.get default", `deny contains "no owner" if {
	owner := object.get(input.metadata, "owner", "")
	owner == ""
}`, at("metadata")},
		{"collection when no element is named", `deny contains "a port was removed" if {
	not "gone" in {p.name | some p in input.spec.outputPorts}
}`, at("spec", "outputPorts")},
		{"nothing about input: the document root", `deny contains "always" if { true }`, doc.Index.Root()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := loadFiles(t, map[string]string{"l.rego": "package l\n" + tc.rule + "\n"})
			if err != nil {
				t.Fatal(err)
			}
			res := evalDoc(t, s, doc, Context{})
			if len(res) != 1 {
				t.Fatalf("want 1 result, got %+v", res)
			}
			if res[0].Pos != tc.want {
				t.Errorf("pos %v, want %v", res[0].Pos, tc.want)
			}
		})
	}
}

func TestMentions(t *testing.T) {
	tests := []struct {
		msg, s string
		want   bool
	}{
		{"output port raw is bad", "raw", true},
		{"output port raw-iceberg is bad", "raw", false},
		{`port "raw": bad`, "raw", true},
		{"drawn", "raw", false},
		{"raw", "raw", true},
		{"x raw_y raw", "raw", true},
	}
	for _, tc := range tests {
		if got := mentions(tc.msg, tc.s); got != tc.want {
			t.Errorf("mentions(%q, %q) = %v", tc.msg, tc.s, got)
		}
	}
}

// Sandbox: network and runtime builtins do not compile, with a message that
// says why.
func TestLoadSandbox(t *testing.T) {
	for _, call := range []string{
		`http.send({"method": "GET", "url": "https://example.com"})`,
		`net.lookup_ip_addr("example.com")`,
		`opa.runtime()`,
	} {
		name := strings.SplitN(call, "(", 2)[0]
		t.Run(name, func(t *testing.T) {
			_, err := loadFiles(t, map[string]string{"s.rego": "package s\n\ndeny contains \"x\" if {\n\tr := " + call + "\n\tr\n}\n"})
			var ce *CompileError
			if !errors.As(err, &ce) {
				t.Fatalf("want *CompileError, got %v", err)
			}
			p := ce.Errors[0]
			if p.File != "s.rego" || p.Line != 4 || !strings.Contains(p.Message, name+" is not available") ||
				!strings.Contains(p.Message, "sandbox") || p.Fix == "" {
				t.Errorf("problem = %+v", p)
			}
		})
	}
	// time.now_ns stays.
	if _, err := loadFiles(t, map[string]string{"t.rego": "package t\ndeny contains \"x\" if time.now_ns() < 0\n"}); err != nil {
		t.Errorf("time.now_ns refused: %v", err)
	}
}

// Every compile error is reported, each with its position.
func TestLoadReportsEveryError(t *testing.T) {
	_, err := loadFiles(t, map[string]string{
		"a.rego": "package a\ndeny contains x if { y := 1 }\n",
		"b.rego": "package b\ndeny contains \"x\" if { undefined_fn(1) }\n",
		"c.rego": "package c\ndeny[msg] {\n",
	})
	var ce *CompileError
	if !errors.As(err, &ce) {
		t.Fatalf("want *CompileError, got %v", err)
	}
	// c.rego does not parse; a and b are compiled only once every file parses.
	if len(ce.Errors) == 0 || ce.Errors[0].File != "c.rego" || ce.Errors[0].Line == 0 {
		t.Fatalf("problems = %+v", ce.Errors)
	}
	// OPA stops after the first compiler stage that fails; every error of
	// that stage is reported.
	_, err = loadFiles(t, map[string]string{
		"a.rego": "package a\ndeny contains x if { y := 1 }\n",
		"b.rego": "package b\ndeny contains z if { input.x }\n",
	})
	if !errors.As(err, &ce) {
		t.Fatalf("want *CompileError, got %v", err)
	}
	files := map[string]bool{}
	for _, p := range ce.Errors {
		if p.Line == 0 || p.Col == 0 || p.Message == "" {
			t.Errorf("problem without position or message: %+v", p)
		}
		files[p.File] = true
	}
	if !files["a.rego"] || !files["b.rego"] {
		t.Errorf("problems = %+v", ce.Errors)
	}
}

// An expensive policy is cut off at Options.Timeout and reported.
func TestEvalTimeout(t *testing.T) {
	fsys := map[string]string{"slow.rego": `package slow
deny contains "big" if {
	n := count([x | some x in numbers.range(1, 100000000); x % 7 == 0])
	n > 0
}
`}
	s, err := loadFiles(t, fsys)
	if err != nil {
		t.Fatal(err)
	}
	s.timeout = 100 * time.Millisecond
	start := time.Now()
	_, err = s.Eval(context.Background(), Input{Doc: parseDoc(t, "dp.yaml", sampleDoc)})
	elapsed := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "stopped after") {
		t.Fatalf("want a timeout error, got %v", err)
	}
	if elapsed > 2*time.Second {
		t.Errorf("cut off after %v", elapsed)
	}
}

// Data files are mounted under data by folder path.
func TestLoadData(t *testing.T) {
	s, err := loadFiles(t, map[string]string{
		"rules/d.rego":           "package d\ndeny contains sprintf(\"%v %v %v\", [data.regions.allowed, data.teams.known[0], data.top]) if true\n",
		"regions/allowed.yaml":   "allowed: [eu-west-1, eu-central-1]\n",
		"teams/list.json":        `{"known": ["team-finance"]}`,
		"root.json":              `{"top": 1}`,
		".github/ignored.yaml":   "top: 2\n",
		"regions/README.md":      "not data",
		"regions/more/deep.json": `{"x": true}`,
	})
	if err != nil {
		t.Fatal(err)
	}
	res := evalDoc(t, s, parseDoc(t, "dp.yaml", sampleDoc), Context{})
	if len(res) != 1 || res[0].Message != `["eu-west-1", "eu-central-1"] team-finance 1` {
		t.Errorf("results %+v", res)
	}
	_, err = loadFiles(t, map[string]string{"a.rego": "package a\n", "bad.yaml": "a: [\n"})
	var ce *CompileError
	if !errors.As(err, &ce) || ce.Errors[0].File != "bad.yaml" {
		t.Errorf("broken data file: %v", err)
	}
}

// Rules of _test.rego files are compiled but never evaluated as policy.
func TestTestFilesAreNotPolicy(t *testing.T) {
	s, err := loadFiles(t, map[string]string{
		"p.rego":      "package p\ndeny contains \"real\" if true\n",
		"p_test.rego": "package p\ndeny contains \"from a test file\" if true\ntest_x if true\n",
	})
	if err != nil {
		t.Fatal(err)
	}
	res := evalDoc(t, s, parseDoc(t, "dp.yaml", sampleDoc), Context{})
	if len(res) != 1 || res[0].Message != "real" {
		t.Errorf("results %+v", res)
	}
	if _, err := loadFiles(t, map[string]string{"p.rego": "package p\n", "p_test.rego": "package p\ntest_x if undefined_rule\n"}); err == nil {
		t.Error("a test file that does not compile was accepted")
	}
}

func TestVersion(t *testing.T) {
	a1, err := loadFiles(t, map[string]string{"a.rego": "package a\ndeny contains 1 if false\n"})
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := loadFiles(t, map[string]string{"a.rego": "package a\ndeny contains 1 if false\n"})
	b, _ := loadFiles(t, map[string]string{"a.rego": "package a\ndeny contains 2 if false\n"})
	if a1.Version() != a2.Version() || a1.Version() == b.Version() || len(a1.Version()) != 12 {
		t.Errorf("versions %q %q %q", a1.Version(), a2.Version(), b.Version())
	}
}

// A failed load leaves the active policy in place. Swap has no production
// caller yet: following the guild's policy repository (MESHBOT_POLICY_REPO,
// "a later release" in the README) will swap, and product.md promises that a
// policy that does not compile leaves the previous one active. This test
// keeps Swap, and that promise, until then.
func TestSwappable(t *testing.T) {
	first, err := loadFiles(t, map[string]string{"a.rego": "package a\ndeny contains \"first\" if true\n"})
	if err != nil {
		t.Fatal(err)
	}
	w := NewSwappable(first)
	reload := func(src string) error {
		s, err := loadFiles(t, map[string]string{"a.rego": src})
		if err != nil {
			return err
		}
		w.Swap(s)
		return nil
	}
	if err := reload("package a\ndeny contains \"broken\" if {\n"); err == nil {
		t.Fatal("broken policy loaded")
	}
	if w.Load() != first {
		t.Fatal("failed load replaced the active set")
	}
	if err := reload("package a\ndeny contains \"second\" if true\n"); err != nil {
		t.Fatal(err)
	}
	res := evalDoc(t, w.Load(), parseDoc(t, "dp.yaml", sampleDoc), Context{})
	if len(res) != 1 || res[0].Message != "second" {
		t.Errorf("results %+v", res)
	}
}

func TestEvalNoDocument(t *testing.T) {
	s, err := loadFiles(t, map[string]string{"a.rego": "package a\n"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Eval(context.Background(), Input{}); err == nil {
		t.Error("nil document accepted")
	}
}

// METADATA custom.severity overrides the family's severity.
func TestEvalCustomSeverity(t *testing.T) {
	s, err := loadFiles(t, map[string]string{"s.rego": `package s

# METADATA
# custom:
#   severity: warn
deny contains "softened" if true

# METADATA
# custom:
#   severity: deny
warn contains "hardened" if true
`})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Severity{}
	for _, r := range evalDoc(t, s, parseDoc(t, "dp.yaml", sampleDoc), Context{}) {
		got[r.Message] = r.Severity
	}
	if want := map[string]Severity{"softened": SeverityWarn, "hardened": SeverityDeny}; !reflect.DeepEqual(got, want) {
		t.Errorf("severities %v, want %v", got, want)
	}
}

// TestReadsContextDetection: the context is mounted only for policy sets
// that can read it.
func TestReadsContextDetection(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      bool
	}{
		{"conftest style", "package p\n\ndeny contains \"x\" if input.a == 1\n", false},
		{"reads context", "package p\n\ndeny contains \"x\" if data.meshbot.context.today > \"2026\"\n", true},
		{"imports context", "package p\n\nimport data.meshbot.context\n\ndeny contains \"x\" if context.kind == \"descriptor\"\n", true},
		{"other data", "package p\n\ndeny contains \"x\" if data.lists.allowed[input.a]\n", false},
		{"computed data key", "package p\n\ndeny contains \"x\" if { some k; data[k].x }\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Load(context.Background(), fstest.MapFS{"p.rego": {Data: []byte(tc.src)}}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if s.readsContext != tc.want {
				t.Fatalf("readsContext = %v, want %v", s.readsContext, tc.want)
			}
		})
	}
}
