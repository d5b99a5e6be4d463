package render

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/meshbot/meshbot/internal/engine"
	"github.com/meshbot/meshbot/internal/mesh"
)

func sampleReport() *engine.Report {
	r := &engine.Report{Compared: true, Checked: engine.Counts{Changed: 2}, PolicyVersion: "v1", Findings: []engine.Finding{
		{Rule: "compat/field-removed", Source: engine.SourceCompat, Level: engine.LevelError, Title: "Breaking change", Message: "field a.b was removed",
			Pos: mesh.Pos{File: "o/c.yaml", Line: 12, Col: 7}, Consumers: []engine.Consumer{{Product: "f.r", Owner: "team-f", InputPort: "in"}}},
		{Rule: "policy/x", Source: engine.SourcePolicy, Level: engine.LevelWarning, Message: "100% sure, really:\nyes", Pos: mesh.Pos{File: "o/d,1.yaml", Line: 3}},
		{Rule: "input/yaml-syntax", Source: engine.SourceInput, Level: engine.LevelError, Message: "broken", Pos: mesh.Pos{File: "o/e.yaml"}},
		{Rule: "compat/field-removed", Source: engine.SourceCompat, Level: engine.LevelNotice, Message: "again", Pos: mesh.Pos{File: "o/f.yaml", Line: 1}},
	}}
	r.Finish()
	return r
}

func TestSARIFStructure(t *testing.T) {
	var buf bytes.Buffer
	if err := SARIF(&buf, sampleReport(), "1.2.3"); err != nil {
		t.Fatal(err)
	}
	var log sarifLog
	if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	if log.Version != "2.1.0" || len(log.Runs) != 1 {
		t.Fatalf("version %q, %d runs", log.Version, len(log.Runs))
	}
	run := log.Runs[0]
	if run.Tool.Driver.Name != "meshbot" || run.Tool.Driver.Version != "1.2.3" {
		t.Fatalf("driver %+v", run.Tool.Driver)
	}
	if len(run.Tool.Driver.Rules) != 3 || len(run.Results) != 4 {
		t.Fatalf("%d rules, %d results", len(run.Tool.Driver.Rules), len(run.Results))
	}
	for _, res := range run.Results {
		if got := run.Tool.Driver.Rules[res.RuleIndex].ID; got != res.RuleID {
			t.Errorf("result %s points at rule %s", res.RuleID, got)
		}
		switch res.Level {
		case "error", "warning", "note":
		default:
			t.Errorf("level %q is not a SARIF level", res.Level)
		}
		reg := res.Locations[0].PhysicalLocation.Region
		if reg != nil && reg.StartLine < 1 {
			t.Errorf("startLine %d", reg.StartLine)
		}
		if res.Locations[0].PhysicalLocation.ArtifactLocation.URIBaseID != "%SRCROOT%" {
			t.Errorf("uriBaseId missing")
		}
	}
}

func TestGitHubAnnotationsEscape(t *testing.T) {
	var buf bytes.Buffer
	if err := WorkflowCommands(&buf, sampleReport()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"::error file=o/c.yaml,line=12,col=7,title=compat/field-removed::field a.b was removed%0Abreaks f.r (team-f) via in\n",
		"::warning file=o/d%2C1.yaml,line=3,title=policy/x::100%25 sure, really:%0Ayes\n",
		"::error file=o/e.yaml,title=input/yaml-syntax::broken\n",
		"::notice file=o/f.yaml,line=1,",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
}

// A report assembled by hand with no findings still gives scripts arrays.
func TestJSONEmptyListsAreArrays(t *testing.T) {
	r := &engine.Report{}
	r.Finish()
	var b bytes.Buffer
	if err := JSON(&b, r); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"findings": []`, `"impact": []`} {
		if !strings.Contains(b.String(), key) {
			t.Errorf("JSON lacks %s:\n%s", key, b.String())
		}
	}
}
