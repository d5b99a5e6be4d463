package engine

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Approval is a registered consumer's acceptance of the breaking changes a
// pull request makes to it, as plain data: who approved, at which head, and
// the fingerprints (see Fingerprint) of the findings that broke the
// consumer when they did. Where it came from (a comment) is the caller's
// business.
type Approval struct {
	Consumer string   `json:"consumer"` // the consumer product's global id
	By       string   `json:"by"`       // who approved (a login)
	SHA      string   `json:"sha"`      // the head it was given at
	Breaks   []string `json:"breaks"`   // fingerprints it accepted
}

// ApprovalStatus says what became of an approval on this head.
type ApprovalStatus struct {
	Approval
	Valid bool `json:"valid"`
	// Dropped says why an approval no longer applies: the change breaks
	// the consumer differently now, or not at all.
	Dropped string `json:"dropped,omitempty"`
}

// Break is a registered consumer the change breaks, with the fingerprints
// of the failing findings that name it: what an approval accepts.
type Break struct {
	Consumer string   `json:"consumer"`
	Owner    string   `json:"owner,omitempty"`
	Repo     string   `json:"repo,omitempty"` // owner/name of the consumer's repository, when known
	Breaks   []string `json:"breaks"`
}

// Fingerprint identifies a failing finding across pushes: its rule and
// what it is about (product, port, fields), not where it is written, so a
// push that only moves lines keeps an approval.
func Fingerprint(f Finding) string {
	fp := f.Rule + " on " + f.Product
	if f.Port != "" {
		fp += "/" + f.Port
	}
	if len(f.Fields) > 0 {
		fields := slices.Clone(f.Fields)
		slices.Sort(fields)
		fp += " (" + strings.Join(slices.Compact(fields), ", ") + ")"
	}
	return fp
}

// approvable says whether a consumer may accept a finding: a failing
// consumer-impact finding. Policy, version discipline and the deprecation
// window before a sunset are not the consumers' to waive.
func approvable(f Finding) bool {
	return f.Level == LevelError && len(f.Consumers) > 0 && f.Rule != "deprecation/removed-before-sunset"
}

// breaks is every consumer that a failing consumer-impact finding names,
// sorted by consumer id.
func breaks(fs []Finding, repoOf func(consumer string) string) []Break {
	at := map[string]int{}
	var out []Break
	for _, f := range fs {
		if !approvable(f) {
			continue
		}
		fp := Fingerprint(f)
		for _, c := range f.Consumers {
			i, ok := at[c.Product]
			if !ok {
				i = len(out)
				at[c.Product] = i
				out = append(out, Break{Consumer: c.Product, Owner: c.Owner, Repo: repoOf(c.Product)})
			}
			out[i].Breaks = append(out[i].Breaks, fp)
		}
	}
	for i := range out {
		slices.Sort(out[i].Breaks)
		out[i].Breaks = slices.Compact(out[i].Breaks)
	}
	slices.SortFunc(out, func(a, b Break) int { return cmp.Compare(a.Consumer, b.Consumer) })
	return out
}

// ShortSHA is the seven characters GitHub shows.
func ShortSHA(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

// applyApprovals judges each approval against what the change breaks now:
// it holds when the consumer is broken by exactly the findings it accepted
// (by fingerprint). A failing consumer-impact finding whose every consumer
// holds a valid approval becomes a notice naming the approvers; one still
// waiting for some says who approved and who is left.
func applyApprovals(rep *Report, approvals []Approval) {
	now := map[string]Break{}
	for _, b := range rep.Breaks {
		now[b.Consumer] = b
	}
	valid := map[string]Approval{}
	for _, a := range approvals {
		st := ApprovalStatus{Approval: a}
		b, broken := now[a.Consumer]
		had := slices.Sorted(slices.Values(a.Breaks))
		switch {
		case !broken:
			st.Dropped = "this head no longer breaks " + a.Consumer
		case !slices.Equal(slices.Compact(had), b.Breaks):
			st.Dropped = "the change breaks " + a.Consumer + " differently now: " + diffBreaks(had, b.Breaks)
		default:
			st.Valid = true
			valid[a.Consumer] = a
		}
		rep.Approvals = append(rep.Approvals, st)
	}
	slices.SortFunc(rep.Approvals, func(a, b ApprovalStatus) int { return cmp.Compare(a.Consumer, b.Consumer) })
	for i := range rep.Findings {
		f := &rep.Findings[i]
		if !approvable(*f) {
			continue
		}
		var yes, waiting []string
		for _, c := range f.Consumers {
			if a, ok := valid[c.Product]; ok {
				yes = append(yes, approvedBy(a))
			} else {
				waiting = append(waiting, consumerNames([]Consumer{c}))
			}
		}
		yes, waiting = sortedUnique(yes), sortedUnique(waiting)
		switch {
		case len(waiting) == 0:
			f.Level = LevelNotice
			f.Title = "Breaking change, accepted by its consumers"
			f.Message += " Accepted: " + strings.Join(yes, "; ") + "."
			f.Help = ""
		case len(yes) > 0:
			f.Message += " Approved: " + strings.Join(yes, "; ") + "; still waiting for " + strings.Join(waiting, ", ") + "."
		}
	}
}

func approvedBy(a Approval) string {
	return fmt.Sprintf("%s: approved by @%s at %s", a.Consumer, a.By, ShortSHA(a.SHA))
}

func sortedUnique(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}

// diffBreaks says what changed between the accepted and the current
// fingerprints.
func diffBreaks(had, now []string) string {
	var parts []string
	for _, n := range now {
		if !slices.Contains(had, n) {
			parts = append(parts, "new "+n)
		}
	}
	for _, h := range had {
		if !slices.Contains(now, h) {
			parts = append(parts, "gone "+h)
		}
	}
	return strings.Join(parts, "; ")
}
