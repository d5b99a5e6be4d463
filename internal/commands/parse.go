// Package commands runs the `/mesh` comment commands people type in issue
// and pull-request comments: it parses the command, acknowledges it, checks
// the commenter's permission on the repository through the API, runs it and
// answers with a comment.
package commands

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Prefix starts a command line.
const Prefix = "/mesh"

// maxLineBytes bounds the command line that is split into fields; a comment
// is at most 65,536 characters, and no command needs more than a few
// hundred bytes.
const maxLineBytes = 4096

// Invocation is one parsed `/mesh` command line.
type Invocation struct {
	Name  string            // the command, lower-cased; "" for a bare `/mesh`
	Args  []string          // positional arguments, in order
	Flags map[string]string // --key value or --key=value; a flag with no value is "true"
	Line  int               // 1-based line of the comment body
	// Text is the command line after /mesh as written (cut at
	// maxLineBytes), for commands that parse their arguments strictly
	// (see parseStrict): Args and Flags forgive what they must refuse.
	Text string
}

// Parse finds the command in a comment body: the first line that starts
// with /mesh, on a line of its own, where GitHub shows it as text. Lines
// that do not count, as GitHub's Markdown (CommonMark) renders them:
//   - inside a fenced code block (``` or ~~~, indented at most three
//     spaces, closed by the same character at least as long, or open to the
//     end of the comment);
//   - indented four columns or more (a tab counts to the next multiple of
//     four): an indented code block, or the continuation of the paragraph
//     above, and never a line of its own;
//   - quoted with `>`, and the lines that continue a quoted paragraph
//     without a `>` of their own (CommonMark's lazy continuation: GitHub
//     shows them inside the quote) until a blank line;
//   - inside an HTML comment (<!-- ... -->) or a <pre>, <script>, <style> or
//     <textarea> block: issue templates hide text that way, and a hidden
//     line must not run a command.
//
// Lines end with \n or \r\n (GitHub's comment bodies usually have \r\n). It
// reports false when there is no command.
//
// Fields split as a shell would: blanks separate them, single quotes keep
// everything literally, double quotes keep blanks and honour \" and \\, and
// a backslash outside quotes escapes the next character. An unterminated
// quote runs to the end of the line.
//
// Flags are --key value or --key=value. A --key followed by another flag or
// by nothing has the value "true"; a lone -- ends the flags, so every later
// field is positional even when it starts with --.
func Parse(body string) (Invocation, bool) {
	var (
		fence     string // the opening fence while inside a fenced block
		htmlEnd   string // what ends the HTML block the line is in, lower case
		quotePara bool   // the previous line was text of a quoted paragraph
	)
	for i, line := range strings.Split(body, "\n") {
		line = strings.TrimRight(line, "\r")
		trimmed := strings.TrimLeft(line, " \t")
		if fence != "" {
			if closesFence(trimmed, fence) {
				fence = ""
			}
			continue
		}
		if htmlEnd != "" {
			if strings.Contains(strings.ToLower(line), htmlEnd) {
				htmlEnd = ""
			}
			continue
		}
		if trimmed == "" {
			quotePara = false
			continue
		}
		if indentation(line) >= 4 {
			continue // code, or a continuation of the paragraph or quote above
		}
		if f := openingFence(line); f != "" {
			fence, quotePara = f, false
			continue
		}
		if end, ok := htmlBlock(trimmed); ok {
			quotePara = false
			if !strings.Contains(strings.ToLower(trimmed), end) {
				htmlEnd = end
			}
			continue
		}
		if inner, ok := strings.CutPrefix(trimmed, ">"); ok {
			inner = strings.TrimLeft(inner, " \t")
			quotePara = inner != "" && openingFence(inner) == ""
			continue
		}
		if quotePara {
			continue // lazy continuation: GitHub shows it inside the quote
		}
		rest, ok := strings.CutPrefix(trimmed, Prefix)
		if !ok {
			continue
		}
		if r, _ := utf8.DecodeRuneInString(rest); rest != "" && !unicode.IsSpace(r) {
			continue // /meshy, /mesh-bot: another word
		}
		if len(rest) > maxLineBytes {
			rest = rest[:maxLineBytes]
		}
		inv := Invocation{Flags: map[string]string{}, Line: i + 1, Text: strings.TrimSpace(rest)}
		fields, _ := split(rest)
		if len(fields) > 0 {
			inv.Name = strings.ToLower(fields[0])
			fields = fields[1:]
		}
		flagsDone := false
		for j := 0; j < len(fields); j++ {
			f := fields[j]
			if flagsDone || !strings.HasPrefix(f, "--") {
				inv.Args = append(inv.Args, f)
				continue
			}
			if f == "--" {
				flagsDone = true
				continue
			}
			key, val, hasVal := strings.Cut(f[2:], "=")
			if !hasVal {
				val = "true"
				if j+1 < len(fields) && !strings.HasPrefix(fields[j+1], "--") {
					val = fields[j+1]
					j++
				}
			}
			inv.Flags[strings.ToLower(key)] = val
		}
		return inv, true
	}
	return Invocation{}, false
}

