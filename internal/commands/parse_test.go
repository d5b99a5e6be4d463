package commands

import (
	"reflect"
	"strings"
	"testing"
	"unicode"
)

func TestParse(t *testing.T) {
	type flags = map[string]string
	for _, tc := range []struct {
		name string
		body string
		ok   bool
		want Invocation
	}{
		{"help", "/mesh help", true, Invocation{Name: "help", Flags: flags{}, Line: 1}},
		{"bare", "/mesh", true, Invocation{Flags: flags{}, Line: 1}},
		{"bare with blanks", "  /mesh   \r\n", true, Invocation{Flags: flags{}, Line: 1}},
		{"case", "/mesh ReCheck", true, Invocation{Name: "recheck", Flags: flags{}, Line: 1}},
		{"leading spaces and crlf", "\r\n   \r\n  /mesh recheck\r\nthanks", true, Invocation{Name: "recheck", Flags: flags{}, Line: 3}},
		{"tab after prefix", "/mesh\thelp", true, Invocation{Name: "help", Flags: flags{}, Line: 1}},
		{"after prose", "Looks good.\n\n/mesh recheck please", true, Invocation{Name: "recheck", Args: []string{"please"}, Flags: flags{}, Line: 3}},
		{"deprecate", `/mesh deprecate orders.order-events --sunset 2027-03-31 --reason "superseded by v3"`, true,
			Invocation{Name: "deprecate", Args: []string{"orders.order-events"}, Flags: flags{"sunset": "2027-03-31", "reason": "superseded by v3"}, Line: 1}},
		{"equals and single quotes", `/mesh deprecate a.b/port --replacement=a.b-v2/port --reason='it''s "old"'`, true,
			Invocation{Name: "deprecate", Args: []string{"a.b/port"}, Flags: flags{"replacement": "a.b-v2/port", "reason": `its "old"`}, Line: 1}},
		{"escapes", `/mesh x "a \"quoted\" \\ word" b\ c "keep \n"`, true,
			Invocation{Name: "x", Args: []string{`a "quoted" \ word`, "b c", `keep \n`}, Flags: flags{}, Line: 1}},
		{"boolean flags", "/mesh deprecate p --dry-run --force", true,
			Invocation{Name: "deprecate", Args: []string{"p"}, Flags: flags{"dry-run": "true", "force": "true"}, Line: 1}},
		{"flag before arg eats it", "/mesh deprecate --sunset 2027-01-01 p", true,
			Invocation{Name: "deprecate", Args: []string{"p"}, Flags: flags{"sunset": "2027-01-01"}, Line: 1}},
		{"double dash ends flags", "/mesh x --a 1 -- --b", true, Invocation{Name: "x", Args: []string{"--b"}, Flags: flags{"a": "1"}, Line: 1}},
		{"last flag wins, keys lower-cased", "/mesh x --Reason a --reason b", true, Invocation{Name: "x", Flags: flags{"reason": "b"}, Line: 1}},
		{"empty quoted arg", `/mesh x "" ''`, true, Invocation{Name: "x", Args: []string{"", ""}, Flags: flags{}, Line: 1}},
		{"unterminated quote runs to the end", `/mesh x --reason "no end`, true, Invocation{Name: "x", Flags: flags{"reason": "no end"}, Line: 1}},
		{"first command wins", "/mesh help\n/mesh recheck", true, Invocation{Name: "help", Flags: flags{}, Line: 1}},

		{"empty", "", false, Invocation{}},
		{"prose", "please /mesh recheck", false, Invocation{}},
		{"another word", "/meshy help\n/mesh-bot help", false, Invocation{}},
		{"inline code", "`/mesh recheck`", false, Invocation{}},
		{"quoted", "> /mesh recheck\n>/mesh help", false, Invocation{}},
		{"fenced", "Try:\n```\n/mesh recheck\n```\n", false, Invocation{}},
		{"fenced tilde, unclosed", "~~~~\n/mesh recheck\n~~~\n", false, Invocation{}},
		{"fence indented three", "   ```sh\n/mesh recheck\n   ```", false, Invocation{}},
		{"four spaces is not a fence", "    ```\n/mesh help", true, Invocation{Name: "help", Flags: flags{}, Line: 2}},
		{"after a closed fence", "```\n/mesh recheck\n```\n> /mesh help\n\n/mesh help", true, Invocation{Name: "help", Flags: flags{}, Line: 6}},
		{"longer closing fence", "```\n/mesh a\n`````\n/mesh b", true, Invocation{Name: "b", Flags: flags{}, Line: 4}},
		{"shorter fence does not close", "````\n```\n/mesh a\n````\n/mesh b", true, Invocation{Name: "b", Flags: flags{}, Line: 5}},
		{"backtick info string is not a fence", "``` a ` b\n/mesh help", true, Invocation{Name: "help", Flags: flags{}, Line: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := Parse(tc.body)
			if ok != tc.ok {
				t.Fatalf("Parse(%q) ok = %v, want %v (%+v)", tc.body, ok, tc.ok, got)
			}
			if tc.ok {
				// Text is the command's line after the prefix, trimmed.
				line := strings.TrimRight(strings.Split(tc.body, "\n")[tc.want.Line-1], "\r")
				_, rest, _ := strings.Cut(line, Prefix)
				tc.want.Text = strings.TrimSpace(rest)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Parse(%q)\n got %#v\nwant %#v", tc.body, got, tc.want)
			}
		})
	}
}

