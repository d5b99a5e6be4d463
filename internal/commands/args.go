package commands

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Flags of `/mesh deprecate`.
const (
	flagSunset      = "sunset"
	flagReplacement = "replacement"
	flagReason      = "reason"
)

// dateLayout is how a sunset is written: YYYY-MM-DD, as the descriptor
// holds it.
const dateLayout = "2006-01-02"

// maxReason bounds --reason: it becomes one line of a descriptor.
const maxReason = 300

// targetRef names a product or one of its output ports:
// <domain.product>[/<port>].
type targetRef struct {
	Product string
	Port    string // "" = the whole product
}

func (t targetRef) String() string {
	if t.Port == "" {
		return t.Product
	}
	return t.Product + "/" + t.Port
}

// parseTarget reads <domain.product>[/<port>]; ok is false when the text
// cannot be one (empty parts, more than one slash, blanks).
func parseTarget(s string) (targetRef, bool) {
	product, port, hasPort := strings.Cut(s, "/")
	if product == "" || (hasPort && (port == "" || strings.Contains(port, "/"))) ||
		strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || unicode.IsSpace(r) || strings.ContainsRune("`'\"\\", r) }) {
		return targetRef{}, false
	}
	return targetRef{Product: product, Port: port}, true
}

// deprecateReq is a parsed `/mesh deprecate` or `/mesh undeprecate`.
type deprecateReq struct {
	Target      targetRef
	Sunset      time.Time  // zero when not given or not a date
	SunsetText  string     // as written
	Replacement *targetRef // nil when not given
	Reason      string
}

// argError is a mistake in a command line: every problem found, and the
// command as meshbot understood it, corrected where it could guess.
type argError struct {
	problems []string
	fixed    deprecateReq // what the example shows
}

func (e *argError) Error() string { return strings.Join(e.problems, "; ") }

