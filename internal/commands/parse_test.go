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
		{"after a closed fence", "```\n/mesh recheck\n```\n> /mesh help\n/mesh help", true, Invocation{Name: "help", Flags: flags{}, Line: 5}},
		{"longer closing fence", "```\n/mesh a\n`````\n/mesh b", true, Invocation{Name: "b", Flags: flags{}, Line: 4}},
		{"shorter fence does not close", "````\n```\n/mesh a\n````\n/mesh b", true, Invocation{Name: "b", Flags: flags{}, Line: 5}},
		{"backtick info string is not a fence", "``` a ` b\n/mesh help", true, Invocation{Name: "help", Flags: flags{}, Line: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := Parse(tc.body)
			if ok != tc.ok {
				t.Fatalf("Parse(%q) ok = %v, want %v (%+v)", tc.body, ok, tc.ok, got)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Parse(%q)\n got %#v\nwant %#v", tc.body, got, tc.want)
			}
		})
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
// same (its meaning does not depend on what surrounds it, beyond fences and
// quotes deciding whether it counts).
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"/mesh help",
		"/mesh deprecate orders.order-events --sunset 2027-03-31 --reason \"superseded by v3\"",
		"```\n/mesh recheck\n```\n/mesh help",
		"> /mesh x\n/mesh y 'a b' \\\"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		inv, ok := Parse(body)
		if !ok {
			if inv.Name != "" || inv.Args != nil || inv.Flags != nil || inv.Line != 0 {
				t.Fatalf("no command, yet %+v", inv)
			}
			return
		}
		lines := strings.Split(body, "\n")
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