// comments are comment bodies as GitHub delivers them (\r\n line endings,
// quote replies, templates, examples in code), with the command each holds
// by the rule of product.md: a line of its own, never inside a code block or
// a quote. They seed FuzzParse too.
var comments = []struct {
	name string
	body string
	cmd  string // the command's name; "" when the body holds none
	line int
}{
	{"quote reply, then the command", "> Removing `currency` breaks finance.revenue.\r\n\r\n/mesh approve finance.revenue\r\n", "approve", 3},
	{"quote reply without a blank line: GitHub shows the line inside the quote", "> Removing `currency` breaks finance.revenue.\r\n/mesh approve finance.revenue", "", 0},
	{"lazy continuation ends at a blank line", "> quoted\r\ncontinued\r\n\r\n/mesh help", "help", 4},
	{"a quoted blank line ends the quoted paragraph", "> quoted\r\n>\r\n/mesh recheck", "recheck", 3},
	{"quoted command", "> /mesh deprecate orders.order-events --sunset 2027-03-31\r\n\r\nWhy was this deprecated?", "", 0},
	{"nested quote", "> > /mesh help\r\n> ok\r\n\r\n/mesh recheck", "recheck", 4},
	{"a quoted fence does not continue lazily", "> ```\r\n/mesh recheck", "recheck", 2},
	{"example in a fenced block", "To retire the port, comment:\r\n\r\n```\r\n/mesh deprecate orders.order-events/iceberg-curated --sunset 2027-03-31\r\n```\r\n", "", 0},
	{"tilde fence with an info string", "~~~text\r\n/mesh recheck\r\n~~~\r\n", "", 0},
	{"fence in a list item", "1. Run:\r\n   ```\r\n   /mesh recheck\r\n   ```\r\n", "", 0},
	{"indented code block", "Usage:\r\n\r\n    /mesh deprecate <domain.product> --sunset YYYY-MM-DD\r\n", "", 0},
	{"tab-indented code block", "Example:\r\n\r\n\t/mesh recheck\r\n", "", 0},
	{"blanks and a tab reach column four", "  \t/mesh recheck", "", 0},
	{"indented line continuing a paragraph", "Please run\r\n    /mesh recheck", "", 0},
	{"indented example, then the command", "Usage:\r\n\r\n    /mesh help\r\n\r\n/mesh recheck\r\n", "recheck", 5},
	{"three spaces still count", "   /mesh recheck\r\n", "recheck", 1},
	{"after a line of prose", "LGTM, thanks!\r\n/mesh approve finance.revenue\r\n", "approve", 2},
	{"inline code", "Type `/mesh recheck` to re-run the check.", "", 0},
	{"issue template comment", "<!-- Commands: /mesh help on a line of its own\r\n/mesh deprecate finance.revenue --sunset 2027-01-01\r\n-->\r\n### What changed\r\n\r\nDropped the legacy port.", "", 0},
	{"after a one-line HTML comment", "<!-- generated by the PR template -->\r\n/mesh recheck", "recheck", 2},
	{"pre block", "<pre>\r\n/mesh recheck\r\n</pre>\r\n", "", 0},
	{"not a pre block", "<preview>\r\n/mesh recheck", "recheck", 2},
	{"details with a log, then the command", "<details><summary>log</summary>\r\n\r\n```\r\n/mesh x\r\n```\r\n</details>\r\n\r\n/mesh recheck", "recheck", 8},
	{"deprecate as typed", "We are moving consumers to v2.\r\n\r\n/mesh deprecate finance.revenue/iceberg-curated --sunset 2027-03-31 --replacement finance.revenue-v2/iceberg-curated --reason \"superseded by the v2 ledger\"\r\n", "deprecate", 3},
}