// parseStrict reads the arguments of deprecate (flags true) or undeprecate
// (flags false) from the command line's text (Invocation.Text). Unlike
// Parse's forgiving Args and Flags it refuses what would be guessed: an
// open quote, a flag without a value, a flag given twice, an unknown flag
// (with the nearest known one suggested), a stray word (often a reason
// without quotes), a malformed target or date. Checks that need the
// registry, the policy or the clock come later.
func parseStrict(text string, withFlags bool) (deprecateReq, *argError) {
	var req deprecateReq
	e := &argError{}
	fields, unclosed := split(text)
	if len(fields) > 0 {
		fields = fields[1:] // the command's name
	}
	if unclosed {
		e.problems = append(e.problems, "a quote is not closed: end the reason with the same quote it starts with")
	}
	known := []string{}
	if withFlags {
		known = []string{flagSunset, flagReplacement, flagReason}
	}
	seen := map[string]bool{}
	var positional []string
	for i := 0; i < len(fields); i++ {
		f := fields[i]
		name, value, hasValue, isFlag := flagField(f)
		if !isFlag {
			positional = append(positional, f)
			continue
		}
		if strings.HasPrefix(f, "—") || strings.HasPrefix(f, "–") || (strings.HasPrefix(f, "-") && !strings.HasPrefix(f, "--")) {
			e.problems = append(e.problems, fmt.Sprintf("`%s`: flags start with two hyphens (`--%s`); a phone or editor may have turned them into a dash", sanitize(f), sanitize(name)))
		}
		key := strings.ToLower(name)
		if !slices.Contains(known, key) {
			e.problems = append(e.problems, unknownFlag(name, known))
			if s := suggest(key, known); s != "" {
				key = s
			} else {
				if !hasValue && i+1 < len(fields) && !isFlagLike(fields[i+1]) {
					i++ // its value, so it is not taken for a stray word
				}
				continue
			}
		}
		if !hasValue {
			if i+1 < len(fields) && !isFlagLike(fields[i+1]) {
				value, hasValue = fields[i+1], true
				i++
			}
		}
		if seen[key] {
			e.problems = append(e.problems, fmt.Sprintf("`--%s` is given twice; give it once", key))
		}
		seen[key] = true
		if !hasValue {
			e.problems = append(e.problems, fmt.Sprintf("`--%s` needs a value", key))
			continue
		}
		switch key {
		case flagSunset:
			req.SunsetText = value
			d, err := time.Parse(dateLayout, value)
			if err != nil {
				e.problems = append(e.problems, fmt.Sprintf("`--sunset %s` is not a date: write it as YYYY-MM-DD, e.g. 2027-03-31", sanitize(value)))
				continue
			}
			req.Sunset = d
		case flagReplacement:
			t, ok := parseTarget(value)
			if !ok {
				e.problems = append(e.problems, fmt.Sprintf("`--replacement %s` is not `<domain.product>/<port>`", sanitize(value)))
				continue
			}
			req.Replacement = &t
		case flagReason:
			switch {
			case strings.TrimSpace(value) == "":
				e.problems = append(e.problems, "`--reason` is empty: say why, or leave the flag out")
			case utf8.RuneCountInString(value) > maxReason:
				e.problems = append(e.problems, fmt.Sprintf("`--reason` is %d characters; keep it under %d (the pull request can say more)", utf8.RuneCountInString(value), maxReason))
			case strings.ContainsAny(value, "\r\n"):
				e.problems = append(e.problems, "`--reason` must be one line")
			default:
				req.Reason = value
			}
		}
	}
	switch {
	case len(positional) == 0:
		e.problems = append(e.problems, "name what to change: `<domain.product>` or `<domain.product>/<port>`")
	default:
		t, ok := parseTarget(positional[0])
		if !ok {
			e.problems = append(e.problems, fmt.Sprintf("`%s` is not `<domain.product>` or `<domain.product>/<port>`", sanitize(positional[0])))
		} else {
			req.Target = t
		}
		if extra := positional[1:]; len(extra) > 0 {
			msg := fmt.Sprintf("unexpected `%s`", sanitize(strings.Join(extra, " ")))
			if withFlags && seen[flagReason] {
				msg += ": a reason of several words goes in quotes, `--reason \"...\"`"
			}
			e.problems = append(e.problems, msg)
			if withFlags && req.Reason != "" {
				req.Reason = strings.Join(append([]string{req.Reason}, extra...), " ")
			}
		}
	}
	if withFlags && !seen[flagSunset] {
		e.problems = append(e.problems, "`--sunset YYYY-MM-DD` is required: the date after which the target may be removed")
	}
	if len(e.problems) > 0 {
		e.fixed = req
		return req, e
	}
	return req, nil
}

// flagField splits a field that is a flag (--name, --name=value, and the
// dash look-alikes people type) into its name and value.
func flagField(f string) (name, value string, hasValue, ok bool) {
	var rest string
	switch {
	case strings.HasPrefix(f, "--") && len(f) > 2:
		rest = f[2:]
	case strings.HasPrefix(f, "—") || strings.HasPrefix(f, "–"):
		_, size := utf8.DecodeRuneInString(f)
		rest = f[size:]
	case strings.HasPrefix(f, "-") && len(f) > 1 && !strings.HasPrefix(f, "--"):
		rest = f[1:]
	default:
		return "", "", false, false
	}
	if rest == "" {
		return "", "", false, false
	}
	name, value, hasValue = strings.Cut(rest, "=")
	return name, value, hasValue, true
}

func isFlagLike(f string) bool {
	_, _, _, ok := flagField(f)
	return ok
}

func unknownFlag(name string, known []string) string {
	if len(known) == 0 {
		return fmt.Sprintf("`%s` takes no flags; `--%s` is not one", "/mesh undeprecate", sanitize(name))
	}
	msg := fmt.Sprintf("there is no flag `--%s`", sanitize(name))
	if s := suggest(strings.ToLower(name), known); s != "" {
		msg += fmt.Sprintf("; did you mean `--%s`?", s)
	} else {
		msg += "; the flags are `--sunset`, `--replacement` and `--reason`"
	}
	return msg
}

