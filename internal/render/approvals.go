package render

import (
	"fmt"
	"strings"

	"github.com/meshbot/meshbot/internal/engine"
)

// approvalsSection lists the consumers' approvals on this head (held or
// dropped, and why) and, while a broken consumer has not approved, says how
// to: the check run is where the owning teams read what breaks them.
func approvalsSection(r *engine.Report) string {
	if len(r.Approvals) == 0 && len(r.Breaks) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("\n### Consumer approvals\n\n")
	held := map[string]bool{}
	for _, a := range r.Approvals {
		line := fmt.Sprintf("%s: approved by @%s at %s", a.Consumer, a.By, engine.ShortSHA(a.SHA))
		if a.Valid {
			held[a.Consumer] = true
			fmt.Fprintf(&b, "- ✅ %s\n", line)
			continue
		}
		fmt.Fprintf(&b, "- ⛔ %s — dropped: %s\n", line, a.Dropped)
	}
	var waiting []string
	for _, br := range r.Breaks {
		if !held[br.Consumer] {
			w := br.Consumer
			if br.Owner != "" {
				w += " (" + br.Owner + ")"
			}
			waiting = append(waiting, w)
		}
	}
	if len(waiting) > 0 {
		fmt.Fprintf(&b, "\nWaiting for: %s. A member of a consumer's owning team (or a writer of its repository) accepts this change for it by commenting `/mesh approve <consumer>` on this pull request; `/mesh unapprove <consumer>` withdraws it.\n",
			strings.Join(waiting, ", "))
	}
	return b.String()
}