// openingFence returns the fence a line opens (``` or ~~~, three or more,
// indented at most three spaces, as CommonMark has it), or "".
func openingFence(line string) string {
	indent := len(line) - len(strings.TrimLeft(line, " "))
	if indent > 3 {
		return ""
	}
	s := line[indent:]
	for _, c := range []byte{'`', '~'} {
		n := 0
		for n < len(s) && s[n] == c {
			n++
		}
		if n >= 3 {
			// A backtick fence's info string may not hold a backtick.
			if c == '`' && strings.Contains(s[n:], "`") {
				return ""
			}
			return s[:n]
		}
	}
	return ""
}

// indentation is the column a line's text starts at, tabs advancing to the
// next multiple of four as CommonMark counts them.
func indentation(line string) int {
	col := 0
	for _, c := range []byte(line) {
		switch c {
		case ' ':
			col++
		case '\t':
			col += 4 - col%4
		default:
			return col
		}
	}
	return col
}

// htmlStarts are the HTML blocks whose text GitHub does not show as
// paragraphs (CommonMark's HTML block kinds 1 and 2), by how they start and
// what ends them, lower case.
var htmlStarts = []struct{ start, end string }{
	{"<!--", "-->"},
	{"<pre", "</pre>"},
	{"<script", "</script>"},
	{"<style", "</style>"},
	{"<textarea", "</textarea>"},
}

// htmlBlock reports whether a (left-trimmed) line starts an HTML comment or
// a raw HTML block, and what ends it.
func htmlBlock(trimmed string) (end string, ok bool) {
	for _, h := range htmlStarts {
		if len(trimmed) < len(h.start) || !strings.EqualFold(trimmed[:len(h.start)], h.start) {
			continue
		}
		if h.start == "<!--" {
			return h.end, true
		}
		// <pre> or <pre class=...>, not <preview>.
		if rest := trimmed[len(h.start):]; rest == "" || rest[0] == '>' || rest[0] == ' ' || rest[0] == '\t' {
			return h.end, true
		}
	}
	return "", false
}

// closesFence tells whether a (left-trimmed) line closes fence: the same
// character, at least as long, nothing after it but blanks.
func closesFence(trimmed, fence string) bool {
	n := 0
	for n < len(trimmed) && trimmed[n] == fence[0] {
		n++
	}
	return n >= len(fence) && strings.TrimSpace(trimmed[n:]) == ""
}

// split breaks a command line into fields, shell-like (see Parse), and
// says whether a quote was left open.
func split(s string) (fields []string, unclosed bool) {
	var (
		out   []string
		cur   strings.Builder
		in    bool // inside a field
		quote rune // the open quote, or 0
		esc   bool // the previous rune was a backslash
	)
	for _, r := range s {
		switch {
		case esc:
			esc = false
			if quote == '"' && r != '"' && r != '\\' {
				cur.WriteRune('\\')
			}
			cur.WriteRune(r)
		case quote == '\'':
			if r == '\'' {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\\':
			esc, in = true, true
		case quote == '"':
			if r == '"' {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '"' || r == '\'':
			quote, in = r, true
		case unicode.IsSpace(r):
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			in = true
			cur.WriteRune(r)
		}
	}
	if esc {
		cur.WriteRune('\\')
	}
	if in {
		out = append(out, cur.String())
	}
	return out, quote != 0
}
