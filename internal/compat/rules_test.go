package compat

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files and the generated part of RULES.md")

func TestRuleTable(t *testing.T) {
	kebab := regexp.MustCompile(`^[a-z]+(-[a-z0-9]+)*$`)
	seen := map[string]bool{}
	for _, r := range Rules() {
		if !kebab.MatchString(r.ID) {
			t.Errorf("rule id %q is not kebab-case", r.ID)
		}
		if seen[r.ID] {
			t.Errorf("rule id %q appears twice", r.ID)
		}
		seen[r.ID] = true
		if r.Description == "" || !strings.HasSuffix(r.Description, ".") {
			t.Errorf("rule %s: description must be a sentence", r.ID)
		}
		if IsBreaking(r.ID) != (r.Severity == Breaking) {
			t.Errorf("IsBreaking(%s) disagrees with the table", r.ID)
		}
	}
	if IsBreaking("no-such-rule") {
		t.Error("an unknown rule must not be breaking")
	}
	rs := Rules()
	rs[0].Severity = Info
	if r, _ := Lookup(rs[0].ID); r.Severity != Rules()[0].Severity {
		t.Error("Rules must return a copy")
	}
}

func TestSeverityText(t *testing.T) {
	for _, s := range []Severity{Info, Warning, Breaking} {
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != `"`+s.String()+`"` {
			t.Errorf("json of %d = %s", s, b)
		}
		var back Severity
		if err := json.Unmarshal(b, &back); err != nil || back != s {
			t.Errorf("round trip of %s = %v, %v", s, back, err)
		}
	}
	if !(Info < Warning && Warning < Breaking) {
		t.Error("severities must order info < warning < breaking")
	}
	if _, err := Severity(7).MarshalText(); err == nil {
		t.Error("unknown severity marshalled")
	}
	var s Severity
	if err := s.UnmarshalText([]byte("fatal")); err == nil {
		t.Error("unknown name accepted")
	}
}

const (
	docBegin = "<!-- rules:begin"
	docEnd   = "<!-- rules:end -->"
)

// TestRulesDoc keeps RULES.md's rule list equal to the table; -update
// regenerates it. The rest of the file is written by hand.
func TestRulesDoc(t *testing.T) {
	raw, err := os.ReadFile("RULES.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	i, j := strings.Index(doc, docBegin), strings.Index(doc, docEnd)
	if i < 0 || j < i {
		t.Fatalf("RULES.md lacks the %q ... %q markers", docBegin, docEnd)
	}
	want := generatedRules()
	got := doc[i:j]
	if got == want {
		return
	}
	if !*update {
		t.Fatalf("RULES.md's rule list is out of date with rules.go; run go test ./internal/compat -run TestRulesDoc -update")
	}
	if err := os.WriteFile("RULES.md", []byte(doc[:i]+want+doc[j:]), 0o644); err != nil {
		t.Fatal(err)
	}
}

func generatedRules() string {
	var b strings.Builder
	b.WriteString(docBegin + " (generated from rules.go: go test ./internal/compat -run TestRulesDoc -update) -->\n\n")
	b.WriteString("| rule | severity | meaning |\n|---|---|---|\n")
	for _, r := range Rules() {
		fmt.Fprintf(&b, "| [`%s`](#%s) | %s | %s |\n", r.ID, r.ID, r.Severity, r.Description)
	}
	for _, r := range Rules() {
		fmt.Fprintf(&b, "\n### %s\n\n**%s.** %s\n", r.ID, r.Severity, r.Description)
		if r.Why != "" {
			fmt.Fprintf(&b, "\nWhy: %s\n", r.Why)
		}
	}
	b.WriteString("\n")
	return b.String()
}
