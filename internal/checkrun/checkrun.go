// Package checkrun is the one definition of what a check run shows, in
// GitHub's terms: its conclusion, title, summary, text and annotations, and
// GitHub's limits on each. The renderer (internal/render) builds an Output
// from a report; the GitHub seam sends it. Nothing here calls GitHub or
// knows the engine, so both sides can import it.
package checkrun

import (
	"fmt"
	"unicode/utf8"
)

// Conclusion is how a completed check run ends.
type Conclusion string

// The conclusions meshbot uses. GitHub knows more (action_required,
// timed_out, skipped, stale); meshbot sets none of them.
const (
	Success   Conclusion = "success"
	Neutral   Conclusion = "neutral" // passes branch protection, shown as "neutral"
	Failure   Conclusion = "failure"
	Cancelled Conclusion = "cancelled" // a newer head superseded this one
)

// Level is an annotation's level.
type Level string

// GitHub's three annotation levels.
const (
	LevelNotice  Level = "notice"
	LevelWarning Level = "warning"
	LevelFailure Level = "failure"
)

// GitHub's limits on a check run's output.
const (
	MaxOutputChars       = 65535 // title, summary and text, each, in characters
	AnnotationsPerCall   = 50    // annotations GitHub takes per create or update
	MaxAnnotationTitle   = 255   // characters
	MaxAnnotationMessage = 64 * 1024
)

// Output is what a check run shows once it is completed.
type Output struct {
	Conclusion  Conclusion
	Title       string
	Summary     string // markdown
	Text        string // markdown, optional
	Annotations []Annotation
}

// Annotation pins a finding to a file and a range of lines.
type Annotation struct {
	Path                   string
	StartLine, EndLine     int
	StartColumn, EndColumn int // only on single-line annotations
	Level                  Level
	Title, Message         string
	RawDetails             string
}

// Truncate cuts s to at most limit characters, ending with an honest note of
// how much was left out.
func Truncate(s string, limit int) string {
	n := utf8.RuneCountInString(s)
	if n <= limit {
		return s
	}
	note := func(more int) string {
		return fmt.Sprintf("\n\n… truncated: %d more characters; see the full report with `meshbot check`.", more)
	}
	// Sized with the note for the whole length, whose count has the most
	// digits, so the result always fits.
	keep := max(limit-utf8.RuneCountInString(note(n)), 0)
	return string([]rune(s)[:keep]) + note(n-keep)
}
