package checkrun

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

var noteRE = regexp.MustCompile(`… truncated: (\d+) more characters`)

func TestTruncate(t *testing.T) {
	for _, tc := range []struct {
		in    string
		limit int
	}{
		{"", 10}, {"short", 10}, {"exactly10!", 10}, {strings.Repeat("a", 100), 90},
		{strings.Repeat("ü", 1000), 200}, {strings.Repeat("x", 70000), MaxOutputChars}, {strings.Repeat("x", 200), 5},
	} {
		got := Truncate(tc.in, tc.limit)
		n := utf8.RuneCountInString(tc.in)
		if n <= tc.limit {
			if got != tc.in {
				t.Errorf("Truncate(%d chars, %d) changed the text", n, tc.limit)
			}
			continue
		}
		if c := utf8.RuneCountInString(got); c > tc.limit && tc.limit >= 80 {
			t.Errorf("Truncate(%d chars, %d) = %d chars", n, tc.limit, c)
		}
		m := noteRE.FindStringSubmatch(got)
		if m == nil || !utf8.ValidString(got) {
			t.Fatalf("Truncate(%d chars, %d) = %q: no note or invalid UTF-8", n, tc.limit, got)
		}
		more, _ := strconv.Atoi(m[1])
		kept := utf8.RuneCountInString(got[:strings.Index(got, "\n\n…")])
		if kept+more != n {
			t.Errorf("kept %d + more %d != %d", kept, more, n)
		}
	}
}

// FuzzTruncate: the result fits, is valid UTF-8 where the input was, and
// anything within the limit is untouched.
func FuzzTruncate(f *testing.F) {
	f.Add("hello", 3)
	f.Add(strings.Repeat("é", 300), 120)
	f.Add("", 0)
	f.Fuzz(func(t *testing.T, s string, limit int) {
		if limit < 0 || limit > 1<<16 {
			return
		}
		got := Truncate(s, limit)
		n := utf8.RuneCountInString(s)
		if n <= limit && got != s {
			t.Fatalf("changed a text within the limit")
		}
		if n > limit {
			if utf8.ValidString(s) && !utf8.ValidString(got) {
				t.Fatalf("cut inside a character")
			}
			if limit >= 100 && utf8.RuneCountInString(got) > limit {
				t.Fatalf("%d characters over the limit %d", utf8.RuneCountInString(got), limit)
			}
			if !strings.Contains(got, "truncated:") {
				t.Fatalf("no note")
			}
		}
	})
}