func TestParseComments(t *testing.T) {
	for _, tc := range comments {
		t.Run(tc.name, func(t *testing.T) {
			inv, ok := Parse(tc.body)
			if ok != (tc.cmd != "") || inv.Name != tc.cmd || inv.Line != tc.line {
				t.Errorf("Parse(%q) = %q at line %d (%v), want %q at line %d", tc.body, inv.Name, inv.Line, ok, tc.cmd, tc.line)
			}
			// The same body with \n line endings means the same.
			lf, lfOK := Parse(strings.ReplaceAll(tc.body, "\r\n", "\n"))
			if lfOK != ok || !reflect.DeepEqual(lf, inv) {
				t.Errorf("with \\n line endings: %+v, with \\r\\n: %+v", lf, inv)
			}
		})
	}
	inv, _ := Parse(comments[len(comments)-1].body)
	want := Invocation{Name: "deprecate", Args: []string{"finance.revenue/iceberg-curated"}, Line: 3, Flags: map[string]string{
		"sunset": "2027-03-31", "replacement": "finance.revenue-v2/iceberg-curated", "reason": "superseded by the v2 ledger"},
		Text: `deprecate finance.revenue/iceberg-curated --sunset 2027-03-31 --replacement finance.revenue-v2/iceberg-curated --reason "superseded by the v2 ledger"`}
	if !reflect.DeepEqual(inv, want) {
		t.Errorf("deprecate: %#v", inv)
	}
}

func TestParseLongLine(t *testing.T) {
	inv, ok := Parse("/mesh x " + strings.Repeat("a ", 100000))
	if !ok || inv.Name != "x" {
		t.Fatalf("Parse = %+v, %v", inv, ok)
	}
	if n := len(inv.Args); n > maxLineBytes/2 {
		t.Errorf("%d arguments from an oversized line, want at most %d", n, maxLineBytes/2)
	}
}

// FuzzParse holds Parse to what the handler relies on: it never panics, a
// found command sits on the line it names, and that line alone parses the
// same (its meaning does not depend on what surrounds it, beyond code
// blocks and quotes deciding whether it counts). And whatever the body: no
// command once it is quoted line by line, indented four spaces line by line
// or wrapped in a fence it cannot close, and \r\n line endings change
// nothing.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"/mesh help",
		"/mesh deprecate orders.order-events --sunset 2027-03-31 --reason \"superseded by v3\"",
		"```\n/mesh recheck\n```\n/mesh help",
		"> /mesh x\n/mesh y 'a b' \\\"",
	} {
		f.Add(s)
	}
	for _, c := range comments {
		f.Add(c.body)
	}
	f.Fuzz(func(t *testing.T, body string) {
		inv, ok := Parse(body)
		lines := strings.Split(body, "\n")
		for _, hidden := range []struct{ how, body string }{
			{"quoted", "> " + strings.Join(lines, "\n> ")},
			{"indented", "    " + strings.Join(lines, "\n    ")},
			{"fenced", unclosable(body) + "\n" + body},
		} {
			if h, ok := Parse(hidden.body); ok {
				t.Fatalf("%s, a command still counts: %+v in %q", hidden.how, h, hidden.body)
			}
		}
		crlf, crlfOK := Parse(strings.ReplaceAll(body, "\n", "\r\n"))
		if crlfOK != ok || !reflect.DeepEqual(crlf, inv) {
			t.Fatalf("with \\r\\n line endings %+v, with \\n %+v", crlf, inv)
		}
		if !ok {
			if inv.Name != "" || inv.Args != nil || inv.Flags != nil || inv.Line != 0 {
				t.Fatalf("no command, yet %+v", inv)
			}
			return
		}
		if inv.Line < 1 || inv.Line > len(lines) {
			t.Fatalf("Line %d outside 1..%d", inv.Line, len(lines))
		}
		line := lines[inv.Line-1]
		if !strings.HasPrefix(strings.TrimLeft(line, " \t"), Prefix) {
			t.Fatalf("line %d %q does not start with %s", inv.Line, line, Prefix)
		}
		if inv.Name != strings.ToLower(inv.Name) {
			t.Fatalf("name %q is not lower case", inv.Name)
		}
		if inv.Flags == nil {
			t.Fatal("Flags is nil")
		}
		for k := range inv.Flags {
			if k != strings.ToLower(k) {
				t.Fatalf("flag %q is not lower case", k)
			}
		}
		alone, ok := Parse(line)
		if !ok {
			t.Fatalf("line %q alone is not a command", line)
		}
		alone.Line = inv.Line
		if !reflect.DeepEqual(alone, inv) {
			t.Fatalf("line alone parses as %#v, in context as %#v", alone, inv)
		}
		if strings.IndexFunc(inv.Name, unicode.IsSpace) >= 0 && !strings.ContainsAny(line, `"'\`) {
			t.Fatalf("name %q holds a blank without any quoting", inv.Name)
		}
	})
}

// unclosable is a backtick fence longer than any run of backticks in body,
// so no line of body closes it.
func unclosable(body string) string {
	longest, run := 0, 0
	for _, c := range []byte(body) {
		if c == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return strings.Repeat("`", max(3, longest+1))
}