// suggest is the candidate nearest to word by edit distance, when it is
// near enough to be what was meant (at most a third of the word's length,
// and at least one edit allowed); "" otherwise. Ties go to the first
// candidate in order. Candidates whose length alone rules them out are
// skipped before any distance is computed: over a large registry most are.
func suggest(word string, candidates []string) string {
	best, bestD := "", -1
	w := []rune(strings.ToLower(word))
	limit := max(1, len(w)/3)
	var d distance
	for _, c := range candidates {
		if c == word {
			return c
		}
		n := utf8.RuneCountInString(c)
		if n-len(w) > limit || len(w)-n > limit {
			continue
		}
		if dist := d.within(w, []rune(strings.ToLower(c)), limit); dist <= limit && (bestD < 0 || dist < bestD) {
			best, bestD = c, dist
		}
	}
	return best
}

// didYouMean is " Did you mean `c`?" for the candidate c suggest finds
// for word, or "" when it finds none: the tail of a refusal.
func didYouMean(word string, candidates []string) string {
	if s := suggest(word, candidates); s != "" {
		return fmt.Sprintf(" Did you mean `%s`?", s)
	}
	return ""
}

// editDistance is Levenshtein's distance over runes (insert, delete,
// substitute), with adjacent transpositions counted as one edit: "sunest"
// is one slip from "sunset".
func editDistance(a, b string) int {
	var d distance
	return d.within([]rune(a), []rune(b), -1)
}

// distance holds the rows of editDistance, reused across candidates.
type distance struct{ prev2, prev, cur []int }

// within is the distance between ra and rb, or some value over bound as
// soon as every cell of a row is over it (the distance only grows from
// there); a negative bound computes it in full.
func (d *distance) within(ra, rb []rune, bound int) int {
	if len(ra) > 256 || len(rb) > 256 {
		// Names are short; a long word is nobody's typo of one.
		return max(len(ra), len(rb))
	}
	row := func(r []int) []int {
		if cap(r) < len(rb)+1 {
			return make([]int, len(rb)+1)
		}
		return r[:len(rb)+1]
	}
	d.prev2, d.prev, d.cur = row(d.prev2), row(d.prev), row(d.cur)
	for j := range d.prev {
		d.prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		d.cur[0] = i
		rowMin := i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d.cur[j] = min(d.prev[j]+1, d.cur[j-1]+1, d.prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d.cur[j] = min(d.cur[j], d.prev2[j-2]+1)
			}
			rowMin = min(rowMin, d.cur[j])
		}
		// Later rows build on this one (never lower) or, by a
		// transposition, on the one before plus one; that row's minimum
		// is at least this one's less one. So the distance is over bound.
		if bound >= 0 && rowMin > bound {
			return bound + 1
		}
		d.prev2, d.prev, d.cur = d.prev, d.cur, d.prev2
	}
	return d.prev[len(rb)]
}

// commandLine writes req back as a command line, quoting the reason: the
// corrected example of a reply, and what parseStrict reads back as req.
// Parts that are missing show as placeholders.
func (r deprecateReq) commandLine(name string, withFlags bool, sunsetHint time.Time) string {
	var b strings.Builder
	b.WriteString(Prefix + " " + name + " ")
	if r.Target.Product == "" {
		b.WriteString("<domain.product>")
	} else {
		b.WriteString(r.Target.String())
	}
	if !withFlags {
		return b.String()
	}
	sunset := sunsetHint
	if !r.Sunset.IsZero() {
		sunset = r.Sunset
	}
	b.WriteString(" --sunset " + sunset.Format(dateLayout))
	if r.Replacement != nil {
		b.WriteString(" --replacement " + r.Replacement.String())
	}
	if r.Reason != "" {
		b.WriteString(" --reason " + quote(r.Reason))
	}
	return b.String()
}

// quote wraps s in double quotes as split reads them back.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
